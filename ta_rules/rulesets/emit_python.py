"""The Python backend: the intermediate form to plain Python source.

The programs of :data:`~ta_rules.rulesets.program.ProgramMode` come from one
:class:`~ta_rules.rulesets.ir.RulesetIR`: the plain decision (``_decide``), the traced one
(``_decide_traced``, which records every rule with the values its condition read), for
external engines one that asks the engine which rules hold (``_decide_holds``, with the
lowered conditions of :mod:`ta_rules.rulesets._lower`), and for verification one that also
returns every value and group (``_decide_values``). Each returns a
:class:`~ta_rules.rulesets.program.Decision` (``_Decision`` in its namespace).

Generated names are the emitter's own and injective: every ruleset name gets a prefix of
its kind (``v_`` values, ``p_`` parameters, ``f_`` functions, ``g_`` groups), and whatever
else is generated (tables, a group's reasons of one kind, locals) is numbered, so no two
things written in a file can share a variable. Literals are constants or ``repr``; nothing
a rule file says is executed as Python. Every line is tagged with what it evaluates (a
rule, a value...) and where that is written, for :class:`SourceMap`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from ta_rules.errors import Location
from ta_rules.rulesets import ir
from ta_rules.rulesets._lower import LNode, Lowerer, Truth
from ta_rules.rulesets.builtins import BUILTINS, Code
from ta_rules.rulesets.program import ProgramMode, SourceMap, function_name
from ta_rules.vocabulary import attribute

__all__ = ["Emitter", "SourceMap"]

_PRINTABLE: Final = re.compile(r"[^\x20-\x7e]")


class _Lines:
    """Generated lines, each with its owner (for the source map)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, tuple[str, Location] | None]] = []
        self.owner: tuple[str, Location] | None = None

    def add(self, line: str) -> None:
        self.lines.append((line, self.owner))

    def extend(self, lines: list[str]) -> None:
        for line in lines:
            self.add(line)


