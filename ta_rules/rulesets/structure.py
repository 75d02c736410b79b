"""The resolve stage for the file's structure: rules, groups, tables, outcome and amounts.

Builds the :class:`~ta_rules.rulesets.ir.RulesetIR` from the resolved expressions, checks
what only the structure can tell (duplicate rule ids, tables never selected, hand-overs in
a circle, an outcome list that can end without an outcome, amounts of the wrong type) and
orders values and groups by their dependencies (a cycle is an error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Location
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import REASON, T, is_dimension, type_name
from ta_rules.rulesets._yaml import Path
from ta_rules.rulesets.parse import for_each_parts
from ta_rules.rulesets.resolve import ANY, KINDS, Bail, Resolver, Scope
from ta_rules.rulesets.schema import GroupSpec, RuleSpec

__all__ = ["build_ir"]


class _Builder:
    def __init__(self, r: Resolver, broken_rules: frozenset[tuple[Any, ...]]) -> None:
        self.r = r
        self.spec = r.spec
        self.doc = r.doc
        self.broken_rules = broken_rules
        self.rules: dict[str, ir.RuleIR] = {}

    def error(self, code: str, message: str, location: Location, hint: str | None = None,
              related: tuple[Location, ...] = ()) -> None:
        self.r.error(code, message, location, hint, related)

    def at(self, path: Path, offset: int = 0) -> Location:
        return self.doc.offset_location(path, offset)

    # rules ---------------------------------------------------------------------------
    def rule(self, rule: Any, path: Path, group: str, table: str | None, scope: Scope,
             index: int) -> ir.RuleIR | None:
        """One rule, resolved; None when the file schema set it aside."""
        if tuple(path) in self.broken_rules:
            return None
        r = self.r
        ok = True
        when = None
        if rule.when is not None:
            when = r.safe((*path, "when"), scope)
            if when is None:
                ok = False
            elif when.t.kind not in ("bool", "any"):
                self.error(dc.COMPILE_TYPE_MISMATCH,
                           f"'when' needs a condition (true/false), found {type_name(when.t)}",
                           self.at((*path, "when")))
                ok = False
        with_spec = getattr(rule, "with_", {}) or {}
        with_values = []
        for key in with_spec:
            node = r.safe((*path, "with", key), Scope(dict(scope.locals)))
            if node is None:
                ok = False
            else:
                with_values.append((key, node))
        rscope = Scope(dict(scope.locals), rule.id, scope.subject, bool(with_spec),
                       scope.allow_outcome)
        before = r.codes_produced
        r.codes_produced = set()
        reasons, reasons_ok = self.reasons(rule, path, rscope)
        codes = tuple(sorted(r.codes_produced))
        r.codes_produced = before | r.codes_produced
        self.placeholders(rule.id, codes, with_spec, path)
        location = self.doc.location(path)
        result = ir.RuleIR(rule.id, group, table, tuple(path), location, index, when,
                           tuple(with_values), tuple(reasons), getattr(rule, "use", None),
                           getattr(rule, "outcome", None), codes, ok and reasons_ok,
                           scope.subject, rule.when)
        if rule.id in self.rules:
            self.error(dc.COMPILE_DUPLICATE_RULE_ID, f"duplicate rule id {rule.id!r}",
                       self.at((*path, "id")), None, (self.rules[rule.id].location,))
        else:
            self.rules[rule.id] = result
        return result

    def reasons(self, rule: Any, path: Path, scope: Scope) -> tuple[list[ir.Node], bool]:
        out: list[ir.Node] = []
        ok = True
        for i, _ in enumerate(rule.reasons):
            node = self.r.safe((*path, "reasons", i), scope)
            if node is None:
                ok = False
                continue
            t = node.t
            if t.kind in ("reason", "any", "null") or (t.kind == "list" and t.item == REASON):
                out.append(node)
            else:
                self.error(dc.COMPILE_TYPE_MISMATCH,
                           f"reasons must be reason codes (or lists of reasons), found "
                           f"{type_name(t)}", self.at((*path, "reasons", i)))
                ok = False
        return out, ok

    def placeholders(self, rid: str, codes: tuple[str, ...], with_spec: Mapping[str, Any],
                     path: Path) -> None:
        for code in codes:
            missing = self.r.reasons[code].placeholders - set(with_spec)
            if missing:
                self.error(dc.COMPILE_MESSAGE_PLACEHOLDER,
                           f"the message of {code} uses {{{', '.join(sorted(missing))}}} but "
                           f"rule {rid} does not provide {'it' if len(missing) == 1 else 'them'}",
                           self.doc.location((*path, "with") if with_spec else
                                             (*path, "reasons"), key=True),
                           f"add them under with: in rule {rid}")

    def rule_list(self, rules: list[Any], path: Path, group: str, table: str | None,
                  scope: Scope) -> tuple[ir.RuleIR, ...]:
        out = []
        for i, rule in enumerate(rules):
            resolved = self.rule(rule, (*path, i), group, table, scope, i)
            if resolved is not None:
                out.append(resolved)
        return tuple(out)

    # groups --------------------------------------------------------------------------
    def group(self, name: str, spec: GroupSpec) -> ir.GroupIR:
        r = self.r
        saved = r.deps
        r.deps = set()
        try:
            if spec.for_each is None:
                return self.plain_group(name, spec)
            return self.table_group(name, spec)
        finally:
            r.deps = saved | r.deps

    def plain_group(self, name: str, spec: GroupSpec) -> ir.GroupIR:
        path: Path = ("groups", name)
        rules = spec.rules or []
        uses = False
        for i, rule in enumerate(rules):
            if rule.use is not None:
                uses = True
                self.error(dc.COMPILE_BAD_USE, "use: is only for tables of a for_each group",
                           self.at((*path, "rules", i, "use")))
        resolved = () if uses else self.rule_list(rules, (*path, "rules"), name, None, Scope({}))
        return ir.GroupIR(name, spec.mode, resolved, deps=frozenset(self.r.deps),
                          uses_tables=uses)

    def table_group(self, name: str, spec: GroupSpec) -> ir.GroupIR:
        path: Path = ("groups", name)
        broken = ir.GroupIR(name, spec.mode, None, deps=frozenset(), uses_tables=True)
        parts = for_each_parts(spec.for_each or "")
        if parts is None:
            self.error(dc.COMPILE_SYNTAX, "for_each must read 'name in list'",
                       self.at((*path, "for_each")))
            return broken
        var, _, offset = parts
        try:
            iterable, _ = self.r.expression((*path, "for_each"), Scope({}))
        except Bail:
            return broken
        if iterable.t.kind != "list":
            self.error(dc.COMPILE_TYPE_MISMATCH,
                       f"for_each needs a list, found {type_name(iterable.t)}",
                       self.at((*path, "for_each"), offset))
            return broken
        item_t = iterable.t.item or ANY
        if item_t.kind != "str":
            # the item is the subject of every reason the tables give, and picks the table
            self.error(dc.COMPILE_TYPE_MISMATCH,
                       f"for_each needs a list of codes or text (each item names a table and "
                       f"is the subject of its reasons), found {type_name(iterable.t)}",
                       self.at((*path, "for_each"), offset))
            return broken
        tables = spec.tables or {}
        self.check_tables(spec, tables, item_t, var, path)
        first = spec.mode == "first"
        out = []
        for tname, rules in tables.items():
            scope = Scope({var: (item_t, "s")}, subject="s")
            if not first:
                for i, rule in enumerate(rules):
                    if rule.use is not None:
                        self.error(dc.COMPILE_BAD_USE, "use: needs mode: first",
                                   self.at((*path, "tables", tname, i, "use")))
            out.append(ir.TableIR(tname, self.rule_list(rules, (*path, "tables", tname), name,
                                                        tname, scope)))
        return ir.GroupIR(name, spec.mode, None, iterable, tuple(out), spec.default,
                          frozenset(self.r.deps))

    def check_tables(self, spec: GroupSpec, tables: Mapping[str, list[RuleSpec]], item_t: T,
                     var: str, path: Path) -> None:
        suggest = self.r.suggest
        used = {r.use for rules in tables.values() for r in rules if r.use}
        for tname in tables:
            if item_t.choices is not None and tname not in item_t.choices \
                    and tname not in used and tname != spec.default:
                self.error(dc.COMPILE_UNKNOWN_TABLE,
                           f"table {tname!r} is never selected: {var} is one of "
                           f"{', '.join(sorted(item_t.choices))}",
                           self.doc.location((*path, "tables", tname), key=True),
                           suggest(tname, sorted(item_t.choices)))
        for tname, rules in tables.items():
            for i, rule in enumerate(rules):
                if rule.use is not None and rule.use not in tables \
                        and rule.use not in self.r.broken_names:
                    self.error(dc.COMPILE_UNKNOWN_TABLE, f"use: names no table {rule.use!r}",
                               self.at((*path, "tables", tname, i, "use")),
                               suggest(rule.use, list(tables)))
        if spec.default is not None and spec.default not in tables:
            self.error(dc.COMPILE_UNKNOWN_TABLE, f"default names no table {spec.default!r}",
                       self.at((*path, "default")), suggest(spec.default, list(tables)))
        self.check_use_cycles(tables, path)

    def check_use_cycles(self, tables: Mapping[str, list[RuleSpec]], path: Path) -> None:
        edges = {t: [(i, r.use) for i, r in enumerate(rules) if r.use] for t, rules in
                 tables.items()}
        for start in tables:
            stack = [(start, [start])]
            seen = set()
            while stack:
                node, trail = stack.pop()
                for i, nxt in edges.get(node, []):
                    if nxt == start:
                        self.error(dc.COMPILE_CYCLE,
                                   "tables hand over in a circle: " + " -> ".join([*trail, nxt]),
                                   self.at((*path, "tables", node, i, "use")))
                        return
                    if nxt not in seen and nxt in tables:
                        seen.add(nxt)
                        stack.append((nxt, [*trail, nxt]))

    # outcome and amounts -------------------------------------------------------------
    def outcome(self) -> tuple[tuple[ir.RuleIR, ...], frozenset[tuple[str, str]]]:
        r = self.r
        saved = r.deps
        r.deps = set()
        try:
            rules = self.spec.outcome
            resolved = self.rule_list(rules, ("outcome",), "outcome", None, Scope({}))
            if rules and rules[-1].when is not None \
                    and ("outcome", len(rules) - 1) not in self.broken_rules:
                self.error(dc.COMPILE_OUTCOME_INCOMPLETE,
                           "the last outcome rule must apply always (leave out 'when'), so "
                           "every claim gets an outcome",
                           self.at(("outcome", len(rules) - 1, "when")))
            return resolved, frozenset(r.deps)
        finally:
            r.deps = saved | r.deps

    def amounts(self) -> dict[str, ir.Node | None]:
        out: dict[str, ir.Node | None] = {}
        for field in ("max_refund", "coverage_cap"):
            node = self.r.safe(("amounts", field), Scope({}, allow_outcome=True))
            out[field] = node
            if node is None:
                continue
            t, where = node.t, self.at(("amounts", field))
            if t.kind == "null":
                self.error(dc.COMPILE_TYPE_MISMATCH,
                           f"{field} is always null: it must be an amount (null only in some "
                           "cases, as in 'if outcome == \"covered\" then cap')", where,
                           "a quoted \"null\" is read as the expression null")
            elif t.kind not in ("money", "any", "null"):
                self.error(dc.COMPILE_TYPE_MISMATCH, f"{field} must be money, found "
                           f"{type_name(t)}", where)
            elif field == "max_refund" and t.nullable:
                self.error(dc.COMPILE_TYPE_MISMATCH,
                           "max_refund must never be null; give a zero amount instead", where,
                           "add ?? money(0, <currency>)")
            elif t.kind == "money" and t.dim is not None and not is_dimension(t.dim):
                self.error(dc.COMPILE_CURRENCY_MISMATCH,
                           f"{field} must be in the currency of the claim (a currency "
                           f"dimension of the vocabulary), found {type_name(t)}", where)
        return out

    # order ---------------------------------------------------------------------------
    def order(self, steps: Mapping[tuple[str, str], frozenset[tuple[str, str]]]
              ) -> list[tuple[str, str]]:
        order: list[tuple[str, str]] = []
        state: dict[tuple[str, str], int] = {}

        def visit(key: tuple[str, str], trail: list[tuple[str, str]]) -> None:
            if state.get(key) == 2:
                return
            if state.get(key) == 1:
                self.cycle([*trail[trail.index(key):], key])
                return
            state[key] = 1
            for dep in sorted(steps.get(key, frozenset())):
                if dep in steps and dep != key:
                    visit(dep, [*trail, key])
                elif dep == key and key[0] == "group":
                    self.error(dc.COMPILE_CYCLE, f"group {key[1]} refers to itself",
                               self.doc.location(("groups", key[1]), key=True))
            state[key] = 2
            order.append(key)

        for key in steps:
            visit(key, [])
        return order

    def cycle(self, cycle: list[tuple[str, str]]) -> None:
        kind, name = cycle[0]
        where: Path = ("groups", name) if kind == "group" else \
            ("outcome",) if kind == "outcome" else ("values", name)
        self.error(dc.COMPILE_CYCLE, "circular dependency: " + " -> ".join(k[1] for k in cycle),
                   self.doc.location(where, key=True))


def build_ir(r: Resolver, broken_rules: frozenset[tuple[Any, ...]] = frozenset()
             ) -> ir.RulesetIR:
    """Resolve the whole file into the intermediate form (problems go to ``r.diags``)."""
    b = _Builder(r, broken_rules)
    spec = r.spec
    steps: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
    for name in spec.values:
        steps[("value", name)] = r.value(name, ("values", name), 0).deps
    groups = {}
    for name, gspec in spec.groups.items():
        groups[name] = b.group(name, gspec)
        steps[("group", name)] = groups[name].deps
    outcome, outcome_deps = b.outcome()
    steps[("outcome", "outcome")] = outcome_deps
    amounts = b.amounts()
    for fname in spec.functions:
        r.function(fname, ("functions", fname), 0)
    order = b.order(steps)
    kind_codes = {kind: frozenset(c for c, d in r.reasons.items() if d.kind == kind)
                  for kind in KINDS}
    return ir.RulesetIR(r.params, r.reasons, dict(r.values), dict(r.functions), groups, outcome,
                        amounts, order, set(r.kind_refs), kind_codes, b.rules)
