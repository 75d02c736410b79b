"""Condition coverage (MC/DC style): which conditions of each rule the scenarios decide.

The atomic conditions of a rule are the parts of its ``when`` that are not ``and``, ``or``
or ``not`` (:func:`~ta_rules.verify.rules_enc.atoms`). A scenario shows a condition
*decisive* when the rule is evaluated for it (its table chosen for an item, no earlier rule
of a ``first`` list applied) and flipping that condition alone, every other condition
keeping the value it had, flips whether the rule applies: the scenario and its flipped
twin are the MC/DC pair. The values are read from the encoding of the rules the solver
uses (:mod:`ta_rules.verify.reach`), pinned to the scenario's facts and parameters, so the
same code that finds witnesses for missing conditions (:mod:`ta_rules.verify.suggest`)
decides what a scenario shows.

A condition that no valid claim can make decisive (with the version's default
parameters, lists within the bound) is *undecidable*; it is listed, and left out of the
percentage: 100% means every condition that can be shown decisive is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import z3

from ta_rules.facts import parse_facts
from ta_rules.money import Money
from ta_rules.rulesets import ir
from ta_rules.rulesets.compile import Ruleset
from ta_rules.verify import MAX_BOUND
from ta_rules.verify.query import currency_classes, env_of, literals
from ta_rules.verify.reach import Survey, applies, survey
from ta_rules.verify.rules_enc import PY_OPS, EncodingError, RuleVisit, atoms, skeleton
from ta_rules.verify.space import flatten
from ta_rules.verify.values import Sym, Unsupported

__all__ = ["Condition", "ConditionCoverage", "atom_texts", "condition_coverage",
           "decisive", "pin_parameters"]

_TRAIL = re.compile(r"(?:\s+|\(|\band\b|\bor\b|\bnot\b)+$")
_LEAD = re.compile(r"^(?:\s+|\(|\bnot\b)+")


def atom_texts(rule: ir.RuleIR) -> list[str]:
    """The text of each atomic condition of a rule, as written."""
    parts = atoms(rule.when)
    text = (rule.when_text or "").strip()
    starts = [a.at[1] for a in parts]
    out = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        piece = text[start:end]
        while True:
            cut = _TRAIL.sub("", piece)
            if cut.count(")") > cut.count("("):
                cut = cut[:cut.rindex(")")]
            if cut == piece:
                break
            piece = cut
        out.append(_LEAD.sub("", piece).strip() or f"condition {i + 1}")
    return out


def decisive(visit: RuleVisit, i: int) -> Any:
    """Whether flipping condition ``i`` alone flips whether the rule applies (where reached)."""
    assert visit.rule.when is not None
    t = list(visit.truths)
    on = skeleton(visit.rule.when, [*t[:i], z3.BoolVal(True), *t[i + 1:]])
    off = skeleton(visit.rule.when, [*t[:i], z3.BoolVal(False), *t[i + 1:]])
    return z3.And(visit.reached, on != off)


@dataclasses.dataclass
class Condition:
    """One atomic condition of a rule and what the scenarios showed of it."""

    rule: str
    index: int
    text: str
    #: Scenarios in which it was decisive while true, and while false.
    when_true: list[str] = dataclasses.field(default_factory=list)
    when_false: list[str] = dataclasses.field(default_factory=list)
    #: False when no valid claim can make it decisive; None when not asked.
    decidable: bool | None = None

    @property
    def shown(self) -> bool:
        """Some scenario showed it decisive."""
        return bool(self.when_true or self.when_false)

    def to_json(self) -> dict[str, Any]:
        """The condition as JSON."""
        return {"rule": self.rule, "index": self.index, "text": self.text,
                "decisive_when_true": self.when_true, "decisive_when_false": self.when_false,
                "shown": self.shown, "decidable": self.decidable}


@dataclasses.dataclass
class ConditionCoverage:
    """The conditions of one ruleset version, by rule, in file order."""

    name: str
    version: str
    rules: dict[str, list[Condition]]
    #: Scenarios whose facts the encoding could not take (with why).
    skipped: list[str] = dataclasses.field(default_factory=list)

    def conditions(self) -> list[Condition]:
        """Every condition, in file order."""
        return [c for cs in self.rules.values() for c in cs]

    def counted(self) -> list[Condition]:
        """The conditions the percentage counts (all but the undecidable ones)."""
        return [c for c in self.conditions() if c.decidable is not False]

    def missing(self) -> list[Condition]:
        """Decidable conditions no scenario showed decisive."""
        return [c for c in self.counted() if not c.shown]

    def percent(self) -> float:
        """Conditions shown decisive, of those that can be, in percent."""
        n = len(self.counted())
        return 100.0 * (n - len(self.missing())) / n if n else 100.0

    def to_json(self) -> dict[str, Any]:
        """The coverage as JSON."""
        return {"ruleset": self.name, "version": self.version, "percent": self.percent(),
                "conditions": [c.to_json() for c in self.conditions()],
                "skipped": self.skipped}

    def render(self) -> list[str]:
        """The text table."""
        counted = self.counted()
        lines = [f"condition coverage {self.name} {self.version}: "
                 f"{len(counted) - len(self.missing())}/{len(counted)} conditions shown "
                 f"decisive ({self.percent():.1f}%)"]
        for rule, conds in self.rules.items():
            for c in conds:
                if c.decidable is False:
                    mark = "never decisive (no valid claim makes it so, default parameters)"
                elif c.shown:
                    sides = [s for s, seen in (("true", c.when_true), ("false", c.when_false))
                             if seen]
                    first = (c.when_true or c.when_false)[0]
                    mark = f"decisive when {' and '.join(sides)} ({first})"
                else:
                    mark = "NOT SHOWN decisive"
                lines.append(f"  {rule} [{c.index + 1}] {c.text}: {mark}")
        lines.extend(f"  skipped: {s}" for s in self.skipped)
        return lines


def pin_parameters(sv: Survey, values: Mapping[str, Any]) -> list[Any]:
    """Constraints giving the free parameters of a survey the values ``values``."""
    out = []
    for name, value in values.items():
        sym = sv.encoder.params.get(name)
        if not isinstance(sym, Sym):  # a parameter the survey keeps at its default
            if name in sv.encoder.params and sym != value:
                raise ValueError(f"parameter {name}: only its default can be analysed")
            continue
        if not isinstance(sym.present, bool) and not z3.is_true(z3.simplify(sym.present)):
            out.append(sym.present == (value is not None))
        if value is None:
            continue
        if sym.items is not None:
            items = list(value)
            out.append(sym.length == len(items))
            out += [it.val == sv.space.index_of(str(x))
                    for it, x in zip(sym.items, items, strict=False)]
            if len(items) > len(sym.items):
                out.append(z3.BoolVal(False))
        elif isinstance(value, bool | int):
            out.append(sym.val == value)
        elif isinstance(value, Money):
            out.append(sym.val == z3.RealVal(str(value.amount)))
        elif isinstance(value, Decimal):
            out.append(sym.val == z3.RealVal(str(value)))
        elif isinstance(value, dt.date):
            out.append(sym.val == value.toordinal())
        elif isinstance(value, str):
            out.append(sym.val == sv.space.index_of(value))
        else:  # a value a free parameter cannot be pinned to: the claim is not analysed
            raise ValueError(f"parameter {name}: cannot pin {value!r}")
    return out


def _currency(rs: Ruleset, facts: Any, classes: Sequence[str], named: set[str]) -> str:
    from ta_rules.money import minor_unit

    cur = "USD"
    for dim in rs.vocabulary.dimensions if rs.vocabulary else ():
        value: Any = facts
        for part in dim.source:
            value = getattr(value, part, None)
        if value is not None:
            cur = str(value.currency)
    if cur in named or cur in classes:
        return cur
    # a currency the rules do not name behaves as their representative of its minor unit
    return next((c for c in classes if c not in named and minor_unit(c) == minor_unit(cur)),
                cur)


class _Surveys:
    """One survey per (version, currency), parameters free, lists within the bound."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.cache: dict[tuple[int, str], tuple[Survey, Any]] = {}
        self._named: dict[int, tuple[set[str], list[str]]] = {}

    def currencies(self, rs: Ruleset) -> tuple[set[str], list[str]]:
        """The strings the rules mention, and the currency classes."""
        got = self._named.get(id(rs))
        if got is None:
            mentioned = literals([rs], [rs.bind_parameters(None)[0]])
            got = self._named[id(rs)] = (mentioned, currency_classes(mentioned))
        return got

    def get(self, rs: Ruleset, currency: str) -> tuple[Survey, Any]:
        key = (id(rs), currency)
        if key not in self.cache:
            params, _ = rs.bind_parameters(None)
            sv = survey(rs, params, currency, self.bound, free=True)
            self.cache[key] = (sv, sv.solver(10.0))
        return self.cache[key]


