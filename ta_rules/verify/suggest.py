"""``ta-rules scenarios suggest``: scenarios for the conditions the scenarios do not show.

For every condition of a rule no scenario shows decisive (:mod:`ta_rules.verify.
conditions`), the solver looks for claims in which it is (the rule evaluated, flipping the
condition alone flips the rule), with the version's default parameters and text facts that
mean something for their field (:mod:`ta_rules.verify.meaning`). A condition that orders
two values (``submitted_on <= deadline``, ``order_usd >= minimum``) gets its boundary: one
claim exactly on it and one a step past it (the last day of a window and the day after, an
amount at the minimum and one minor unit below); another condition gets a claim where it
is true and one where it is false, when both can be decisive.

Every claim found is judged by both engines (the compiled one and durable-rules); the
expectation written is what they give, and a claim on which they differ, or which the
coverage does not then count, is left out and said. Each scenario is named
``SUGGESTED (confirm): ...`` and tagged ``suggested``, ``confirm``: the verdict is the
engine's, to be confirmed against the policy by a person.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import z3

from ta_rules.evaluate import evaluate
from ta_rules.facts import parse_facts
from ta_rules.rulesets.compile import Ruleset
from ta_rules.verify.conditions import (
    Condition,
    ConditionCoverage,
    _show,
    _Surveys,
    decisive,
    pin_parameters,
)
from ta_rules.verify.meaning import field_literals, leaf_keys
from ta_rules.verify.query import env_of
from ta_rules.verify.rules_enc import RuleVisit

__all__ = ["HEADER", "Suggestion", "suggest"]

#: The comment a suggested scenario file starts with.
HEADER = ("# Suggested by `ta-rules scenarios suggest`: each scenario's expect is the verdict\n"
          "# both engines give. A person must confirm each one against the policy (and then\n"
          "# drop the SUGGESTED prefix and the confirm tag) before relying on it.\n")


@dataclasses.dataclass
class Suggestion:
    """One suggested scenario, as the scenario format writes it."""

    scenario: dict[str, Any]
    condition: Condition


def _verdict_expect(v: Any) -> dict[str, Any]:
    d = v.model_dump(mode="json")
    return {"outcome": d["outcome"], "reasons": sorted({r["code"] for r in d["reasons"]}),
            "max_refund": d["max_refund"], "coverage_cap": d["coverage_cap"]}


def _goals(visit: RuleVisit, c: Condition) -> list[tuple[str, Any]]:
    """(what, formula) of the claims to look for, boundary first."""
    d = decisive(visit, c.index)
    edge = visit.edges[c.index] if c.index < len(visit.edges) else None
    truth = visit.truths[c.index]
    if edge is None:
        return [("true", z3.And(d, truth)), ("false", z3.And(d, z3.Not(truth)))]
    known, diff, step = edge
    return [("on the boundary", z3.And(d, known, diff == 0)),
            ("one step above the boundary", z3.And(d, known, diff == step)),
            ("one step below the boundary", z3.And(d, known, diff == -step)),
            ("true", z3.And(d, truth)), ("false", z3.And(d, z3.Not(truth)))]


def suggest(coverage: Mapping[tuple[str, str], ConditionCoverage],
            rulesets: Iterable[Ruleset], *, rule: str | None = None, bound: int = 3,
            timeout: float = 10.0) -> tuple[list[Suggestion], list[str]]:
    """Scenarios for the decidable conditions ``coverage`` does not show decisive.

    ``coverage`` is updated as the suggestions show conditions. Returns the suggestions
    and notes (what was left out, and why).
    """
    by_key = {(rs.name, rs.version): rs for rs in rulesets}
    surveys = _Surveys(bound)
    out: list[Suggestion] = []
    notes: list[str] = []
    for key, cov in coverage.items():
        rs = by_key.get(key)
        if rs is None or rs.ir is None:
            continue
        params, _ = rs.bind_parameters(None)
        named = field_literals(rs, params)
        env = env_of(rs)

        def meaning(leaf: Any, named: Any = named, env: Any = env) -> set[str]:
            return set().union(*(named.get(k, set()) for k in leaf_keys(env, leaf.path)))
        _, classes = surveys.currencies(rs)
        # conditions that order two values first: their boundary pairs are written before
        # other suggestions happen to show them
        ordering = {(c.rule, c.index) for c in cov.conditions()
                    if _orders(rs.ir.rules[c.rule], c.index)}
        for c in sorted(cov.missing(), key=lambda c: (c.rule, c.index) not in ordering):
            if rule is not None and c.rule != rule:
                continue
            if c.shown:  # shown by an earlier suggestion
                continue
            found = _for_condition(c, cov, rs, classes, surveys, meaning, timeout, out, notes)
            if not found:
                notes.append(f"{rs.version} {c.rule} [{c.index + 1}] {c.text}: no claim found "
                             f"that shows it decisive (lists of up to {bound} items)")
    return out, notes


def _orders(rule: Any, index: int) -> bool:
    from ta_rules.rulesets import ir
    from ta_rules.verify.rules_enc import atoms

    parts = atoms(rule.when)
    atom = parts[index] if index < len(parts) else None
    return isinstance(atom, ir.Compare) and atom.op in ("<", "<=", ">", ">=")


def _for_condition(c: Condition, cov: ConditionCoverage, rs: Ruleset, classes: list[str],
                   surveys: _Surveys, meaning: Any, timeout: float,
                   out: list[Suggestion], notes: list[str]) -> bool:
    params, _ = rs.bind_parameters(None)
    wanted = 2
    made = 0
    from ta_rules.verify.rules_enc import EncodingError
    from ta_rules.verify.values import Unsupported

    for currency in classes:
        try:
            sv, _ = surveys.get(rs, currency)
        except (EncodingError, Unsupported) as exc:
            notes.append(f"{rs.version} ({currency}): cannot be encoded: {exc}")
            return made > 0
        s = z3.Solver()
        s.set("timeout", int(timeout * 1000))
        s.add(*sv.space.constraints(meaning), *pin_parameters(sv, params))
        seen_sides: set[bool] = set()
        near = _dates_near(sv, rs)
        for visit in sv.visits.get(c.rule, []):
            for what, goal in _goals(visit, c):
                if made >= wanted:
                    return True
                # dates in the version's first years when that can be, else any
                if s.check(goal, near) != z3.sat and s.check(goal) != z3.sat:
                    continue
                m = s.model()
                side = z3.is_true(m.eval(visit.truths[c.index], model_completion=True))
                if side in seen_sides:
                    continue
                doc = sv.space.decode(m)
                got = _judged(c, cov, rs, doc, what, surveys, notes)
                if got is not None:
                    out.append(got)
                    seen_sides.add(side)
                    made += 1
        if made:
            return True
    return made > 0


def _dates_near(sv: Any, rs: Ruleset) -> Any:
    """Every date within the first three years the version is in force (readable claims)."""
    import datetime as dt

    start = (rs.effective_from or dt.date(2015, 1, 1)).toordinal()
    return z3.And([z3.Implies(leaf.sym.present, z3.And(leaf.raw >= start,
                                                        leaf.raw <= start + 3 * 365))
                   for leaf in sv.space.leaves if leaf.t.kind == "date"])


def _judged(c: Condition, cov: ConditionCoverage, rs: Ruleset, doc: dict[str, Any],
            what: str, surveys: _Surveys, notes: list[str]) -> Suggestion | None:
    """The scenario for a witness, when both engines agree and the coverage counts it."""
    facts = parse_facts(doc, rs.vocabulary)
    canonical = facts.model_dump(mode="json")
    compiled = evaluate(facts, ruleset=rs, trace=True)
    traced = {t.rule for t in compiled.trace or () if t.applied}
    label = f"{rs.version} {c.rule} [{c.index + 1}] {c.text} ({what})"
    try:
        durable = evaluate(facts, ruleset=rs, engine="durable")
    except Exception as exc:  # the durable engine is optional
        from ta_rules.errors import EngineUnavailableError

        if not isinstance(exc, EngineUnavailableError):
            raise
        notes.append(f"{label}: not judged by durable-rules ({exc}); left out")
        return None
    expect = _verdict_expect(compiled)
    if _verdict_expect(durable) != expect:
        notes.append(f"{label}: the engines disagree ({compiled.outcome} / "
                     f"{durable.outcome}); left out")
        return None
    name = f"SUGGESTED (confirm): {label}"
    trial = copy.deepcopy(cov)
    try:
        _show(trial, name, rs, canonical, None, surveys, traced)
    except ValueError as exc:  # the engine's trace and the encoding disagree
        notes.append(f"{label}: {exc}; left out")
        return None
    mine = trial.rules[c.rule][c.index]
    if name not in mine.when_true + mine.when_false:
        notes.append(f"{label}: the judged claim does not show it decisive; left out")
        return None
    _show(cov, name, rs, canonical, None, surveys, traced)
    scenario = {
        "name": name,
        "description": f"Condition {c.index + 1} of rule {c.rule}, '{c.text}', decides the "
                       f"rule here: flipping it alone changes whether the rule applies. The "
                       f"expectation is the engines' verdict: confirm it against the policy.",
        "version": rs.version,
        "tags": ["suggested", "confirm"],
        "facts": canonical,
        "expect": expect,
    }
    return Suggestion(scenario, c)
