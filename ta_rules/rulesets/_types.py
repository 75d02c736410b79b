"""Static types of the rule language, and the type environment of a facts vocabulary."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping

from pydantic import BaseModel

from ta_rules.facts import FactsModels, facts_models
from ta_rules.money import is_known_currency
from ta_rules.vocabulary import FieldType, Vocabulary

__all__ = ["T", "TypeEnv", "type_env", "type_name"]


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
        code: For strings that are codes, the known codes of their field (maybe none):
            such values must match the code pattern.
    """

    kind: str
    nullable: bool = False
    dim: str | None = None
    item: T | None = None
    model: type[BaseModel] | None = None
    choices: frozenset[str] | None = None
    code: frozenset[str] | None = dataclasses.field(default=None, compare=False)

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


def is_dimension(dim: str | None) -> bool:
    """Whether the currency of ``money[dim]`` is a currency dimension of the vocabulary.

    A money type names an ISO-4217 code (a fixed currency) or a dimension of the vocabulary,
    whatever the dimension is called (:meth:`TypeEnv.parse_type` refuses anything else).
    """
    return dim is not None and not is_known_currency(dim)


def type_name(t: T) -> str:
    """A readable name for messages: ``money (contract currency)``, ``list of payment``."""
    if t.kind == "money":
        base = "money" + (f" ({t.dim} currency)" if is_dimension(t.dim)
                          else f" ({t.dim})" if t.dim else "")
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
    return _RECORD_NAMES.get(model, "object") if model is not None else "object"


# record name of every facts model a TypeEnv has seen (for messages)
_RECORD_NAMES: dict[type[BaseModel], str] = {}

_TYPE_RE = re.compile(r"^(?P<base>[a-z_]+)(?:\[(?P<arg>[A-Za-z_]+(?:\[[a-z_]+\])?)\])?"
                      r"(?P<null>\?)?$")
_SCALARS = {"boolean": BOOL, "integer": INT, "decimal": DECIMAL, "string": STR, "date": DATE}


class TypeEnv:
    """The rule-language types of one vocabulary's facts.

    Attributes:
        vocabulary: The vocabulary.
        models: Its facts models.
        roots: The type of every top-level fact (``contract``, ``claim``...).
    """

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.models: FactsModels = facts_models(vocabulary)
        for model, name in self.models.record_of.items():
            _RECORD_NAMES[model] = name
        self._fields: dict[type[BaseModel], Mapping[str, T]] = {}
        self.roots: Mapping[str, T] = self.fields(self.models.root)

    def fields(self, model: type[BaseModel]) -> Mapping[str, T]:
        """The rule-language type of every field of a facts model."""
        out = self._fields.get(model)
        if out is None:
            record = self.vocabulary.record_map[self.models.record_of[model]]
            out = {}
            for f in record.fields:
                t = self._type(f.type)
                if not f.required and f.default is None:
                    t = t.null()
                out[f.name] = t
            self._fields[model] = out
        return out

    def _type(self, ft: FieldType) -> T:
        t: T
        if ft.base == "list" and ft.item is not None:
            t = T("list", item=self._type(ft.item))
        elif ft.base == "record":
            t = T("object", model=self.models.records[str(ft.arg)])
        elif ft.base == "money":
            t = T("money", dim=ft.arg)
        elif ft.base == "code":
            t = self._code(ft.arg)
        else:
            t = _BASES[ft.base]
        return t.null(ft.nullable)

    def _code(self, set_name: str | None) -> T:
        cs = self.vocabulary.code_map.get(set_name) if set_name else None
        if cs is not None and cs.closed:
            return T("str", choices=frozenset(cs.codes), code=frozenset(cs.codes))
        return T("str", code=frozenset(cs.codes) if cs else frozenset())

    def path_type(self, path: str) -> T | None:
        """The type of a dotted fact path through records (``contract.placed_on``)."""
        parts = path.split(".")
        t = self.roots.get(parts[0])
        for part in parts[1:]:
            if t is None or t.kind != "object" or t.model is None:
                return None
            t = self.fields(t.model).get(part)
        return t

    def parse_type(self, text: str) -> T:
        """Parse a declared type such as ``integer?``, ``money[USD]``, ``list[code]``, ``payment``.

        Raises:
            ValueError: For an unknown type, with the allowed forms.
        """
        m = _TYPE_RE.match(text.strip())
        if m is None:
            raise ValueError(f"cannot read the type {text!r}")
        base, arg, null = m.group("base"), m.group("arg"), bool(m.group("null"))
        t: T
        records = {r.name: r for r in self.vocabulary.records}
        if base in _SCALARS and arg is None:
            t = _SCALARS[base]
        elif base == "code" and (arg is None or arg in self.vocabulary.code_map):
            t = self._code(arg)
        elif base == "money":
            if arg is not None and arg not in self.vocabulary.dimension_map \
                    and not is_known_currency(arg):
                raise ValueError(f"unknown currency {arg!r} in type {text!r}")
            t = T("money", dim=arg)
        elif base == "list" and arg is not None and (arg in _SCALARS or arg.startswith("code")):
            t = T("list", item=self.parse_type(arg))
        elif base in records and arg is None and base != self.vocabulary.root:
            t = T("object", model=self.models.records[base])
        else:
            known = [*_SCALARS, "code", "code[SET]", "money[USD]", "list[string]",
                     *sorted(r for r in records if r != self.vocabulary.root)]
            raise ValueError(f"unknown type {text!r}; expected one of: {', '.join(known)}")
        return t.null(null)


_BASES: dict[str, T] = {"boolean": BOOL, "integer": INT, "decimal": DECIMAL, "text": STR,
                        "date": DATE}


@functools.lru_cache(maxsize=64)
def type_env(vocabulary: Vocabulary) -> TypeEnv:
    """The type environment of a vocabulary (one per vocabulary)."""
    return TypeEnv(vocabulary)
