"""Which rules can apply at all: the solver's side of "rules that can never matter".

Every evaluation of every rule is recorded by the encoder (:class:`~ta_rules.verify.
rules_enc.RuleVisit`): the context it is evaluated in (its table chosen for an item, no
earlier rule of a ``first`` list applied) and the truth of its atomic conditions. A rule
can apply when, for some valid facts document (within the list bound) and some contract
currency class, it is reached and its condition holds. One that cannot is

* **impossible** when its condition cannot hold even where it is evaluated, whatever the
  rules before it say (the vocabulary's bounds and the parameters rule it out), or
* **shadowed** when it can hold there, but only where an earlier rule of its ``first``
  list already applied (those rules are named).

Each query has a time limit; a rule the solver gave up on is listed as such, never
reported dead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import z3

from ta_rules.rulesets import ir
from ta_rules.rulesets.compile import Ruleset
from ta_rules.verify.query import currency_classes, env_of, literals, settled_check
from ta_rules.verify.rules_enc import RulesetEncoder, RuleVisit, skeleton
from ta_rules.verify.space import FactSpace
from ta_rules.verify.values import Strings, Sym

__all__ = ["Reach", "Survey", "reach", "survey"]


@dataclasses.dataclass
class Survey:
    """One ruleset encoded over one symbolic document, with every rule evaluation recorded."""

    space: FactSpace
    encoder: RulesetEncoder
    visits: dict[str, list[RuleVisit]]
    currency: str

    def solver(self, timeout: float) -> Any:
        """A solver holding the document's validity constraints."""
        s = z3.Solver()
        s.set("timeout", max(1, int(timeout * 1000)))
        s.add(*self.space.constraints())
        return s


def free_parameters(rs: Ruleset, params: Mapping[str, Any], strings: Strings,
                    currency: str) -> tuple[dict[str, Any], list[Any]]:
    """The parameters as unknowns (a setting of the policy is not fixed by its default).

    A yes/no, a whole number (within the calendar's day count), a decimal, a date, an
    amount (within what money holds), a string with choices or a list of strings becomes
    a variable; another list keeps its value.
    Returns the parameter values and the constraints on them.
    """
    from ta_rules.facts import MAX_DATE, MIN_DATE
    from ta_rules.money import MAX_INTEGER_DIGITS, minor_unit
    from ta_rules.rulesets.passes import MAX_DAY_COUNT

    out: dict[str, Any] = dict(params)
    bounds: list[Any] = []
    for name, p in rs.parameters.items():
        t, var = p.type, f"param:{name}"
        if t.kind == "list" and t.item is not None and t.item.kind == "str":
            out[name] = _free_list(t, var, p.default, strings, bounds)
            continue
        if t.kind not in ("bool", "int", "money", "str", "decimal", "date"):
            continue
        present = z3.Bool(var + "?") if t.nullable else z3.BoolVal(True)
        if t.kind == "bool":
            out[name] = Sym(t, present, z3.Bool(var))
        elif t.kind == "int":
            x = z3.Int(var)
            bounds += [x >= -MAX_DAY_COUNT, x <= MAX_DAY_COUNT]
            out[name] = Sym(t, present, x, places=0)
        elif t.kind == "decimal":
            out[name] = Sym(t, present, z3.Real(var))
        elif t.kind == "date":
            x = z3.Int(var)
            bounds += [x >= MIN_DATE.toordinal(), x <= MAX_DATE.toordinal()]
            out[name] = Sym(t, present, x, places=0)
        elif t.kind == "money":
            cur = t.dim if t.dim and t.dim not in (rs.vocabulary.dimension_map
                                                   if rs.vocabulary else {}) else currency
            if cur is None:
                continue
            scale = 10 ** minor_unit(cur)
            x = z3.Int(var)
            bounds += [x >= 0, x < 10 ** MAX_INTEGER_DIGITS * scale]
            out[name] = Sym(t, present, z3.ToReal(x) / scale, cur=cur, places=minor_unit(cur))
        elif p.choices:
            x = z3.Int(var)
            bounds.append(z3.Or([x == strings.of(c) for c in sorted(p.choices)]))
            out[name] = Sym(t, present, x)
    return out, bounds


def _free_list(t: Any, var: str, default: Any, strings: Strings, bounds: list[Any]) -> Sym:
    """A list of strings of any length up to that of its choices (or its default's + 3)."""
    choices = sorted(t.item.choices or ())
    most = len(choices) if choices else len(default or ()) + 3
    length = z3.Int(var + "#")
    bounds += [length >= 0, length <= most]
    items = []
    for i in range(most):
        x = z3.Int(f"{var}[{i}]")
        if choices:
            bounds.append(z3.Or([x == strings.of(c) for c in choices]))
        # else any string: a literal's index, or one no rule mentions (any other number)
        items.append(Sym(t.item, val=x))
    return Sym(t, items=items, length=length)


def survey(rs: Ruleset, params: Mapping[str, Any], currency: str, bound: int,
           extra: frozenset[str] = frozenset(), free: bool = False) -> Survey:
    """Encode ``rs`` for one contract currency, recording every rule evaluation.

    ``free``: the parameters are unknowns (:func:`free_parameters`), not ``params``.

    Raises:
        EncodingError: When part of the ruleset cannot be encoded (named and located).
    """
    assert rs.ir is not None
    strings = Strings(literals([rs], [params]) | extra | {currency})
    space = FactSpace(strings, currency, bound, env_of(rs))
    bounds: list[Any] = []
    if free:
        params, bounds = free_parameters(rs, params, strings, currency)
    space._fixed.extend(bounds)
    enc = RulesetEncoder(rs, space.roots, strings, currency, params)
    enc.visits = []
    enc.verdict()
    for name in rs.ir.groups:
        enc.group(name)
    visits: dict[str, list[RuleVisit]] = {}
    for v in enc.visits:
        visits.setdefault(v.rule.id, []).append(v)
    return Survey(space, enc, visits, currency)


