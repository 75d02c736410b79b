"""The resolve stage: parsed expressions to the typed intermediate form.

Every name is resolved against the facts vocabulary, the parameters, the values, the
functions, the groups and the reason codes; every operation is type-checked (money of the
contract currency and money in USD are different types; a date is not a number). Values
and functions are resolved on first use, so a circular definition is found where it is
written. Problems are :class:`~ta_rules.errors.Diagnostic` objects with the file, line and
column of the offending character.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location
from ta_rules.facts import _date
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets import ir
from ta_rules.rulesets._suggest import Suggester
from ta_rules.rulesets._types import (
    BOOL,
    DATE,
    DECIMAL,
    INT,
    NULL,
    REASON,
    REASONS,
    STR,
    T,
    type_name,
)
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.declare import Parameter, ReasonDef
from ta_rules.rulesets.parse import Parsed
from ta_rules.rulesets.resolve_calls import CallsMixin
from ta_rules.rulesets.schema import RulesetSpec, ValueSpec

__all__ = ["ANY", "KINDS", "OUTCOMES", "Bail", "Resolver", "Scope"]

KINDS: Final = ("basis", "cap", "denial", "pending", "closed")
OUTCOMES: Final = frozenset({"covered", "denied", "pending", "settled"})
ANY: Final = T("any")
_FOLD_LIMIT: Final = Decimal(10) ** 30
_FOLD_CONTEXT: Final = decimal.Context(prec=60, traps=[decimal.Overflow, decimal.InvalidOperation,
                                                       decimal.DivisionByZero])


class Bail(Exception):
    """Abandon the current expression; its diagnostic is already recorded."""


@dataclasses.dataclass
class Scope:
    """What an expression can see besides the ruleset's names.

    ``locals`` maps a local name to (type, generated name); ``subject`` is the generated
    name of a table's item; ``with_values``: the rule has ``with`` values.
    """

    locals: dict[str, tuple[T, str]]
    rule_id: str | None = None
    subject: str | None = None
    with_values: bool = False
    allow_outcome: bool = False
    #: Names of the verdict a property sees (``outcome``, ``max_refund``...) and their types.
    verdict: Mapping[str, T] | None = None


class Resolver(CallsMixin):
    """Resolves the expressions of one ruleset file; collects what it finds."""

    def __init__(self, spec: RulesetSpec, doc: YamlDocument, parsed: Parsed, *,
                 params: Mapping[str, Parameter], reasons: Mapping[str, ReasonDef],
                 fact_roots: Mapping[str, T], fields: Callable[[T], Mapping[str, T] | None],
                 parse_type: Callable[[str], T],
                 broken_names: frozenset[str] = frozenset()) -> None:
        self.spec, self.doc, self.parsed = spec, doc, parsed
        self.params, self.reasons = params, reasons
        self.fact_roots, self.fields_of, self.parse_type = fact_roots, fields, parse_type
        self.broken_names = broken_names
        self.diags: list[Diagnostic] = []
        self.suggest = Suggester()
        self.values: dict[str, ir.ValueIR] = {}
        self.functions: dict[str, ir.FunctionIR] = {}
        self._in_progress: list[tuple[str, str]] = []
        self.deps: set[tuple[str, str]] = set()
        self.used_params: set[str] = set()
        self.referenced: set[tuple[str, str]] = set()
        self.codes_produced: set[str] = set()
        self.kind_refs: set[tuple[str, str]] = set()
        self._n = 0

    # diagnostics ---------------------------------------------------------------------
    def error(self, code: str, message: str, location: Location, hint: str | None = None,
              related: tuple[Location, ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, location, hint, "error", related))

    def at(self, path: Path, offset: int = 0) -> Location:
        return self.doc.offset_location(path, offset)

    def elsewhere(self, doc: YamlDocument, parsed: Parsed) -> Resolver:
        """A resolver of this ruleset's names for expressions written in another file.

        Properties are written beside the rules: their names are the ruleset's (values
        already resolved are shared) and their diagnostics point into their own file.
        """
        other = copy.copy(self)
        other.doc, other.parsed, other.diags = doc, parsed, []
        other.deps, other._in_progress = set(), []
        # what it finds is its own: the compiled ruleset's record of uses stays as it was
        other.values, other.functions = dict(self.values), dict(self.functions)
        other.used_params, other.referenced = set(self.used_params), set(self.referenced)
        other.codes_produced, other.kind_refs = set(self.codes_produced), set(self.kind_refs)
        return other

    def warn_nullable_not(self, path: Path, node: ex.Unary) -> None:
        """``not x`` where x may be null: then it is null and the condition does not apply."""
        self.diags.append(Diagnostic(
            dc.COMPILE_NULLABLE_NOT, "'not' of a condition that may be null: when it is null, "
            "'not' is null too and a rule does not apply (nor does its 'not')",
            self.at(path, self.parsed.offset(path) + node.pos),
            "say what null means: 'x == false' (null is not false), 'x != true' (null counts "
            "as false), or 'x is null or not x'", "warning"))

    def fail(self, code: str, message: str, path: Path, pos: int,
             hint: str | None = None) -> Bail:
        self.error(code, message, self.at(path, self.parsed.offset(path) + pos), hint)
        return Bail()

    def fresh(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    # entry points --------------------------------------------------------------------
    def expression(self, path: Path, scope: Scope) -> tuple[ir.Node, frozenset[tuple[str, str]]]:
        """The resolved expression at ``path`` and what it depends on.

        Raises:
            Bail: It did not parse or resolve (the problem is recorded).
        """
        tree = self.parsed.get(path)
        if tree is None:
            raise Bail
        saved = self.deps
        self.deps = set()
        try:
            node = self.resolve(tree, scope, path)
            return node, frozenset(self.deps)
        finally:
            self.deps = saved | self.deps

    def safe(self, path: Path, scope: Scope) -> ir.Node | None:
        """The resolved expression at ``path``, or None when it failed (and was reported)."""
        try:
            return self.expression(path, scope)[0]
        except Bail:
            return None

    def resolve(self, node: ex.Expr, scope: Scope, path: Path) -> ir.Node:
        """Resolve one syntax tree."""
        method: Callable[[Any, Scope, Path], ir.Node] = getattr(self, "ex_" + type(node).__name__)
        return method(node, scope, path)

    # literals and names ----------------------------------------------------------------
    def ex_Lit(self, node: ex.Lit, scope: Scope, path: Path) -> ir.Node:
        v = node.value
        src = (path, node.pos)
        if v is None:
            return ir.Const(None, NULL, src)
        if isinstance(v, bool):
            return ir.Const(v, BOOL, src)
        if isinstance(v, int):
            return ir.Const(v, INT, src)
        if isinstance(v, Decimal):
            return ir.Const(v, DECIMAL, src)
        return ir.Const(v, dataclasses.replace(STR, choices=frozenset({v})), src)

    def ex_ListLit(self, node: ex.ListLit, scope: Scope, path: Path) -> ir.Node:
        parts = [self.resolve(item, scope, path) for item in node.items]
        item_t: T = NULL
        for part, item in zip(parts, node.items, strict=True):
            item_t = self.unify(item_t, part.t, path, item.pos)
        t = T("list", item=item_t)
        if all(isinstance(i, ex.Lit) for i in node.items):
            return ir.Const(tuple(i.value for i in node.items if isinstance(i, ex.Lit)), t,
                            (path, node.pos))
        return ir.ListOf(tuple(parts), t, (path, node.pos))

    def ex_Name(self, node: ex.Name, scope: Scope, path: Path) -> ir.Node:
        name, src = node.name, (path, node.pos)
        if name in scope.locals:
            t, var = scope.locals[name]
            return ir.Ref("local", name, t, src, var)
        if scope.verdict is not None and name in scope.verdict:
            return ir.Ref("verdict", name, scope.verdict[name], src)
        if name in self.broken_names:
            raise Bail  # its definition was refused by the file schema, and reported
        if name in self.spec.values:
            value = self.value(name, path, node.pos)
            self.deps.add(("value", name))
            self.referenced.add(("value", name))
            return ir.Ref("value", name, value.node.t, src)
        if name in self.params:
            self.used_params.add(name)
            return ir.Ref("param", name, self.params[name].type, src)
        if name in self.spec.parameters:
            raise Bail  # declared but broken: already reported
        if name in self.fact_roots:
            return ir.Ref("fact", name, self.fact_roots[name], src)
        if name in self.spec.groups:
            self.deps.add(("group", name))
            self.referenced.add(("group", name))
            return ir.Ref("group", name, REASONS, src)
        if name == "outcome" and scope.allow_outcome:
            self.deps.add(("outcome", "outcome"))
            return ir.Ref("outcome", name, T("str", choices=OUTCOMES), src)
        return self._other_name(node, scope, path)

    def _other_name(self, node: ex.Name, scope: Scope, path: Path) -> ir.Node:
        name = node.name
        if name in self.reasons:
            if scope.rule_id is None:
                raise self.fail(dc.COMPILE_REASON_OUTSIDE_RULE,
                                f"the reason code {name} can only be given in a rule's reasons",
                                path, node.pos)
            self.codes_produced.add(name)
            return ir.ReasonOf(name, scope.rule_id, scope.subject, scope.with_values, REASON,
                               (path, node.pos))
        if name in self.spec.functions:
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, f"{name} is a function; call it: {name}(...)",
                            path, node.pos)
        if name.isupper():
            raise self.fail(dc.COMPILE_UNKNOWN_REASON,
                            f"unknown reason code {name}; declare it under reasons:",
                            path, node.pos, self.suggest(name, list(self.reasons)))
        candidates = [*scope.locals, *(scope.verdict or ()), *self.spec.values, *self.params,
                      *self.fact_roots, *self.spec.groups]
        raise self.fail(dc.COMPILE_UNKNOWN_NAME, f"unknown name {name!r}", path, node.pos,
                        self.suggest(name, candidates))

    def fact_path(self, node: ex.Expr) -> str | None:
        """``contract.order_amount`` for a fact path, None for anything else."""
        if isinstance(node, ex.Name) and node.name in self.fact_roots:
            return node.name
        if isinstance(node, ex.Attr):
            base = self.fact_path(node.obj)
            return f"{base}.{node.name}" if base else None
        return None

    def ex_Attr(self, node: ex.Attr, scope: Scope, path: Path) -> ir.Node:
        obj = self.resolve(node.obj, scope, path)
        obj_t, name, src = obj.t, node.name, (path, node.pos)
        if obj_t.kind == "any":
            return ir.Const(None, ANY, src)
        field_t: T | None = None
        fields = self.fields_of(obj_t) if obj_t.kind == "object" else None
        if fields is not None:
            field_t = fields.get(name)
            if field_t is None:
                base = self.fact_path(node.obj)
                full = f"{base}.{name}" if base else name
                what = f"fact {full!r}" if base else f"field {name!r} on {type_name(obj_t)}"
                options = [f"{base}.{f}" if base else f for f in fields]
                raise self.fail(dc.COMPILE_UNKNOWN_FACT, f"unknown {what}", path,
                                node.name_pos, self.suggest(full, options))
        elif obj_t.kind == "money" and name in ("amount", "currency"):
            field_t = DECIMAL if name == "amount" else T("str", dim=obj_t.dim)
        elif obj_t.kind == "list" and obj_t.item == REASON and name in KINDS:
            if isinstance(obj, ir.Ref) and obj.kind == "group":
                self.kind_refs.add((obj.name, name))
                return ir.GroupKind(obj.name, name, REASONS, src)
            codes = frozenset(c for c, r in self.reasons.items() if r.kind == name)
            return ir.KindFilter(obj, name, codes, REASONS, src)
        if field_t is None:
            hint = None
            if obj_t.kind == "list" and obj_t.item == REASON:
                hint = f"reason lists have the kinds {', '.join(KINDS)}"
            elif obj_t.kind == "money":
                hint = "money has .amount and .currency"
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, f"{type_name(obj_t)} has no field {name!r}",
                            path, node.name_pos, hint)
        return ir.Field(obj, name, field_t.null() if obj_t.nullable else field_t, src)

    # operators ---------------------------------------------------------------------------
    def ex_Unary(self, node: ex.Unary, scope: Scope, path: Path) -> ir.Node:
        operand = self.resolve(node.operand, scope, path)
        t = operand.t
        if node.op == "not":
            self.need_bool(t, path, node.operand.pos, "'not'")
            if t.nullable and t.kind != "null":
                self.warn_nullable_not(path, node)
            return ir.Unary("not", operand, BOOL.null(t.nullable), (path, node.pos))
        if not (t.numeric or t.kind in ("money", "any")):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH, f"cannot negate {type_name(t)}", path,
                            node.pos)
        return ir.Unary("-", operand, t, (path, node.pos))

    def need_bool(self, t: T, path: Path, pos: int, what: str) -> None:
        """Refuse an operand that is not a condition."""
        if t.kind not in ("bool", "any", "null"):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"{what} needs a condition (true/false), found {type_name(t)}",
                            path, pos)

    def _logic(self, node: ex.Bin, scope: Scope, path: Path) -> ir.Node:
        # a chain of one operator is one node, however long (no deep recursion)
        chain: list[ex.Expr] = []
        stack: list[ex.Expr] = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, ex.Bin) and n.op == node.op:
                stack.append(n.right)
                stack.append(n.left)
            else:
                chain.append(n)
        parts = []
        for part in chain:
            resolved = self.resolve(part, scope, path)
            self.need_bool(resolved.t, path, part.pos, f"'{node.op}'")
            parts.append(resolved)
        nullable = any(p.t.nullable for p in parts)
        return ir.Logic(node.op, tuple(parts), BOOL.null(nullable), (path, node.pos))

    def ex_Bin(self, node: ex.Bin, scope: Scope, path: Path) -> ir.Node:
        if node.op in ("and", "or"):
            return self._logic(node, scope, path)
        left = self.resolve(node.left, scope, path)
        right = self.resolve(node.right, scope, path)
        lt, rt, op, src = left.t, right.t, node.op, (path, node.pos)
        if op == "??":
            t = self.unify(lt, rt, path, node.op_pos)
            return ir.Coalesce(left, right, t.null(rt.nullable), src)
        if "any" in (lt.kind, rt.kind):
            return ir.Const(None, ANY, src)
        result = self._arith_type(op, lt, rt, path, node)
        self._check_constant(node, path)
        nullable = lt.nullable or rt.nullable
        if nullable or op == "/" or (lt.kind == "date" and rt.kind == "int"):
            result = result.null()
        return ir.Arith(op, left, right, result, src)

    def _constant(self, node: ex.Expr) -> Any:
        """The value of an expression made only of literals (None when it is not one)."""
        if isinstance(node, ex.Lit) and not isinstance(node.value, bool | str):
            return node.value
        if isinstance(node, ex.Call) and node.name == "date" and len(node.args) == 1 \
                and isinstance(node.args[0], ex.Lit) and isinstance(node.args[0].value, str):
            try:
                return _date(node.args[0].value)
            except ValueError:
                return None
        if isinstance(node, ex.Unary) and node.op == "-":
            inner = self._constant(node.operand)
            return None if inner is None or isinstance(inner, dt.date) else -inner
        if isinstance(node, ex.Bin) and node.op in ("+", "-", "*", "/"):
            try:
                return self._fold(node)
            except (ArithmeticError, OverflowError, ValueError, TypeError):
                return None
        return None

    def _fold(self, node: ex.Bin) -> Any:
        a, b = self._constant(node.left), self._constant(node.right)
        if a is None or b is None:
            return None
        if isinstance(a, dt.date):
            return a + dt.timedelta(days=b if node.op == "+" else -b)
        with decimal.localcontext(_FOLD_CONTEXT):
            x, y = Decimal(a), Decimal(b)
            if node.op == "/" and y == 0:
                return None  # reported as division by zero
            value = {"+": x.__add__, "-": x.__sub__, "*": x.__mul__, "/": x.__truediv__}[
                node.op](y)
        if abs(value) >= _FOLD_LIMIT:
            raise OverflowError
        return value

    def _check_constant(self, node: ex.Bin, path: Path) -> None:
        """Division by zero and overflow among literals are mistakes in the file."""
        if node.op == "/" and self._constant(node.right) in (0, Decimal(0)):
            raise self.fail(dc.COMPILE_DIVISION_BY_ZERO, "division by zero", path, node.op_pos)
        if self._constant(node.left) is None or self._constant(node.right) is None:
            return
        try:
            self._fold(node)
        except (ArithmeticError, OverflowError, ValueError):
            raise self.fail(dc.COMPILE_OVERFLOW,
                            f"this calculation overflows (numbers up to 10^30, dates from "
                            f"{dt.date.min} to {dt.date.max})", path, node.op_pos) from None

    def _arith_type(self, op: str, lt: T, rt: T, path: Path, node: ex.Bin) -> T:
        if lt.numeric and rt.numeric:
            return DECIMAL if op == "/" or "decimal" in (lt.kind, rt.kind) else INT
        if op in ("+", "-") and lt.kind == "money" and rt.kind == "money":
            return T("money", dim=self._same_dim(lt, rt, path, node.op_pos))
        if op == "-" and lt.kind == "date" and rt.kind == "date":
            return INT
        if op in ("+", "-") and lt.kind == "date" and rt.kind == "int":
            return DATE
        if op == "*" and lt.kind == "money" and rt.numeric:
            return T("money", dim=lt.dim)
        if op == "*" and rt.kind == "money" and lt.numeric:
            return T("money", dim=rt.dim)
        if op == "/" and lt.kind == "money" and rt.numeric:
            return T("money", dim=lt.dim)
        verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}[op]
        hint = None
        if lt.kind == "date" or rt.kind == "date":
            hint = "dates take a number of days: date + 5, date - date"
        raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                        f"cannot {verb} {type_name(lt.null(False))} and "
                        f"{type_name(rt.null(False))}", path, node.op_pos, hint)

    def _same_dim(self, a: T, b: T, path: Path, pos: int) -> str | None:
        if a.dim and b.dim and a.dim != b.dim:
            raise self.fail(
                dc.COMPILE_CURRENCY_MISMATCH,
                f"{type_name(a.null(False))} and {type_name(b.null(False))} cannot be combined",
                path, pos, "convert one of them first (for example with a conversion function)")
        return a.dim or b.dim

    def unify(self, a: T, b: T, path: Path, pos: int) -> T:
        """The common type of two branches/items, or a type-mismatch error."""
        nullable = a.nullable or b.nullable
        if a.kind == "null":
            return b.null(True)
        if b.kind == "null":
            return a.null(True)
        if "any" in (a.kind, b.kind):
            return ANY
        if a.numeric and b.numeric:
            return (DECIMAL if "decimal" in (a.kind, b.kind) else INT).null(nullable)
        if a.kind != b.kind or (a.kind == "object" and a.model is not b.model):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"{type_name(a.null(False))} and {type_name(b.null(False))} do not "
                            "mix", path, pos)
        if a.kind == "money":
            return T("money", nullable, dim=self._same_dim(a, b, path, pos))
        if a.kind == "list":
            item = self.unify(a.item or NULL, b.item or NULL, path, pos)
            return T("list", nullable, item=item)
        if a.kind == "str":
            choices = a.choices | b.choices if a.choices and b.choices else None
            return T("str", nullable, dim=a.dim if a.dim == b.dim else None, choices=choices)
        return a.null(nullable)

    def comparable(self, a: T, b: T, path: Path, pos: int, op: str,
                   lit_pos: tuple[int, int] | None = None) -> None:
        """Refuse a comparison of values that cannot be compared (or never equal)."""
        if "any" in (a.kind, b.kind) or "null" in (a.kind, b.kind):
            return
        if a.numeric and b.numeric:
            return
        if a.kind == b.kind == "money":
            self._same_dim(a, b, path, pos)
            return
        ordered = a.kind == b.kind and a.kind in ("date", "str", "money")
        equal = a.kind == b.kind and a.kind in ("bool", "str", "date", "money", "object")
        if not ((op in ("==", "!=") and equal) or ordered):
            raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                            f"cannot compare {type_name(a.null(False))} with "
                            f"{type_name(b.null(False))}", path, pos)
        if a.kind == "str" and a.choices and b.choices and not (a.choices & b.choices):
            lit, field = (b, a) if len(b.choices) == 1 else (a, b)
            if lit_pos is not None:
                pos = lit_pos[0] if lit is a else lit_pos[1]
            value = sorted(lit.choices or ())[0]
            raise self.fail(
                dc.COMPILE_IMPOSSIBLE_VALUE,
                f"{value!r} is never a value here; expected one of "
                f"{', '.join(sorted(field.choices or ()))}", path, pos,
                self.suggest(value, sorted(field.choices or ())))

    def ex_Cmp(self, node: ex.Cmp, scope: Scope, path: Path) -> ir.Node:
        left = self.resolve(node.left, scope, path)
        right = self.resolve(node.right, scope, path)
        lt, rt, op, src = left.t, right.t, node.op, (path, node.pos)
        if op in ("in", "not in"):
            if rt.kind == "any":
                return ir.Const(None, ANY, src)
            if rt.kind != "list":
                raise self.fail(dc.COMPILE_TYPE_MISMATCH,
                                f"'{op}' needs a list on the right, found {type_name(rt)}",
                                path, node.right.pos)
            self.comparable(lt, rt.item or NULL, path, node.left.pos, "==",
                            (node.left.pos, node.right.pos))
            if isinstance(right, ir.Const) and isinstance(right.value, tuple):
                right = ir.Const(frozenset(right.value), rt, right.at)
            return ir.Compare(op, left, right, BOOL, src)
        self.comparable(lt, rt, path, node.op_pos, op, (node.left.pos, node.right.pos))
        if op in ("==", "!=") and "null" in (lt.kind, rt.kind):
            other = left if rt.kind == "null" else right
            return ir.IsNull(other, op == "!=", BOOL, src)
        return ir.Compare(op, left, right, BOOL, src)

    def ex_IsNull(self, node: ex.IsNull, scope: Scope, path: Path) -> ir.Node:
        operand = self.resolve(node.operand, scope, path)
        return ir.IsNull(operand, node.negated, BOOL, (path, node.pos))

    def ex_Cond(self, node: ex.Cond, scope: Scope, path: Path) -> ir.Node:
        test = self.resolve(node.test, scope, path)
        self.need_bool(test.t, path, node.test.pos, "'if'")
        then = self.resolve(node.then, scope, path)
        if node.other is None:
            return ir.IfElse(test, then, None, then.t.null(), (path, node.pos))
        other = self.resolve(node.other, scope, path)
        t = self.unify(then.t, other.t, path, node.other.pos)
        return ir.IfElse(test, then, other, t, (path, node.pos))

    # named things, resolved on first use ----------------------------------------------
    def enter(self, key: tuple[str, str], path: Path, pos: int) -> None:
        """Start resolving a value or function; a circular definition is an error."""
        if key in self._in_progress:
            cycle = [*self._in_progress[self._in_progress.index(key):], key]
            raise self.fail(dc.COMPILE_CYCLE,
                            "circular definition: " + " -> ".join(k[1] for k in cycle),
                            path, pos, "a value cannot depend on itself")
        self._in_progress.append(key)

    def _definition(self, path: Path, scope: Scope
                    ) -> tuple[ir.Node, frozenset[tuple[str, str]]]:
        """A value's or function's body; its dependencies are its own, not its user's."""
        saved = self.deps
        try:
            return self.expression(path, scope)
        except Bail:
            return ir.Const(None, ANY, (path, 0)), frozenset()
        finally:
            self.deps = saved

    def value(self, name: str, path: Path, pos: int) -> ir.ValueIR:
        """The resolved value ``name`` (resolved now if it was not yet)."""
        if name in self.values:
            return self.values[name]
        self.enter(("value", name), path, pos)
        try:
            spec = self.spec.values[name]
            vpath: Path = ("values", name, "expr") if isinstance(spec, ValueSpec) \
                else ("values", name)
            node, deps = self._definition(vpath, Scope({}))
            value = self.values[name] = ir.ValueIR(name, node, deps)
            return value
        finally:
            self._in_progress.pop()

    def function(self, name: str, path: Path, pos: int) -> ir.FunctionIR:
        """The resolved function ``name`` (resolved now if it was not yet)."""
        if name in self.functions:
            return self.functions[name]
        self.enter(("function", name), path, pos)
        try:
            spec = self.spec.functions[name]
            params: list[tuple[str, T]] = []
            scope = Scope({})
            for pname, ptext in spec.params.items():
                try:
                    pt = self.parse_type(ptext)
                except ValueError as exc:
                    self.error(dc.COMPILE_BAD_TYPE, str(exc),
                               self.at(("functions", name, "params", pname)))
                    pt = ANY
                params.append((pname, pt))
                scope.locals[pname] = (pt, f"a_{pname}")
            fpath: Path = ("functions", name, "expr")
            node, deps = self._definition(fpath, scope)
            function = self.functions[name] = ir.FunctionIR(name, tuple(params), node, deps)
            return function
        finally:
            self._in_progress.pop()
