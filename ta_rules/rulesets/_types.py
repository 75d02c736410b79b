"""Static types of the rule language, and the mapping from the facts model to them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from ta_rules.facts import Currency, Facts
from ta_rules.money import Money, is_known_currency

__all__ = ["T", "model_fields_types", "parse_type_name", "type_name"]


@dataclasses.dataclass(frozen=True)
class T:
    """A static type.

    Attributes:
        kind: bool, int, decimal, money, date, str, list, object, reason, null, group.
        nullable: Whether null is possible.
        dim: For money, the currency it is in (``contract``, ``USD``...; None = unknown);
            for str, the currency dimension the string names (``m.currency``).
        item: For lists, the element type.
        model: For objects, the facts model class.
        choices: For strings, the values allowed (from the facts model or parameter).
    """

    kind: str
    nullable: bool = False
    dim: str | None = None
    item: T | None = None
    model: type[BaseModel] | None = None
    choices: frozenset[str] | None = None

    def null(self, nullable: bool = True) -> T:
        """This type with nullability set."""
        return dataclasses.replace(self, nullable=nullable)

    @property
    def numeric(self) -> bool:
        """Whether this is int or decimal."""
        return self.kind in ("int", "decimal")


BOOL = T("bool")
INT = T("int")
DECIMAL = T("decimal")
STR = T("str")
DATE = T("date")
NULL = T("null", nullable=True)
REASON = T("reason")
REASONS = T("list", item=REASON)


def type_name(t: T) -> str:
    """A readable name for messages: ``money (contract currency)``, ``list of payment``."""
    if t.kind == "money":
        base = "money" + (
            " (contract currency)" if t.dim == "contract" else f" ({t.dim})" if t.dim else ""
        )
    elif t.kind == "list":
        base = "list of " + (type_name(t.item) if t.item else "anything")
    elif t.kind == "object":
        base = _model_label(t.model)
    elif t.kind == "int":
        base = "integer"
    elif t.kind == "str":
        base = "string"
    elif t.kind == "bool":
        base = "boolean"
    else:
        base = t.kind
    if t.nullable and t.kind != "null":
        base += " or null"
    return base


def _model_label(model: type[BaseModel] | None) -> str:
    return (model.__name__ if model else "object").lower()


def _from_annotation(annotation: Any, metadata: list[Any]) -> T:
    nullable = False
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        args = typing.get_args(annotation)
        return _from_annotation(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(members) != len(typing.get_args(annotation))
        inner = _from_annotation(members[0], metadata) if len(members) == 1 else T("any")
        return inner.null(nullable or inner.nullable)
    if origin is Literal:
        return T("str", choices=frozenset(str(a) for a in typing.get_args(annotation)))
    if origin is list:
        (item,) = typing.get_args(annotation)
        return T("list", item=_from_annotation(item, []))
    if annotation is bool:
        return BOOL
    if annotation is int:
        return INT
    if annotation is Decimal:
        return DECIMAL
    if annotation is str:
        return STR
    if annotation is dt.date:
        return DATE
    if annotation is Money:
        dim = next((m.code for m in metadata if isinstance(m, Currency)), None)
        return T("money", dim=dim)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return T("object", model=annotation)
    raise TypeError(f"no rule-language type for {annotation!r}")  # pragma: no cover


def model_fields_types(model: type[BaseModel]) -> dict[str, T]:
    """The rule-language type of every field of a facts model."""
    out = {}
    for name, info in model.model_fields.items():
        t = _from_annotation(info.annotation, list(info.metadata))
        if info.default is None and not info.is_required():
            t = t.null()
        out[name] = t
    return out


FACT_ROOTS: dict[str, T] = model_fields_types(Facts)

_OBJECT_TYPES: dict[str, type[BaseModel]] = {}


def _collect_models(model: type[BaseModel]) -> None:
    _OBJECT_TYPES[model.__name__.lower()] = model
    for t in model_fields_types(model).values():
        inner = t.item if t.kind == "list" and t.item else t
        if inner.kind == "object" and inner.model and inner.model.__name__.lower() \
                not in _OBJECT_TYPES:
            _collect_models(inner.model)


_collect_models(Facts)

_TYPE_RE = re.compile(r"^(?P<base>[a-z]+)(?:\[(?P<arg>[A-Za-z]+)\])?(?P<null>\?)?$")
_SCALARS = {"boolean": BOOL, "integer": INT, "decimal": DECIMAL, "string": STR, "date": DATE}


def parse_type_name(text: str) -> T:
    """Parse a declared type such as ``integer?``, ``money[USD]``, ``list[string]``, ``payment``.

    Raises:
        ValueError: For an unknown type, with the allowed forms.
    """
    m = _TYPE_RE.match(text.strip())
    if m is None:
        raise ValueError(f"cannot read the type {text!r}")
    base, arg, null = m.group("base"), m.group("arg"), bool(m.group("null"))
    t: T
    if base in _SCALARS and arg is None:
        t = _SCALARS[base]
    elif base == "money":
        if arg is not None and arg != "contract" and not is_known_currency(arg):
            raise ValueError(f"unknown currency {arg!r} in type {text!r}")
        t = T("money", dim=arg)
    elif base == "list" and arg in _SCALARS:
        t = T("list", item=_SCALARS[arg])
    elif base in _OBJECT_TYPES and arg is None:
        t = T("object", model=_OBJECT_TYPES[base])
    else:
        known = [*_SCALARS, "money[USD]", "list[string]", *sorted(_OBJECT_TYPES)]
        raise ValueError(f"unknown type {text!r}; expected one of: {', '.join(known)}")
    return t.null(null)