@dataclasses.dataclass
class Reach:
    """What the solver found about every rule of a ruleset."""

    #: Rules whose condition can never hold where they are evaluated.
    impossible: list[ir.RuleIR]
    #: Shadowed rules, each with the earlier rules whose conditions overlap it.
    shadowed: list[tuple[ir.RuleIR, list[ir.RuleIR]]]
    #: Rules the solver gave up on (time limit), with why.
    unknown: list[tuple[ir.RuleIR, str]]
    #: Reason codes no rule that applies gives, with the rules that name them.
    unreachable: dict[str, list[ir.RuleIR]]
    #: The currencies queried and the list bound.
    currencies: list[str]
    bound: int


def applies(visit: RuleVisit) -> Any:
    """Whether the rule applies in this evaluation: reached, and its condition holds."""
    cond = skeleton(visit.rule.when, visit.truths) if visit.rule.when is not None \
        else z3.BoolVal(True)
    return z3.And(visit.reached, cond)


def _witness(s: Any, goals: dict[str, Any], deadline: float, timeout: float,
             unknown: dict[str, str], note: str) -> set[str]:
    """The goals some valid document meets (each found document is read for all of them)."""
    import time

    met: set[str] = set()
    for name, formula in goals.items():
        if name in met:
            continue
        if time.monotonic() > deadline:
            unknown.setdefault(name, "the time budget of the check was spent")
            continue
        s.push()
        s.add(formula)
        got = settled_check(s)
        if got == z3.sat:
            m = s.model()
            met.add(name)
            met.update(other for other, f in goals.items() if other not in met
                       and z3.is_true(m.eval(f, model_completion=True)))
            unknown.pop(name, None)
        elif got == z3.unknown:
            unknown[name] = f"the solver gave up after {timeout:g} s ({note})"
        s.pop()
    return met


def reach(rs: Ruleset, *, bound: int = 2, timeout: float = 2.0, budget: float = 20.0,
          parameters: Mapping[str, Any] | None = None) -> Reach:
    """Which rules of ``rs`` can never apply, and why (see the module doc).

    Args:
        rs: The compiled ruleset.
        bound: The most items a list holds (K).
        timeout: Seconds per solver query.
        budget: Seconds for all queries: rules left when it is spent are ``unknown``.
        parameters: Parameter overrides (default: the declared defaults).

    Raises:
        EncodingError: When part of the ruleset cannot be encoded.
    """
    import time

    assert rs.ir is not None
    params, _ = rs.bind_parameters(parameters or None)
    mentioned = literals([rs], [params])
    # a currency the rules do not name first: it usually shows the most rules applying
    currencies = sorted(currency_classes(mentioned), key=lambda c: c in mentioned)
    rules = {r.id: r for r in rs.ir.all_rules() if r.ok}
    givers: dict[str, list[ir.RuleIR]] = {}
    for rule in rules.values():
        for code in rule.codes:
            if code in rs.reasons:
                givers.setdefault(code, []).append(rule)
    alive: set[str] = set()  # rules that apply, and codes given, for some document
    can_hold: set[str] = set()  # rules whose condition holds somewhere they are evaluated
    unknown: dict[str, str] = {}
    overlap: dict[str, list[ir.RuleIR]] = {}
    deadline = time.monotonic() + budget
    for currency in currencies:
        todo = [r for r in rules if r not in alive] + \
            [f"code:{c}" for c in givers if f"code:{c}" not in alive]
        if not todo:
            break
        sv = survey(rs, params, currency, bound, free=True)
        s = sv.solver(timeout)
        goals: dict[str, Any] = {
            rid: z3.Or([applies(v) for v in sv.visits.get(rid, [])] or [z3.BoolVal(False)])
            for rid in rules}
        for code in givers:
            goals[f"code:{code}"] = z3.Or([z3.And(applies(v), cond)
                                           for rule in givers[code]
                                           for v in sv.visits.get(rule.id, [])
                                           for cond, k, _ in v.reasons if k == code]
                                          or [z3.BoolVal(False)])
        alive |= _witness(s, {n: goals[n] for n in todo}, deadline, timeout, unknown,
                          currency)
        for rid in [r for r in rules if r not in alive and r not in unknown]:
            for visit in sv.visits.get(rid, []):
                cond = z3.And(visit.scope, skeleton(visit.rule.when, visit.truths)
                              if visit.rule.when is not None else z3.BoolVal(True))
                s.push()
                s.add(cond)
                holds = s.check() == z3.sat
                s.pop()
                if holds and rid not in can_hold:
                    can_hold.add(rid)
                    overlap[rid] = [e for e, c in visit.earlier if _sat(s, cond, c)]
    dead = [r for rid, r in rules.items() if rid not in alive and rid not in unknown]
    return Reach(
        impossible=[r for r in dead if r.id not in can_hold],
        shadowed=[(r, overlap.get(r.id, [])) for r in dead if r.id in can_hold],
        unknown=[(rules[n], why) for n, why in unknown.items() if n in rules],
        unreachable={c: rs_ for c, rs_ in givers.items()
                     if f"code:{c}" not in alive and f"code:{c}" not in unknown},
        currencies=currencies, bound=bound)


def _sat(s: Any, *formulas: Any) -> bool:
    s.push()
    s.add(*formulas)
    try:
        return bool(s.check() == z3.sat)
    finally:
        s.pop()