class Emitter:
    """Emits the programs of one ruleset. Constants are shared by all its programs."""

    def __init__(self, rir: ir.RulesetIR, locate: Callable[[ir.Src], Location]) -> None:
        self.ir = rir
        self.locate = locate
        self.consts: dict[str, Any] = {}
        self._const_ids: dict[tuple[type, Any], str] = {}
        self._names: dict[tuple[str, ...], str] = {}
        self.holds_mode = False
        self.traced = False
        self.lowered: dict[str, list[tuple[str, LNode]]] = {}

    # names and constants -------------------------------------------------------------
    def name(self, *key: str) -> str:
        """The generated name of a table, a kind list...: numbered, so always distinct."""
        got = self._names.get(key)
        if got is None:
            got = self._names[key] = f"{key[0]}{len(self._names)}"
        return got

    def const(self, value: Any) -> str:
        key = (type(value), value)
        name = self._const_ids.get(key)
        if name is None:
            name = f"_k{len(self._const_ids)}"
            self._const_ids[key] = name
            self.consts[name] = value
        return name

    # expressions -----------------------------------------------------------------------
    def expr(self, node: ir.Node) -> str:
        """The Python expression for a node."""
        method: Callable[[Any], str] = getattr(self, "e_" + type(node).__name__)
        return method(node)

    def e_Const(self, n: ir.Const) -> str:
        v = n.value
        if v is None or isinstance(v, bool | int | str):
            return repr(v)
        return self.const(v)

    def e_Ref(self, n: ir.Ref) -> str:
        if n.kind == "local":
            return n.var
        if n.kind == "fact":
            return attribute("F", n.name)
        prefix = {"param": "p_", "value": "v_", "group": "g_", "outcome": "o_"}
        return prefix[n.kind] + n.name

    def e_GroupKind(self, n: ir.GroupKind) -> str:
        return self.name("gk", n.group, n.kind)

    def e_KindFilter(self, n: ir.KindFilter) -> str:
        return f"[_r for _r in {self.expr(n.operand)} if _r[0] in {self.const(n.codes)}]"

    def e_ReasonOf(self, n: ir.ReasonOf) -> str:
        return f"({n.code!r}, {n.rule!r}, {n.subject or 'None'}, " \
               f"{'w' if n.with_values else 'None'})"

    def e_Field(self, n: ir.Field) -> str:
        obj = self.expr(n.obj)
        if n.obj.t.nullable:
            return f"getattr({obj}, {n.name!r}, None)"
        return attribute(obj, n.name)

    def e_Unary(self, n: ir.Unary) -> str:
        x = self.expr(n.operand)
        if n.op == "not":
            # not null is null (three-valued logic, docs/policy-writing.md)
            return f"_not3({x})" if n.operand.t.nullable else f"(not {x})"
        return f"_neg({x})" if n.operand.t.nullable else f"(-{x})"

    def e_Logic(self, n: ir.Logic) -> str:
        if not n.t.nullable:
            return "(" + f" {n.op} ".join(self.expr(p) for p in n.parts) + ")"
        # three-valued: false decides an `and`, true an `or`, else null makes it null; the
        # parts stay lazy, so a part after the deciding one is never evaluated
        parts = ", ".join(f"lambda: {self.expr(p)}" for p in n.parts)
        return f"_{n.op}3({parts})"

    def e_Coalesce(self, n: ir.Coalesce) -> str:
        return f"_coalesce({self.expr(n.left)}, {self.expr(n.right)})"

    def e_Arith(self, n: ir.Arith) -> str:
        lc, rc = self.expr(n.left), self.expr(n.right)
        lt, rt = n.left.t, n.right.t
        nullable = lt.nullable or rt.nullable
        if n.op == "/":
            return f"_div({lc}, {rc})"
        if lt.kind == "date" and rt.kind == "int":
            return f"{'_add_days' if n.op == '+' else '_sub_days'}({lc}, {rc})"
        if lt.kind == "date" and rt.kind == "date":
            return f"_days_between({lc}, {rc})" if nullable else f"({lc} - {rc}).days"
        if nullable:
            return f"{ {'+': '_add', '-': '_sub', '*': '_mul'}[n.op]}({lc}, {rc})"
        return f"({lc} {n.op} {rc})"

    def e_Compare(self, n: ir.Compare) -> str:
        lc, rc = self.expr(n.left), self.expr(n.right)
        if n.op in ("in", "not in"):
            code = f"_in({lc}, {rc})" if n.right.t.nullable else f"({lc} in {rc})"
            return f"(not {code})" if n.op == "not in" else code
        if n.op in ("==", "!=") or not (n.left.t.nullable or n.right.t.nullable):
            return f"({lc} {n.op} {rc})"
        return f"{ {'<': '_lt', '<=': '_le', '>': '_gt', '>=': '_ge'}[n.op]}({lc}, {rc})"

    def e_IsNull(self, n: ir.IsNull) -> str:
        if isinstance(n.operand, ir.Const):
            # known now: a literal is null or it is not (and `"a" is None` would warn)
            return repr((n.operand.value is None) != n.negated)
        return f"({self.expr(n.operand)} is {'not ' if n.negated else ''}None)"

    def e_IfElse(self, n: ir.IfElse) -> str:
        other = self.expr(n.other) if n.other is not None else "None"
        return f"({self.expr(n.then)} if {self.expr(n.test)} else {other})"

    def e_ListOf(self, n: ir.ListOf) -> str:
        return "(" + "".join(self.expr(i) + ", " for i in n.items) + ")"

    def _over(self, comp: ir.Comp) -> tuple[str, str]:
        """(the list, the generator expression) of a built-in's list argument."""
        ic = self.expr(comp.iterable)
        it = f"_iter({ic})" if comp.iterable.t.nullable else ic
        if not comp.var or comp.elt is None:
            return it, it
        cond = f" if {self.expr(comp.cond)}" if comp.cond is not None else ""
        return it, f"({self.expr(comp.elt)} for {comp.var} in {it}{cond})"

    def e_Builtin(self, n: ir.Builtin) -> str:
        spec = BUILTINS[n.name]
        args = [self.expr(a) for a in n.args]
        if spec.runtime is not None:
            # a helper of the values: null in, null out (it never sees null)
            helper = self.const(spec.runtime)
            if not any(a.t.nullable for a in n.args):
                return f"{helper}({', '.join(args)})"
            return f"_call_guarded({helper}, {(True,) * len(args)!r}, {', '.join(args)})"
        assert spec.python is not None, n.name
        if n.over is None:
            return spec.python(Code(args, n))
        it, gen = self._over(n.over)
        return spec.python(Code(args, n, it, gen, bool(n.over.var)))

    def e_CallFn(self, n: ir.CallFn) -> str:
        args = ", ".join(self.expr(a) for a in n.args)
        if any(n.guard):
            # null in, null out: a function never sees null where its parameter has no "?"
            return f"_call_guarded(f_{n.name}, {n.guard!r}, {args})"
        return f"f_{n.name}({args})"

    # rules -----------------------------------------------------------------------------
    def rule(self, rule: ir.RuleIR, out: str, indent: str, emit_return: bool) -> list[str]:
        """The lines that evaluate one rule."""
        if not rule.ok:
            return []
        lines = []
        cond = self.expr(rule.when) if rule.when is not None else "True"
        if self.holds_mode or self.traced:
            refs = self.ir.trace_refs.get(rule.id, [])
            ref_code = "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in refs) + "}"
            entry = (f"{{'rule': {rule.id!r}, 'group': {rule.group!r}, 'subject': "
                     f"{rule.subject or 'None'}, 'applied': c, 'values': {ref_code}}}")
            if self.holds_mode:
                # an external engine decided which rules hold (see holds_prelude)
                lines += [f"c = {rule.index} in _h", f"if T is not None: T.append({entry})"]
            else:
                lines += [f"c = bool({cond})", f"T.append({entry})"]
            cond = "c"
        body = []
        if rule.with_values:
            body.append("w = {" + ", ".join(f"{k!r}: {self.expr(v)}"
                                            for k, v in rule.with_values) + "}")
        if rule.use is not None:
            body.append(f"return {self.name('t', rule.group, rule.use)}({rule.subject})")
        else:
            if emit_return or rule.outcome is not None:
                body.insert(0, f"{out} = []")
            body.extend(self.reason_line(r, out) for r in rule.reasons)
            if rule.outcome is not None:
                body.append(f"return ({rule.outcome!r}, {out})")
            elif emit_return:
                body.append(f"return {out}")
        if cond == "True":
            lines.extend(body)
        else:
            lines.append(f"if {cond}:")
            lines.extend("    " + b for b in (body or ["pass"]))
        return [indent + line for line in lines]

    def reason_line(self, node: ir.Node, out: str) -> str:
        t = node.t
        if t.kind == "reason" and not t.nullable:
            return f"{out}.append({self.expr(node)})"
        if t.kind == "list" and not t.nullable:
            return f"{out}.extend({self.expr(node)})"
        return f"_reasons({out}, {self.expr(node)})"

    def rules(self, lines: _Lines, rules: tuple[ir.RuleIR, ...], out: str, indent: str,
              emit_return: bool) -> None:
        for rule in rules:
            lines.owner = (f"rule {rule.id}", rule.location)
            lines.add(f"{indent}# rule {rule.id}  {_printable(str(rule.location))}")
            lines.extend(self.rule(rule, out, indent, emit_return))

    def holds_prelude(self, rules: tuple[ir.RuleIR, ...], tag: str, indent: str) -> list[str]:
        """In holds mode, the lines that compute a block's atoms and ask the engine.

        The engine answers which of the block's rules hold (``_h``); the lowered conditions
        are recorded for it.
        """
        if not self.holds_mode:
            return []
        lowerer = Lowerer(self.expr)
        conditions: list[tuple[str, LNode]] = []
        for rule in rules:
            lnode: LNode = Truth(True)
            if rule.when is not None:
                lnode = lowerer.lower(rule.when)
            conditions.append((rule.id, lnode))
        self.lowered[tag] = conditions
        body = [f"_f = {{'t': {tag!r}}}", *lowerer.lines, f"_h = E.holds({tag!r}, _f)"]
        return [indent + line for line in body]

    # groups ----------------------------------------------------------------------------
    def group(self, lines: _Lines, g: ir.GroupIR) -> None:
        if g.iterable is not None:
            self.table_group(lines, g)
            return
        rules = g.rules or ()
        if g.mode == "all":
            lines.add(f"g_{g.name} = []")
            lines.extend(self.holds_prelude(rules, g.name, ""))
            self.rules(lines, rules, f"g_{g.name}", "", False)
            return
        fn = self.name("grp", g.name)
        lines.add(f"def {fn}():")
        lines.extend(self.holds_prelude(rules, g.name, "    "))
        self.rules(lines, rules, "out", "    ", True)
        lines.add("    return []")
        lines.add(f"g_{g.name} = {fn}()")

    def table_group(self, lines: _Lines, g: ir.GroupIR) -> None:
        first = g.mode == "first"
        for table in g.tables:
            lines.add(f"def {self.name('t', g.name, table.name)}(s):")
            if not first:
                lines.add("    out = []")
            lines.extend(self.holds_prelude(table.rules, f"{g.name}.{table.name}", "    "))
            self.rules(lines, table.rules, "out", "    ", first)
            lines.add("    return []" if first else "    return out")
        table_map = ", ".join(f"{t.name!r}: {self.name('t', g.name, t.name)}" for t in g.tables)
        default = self.name("t", g.name, g.default) if g.default else "_none_table"
        tbl = self.name("tbl", g.name)
        assert g.iterable is not None
        lines.add(f"{tbl} = {{{table_map}}}")
        lines.add(f"g_{g.name} = []")
        lines.add(f"for _s in _unique({self.expr(g.iterable)}):")
        lines.add(f"    g_{g.name}.extend({tbl}.get(_s, {default})(_s))")

    def outcome(self, lines: _Lines) -> None:
        rules = self.ir.outcome
        lines.add("def o_decide():")
        lines.extend(self.holds_prelude(rules, "outcome", "    "))
        self.rules(lines, rules, "out", "    ", False)
        lines.add("    return (None, [])")
        lines.add("o_outcome, o_reasons = o_decide()")

    # the whole program ---------------------------------------------------------------
    def program(self, mode: ProgramMode) -> tuple[str, list[Any]]:
        """The source of the decision function of ``mode``, and each line's owner."""
        self.traced, self.holds_mode = mode in ("traced", "holds"), mode == "holds"
        try:
            return self._program(mode)
        finally:
            self.traced = self.holds_mode = False

    def _program(self, mode: ProgramMode) -> tuple[str, list[Any]]:
        rir = self.ir
        lines = _Lines()
        for p in sorted(rir.parameters):
            lines.add(f"p_{p} = P[{p!r}]")
        for fn in rir.functions.values():
            lines.owner = (f"function {fn.name}", self.locate(fn.node.at))
            args = ", ".join(f"a_{p}" for p, _ in fn.params)
            lines.add(f"def f_{fn.name}({args}):")
            lines.add(f"    return {self.expr(fn.node)}")
        for kind, name in rir.order:
            if kind == "value":
                value = rir.values[name]
                lines.owner = (f"value {name}", self.locate(value.node.at))
                lines.add(f"v_{name} = {self.expr(value.node)}")
            elif kind == "group":
                self.group(lines, rir.groups[name])
                lines.owner = None
                for group, k in sorted(rir.kind_refs):
                    if group == name:
                        lines.add(f"{self.name('gk', group, k)} = [_r for _r in g_{group} "
                                  f"if _r[0] in {self.const(rir.kind_codes[k])}]")
            else:
                self.outcome(lines)
        for field, node in rir.amounts.items():
            lines.owner = (f"amount {field}", self.locate(node.at)) if node is not None else None
            lines.add(f"am_{field} = {self.expr(node) if node is not None else 'None'}")
        lines.owner = None
        amounts = ", ".join(f"{field!r}: am_{field}" for field in rir.amounts)
        extra = ""
        if mode == "values":
            values = ", ".join(f"{n!r}: v_{n}" for k, n in rir.order if k == "value")
            groups = ", ".join(f"{n!r}: g_{n}" for k, n in rir.order if k == "group")
            extra = f", {{{values}}}, {{{groups}}}"
        lines.add(f"return _Decision(o_outcome, o_reasons, {{{amounts}}}{extra})")
        name = function_name(mode)
        args = "F, P, T, E" if self.holds_mode else "F, P, T"
        text = [f"def {name}({args}):"] + ["    " + line for line, _ in lines.lines]
        owners = [None] + [owner for _, owner in lines.lines]
        return "".join(t + "\n" for t in text), owners


def _printable(text: str) -> str:
    return _PRINTABLE.sub("?", text)

