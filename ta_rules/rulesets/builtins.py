"""The rule language's built-in functions, each declared once.

Every built-in is one :class:`BuiltinSpec` in :data:`BUILTINS`. Everything that knows about
built-ins reads this table:

- the resolver (:mod:`ta_rules.rulesets.resolve_calls`) checks a call against ``signature``
  (or, for the forms a signature cannot say, the resolver's method named by ``type_rule``);
- the Python emitter (:mod:`ta_rules.rulesets.emit_python`) calls ``runtime`` (a helper
  that gets the argument values) or writes the code ``python`` returns;
- the durable lowering (:mod:`ta_rules.rulesets._lower`) hands the engine the value the
  shared code computes (``lowering``): a built-in is never re-implemented by an engine;
- the z3 encoder (:mod:`ta_rules.verify.encode`) uses ``smt`` (the function on the
  arguments' z3 payloads, null in and null out), the encoder's method named by ``encoder``,
  or reports ``unsupported`` at the call's place in the rule file;
- the docs' table in ``docs/policy-writing.md`` is :func:`docs_table` (a test keeps them
  equal), and the language server's completion offers :data:`BUILTINS` with ``doc``.

Adding a built-in is adding one entry; ``tests/test_builtins.py`` fails when an entry lacks
a part without saying so (``unsupported`` is how an entry says so).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

from ta_rules.rulesets._types import DATE, INT, T

__all__ = ["BUILTINS", "SHARED", "BuiltinSpec", "Code", "docs_table"]

#: The only lowering there is: the shared code computes the built-in's value and hands it
#: to the engine as an atom (an ordered pair, an equality key or a flag).
SHARED: Final = "shared"


@dataclasses.dataclass(frozen=True)
class Code:
    """What the Python emitter hands a built-in's ``python``: its operands as code."""

    args: list[str]
    node: Any  # the ir.Builtin
    it: str | None = None  # the list a list built-in works on
    gen: str | None = None  # the generator over it (``it`` when there is no ``for``)
    generated: bool = False  # whether ``gen`` is a ``for`` generator


@dataclasses.dataclass(frozen=True)
class BuiltinSpec:
    """One built-in function of the rule language.

    Attributes:
        name: How rules call it.
        signature: ``name(parameters) -> result`` as the docs and completion show it.
        doc: One line: what it gives, its edge cases (null, order, inclusivity).
        params: The argument types when a plain signature says it all (null arguments then
            give null); None when ``type_rule`` checks the call.
        result: The result type with ``params``.
        type_rule: The resolver method (``fn_<name>``) that checks a call a signature cannot
            describe (lists with ``for``, literal options, overloads).
        runtime: The helper the compiled program calls with the argument values (never
            given null: the emitter guards it).
        python: Or: the code for a call, from its operands' code.
        lowering: How the durable engine gets its value (:data:`SHARED`).
        smt: The z3 meaning on the arguments' payloads, called as ``smt(z3, *values)``
            (presence is handled by the encoder: null in, null out).
        encoder: Or: the encoder method (``b_<name>``) that encodes the call.
        unsupported: Or: why the solver cannot reason about it; prove, ``diff --symbolic``
            and ``--why-not`` then say so with the call's place in the rule file.
        constant: The type rule turns every call into a constant (``date("...")``): there
            is nothing to run, lower or encode.
        example: A call as the docs show it.
    """

    name: str
    signature: str
    doc: str
    example: str
    params: tuple[T, ...] | None = None
    result: T | None = None
    type_rule: str | None = None
    runtime: Callable[..., Any] | None = None
    python: Callable[[Code], str] | None = None
    lowering: str = SHARED
    smt: Callable[..., Any] | None = None
    encoder: str | None = None
    unsupported: str | None = None
    constant: bool = False


# --- business days ---------------------------------------------------------------------


