"""Expressions of the intermediate form as z3 terms, with the Python backend's semantics.

:class:`ExprEncoder` follows :mod:`ta_rules.rulesets.emit_python` and the null-handling
helpers of :mod:`ta_rules.rulesets._runtime` node by node: an ordering with null is false,
arithmetic with null is null, ``x / 0`` is null, ``and``, ``or`` and ``not`` are three-valued
(``null and false`` is false, ``not null`` is null), ``sum`` skips nulls, ``first`` of
nothing is null, rounding is exact
(``round(x, places, mode)`` with every mode of :data:`ta_rules.money.ROUNDING_MODES`, at the
minor unit of the money's currency for ``round(m, mode)``). What it cannot express raises
:class:`~ta_rules.verify.values.Unsupported`, which the caller reports with the rule and
``file:line``: nothing is approximated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import z3

from ta_rules.money import Money, minor_unit
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import T
from ta_rules.rulesets.builtins import BUILTINS
from ta_rules.verify.values import (
    FALSE,
    TRUE,
    Strings,
    Sym,
    Unsupported,
    clash,
    eq,
    ite,
    join_places,
    truth,
)

__all__ = ["ExprEncoder", "const_sym", "round_real"]

#: The day numbers Python dates can hold (date.min .. date.max).
MIN_DAY: Final = dt.date.min.toordinal()
MAX_DAY: Final = dt.date.max.toordinal()


def _real(x: Any) -> Any:
    return z3.ToReal(x) if z3.is_int(x) else x


def coerce(v: Sym, t: T) -> Sym:
    """The value with the node's type (an int where a decimal is expected becomes Real)."""
    v.t = t
    if t.kind == "decimal" and v.val is not None and z3.is_int(v.val):
        v.val = z3.ToReal(v.val)
    return v


def round_real(x: Any, places: int, mode: str, known: int | None = None) -> Any:
    """Exact Decimal.quantize of a Real to ``places`` places with a named rounding mode.

    ``known``: the value is known to have at most that many places (then nothing changes).
    """
    if known is not None and known <= places:
        return _real(x)
    scale = z3.RealVal(10 ** places)
    y = _real(x) * scale
    fl = z3.ToInt(y)
    ce = -z3.ToInt(-y)
    pos = y >= 0
    if mode == "floor":
        n = fl
    elif mode == "ceiling":
        n = ce
    elif mode == "down":
        n = z3.If(pos, fl, ce)
    elif mode == "up":
        n = z3.If(pos, ce, fl)
    elif mode == "half_up":
        n = z3.If(pos, z3.ToInt(y + z3.RealVal("1/2")), -z3.ToInt(-y + z3.RealVal("1/2")))
    elif mode == "half_down":
        half = z3.RealVal("1/2")
        n = z3.If(pos, -z3.ToInt(-(y - half)), z3.ToInt(-(-y - half)))
    elif mode == "half_even":
        frac = y - z3.ToReal(fl)
        half = z3.RealVal("1/2")
        n = z3.If(frac < half, fl, z3.If(frac > half, fl + 1, z3.If(fl % 2 == 0, fl, fl + 1)))
    else:
        raise Unsupported(f"the rounding mode {mode!r}")
    return z3.ToReal(n) / scale


def const_sym(value: Any, t: T, strings: Strings) -> Sym:
    """A constant (a literal or a parameter value) as a Sym."""
    if value is None:
        return Sym.null(t)
    if isinstance(value, bool):
        return Sym(t, val=z3.BoolVal(value))
    if isinstance(value, int):
        return Sym(t, val=z3.IntVal(value), places=0)
    if isinstance(value, Decimal):
        return Sym(t, val=z3.RealVal(str(value)), places=_places(value))
    if isinstance(value, str):
        return Sym(t, val=z3.IntVal(strings.of(value)))
    if isinstance(value, Money):
        return Sym(t, val=z3.RealVal(str(value.amount)), cur=value.currency,
                   places=_places(value.amount))
    if isinstance(value, dt.date):
        return Sym(t, val=z3.IntVal(value.toordinal()))
    if isinstance(value, tuple | list | frozenset):
        item_t = t.item or _type_of(next(iter(value), None))
        items = [const_sym(x, item_t, strings) for x in sorted(value, key=repr)] \
            if isinstance(value, frozenset) else [const_sym(x, item_t, strings) for x in value]
        return Sym(t, items=items, length=z3.IntVal(len(items)))
    raise Unsupported(f"the constant {value!r}")


