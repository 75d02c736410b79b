"""Read facts vocabularies from YAML, with a positioned diagnostic for every mistake.

A vocabulary file (``NAME.vocabulary.yaml``) lies beside the rule files. The bundled one
(``ta_rules/rules/trade-assurance.vocabulary.yaml``) declares the facts of spec section 2;
a rules folder may hold its own, which ``extends:`` a bundled vocabulary: it adds records,
fields (each with a default, so documents written for the base stay valid) and codes to
code sets. A rule file names the vocabulary it is written against (``vocabulary:``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.facts import set_default_vocabulary
from ta_rules.money import is_known_currency, parse_amount
from ta_rules.rulesets._types import T, TypeEnv, type_env, type_name
from ta_rules.rulesets._yaml import YamlDocument, load_yaml
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
                location=self.doc.location(path, key=True)))
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
                if f is not None and f in (voc.record_map[name].fields):
                    self._check_field(voc, f, ("records", name, "fields", fname))
        for name, ds in self.spec.currencies.items():
            target = voc.field_at(voc.dimension_map[name].source)
            if target is None or target.type.base != "money" or target.type.nullable \
                    or target.type.arg != name:
                self.error(dc.VOCABULARY_BAD_DIMENSION,
                           f"{ds.from_!r} is not a money[{name}] field (never null) of the "
                           f"root record", ("currencies", name, "from"))

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
        if not f.required:
            problem = _default_problem(voc, f.type, f.default)
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
    elif t.base == "money":
        ok = isinstance(value, dict) and set(value) == {"amount", "currency"} \
            and value["currency"] == t.arg
        if ok:
            try:
                parse_amount(value["amount"])
            except ValueError:
                ok = False
    else:
        ok = False
    if ok:
        return None
    want = {"list": "[] (an empty list)", "money": f"{{amount, currency: {t.arg}}}"}.get(
        t.base, f"a {t.base}")
    return f"expected {want}, found {value!r}"[:200]


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
        base = find_vocabulary(spec.extends, folder, _exclude=source)
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


def load_vocabulary_file(path: str | os.PathLike[str]) -> Vocabulary:
    """Read one vocabulary file (cached by content).

    Raises:
        RulesetError: When it cannot be read or has any problem.
    """
    name = os.fspath(path)
    try:
        content = Path(name).read_bytes()
    except OSError as exc:
        raise RulesetError([Diagnostic(dc.FILE_UNREADABLE,
                                       f"cannot read the file: {exc.strerror or exc}",
                                       Location(name))]) from None
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
        out.setdefault(_declared_name(full) or entry.removesuffix(SUFFIX), full)
    return out


def _declared_name(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536).decode("utf-8", "replace")
    except OSError:
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
            return load_vocabulary_file(path)
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