def _empty(rs: Ruleset) -> ConditionCoverage:
    assert rs.ir is not None
    rules = {r.id: [Condition(r.id, i, text) for i, text in enumerate(atom_texts(r))]
             for r in rs.ir.all_rules() if r.ok and r.when is not None}
    return ConditionCoverage(rs.name, rs.version, rules)


def condition_coverage(judged: Iterable[tuple[str, Ruleset, Mapping[str, Any],
                                              Mapping[str, Any] | None]],
                       rulesets: Iterable[Ruleset] = (), *, decide: bool = True,
                       bound: int = 3, applied: Sequence[set[str] | None] = ()
                       ) -> dict[tuple[str, str], ConditionCoverage]:
    """Which conditions the scenarios show decisive, per ruleset version.

    Args:
        judged: (scenario name, the ruleset version that judged it, its facts document,
            its parameter overrides) for each scenario.
        applied: For each scenario, the rules the engine's trace says applied (None: not
            traced): a scenario on which the encoding says otherwise is not counted, and
            is listed as skipped (never a coverage the engine does not bear out).
        rulesets: Versions to report even when no scenario was judged by them.
        decide: Ask the solver, for each condition not shown, whether any claim can
            make it decisive (else ``decidable`` stays None and it is counted).
        bound: The fewest list items the encoding holds (raised to a scenario's longest).
    """
    judged = list(judged)
    out: dict[tuple[str, str], ConditionCoverage] = {}
    by_rs: dict[int, Ruleset] = {}
    for rs in [*rulesets, *(j[1] for j in judged)]:
        if rs.ir is not None and (rs.name, rs.version) not in out:
            out[(rs.name, rs.version)] = _empty(rs)
            by_rs[id(rs)] = rs
    longest = bound
    for _, rs, doc, _ in judged:
        flat = flatten(parse_facts(doc, rs.vocabulary).model_dump(mode="json"), env_of(rs))
        longest = max([longest] + [int(n) for k, n in flat.items() if k.endswith("#")])
    surveys = _Surveys(min(longest, MAX_BOUND))
    traced = list(applied) + [None] * (len(judged) - len(applied))
    for (name, rs, doc, params), engine_applied in zip(judged, traced, strict=True):
        cov = out[(rs.name, rs.version)]
        try:
            _show(cov, name, rs, doc, params, surveys, engine_applied)
        except Exception as exc:  # reported, never a wrong coverage
            if not isinstance(exc, EncodingError | Unsupported | ValueError | z3.Z3Exception):
                raise
            cov.skipped.append(f"{name}: {exc}")
    if decide:
        for cov in out.values():
            rs = next(r for r in by_rs.values() if (r.name, r.version) == (cov.name,
                                                                         cov.version))
            _decidable(cov, rs, surveys)
    return out


