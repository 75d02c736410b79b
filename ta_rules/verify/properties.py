"""Properties of a ruleset, written by policy writers beside the rules, and their meaning.

A properties file is ``properties/<ruleset name>.yaml`` in the folder of the rule files::

    ruleset: trade-assurance
    properties:
      - id: refund-within-order-amount
        doc: The refund never exceeds the order amount.
        expect: max_refund <= contract.order_amount
      - id: covered-pays-something
        when: outcome == "covered"
        expect: max_refund.amount > 0
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
(``gates.denial``), with the built-in functions. :func:`resolve_properties` resolves and
types them with the rule resolver, against each version they apply to (a mistake is a
located ``compile.*`` diagnostic, as in a rule); :class:`PropertyEncoder` gives the
resolved form its z3 meaning with the one expression encoder
(:class:`~ta_rules.verify.encode.ExprEncoder`) over a :class:`World`: symbolic for the
solver, or concrete (the engine's verdict and values) to re-check an answer.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import z3

from ta_rules.errors import Diagnostic, TaRulesError
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import REASONS, T
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.parse import parse_expressions
from ta_rules.rulesets.resolve import OUTCOMES
from ta_rules.verify.encode import ExprEncoder, const_sym
from ta_rules.verify.values import TRUE, Strings, Sym, Unsupported, truth

__all__ = ["Properties", "Property", "PropertyEncoder", "PropertyError", "ResolvedProperty",
           "Versions", "World", "load_properties", "property_literals", "resolve_properties",
           "verdict_types"]



class PropertyError(TaRulesError):
    """A properties file that cannot be read, or a property that does not compile."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()) -> None:
        super().__init__(message)
        self.diagnostics = tuple(diagnostics)


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
    #: Where it is written: the properties file (its YAML document) and the index in it.
    file: Any = dataclasses.field(default=None, compare=False, repr=False)
    index: int = 0

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
    from ta_rules.rulesets._yaml import load_yaml

    where, shown = _properties_path(rs)
    try:
        content = where.read_bytes()
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
                              f"{shown}:{line}", _versions(doc, ("properties", i, "versions")),
                              doc, i))
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


@dataclasses.dataclass(frozen=True)
class ResolvedProperty:
    """A property in the typed intermediate form (``when`` None: always)."""

    prop: Property
    when: ir.Node | None
    expect: ir.Node


def verdict_types(rs: Ruleset) -> dict[str, T]:
    """The types of the verdict's names a property can use."""
    amounts = rs.ir.amounts if rs.ir is not None else {}

    def amount(name: str) -> T:
        node = amounts.get(name)
        return node.t if node is not None else T("money", nullable=True)

    return {"outcome": T("str", choices=OUTCOMES), "max_refund": amount("max_refund"),
            "coverage_cap": amount("coverage_cap"), "reasons": REASONS,
            "codes": T("list", item=T("str", code=frozenset(rs.reasons)))}


def resolve_properties(rs: Ruleset, props: Properties | Iterable[Property]
                       ) -> dict[str, ResolvedProperty]:
    """Resolve properties against a ruleset, as its rules are resolved.

    Raises:
        PropertyError: With every problem as a located diagnostic (``compile.*`` codes,
            at the property's line and column).
    """
    items = props.properties if isinstance(props, Properties) else tuple(props)
    out: dict[str, ResolvedProperty] = {}
    problems: list[Diagnostic] = []
    by_doc: dict[int, list[Property]] = {}
    for prop in items:
        by_doc.setdefault(id(prop.file), []).append(prop)
    for group in by_doc.values():
        doc = group[0].file
        if doc is None:
            raise PropertyError(f"property {group[0].id} was not read from a file")
        texts = [(("properties", p.index, key), text, 0) for p in group
                 for key, text in (("when", p.when), ("expect", p.expect)) if text is not None]
        parsed = parse_expressions(doc, texts)
        nodes, diags = rs.resolve_elsewhere(doc, parsed, [path for path, _, _ in texts],
                                            verdict=verdict_types(rs))
        problems += [d for d in diags if d.severity == "error"]
        for p in group:
            expect = nodes.get(("properties", p.index, "expect"))
            when = nodes.get(("properties", p.index, "when"))
            if expect is not None and (p.when is None or when is not None):
                out[p.id] = ResolvedProperty(p, when, expect)
    if problems:
        problems.sort(key=lambda d: (d.location.source, d.location.line, d.location.column))
        raise PropertyError("; ".join(
            f"{d.location}: {d.severity}[{d.code}]: {d.message}"
            + (f" (hint: {d.hint})" if d.hint else "") for d in problems), problems)
    return out


class PropertyEncoder:
    """The meaning of resolved properties in a :class:`World`, by the one expression encoder.

    Args:
        world: The verdict, facts, values... (symbolic, or the engine's).
        resolved: The properties in the intermediate form (:func:`resolve_properties`).
    """

    def __init__(self, world: World, resolved: Mapping[str, ResolvedProperty]) -> None:
        self.w = world
        self.resolved = resolved
        rir = world.ruleset.ir
        self.x = ExprEncoder(world.strings, "", self._ref, self._group_kind,
                             lambda name: rir.functions[name] if rir else _no_function(name))

    def _ref(self, n: ir.Ref) -> Sym:
        w = self.w
        if n.kind == "verdict":
            if n.name in ("reasons", "codes"):
                return Sym(n.t, entries=list(w.reasons))
            return {"outcome": w.outcome, "max_refund": w.max_refund,
                    "coverage_cap": w.coverage_cap}[n.name]
        if n.kind == "fact":
            return w.facts[n.name]
        if n.kind == "value":
            return w.value(n.name)
        if n.kind == "param":
            return const_sym(w.params[n.name], n.t, w.strings)
        if n.kind == "group":
            return Sym(n.t, entries=list(w.group(n.name)))
        raise Unsupported(f"the name {n.name} ({n.kind}) in a property")

    def _group_kind(self, group: str, kind: str) -> Sym:
        codes = {c for c, r in self.w.ruleset.reasons.items() if r.kind == kind}
        return Sym(REASONS, entries=[e for e in self.w.group(group) if e[1] in codes])

    def _get(self, prop: Property) -> ResolvedProperty:
        got = self.resolved.get(prop.id)
        if got is None:
            raise PropertyError(f"property {prop.id} was not resolved")
        return got

    def holds(self, prop: Property) -> Any:
        """The property as one z3 Bool."""
        r = self._get(prop)
        expect = truth(self.x.expr(r.expect))
        if r.when is None:
            return expect
        return z3.Implies(truth(self.x.expr(r.when)), expect)

    def premise(self, prop: Property) -> Any:
        """The ``when`` of a property (true without one)."""
        r = self._get(prop)
        return TRUE if r.when is None else truth(self.x.expr(r.when))


def _no_function(name: str) -> ir.FunctionIR:
    raise Unsupported(f"the function {name}() of a ruleset without its intermediate form")


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

