"""Scenario fixtures: one claim's facts plus the verdict expected for them.

A file holds one scenario (a mapping with ``name``) or several under ``scenarios:``. Bad
files are reported as diagnostics with file:line:column and never stop other files.

Scenarios of one file may share facts, two ways:

- ``base: {facts: {...}}`` beside ``scenarios:``: each scenario's ``facts`` are laid over
  the base facts (mappings merge key by key, at every depth; any other value, a list
  included, replaces the base's); a scenario without ``facts`` judges the base as it is;
- YAML anchors, aliases and merge keys (``&claim``, ``*claim``, ``<<: *claim``).

Either way a fact keeps the position where it is written, so a bad fact shared by several
scenarios is reported at its line in the base (or anchor), with the scenario's path.

Example:
    >>> scenarios, problems = load_scenarios_text('''
    ... name: nothing paid
    ... facts: {as_of: 2015-03-09}
    ... expect: {outcome: denied, reasons: [NO_QUALIFYING_PAYMENT],
    ...          max_refund: {amount: "0", currency: USD}}
    ... ''', "inline.yaml")
    >>> scenarios[0].name, scenarios[0].line, problems
    ('nothing paid', 2, [])
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import (
    Diagnostic,
    FactsError,
    Location,
    ParameterError,
    TaRulesError,
    UnknownRulesetError,
)
from ta_rules.money import Money
from ta_rules.rulesets._yaml import YamlDocument, load_yaml
from ta_rules.rulesets.load import schema_diagnostics
from ta_rules.rulesets.registry import Registry
from ta_rules.verdict import Verdict

__all__ = [
    "Expectation",
    "Scenario",
    "ScenarioResult",
    "find_scenario_files",
    "load_scenarios",
    "load_scenarios_text",
    "run_scenario",
]

MAX_SCENARIO_BYTES = 16 * 1024 * 1024


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _MoneySpec(_Spec):
    amount: Annotated[str | int, Field(union_mode="left_to_right")]
    currency: str


class _ExpectSpec(_Spec):
    outcome: Literal["covered", "denied", "pending", "settled"]
    reasons: list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]]
    max_refund: _MoneySpec
    coverage_cap: _MoneySpec | None = None


class _ScenarioSpec(_Spec):
    name: Annotated[str, Field(min_length=1, max_length=500)]
    description: str | None = None
    ruleset: str | None = None
    version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)*$")] | None = None
    parameters: dict[str, Any] | None = None
    tags: list[str] = []
    facts: dict[str, Any]
    expect: _ExpectSpec


class _BaseSpec(_Spec):
    facts: dict[str, Any]


class _FileSpec(_Spec):
    base: _BaseSpec | None = None
    scenarios: list[_ScenarioSpec]


#: Most positions the base facts may give the scenarios of one file in all (bounds the work
#: of sharing a large base with very many scenarios).
MAX_SHARED_POSITIONS = 2_000_000


@dataclasses.dataclass(frozen=True)
class Expectation:
    """The expected verdict: outcome, exact reason set, amounts (compared by value)."""

    outcome: str
    reasons: frozenset[str]
    max_refund: Money
    coverage_cap: Money | None
    coverage_cap_given: bool


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One scenario: where it is written, what it pins, its facts and expectation."""

    name: str
    source: str
    line: int
    ruleset: str | None
    version: str | None
    parameters: Mapping[str, Any]
    facts: Mapping[str, Any]
    expect: Expectation
    doc: YamlDocument = dataclasses.field(repr=False, compare=False)
    path: tuple[str | int, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        """``file:line`` of the scenario."""
        return f"{self.source}:{self.line}"


@dataclasses.dataclass(frozen=True)
class ScenarioResult:
    """What running a scenario gave: the verdict, the differences, or an error."""

    scenario: Scenario
    verdict: Verdict | None
    differences: tuple[str, ...]
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when the verdict matches the expectation exactly."""
        return self.error is None and not self.differences


def _money(spec: _MoneySpec) -> Money:
    return Money.of(spec.amount, spec.currency)


def load_scenarios_text(content: str | bytes, source: str) -> tuple[list[Scenario],
                                                                    list[Diagnostic]]:
    """Read scenarios from a file's text; problems are returned, not raised."""
    doc, problems = load_yaml(content, source, max_bytes=MAX_SCENARIO_BYTES, aliases=True)
    if doc is None or problems:
        return [], problems
    data = doc.data
    if isinstance(data, dict) and "scenarios" in data:
        problems = _lay_over_base(doc)
        if problems:
            return [], problems
        try:
            specs = _FileSpec.model_validate(data).scenarios
        except ValidationError as exc:
            return [], schema_diagnostics(exc, doc, _FileSpec, prefix="scenario")
        base: tuple[str | int, ...] = ("scenarios",)
        paths = [(*base, i) for i in range(len(specs))]
    elif isinstance(data, dict):
        try:
            specs = [_ScenarioSpec.model_validate(data)]
        except ValidationError as exc:
            return [], schema_diagnostics(exc, doc, _ScenarioSpec, prefix="scenario")
        paths = [()]
    else:
        return [], [Diagnostic(dc.SCENARIO_INVALID,
                               "a scenario file holds a mapping with name, facts and expect, "
                               "or a list under scenarios:", Location(source, 1, 1))]
    out = []
    for spec, path in zip(specs, paths, strict=True):
        loc = doc.location(path)
        try:
            expect = Expectation(
                outcome=spec.expect.outcome,
                reasons=frozenset(spec.expect.reasons),
                max_refund=_money(spec.expect.max_refund),
                coverage_cap=_money(spec.expect.coverage_cap) if spec.expect.coverage_cap
                else None,
                coverage_cap_given="coverage_cap" in (doc.data_at((*path, "expect")) or {}),
            )
        except ValueError as exc:
            problems.append(Diagnostic(dc.SCENARIO_INVALID, f"expect: {exc}",
                                       doc.location((*path, "expect"))))
            continue
        out.append(Scenario(
            name=spec.name, source=source, line=loc.line, ruleset=spec.ruleset,
            version=spec.version, parameters=dict(spec.parameters or {}), facts=spec.facts,
            expect=expect, doc=doc, path=path, tags=tuple(spec.tags),
        ))
    return out, problems


def _overlay(base: Any, own: Any, path: tuple[str | int, ...],
             taken: list[tuple[str | int, ...]]) -> Any:
    """``own`` laid over ``base``: mappings merge; ``taken`` gets the paths read from base."""
    if not isinstance(base, dict) or not isinstance(own, dict):
        return own
    out = dict(own)
    for key, value in base.items():
        if key not in own:
            out[key] = value
            taken.append((*path, key))
        else:
            out[key] = _overlay(value, own[key], (*path, key), taken)
    return out


def _lay_over_base(doc: YamlDocument) -> list[Diagnostic]:
    """Lay each scenario's facts over the file's ``base.facts``, with their positions."""
    base = doc.data.get("base")
    scenarios = doc.data.get("scenarios")
    if base is None or not isinstance(scenarios, list):
        return []
    if not isinstance(base, dict) or not isinstance(base.get("facts"), dict):
        return [Diagnostic(dc.SCENARIO_INVALID, "base: holds the facts the scenarios of the "
                           "file share: base: {facts: {...}}", doc.location(("base",)))]
    facts = base["facts"]
    root = ("base", "facts")
    shared = doc.positions_under(root)
    budget = MAX_SHARED_POSITIONS
    for i, item in enumerate(scenarios):
        if not isinstance(item, dict):
            continue  # the file schema says what is wrong with it
        here = ("scenarios", i, "facts")
        own = item.get("facts", {})
        taken: list[tuple[str | int, ...]] = []
        item["facts"] = copy.deepcopy(_overlay(facts, own, (), taken))
        budget -= len(shared)
        if budget < 0:
            return [Diagnostic(dc.SCENARIO_TOO_LARGE, f"the base facts are shared by more "
                               f"scenarios than one file may hold ({i} of {len(scenarios)})",
                               doc.location(("scenarios", i)),
                               "split the file, or give the base fewer facts")]
        doc.share_positions(shared, here, set(taken))
    return []


def load_scenarios(path: str | os.PathLike[str], *,
                   folder: str | os.PathLike[str] | None = None,
                   ) -> tuple[list[Scenario], list[Diagnostic]]:
    """Read the scenarios of one file; problems are returned, not raised.

    The file is read as a rule file is: a regular file of at most
    :data:`MAX_SCENARIO_BYTES` bytes, inside ``folder`` (the folder it was found in) when
    given.
    """
    from ta_rules._files import FileRefused, read_guarded
    from ta_rules.rulesets.load import exc_as_diagnostic

    name = os.fspath(path)
    try:
        content = read_guarded(name, max_bytes=MAX_SCENARIO_BYTES, folder=folder,
                               what="scenario file")
    except FileRefused as exc:
        return [], list(exc_as_diagnostic(exc).diagnostics)
    return load_scenarios_text(content, name)


def scenario_places(
    paths: Iterable[str | os.PathLike[str]],
) -> Iterator[tuple[str, str | None, str | None]]:
    """Expand files and folders (recursively) into ``*.yaml``/``*.yml`` files.

    Yields (path, the folder it was found in or None when named, problem); problem is a
    message for a path that does not exist. Every entry of a folder with the suffix is
    given, links and special files too: reading it refuses what is not a regular file
    inside the folder, and says so.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.suffix in (".yaml", ".yml") and not f.is_dir():
                    yield str(f), str(p), None
        elif p.exists() or p.is_symlink():
            yield str(p), None, None
        else:
            yield str(p), None, "no such file or folder"


def find_scenario_files(
    paths: Iterable[str | os.PathLike[str]],
) -> Iterator[tuple[str, str | None]]:
    """(path, problem) of :func:`scenario_places`."""
    for path, _, problem in scenario_places(paths):
        yield path, problem


def run_scenario(
    scenario: Scenario, *, registry: Registry | None = None, engine: str = "compiled",
    locale: str = "en", trace: bool = False,
) -> ScenarioResult:
    """Evaluate a scenario and compare the verdict with its expectation."""
    from ta_rules.evaluate import evaluate

    try:
        verdict = evaluate(
            scenario.facts, ruleset=scenario.ruleset, version=scenario.version,
            parameters=scenario.parameters or None, trace=trace, locale=locale,
            registry=registry, engine=engine,
        )
    except FactsError as exc:
        lines = []
        for p in exc.problems:
            loc = scenario.doc.location((*scenario.path, "facts", *_split(p.path)))
            lines.append(f"{loc}: facts.{p.path}: {p.message}")
        return ScenarioResult(scenario, None, (), "invalid facts:\n  " + "\n  ".join(lines))
    except (ParameterError, UnknownRulesetError) as exc:
        return ScenarioResult(scenario, None, (), str(exc))
    except TaRulesError as exc:
        return ScenarioResult(scenario, None, (), f"{type(exc).__name__}: {exc}")
    return ScenarioResult(scenario, verdict, tuple(compare(scenario.expect, verdict)))


def _split(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return out


def compare(expect: Expectation, verdict: Verdict) -> list[str]:
    """Each field where the verdict differs from the expectation, as a readable line."""
    diffs = []
    if verdict.outcome != expect.outcome:
        diffs.append(f"outcome: expected {expect.outcome}, got {verdict.outcome}")
    got = verdict.codes
    diffs.extend(f"missing reason: {c}" for c in sorted(expect.reasons - got))
    diffs.extend(f"unexpected reason: {c}" for c in sorted(got - expect.reasons))
    if verdict.max_refund != expect.max_refund:
        diffs.append(f"max_refund: expected {expect.max_refund}, got {verdict.max_refund}")
    if expect.coverage_cap_given and verdict.coverage_cap != expect.coverage_cap:
        diffs.append(f"coverage_cap: expected {expect.coverage_cap or 'null'}, got "
                     f"{verdict.coverage_cap or 'null'}")
    return diffs
