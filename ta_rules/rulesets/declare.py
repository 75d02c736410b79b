"""Declarations of a ruleset: typed parameters, reason codes, and names that clash.

This stage reads the file's ``parameters`` and ``reasons`` into :class:`Parameter` and
:class:`ReasonDef` (every default converted to its runtime form and checked against its
type) before any expression is resolved.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location
from ta_rules.facts import _date
from ta_rules.messages import placeholders
from ta_rules.money import Money, parse_amount
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets._types import STR, T, is_dimension, type_name
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.schema import RulesetSpec
from ta_rules.vocabulary import check_code

__all__ = ["Declarations", "Parameter", "ReasonDef", "declare", "parameter_value"]

_PLACEHOLDER_RE: Final = re.compile(r"[a-z_][a-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A declared policy parameter.

    Attributes:
        name: The parameter name.
        type: Its rule-language type.
        type_text: The type as written in the file.
        default: The default, in runtime form (Decimal, Money, tuple...).
        choices: Allowed string values, if restricted.
        location: Where it is declared.
        doc: Its documentation.
    """

    name: str
    type: T
    type_text: str
    default: Any
    choices: frozenset[str] | None
    location: Location
    doc: str | None


@dataclasses.dataclass(frozen=True)
class ReasonDef:
    """A declared reason code: kind, message template and the placeholders it needs."""

    code: str
    kind: str
    message: str
    placeholders: frozenset[str]
    location: Location


