"""Properties of a ruleset, written by policy writers beside the rules: reading and resolving.

A properties file is ``properties/<ruleset name>.yaml`` in the folder of the rule files
(docs/verification.md). Each property's ``when`` and ``expect`` are rule-language
conditions, parsed by the parse stage and resolved by the ruleset's resolver with the
verdict's names in scope (:func:`resolve_properties`), so a mistake in one is a located
``compile.*`` diagnostic as in a rule. ``ta-rules check`` reports them; the solver
(:mod:`ta_rules.verify.properties`) proves the resolved form.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, TaRulesError
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import REASONS, T
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.parse import parse_expressions
from ta_rules.rulesets.resolve import OUTCOMES

__all__ = ["Properties", "Property", "PropertyError", "ResolvedProperty", "Versions",
           "load_properties", "loads_properties", "property_diagnostics", "property_literals",
           "resolve_properties", "verdict_types"]


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
    from ta_rules._files import FileRefused, read_guarded
    from ta_rules.rulesets._yaml import MAX_BYTES

    where, shown = _properties_path(rs)
    try:
        if isinstance(where, Path):  # beside the rule file: read as the rule file was
            content = read_guarded(where, max_bytes=MAX_BYTES, folder=where.parent.parent,
                                   what="properties file")
        else:
            content = where.read_bytes()
    except FileRefused as exc:
        if exc.code == dc.FILE_MISSING:
            return Properties((), (), shown)
        raise PropertyError(f"{shown}: {exc.reason}") from None
    except (FileNotFoundError, NotADirectoryError):
        return Properties((), (), shown)
    except OSError as exc:
        raise PropertyError(f"{shown}: cannot read: {exc}") from None
    return loads_properties(content, shown)


def loads_properties(content: bytes | str, shown: str) -> Properties:
    """Read a properties file's text (``shown``: its name in messages).

    Raises:
        PropertyError: For a text that is not a valid properties file.
    """
    from ta_rules.rulesets._yaml import load_yaml

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


def property_diagnostics(rs: Ruleset, props: Properties | None = None
                         ) -> tuple[list[Diagnostic], dict[str, str]]:
    """The problems of the properties that apply to ``rs`` (for ``ta-rules check``).

    ``props``: the properties to check (default: the file beside the rules).

    Returns:
        The diagnostics, and the text of the properties file (for carets).
    """
    from ta_rules.errors import Location

    try:
        props = load_properties(rs) if props is None else props
    except PropertyError as exc:
        where, _ = _properties_path(rs)
        return [Diagnostic(dc.PROPERTY_INVALID, str(exc), Location(str(where)))], {}
    applies = [p for p in props.properties if p.applies_to(rs.version)]
    try:
        resolve_properties(rs, applies)
    except PropertyError as exc:
        doc = applies[0].file
        return list(exc.diagnostics), doc.texts() if doc is not None else {}
    return [], {}


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
    missing = [p.id for p in items if p.id not in out]
    if missing and not problems:  # never silently: a property is resolved or said not to be
        raise PropertyError(f"properties {', '.join(missing)} could not be resolved against "
                            f"{rs.name} {rs.version}")
    if problems:
        problems.sort(key=lambda d: (d.location.source, d.location.line, d.location.column))
        raise PropertyError("; ".join(
            f"{d.location}: {d.severity}[{d.code}]: {d.message}"
            + (f" (hint: {d.hint})" if d.hint else "") for d in problems), problems)
    return out


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
