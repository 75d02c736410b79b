"""Read facts vocabularies from YAML, with a positioned diagnostic for every mistake.

A vocabulary file (``NAME.vocabulary.yaml``) lies beside the rule files. The bundled one
(``ta_rules/rules/trade-assurance.vocabulary.yaml``) declares the facts of spec section 2;
a rules folder may hold its own, which ``extends:`` a bundled vocabulary: it adds records,
fields (each with a default, so documents written for the base stay valid) and codes to
code sets. A rule file names the vocabulary it is written against (``vocabulary:``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import difflib
import functools
import os
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from importlib.resources import files
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.facts import (
    RESERVED_FIELD_NAMES,
    TEXT_MAX_LENGTH,
    reserved_field_name,
    set_default_vocabulary,
)
from ta_rules.money import is_known_currency, minor_unit, parse_amount
from ta_rules.rulesets._types import T, TypeEnv, type_env, type_name
from ta_rules.rulesets._yaml import MAX_BYTES, YamlDocument, load_yaml
from ta_rules.texts import PolicyText
from ta_rules.vocabulary import (
    CODE_PATTERN,
    CodeSet,
    Dimension,
    ExactlyOneOf,
    FieldDef,
    FieldType,
    RecordDef,
    Vocabulary,
    check_code,
    parse_field_type,
)

__all__ = [
    "DEFAULT_VOCABULARY",
    "SUFFIX",
    "bundled_vocabulary",
    "check_order_date",
    "find_vocabulary",
    "is_vocabulary_file",
    "load_vocabulary_file",
    "loads_vocabulary",
    "ruleset_env",
    "vocabulary_source_file",
]

#: The file-name ending of vocabulary files.
SUFFIX: Final = ".vocabulary.yaml"
#: The vocabulary of the bundled rules.
DEFAULT_VOCABULARY: Final = "trade-assurance"

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9\-]*$", max_length=64)]
Ident = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)]
Doc = Annotated[str, Field(max_length=10_000)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


class FieldSpec(_Spec):
    """A field: its type, an optional default (then the field may be left out), limits."""

    type: Annotated[str, Field(max_length=80)]
    default: Any = None
    doc: Doc | None = None
    min_length: Count | None = None
    max_length: Count | None = None
    item_max_length: Count | None = None
    minimum: int | None = None
    maximum: int | None = None
    greater_than: int | None = None
    at_most_one: dict[Ident, Annotated[str, Field(max_length=100)]] | None = None
    #: Personal or confidential: a decision log keeps a keyed digest of it, never the value.
    sensitive: bool = False


class RecordSpec(_Spec):
    """A record: fields, and groups of fields of which exactly one is given."""

    doc: Doc | None = None
    fields: dict[Ident, FieldSpec] = Field(default_factory=dict)
    exactly_one_of: list[list[Ident]] = Field(default_factory=list)


class CodeSetSpec(_Spec):
    """A code set; ``open: true`` allows other codes too (not case variants of these)."""

    doc: Doc | None = None
    open: bool = False
    codes: Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=10_000)]


class DimensionSpec(_Spec):
    """A currency dimension: the currency of the money field at ``from``."""

    from_: Annotated[str, Field(max_length=200)] = Field(alias="from")
    label: Annotated[str, Field(max_length=200)]


class VocabularySpec(_Spec):
    """A vocabulary file."""

    vocabulary: Name
    extends: Name | None = None
    doc: Doc | None = None
    root: Ident | None = None
    currencies: dict[Ident, DimensionSpec] = Field(default_factory=dict)
    codes: dict[Ident, CodeSetSpec] = Field(default_factory=dict)
    records: dict[Ident, RecordSpec] = Field(default_factory=dict)


def is_vocabulary_file(path: str | os.PathLike[str]) -> bool:
    """Whether a file is a vocabulary (by its name), not a ruleset."""
    return os.fspath(path).endswith(SUFFIX)


class _Builder:
    """Merge a vocabulary file onto its base and check it, collecting diagnostics."""

    def __init__(self, spec: VocabularySpec, doc: YamlDocument, base: Vocabulary | None):
        self.spec, self.doc, self.base = spec, doc, base
        self.diags: list[Diagnostic] = []

    def error(self, code: str, message: str, path: tuple[str | int, ...], *, key: bool = False,
              hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, self.doc.location(path, key=key), hint))

    def build(self) -> Vocabulary:
        base = self.base
        code_sets: dict[str, CodeSet] = {c.name: c for c in base.code_sets} if base else {}
        for name, cs in self.spec.codes.items():
            for i, code in enumerate(cs.codes):
                try:
                    check_code(code)
                except ValueError as exc:
                    self.error(dc.VOCABULARY_BAD_CODE, str(exc), ("codes", name, "codes", i),
                               hint=f"codes match {CODE_PATTERN}")
            old = code_sets.get(name)
            if old is not None:
                added = tuple(c for c in cs.codes if c not in old.codes)
                code_sets[name] = CodeSet(name, old.codes + added, old.closed, old.doc)
            else:
                code_sets[name] = CodeSet(name, tuple(dict.fromkeys(cs.codes)), not cs.open,
                                          cs.doc)
        dims: dict[str, Dimension] = {d.name: d for d in base.dimensions} if base else {}
        for name, ds in self.spec.currencies.items():
            dims[name] = Dimension(name, tuple(ds.from_.split(".")), ds.label)
        records: dict[str, RecordDef] = {r.name: r for r in base.records} if base else {}
        for name, rs in self.spec.records.items():
            records[name] = self._record(name, rs, records.get(name))
        root = self.spec.root or (base.root if base else None)
        if root is None:
            self.error(dc.SCHEMA_MISSING, "missing required field 'root'", (), key=True)
            root = "facts"
        voc = Vocabulary(
            name=self.spec.vocabulary, root=root, records=tuple(records.values()),
            code_sets=tuple(code_sets.values()), dimensions=tuple(dims.values()),
            doc=self.spec.doc or (base.doc if base else None), source=self.doc.source,
            extends=self.spec.extends)
        self._check(voc)
        return voc

    def _record(self, name: str, rs: RecordSpec, old: RecordDef | None) -> RecordDef:
        fields: list[FieldDef] = list(old.fields) if old else []
        known = {f.name for f in fields}
        for fname, fs in rs.fields.items():
            path: tuple[str | int, ...] = ("records", name, "fields", fname)
            if reserved_field_name(fname):
                self.error(dc.VOCABULARY_RESERVED_NAME,
                           f"{fname!r} cannot name a field: "
                           + ("a leading underscore is not allowed" if fname.startswith("_")
                              else "every record already has it"), path, key=True,
                           hint="choose another name (reserved: names starting with _ and "
                                + ", ".join(sorted(RESERVED_FIELD_NAMES)) + ")")
                continue
            if fname in known:
                self.error(dc.VOCABULARY_REDEFINED,
                           f"{name}.{fname} is already defined by {self.spec.extends}", path,
                           key=True, hint="an extension adds fields; it cannot change them")
                continue
            if old is not None and "default" not in fs.model_fields_set:
                self.error(dc.VOCABULARY_REQUIRED_FIELD,
                           f"{name}.{fname} is added to {self.spec.extends}'s record {name} "
                           "without a default, so documents written for it would be refused",
                           path, key=True, hint="give it a default (null, false, ...)")
            try:
                ftype = parse_field_type(fs.type)
            except ValueError as exc:
                self.error(dc.VOCABULARY_BAD_TYPE, str(exc), (*path, "type"))
                continue
            fields.append(FieldDef(
                name=fname, type=ftype, required="default" not in fs.model_fields_set,
                default=fs.default, doc=fs.doc, min_length=fs.min_length,
                max_length=fs.max_length, item_max_length=fs.item_max_length,
                minimum=fs.minimum, maximum=fs.maximum, greater_than=fs.greater_than,
                at_most_one=next(iter(fs.at_most_one.items())) if fs.at_most_one else None,
                location=self.doc.location(path, key=True),
                sensitive=fs.sensitive))
        groups = [*(old.exactly_one_of if old else ())]
        for i, group in enumerate(rs.exactly_one_of):
            names = {f.name for f in fields}
            for j, f in enumerate(group):
                if f not in names:
                    self._unknown_field(f, names, ("records", name, "exactly_one_of", i, j))
            groups.append(ExactlyOneOf(tuple(group)))
        return RecordDef(name, tuple(fields), rs.doc or (old.doc if old else None),
                         tuple(groups), location=old.location if old else
                         self.doc.location(("records", name), key=True))

    def _unknown_field(self, name: str, names: set[str], path: tuple[str | int, ...]) -> None:
        close = difflib.get_close_matches(name, sorted(names), n=1)
        self.error(dc.VOCABULARY_UNKNOWN_FIELD, f"no field {name!r} in this record", path,
                   hint=f"did you mean {close[0]!r}?" if close else None)

    # checks of the merged vocabulary ---------------------------------------------------------
    def _check(self, voc: Vocabulary) -> None:
        if voc.root not in voc.record_map:
            self.error(dc.VOCABULARY_UNKNOWN_TYPE, f"the root record {voc.root!r} is not defined",
                       ("root",), hint=self._close(voc.root, voc.record_map))
        for name, rs in self.spec.records.items():
            record = voc.record_map[name]
            for fname in rs.fields:
                f = record.by_name.get(fname)
                if f is not None:
                    self._check_field(voc, f, ("records", name, "fields", fname))
        self._check_recursion(voc)
        for name, ds in self.spec.currencies.items():
            source = voc.dimension_map[name].source
            target = voc.field_at(source)
            if target is None or target.type.base != "money" or target.type.nullable \
                    or target.type.arg != name:
                self.error(dc.VOCABULARY_BAD_DIMENSION,
                           f"{ds.from_!r} is not a money[{name}] field (never null) of the "
                           f"root record", ("currencies", name, "from"))
                continue
            optional = [".".join(source[:i]) for i in range(1, len(source) + 1)
                        if not _given(voc.field_at(source[:i]))]
            if optional:
                self.error(dc.VOCABULARY_BAD_DIMENSION,
                           f"{ds.from_!r} is where every document gives its {name} currency, "
                           f"but {optional[0]!r} may be left out or null (it has a default "
                           "or a '?' type)", ("currencies", name, "from"),
                           hint="read the currency from a field that is required and never "
                                "null all the way from the root")

    def _check_recursion(self, voc: Vocabulary) -> None:
        """A record may not contain itself, directly or through other records.

        A facts document is a finite tree whose every record the models, the compiler and
        the schema expand; a record that holds itself has no end. One depth-first walk of
        the records finds every circle; each is reported at a field of this file on it.
        """
        def refs(record: str) -> list[tuple[str, str]]:
            out = []
            for f in voc.record_map[record].fields:
                t = f.type.item if f.type.base == "list" and f.type.item else f.type
                if t.base == "record" and str(t.arg) in voc.record_map:
                    out.append((f.name, str(t.arg)))
            return out

        ours = {(name, fname) for name, rs in self.spec.records.items() for fname in rs.fields}
        state: dict[str, int] = {}  # 1: on the walk's path, 2: done
        for root in voc.record_map:
            if root in state:
                continue
            state[root] = 1
            # (record, its edges, next edge); entered[i] is the edge that led to path[i]
            path: list[tuple[str, list[tuple[str, str]], int]] = [(root, refs(root), 0)]
            entered: list[tuple[str, str] | None] = [None]
            while path:
                record, edges, i = path[-1]
                if i == len(edges):
                    state[record] = 2
                    path.pop()
                    entered.pop()
                    continue
                path[-1] = (record, edges, i + 1)
                fname, target = edges[i]
                if state.get(target) == 1:
                    start = next(k for k, step in enumerate(path) if step[0] == target)
                    ring = [*entered[start + 1:], (record, fname)]
                    self._report_circle(ring, ours)
                elif target not in state:
                    state[target] = 1
                    path.append((target, refs(target), 0))
                    entered.append((record, fname))
        if not any(d.code == dc.VOCABULARY_RECURSIVE_RECORD for d in self.diags):
            self._check_depth(voc, refs, ours)

    def _check_depth(self, voc: Vocabulary, refs: Callable[[str], list[tuple[str, str]]],
                     ours: set[tuple[str, str]]) -> None:
        """Records nest at most :data:`MAX_RECORD_DEPTH` levels below the root."""
        if voc.root not in voc.record_map:
            return
        height: dict[str, tuple[int, tuple[str, str] | None]] = {}  # levels, deepest edge
        positions: dict[str, int] = {}  # places for records in a document, itself included
        stack = [voc.root]
        while stack:  # post-order over a graph without circles
            record = stack[-1]
            pending = [t for _, t in refs(record) if t not in height]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            best: tuple[int, tuple[str, str] | None] = (1, None)
            count = 1
            for fname, target in refs(record):
                if height[target][0] + 1 > best[0]:
                    best = (height[target][0] + 1, (record, fname))
                count = min(count + positions[target], MAX_RECORD_PLACES + 1)
            height[record] = best
            positions[record] = count
        if positions[voc.root] > MAX_RECORD_PLACES:
            # a record used by several fields is expanded at each: checked at each place
            at = next(((name, fname) for name in self.spec.records for fname, _ in refs(name)
                       if (name, fname) in ours), None)
            if at is not None:
                self.error(dc.VOCABULARY_TOO_LARGE,
                           f"a document of this vocabulary has more than {MAX_RECORD_PLACES} "
                           f"places for records (records used by several fields, nested)",
                           ("records", at[0], "fields", at[1], "type"),
                           hint="use fewer record fields of the same record type, nested")
            return
        if height[voc.root][0] <= MAX_RECORD_DEPTH:
            return
        steps: list[tuple[str, str]] = []
        record = voc.root
        while (edge := height[record][1]) is not None:
            steps.append(edge)
            record = next(t for f, t in refs(record) if f == edge[1])
        at = next((step for step in steps[MAX_RECORD_DEPTH - 1:] if step in ours),
                  next((step for step in steps if step in ours), None))
        if at is None:
            return
        self.error(dc.VOCABULARY_TOO_DEEP,
                   f"records nest {height[voc.root][0]} levels deep below {voc.root!r} "
                   f"through {at[0]}.{at[1]}; at most {MAX_RECORD_DEPTH}",
                   ("records", at[0], "fields", at[1], "type"))

    def _report_circle(self, ring: list[tuple[str, str] | None],
                       ours: set[tuple[str, str]]) -> None:
        """A circle of (record, field) steps, at its first field defined in this file."""
        steps = [step for step in ring if step is not None]
        at = next((k for k, step in enumerate(steps) if step in ours), None)
        if at is None:
            return  # a circle of the base alone: reported where the base is read
        steps = steps[at:] + steps[:at]
        name, fname = steps[0]
        loop = " -> ".join([*(record for record, _ in steps), name])
        self.error(dc.VOCABULARY_RECURSIVE_RECORD,
                   f"record {name!r} contains itself ({loop}): a facts document would have "
                   "no end", ("records", name, "fields", fname, "type"),
                   hint="make one of them a list of a smaller record, or a code")

    def _close(self, name: str, options: Mapping[str, Any]) -> str | None:
        close = difflib.get_close_matches(name, sorted(options), n=1)
        return f"did you mean {close[0]!r}?" if close else None

    def _check_field(self, voc: Vocabulary, f: FieldDef, path: tuple[str | int, ...]) -> None:
        t = f.type.item if f.type.base == "list" and f.type.item else f.type
        where = (*path, "type")
        if t.base == "record" and t.arg not in voc.record_map:
            self.error(dc.VOCABULARY_UNKNOWN_TYPE, f"unknown type {t.arg!r}", where,
                       hint=self._close(str(t.arg), voc.record_map)
                       or "a record name, or boolean, integer, decimal, text, date, code, "
                          "code[SET], money[CURRENCY], list[ITEM]")
            return
        if t.base == "code" and t.arg is not None and t.arg not in voc.code_map:
            self.error(dc.VOCABULARY_UNKNOWN_CODE_SET, f"no code set {t.arg!r}", where,
                       hint=self._close(str(t.arg), voc.code_map))
            return
        if t.base == "money" and t.arg not in voc.dimension_map and not is_known_currency(
                str(t.arg)):
            self.error(dc.VOCABULARY_UNKNOWN_CURRENCY,
                       f"{t.arg!r} is neither a currency dimension nor an ISO-4217 code", where,
                       hint=self._close(str(t.arg), voc.dimension_map))
            return
        if f.at_most_one is not None:
            self._check_at_most_one(voc, f, (*path, "at_most_one"))
        bounds = _bound_problems(f)
        for key, message in bounds:
            self.error(dc.VOCABULARY_BAD_CONSTRAINT, message, (*path, key))
        if not f.required:
            problem = _default_problem(voc, f.type, f.default) or (
                None if bounds else _default_out_of_bounds(f))
            if problem:
                self.error(dc.VOCABULARY_BAD_DEFAULT, f"default of {f.name}: {problem}",
                           (*path, "default"))

    def _check_at_most_one(self, voc: Vocabulary, f: FieldDef,
                           path: tuple[str | int, ...]) -> None:
        item = f.type.item
        record = voc.record_map.get(str(item.arg)) if item and item.base == "record" else None
        if record is None or f.at_most_one is None:
            self.error(dc.VOCABULARY_BAD_CONSTRAINT, "at_most_one is for lists of records", path)
            return
        fname, _ = f.at_most_one
        if fname not in record.by_name:
            self._unknown_field(fname, set(record.by_name), (*path, fname))


def _given(f: FieldDef | None) -> bool:
    """Whether every document gives the field (required, never null)."""
    return f is not None and f.required and not f.type.nullable


#: How many levels of records a document may nest, the root's included.
MAX_RECORD_DEPTH: Final = 32
#: How many places for records a document may have (a record used by several fields
#: counts at each): the facts checks are generated for each place.
MAX_RECORD_PLACES: Final = 10_000

_NUMBER_BOUNDS: Final = ("minimum", "maximum", "greater_than")


def _bound_problems(f: FieldDef) -> list[tuple[str, str]]:
    """(key, message) for each bound of ``f`` that does not apply or cannot be met."""
    out: list[tuple[str, str]] = []
    t = f.type
    item = t.item if t.base == "list" and t.item is not None else None
    number = (item or t).base in ("integer", "decimal")
    for key in _NUMBER_BOUNDS:
        if getattr(f, key) is not None and not number:
            out.append((key, f"{key} is for integers and decimals (or lists of them), "
                             f"not for {t}"))
    for key in ("min_length", "max_length"):
        if getattr(f, key) is not None and t.base not in ("list", "text"):
            out.append((key, f"{key} is for lists and text, not for {t}"))
    if f.item_max_length is not None and (item is None or item.base != "text"):
        out.append(("item_max_length", f"item_max_length is for lists of text, not for {t}"))
    if out:
        return out
    low, high = f.minimum, f.maximum
    if low is not None and high is not None and low > high:
        out.append(("minimum", f"minimum {low} is above maximum {high}: no value can be given"))
    if f.greater_than is not None and high is not None and f.greater_than >= high:
        out.append(("greater_than", f"greater_than {f.greater_than} leaves nothing up to "
                                    f"maximum {high}: no value can be given"))
    if f.min_length is not None and f.max_length is not None and f.min_length > f.max_length:
        out.append(("min_length", f"min_length {f.min_length} is above max_length "
                                  f"{f.max_length}: no value can be given"))
    return out


def _default_out_of_bounds(f: FieldDef) -> str | None:
    """Why a default of the right type is outside the field's own bounds, or None.

    A document that leaves the field out is judged with the default, so it must be a
    value a document could give (``prove`` assumes the bounds of every field).
    """
    value = f.default
    if value is None:
        return None
    if f.type.base == "integer":
        if f.minimum is not None and value < f.minimum:
            return f"default of {f.name}: {value} is below the minimum {f.minimum}"
        if f.maximum is not None and value > f.maximum:
            return f"default of {f.name}: {value} is above the maximum {f.maximum}"
        if f.greater_than is not None and value <= f.greater_than:
            return f"default of {f.name}: {value} is not greater than {f.greater_than}"
    elif f.type.base in ("text", "list"):
        what = "characters" if f.type.base == "text" else "items"
        if f.max_length is not None and len(value) > f.max_length:
            return f"default of {f.name}: {len(value)} {what}, at most {f.max_length}"
        if f.min_length is not None and len(value) < f.min_length:
            return f"default of {f.name}: {len(value)} {what}, at least {f.min_length}"
        if f.type.base == "text" and f.max_length is None and len(value) > TEXT_MAX_LENGTH:
            return f"default of {f.name}: {len(value)} characters, at most {TEXT_MAX_LENGTH}"
    return None


def _money_default_problem(voc: Vocabulary, currency: str, amount: Decimal) -> str | None:
    """Why a money default is one no document could give, or None."""
    if amount.is_signed():
        return f"money is never negative, found {amount}"
    exp = amount.as_tuple().exponent
    places = 0 if currency in voc.dimension_map else minor_unit(currency)
    if isinstance(exp, int) and -exp > places and amount != amount.quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        if currency in voc.dimension_map:
            return (f"{amount} is not a whole amount: a default in the currency dimension "
                    f"{currency} must be one in every currency (JPY has no decimal places)")
        return f"{amount} has more decimal places than {currency}'s {places}"
    return None


def _default_problem(voc: Vocabulary, t: FieldType, value: Any) -> str | None:
    if value is None:
        return None if t.nullable else f"null is not a {t}"
    ok: bool
    if t.base == "boolean":
        ok = isinstance(value, bool)
    elif t.base == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t.base == "list":
        ok = value == []
    elif t.base == "text":
        ok = isinstance(value, str)
    elif t.base == "code":
        cs = voc.code_map.get(str(t.arg)) if t.arg else None
        ok = isinstance(value, str) and (cs is None or not cs.closed or value in cs.codes)
        if ok:
            try:  # a code a document could give: the pattern, and no case variant
                check_code(value, frozenset(cs.codes) if cs else frozenset())
            except ValueError as exc:
                return f"{exc}"[:200]
    elif t.base == "money":
        ok = isinstance(value, dict) and set(value) == {"amount", "currency"} \
            and value["currency"] == t.arg
        if ok:
            try:
                amount = parse_amount(value["amount"])
            except ValueError:
                ok = False
            else:
                return _money_default_problem(voc, str(t.arg), amount)
    else:
        ok = False
    if ok:
        return None
    want = {"list": "[] (an empty list)", "money": f"{{amount, currency: {t.arg}}}"}.get(
        t.base, f"a {t.base}")
    return f"expected {want}, found {value!r}"[:200]


@dataclasses.dataclass(frozen=True)
class _Extending:
    """A vocabulary being read whose base is being looked up."""

    name: str
    extends: Location  # of its ``extends:``
    source: str
    text: str


#: The vocabularies being read, outermost first: those whose bases are being looked up.
_EXTENDING: contextvars.ContextVar[tuple[_Extending, ...]] = contextvars.ContextVar(
    "_EXTENDING", default=())


def _cycle_error(cycle: list[_Extending]) -> RulesetError:
    """Vocabularies that extend each other in a circle, each extending the next.

    Told the same way whichever file of the circle is read first: from the name that sorts
    first, at its ``extends:``.
    """
    start = min(range(len(cycle)), key=lambda i: cycle[i].name)
    ring = cycle[start:] + cycle[:start]
    loop = " -> ".join(link.name for link in [*ring, ring[0]])
    return RulesetError([Diagnostic(
        dc.VOCABULARY_EXTENDS_CYCLE, f"vocabularies extend each other in a circle: {loop}",
        ring[0].extends, "one of them must extend a vocabulary outside the circle")],
        sources={ring[0].source: ring[0].text})


def loads_vocabulary(content: str | bytes, source: str = "<string>", *,
                     folder: str | None = None) -> Vocabulary:
    """Read a vocabulary from its text.

    A base it ``extends`` is looked up in ``folder``, then among the bundled vocabularies.

    Raises:
        RulesetError: With every problem, each at its file:line:column.
    """
    doc, problems = load_yaml(content, source)
    if doc is None or problems:
        raise RulesetError(problems, sources={source: doc.text} if doc else {})
    if not isinstance(doc.data, dict):
        raise RulesetError([Diagnostic(
            dc.SCHEMA_INVALID, "a vocabulary file is a mapping with vocabulary:, records:, ...",
            Location(source, 1, 1))], sources={source: doc.text})
    from ta_rules.rulesets.load import schema_diagnostics

    try:
        spec = VocabularySpec.model_validate(doc.data)
    except ValidationError as exc:
        raise RulesetError(schema_diagnostics(exc, doc, VocabularySpec),
                           sources={source: doc.text}) from None
    base = None
    if spec.extends is not None:
        if spec.extends == spec.vocabulary:
            raise RulesetError([Diagnostic(
                dc.VOCABULARY_UNKNOWN_BASE, "a vocabulary cannot extend itself",
                doc.location(("extends",)))], sources={source: doc.text})
        chain = _EXTENDING.get()
        here = _Extending(spec.vocabulary, doc.location(("extends",)), source, doc.text)
        names = [link.name for link in chain]
        if spec.extends in names:
            raise _cycle_error([*chain[names.index(spec.extends):], here])
        token = _EXTENDING.set((*chain, here))
        try:
            base = find_vocabulary(spec.extends, folder, _exclude=source)
        finally:
            _EXTENDING.reset(token)
        if base is None:
            raise RulesetError([Diagnostic(
                dc.VOCABULARY_UNKNOWN_BASE, f"no vocabulary named {spec.extends!r} to extend",
                doc.location(("extends",)), _known_hint(spec.extends, folder))],
                sources={source: doc.text})
    builder = _Builder(spec, doc, base)
    voc = builder.build()
    if builder.diags:
        raise RulesetError(builder.diags, sources={source: doc.text})
    data = content.encode("utf-8") if isinstance(content, str) else content
    own = PolicyText("vocabulary", f"rules/{spec.vocabulary}{SUFFIX}", data)
    return dataclasses.replace(voc, texts=(*(base.texts if base else ()), own))


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, content: bytes, folder: str | None) -> Vocabulary:
    return loads_vocabulary(content, path, folder=folder)


def load_vocabulary_file(path: str | os.PathLike[str], *,
                         folder: str | os.PathLike[str] | None = None) -> Vocabulary:
    """Read one vocabulary file (cached by content), as a rule file is read.

    Args:
        path: The file.
        folder: The folder it was found in: a link out of it is refused.

    Raises:
        RulesetError: When it cannot be read (not a regular file, outside its folder, too
            large) or has any problem.
    """
    from ta_rules._files import FileRefused, read_guarded
    from ta_rules.rulesets.load import exc_as_diagnostic

    name = os.fspath(path)
    try:
        content = read_guarded(name, max_bytes=MAX_BYTES, folder=folder,
                               what="vocabulary file")
    except FileRefused as exc:
        raise exc_as_diagnostic(exc) from None
    return _load_cached(name, content, os.path.dirname(os.path.abspath(name)))


def _folder_vocabularies(folder: str) -> dict[str, str]:
    """Vocabulary files of a folder, by the name they declare (read from the first lines)."""
    out: dict[str, str] = {}
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return out
    for entry in entries:
        if not entry.endswith(SUFFIX):
            continue
        full = os.path.join(folder, entry)
        out.setdefault(_declared_name(full, folder) or entry.removesuffix(SUFFIX), full)
    return out


def _declared_name(path: str, folder: str) -> str | None:
    from ta_rules._files import FileRefused, read_guarded

    try:  # a file that cannot be read is reported when it is loaded
        head = read_guarded(path, max_bytes=65536, folder=folder, head=True).decode(
            "utf-8", "replace")
    except FileRefused:
        return None
    for line in head.splitlines():
        if line.startswith("vocabulary:"):
            return line.partition(":")[2].split("#")[0].strip().strip("\"'") or None
    return None


def _bundled() -> dict[str, bytes]:
    folder = files("ta_rules") / "rules"
    return {entry.name.removesuffix(SUFFIX): entry.read_bytes()
            for entry in folder.iterdir() if entry.name.endswith(SUFFIX)}


@functools.cache
def _bundled_vocabulary(name: str) -> Vocabulary | None:
    content = _bundled().get(name)
    if content is None:
        return None
    return loads_vocabulary(content, f"rules/{name}{SUFFIX}")


def vocabulary_source_file(source: str) -> str | None:
    """The file a vocabulary's ``source`` (or a location in it) names, when it exists.

    Bundled vocabularies name themselves ``rules/NAME.vocabulary.yaml`` in messages; this
    is the file inside the installed package.

    Example:
        >>> vocabulary_source_file("rules/trade-assurance.vocabulary.yaml").endswith(
        ...     "trade-assurance.vocabulary.yaml")
        True
    """
    if os.path.isfile(source):
        return os.path.abspath(source)
    name = source.removeprefix("rules/")
    if name.endswith(SUFFIX) and name.removesuffix(SUFFIX) in _bundled():
        return str(files("ta_rules") / "rules" / name)
    return None


def bundled_vocabulary(name: str = DEFAULT_VOCABULARY) -> Vocabulary:
    """A vocabulary that ships with ta-rules (default: that of the bundled rules)."""
    voc = _bundled_vocabulary(name)
    if voc is None:
        raise LookupError(f"no bundled vocabulary {name!r}")
    return voc


def find_vocabulary(name: str, folder: str | None = None, *,
                    _exclude: str | None = None) -> Vocabulary | None:
    """The vocabulary ``name``: from a file in ``folder`` that declares it, else bundled.

    Raises:
        RulesetError: When the file that declares it has problems.
    """
    if folder is not None:
        path = _folder_vocabularies(folder).get(name)
        if path is not None and (
                _exclude is None or os.path.abspath(path) != os.path.abspath(_exclude)):
            return load_vocabulary_file(path, folder=folder)
    return _bundled_vocabulary(name)


def _known_hint(name: str, folder: str | None) -> str | None:
    known = sorted({*_bundled(), *(_folder_vocabularies(folder) if folder else {})})
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "known: " + ", ".join(known) if known else None


def vocabulary_hint(name: str, folder: str | None) -> str | None:
    """A hint for an unknown vocabulary name."""
    return _known_hint(name, folder)



def ruleset_env(spec: Any, doc: YamlDocument, folder: str | None) -> TypeEnv:
    """The type environment of the vocabulary a ruleset file names (found beside it).

    Raises:
        RulesetError: When the vocabulary is unknown (at the file's ``vocabulary:``) or has
            problems (at the vocabulary file's lines).
    """
    name = spec.vocabulary or DEFAULT_VOCABULARY
    voc = find_vocabulary(name, folder)
    if voc is None:
        raise RulesetError([Diagnostic(
            dc.COMPILE_UNKNOWN_VOCABULARY, f"no vocabulary named {name!r}",
            doc.location(("vocabulary",)), _known_hint(name, folder))],
            sources=doc.texts())
    return type_env(voc)


def check_order_date(spec: Any, doc: YamlDocument, env: TypeEnv) -> list[Diagnostic]:
    """The paths of ``effective.order_date`` must be date facts of the vocabulary."""
    out = []
    for i, path in enumerate(spec.effective.order_date):
        t = env.path_type(path)
        if t is None or t.kind != "date":
            found = "not a fact" if t is None else f"a {type_name(t)}"
            out.append(Diagnostic(
                dc.COMPILE_BAD_ORDER_DATE, f"{path!r} is {found}; the order date is read from "
                "date facts", doc.location(("effective", "order_date", i)),
                _path_hint(path, env)))
    return out


def _path_hint(path: str, env: TypeEnv) -> str | None:
    dates: list[str] = []

    def walk(prefix: str, fields: Mapping[str, T]) -> None:
        for name, t in fields.items():
            if t.kind == "date":
                dates.append(prefix + name)
            elif t.kind == "object" and t.model is not None and prefix.count(".") < 3:
                walk(f"{prefix}{name}.", env.fields(t.model))

    walk("", env.roots)
    close = difflib.get_close_matches(path, dates, n=1)
    return f"did you mean {close[0]!r}?" if close else None


set_default_vocabulary(bundled_vocabulary)
