"""Symbolic values: what one expression of the rule language is, as z3 terms.

Every value is a :class:`Sym`: a presence flag (null is ``present == False``) and a payload
whose shape follows the type's kind:

* ``bool``: a z3 Bool; ``int`` and ``date`` (a day number): a z3 Int; ``decimal`` and the
  amount of ``money``: a z3 Real (exact rationals; money facts are whole minor units);
* ``str``: a z3 Int, the index of the string in the query's :class:`Strings` universe
  (literals the rules mention, and one "other" value that equals none of them);
* ``list``: up to K items, each with its own Sym, and a length;
* ``object``: its fields by name;
* ``reason`` / reason lists: (condition, code, subject) entries: a boolean per code and
  subject, in order.

The currency of money is fixed per query (:attr:`Sym.cur`), so amounts of one currency are
compared as numbers and the rounding of each currency's minor unit is exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final

import z3

from ta_rules.rulesets._types import T

__all__ = ["OTHER", "Entry", "Strings", "Sym", "Unsupported", "clash", "eq", "ite", "join_places",
           "truth"]

#: The index of "a string none of the rules mention"; -2, -3... are more such strings, each
#: different (so two free codes can be equal or not, as in a real document).
OTHER: Final = -1


class Unsupported(Exception):
    """Something the encoder cannot express exactly (never approximated)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Strings:
    """The strings a query can tell apart: each literal an index, others ``OTHER - j``."""

    def __init__(self, literals: Iterable[str]) -> None:
        self.items: list[str] = sorted(set(literals))
        self.index: dict[str, int] = {s: i for i, s in enumerate(self.items)}

    def of(self, text: str) -> int:
        """The index of a literal (added when it is new)."""
        got = self.index.get(text)
        if got is None:
            got = self.index[text] = len(self.items)
            self.items.append(text)
        return got

    def text(self, index: int) -> str:
        """The string an index stands for; ``OTHER - j``: a j-th code no rule mentions."""
        if 0 <= index < len(self.items):
            return self.items[index]
        j = OTHER - index
        prefix = "other"
        while any(s.startswith(prefix + "-") for s in self.index):
            prefix += "x"
        return f"{prefix}-{j}"


#: (condition, reason code, subject) of a reason list.
Entry = tuple[Any, str, "Sym | None"]

TRUE: Final = z3.BoolVal(True)
FALSE: Final = z3.BoolVal(False)


@dataclasses.dataclass
class Sym:
    """A symbolic value of a rule-language type (see the module doc)."""

    t: T
    present: Any = TRUE
    val: Any = None
    cur: str | None = None
    items: list[Sym] | None = None
    length: Any = None
    fields: dict[str, Sym] | None = None
    entries: list[Entry] | None = None
    #: Known most decimal places of a number (money facts: the minor unit), or None.
    places: int | None = None

    @staticmethod
    def null(t: T) -> Sym:
        """The null value of a type."""
        if t.kind == "list":
            return Sym(t, FALSE, items=[], length=z3.IntVal(0))
        return Sym(t, FALSE, val=_default(t))

    def at(self, i: int) -> Any:
        """Whether list item ``i`` exists."""
        return z3.And(self.present, z3.IntVal(i) < self.length)


def _default(t: T) -> Any:
    if t.kind == "bool":
        return FALSE
    if t.kind in ("int", "date", "str"):
        return z3.IntVal(0)
    if t.kind in ("decimal", "money"):
        return z3.RealVal(0)
    return None


def join_places(a: Sym, b: Sym) -> int | None:
    """The known places of a value that is one of two (a null side does not count)."""
    if z3.is_false(z3.simplify(a.present)):
        return b.places
    if z3.is_false(z3.simplify(b.present)):
        return a.places
    if a.places is None or b.places is None:
        return None
    return max(a.places, b.places)


def clash(a: Sym, b: Sym) -> bool:
    """Whether two amounts are in two different (known) currencies."""
    return bool(a.cur and b.cur and a.cur != b.cur)


def truth(v: Sym) -> Any:
    """Python truthiness of a value, as a z3 Bool (null is false)."""
    k = v.t.kind
    if v.entries is not None:  # a reason or a reason list: true when it gives one
        return z3.Or([c for c, _, _ in v.entries] or [FALSE])
    if k == "bool":
        return z3.And(v.present, v.val)
    if k == "null":  # the literal null: a condition that is null does not apply
        return FALSE
    if k in ("int", "decimal"):
        return z3.And(v.present, v.val != 0)
    if k == "list":
        return z3.And(v.present, v.length > 0)
    if k in ("money", "object", "date", "str"):
        if k == "str":
            raise Unsupported("the truth of a string")
        return v.present
    raise Unsupported(f"the truth of a {k}")


