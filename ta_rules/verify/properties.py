"""Properties of a ruleset, written by policy writers beside the rules, and their meaning.

A properties file is ``properties/<ruleset name>.yaml`` in the folder of the rule files::

    ruleset: trade-assurance
    properties:
      - id: refund-within-order-amount
        doc: The refund never exceeds the order amount.
        expect: max_refund <= contract.order_amount
      - id: covered-pays-something
        when: outcome == "covered"
        expect: max_refund > 0
      - id: suspended-supplier-denied
        versions: ">=2025.1"                   # or a list: [2025.1, 2026.1]
        when: supplier_suspended
        expect: outcome == "denied"
    fixed: [contract.category, supplier]      # facts --why-not never changes

A property with ``versions`` is checked only against the versions it names: a list of
versions, or a range of comparisons joined by commas (``">=2017.12, <2026.1"``; versions
compare part by part as numbers). Against a version it applies to, a name that version does
not know is still an error.

Expressions are the rule language (:mod:`ta_rules.rulesets._expr`) over the verdict
(``outcome``, ``max_refund``, ``coverage_cap``, ``reasons`` and ``codes``: the codes
given), the facts, the ruleset's values and parameters, and its groups' reasons
(``gates.denial``). :class:`PropertyEncoder` gives their z3 meaning over a
:class:`World`: symbolic for the solver, or concrete (the engine's verdict and values)
to re-check an answer.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import z3

from ta_rules.errors import TaRulesError
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets._types import T
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.resolve import KINDS
from ta_rules.verify.encode import const_sym
from ta_rules.verify.values import FALSE, TRUE, Strings, Sym, Unsupported, eq, ite, truth

__all__ = ["Properties", "Property", "PropertyEncoder", "PropertyError", "Versions", "World",
           "load_properties", "property_literals"]

_VERDICT_NAMES: Final = ("outcome", "max_refund", "coverage_cap", "reasons", "codes")


class PropertyError(TaRulesError):
    """A properties file that cannot be read, or a property that cannot be encoded."""


_VERSION: Final = re.compile(r"[0-9]+(\.[0-9]+)*")
_COMPARISON: Final = re.compile(r"\s*(>=|<=|==|!=|>|<)?\s*([0-9]+(?:\.[0-9]+)*)\s*")
_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclasses.dataclass(frozen=True)
class Versions:
    """The versions a property applies to: a list of versions, or a range.

    Example:
        >>> Versions.parse(">=2017.12, <2026.1").includes("2025.1")
        True
        >>> Versions.parse(["2025.1"]).includes("2017.12")
        False
    """

    text: str
    exact: frozenset[str] | None = None
    bounds: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @classmethod
    def parse(cls, raw: str | list[str]) -> Versions:
        """Read ``versions:``.

        Raises:
            ValueError: Not a list of versions nor a range of comparisons.
        """
        if isinstance(raw, list):
            bad = [v for v in raw if not isinstance(v, str) or not _VERSION.fullmatch(v)]
            if bad or not raw:
                raise ValueError(f"a list of versions such as [\"2025.1\"], found {raw!r}")
            return cls(", ".join(raw), exact=frozenset(raw))
        bounds = []
        for part in raw.split(","):
            m = _COMPARISON.fullmatch(part)
            if m is None:
                raise ValueError(f"a version range such as \">=2017.12, <2026.1\", found "
                                 f"{raw!r}")
            bounds.append((m[1] or "==", _version_key(m[2])))
        return cls(raw, bounds=tuple(bounds))

    def includes(self, version: str) -> bool:
        """Whether ``version`` is one of these."""
        if self.exact is not None:
            return version in self.exact
        key = _version_key(version)
        return all(_OPERATORS[op](key, bound) for op, bound in self.bounds)


@dataclasses.dataclass(frozen=True)
class Property:
    """One property: ``when`` (optional) implies ``expect``, for ``versions`` (None: all)."""

    id: str
    expect: str
    when: str | None = None
    doc: str | None = None
    source: str = ""
    versions: Versions | None = None

    def applies_to(self, version: str) -> bool:
        """Whether the property is checked against this version."""
        return self.versions is None or self.versions.includes(version)

    def text(self) -> str:
        """The property as one line."""
        return f"{self.when} implies {self.expect}" if self.when else self.expect


@dataclasses.dataclass(frozen=True)
class Properties:
    """A properties file: the properties and the facts that cannot change."""

    properties: tuple[Property, ...]
    fixed: tuple[str, ...]
    source: str


def _properties_path(rs: Ruleset) -> tuple[Path | Any, str]:
    if rs.rules_folder is not None:  # beside the rule file, wherever it was read from
        where = Path(rs.rules_folder) / "properties" / f"{rs.name}.yaml"
        return where, str(where)
    src = Path(rs.source)
    if src.is_file():
        return src.parent / "properties" / f"{rs.name}.yaml", \
            str(src.parent / "properties" / f"{rs.name}.yaml")
    # a bundled ruleset: read from the installed package
    return files("ta_rules") / "rules" / "properties" / f"{rs.name}.yaml", \
        f"rules/properties/{rs.name}.yaml"


def load_properties(rs: Ruleset) -> Properties:
    """The properties declared for a ruleset (an empty set when there is no file).

    Raises:
        PropertyError: For a file that is not a valid properties file.
    """
    from ta_rules._files import FileRefused, read_guarded
    from ta_rules.rulesets._yaml import MAX_BYTES, load_yaml

    where, shown = _properties_path(rs)
    try:
        if isinstance(where, Path):  # beside the rule file: read as the rule file was
            content = read_guarded(where, max_bytes=MAX_BYTES, folder=where.parent.parent,
                                   what="properties file")
        else:
            content = where.read_bytes()
    except FileRefused as exc:
        if exc.code == "file.missing":
            return Properties((), (), shown)
        raise PropertyError(f"{shown}: {exc.reason}") from None
    except (FileNotFoundError, NotADirectoryError):
        return Properties((), (), shown)
    except OSError as exc:
        raise PropertyError(f"{shown}: cannot read: {exc}") from None
    doc, problems = load_yaml(content, shown)
    if doc is None or problems:
        raise PropertyError(f"{shown}: " + "; ".join(str(p) for p in problems))
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("properties", []), list):
        raise PropertyError(f"{shown}: expected a mapping with a list 'properties'")
    unknown = set(data) - {"ruleset", "properties", "fixed"}
    if unknown:
        raise PropertyError(f"{shown}: unknown key(s) {', '.join(sorted(unknown))}")
    props = []
    for i, item in enumerate(data.get("properties") or []):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) \
                or not isinstance(item.get("expect"), str) \
                or set(item) - {"id", "expect", "when", "doc", "versions"}:
            raise PropertyError(f"{shown}: properties[{i}]: expected id, expect and "
                                "optionally when, doc (strings) and versions")
        line = doc.location(("properties", i), key=False).line
        props.append(Property(item["id"], item["expect"], item.get("when"), item.get("doc"),
                              f"{shown}:{line}", _versions(doc, ("properties", i, "versions"))))
    fixed = data.get("fixed") or []
    if not isinstance(fixed, list) or not all(isinstance(f, str) for f in fixed):
        raise PropertyError(f"{shown}: fixed must be a list of fact paths")
    return Properties(tuple(props), tuple(fixed), shown)


def _versions(doc: Any, path: tuple[str | int, ...]) -> Versions | None:
    """``versions:`` of a property, read as written (``2017.10`` is not ``2017.1``)."""
    raw = doc.data_at(path)
    if raw is None:
        return None
    if isinstance(raw, list):
        raw = [doc.plain_non_string((*path, k)) or v for k, v in enumerate(raw)]
    else:
        raw = doc.plain_non_string(path) or raw
    try:
        return Versions.parse(raw if isinstance(raw, list) else str(raw))
    except ValueError as exc:
        raise PropertyError(f"{doc.location(path)}: versions: {exc}") from None


@dataclasses.dataclass
class World:
    """What a property can name: the verdict, facts, values, parameters, groups."""

    outcome: Sym
    max_refund: Sym
    coverage_cap: Sym
    reasons: list[Any]
    facts: Mapping[str, Sym]
    value: Callable[[str], Sym]
    group: Callable[[str], list[Any]]
    params: Mapping[str, Any]
    ruleset: Ruleset
    strings: Strings


class PropertyEncoder:
    """The meaning of a property's expressions in a :class:`World`."""

    def __init__(self, world: World) -> None:
        self.w = world

    def holds(self, prop: Property) -> Any:
        """The property as one z3 Bool."""
        expect = truth(self.expr(_parse(prop.expect, prop)))
        if prop.when is None:
            return expect
        return z3.Implies(truth(self.expr(_parse(prop.when, prop))), expect)

    def premise(self, prop: Property) -> Any:
        """The ``when`` of a property (true without one)."""
        return TRUE if prop.when is None else truth(self.expr(_parse(prop.when, prop)))

    def expr(self, node: ex.Expr) -> Sym:
        """The Sym of one expression."""
        method = getattr(self, "x_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(f"{type(node).__name__} in a property")
        result: Sym = method(node)
        return result

    def x_Lit(self, n: ex.Lit) -> Sym:
        v = n.value
        t = T("null", nullable=True) if v is None else T(
            "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else
            "str" if isinstance(v, str) else "decimal")
        return const_sym(v, t, self.w.strings)

    def x_ListLit(self, n: ex.ListLit) -> Sym:
        items = [self.expr(i) for i in n.items]
        return Sym(T("list", item=items[0].t if items else None), items=items,
                   length=z3.IntVal(len(items)))

    def x_Name(self, n: ex.Name) -> Sym:
        w, name = self.w, n.name
        if name in _VERDICT_NAMES:
            if name == "codes" or name == "reasons":
                return Sym(T("list", item=T("reason")), entries=list(w.reasons))
            return {"outcome": w.outcome, "max_refund": w.max_refund,
                    "coverage_cap": w.coverage_cap}[name]
        if name in w.ruleset.spec.values:
            return w.value(name)
        if name in w.params:
            p = w.ruleset.parameters[name]
            return const_sym(w.params[name], p.type, w.strings)
        if name in w.facts:
            return w.facts[name]
        if name in w.ruleset.spec.groups:
            return Sym(T("list", item=T("reason")), entries=list(w.group(name)))
        raise PropertyError(f"unknown name {name!r}: not a verdict field, value, parameter, "
                            f"fact or group of {w.ruleset.name} {w.ruleset.version}")

    def x_Attr(self, n: ex.Attr) -> Sym:
        obj = self.expr(n.obj)
        if obj.entries is not None and n.name in KINDS:
            codes = {c for c, r in self.w.ruleset.reasons.items() if r.kind == n.name}
            return Sym(obj.t, entries=[e for e in obj.entries if e[1] in codes])
        if obj.t.kind == "money" and n.name in ("amount", "currency"):
            if n.name == "amount":
                return Sym(T("decimal"), obj.present, obj.val)
            return Sym(T("str"), obj.present, z3.IntVal(self.w.strings.of(obj.cur or "")))
        if obj.fields is None or n.name not in obj.fields:
            raise Unsupported(f"the field {n.name!r}")
        f = obj.fields[n.name]
        return Sym(f.t, z3.And(obj.present, f.present), f.val, f.cur, f.items, f.length,
                   f.fields, f.entries)

    def x_Unary(self, n: ex.Unary) -> Sym:
        x = self.expr(n.operand)
        if n.op == "not":
            return Sym(T("bool"), val=z3.Not(truth(x)))
        return Sym(x.t, x.present, -x.val, cur=x.cur)

    def x_Bin(self, n: ex.Bin) -> Sym:
        a, b = self.expr(n.left), self.expr(n.right)
        if n.op in ("and", "or"):
            op = z3.And if n.op == "and" else z3.Or
            return Sym(T("bool"), val=op(truth(a), truth(b)))
        if n.op == "??":
            return ite(a.present, a, b)
        x, y = _nums(a, b)
        val = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
               "/": lambda: x / y}[n.op]()
        t = a.t if a.t.kind == "money" else b.t if b.t.kind == "money" else T("decimal")
        return Sym(t, z3.And(a.present, b.present), val, cur=a.cur or b.cur)

    def x_Cmp(self, n: ex.Cmp) -> Sym:
        a, b = self.expr(n.left), self.expr(n.right)
        if n.op in ("in", "not in"):
            inside = self._member(a, b)
            return Sym(T("bool"), val=z3.Not(inside) if n.op == "not in" else inside)
        if n.op in ("==", "!="):
            same = eq(a, b)
            return Sym(T("bool"), val=same if n.op == "==" else z3.Not(same))
        if a.t.kind == b.t.kind == "money" and a.cur and b.cur and a.cur != b.cur:
            raise Unsupported(f"comparing {a.cur} and {b.cur} amounts")
        x, y = _nums(a, b)
        cmp = {"<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y,
               ">=": lambda: x >= y}[n.op]()
        return Sym(T("bool"), val=z3.And(a.present, b.present, cmp))

    def _member(self, a: Sym, coll: Sym) -> Any:
        if coll.entries is not None:
            code = z3.simplify(a.val)
            if not z3.is_int_value(code):
                raise Unsupported("'in' a reason list needs a literal code")
            text = self.w.strings.text(code.as_long())
            return z3.Or([c for c, k, _ in coll.entries if k == text] or [FALSE])
        if coll.items is None:
            raise Unsupported("'in' needs a list")
        return z3.Or([z3.And(coll.at(i), eq(a, it)) for i, it in enumerate(coll.items)]
                     or [FALSE])

    def x_IsNull(self, n: ex.IsNull) -> Sym:
        x = self.expr(n.operand)
        return Sym(T("bool"), val=x.present if n.negated else z3.Not(x.present))

    def x_Cond(self, n: ex.Cond) -> Sym:
        then = self.expr(n.then)
        other = self.expr(n.other) if n.other is not None else Sym.null(then.t)
        return ite(truth(self.expr(n.test)), then, other)

    def x_Call(self, n: ex.Call) -> Sym:
        if n.name not in ("empty", "count") or len(n.args) != 1 or n.gen is not None:
            raise Unsupported(f"{n.name}() in a property (empty(x) and count(x) are known)")
        x = self.expr(n.args[0])
        flags = [c for c, _, _ in x.entries] if x.entries is not None else \
            [x.at(i) for i in range(len(x.items or []))]
        if n.name == "empty":
            return Sym(T("bool"), val=z3.Not(z3.Or(flags or [FALSE])))
        return Sym(T("int"), val=z3.Sum([z3.If(f, 1, 0) for f in flags] or [z3.IntVal(0)]))


def _nums(a: Sym, b: Sym) -> tuple[Any, Any]:
    x, y = a.val, b.val
    if x is None or y is None:
        raise Unsupported("arithmetic or ordering of values that are not numbers")
    if z3.is_real(x) or z3.is_real(y):
        x = z3.ToReal(x) if z3.is_int(x) else x
        y = z3.ToReal(y) if z3.is_int(y) else y
    return x, y


def property_literals(props: Iterable[Property]) -> set[str]:
    """The strings the properties mention (the solver's string universe must hold them)."""
    out: set[str] = set()
    for prop in props:
        for text in (prop.expect, prop.when):
            if text is None:
                continue
            stack: list[Any] = [_parse(text, prop)]
            while stack:
                node = stack.pop()
                if isinstance(node, ex.Lit) and isinstance(node.value, str):
                    out.add(node.value)
                elif dataclasses.is_dataclass(node):
                    for f in dataclasses.fields(node):
                        v = getattr(node, f.name)
                        stack.extend(v if isinstance(v, tuple) else [v])
    return out


def _parse(text: str, prop: Property) -> ex.Expr:
    try:
        return ex.parse(text)
    except ex.ParseError as exc:
        raise PropertyError(f"{prop.source}: property {prop.id}: {exc}") from None

