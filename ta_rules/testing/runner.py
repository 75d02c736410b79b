"""Run scenario files: results, readable failures, the summary line and rule coverage."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, TaRulesError, render_diagnostics
from ta_rules.present import verdict_data
from ta_rules.rulesets.registry import Registry
from ta_rules.testing.scenarios import (
    ScenarioResult,
    load_scenarios,
    run_scenario,
    scenario_places,
)

__all__ = ["Coverage", "Report", "run_paths"]


@dataclasses.dataclass
class Coverage:
    """Which rules applied and which reason codes were given, for one ruleset version."""

    name: str
    version: str
    rules: dict[str, int]
    codes: dict[str, int]
    #: Rules and codes inherited unchanged from a base version, left to that version's
    #: coverage (by the version that wrote them).
    inherited: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def rules_missed(self) -> list[str]:
        """Rules no scenario made apply."""
        return [r for r, n in self.rules.items() if n == 0]

    @property
    def codes_missed(self) -> list[str]:
        """Reason codes no scenario produced."""
        return [c for c, n in self.codes.items() if n == 0]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"ruleset": self.name, "version": self.version, "rules": self.rules,
                "codes": self.codes, "rules_missed": self.rules_missed,
                "codes_missed": self.codes_missed, "inherited": self.inherited}


@dataclasses.dataclass
class Report:
    """The results of a run."""

    results: list[ScenarioResult]
    errors: list[Diagnostic]
    sources: dict[str, str]
    coverage: dict[tuple[str, str], Coverage] | None = None
    #: Condition coverage (:mod:`ta_rules.verify.conditions`), when asked for.
    conditions: dict[tuple[str, str], Any] | None = None

    @property
    def passed(self) -> int:
        """Scenarios that passed."""
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        """Scenarios that failed (a wrong verdict, or facts that could not be judged)."""
        return len(self.results) - self.passed

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing errored."""
        return self.failed == 0 and not self.errors

    def summary(self) -> str:
        """``N passed, M failed`` (``, K errors`` when files could not be read)."""
        text = f"{self.passed} passed, {self.failed} failed"
        if self.errors:
            files = len({d.location.source for d in self.errors})
            text += f", {files} error{'s' if files != 1 else ''}"
        return text

    def coverage_percent(self) -> float:
        """Share of rules (of every ruleset version run) that applied at least once."""
        if not self.coverage:
            return 0.0
        total = sum(len(c.rules) for c in self.coverage.values())
        hit = sum(len(c.rules) - len(c.rules_missed) for c in self.coverage.values())
        return 100.0 * hit / total if total else 100.0

    def render(self, *, color: bool = False) -> str:
        """The text report: each failure in full, coverage tables, then the summary."""
        lines: list[str] = []
        for result in self.results:
            if not result.passed:
                lines.extend(_render_failure(result, color))
        if self.errors:
            lines.append(render_diagnostics(self.errors, self.sources))
        for cov in (self.coverage or {}).values():
            lines.extend(_render_coverage(cov))
        for conds in (self.conditions or {}).values():
            lines.extend(conds.render())
        lines.append(self.summary())
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON form of the whole report."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "errors": [d.to_json() for d in self.errors],
            "results": [
                {
                    "name": r.scenario.name,
                    "file": r.scenario.source,
                    "line": r.scenario.line,
                    "passed": r.passed,
                    "differences": list(r.differences),
                    "error": r.error,
                    "verdict": verdict_data(r.verdict) if r.verdict else None,
                }
                for r in self.results
            ],
            "coverage": [c.to_json() for c in self.coverage.values()]
            if self.coverage is not None else None,
            "conditions": [c.to_json() for c in self.conditions.values()]
            if self.conditions is not None else None,
            "summary": self.summary(),
        }


