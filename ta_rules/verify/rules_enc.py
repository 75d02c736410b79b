"""A whole ruleset as z3 terms: values, groups, tables, the outcome and the amounts.

:class:`RulesetEncoder` reads a compiled ruleset's intermediate form
(:attr:`~ta_rules.rulesets.compile.Ruleset.ir`) and nothing else; it is the same for every
ruleset. Groups follow the Python backend: ``mode: all`` gives the reasons of every rule
whose condition holds, in order; ``mode: first`` those of the first one (a rule without
reasons still stops the group); a ``for_each`` group runs, for each distinct item of its
list, the table named by the item (or the default table), and ``use:`` hands the item to
another table. Reason lists are (condition, code, subject) entries. Values are computed
once, on first use; what cannot be encoded is raised as :class:`EncodingError` naming the
rule (or value) and ``file:line``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import z3

from ta_rules.errors import TaRulesError
from ta_rules.money import minor_unit
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import T
from ta_rules.rulesets.compile import Ruleset
from ta_rules.verify.encode import ExprEncoder, const_sym, round_real
from ta_rules.verify.values import FALSE, TRUE, Entry, Strings, Sym, Unsupported, eq, truth

__all__ = ["PY_OPS", "EncodingError", "RuleVisit", "RulesetEncoder", "SymVerdict", "atoms",
           "skeleton"]


class EncodingError(TaRulesError):
    """A part of the ruleset the encoder cannot express: what, and where it is written."""

    def __init__(self, what: str, where: str, location: str) -> None:
        super().__init__(f"{where} ({location}): cannot encode {what}")
        self.what, self.where, self.location = what, where, location

    def to_json(self) -> dict[str, str]:
        """The problem as JSON."""
        return {"what": self.what, "rule": self.where, "location": self.location}


@dataclasses.dataclass
class SymVerdict:
    """A verdict as z3 terms: outcome index, codes given, the amounts as the verdict shows them."""

    outcome: Sym
    reasons: list[Entry]
    max_refund: Sym
    coverage_cap: Sym
    currency: str

    def codes(self) -> list[str]:
        """Every code the verdict can give, in order."""
        return list(dict.fromkeys(k for _, k, _ in self.reasons))

    def has_code(self, code: str) -> Any:
        """Whether the verdict gives ``code``."""
        return z3.Or([c for c, k, _ in self.reasons if k == code] or [FALSE])


_MAX_USE_DEPTH = 8


def atoms(node: ir.Node | None) -> list[ir.Node]:
    """The atomic conditions of a condition: its parts that are not ``and``, ``or``, ``not``."""
    if node is None:
        return []
    if isinstance(node, ir.Logic):
        return [a for part in node.parts for a in atoms(part)]
    if isinstance(node, ir.Unary) and node.op == "not":
        return atoms(node.operand)
    return [node]


def skeleton(node: ir.Node, truths: list[Any], at: list[int] | None = None,
             ops: tuple[Any, Any, Any] | None = None) -> Any:
    """The truth of a condition from the truths of its atoms (in :func:`atoms` order).

    The truth of ``a and b`` is that of ``a`` and that of ``b``, of ``a or b`` either, of
    ``not a`` the opposite of ``a``'s, so a rule applies exactly when this holds. ``ops``:
    (and, or, not) over the truths (default: z3's; :data:`PY_OPS` for Python booleans).
    """
    at = at if at is not None else [0]
    and_, or_, not_ = ops or (z3.And, z3.Or, z3.Not)
    if isinstance(node, ir.Logic):
        parts = [skeleton(p, truths, at, ops) for p in node.parts]
        return and_(parts) if node.op == "and" else or_(parts)
    if isinstance(node, ir.Unary) and node.op == "not":
        return not_(skeleton(node.operand, truths, at, ops))
    got = truths[at[0]]
    at[0] += 1
    return got


#: :func:`skeleton` over Python booleans.
PY_OPS: tuple[Any, Any, Any] = (all, any, lambda x: not x)


@dataclasses.dataclass
class RuleVisit:
    """One evaluation of a rule, for analyses of rules rather than verdicts.

    ``reached``: the rule is evaluated (its table chosen for an item, no earlier rule of a
    ``first`` list applied); ``earlier``: the conditions of the rules before it in a
    ``first`` list (with the same ``reached`` context); ``truths``: the truth of each atomic
    condition (:func:`atoms`), in the same context.
    """

    rule: ir.RuleIR
    reached: Any
    scope: Any
    earlier: list[tuple[ir.RuleIR, Any]]
    truths: list[Any]
    #: The reasons it gives when it applies (none for one that hands over with ``use:``).
    reasons: list[Entry]
    #: For each atom that orders two numbers, dates or amounts (``a <= b``): (both known,
    #: ``a - b``, the smallest step of the two: a day, a minor unit), else None.
    edges: list[tuple[Any, Any, Any] | None] = dataclasses.field(default_factory=list)


class RulesetEncoder:
    """Encodes one ruleset over one symbolic facts document.

    Args:
        ruleset: The compiled ruleset (its ``ir`` is read).
        facts: The fact roots, as Syms (:class:`~ta_rules.verify.space.FactSpace`).
        strings: The query's string universe.
        currency: The contract currency of the query.
        params: The parameter values (defaults, or bound overrides).
    """

    def __init__(self, ruleset: Ruleset, facts: Mapping[str, Sym], strings: Strings,
                 currency: str, params: Mapping[str, Any]) -> None:
        if ruleset.ir is None:
            raise EncodingError("a ruleset without its intermediate form", ruleset.version,
                                ruleset.source)
        self.rs = ruleset
        self.ir: ir.RulesetIR = ruleset.ir
        self.facts = facts
        self.strings = strings
        self.currency = currency
        self.params = params
        self.x = ExprEncoder(strings, currency, self._ref, self.group_kind,
                             lambda name: self.ir.functions[name])
        self._values: dict[str, Sym] = {}
        self._groups: dict[str, list[Entry]] = {}
        self._outcome: tuple[Sym, list[Entry]] | None = None
        #: What a reader of a result should know about the encoding of this ruleset.
        self.notes: list[str] = []
        #: When a list: every evaluation of a rule is recorded in it (:class:`RuleVisit`).
        self.visits: list[RuleVisit] | None = None
        self._scope: list[Any] = []

    # names -----------------------------------------------------------------------------
    def _ref(self, n: ir.Ref) -> Sym:
        if n.kind == "fact":
            return self.facts[n.name]
        if n.kind == "param":
            value = self.params[n.name]  # a Sym: a parameter left free for the question
            return value if isinstance(value, Sym) else const_sym(value, n.t, self.strings)
        if n.kind == "value":
            return self.value(n.name)
        if n.kind == "group":
            return Sym(n.t, entries=self.group(n.name))
        if n.kind == "outcome":
            return self.outcome()[0]
        raise Unsupported(f"the name {n.name} ({n.kind})")

    def _located(self, where: str, location: Any, fn: Any) -> Any:
        """Run ``fn``; what it cannot encode is reported at ``where``.

        ``location`` is the text, or a callable giving it (called only then).
        """
        before = self.x.divisions
        try:
            got = fn()
        except Unsupported as exc:
            at = location() if callable(location) else location
            raise EncodingError(exc.what, where, at) from None
        if self.x.divisions > before:
            at = location() if callable(location) else location
            self.notes.append(f"{where} ({at}) divides: the solver divides exactly, the "
                              "engine to 60 significant digits (they agree unless a quotient "
                              "lies closer to a rounding step than its 60th digit)")
            self.x.divisions = before  # said here, not again by what uses it
        return got

    def value(self, name: str) -> Sym:
        """The Sym of a named value (computed once)."""
        got = self._values.get(name)
        if got is None:
            node = self.ir.values[name].node
            got = self._located(f"value {name}", lambda: _line_loc(self.rs, ("values", name)),
                                lambda: self.x.expr(node))
            self._values[name] = got
        return got

    # rules and groups ------------------------------------------------------------------
    def rule_cond(self, rule: ir.RuleIR) -> Any:
        """Whether a rule's condition holds (its ``when``; true without one)."""
        if rule.when is None:
            return TRUE
        when = rule.when
        return self._located(f"rule {rule.id}", str(rule.location),
                             lambda: truth(self.x.expr(when)))

    def rule_reasons(self, rule: ir.RuleIR) -> list[Entry]:
        """The reasons a rule gives when it applies."""
        out: list[Entry] = []
        for node in rule.reasons:
            v = self._located(f"rule {rule.id}", str(rule.location),
                              lambda node=node: self.x.expr(node))
            if v.entries is None:
                raise EncodingError("a reason that is not a code or a reason list",
                                    f"rule {rule.id}", str(rule.location))
            out.extend(v.entries)
        return out

    def _visit(self, rule: ir.RuleIR, none_yet: Any,
               earlier: list[tuple[ir.RuleIR, Any]]) -> list[Entry] | None:
        """Record an evaluation of a rule (when recording); the reasons it gives."""
        if self.visits is None:
            return None
        scope = z3.And(self._scope) if self._scope else TRUE
        truths = [self._located(f"rule {rule.id}", str(rule.location),
                                lambda a=a: truth(self.x.expr(a))) for a in atoms(rule.when)]
        reasons = self.rule_reasons(rule) if rule.use is None else []
        edges = [self._edge(a) for a in atoms(rule.when)]
        self.visits.append(RuleVisit(rule, z3.And(scope, none_yet), scope, list(earlier),
                                     truths, reasons, edges))
        return reasons

    def _edge(self, atom: ir.Node) -> tuple[Any, Any, Any] | None:
        """(both known, left - right, step) of an ordering atom (see :class:`RuleVisit`)."""
        if not isinstance(atom, ir.Compare) or atom.op not in ("<", "<=", ">", ">="):
            return None
        try:
            a, b = self.x.expr(atom.left), self.x.expr(atom.right)
        except Unsupported:
            return None
        kinds = {a.t.kind, b.t.kind}
        if not kinds <= {"int", "date", "money", "decimal"} or a.val is None or b.val is None:
            return None
        if kinds <= {"int", "date"}:
            step: Any = z3.IntVal(1)
        else:
            places = max(p for p in (a.places, b.places, 0) if p is not None)
            step = z3.RealVal(f"1/{10 ** places}")
        real = not kinds <= {"int", "date"}
        la = z3.ToReal(a.val) if real and z3.is_int(a.val) else a.val
        lb = z3.ToReal(b.val) if real and z3.is_int(b.val) else b.val
        return z3.And(a.present, b.present), la - lb, step

    def _all(self, rules: tuple[ir.RuleIR, ...]) -> list[Entry]:
        out: list[Entry] = []
        for rule in rules:
            if not rule.ok:
                continue
            given = self._visit(rule, TRUE, [])
            c = self.rule_cond(rule)
            out.extend((z3.And(c, x), code, s) for x, code, s in
                       (given if given is not None else self.rule_reasons(rule)))
        return out

    def _first(self, rules: tuple[ir.RuleIR, ...], table: tuple[str, Sym, int] | None
               ) -> tuple[list[Entry], list[tuple[Any, ir.RuleIR]]]:
        """The reasons of the first rule that applies, and (fires?, rule) for each rule."""
        out: list[Entry] = []
        fired: list[tuple[Any, ir.RuleIR]] = []
        none_yet: Any = TRUE
        earlier: list[tuple[ir.RuleIR, Any]] = []
        for rule in rules:
            if not rule.ok:
                continue
            given = self._visit(rule, none_yet, earlier)
            c = self.rule_cond(rule)
            earlier.append((rule, c))
            fires = z3.And(none_yet, c)
            fired.append((fires, rule))
            if rule.use is not None:
                if table is None:
                    raise EncodingError("use: outside a table", f"rule {rule.id}",
                                        str(rule.location))
                group, subject, depth = table
                self._scope.append(fires)
                try:
                    sub = self.table(group, rule.use, subject, depth + 1, str(rule.location))
                finally:
                    self._scope.pop()
                out.extend((z3.And(fires, x), code, s) for x, code, s in sub)
            else:
                out.extend((z3.And(fires, x), code, s) for x, code, s in
                           (given if given is not None else self.rule_reasons(rule)))
            none_yet = z3.And(none_yet, z3.Not(c))
        return out, fired

    def table(self, group: str, name: str, subject: Sym, depth: int, where: str) -> list[Entry]:
        """The reasons one table gives for one item."""
        if depth > _MAX_USE_DEPTH:
            raise EncodingError(f"use: chains longer than {_MAX_USE_DEPTH}",
                                f"table {group}.{name}", where)
        g = self.ir.groups[group]
        tables = {t.name: t for t in g.tables}
        rules = tables[name].rules
        saved = self.x.env
        self.x.env = {**saved, "s": subject}
        try:
            if g.mode == "first":
                return self._first(rules, (group, subject, depth))[0]
            return self._all(rules)
        finally:
            self.x.env = saved

    def group(self, name: str) -> list[Entry]:
        """The reasons a group gives, in order."""
        got = self._groups.get(name)
        if got is not None:
            return got
        g = self.ir.groups[name]
        if g.iterable is None:
            rules = g.rules or ()
            got = self._all(rules) if g.mode == "all" else self._first(rules, None)[0]
        else:
            got = self._table_group(g)
        self._groups[name] = got
        return got

    def _table_group(self, g: ir.GroupIR) -> list[Entry]:
        assert g.iterable is not None
        iterable = g.iterable
        coll = self._located(f"group {g.name}", lambda: _line_loc(self.rs, ("groups", g.name)),
                             lambda: self.x.expr(iterable))
        if coll.items is None:
            raise EncodingError("a for_each over something that is not a list",
                                f"group {g.name}", self.rs.source)
        names = [t.name for t in g.tables]
        out: list[Entry] = []
        for i, item in enumerate(coll.items):
            fresh = z3.And([coll.at(i)] + [z3.Not(eq(item, coll.items[j])) for j in range(i)])
            chosen = []
            for tname in names:
                pick = eq(item, const_sym(tname, item.t, self.strings))
                chosen.append(pick)
                sub = self._scoped(z3.And(fresh, pick),
                                   lambda tname=tname, item=item: self.table(
                                       g.name, tname, item, 0, str(g.name)))
                out.extend((z3.And(fresh, pick, x), code, s) for x, code, s in sub)
            if g.default is not None:
                other = z3.And(fresh, z3.Not(z3.Or(chosen or [FALSE])))
                sub = self._scoped(other, lambda item=item, default=g.default: self.table(
                    g.name, default, item, 0, str(g.name)))
                out.extend((z3.And(other, x), code, s) for x, code, s in sub)
        return out

    def _scoped(self, scope: Any, fn: Any) -> list[Entry]:
        self._scope.append(scope)
        try:
            got: list[Entry] = fn()
            return got
        finally:
            self._scope.pop()

    def group_kind(self, group: str, kind: str) -> Sym:
        """``group.kind``: the reasons of one kind a group gave."""
        codes = self.ir.kind_codes[kind]
        entries = [e for e in self.group(group) if e[1] in codes]
        return Sym(T("list"), entries=entries)

    # the verdict -----------------------------------------------------------------------
    def outcome(self) -> tuple[Sym, list[Entry]]:
        """The outcome (a string index, null when no outcome rule applies) and its reasons."""
        if self._outcome is not None:
            return self._outcome
        out_t = T("str", nullable=True)
        entries, fired = self._first(self.ir.outcome, None)
        value: Any = z3.IntVal(0)
        present: Any = FALSE
        for fires, rule in reversed(fired):
            if rule.outcome is None:
                continue
            value = z3.If(fires, z3.IntVal(self.strings.of(rule.outcome)), value)
            present = z3.Or(fires, present)
        self._outcome = (Sym(out_t, present, value), entries)
        return self._outcome

    def verdict(self) -> SymVerdict:
        """The verdict, as :func:`ta_rules.evaluate` builds it (amounts rounded half up)."""
        outcome, reasons = self.outcome()
        amounts = {}
        for name in ("max_refund", "coverage_cap"):
            node = self.ir.amounts.get(name)
            if node is None:
                amounts[name] = Sym.null(T("money", nullable=True))
                continue
            v = self._located(f"amount {name}",
                              lambda name=name: _line_loc(self.rs, ("amounts", name)),
                              lambda node=node: self.x.expr(node))
            cur = v.cur or self.currency
            places = minor_unit(cur)
            amounts[name] = Sym(v.t, v.present, round_real(v.val, places, "half_up", v.places),
                                cur=cur, places=places)
        return SymVerdict(outcome, reasons, amounts["max_refund"], amounts["coverage_cap"],
                          self.currency)


def _line_of(rs: Ruleset, path: tuple[Any, ...]) -> int | None:
    """The line of a key of the ruleset file, read from its text (1-based), or None."""
    try:
        from ta_rules.errors import RulesetError
        from ta_rules.rulesets._yaml import load_yaml
        from ta_rules.rulesets.load import read_rule_file

        doc, _ = load_yaml(read_rule_file(rs.source), rs.source)
        if doc is None:
            return None
        return doc.location(path, key=True).line
    except (OSError, KeyError, TypeError, ValueError, AttributeError, RulesetError):
        return None


def _line_loc(rs: Ruleset, path: tuple[Any, ...]) -> str:
    if rs.document is not None:  # the file that wrote it (a version written as changes)
        loc = rs.document.location(path, key=True)
        return f"{loc.source}:{loc.line}" if loc.line else loc.source
    line = _line_of(rs, path)
    return f"{rs.source}:{line}" if line else rs.source
