"""Lowering rule conditions for external engines.

An external engine (a Rete network such as durable-rules) decides *which rules hold*; the
shared code computes every value once and hands the engine a flat fact of *atoms*. A rule's
``when`` becomes a tree of :class:`And`/:class:`Or` over four kinds of test:

- :class:`Order`: ``left < right`` (and ``<=``, ``>``, ``>=``) on two properties holding
  exact integers (money in minor units at a common scale, dates as day numbers) or
  strings; both properties are left out when either side is null, so the test is false —
  the rule language's meaning of an ordering comparison with null;
- :class:`Equal`: ``==``/``!=`` on two properties holding canonical strings (``"n:"`` for
  null, so ``null == null`` holds and ``null != 5`` holds, as in the rule language);
- :class:`Present`: a property is there (``x is not null``) or not;
- :class:`Flag`: a property computed by the shared code is true (``x in list``,
  quantifiers, function calls, boolean facts); a null boolean is left out, so it is
  neither true nor false (three-valued logic: ``not null`` does not hold either).

Negation is pushed down to the tests (De Morgan), taking care of nulls: ``not (a < b)``
is ``a >= b or a is null or b is null``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ta_rules.money import Money
from ta_rules.rulesets import ir

__all__ = ["And", "Equal", "Flag", "LNode", "Or", "Order", "Present", "Truth",
           "eq_key", "evaluate_lowered", "match_count", "order_pair"]

_FLIP_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


@dataclasses.dataclass(frozen=True)
class Truth:
    """Always true (or always false)."""

    value: bool


@dataclasses.dataclass(frozen=True)
class And:
    """All parts hold."""

    parts: tuple[LNode, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    """At least one part holds."""

    parts: tuple[LNode, ...]


@dataclasses.dataclass(frozen=True)
class Order:
    """``fact[left] op fact[right]``; false when either property is absent."""

    op: str
    left: str
    right: str


@dataclasses.dataclass(frozen=True)
class Equal:
    """``fact[left] == fact[right]`` (or ``!=``) on canonical strings."""

    op: str
    left: str
    right: str


@dataclasses.dataclass(frozen=True)
class Present:
    """``fact[prop]`` is there (``present``) or absent."""

    prop: str
    present: bool


@dataclasses.dataclass(frozen=True)
class Flag:
    """``fact[prop]`` is ``value`` (true or false)."""

    prop: str
    value: bool


LNode = Truth | And | Or | Order | Equal | Present | Flag


def match_count(node: LNode) -> int:
    """How many simultaneous matches the condition can produce.

    An engine may fire a rule once per true branch of an ``or``.
    """
    if isinstance(node, Or):
        return sum(match_count(p) for p in node.parts)
    if isinstance(node, And):
        total = 1
        for p in node.parts:
            total *= match_count(p)
        return total
    return 1


def evaluate_lowered(node: LNode, fact: Mapping[str, Any]) -> bool:
    """The meaning of a lowered condition on a fact: the reference every engine must match."""
    if isinstance(node, Truth):
        return node.value
    if isinstance(node, And):
        return all(evaluate_lowered(p, fact) for p in node.parts)
    if isinstance(node, Or):
        return any(evaluate_lowered(p, fact) for p in node.parts)
    if isinstance(node, Order):
        if node.left not in fact or node.right not in fact:
            return False
        a, b = fact[node.left], fact[node.right]
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op])
    if isinstance(node, Equal):
        same = fact[node.left] == fact[node.right]
        return same if node.op == "==" else not same
    if isinstance(node, Present):
        return (node.prop in fact) == node.present
    return fact.get(node.prop) is node.value


# --- runtime encoders used by the generated code --------------------------------------


def eq_key(value: Any) -> str:
    """A canonical string such that keys are equal exactly when the values are equal."""
    if value is None:
        return "n:"
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, int | Decimal):
        d = Decimal(value)
        return "x:" + (format(d.normalize(), "f") if d else "0")
    if isinstance(value, Money):
        return f"m:{value.currency}:" + eq_key(value.amount)[2:]
    if isinstance(value, dt.date):
        return "d:" + value.isoformat()
    if isinstance(value, str):
        return "s:" + value
    return "o:" + repr(value)


_LIMIT = 2**53


def order_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Exact, engine-comparable forms of two ordered values, or None when either is null.

    Dates become day numbers; money and decimals become integers at their common scale
    (5000.00 USD is 500000 beside 999.995 USD as 999995 x 10). Strings become their order
    (-1/0/1 against 0): the rule language orders strings by code point, which an engine's
    own string comparison need not do (durable-rules 2.0.28 puts "é" before "m"). Should
    the integers be too large for the engine's numbers, the pair is also replaced by its
    order, which keeps every comparison exact.
    """
    if a is None or b is None:
        return None
    if isinstance(a, dt.date):
        return a.toordinal(), b.toordinal()
    if isinstance(a, str):
        return (-1 if a < b else 1 if a > b else 0), 0
    if isinstance(a, bool):
        return int(a), int(b)
    x = a.amount if isinstance(a, Money) else Decimal(a)
    y = b.amount if isinstance(b, Money) else Decimal(b)
    ex_x = x.as_tuple().exponent
    ex_y = y.as_tuple().exponent
    scale = -min(ex_x if isinstance(ex_x, int) else 0, ex_y if isinstance(ex_y, int) else 0, 0)
    ix = int(x.scaleb(scale))
    iy = int(y.scaleb(scale))
    if abs(ix) >= _LIMIT or abs(iy) >= _LIMIT:
        return (-1 if x < y else 1 if x > y else 0), 0
    return ix, iy