def _bool_value(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, found {raw!r}")
    return raw


def _int_value(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected an integer, found {raw!r}")
    if abs(raw) > 10**9:
        raise ValueError(f"integer {raw} is out of range")
    return raw


def _str_value(raw: Any, choices: frozenset[str] | None,
               code: frozenset[str] | None = None) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"expected a string, found {raw!r}")
    if choices is not None and raw not in choices:
        raise ValueError(f"expected one of {', '.join(sorted(choices))}, found {raw!r}")
    if code is not None:  # a code: the one pattern, and no case variant of a known code
        check_code(raw, code)
    return raw


def _money_value(t: T, raw: Any) -> Money:
    currency = t.dim if t.dim and not is_dimension(t.dim) else None
    if isinstance(raw, Mapping):
        m = Money.of(raw.get("amount"), str(raw.get("currency")))
        if currency and m.currency != currency:
            raise ValueError(f"expected money in {currency}, found {m.currency}")
        return m
    if currency is None:
        raise ValueError("expected {amount, currency}")
    return Money(parse_amount(raw), currency)


_SCALAR_READERS: Final[dict[str, Callable[[Any], Any]]] = {
    "bool": _bool_value, "int": _int_value, "decimal": parse_amount, "date": _date,
}


def parameter_value(
    t: T, raw: Any, choices: frozenset[str] | None, *, from_text: bool = False
) -> Any:
    """Convert a parameter value to its runtime form, checking its type.

    Raises:
        ValueError: Saying what was expected and what was found.
    """
    if from_text and isinstance(raw, str):
        raw = _text_value(t, raw)
    if raw is None:
        if t.nullable:
            return None
        raise ValueError(f"expected {type_name(t)}, found null")
    reader = _SCALAR_READERS.get(t.kind)
    if reader is not None:
        return reader(raw)
    if t.kind == "str":
        return _str_value(raw, choices, t.code)
    if t.kind == "money":
        return _money_value(t, raw)
    if t.kind == "list" and t.item is not None:
        if not isinstance(raw, list | tuple):
            raise ValueError(f"expected a list, found {raw!r}")
        return tuple(parameter_value(t.item, x, choices) for x in raw)
    raise ValueError(f"unsupported parameter type {type_name(t)}")  # pragma: no cover


def _text_value(t: T, text: str) -> Any:
    """Read command-line text for a parameter of type ``t``."""
    if t.kind in ("decimal", "money", "str", "date"):
        return None if text in ("null", "~") and t.nullable else text
    from ta_rules.rulesets._yaml import load_yaml

    doc, problems = load_yaml(text, "<--set>")
    if problems or doc is None:
        raise ValueError(f"cannot read {text!r}")
    if t.kind == "list" and isinstance(doc.data, str):
        return [part.strip() for part in doc.data.split(",") if part.strip()]
    return doc.data


def message_placeholders(template: str) -> frozenset[str] | None:
    """The template's placeholders, None unless each is a lower-case name."""
    names = placeholders(template)
    if names is None or not all(_PLACEHOLDER_RE.fullmatch(n) for n in names):
        return None
    return names


@dataclasses.dataclass
class Declarations:
    """What the declaration stage found: parameters, reasons and its diagnostics."""

    params: dict[str, Parameter]
    reasons: dict[str, ReasonDef]
    diagnostics: list[Diagnostic]


class _Declarer:
    def __init__(self, spec: RulesetSpec, doc: YamlDocument, fact_roots: Mapping[str, T],
                 parse_type: Callable[[str], T], catalog_root: str | None) -> None:
        self.spec, self.doc, self.fact_roots = spec, doc, fact_roots
        self.parse_type, self.catalog_root = parse_type, catalog_root
        self.out = Declarations({}, {}, [])

    def error(self, code: str, message: str, location: Location, hint: str | None = None) -> None:
        self.out.diagnostics.append(Diagnostic(code, message, location, hint))

    def at(self, path: Path) -> Location:
        return self.doc.offset_location(path, 0)

    def catalog(self) -> None:
        if self.spec.catalog is None:
            return
        from ta_rules.messages import shipped_locales

        if not shipped_locales(self.spec.catalog, self.catalog_root):
            self.error(dc.COMPILE_UNKNOWN_CATALOG,
                       f"no message catalog {self.spec.catalog!r} ships with ta-rules",
                       self.at(("catalog",)), "leave catalog out to show messages as written "
                       "in this file")

    def parameter(self, name: str, pspec: Any) -> None:
        path: Path = ("parameters", name)
        try:
            t = self.parse_type(pspec.type)
        except ValueError as exc:
            self.error(dc.COMPILE_BAD_TYPE, str(exc), self.at((*path, "type")))
            return
        if t.kind == "object":
            self.error(dc.COMPILE_BAD_TYPE, "parameters cannot be fact objects",
                       self.at((*path, "type")))
            return
        choices = frozenset(pspec.choices) if pspec.choices is not None else None
        if choices is not None:
            if not (t.kind == "str" or (t.item and t.item.kind == "str")):
                self.error(dc.COMPILE_BAD_TYPE, "choices are only for string parameters",
                           self.at((*path, "choices")))
            t = dataclasses.replace(t, choices=choices) if t.kind == "str" else \
                dataclasses.replace(t, item=dataclasses.replace(t.item or STR, choices=choices))
        try:
            default = parameter_value(t, pspec.default, choices)
        except ValueError as exc:
            self.error(dc.COMPILE_BAD_DEFAULT, f"default of {name}: {exc}",
                       self.at((*path, "default")), self.quote_hint((*path, "default")))
            return
        self.out.params[name] = Parameter(name, t, pspec.type, default, choices,
                                          self.doc.location(path, key=True), pspec.doc)

    def quote_hint(self, path: Path) -> str | None:
        raw = self.doc.plain_non_string(path)
        if raw is not None:
            return f"YAML reads {raw} as a {type(self.doc.data_at(path)).__name__}; " \
                   f"quote it: \"{raw}\""
        return None

    def reasons(self) -> None:
        for code, rspec in self.spec.reasons.items():
            path = ("reasons", code)
            holders = message_placeholders(rspec.message)
            if holders is None:
                self.error(dc.COMPILE_BAD_MESSAGE,
                           "message placeholders must be {name} with a lower-case name",
                           self.at((*path, "message")))
                holders = frozenset()
            self.out.reasons[code] = ReasonDef(code, rspec.kind, rspec.message, holders,
                                               self.doc.location(path, key=True))

    def clashes(self) -> None:
        spec = self.spec
        clashes: dict[str, list[str]] = {}
        for ns, names in (("parameter", spec.parameters), ("value", spec.values),
                          ("group", spec.groups), ("function", spec.functions),
                          ("fact", self.fact_roots)):
            for n in names:
                clashes.setdefault(n, []).append(ns)
        for n, kinds in clashes.items():
            reserved = n in ex.KEYWORDS or n == "outcome"
            if len(kinds) > 1 or reserved:
                users = ", ".join(kinds)
                message = (f"the name {n!r} is reserved by the rule language ({users} uses it)"
                           if reserved else f"the name {n!r} is used by more than one thing: "
                           f"{users}")
                self.error(dc.COMPILE_NAME_CLASH, message,
                           self.doc.location(_decl_path(n, kinds), key=True),
                           "rename one of them" if not reserved else f"rename the {kinds[0]}")


def _decl_path(name: str, kinds: list[str]) -> Path:
    for ns, section in (("value", "values"), ("group", "groups"), ("function", "functions"),
                        ("parameter", "parameters")):
        if ns in kinds:
            return (section, name)
    return ()


def declare(spec: RulesetSpec, doc: YamlDocument, *, fact_roots: Mapping[str, T],
            parse_type: Callable[[str], T],
            catalog_root: str | None = None) -> Declarations:
    """Read the parameters and reason codes of a file, and find clashing names."""
    d = _Declarer(spec, doc, fact_roots, parse_type, catalog_root)
    d.catalog()
    for name, pspec in spec.parameters.items():
        d.parameter(name, pspec)
    d.reasons()
    d.clashes()
    return d.out