def _show(cov: ConditionCoverage, name: str, rs: Ruleset, doc: Mapping[str, Any],
          params: Mapping[str, Any] | None, surveys: _Surveys,
          engine_applied: set[str] | None = None) -> None:
    facts = parse_facts(doc, rs.vocabulary)
    mentioned, classes = surveys.currencies(rs)
    sv, s = surveys.get(rs, _currency(rs, facts, classes, mentioned))
    flat = flatten(facts.model_dump(mode="json"), env_of(rs))
    bound, _ = rs.bind_parameters(params or None)
    s.push()
    try:
        s.add(*sv.space.pin(flat), *pin_parameters(sv, bound))
        if s.check() != z3.sat:
            raise ValueError("the solver's encoding cannot hold these facts")
        m = s.model()
        if engine_applied is not None:
            mine = {rid for rid, visits in sv.visits.items()
                    if any(z3.is_true(m.eval(applies(v), model_completion=True))
                           for v in visits)}
            if mine != engine_applied:
                raise ValueError("the engine's trace and the solver's encoding disagree on "
                                 f"the rules that applied: {sorted(mine ^ engine_applied)}")
        for rid, conds in cov.rules.items():
            for visit in sv.visits.get(rid, []):
                if not z3.is_true(m.eval(visit.reached, model_completion=True)):
                    continue
                assert visit.rule.when is not None
                t = [z3.is_true(m.eval(x, model_completion=True)) for x in visit.truths]
                holds = skeleton(visit.rule.when, t, ops=PY_OPS)
                for c in conds:
                    flipped = [*t[:c.index], not t[c.index], *t[c.index + 1:]]
                    if skeleton(visit.rule.when, flipped, ops=PY_OPS) != holds:
                        seen = c.when_true if t[c.index] else c.when_false
                        if name not in seen:
                            seen.append(name)
    finally:
        s.pop()


def _decidable(cov: ConditionCoverage, rs: Ruleset, surveys: _Surveys) -> None:
    """Mark the conditions no claim can make decisive (default parameters, any currency)."""
    todo = [c for c in cov.conditions() if not c.shown]
    if not todo:
        return
    params, _ = rs.bind_parameters(None)
    for c in todo:
        c.decidable = False
    for currency in currency_classes(literals([rs], [params])):
        left = [c for c in todo if c.decidable is False]
        if not left:
            break
        try:
            sv, s = surveys.get(rs, currency)
        except Exception as exc:  # what cannot be encoded is counted, never excused
            if not isinstance(exc, EncodingError | Unsupported):
                raise
            for c in left:
                c.decidable = None
            break
        s.push()
        s.add(*pin_parameters(sv, params))
        for c in left:
            ways = [decisive(v, c.index) for v in sv.visits.get(c.rule, [])]
            got = s.check(z3.Or(ways)) if ways else z3.unsat
            if got != z3.unsat:
                c.decidable = True  # sat, or the solver gave up: counted, not excused
        s.pop()
