"""The resolve stage for calls: the rule language's built-in functions and ruleset functions.

A mixin of :class:`~ta_rules.rulesets.resolve.Resolver`; each ``fn_<name>`` checks the
arguments of one built-in and returns its typed node.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ta_rules import diagnostic_codes as dc
from ta_rules.facts import _date
from ta_rules.money import ROUNDING_MODES, Money, is_known_currency
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import BOOL, DATE, DECIMAL, INT, NULL, T, type_name
from ta_rules.rulesets._yaml import Path
from ta_rules.rulesets.builtins import BUILTINS, BuiltinSpec

if TYPE_CHECKING:
    from ta_rules.rulesets.resolve import Scope

__all__ = ["CallsMixin"]

_ANY = T("any")


class CallsMixin:
    """Built-in and ruleset function calls (see :class:`~ta_rules.rulesets.resolve.Resolver`)."""

    # provided by the resolver
    resolve: Any
    fail: Any
    need_bool: Any
    unify: Any
    fresh: Any
    function: Any
    referenced: set[tuple[str, str]]
    deps: set[tuple[str, str]]
    broken_names: frozenset[str]
    spec: Any

    def ex_Call(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        name = node.name
        if name in self.broken_names:
            from ta_rules.rulesets.resolve import Bail

            raise Bail
        if name in self.spec.functions:
            return self.call_function(node, scope, path)
        spec = BUILTINS.get(name)
        if spec is None:
            raise self.fail(dc.COMPILE_UNKNOWN_FUNCTION, f"unknown function {name}()", path,
                            node.pos, self.suggest(name, [*BUILTINS, *self.spec.functions]))
        if spec.type_rule is None:
            return self._signature(spec, node, scope, path)
        result: ir.Node = getattr(self, spec.type_rule)(node, scope, path)
        return result

    def _signature(self, spec: BuiltinSpec, node: ex.Call, scope: Scope,
                   path: Path) -> ir.Node:
        """A call of a built-in its declared signature describes: null in, null out."""
        params, result = spec.params or (), spec.result or _ANY
        args = self._args(node, len(params), scope, path)
        nullable = False
        for i, (arg, want, written) in enumerate(zip(args, params, node.args, strict=True)):
            got = arg.t
            nullable = nullable or got.nullable
            if got.kind in ("any", "null") or got.kind == want.kind or (
                    want.kind == "decimal" and got.kind == "int"):
                continue
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"argument {i + 1} of {spec.name}() must be {type_name(want)}, "
                            f"found {type_name(got)}", path, written.pos)
        return self._builtin(node, path, spec.name, None, args, result.null(nullable))

    suggest: Any

    def _args(self, node: ex.Call, n: int | tuple[int, int], scope: Scope,
              path: Path) -> list[ir.Node]:
        lo, hi = (n, n) if isinstance(n, int) else n
        if node.gen is not None or not lo <= len(node.args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} to {hi}"
            raise self.fail(dc.COMPILE_ARITY, f"{node.name}() takes {want} argument(s)", path,
                            node.pos)
        return [self.resolve(a, scope, path) for a in node.args]

    def _over(self, node: ex.Call, scope: Scope, path: Path,
              extra: int = 0) -> tuple[ir.Comp, list[ir.Node]]:
        """``f(x for v in list if cond, ...)`` or ``f(list, ...)``: the list and the rest."""
        from ta_rules.rulesets.resolve import Bail, Scope

        src = (path, node.pos)
        gen = node.gen
        if gen is None:
            if not node.args:
                raise self.fail(dc.COMPILE_ARITY, f"{node.name}() needs a list", path, node.pos)
            lst = self.resolve(node.args[0], scope, path)
            rest = node.args[1:]
            if lst.t.kind == "any":
                raise Bail
            if lst.t.kind != "list":
                raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                                f"{node.name}() needs a list, found {type_name(lst.t)}", path,
                                node.args[0].pos)
            if len(rest) > extra:
                raise self.fail(dc.COMPILE_ARITY, f"too many arguments to {node.name}()", path,
                                node.pos)
            comp = ir.Comp("", lst, None, None, lst.t.item or _ANY, src)
            return comp, [self.resolve(a, scope, path) for a in rest]
        iterable = self.resolve(gen.iterable, scope, path)
        if iterable.t.kind == "any":
            raise Bail
        if iterable.t.kind != "list":
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"'for' needs a list, found {type_name(iterable.t)}", path,
                            gen.iterable.pos)
        var = self.fresh(f"l_{gen.var}_")
        inner = Scope({**scope.locals, gen.var: (iterable.t.item or _ANY, var)}, scope.rule_id,
                      scope.subject, scope.with_values, scope.allow_outcome)
        elt = self.resolve(gen.elt, inner, path)
        cond = None
        if gen.cond is not None:
            cond = self.resolve(gen.cond, inner, path)
            self.need_bool(cond.t, path, gen.cond.pos, "'if' in a 'for'")
        if len(node.args) > extra:
            raise self.fail(dc.COMPILE_ARITY, f"too many arguments to {node.name}()", path,
                            node.pos)
        comp = ir.Comp(var, iterable, elt, cond, elt.t, src)
        return comp, [self.resolve(a, scope, path) for a in node.args]

    def _builtin(self, node: ex.Call, path: Path, name: str, over: ir.Comp | None,
                 args: list[ir.Node], t: T, options: tuple[Any, ...] = ()) -> ir.Node:
        return ir.Builtin(name, over, tuple(args), options, t, (path, node.pos))

    def fn_count(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        over, _ = self._over(node, scope, path)
        return self._builtin(node, path, "count", over, [], INT)

    def fn_empty(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        over, _ = self._over(node, scope, path)
        return self._builtin(node, path, "empty", over, [], BOOL)

    def _quantifier(self, node: ex.Call, scope: Scope, path: Path, fn: str) -> ir.Node:
        over, _ = self._over(node, scope, path)
        self.need_bool(over.t, path, node.pos, f"{fn}()")
        return self._builtin(node, path, fn, over, [], BOOL)

    def fn_any(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        return self._quantifier(node, scope, path, "any")

    def fn_all(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        return self._quantifier(node, scope, path, "all")

    def fn_sum(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        over, extra = self._over(node, scope, path, extra=1)
        et = over.t
        if not (et.numeric or et.kind in ("money", "any")):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, f"sum() adds numbers or money, found "
                            f"{type_name(et)}", path, node.pos)
        if extra:
            t = self.unify(et.null(False), extra[0].t, path, node.pos)
        else:
            t = et.null(False) if et.numeric else et.null()
        return self._builtin(node, path, "sum", over, extra, t)

    def fn_first(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        over, _ = self._over(node, scope, path)
        return self._builtin(node, path, "first", over, [], over.t.null())

    def _minmax(self, node: ex.Call, scope: Scope, path: Path, fn: str) -> ir.Node:
        args = self._args(node, (2, 20), scope, path)
        t: T = NULL
        for arg, a in zip(args, node.args, strict=True):
            if not (arg.t.numeric or arg.t.kind in ("money", "date", "any", "null")):
                raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                                f"{fn}() compares numbers, money or dates, found "
                                f"{type_name(arg.t)}", path, a.pos)
            t = self.unify(t, arg.t, path, a.pos)
        return self._builtin(node, path, fn, None, args, t)

    def fn_min(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        return self._minmax(node, scope, path, "min")

    def fn_max(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        return self._minmax(node, scope, path, "max")

    def fn_abs(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        (x,) = self._args(node, 1, scope, path)
        if not (x.t.numeric or x.t.kind in ("money", "any")):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, f"abs() needs a number or money, found "
                            f"{type_name(x.t)}", path, node.pos)
        return self._builtin(node, path, "abs", None, [x], x.t)

    def _mode(self, mode: ex.Expr, path: Path) -> str:
        if not (isinstance(mode, ex.Lit) and mode.value in ROUNDING_MODES):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"round() needs a rounding mode: {', '.join(ROUNDING_MODES)}",
                            path, mode.pos)
        return str(mode.value)

    def fn_round(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        if len(node.args) == 2 and node.gen is None:
            # round(money, mode): to the minor unit of the money's currency (JPY 0, BHD 3)
            x, _ = self._args(node, 2, scope, path)
            if x.t.kind not in ("money", "any"):
                raise self.fail(dc.COMPILE_TYPE_MISMATCH, "round(x, mode) rounds money to its "
                                "currency's minor unit; for numbers give the places: "
                                "round(x, 2, mode)", path, node.args[0].pos)
            mode = self._mode(node.args[1], path)
            return self._builtin(node, path, "round", None, [x], x.t, (None, mode))
        x, _, _ = self._args(node, 3, scope, path)
        if not (x.t.numeric or x.t.kind in ("money", "any")):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"round() needs a number or money, found {type_name(x.t)}", path,
                            node.args[0].pos)
        places = node.args[1]
        if not (isinstance(places, ex.Lit) and isinstance(places.value, int)
                and not isinstance(places.value, bool) and 0 <= places.value <= 12):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            "round() needs a whole number of places from 0 to 12", path,
                            places.pos)
        mode = self._mode(node.args[2], path)
        t = DECIMAL.null(x.t.nullable) if x.t.numeric else x.t
        return self._builtin(node, path, "round", None, [x], t, (places.value, mode))

    def fn_money(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        amount, currency = self._args(node, 2, scope, path)
        if not (amount.t.numeric or amount.t.kind == "any"):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"money() needs a number, found {type_name(amount.t)}", path,
                            node.args[0].pos)
        if currency.t.kind not in ("str", "any"):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"money() needs a currency code, found {type_name(currency.t)}",
                            path, node.args[1].pos)
        dim = currency.t.dim
        cur = node.args[1]
        if isinstance(cur, ex.Lit) and isinstance(cur.value, str):
            if not is_known_currency(cur.value):
                raise self.fail(dc.COMPILE_UNKNOWN_CURRENCY,
                                f"unknown currency code {cur.value!r}", path, cur.pos)
            dim = cur.value
            lit = node.args[0]
            if isinstance(lit, ex.Lit) and isinstance(lit.value, int | Decimal) \
                    and not isinstance(lit.value, bool):
                return ir.Const(Money(Decimal(lit.value), cur.value), T("money", dim=dim),
                                (path, node.pos))
        t = T("money", amount.t.nullable or currency.t.nullable, dim=dim)
        return self._builtin(node, path, "money", None, [amount, currency], t)

    def fn_date(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        arg = node.args[0] if len(node.args) == 1 and node.gen is None else None
        if not (isinstance(arg, ex.Lit) and isinstance(arg.value, str)):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, 'date() takes one literal "YYYY-MM-DD"',
                            path, node.pos)
        try:
            day = _date(arg.value)
        except ValueError as exc:
            raise self.fail(dc.COMPILE_BAD_DATE, str(exc), path, arg.pos) from None
        return ir.Const(day, DATE, (path, node.pos))

    def call_function(self, node: ex.Call, scope: Scope, path: Path) -> ir.Node:
        """A call of a ruleset function; null arguments where none is allowed give null."""
        name = node.name
        fn = self.function(name, path, node.pos)
        self.referenced.add(("function", name))
        if node.gen is not None or len(node.args) != len(fn.params):
            raise self.fail(dc.COMPILE_ARITY, f"{name}() takes {len(fn.params)} argument(s)", path,
                            node.pos)
        args = []
        guard: list[bool] = []
        for (pname, pt), arg in zip(fn.params, node.args, strict=True):
            a = self.resolve(arg, scope, path)
            at = a.t
            guard.append(at.nullable and not pt.nullable)
            if at.kind not in ("any", "null") and (
                (at.kind != pt.kind and not (at.numeric and pt.numeric))
                or (at.kind == "object" and at.model is not pt.model)
            ):
                raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                                f"argument {pname} of {name}() must be {type_name(pt)}, found "
                                f"{type_name(at)}", path, arg.pos)
            args.append(a)
        self.deps |= fn.deps
        t = fn.node.t.null() if any(guard) else fn.node.t
        return ir.CallFn(name, tuple(args), tuple(guard), t, (path, node.pos))
