"""Rules that can never matter, as ``ta-rules check`` reports them (warnings).

* ``check.shadowed-rule``: a rule of a ``first`` list that applies only where an earlier
  rule of the list already applied (a decision table's row whose range cells the rows
  before it cover); related: those earlier rules.
* ``check.impossible-condition``: a rule whose condition can never hold where it is
  evaluated, given the vocabulary's bounds and the parameters.
* ``check.unreachable-reason``: a reason code only rules of the two kinds above give;
  related: those rules.

With the ``verify`` extra (z3) the solver decides (:mod:`ta_rules.verify.reach`), each
query within a time limit; a rule it gives up on gets ``check.solver-gave-up`` (a note, as
a warning) and is not reported. Without it a cheaper syntactic check runs: a rule of a
``first`` list is shadowed by an earlier one whose ``and``-parts are all among its own (the
same condition, or the earlier's with more written after it), and a rule is impossible when
an ``and``-part compares a fact with a number its vocabulary bounds rule out
(``ship_within_days > 5000`` when at most 3650 is allowed). Each message says which check
found it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location
from ta_rules.rulesets import ir
from ta_rules.rulesets.compile import Ruleset

__all__ = ["never_matter"]

#: Solver limits of ``check``: seconds per query, seconds per ruleset, the list bound.
QUERY_TIMEOUT = 10.0
BUDGET = 60.0
BOUND = 2


def _warn(code: str, message: str, where: Location, related: Iterable[Location] = (),
          hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, where, hint, "warning", tuple(related))


def _names(rules: Iterable[ir.RuleIR]) -> str:
    return ", ".join(repr(r.id) for r in rules)


def never_matter(rs: Ruleset) -> list[Diagnostic]:
    """The rules and reason codes of ``rs`` that can never matter (see the module doc)."""
    if rs.ir is None:
        return []
    try:
        import z3  # noqa: F401
    except ImportError:
        return _report(rs, _out_of_bounds(rs), _syntactic(rs.ir), [], None,
                       "syntactic check; install the verify extra for the solver's")
    from ta_rules.verify.reach import reach
    from ta_rules.verify.rules_enc import EncodingError
    from ta_rules.verify.values import Unsupported

    try:
        found = reach(rs, bound=BOUND, timeout=QUERY_TIMEOUT, budget=BUDGET)
    except (EncodingError, Unsupported) as exc:  # the syntactic check can read it
        what = f"{exc.where}: {exc.what}" if isinstance(exc, EncodingError) else exc.what
        return _report(rs, _out_of_bounds(rs), _syntactic(rs.ir), [], None,
                       f"syntactic check; the solver cannot encode {what}")
    how = f"found by the solver, lists of up to {found.bound} items, currencies " \
          f"{', '.join(found.currencies)}"
    return _report(rs, found.impossible, found.shadowed, found.unknown, found.unreachable, how)


def _report(rs: Ruleset, impossible: list[ir.RuleIR],
            shadowed: list[tuple[ir.RuleIR, list[ir.RuleIR]]],
            unknown: list[tuple[ir.RuleIR, str]],
            unreachable: dict[str, list[ir.RuleIR]] | None, how: str) -> list[Diagnostic]:
    assert rs.ir is not None
    out: list[Diagnostic] = []
    for rule in impossible:
        out.append(_warn(
            dc.CHECK_IMPOSSIBLE_CONDITION,
            f"rule {rule.id!r} can never apply: its condition cannot hold for any valid "
            f"facts where it is evaluated ({how})", rule.location, _read_places(rs, rule),
            hint="check the comparisons against the vocabulary's bounds (the facts it reads "
            "are declared at the related places) and the parameters"))
    for rule, earlier in shadowed:
        out.append(_warn(
            dc.CHECK_SHADOWED_RULE,
            f"rule {rule.id!r} can never apply: wherever its condition holds, an earlier "
            f"rule of its 'first' list already applied"
            + (f" ({_names(earlier)})" if earlier else "") + f" ({how})",
            rule.location, [e.location for e in earlier],
            hint="move it before those rules, or narrow their conditions"))
    for rule, why in unknown:
        out.append(_warn(dc.CHECK_SOLVER_GAVE_UP, f"whether rule {rule.id!r} can apply is "
                         f"not known: {why}", rule.location))
    if unreachable is None:  # the syntactic check: the codes only dead rules give
        dead = {r.id for r in impossible} | {r.id for r, _ in shadowed}
        givers: dict[str, list[ir.RuleIR]] = {}
        for rule in rs.ir.all_rules():
            for code in rule.codes:
                givers.setdefault(code, []).append(rule)
        unreachable = {code: rules for code, rules in givers.items()
                       if code in rs.reasons and all(r.id in dead for r in rules)}
    for code, rules in unreachable.items():
        out.append(_warn(
            dc.CHECK_UNREACHABLE_REASON,
            f"reason code {code} is never given: no rule that applies gives it (named by "
            f"{_names(rules)}) ({how})", rs.reasons[code].location,
            [r.location for r in rules]))
    return out


# --- the syntactic check ---------------------------------------------------------------

def _fact_path(node: Any) -> tuple[str, ...] | None:
    """``contract.ship_within_days`` of a chain of fields from a fact root, else None."""
    names: list[str] = []
    while isinstance(node, ir.Field):
        names.append(node.name)
        node = node.obj
    if isinstance(node, ir.Ref) and node.kind == "fact":
        return (node.name, *reversed(names))
    return None


def _read_places(rs: Ruleset, rule: ir.RuleIR) -> list[Location]:
    """Where the facts and parameters a rule's condition reads are declared.

    A condition that can never hold is so because of those declarations (a vocabulary
    bound, a parameter's choices) as much as because of the rule: both places are named.
    """
    if rule.when is None:
        return []
    places: dict[Location, None] = {}
    for node in ir.walk(rule.when):
        path = _fact_path(node)
        if path is not None and rs.vocabulary is not None:
            field = rs.vocabulary.field_at(path)
            if field is not None and field.location is not None:
                places[field.location] = None
        elif isinstance(node, ir.Ref) and node.kind == "param" and node.name in rs.parameters:
            places[rs.parameters[node.name].location] = None
    return list(places)


def _key(node: Any) -> Any:
    """A structural key of an expression (where it is written left out)."""
    if isinstance(node, tuple):
        return tuple(_key(x) for x in node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return str(node) if isinstance(node, Decimal) else repr(node)
    return (type(node).__name__, *(
        _key(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name not in
        ("t", "at")))


def _conjuncts(node: ir.Node | None) -> set[Any]:
    if node is None:
        return set()
    if isinstance(node, ir.Logic) and node.op == "and":
        return {k for p in node.parts for k in _conjuncts(p)}
    return {_key(node)}


def _first_lists(rir: ir.RulesetIR) -> Iterable[tuple[ir.RuleIR, ...]]:
    for g in rir.groups.values():
        if g.mode != "first":
            continue
        if g.rules is not None:
            yield g.rules
        for table in g.tables:
            yield table.rules
    yield rir.outcome


def _syntactic(rir: ir.RulesetIR) -> list[tuple[ir.RuleIR, list[ir.RuleIR]]]:
    """Rules of a ``first`` list whose ``and``-parts include all of an earlier rule's."""
    out = []
    for rules in _first_lists(rir):
        ok = [r for r in rules if r.ok]
        for i, rule in enumerate(ok):
            mine = _conjuncts(rule.when)
            # an earlier rule without a condition is compile.unreachable-rule already
            by = [e for e in ok[:i] if e.when is not None and _conjuncts(e.when) <= mine]
            if by:
                out.append((rule, by))
    return out


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


def _bounds(rs: Ruleset, node: ir.Node) -> tuple[Any, Any] | None:
    """(minimum, maximum) the vocabulary gives the fact a node reads, or None."""
    if rs.env is None or not isinstance(node, ir.Field):
        return None
    obj_t = node.obj.t
    if obj_t.kind != "object" or obj_t.model is None:
        return None
    record = rs.env.vocabulary.record_map[rs.env.models.record_of[obj_t.model]]
    f = record.by_name.get(node.name)
    if f is None:
        return None
    low = f.minimum if f.greater_than is None else max(
        f.greater_than + 1 if f.minimum is None else f.minimum, f.greater_than + 1)
    return low, f.maximum


def _never(op: str, low: Any, high: Any, k: Any) -> bool:
    """Whether ``x op k`` is false for every x from low to high."""
    if op in (">", ">=") and high is not None:
        return bool(high <= k if op == ">" else high < k)
    if op in ("<", "<=") and low is not None:
        return bool(low >= k if op == "<" else low > k)
    if op == "==":
        return (high is not None and k > high) or (low is not None and k < low)
    return False


def _out_of_bounds(rs: Ruleset) -> list[ir.RuleIR]:
    """Rules with an ``and``-part that compares a fact with a number out of its bounds."""
    assert rs.ir is not None
    out = []
    for rule in rs.ir.all_rules():
        if not rule.ok or rule.when is None:
            continue
        parts = list(rule.when.parts) if isinstance(rule.when, ir.Logic) \
            and rule.when.op == "and" else [rule.when]
        for part in parts:
            if not isinstance(part, ir.Compare) or part.op not in _FLIP:
                continue
            for fact, const, op in ((part.left, part.right, part.op),
                                    (part.right, part.left, _FLIP[part.op])):
                bounds = _bounds(rs, fact)
                if bounds is None or not isinstance(const, ir.Const) \
                        or not isinstance(const.value, int | Decimal) \
                        or isinstance(const.value, bool):
                    continue
                if _never(op, bounds[0], bounds[1], const.value):
                    out.append(rule)
                    break
            else:
                continue
            break
    return out