def run_paths(
    paths: Iterable[str | os.PathLike[str]], *, registry: Registry | None = None,
    engine: str = "compiled", keyword: str | None = None, locale: str = "en",
    coverage: bool = False, registry_for: Callable[[str], Registry | None] | None = None,
    skip: Callable[[str], bool] | None = None, coverage_per_version: bool = False,
    conditions: bool = False,
) -> Report:
    """Run every scenario in the files and folders given.

    Coverage counts a rule (or reason code) a version inherits unchanged from the version
    it is based on as that version's: the version that wrote it covers it. With
    ``coverage_per_version`` every version counts all of its rules.

    ``registry_for(path)`` may name another registry for the scenarios of one file (a
    folder that is a project of its own, with its own rules); None keeps ``registry``.
    ``skip(path)`` leaves out a file found in a folder (a rule file, not a scenario).
    ``conditions``: also which atomic conditions of each rule the scenarios showed
    decisive (needs the ``verify`` extra; :mod:`ta_rules.verify.conditions`).
    """
    from ta_rules.rulesets.registry import default_registry

    reg = registry or default_registry()
    results: list[ScenarioResult] = []
    judged_by: list[Registry] = []
    used: dict[int, Registry] = {id(reg): reg}
    errors: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for path, folder, problem in scenario_places(paths):
        if skip is not None and problem is None and skip(path):
            continue
        if problem is not None:
            errors.append(Diagnostic(dc.FILE_MISSING, problem, Location(path)))
            continue
        scenarios, problems = load_scenarios(path, folder=folder)
        if problems:
            errors.extend(problems)
            _keep_source(path, scenarios, sources, folder)
        file_reg = (registry_for(path) if registry_for else None) or reg
        used.setdefault(id(file_reg), file_reg)
        for s in scenarios:
            if keyword and keyword.lower() not in s.name.lower():
                continue
            if locale == "all":
                results.append(_run_in_every_locale(s, file_reg, engine))
            else:
                results.append(run_scenario(s, registry=file_reg, engine=engine,
                                            locale=locale, trace=True))
            judged_by.append(file_reg)
    cov = _coverage(list(zip(results, judged_by, strict=True)), list(used.values()),
                    per_version=coverage_per_version) if coverage else None
    conds = _conditions(results, judged_by, list(used.values())) if conditions else None
    return Report(results, errors, sources, cov, conds)


def _conditions(results: list[ScenarioResult], judged_by: list[Registry],
                registries: list[Registry]) -> dict[tuple[str, str], Any]:
    """Condition coverage of the scenarios judged (by the version that judged each)."""
    from ta_rules.verify import require_z3

    require_z3()
    from ta_rules.verify.conditions import condition_coverage

    pairs = [(r, reg) for r, reg in zip(results, judged_by, strict=True)
             if r.verdict is not None]
    judged = [(r.scenario.name, reg.select(r.verdict.ruleset.name, r.verdict.ruleset.version),
               r.scenario.facts, r.scenario.parameters) for r, reg in pairs if r.verdict]
    applied = [{t.rule for t in r.verdict.trace if t.applied}
               if r.verdict is not None and r.verdict.trace is not None else None
               for r, _ in pairs]
    return condition_coverage(judged, [rs for reg in registries for rs in reg.rulesets],
                              applied=applied)


def _keep_source(path: str, scenarios: list[Any], sources: dict[str, str],
                 folder: str | None = None) -> None:
    """The text of a file with problems, for showing them with an excerpt."""
    if scenarios:
        sources[path] = scenarios[0].doc.text
        return
    from ta_rules._files import FileRefused, read_guarded
    from ta_rules.testing.scenarios import MAX_SCENARIO_BYTES

    # read as the scenarios were (what was refused then is not shown now)
    with contextlib.suppress(FileRefused, UnicodeDecodeError):
        sources[path] = read_guarded(path, max_bytes=MAX_SCENARIO_BYTES,
                                     folder=folder).decode("utf-8")


def _run_in_every_locale(s: Any, registry: Registry, engine: str) -> ScenarioResult:
    """Judge a scenario once per shipped locale.

    The verdict must hold and every message must render (no placeholder left, nothing
    raised) in each.
    """
    from ta_rules.messages import shipped_locales

    first: ScenarioResult | None = None
    problems: list[str] = []
    # the locales of the rules folder's own catalogs, not the package's
    names = sorted({"en", *(loc for rs in registry.rulesets if rs.spec.catalog is not None
                            for loc in shipped_locales(rs.spec.catalog, rs.catalog_root))})
    for name in names:
        result = run_scenario(s, registry=registry, engine=engine, locale=name, trace=True)
        if first is None:
            first = result
        if result.verdict is not None:
            for r in result.verdict.reasons:
                if not r.message or "{" in r.message:
                    problems.append(f"{name}: the message of {r.code} did not render: "
                                    f"{r.message!r}")
        elif result.error and not first.error:
            problems.append(f"{name}: {result.error}")
    assert first is not None
    if problems:
        return dataclasses.replace(first, differences=(*first.differences, *problems))
    return first