def _weekdays_before(day: int) -> int:
    """Monday-to-Friday days among day numbers 1 .. day-1 (day 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(day - 1, 7)
    return 5 * weeks + min(rest, 5)


def business_days_between(a: dt.date, b: dt.date) -> int:
    """Monday-to-Friday days from ``a`` (counted) to ``b`` (not counted); negative if b < a.

    Example:
        >>> business_days_between(dt.date(2026, 12, 4), dt.date(2026, 12, 7))  # Fri -> Mon
        1
        >>> business_days_between(dt.date(2026, 12, 7), dt.date(2026, 12, 4))
        -1
    """
    return _weekdays_before(b.toordinal()) - _weekdays_before(a.toordinal())


def _smt_weekdays_before(z3: Any, day: Any) -> Any:
    d = day - 1  # day numbers are at least 1, so z3's / and % are floor division here
    rest = d % 7
    return 5 * (d / 7) + z3.If(rest < 5, rest, 5)


def _smt_business_days_between(z3: Any, a: Any, b: Any) -> Any:
    return _smt_weekdays_before(z3, b) - _smt_weekdays_before(z3, a)


# --- the list built-ins' code ------------------------------------------------------------


def _py_count(c: Code) -> str:
    return f"_count{c.gen}" if c.generated else f"len({c.it})"


def _py_empty(c: Code) -> str:
    return f"(not any(True for _ in {c.gen}))" if c.generated else f"(not {c.it})"


def _py_quantifier(name: str) -> Callable[[Code], str]:
    def code(c: Code) -> str:
        return f"{name}{c.gen}" if c.generated else f"{name}({c.it})"
    return code


def _py_sum(c: Code) -> str:
    start = c.args[0] if c.args else ("0" if c.node.t.numeric else "None")
    return f"_sum({c.gen}, {start})"


def _py_first(c: Code) -> str:
    return f"next(iter({c.gen}), None)"


def _py_minmax(name: str) -> Callable[[Code], str]:
    def code(c: Code) -> str:
        return f"{'_' if c.node.t.nullable else ''}{name}({', '.join(c.args)})"
    return code


def _py_round(c: Code) -> str:
    places, mode = c.node.options
    if places is None:  # round(money, mode): to the currency's minor unit
        return f"_round_minor({c.args[0]}, {mode!r})"
    return f"_round({c.args[0]}, {places!r}, {mode!r})"


def _py_helper(helper: str) -> Callable[[Code], str]:
    def code(c: Code) -> str:
        return f"{helper}({', '.join(c.args)})"
    return code


_LIST = "a list, or `x for v in list if cond`"

BUILTINS: Final[Mapping[str, BuiltinSpec]] = {b.name: b for b in (
    BuiltinSpec(
        "count", "count(list) -> integer",
        f"How many items ({_LIST}); a null list has none.",
        'count(p for p in payments if p.role == "balance")',
        type_rule="fn_count", python=_py_count, encoder="b_over"),
    BuiltinSpec(
        "empty", "empty(list) -> boolean",
        f"Whether there is no item ({_LIST}); a null list is empty.",
        "empty(gates.denial)",
        type_rule="fn_empty", python=_py_empty, encoder="b_over"),
    BuiltinSpec(
        "any", "any(list of boolean) -> boolean",
        f"Whether some item is true ({_LIST}); false for no items.",
        "any(p.method in covered_payment_methods for p in payments)",
        type_rule="fn_any", python=_py_quantifier("any"), encoder="b_over"),
    BuiltinSpec(
        "all", "all(list of boolean) -> boolean",
        f"Whether every item is true ({_LIST}); true for no items.",
        "all(qualifies(p) for p in payments)",
        type_rule="fn_all", python=_py_quantifier("all"), encoder="b_over"),
    BuiltinSpec(
        "sum", "sum(list of number or money[, start]) -> number or money",
        f"The total of the items ({_LIST}) that are not null, from `start` (0 for numbers, "
        "null for money without one).",
        "sum(p.amount for p in payments if qualifies(p), zero)",
        type_rule="fn_sum", python=_py_sum, encoder="b_over"),
    BuiltinSpec(
        "first", "first(list) -> item or null",
        f"The first item ({_LIST}); null when there is none.",
        'first(p for p in payments if p.role == "initial")',
        type_rule="fn_first", python=_py_first, encoder="b_over"),
    BuiltinSpec(
        "min", "min(a, b, ...) -> number, money or date",
        "The smallest of 2 to 20 numbers, amounts of one currency or dates; null if any is "
        "null.",
        "min(contract.order_amount, available)",
        type_rule="fn_min", python=_py_minmax("min"), encoder="b_minmax"),
    BuiltinSpec(
        "max", "max(a, b, ...) -> number, money or date",
        "The largest of 2 to 20 numbers, amounts of one currency or dates; null if any is "
        "null.",
        "max(shipped_on, contract.ship_by)",
        type_rule="fn_max", python=_py_minmax("max"), encoder="b_minmax"),
    BuiltinSpec(
        "abs", "abs(x) -> number or money",
        "The value without its sign; null for null.",
        "abs(difference)",
        type_rule="fn_abs", python=_py_helper("_abs"), encoder="b_abs"),
    BuiltinSpec(
        "round", "round(money, mode) / round(x, places, mode) -> money or decimal",
        "Rounded to the money's currency minor unit (JPY 0, USD 2, BHD 3) or to 0-12 places; "
        "mode is a literal: floor, ceiling, down, up, half_up, half_down, half_even.",
        'round(m.amount * rate, 2, "half_up")',
        type_rule="fn_round", python=_py_round, encoder="b_round"),
    BuiltinSpec(
        "money", "money(amount, currency) -> money",
        "Money of a number and a currency code (a literal code is checked at compile time); "
        "null if either is null.",
        'money(0, contract.order_amount.currency)',
        type_rule="fn_money", python=_py_helper("_money"), encoder="b_money"),
    BuiltinSpec(
        "date", 'date("YYYY-MM-DD") -> date',
        "A date literal, checked at compile time.",
        'date("2017-12-08")',
        type_rule="fn_date", constant=True),
    BuiltinSpec(
        "business_days_between", "business_days_between(a: date, b: date) -> integer",
        "Monday-to-Friday days from `a` (counted) to `b` (not counted), holidays not "
        "considered: 0 for the same day, Fri to Mon is 1, Sat to Mon is 0, Mon to Sat is 5; "
        "negative when `b` is before `a` (the same days, counted from `b`); null if either "
        "is null.",
        "business_days_between(claim.submitted_on, as_of) > 10",
        params=(DATE, DATE), result=INT, runtime=business_days_between,
        smt=_smt_business_days_between),
)}


def docs_table() -> str:
    """The Markdown table of built-ins in ``docs/policy-writing.md``."""
    lines = ["| built-in | what it gives | example |", "|---|---|---|"]
    for b in BUILTINS.values():
        lines.append(f"| `{b.signature}` | {b.doc} | `{b.example}` |")
    return "\n".join(lines) + "\n"