class Lowerer:
    """Lowers one group's rule conditions into tests over numbered atom properties.

    ``emit`` turns an operand (a node of the intermediate form) into Python code; the
    lowerer collects the Python lines that fill the fact dictionary ``_f`` at run time.
    """

    def __init__(self, emit: Callable[[ir.Node], str]) -> None:
        self.emit = emit
        self.lines: list[str] = []
        self.n = 0

    def prop(self) -> str:
        self.n += 1
        return f"a{self.n}"

    def lower(self, node: ir.Node, negate: bool = False) -> LNode:
        """The lowered form of a boolean expression (negated when asked)."""
        if isinstance(node, ir.Logic):
            parts = [self.lower(p, negate) for p in node.parts]
            conj = (node.op == "and") != negate
            joined = parts[0]
            for part in parts[1:]:
                joined = _join(And if conj else Or, joined, part)
            return joined
        if isinstance(node, ir.Unary) and node.op == "not":
            return self.lower(node.operand, not negate)
        if isinstance(node, ir.Const) and isinstance(node.value, bool):
            return Truth(node.value != negate)
        if isinstance(node, ir.IsNull):
            return self._present(node.operand, present=node.negated != negate)
        if isinstance(node, ir.Compare) and node.op in ("==", "!="):
            pl, pr = self.prop(), self.prop()
            self.lines.append(f"_f[{pl!r}] = _eq_key({self.emit(node.left)})")
            self.lines.append(f"_f[{pr!r}] = _eq_key({self.emit(node.right)})")
            equal = (node.op == "==") != negate
            return Equal("==" if equal else "!=", pl, pr)
        if isinstance(node, ir.Compare) and node.op in _FLIP_NEG:
            pl, pr = self.prop(), self.prop()
            self.lines.append(f"_put_order(_f, {pl!r}, {pr!r}, {self.emit(node.left)}, "
                              f"{self.emit(node.right)})")
            if not negate:
                return Order(node.op, pl, pr)
            return Or((Order(_FLIP_NEG[node.op], pl, pr), Present(pl, False)))
        p = self.prop()
        if node.t.nullable:
            # null is neither true nor false: the property is left out (three-valued logic)
            self.lines.append(f"_put_flag(_f, {p!r}, {self.emit(node)})")
        else:
            self.lines.append(f"_f[{p!r}] = bool({self.emit(node)})")
        return Flag(p, not negate)

    def _present(self, operand: ir.Node, present: bool) -> LNode:
        p = self.prop()
        self.lines.append(f"_put_present(_f, {p!r}, {self.emit(operand)})")
        return Present(p, present)


def _join(kind: type[And] | type[Or], left: LNode, right: LNode) -> LNode:
    parts: list[LNode] = []
    for part in (left, right):
        if isinstance(part, kind):
            parts.extend(part.parts)
        else:
            parts.append(part)
    return kind(tuple(parts))


def put_order(fact: dict[str, Any], left: str, right: str, a: Any, b: Any) -> None:
    """Store an ordered pair, or nothing when either side is null."""
    pair = order_pair(a, b)
    if pair is not None:
        fact[left], fact[right] = pair


def put_present(fact: dict[str, Any], prop: str, value: Any) -> None:
    """Store a presence marker when the value is not null."""
    if value is not None:
        fact[prop] = 1


def put_flag(fact: dict[str, Any], prop: str, value: bool | None) -> None:
    """Store a boolean, or nothing when it is null (then it is neither true nor false)."""
    if value is not None:
        fact[prop] = bool(value)


RUNTIME: dict[str, Any] = {"_eq_key": eq_key, "_put_order": put_order,
                           "_put_present": put_present, "_put_flag": put_flag}
