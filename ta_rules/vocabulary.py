"""The facts vocabulary as data: records, fields, types, code sets and constraints.

A vocabulary says what a facts document may hold (spec section 2). It is written in YAML
beside the rules (``trade-assurance.vocabulary.yaml``) and read by
:mod:`ta_rules.rulesets.vocabulary_load`; this module holds only the frozen data, so the
facts layer (:mod:`ta_rules.facts`) builds its models from it without knowing YAML.

Field types are written as text: ``boolean``, ``integer``, ``decimal``, ``text``, ``date``,
``code`` (a free code), ``code[SET]`` (a code of a declared code set), ``money[DIM]`` (money
in a currency dimension such as ``contract``) or ``money[USD]`` (a fixed currency),
``list[ITEM]`` and the name of a record; a trailing ``?`` allows null.

Codes: every code-valued fact (and code-valued parameter) must match :data:`CODE_PATTERN`:
ASCII letters and digits, words joined by ``_``, ``-`` or ``.``; no spaces, no control or
invisible characters. A free code that equals a known code of its field up to letter case is
refused (``"tt"`` when ``TT`` is known), so one code is never spelled two ways.
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ta_rules.errors import Location
from ta_rules.texts import PolicyText

__all__ = [
    "CODE_MAX_LENGTH",
    "CODE_PATTERN",
    "CodeSet",
    "Dimension",
    "ExactlyOneOf",
    "FieldDef",
    "FieldType",
    "RecordDef",
    "Vocabulary",
    "attribute",
    "check_code",
    "parse_field_type",
]

#: The one pattern a code must match (documented in docs/policy-writing.md).
CODE_PATTERN: Final = r"^[A-Za-z0-9]+(?:[_.\-][A-Za-z0-9]+)*$"
CODE_MAX_LENGTH: Final = 100
_CODE_RE: Final = re.compile(CODE_PATTERN)

SCALARS: Final = frozenset({"boolean", "integer", "decimal", "text", "date", "code"})


def check_code(value: str, known: frozenset[str] = frozenset()) -> str:
    """Check one code; ``known`` are the codes of its field (for the letter-case check).

    Raises:
        ValueError: Saying what is wrong (and, for a case variant, which code was meant).
    """
    if value in known:  # the known codes are checked when the vocabulary is read
        return value
    if len(value) > CODE_MAX_LENGTH:
        raise ValueError(f"a code has at most {CODE_MAX_LENGTH} characters, found "
                         f"{len(value)}")
    if not _CODE_RE.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not a code: letters and digits joined by "
                         "'_', '-' or '.', with no spaces or other characters")
    if known:
        folded = _folded(known).get(value.casefold())
        if folded is not None:
            raise ValueError(f"{value!r} is not a known code; did you mean {folded!r}?")
    return value


@functools.lru_cache(maxsize=256)
def _folded(known: frozenset[str]) -> dict[str, str]:
    return {k.casefold(): k for k in sorted(known)}


@dataclasses.dataclass(frozen=True)
class FieldType:
    """A parsed field type.

    Attributes:
        base: ``boolean``, ``integer``, ``decimal``, ``text``, ``date``, ``code``, ``money``,
            ``list`` or ``record``.
        nullable: Whether null is allowed.
        arg: The code set (``code[ground]``), currency (``money[USD]``, ``money[contract]``)
            or record name (``record``).
        item: For lists, the item type.
    """

    base: str
    nullable: bool = False
    arg: str | None = None
    item: FieldType | None = None

    def __str__(self) -> str:
        if self.base == "list" and self.item is not None:
            text = f"list[{self.item}]"
        elif self.base == "record":
            text = str(self.arg)
        elif self.arg is not None:
            text = f"{self.base}[{self.arg}]"
        else:
            text = self.base
        return text + ("?" if self.nullable else "")


_TYPE_RE: Final = re.compile(r"^(?P<base>[a-z_][a-z0-9_]*)"
                             r"(?:\[(?P<arg>[^\[\]]+|[a-z_]+\[[^\[\]]+\])\])?(?P<null>\?)?$")


def parse_field_type(text: str) -> FieldType:
    """Parse a field type such as ``date?``, ``money[contract]``, ``list[payment]``.

    Record names are not checked here (a vocabulary checks them against its records).

    Raises:
        ValueError: When the text is not a type.
    """
    m = _TYPE_RE.match(text.strip())
    if m is None:
        raise ValueError(f"cannot read the type {text!r}")
    base, arg, null = m["base"], m["arg"], bool(m["null"])
    if base == "list":
        if arg is None:
            raise ValueError("a list type names its items: list[ITEM]")
        item = parse_field_type(arg)
        if item.base == "list":
            raise ValueError("lists of lists are not supported")
        return FieldType("list", null, None, item)
    if base == "money":
        if arg is None:
            raise ValueError("a money type names its currency: money[USD] or money[DIMENSION]")
        return FieldType("money", null, arg)
    if base == "code":
        return FieldType("code", null, arg)
    if arg is not None:
        raise ValueError(f"the type {base!r} takes no argument")
    if base == "string":
        base = "text"
    if base in SCALARS:
        return FieldType(base, null)
    return FieldType("record", null, base)


@dataclasses.dataclass(frozen=True)
class CodeSet:
    """A set of codes.

    Attributes:
        name: The set's name (``ground``).
        codes: The codes, in the order written.
        closed: Closed sets allow only their codes; open sets allow any code and use theirs
            to refuse case variants ("did you mean").
        doc: What the codes mean.
    """

    name: str
    codes: tuple[str, ...]
    closed: bool = True
    doc: str | None = None


@dataclasses.dataclass(frozen=True)
class Dimension:
    """A currency dimension: money fields of ``money[NAME]`` share the currency at ``source``.

    Attributes:
        name: The dimension's name (``contract``).
        source: The dotted path of the money field whose currency it is.
        label: How messages name it (``the contract currency``).
    """

    name: str
    source: tuple[str, ...]
    label: str


@dataclasses.dataclass(frozen=True)
class FieldDef:
    """One field of a record.

    Attributes:
        name: The field's key in the document.
        type: Its type.
        required: Whether the document must give it (else ``default`` applies).
        default: The default (plain data: ``None``, a boolean, a number, or money as
            ``{amount, currency}`` where the currency may name a dimension).
        doc: What it means.
        min_length: Least number of items (lists) or characters (text).
        max_length: Greatest number of items (lists) or characters (text, codes).
        minimum: Least value (integers, decimals), inclusive.
        maximum: Greatest value (integers, decimals), inclusive.
        greater_than: Values must be greater than this (decimals, integers).
        at_most_one: For lists of records: (field, value) that at most one item may have.
        location: Where the field is declared (its key in the vocabulary file), when read
            from a file; not part of the field's identity.
        sensitive: The value is personal or confidential: a decision log stores it as a
            keyed digest, never in clear (see docs/decision-log.md).
    """

    name: str
    type: FieldType
    required: bool = True
    default: Any = None
    doc: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    item_max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    greater_than: int | None = None
    at_most_one: tuple[str, str] | None = None
    sensitive: bool = False
    location: Location | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclasses.dataclass(frozen=True)
class ExactlyOneOf:
    """Exactly one of these fields of a record is given (not null)."""

    fields: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RecordDef:
    """A record: named fields and constraints between them (and where it is declared)."""

    name: str
    fields: tuple[FieldDef, ...]
    doc: str | None = None
    exactly_one_of: tuple[ExactlyOneOf, ...] = ()
    location: Location | None = dataclasses.field(default=None, compare=False, repr=False)

    @functools.cached_property
    def by_name(self) -> Mapping[str, FieldDef]:
        """The fields by name."""
        return {f.name: f for f in self.fields}


@dataclasses.dataclass(frozen=True)
class Vocabulary:
    """A whole vocabulary.

    Attributes:
        name: Its name, as rule files refer to it (``vocabulary: trade-assurance``).
        root: The record a facts document is.
        records: Every record, by name.
        code_sets: Every code set, by name.
        dimensions: Currency dimensions, by name.
        doc: What it describes.
        source: The file it came from (and those it extends), for messages.
        extends: The name of the vocabulary it extends, if any.
        texts: The files it was read from, its bases' first
            (:class:`ta_rules.texts.PolicyText`): part of a ruleset's identity.
    """

    name: str
    root: str
    records: tuple[RecordDef, ...]
    code_sets: tuple[CodeSet, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    doc: str | None = None
    source: str = "<vocabulary>"
    extends: str | None = None
    texts: tuple[PolicyText, ...] = dataclasses.field(default=(), compare=False, repr=False)

    def __hash__(self) -> int:
        return self._hash

    @functools.cached_property
    def _hash(self) -> int:
        # defaults are plain data (money defaults are mappings): hash the written form
        return hash(repr((self.name, self.root, self.records, self.code_sets,
                          self.dimensions)))

    @functools.cached_property
    def record_map(self) -> Mapping[str, RecordDef]:
        """The records by name."""
        return {r.name: r for r in self.records}

    @functools.cached_property
    def code_map(self) -> Mapping[str, CodeSet]:
        """The code sets by name."""
        return {c.name: c for c in self.code_sets}

    @functools.cached_property
    def dimension_map(self) -> Mapping[str, Dimension]:
        """The currency dimensions by name."""
        return {d.name: d for d in self.dimensions}

    def has_path(self, path: Sequence[str]) -> bool:
        """Whether a document path (list items passed through, indexes left out) is a field."""
        return self._walk(path, through_lists=True) is not None

    def field_at(self, path: Sequence[str], *, through_lists: bool = False) -> FieldDef | None:
        """The field at a dotted path from the root, or None.

        Only records are passed through, unless ``through_lists``: then a list of records
        passes through to its record (``payments.amount``).
        """
        return self._walk(path, through_lists=through_lists)

    def _walk(self, path: Sequence[str], *, through_lists: bool) -> FieldDef | None:
        record = self.record_map.get(self.root)
        found: FieldDef | None = None
        for part in path:
            if record is None:
                return None
            found = record.by_name.get(part)
            if found is None:
                return None
            t = found.type
            while through_lists and t.base == "list" and t.item is not None:
                t = t.item
            record = self.record_map.get(str(t.arg)) if t.base == "record" else None
        return found

def attribute(obj: str, name: str) -> str:
    """Python source reading field ``name`` of ``obj``, for code generated from a vocabulary.

    A field may be named as a Python keyword (``return``, ``class``, ``from``), which
    ``obj.return`` cannot say: those are read with ``getattr``.
    """
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"{obj}.{name}"
    return f"getattr({obj}, {name!r})"