def _places(d: Decimal) -> int | None:
    exp = d.as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else None


def _type_of(value: Any) -> T:
    if isinstance(value, str):
        return T("str")
    if isinstance(value, bool):
        return T("bool")
    if isinstance(value, int):
        return T("int")
    return T("decimal")


class ExprEncoder:
    """Encodes expression nodes; names are looked up through ``resolve_ref``.

    Args:
        strings: The string universe of the query.
        currency: The contract currency of the query.
        resolve_ref: Gives the Sym of a non-local :class:`~ta_rules.rulesets.ir.Ref`.
        group_kind: Gives the Sym of ``group.kind`` (a reason list).
        function: Gives the :class:`~ta_rules.rulesets.ir.FunctionIR` of a name.
    """

    def __init__(self, strings: Strings, currency: str, resolve_ref: Callable[[ir.Ref], Sym],
                 group_kind: Callable[[str, str], Sym],
                 function: Callable[[str], ir.FunctionIR]) -> None:
        self.strings = strings
        self.currency = currency
        self.resolve_ref = resolve_ref
        self.group_kind = group_kind
        self.function = function
        self.env: dict[str, Sym] = {}
        self._depth = 0
        #: Divisions by a value that is not 1 (exact rationals here, see ``notes``).
        self.divisions = 0

    def expr(self, node: ir.Node) -> Sym:
        """The Sym of a node."""
        method: Callable[[Any], Sym] | None = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"the expression kind {type(node).__name__}")
        return coerce(method(node), node.t)

    def with_env(self, binds: dict[str, Sym], fn: Callable[[], Sym]) -> Sym:
        """Evaluate ``fn`` with local names bound."""
        saved = self.env
        self.env = {**saved, **binds}
        try:
            return fn()
        finally:
            self.env = saved

    # leaves --------------------------------------------------------------------------
    def e_Const(self, n: ir.Const) -> Sym:
        return const_sym(n.value, n.t, self.strings)

    def e_Ref(self, n: ir.Ref) -> Sym:
        if n.kind == "local":
            got = self.env.get(n.var)
            if got is None:
                raise Unsupported(f"the local name {n.name}")
            return _copy(got)
        return _copy(self.resolve_ref(n))

    def e_GroupKind(self, n: ir.GroupKind) -> Sym:
        return _copy(self.group_kind(n.group, n.kind))

    def e_KindFilter(self, n: ir.KindFilter) -> Sym:
        v = self.expr(n.operand)
        entries = [(z3.And(v.present, c), code, s) for c, code, s in v.entries or []
                   if code in n.codes]
        return Sym(n.t, entries=entries)

    def e_ReasonOf(self, n: ir.ReasonOf) -> Sym:
        subject = self.env.get(n.subject) if n.subject else None
        return Sym(n.t, entries=[(TRUE, n.code, subject)])

    def e_Field(self, n: ir.Field) -> Sym:
        obj = self.expr(n.obj)
        k = obj.t.kind
        if k == "money":
            if n.name == "amount":
                return Sym(n.t, obj.present, obj.val, places=obj.places)
            if obj.cur is None:
                raise Unsupported("the currency of money whose currency is unknown")
            return Sym(n.t, obj.present, z3.IntVal(self.strings.of(obj.cur)))
        if k != "object" or obj.fields is None or n.name not in obj.fields:
            raise Unsupported(f"the field {n.name} of a {k}")
        f = _copy(obj.fields[n.name])
        f.present = z3.And(obj.present, f.present)
        return f

    # operators -----------------------------------------------------------------------
    def e_Unary(self, n: ir.Unary) -> Sym:
        x = self.expr(n.operand)
        if n.op == "not":
            # not null is null (three-valued logic)
            if x.t.kind == "null":
                return Sym.null(n.t)
            return Sym(n.t, x.present, z3.Not(x.val))
        if x.t.kind not in ("int", "decimal", "money"):
            raise Unsupported(f"-x of a {x.t.kind}")
        return Sym(n.t, x.present, -x.val, cur=x.cur, places=x.places)

    def e_Logic(self, n: ir.Logic) -> Sym:
        # three-valued: false decides an `and` and true an `or`; otherwise any null part
        # makes the result null
        parts = [self.expr(p) for p in n.parts]
        for p in parts:
            if p.t.kind not in ("bool", "null"):
                raise Unsupported(f"{n.op} over a {p.t.kind}")
        decides = n.op == "or"  # the value of a part that decides the result
        decided = z3.Or([z3.And(p.present, p.val == decides) for p in parts
                         if p.t.kind != "null"] or [FALSE])
        known = z3.And([p.present for p in parts])
        return Sym(n.t, z3.Or(decided, known), decided if decides else z3.Not(decided))

    def e_Coalesce(self, n: ir.Coalesce) -> Sym:
        a, b = self.expr(n.left), self.expr(n.right)
        return ite(a.present, a, b)

    def e_Arith(self, n: ir.Arith) -> Sym:
        a, b = self.expr(n.left), self.expr(n.right)
        present = z3.And(a.present, b.present)
        ka, kb = a.t.kind, b.t.kind
        if n.op == "/":
            return self._divide(n, a, b)
        if ka == "date" and kb == "int":
            day = a.val + b.val if n.op == "+" else a.val - b.val
            # a day outside Python's dates is null (as _add_days)
            return Sym(n.t, z3.And(present, day >= MIN_DAY, day <= MAX_DAY), day)
        if ka == "date" and kb == "date":
            return Sym(n.t, present, a.val - b.val)
        cur = a.cur if ka == "money" else b.cur
        if clash(a, b):
            raise Unsupported(f"arithmetic between {a.cur} and {b.cur} amounts")
        x, y = a.val, b.val
        if z3.is_real(x) or z3.is_real(y):
            x, y = _real(x), _real(y)
        ops = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y}
        places = None
        if a.places is not None and b.places is not None:
            places = a.places + b.places if n.op == "*" else max(a.places, b.places)
        return Sym(n.t, present, ops[n.op](), cur=cur, places=places)

    def _divide(self, n: ir.Arith, a: Sym, b: Sym) -> Sym:
        if b.t.kind == "money":
            raise Unsupported("division by money")
        ok = z3.And(a.present, b.present, b.val != 0)
        if z3.is_false(z3.simplify(ok)):
            return Sym.null(n.t)
        one = z3.simplify(_real(b.val))
        if z3.is_rational_value(one) and one.as_fraction() == 1:
            return Sym(n.t, z3.And(a.present, b.present), _real(a.val), cur=a.cur,
                       places=a.places)
        # exact here; the engine divides to 60 significant digits (said with every result)
        self.divisions += 1
        return Sym(n.t, ok, z3.If(ok, _real(a.val) / _real(b.val), z3.RealVal(0)),
                   cur=a.cur)

    def e_Compare(self, n: ir.Compare) -> Sym:
        a, b = self.expr(n.left), self.expr(n.right)
        if n.op in ("in", "not in"):
            inside = self._member(a, b)
            return Sym(n.t, val=z3.Not(inside) if n.op == "not in" else inside)
        if n.op == "==":
            return Sym(n.t, val=eq(a, b))
        if n.op == "!=":
            return Sym(n.t, val=z3.Not(eq(a, b)))
        ka, kb = a.t.kind, b.t.kind
        if ka == "str" or kb == "str" or ka == "bool":
            raise Unsupported(f"ordering of {ka} values")
        if clash(a, b):
            raise Unsupported(f"comparing {a.cur} and {b.cur} amounts")
        x, y = a.val, b.val
        if z3.is_real(x) or z3.is_real(y):
            x, y = _real(x), _real(y)
        cmp = {"<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y,
               ">=": lambda: x >= y}[n.op]()
        return Sym(n.t, val=z3.And(a.present, b.present, cmp))

    def _member(self, a: Sym, coll: Sym) -> Any:
        if coll.entries is not None:  # a code among the reasons given (a verdict's codes)
            return z3.Or([z3.And(c, a.present, a.val == self.strings.of(code))
                          for c, code, _ in coll.entries] or [FALSE])
        if coll.t.kind != "list" or coll.items is None:
            raise Unsupported(f"'in' on a {coll.t.kind}")
        return z3.And(coll.present, z3.Or([z3.And(coll.at(i), eq(a, item))
                                           for i, item in enumerate(coll.items)] or [FALSE]))

    def e_IsNull(self, n: ir.IsNull) -> Sym:
        x = self.expr(n.operand)
        present = x.present if x.entries is None else z3.Or(
            [c for c, _, _ in x.entries] or [FALSE])
        return Sym(n.t, val=present if n.negated else z3.Not(present))

    def e_IfElse(self, n: ir.IfElse) -> Sym:
        test = truth(self.expr(n.test))
        then = self.expr(n.then)
        other = self.expr(n.other) if n.other is not None else Sym.null(n.t)
        return ite(test, then, other)

    def e_ListOf(self, n: ir.ListOf) -> Sym:
        items = [self.expr(i) for i in n.items]
        if (n.t.item is not None and n.t.item.kind == "reason") or any(
                i.entries is not None for i in items):
            entries = [e for i in items for e in i.entries or []]
            return Sym(n.t, entries=entries)
        return Sym(n.t, items=items, length=z3.IntVal(len(items)))

    # lists and built-ins ---------------------------------------------------------------
    def generated(self, comp: ir.Comp) -> list[tuple[Any, Sym | None]]:
        """(generated?, element) for each possible item of a comprehension."""
        coll = self.expr(comp.iterable)
        if coll.entries is not None and not comp.var:
            return [(c, Sym(T("reason"), entries=[(TRUE, code, s)]))
                    for c, code, s in coll.entries]
        if coll.t.kind != "list" or coll.items is None:
            raise Unsupported(f"iterating over a {coll.t.kind}")
        out: list[tuple[Any, Sym | None]] = []
        for i, item in enumerate(coll.items):
            there = coll.at(i)
            if not comp.var:
                out.append((there, item))
                continue
            binds = {comp.var: item}
            if comp.cond is not None:
                cond = comp.cond
                c = self.with_env(binds, lambda cond=cond: self.expr(cond))  # type: ignore[misc]
                there = z3.And(there, truth(c))
            elt = None
            if comp.elt is not None:
                e = comp.elt
                elt = self.with_env(binds, lambda e=e: self.expr(e))  # type: ignore[misc]
            out.append((there, elt if elt is not None else item))
        return out

    def e_Builtin(self, n: ir.Builtin) -> Sym:
        spec = BUILTINS[n.name]
        if spec.unsupported is not None:
            raise Unsupported(f"{n.name}(): {spec.unsupported}")
        if spec.smt is not None:
            args = [self.expr(a) for a in n.args]
            if any(a.t.kind == "null" for a in args):  # a literal null: null out
                return Sym.null(n.t)
            present = z3.And([a.present for a in args] or [TRUE])
            return Sym(n.t, present, spec.smt(z3, *(a.val for a in args)))
        method: Callable[[ir.Builtin], Sym] | None = getattr(self, spec.encoder or "", None)
        if method is None:
            raise Unsupported(f"the built-in {n.name}()")
        return method(n)

    def b_over(self, n: ir.Builtin) -> Sym:
        """count, empty, any, all, sum, first: over the items a list may hold."""
        assert n.over is not None
        return self._over(n, self.generated(n.over))

    def b_minmax(self, n: ir.Builtin) -> Sym:
        """The smallest or largest (min, max)."""
        return self._minmax(n, [self.expr(a) for a in n.args])

    def b_round(self, n: ir.Builtin) -> Sym:
        """round(x, places, mode), and round(money, mode) to the currency's minor unit."""
        x = self.expr(n.args[0])
        places, mode = n.options
        if places is None:
            if x.cur is None:
                raise Unsupported("rounding money whose currency is unknown")
            places = minor_unit(x.cur)
        return Sym(n.t, x.present, round_real(x.val, places, mode, x.places), cur=x.cur,
                   places=places)

    def b_abs(self, n: ir.Builtin) -> Sym:
        """The value without its sign."""
        x = self.expr(n.args[0])
        return Sym(n.t, x.present, z3.If(x.val >= 0, x.val, -x.val), cur=x.cur,
                   places=x.places)

    def b_money(self, n: ir.Builtin) -> Sym:
        """money(amount, currency): the currency must be one the query fixes."""
        return self._money(n, [self.expr(a) for a in n.args])

    def _money(self, n: ir.Builtin, args: list[Sym]) -> Sym:
        amount, currency = args
        code = z3.simplify(currency.val)
        if not z3.is_int_value(code):
            raise Unsupported("money() with a currency the query does not fix")
        index = code.as_long()
        cur = self.strings.text(index) if index >= 0 else None
        if cur is None:
            raise Unsupported("money() with a currency the query does not fix")
        return Sym(n.t, z3.And(amount.present, currency.present), _real(amount.val), cur=cur,
                   places=amount.places)

    def _minmax(self, n: ir.Builtin, args: list[Sym]) -> Sym:
        present = z3.And([a.present for a in args])
        best = args[0]
        for a in args[1:]:
            if clash(a, best):
                raise Unsupported(f"{n.name}() of amounts in two currencies")
            x, y = _real(a.val), _real(best.val)
            # min/max keep the first of equal values
            better = x < y if n.name == "min" else x > y
            best = Sym(n.t, present, z3.If(better, x, y), cur=best.cur or a.cur,
                       places=join_places(a, best))
        return Sym(n.t, present, best.val, cur=best.cur, places=best.places)

    def _over(self, n: ir.Builtin, gen: list[tuple[Any, Sym | None]]) -> Sym:
        name = n.name
        if name == "count":
            return Sym(n.t, val=z3.Sum([z3.If(c, 1, 0) for c, _ in gen] or [z3.IntVal(0)]))
        if name == "empty":
            return Sym(n.t, val=z3.Not(z3.Or([c for c, _ in gen] or [FALSE])))
        if name == "any":
            return Sym(n.t, val=z3.Or([z3.And(c, truth(e)) for c, e in gen if e] or [FALSE]))
        if name == "all":
            return Sym(n.t, val=z3.And([z3.Implies(c, truth(e)) for c, e in gen if e]
                                       or [TRUE]))
        if name == "first":
            result = Sym.null(n.t)
            for c, e in reversed(gen):
                if e is not None:
                    result = ite(c, e, result)
            return result
        assert name == "sum", name
        return self._sum(n, gen)

    def _sum(self, n: ir.Builtin, gen: list[tuple[Any, Sym | None]]) -> Sym:
        if n.args:
            total = self.expr(n.args[0])
        elif n.t.numeric:
            total = Sym(n.t, val=z3.IntVal(0))
        else:
            total = Sym.null(n.t)
        for c, e in gen:
            if e is None:
                continue
            add = z3.And(c, e.present)
            cur = total.cur or e.cur
            if clash(total, e):
                raise Unsupported(f"a sum of {total.cur} and {e.cur} amounts")
            x, y = total.val, e.val
            if z3.is_real(x) or z3.is_real(y):
                x, y = _real(x), _real(y)
            value = z3.If(add, z3.If(total.present, x + y, y), x)
            places = None if total.places is None or e.places is None else max(
                total.places, e.places)
            total = Sym(n.t, z3.Or(total.present, add), value, cur=cur, places=places)
        return total

    def e_CallFn(self, n: ir.CallFn) -> Sym:
        fn = self.function(n.name)
        args = [self.expr(a) for a in n.args]
        guard = z3.And([a.present for a, g in zip(args, n.guard, strict=True) if g] or [TRUE])
        if self._depth > 20:
            raise Unsupported(f"calls of {n.name}() nested more than 20 deep")
        binds = {f"a_{p}": a for (p, _), a in zip(fn.params, args, strict=True)}
        self._depth += 1
        try:
            body = self.with_env(binds, lambda: self.expr(fn.node))
        finally:
            self._depth -= 1
        if any(n.guard):
            return ite(guard, body, Sym.null(n.t))
        return body


def _copy(v: Sym) -> Sym:
    return Sym(v.t, v.present, v.val, v.cur, v.items, v.length, v.fields, v.entries, v.places)
