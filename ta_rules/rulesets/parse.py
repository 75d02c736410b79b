"""The parse stage: every expression of a ruleset file, parsed exactly once.

The result maps the YAML path of each expression to its syntax tree (None where it does
not parse, with a ``compile.syntax`` diagnostic recorded). Later stages read trees from
here and never see expression text again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.schema import RulesetSpec, ValueSpec

__all__ = ["MAX_TREE_DEPTH", "Parsed", "for_each_parts", "parse_expressions", "parse_ruleset"]

#: How deeply operations may nest in one expression (chains of ``and``/``or`` are flat).
MAX_TREE_DEPTH: Final = 100

_VAR_RE: Final = re.compile(r"[a-z_][a-z0-9_]*")


class Parsed:
    """The syntax trees of one file's expressions, by YAML path."""

    def __init__(self) -> None:
        self.trees: dict[tuple[Any, ...], ex.Expr | None] = {}
        self.offsets: dict[tuple[Any, ...], int] = {}
        self.diagnostics: list[Diagnostic] = []

    def get(self, path: Path) -> ex.Expr | None:
        """The tree at ``path`` (None when it failed to parse or is not an expression)."""
        return self.trees.get(tuple(path))

    def offset(self, path: Path) -> int:
        """Where the expression starts in its YAML string (non-zero only for ``for_each``)."""
        return self.offsets.get(tuple(path), 0)


def for_each_parts(text: str) -> tuple[str, str, int] | None:
    """``item in list`` as (variable, iterable text, offset of the iterable), or None."""
    var, sep, iterable = text.partition(" in ")
    var = var.strip()
    if not sep or not _VAR_RE.fullmatch(var):
        return None
    return var, iterable, text.index(iterable)


def _expressions(spec: RulesetSpec,
                 broken_rules: frozenset[tuple[Any, ...]]) -> Iterator[tuple[Path, str, int]]:
    """Every expression of the file: (path, text, offset of the text in the YAML string)."""
    for name, v in spec.values.items():
        if isinstance(v, ValueSpec):
            yield ("values", name, "expr"), v.expr, 0
        else:
            yield ("values", name), v, 0
    for name, f in spec.functions.items():
        yield ("functions", name, "expr"), f.expr, 0
    for gname, g in spec.groups.items():
        if g.for_each is not None:
            parts = for_each_parts(g.for_each)
            if parts is not None:
                yield ("groups", gname, "for_each"), parts[1], parts[2]
        lists: list[tuple[Path, list[Any]]] = []  # rules of groups and tables
        if g.rules is not None:
            lists.append((("groups", gname, "rules"), g.rules))
        for tname, rules in (g.tables or {}).items():
            lists.append((("groups", gname, "tables", tname), rules))
        for base, rules in lists:
            for i, rule in enumerate(rules):
                yield from _rule_expressions((*base, i), rule, broken_rules)
    for k, outcome_rule in enumerate(spec.outcome):
        yield from _rule_expressions(("outcome", k), outcome_rule, broken_rules)
    yield ("amounts", "max_refund"), spec.amounts.max_refund, 0
    yield ("amounts", "coverage_cap"), spec.amounts.coverage_cap, 0


def _rule_expressions(path: Path, rule: Any,
                      broken_rules: frozenset[tuple[Any, ...]]) -> Iterator[tuple[Path, str, int]]:
    if tuple(path) in broken_rules:
        return
    if rule.when is not None:
        yield (*path, "when"), rule.when, 0
    for key, text in (getattr(rule, "with_", None) or {}).items():
        yield (*path, "with", key), text, 0
    for i, text in enumerate(rule.reasons):
        yield (*path, "reasons", i), text, 0


def tree_depth(node: ex.Expr) -> int:
    """How deeply operations nest (a chain of one of ``and``/``or`` counts once)."""
    deepest = 0
    stack: list[tuple[ex.Expr, int, str | None]] = [(node, 1, None)]
    while stack:
        n, depth, chain = stack.pop()
        logic = n.op if isinstance(n, ex.Bin) and n.op in ("and", "or") else None
        if logic is not None and logic == chain:
            depth -= 1  # the same chain goes on: no deeper
        deepest = max(deepest, depth)
        for child in _subtrees(n):
            stack.append((child, depth + 1, logic))
    return deepest


def _subtrees(n: ex.Expr) -> Iterator[ex.Expr]:
    if isinstance(n, ex.Attr):
        yield n.obj
    elif isinstance(n, ex.Unary | ex.IsNull):
        yield n.operand
    elif isinstance(n, ex.Bin | ex.Cmp):
        yield n.left
        yield n.right
    elif isinstance(n, ex.Cond):
        yield n.test
        yield n.then
        if n.other is not None:
            yield n.other
    elif isinstance(n, ex.ListLit):
        yield from n.items
    elif isinstance(n, ex.Call):
        if n.gen is not None:
            yield n.gen.elt
            yield n.gen.iterable
            if n.gen.cond is not None:
                yield n.gen.cond
        yield from n.args


def parse_ruleset(spec: RulesetSpec, doc: YamlDocument,
                  broken_rules: frozenset[tuple[Any, ...]] = frozenset()) -> Parsed:
    """Parse every expression of ``spec`` once; syntax errors become diagnostics."""
    return parse_expressions(doc, _expressions(spec, broken_rules))


def parse_expressions(doc: YamlDocument,
                      items: Iterable[tuple[Path, str, int]]) -> Parsed:
    """Parse expressions of a file given as (YAML path, text, offset in the string)."""
    parsed = Parsed()
    for path, text, offset in items:
        key = tuple(path)
        parsed.offsets[key] = offset
        try:
            tree = ex.parse(text)
        except ex.ParseError as err:
            parsed.diagnostics.append(Diagnostic(
                dc.COMPILE_SYNTAX, err.message, doc.offset_location(path, offset + err.pos),
                err.hint))
            parsed.trees[key] = None
            continue
        depth = tree_depth(tree)
        if depth > MAX_TREE_DEPTH:
            parsed.diagnostics.append(Diagnostic(
                dc.COMPILE_TOO_DEEP,
                f"this expression nests {depth} operations deep; at most {MAX_TREE_DEPTH}",
                doc.offset_location(path, offset),
                "split it into named values (values:) and refer to them by name"))
            parsed.trees[key] = None
            continue
        parsed.trees[key] = tree
    return parsed