def _num(x: Any, real: bool) -> Any:
    return z3.ToReal(x) if real and z3.is_int(x) else x


def eq(a: Sym, b: Sym) -> Any:
    """Python ``a == b`` (``None == None`` is true; null equals nothing else)."""
    ka, kb = a.t.kind, b.t.kind
    if ka == "null" or kb == "null":
        return z3.Not(b.present) if ka == "null" else z3.Not(a.present)
    both = z3.And(a.present, b.present)
    neither = z3.And(z3.Not(a.present), z3.Not(b.present))
    if ka == "money" and kb == "money":
        same = z3.BoolVal(a.cur == b.cur)
        return z3.Or(neither, z3.And(both, same, a.val == b.val))
    if ka in ("int", "decimal", "money") and kb in ("int", "decimal", "money"):
        if "money" in (ka, kb):
            return neither  # Money never equals a number
        real = "decimal" in (ka, kb)
        return z3.Or(neither, z3.And(both, _num(a.val, real) == _num(b.val, real)))
    if ka != kb or ka not in ("bool", "date", "str"):
        if ka == kb == "object" or ka == kb == "list" or ka == kb == "reason":
            raise Unsupported(f"comparing two values of kind {ka} for equality")
        return neither  # different kinds are never equal in Python
    return z3.Or(neither, z3.And(both, a.val == b.val))


def ite(c: Any, a: Sym, b: Sym) -> Sym:
    """``a if c else b`` for two values of one shape (a known ``c`` picks one)."""
    known = z3.simplify(c)
    if z3.is_true(known) or z3.is_false(known):
        pick = a if z3.is_true(known) else b
        other = b if pick is a else a
        if pick.t.kind == "null" and other.t.kind != "null":
            return Sym.null(other.t)
        return pick
    if a.t.kind == "null" and b.t.kind != "null":
        a = Sym.null(b.t)
    if b.t.kind == "null" and a.t.kind != "null":
        b = Sym.null(a.t)
    t = a.t if a.t.kind != "null" else b.t
    t = dataclasses.replace(t, nullable=a.t.nullable or b.t.nullable)
    if a.t.kind in ("reason",) or a.entries is not None or b.entries is not None:
        ea = [(z3.And(c, x), code, s) for x, code, s in a.entries or []]
        eb = [(z3.And(z3.Not(c), x), code, s) for x, code, s in b.entries or []]
        return Sym(t, entries=ea + eb, present=z3.Or([x for x, _, _ in ea + eb] or [FALSE]))
    present = z3.If(c, a.present, b.present)
    k = t.kind
    if k == "money":
        if a.cur and b.cur and a.cur != b.cur:
            raise Unsupported("a choice between money of two currencies")
        return Sym(t, present, z3.If(c, a.val, b.val), cur=a.cur or b.cur,
                   places=join_places(a, b))
    if k == "object":
        fields: dict[str, Sym] = {}
        for name in (a.fields or {}).keys() | (b.fields or {}).keys():
            fa, fb = (a.fields or {}).get(name), (b.fields or {}).get(name)
            fields[name] = ite(c, fa, fb) if fa is not None and fb is not None \
                else _either(fa, fb)
        return Sym(t, present, fields=fields)
    if k == "list":
        n = max(len(a.items or []), len(b.items or []))
        items: list[Sym] = []
        for i in range(n):
            ia = (a.items or [])[i] if i < len(a.items or []) else None
            ib = (b.items or [])[i] if i < len(b.items or []) else None
            items.append(ite(c, ia, ib) if ia is not None and ib is not None
                         else _either(ia, ib))
        return Sym(t, present, items=items, length=z3.If(c, a.length, b.length))
    if k in ("int", "decimal", "date", "bool", "str"):
        va, vb = a.val, b.val
        if z3.is_real(va) or z3.is_real(vb):
            va, vb = _num(va, True), _num(vb, True)
        return Sym(t, present, z3.If(c, va, vb), places=join_places(a, b))
    raise Unsupported(f"a choice between two values of kind {k}")


def _either(a: Sym | None, b: Sym | None) -> Sym:
    got = a if a is not None else b
    assert got is not None
    return got