def _coverage(judged: list[tuple[ScenarioResult, Registry]], registries: list[Registry], *,
              per_version: bool = False) -> dict[tuple[str, str], Coverage]:
    out: dict[tuple[str, str], Coverage] = {}

    def entry(registry: Registry, name: str, version: str) -> Coverage:
        key = (name, version)
        if key not in out:
            rs = registry.select(name, version)
            own = {r for r in rs.rules if per_version or rs.written_by[r] == version}
            codes = {c for c in rs.reasons
                     if per_version or rs.reasons_written_by[c] == version}
            inherited = {r: rs.written_by[r] for r in rs.rules if r not in own}
            inherited.update({c: rs.reasons_written_by[c] for c in rs.reasons
                              if c not in codes})
            out[key] = Coverage(name, version, {r: 0 for r in rs.rules if r in own},
                                dict.fromkeys(sorted(codes), 0), inherited)
        return out[key]

    def writer(registry: Registry, cov: Coverage, item: str) -> Coverage | None:
        """The coverage an item counts in: its version's, else the one that wrote it."""
        if item not in cov.inherited:
            return cov
        try:
            return entry(registry, cov.name, cov.inherited[item])
        except TaRulesError:  # a base outside the rules run (a bundled version)
            return None

    for r, registry in judged:
        v = r.verdict
        if v is None:
            continue
        cov = entry(registry, v.ruleset.name, v.ruleset.version)
        for t in v.trace or ():
            target = writer(registry, cov, t.rule) if t.applied else None
            if target is not None and t.rule in target.rules:
                target.rules[t.rule] += 1
        for reason in v.reasons:
            target = writer(registry, cov, reason.code)
            if target is not None:
                target.codes[reason.code] = target.codes.get(reason.code, 0) + 1
    for registry in registries:
        for rs in registry.rulesets:
            entry(registry, rs.name, rs.version)
    return out


def _render_failure(result: Any, color: bool) -> list[str]:
    """One failed scenario: where, what differs, what the engine said and which rules applied."""
    failed = "\033[31mFAILED\033[0m" if color else "FAILED"
    s = result.scenario
    lines = [f"{failed} {s.location}: {s.name}"]
    if result.error:
        lines.extend("  " + line for line in result.error.splitlines())
    lines.extend(f"  {d}" for d in result.differences)
    v = result.verdict
    if v is None:
        return lines
    lines.append(f"  got: {v.outcome} {sorted(v.codes)} max_refund {v.max_refund}"
                 f" coverage_cap {v.coverage_cap or 'null'} "
                 f"({v.ruleset.name} {v.ruleset.version})")
    if v.trace:
        lines.append("  trace (rules that applied):")
        lines.extend(f"    {t.rule}" + (f" [{t.subject}]" if t.subject else "")
                     for t in v.trace if t.applied)
    return lines


def _render_coverage(cov: Any) -> list[str]:
    """The coverage table of one ruleset version."""
    n_rules, n_codes = len(cov.rules), len(cov.codes)
    lines = [f"coverage {cov.name} {cov.version}: rules {n_rules - len(cov.rules_missed)}/"
             f"{n_rules}, reason codes {n_codes - len(cov.codes_missed)}/{n_codes}",
             f"  {'rule':<44} {'applied':>8}"]
    lines.extend(f"  {rule:<44} {n:>8}" for rule, n in cov.rules.items())
    lines.append(f"  {'reason code':<44} {'given':>8}")
    lines.extend(f"  {code:<44} {n:>8}" for code, n in cov.codes.items())
    if cov.rules_missed:
        lines.append("  rules never applied: " + ", ".join(cov.rules_missed))
    if cov.codes_missed:
        lines.append("  reason codes never given: " + ", ".join(cov.codes_missed))
    bases = sorted(set(cov.inherited.values()))
    if bases:
        lines.append(f"  inherited unchanged from {', '.join(bases)} and counted there: "
                     f"{len(cov.inherited)} rules and reason codes "
                     "(--coverage-per-version counts them here)")
    return lines
