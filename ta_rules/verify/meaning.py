"""Which strings mean something for which fact: the literals the rules compare it with.

A free text or code fact (a category, a payment method) chosen by the solver for a person
to read must take a value that means something for *that* fact: one the rules name for it
(``contract.category in excluded_categories``, ``p.method == "TT"``), one the claim already
has there, or a marked placeholder (``other-0``: a value no rule names), never a literal of
another field (a date that happens to fit the code pattern). :func:`field_literals` reads
the comparisons of a compiled ruleset's intermediate form; fact paths are written with
``[]`` for any list item (``payments[].method``; a ``for_each`` item is its list's item).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ta_rules.rulesets import ir
from ta_rules.rulesets.compile import Ruleset

__all__ = ["field_literals", "generic_path", "leaf_keys"]

_INDEX = re.compile(r"\[\d+\]")


def generic_path(path: str) -> str:
    """A leaf path with list indexes left out: ``payments[1].method`` -> ``payments[].method``."""
    return _INDEX.sub("[]", path)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list | frozenset | set):
        for x in value:
            yield from _strings(x)


def _field_key(obj_t: Any, name: str) -> str | None:
    """``record:field`` of a field of a record (however the record was reached)."""
    model = getattr(obj_t, "model", None)
    return f"{model.__name__}:{name}" if model is not None else None


def leaf_keys(env: Any, path: str) -> list[str]:
    """The keys :func:`field_literals` may file a leaf's literals under.

    Its generic path and, for a field of a record, ``record:field``.
    """
    generic = generic_path(path)
    keys = [generic]
    parts = generic.split(".")
    t = env.roots.get(parts[0].removesuffix("[]"))
    for part in parts[1:]:
        if t is not None and t.kind == "list":
            t = t.item
        if t is None or t.kind != "object" or t.model is None:
            return keys
        key = _field_key(t, part.removesuffix("[]"))
        t = env.fields(t.model).get(part.removesuffix("[]"))
        if key is not None and part == parts[-1]:
            keys.append(key)
    return keys


class _Reader:
    def __init__(self, rs: Ruleset, params: Mapping[str, Any]) -> None:
        assert rs.ir is not None
        self.rir = rs.ir
        self.params = params
        self.locals: dict[str, str] = {}  # generated name of a local -> its item's path
        self.out: dict[str, set[str]] = {}

    def path(self, node: ir.Node) -> str | None:
        if isinstance(node, ir.Ref):
            if node.kind == "fact":
                return node.name
            if node.kind == "local":
                return self.locals.get(node.var)
            return None
        if isinstance(node, ir.Field):
            base = self.path(node.obj)
            return f"{base}.{node.name}" if base else None
        return None

    def values(self, node: ir.Node) -> list[str]:
        if isinstance(node, ir.Const):
            return list(_strings(node.value))
        if isinstance(node, ir.ListOf):
            return [s for item in node.items for s in self.values(item)]
        if isinstance(node, ir.Ref) and node.kind == "param":
            return list(_strings(self.params.get(node.name)))
        if isinstance(node, ir.IfElse):
            return self.values(node.then) + (self.values(node.other) if node.other else [])
        return []

    def bind(self, var: str, iterable: ir.Node) -> None:
        base = self.path(iterable)
        if var and base is not None:
            self.locals[var] = base + "[]"

    def read(self, root: ir.Node) -> None:
        for node in ir.walk(root):
            if isinstance(node, ir.Comp):
                self.bind(node.var, node.iterable)
            elif isinstance(node, ir.Compare) and node.op in ("==", "!=", "in", "not in"):
                pairs = [(node.left, node.right)]
                if node.op in ("==", "!="):
                    pairs.append((node.right, node.left))
                for fact, other in pairs:
                    keys = [self.path(fact)]
                    if isinstance(fact, ir.Field):
                        keys.append(_field_key(fact.obj.t, fact.name))
                    for key in keys:
                        if key is not None:
                            self.out.setdefault(key, set()).update(self.values(other))


def field_literals(rs: Ruleset, params: Mapping[str, Any]) -> dict[str, set[str]]:
    """The strings the rules compare each fact with.

    Keyed by fact path (``[]`` for list items) and by ``record:field`` (:func:`leaf_keys`).
    """
    assert rs.ir is not None
    r = _Reader(rs, params)
    roots: list[ir.Node] = [v.node for v in rs.ir.values.values()]
    roots += [f.node for f in rs.ir.functions.values()]
    roots += [n for n in rs.ir.amounts.values() if n is not None]
    for rule in rs.ir.all_rules():
        roots += [rule.when] if rule.when is not None else []
        roots += list(rule.reasons) + [n for _, n in rule.with_values]
    for g in rs.ir.groups.values():
        if g.iterable is None:
            continue
        base = r.path(g.iterable)
        item = base + "[]" if base else None
        # a table's item: the local its rules read it by, and the table names it is matched to
        for table in g.tables:
            for rule in table.rules:
                for n in [rule.when, *rule.reasons]:
                    for x in ir.walk(n) if n is not None else ():
                        if isinstance(x, ir.Ref) and x.kind == "local" and item \
                                and x.var not in r.locals:
                            r.locals[x.var] = item
        if item is not None:
            r.out.setdefault(item, set()).update(t.name for t in g.tables)
    # comprehensions bind their locals before the comparisons inside them are read
    for root in roots:
        for node in ir.walk(root):
            if isinstance(node, ir.Comp):
                r.bind(node.var, node.iterable)
    for root in roots:
        r.read(root)
    return r.out
