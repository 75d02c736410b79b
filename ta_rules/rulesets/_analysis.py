"""Static analysis of conditions: find a ``when`` that can never be true.

The check is deliberately simple and sound: it splits a condition into the parts joined by
``and`` and looks for two parts that cannot both hold (``x == "a"`` and ``x == "b"``,
``x is null`` and ``x > 3``, ``flag`` and ``not flag``, ``false``). It never reports a
condition that could be true.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ta_rules.rulesets import _expr as ex

__all__ = ["canon", "contradiction"]


def canon(node: ex.Expr) -> str:
    """A position-free text form of an expression, equal for equal expressions."""
    if isinstance(node, ex.Lit):
        return repr(node.value)
    if isinstance(node, ex.Name):
        return node.name
    if isinstance(node, ex.Attr):
        return f"{canon(node.obj)}.{node.name}"
    if isinstance(node, ex.Unary):
        return f"({node.op} {canon(node.operand)})"
    if isinstance(node, ex.Bin):
        # a chain of one operator (a and b and c ...) is read as a list, not recursively:
        # it may be a thousand terms long
        terms = _chain(node, node.op)
        return "(" + f" {node.op} ".join(canon(t) for t in terms) + ")"
    if isinstance(node, ex.Cmp):
        return f"({canon(node.left)} {node.op} {canon(node.right)})"
    if isinstance(node, ex.IsNull):
        return f"({canon(node.operand)} is {'not ' if node.negated else ''}null)"
    if isinstance(node, ex.Cond):
        other = canon(node.other) if node.other is not None else "null"
        return f"(if {canon(node.test)} then {canon(node.then)} else {other})"
    if isinstance(node, ex.ListLit):
        return "[" + ", ".join(canon(i) for i in node.items) + "]"
    gen = ""
    if node.gen is not None:
        g = node.gen
        gen = f"{canon(g.elt)} for {g.var} in {canon(g.iterable)}" + (
            f" if {canon(g.cond)}" if g.cond is not None else "")
    args = ", ".join([gen] * bool(gen) + [canon(a) for a in node.args])
    return f"{node.name}({args})"


def _chain(node: ex.Expr, op: str) -> list[ex.Expr]:
    """The terms of a chain of ``op`` (``a op b op c``), in order, without recursion."""
    out: list[ex.Expr] = []
    stack = [node]
    while stack:
        top = stack.pop()
        if isinstance(top, ex.Bin) and top.op == op:
            stack.append(top.right)
            stack.append(top.left)
        else:
            out.append(top)
    return out


def _conjuncts(node: ex.Expr) -> Iterator[ex.Expr]:
    yield from _chain(node, "and")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _facts(part: ex.Expr) -> list[tuple[str, str, Any]]:
    """What one conjunct says, as (subject, relation, value) triples."""
    if isinstance(part, ex.Lit) and part.value is False:
        return [("", "false", None)]
    if isinstance(part, ex.IsNull):
        return [(canon(part.operand), "notnull" if part.negated else "null", None)]
    if isinstance(part, ex.Unary) and part.op == "not":
        inner = part.operand
        if isinstance(inner, ex.Name | ex.Attr):
            return [(canon(inner), "bool", False)]
        if isinstance(inner, ex.IsNull):
            return [(canon(inner.operand), "null" if inner.negated else "notnull", None)]
        return [(canon(inner), "bool", False)]
    if isinstance(part, ex.Name | ex.Attr | ex.Call):
        return [(canon(part), "bool", True)]
    if isinstance(part, ex.Cmp):
        left, right, op = part.left, part.right, part.op
        if isinstance(left, ex.Lit) and not isinstance(right, ex.Lit):
            left, right, op = right, left, _FLIP.get(op, op)
        if isinstance(right, ex.Lit) and not isinstance(left, ex.Lit):
            subject = canon(left)
            if right.value is None:
                return [(subject, "null" if op == "==" else "notnull", None)] \
                    if op in ("==", "!=") else []
            out: list[tuple[str, str, Any]] = [(subject, op, right.value)]
            if op in ("==", "<", "<=", ">", ">="):
                out.append((subject, "notnull", None))
            return out
        if op in ("<", "<=", ">", ">=") and not isinstance(left, ex.Lit):
            # a comparison needs both sides present
            return [(canon(left), "notnull", None), (canon(right), "notnull", None),
                    (canon(part), "bool", True)]
        return [(canon(part), "bool", True)]
    return [(canon(part), "bool", True)]


def _clash(a: tuple[str, str, Any], b: tuple[str, str, Any]) -> bool:
    _, ra, va = a
    _, rb, vb = b
    pair = {ra, rb}
    if pair == {"null", "notnull"}:
        return True
    if ra == rb == "bool":
        return bool(va != vb)
    if ra == rb == "==":
        return bool(va != vb)
    if pair == {"==", "!="}:
        return bool(va == vb)
    numeric = all(isinstance(v, int | float) or type(v).__name__ == "Decimal" for v in (va, vb))
    if numeric and not (isinstance(va, bool) or isinstance(vb, bool)):
        return _range_clash(ra, va, rb, vb)
    return False


def _range_clash(ra: str, va: Any, rb: str, vb: Any) -> bool:
    def bounds(rel: str, v: Any) -> tuple[Any, bool, Any, bool] | None:
        # (low, low_inclusive, high, high_inclusive); None = unbounded
        if rel == "==":
            return (v, True, v, True)
        if rel == ">":
            return (v, False, None, False)
        if rel == ">=":
            return (v, True, None, False)
        if rel == "<":
            return (None, False, v, False)
        if rel == "<=":
            return (None, False, v, True)
        return None

    ba, bb = bounds(ra, va), bounds(rb, vb)
    if ba is None or bb is None:
        return False
    lows = [(b[0], b[1]) for b in (ba, bb) if b[0] is not None]
    highs = [(b[2], b[3]) for b in (ba, bb) if b[2] is not None]
    if not lows or not highs:
        return False
    low = max(lows, key=lambda x: (x[0], not x[1]))
    high = min(highs, key=lambda x: (x[0], x[1]))
    if low[0] > high[0]:
        return True
    return bool(low[0] == high[0] and not (low[1] and high[1]))


#: For each relation, the relations a fact with it can clash with (see :func:`_clash`).
_CLASHES_WITH: dict[str, tuple[str, ...]] = {
    "null": ("notnull",), "notnull": ("null",), "bool": ("bool",),
    "==": ("==", "!=", "<", "<=", ">", ">="), "!=": ("==",),
    "<": ("==", ">", ">="), "<=": ("==", ">", ">="),
    ">": ("==", "<", "<="), ">=": ("==", "<", "<="),
}
_LOWER = frozenset({">", ">="})
_UPPER = frozenset({"<", "<="})


def _numeric(v: Any) -> bool:
    return not isinstance(v, bool) and (isinstance(v, int | float)
                                        or type(v).__name__ == "Decimal")


def contradiction(node: ex.Expr) -> tuple[ex.Expr, ex.Expr] | None:
    """Two parts of an ``and`` chain that cannot both hold (or a literal false), if any.

    Linear in the length of the chain: a part is held only against what was said about its
    subject with a relation it can clash with, and of the bounds of one relation only the
    tightest is kept (if a looser one clashes, so does it).
    """
    # subject -> relation -> [(fact, part)]
    said: dict[str, dict[str, list[tuple[tuple[str, str, Any], ex.Expr]]]] = {}
    seen: set[tuple[str, str, Any]] = set()
    for part in _conjuncts(node):
        for fact in _facts(part):
            subject, rel, value = fact
            if rel == "false":
                return part, part
            if fact in seen:
                continue
            seen.add(fact)
            by_rel = said.setdefault(subject, {})
            for other in _CLASHES_WITH.get(rel, ()):
                for earlier, where in by_rel.get(other, ()):
                    if _clash(earlier, fact):
                        return where, part
            if rel in _LOWER | _UPPER:
                if not _numeric(value):
                    continue  # never clashes (see _clash)
                kept = by_rel.get(rel)
                tighter = kept is None or (value > kept[0][0][2] if rel in _LOWER
                                           else value < kept[0][0][2])
                if tighter:
                    by_rel[rel] = [(fact, part)]
                continue
            by_rel.setdefault(rel, []).append((fact, part))
    return None
