"""The typed intermediate form of a ruleset: what every backend reads.

The resolver (:mod:`ta_rules.rulesets.resolve`) turns each parsed expression into a tree of
these nodes, every name resolved (a fact, a parameter, a value, a local...) and every node
typed (:class:`~ta_rules.rulesets._types.T`) and located (``at``: the YAML path of the
expression and the character offset in it). Rules, groups, values and amounts are collected
into one :class:`RulesetIR`. Passes read and rewrite it; emitters (Python, the lowering for
external engines, a solver encoding) turn it into programs without reading YAML again.

Nodes are plain frozen dataclasses; :func:`children` walks any of them generically.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from ta_rules.errors import Location
from ta_rules.rulesets._types import T

__all__ = [
    "Arith",
    "Builtin",
    "CallFn",
    "Coalesce",
    "Comp",
    "Compare",
    "Const",
    "Field",
    "FunctionIR",
    "GroupIR",
    "GroupKind",
    "IfElse",
    "IsNull",
    "KindFilter",
    "ListOf",
    "Logic",
    "Node",
    "ReasonOf",
    "Ref",
    "RuleIR",
    "RulesetIR",
    "Src",
    "TableIR",
    "Unary",
    "ValueIR",
    "children",
    "walk",
]

#: Where a node is written: (YAML path of the expression, character offset in it).
Src = tuple[tuple[Any, ...], int]


@dataclasses.dataclass(frozen=True, eq=False)
class Const:
    """A constant: None, bool, int, Decimal, str, date, Money, tuple or frozenset."""

    value: Any
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Ref:
    """A resolved name.

    ``kind`` is ``fact`` (a fact root), ``param``, ``value``, ``local`` (a ``for`` variable,
    a function parameter or a table's item: ``var`` is its generated name), ``group`` (the
    reasons a group gave), ``outcome``, or ``verdict`` (in a property: ``outcome``,
    ``max_refund``, ``coverage_cap``, ``reasons``, ``codes`` of the verdict).
    """

    kind: str
    name: str
    t: T
    at: Src
    var: str = ""


@dataclasses.dataclass(frozen=True, eq=False)
class GroupKind:
    """The reasons of one kind a group gave (``gates.denial``)."""

    group: str
    kind: str
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class KindFilter:
    """The reasons of one kind in a reason list that is not a group."""

    operand: Node
    kind: str
    codes: frozenset[str]
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class ReasonOf:
    """A reason code given by a rule (its subject and ``with`` values are the rule's)."""

    code: str
    rule: str
    subject: str | None
    with_values: bool
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Field:
    """``obj.name`` (null when ``obj`` is null)."""

    obj: Node
    name: str
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Unary:
    """``not x`` or ``-x``."""

    op: str
    operand: Node
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Logic:
    """``and`` / ``or`` over two or more operands."""

    op: str
    parts: tuple[Node, ...]
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Coalesce:
    """``left ?? right``."""

    left: Node
    right: Node
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Arith:
    """``+ - * /`` on numbers, money and dates (the operand types say which)."""

    op: str
    left: Node
    right: Node
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Compare:
    """``== != < <= > >= in not-in``; an ordering with null is false."""

    op: str
    left: Node
    right: Node
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class IsNull:
    """``x is null`` (``negated``: ``is not null``)."""

    operand: Node
    negated: bool
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class IfElse:
    """``if test then a else b`` (``other`` None: null)."""

    test: Node
    then: Node
    other: Node | None
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class ListOf:
    """A list written out: ``[a, b]``."""

    items: tuple[Node, ...]
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Comp:
    """``elt for var in iterable [if cond]``; ``var`` is the generated name of the item."""

    var: str
    iterable: Node
    elt: Node | None
    cond: Node | None
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class Builtin:
    """A built-in function of the rule language.

    ``over`` is the list it works on (count, empty, any, all, sum, first), ``args`` the
    other operands, ``options`` the literal settings (rounding mode and places).
    """

    name: str
    over: Comp | None
    args: tuple[Node, ...]
    options: tuple[Any, ...]
    t: T
    at: Src


@dataclasses.dataclass(frozen=True, eq=False)
class CallFn:
    """A call of a ruleset function; ``guard[i]``: argument i may be null but must not be."""

    name: str
    args: tuple[Node, ...]
    guard: tuple[bool, ...]
    t: T
    at: Src


Node = (Const | Ref | GroupKind | KindFilter | ReasonOf | Field | Unary | Logic | Coalesce
        | Arith | Compare | IsNull | IfElse | ListOf | Comp | Builtin | CallFn)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-nodes of a node, in source order."""
    for f in dataclasses.fields(node):
        if f.name in ("t", "at"):
            continue
        v = getattr(node, f.name)
        for x in v if isinstance(v, tuple) else (v,):
            if isinstance(x, _NODE_TYPES):
                yield typing.cast(Node, x)


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, depth first, without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


_NODE_TYPES: tuple[type, ...] = typing.get_args(Node)


# --- the structure ---------------------------------------------------------------------


@dataclasses.dataclass(eq=False)
class RuleIR:
    """One rule: its condition, ``with`` values and reasons, resolved.

    ``use`` hands over to another table; ``outcome`` is set on outcome rules. ``ok`` is
    False when a part failed to resolve (the ruleset is then only checked, never run).
    """

    id: str
    group: str
    table: str | None
    path: tuple[Any, ...]
    location: Location
    index: int
    when: Node | None
    with_values: tuple[tuple[str, Node], ...]
    reasons: tuple[Node, ...]
    use: str | None
    outcome: str | None
    codes: tuple[str, ...]
    ok: bool
    subject: str | None = None
    when_text: str | None = None


@dataclasses.dataclass(eq=False)
class TableIR:
    """One table of a ``for_each`` group: the rules for items of one value."""

    name: str
    rules: tuple[RuleIR, ...]


@dataclasses.dataclass(eq=False)
class GroupIR:
    """A group: plain (``rules``) or a ``for_each`` over ``iterable`` with ``tables``."""

    name: str
    mode: str
    rules: tuple[RuleIR, ...] | None
    iterable: Node | None = None
    tables: tuple[TableIR, ...] = ()
    default: str | None = None
    deps: frozenset[tuple[str, str]] = frozenset()
    uses_tables: bool = False


@dataclasses.dataclass(eq=False)
class ValueIR:
    """A named value and what it depends on."""

    name: str
    node: Node
    deps: frozenset[tuple[str, str]]


@dataclasses.dataclass(eq=False)
class FunctionIR:
    """A ruleset function: typed parameters (generated names ``a_<name>``) and its body."""

    name: str
    params: tuple[tuple[str, T], ...]
    node: Node
    deps: frozenset[tuple[str, str]]


@dataclasses.dataclass(eq=False)
class RulesetIR:
    """A whole ruleset in the intermediate form.

    ``order`` is the evaluation order of values, groups and the outcome (dependencies
    first); ``kind_refs`` the (group, kind) reason lists that are read; ``trace_refs`` the
    names and fact paths each rule's condition reads, as nodes (for traces).
    """

    parameters: Mapping[str, Any]
    reasons: Mapping[str, Any]
    values: dict[str, ValueIR]
    functions: dict[str, FunctionIR]
    groups: dict[str, GroupIR]
    outcome: tuple[RuleIR, ...]
    amounts: dict[str, Node | None]
    order: list[tuple[str, str]]
    kind_refs: set[tuple[str, str]]
    kind_codes: dict[str, frozenset[str]]
    rules: dict[str, RuleIR]
    trace_refs: dict[str, list[tuple[str, Node]]] = dataclasses.field(default_factory=dict)

    def all_rules(self) -> Iterator[RuleIR]:
        """Every rule, in the order the file lists them (outcome rules last)."""
        for g in self.groups.values():
            yield from g.rules or ()
            for table in g.tables:
                yield from table.rules
        yield from self.outcome
