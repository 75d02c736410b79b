"""Helpers called by compiled rulesets: null in, null out.

The one raise: date arithmetic that leaves the calendar (years 1 to 9999) is an
:class:`~ta_rules.errors.OutOfRangeError` (evaluation names the rule and its place in the
rule file), never a silent null (a null deadline would change the verdict).

A compiled ruleset is generated Python that calls these for the operations whose operands may
be null (the compiler emits plain operators where the types say both sides are present).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ta_rules.errors import OutOfRangeError
from ta_rules.money import Money, round_to

__all__ = ["HELPERS"]


def _add(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a + b


def _sub(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a - b


def _mul(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a * b


def _div(a: Any, b: Any) -> Any:
    if a is None or b is None or b == 0:
        return None
    try:
        if isinstance(a, Money):
            return Money(a.amount / Decimal(b), a.currency)
        return Decimal(a) / Decimal(b)
    except (InvalidOperation, ArithmeticError):
        return None


def _neg(a: Any) -> Any:
    return None if a is None else -a


def _add_days(d: dt.date | None, n: int | None) -> dt.date | None:
    if d is None or n is None:
        return None
    try:
        return d + dt.timedelta(days=n)
    except (OverflowError, ValueError):
        raise OutOfRangeError(
            f"{d.isoformat()} {'+' if n >= 0 else '-'} {abs(n)} days is outside the "
            f"calendar ({dt.date.min.isoformat()} to {dt.date.max.isoformat()}); check the "
            "day counts in the facts and parameters") from None


def _sub_days(d: dt.date | None, n: int | None) -> dt.date | None:
    return _add_days(d, None if n is None else -n)


def _days_between(a: dt.date | None, b: dt.date | None) -> int | None:
    return None if a is None or b is None else (a - b).days


def _lt(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a < b


def _le(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a <= b


def _gt(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a > b


def _ge(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a >= b


def _not3(x: bool | None) -> bool | None:
    return None if x is None else not x


def _logic3(decides: bool, parts: tuple[Callable[[], bool | None], ...]) -> bool | None:
    """Three-valued and/or: a part equal to ``decides`` decides; else null makes null."""
    unknown = False
    for part in parts:
        x = part()
        if x is None:
            unknown = True
        elif bool(x) is decides:
            return decides
    return None if unknown else not decides


def _and3(*parts: Callable[[], bool | None]) -> bool | None:
    return _logic3(False, parts)


def _or3(*parts: Callable[[], bool | None]) -> bool | None:
    return _logic3(True, parts)


def _in(a: Any, coll: Any) -> bool:
    return coll is not None and a in coll


def _coalesce(a: Any, b: Any) -> Any:
    return b if a is None else a


def _round(x: Any, places: int | None, mode: str) -> Any:
    if x is None or places is None:
        return None
    if isinstance(x, Money):
        return Money(round_to(x.amount, places, mode), x.currency)
    return round_to(Decimal(x), places, mode)


def _round_minor(x: Money | None, mode: str) -> Money | None:
    return None if x is None else x.rounded(mode)


def _money(amount: Any, currency: str | None) -> Money | None:
    if amount is None or currency is None:
        return None
    return Money(Decimal(amount), currency)


def _min(*xs: Any) -> Any:
    return None if any(x is None for x in xs) else min(xs)


def _max(*xs: Any) -> Any:
    return None if any(x is None for x in xs) else max(xs)


def _abs(x: Any) -> Any:
    if x is None:
        return None
    return Money(abs(x.amount), x.currency) if isinstance(x, Money) else abs(x)


def _sum(items: Iterable[Any], start: Any) -> Any:
    total = start
    for x in items:
        if x is None:
            continue
        total = x if total is None else total + x
    return total


def _count(items: Iterable[Any]) -> int:
    return sum(1 for _ in items)


def _iter(coll: Any) -> Any:
    return () if coll is None else coll


def _unique(coll: Any) -> list[Any]:
    seen: list[Any] = []
    for x in () if coll is None else coll:
        if x not in seen:
            seen.append(x)
    return seen


def _call_guarded(fn: Any, guard: tuple[bool, ...], *args: Any) -> Any:
    for flag, arg in zip(guard, args, strict=True):
        if flag and arg is None:
            return None
    return fn(*args)


def _reasons(out: list[Any], item: Any) -> None:
    if item is None:
        return
    if isinstance(item, list):
        out.extend(item)
    else:
        out.append(item)


HELPERS: dict[str, Any] = {
    name: obj for name, obj in globals().items() if name.startswith("_") and callable(obj)
    and not name.startswith("__")
}
