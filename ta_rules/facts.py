"""Facts models built from a vocabulary: what one claim's facts document may say.

The shape of the document (spec section 2) is data, a :class:`~ta_rules.vocabulary.Vocabulary`
read from YAML beside the rules; this module turns it into pydantic models (one per record,
built once per vocabulary) that are frozen, refuse unknown fields, and are strict: a boolean
is not a number, a number is not a date, a float is never money. :func:`parse_facts` turns a
mapping into :class:`Facts` or raises :class:`~ta_rules.errors.FactsError` naming every
offending path.

Rulesets refer to facts by dotted paths (``contract.order_amount``); money fields carry a
currency dimension (``money[contract]``) or a fixed currency (``money[USD]``), so the
compiler can refuse a comparison between contract-currency money and USD money, and the
facts are checked to hold money in the currency each field requires.

Example:
    >>> from ta_rules.facts import parse_facts
    >>> parse_facts({"as_of": "2015-03-09"})
    Traceback (most recent call last):
    ...
    ta_rules.errors.FactsError: invalid facts (6 problem(s)): contract: field required; ...
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import reprlib
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    create_model,
    model_validator,
)

from ta_rules.errors import FactProblem, FactsError
from ta_rules.money import Money, is_known_currency, parse_amount, parse_decimal
from ta_rules.vocabulary import (
    CODE_MAX_LENGTH,
    CODE_PATTERN,
    FieldDef,
    FieldType,
    Vocabulary,
    attribute,
    check_code,
)

__all__ = [
    "RESERVED_FIELD_NAMES",
    "Currency",
    "Facts",
    "FactsModels",
    "facts_models",
    "parse_facts",
    "read_date",
    "reserved_field_name",
    "set_default_vocabulary",
]

#: The earliest and latest dates a facts document may hold.
MIN_DATE: Final = dt.date(1900, 1, 1)
MAX_DATE: Final = dt.date(2999, 12, 31)
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
#: Characters a text field holds at most unless its vocabulary says otherwise.
TEXT_MAX_LENGTH: Final = 20_000


@dataclasses.dataclass(frozen=True)
class Currency:
    """Marks a money field with the currency it must be in.

    Attributes:
        code: A currency dimension of the vocabulary (``"contract"``: the currency of
            ``contract.order_amount``), or an ISO-4217 code such as ``"USD"``.
    """

    code: str


def _in_range(day: dt.date) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"date {day} is outside the supported range {MIN_DATE}..{MAX_DATE}")
    return day


@functools.lru_cache(maxsize=8192)
def _iso_date(value: str) -> dt.date:
    if len(value) != 10 or not _DATE_RE.fullmatch(value):
        raise ValueError(f"expected an ISO date YYYY-MM-DD, found {value[:40]!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a real calendar date") from None
    return _in_range(day)


def _date(value: Any) -> dt.date:
    if isinstance(value, str):
        return _iso_date(str(value))
    if isinstance(value, dt.datetime):
        raise ValueError(f"expected a calendar date (YYYY-MM-DD), found a date and time {value}")
    if not isinstance(value, dt.date):
        raise ValueError(f"expected an ISO date YYYY-MM-DD, found {type(value).__name__}")
    return _in_range(value)


def read_date(value: Any) -> dt.date:
    """Read one fact date as the facts model does (ISO text or a date, 1900..2999).

    Raises:
        ValueError: Saying what was expected and found.
    """
    return _date(value)


Day = Annotated[
    dt.date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]
_DECIMAL_SCHEMA: Final = {"oneOf": [{"type": "string", "pattern": r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"},
                                    {"type": "integer"}]}
#: A decimal greater than zero, as JSON Schema can say it.
_POSITIVE_SCHEMA: Final = {"oneOf": [
    {"type": "string", "pattern": r"^(0\.[0-9]*[1-9][0-9]*|[1-9][0-9]*(\.[0-9]+)?)$"},
    {"type": "integer", "minimum": 1}]}


class _Base(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    if TYPE_CHECKING:  # fields come from the vocabulary
        def __getattr__(self, name: str) -> Any: ...


class Facts(BaseModel):
    """One claim's facts: the input of an evaluation.

    Every vocabulary's root model is a subclass, with the vocabulary's fields. (It derives
    from BaseModel directly, not from the record base: one class less to look through on
    every attribute the rules read.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    if TYPE_CHECKING:  # fields come from the vocabulary
        def __getattr__(self, name: str) -> Any: ...


#: Names a vocabulary field cannot take: every record's model already has them (pydantic's
#: methods and settings), and pydantic keeps names with a leading underscore private.
RESERVED_FIELD_NAMES: Final = frozenset(n for n in dir(Facts) if not n.startswith("_"))


def reserved_field_name(name: str) -> bool:
    """Whether ``name`` cannot be a field of a record (see :data:`RESERVED_FIELD_NAMES`)."""
    return name.startswith("_") or name in RESERVED_FIELD_NAMES


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxdict = _REPR.maxlist = 4


def _found(value: Any) -> str:
    # bounded: the input may be megabytes long or nested thousands of levels deep
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- building models from a vocabulary --------------------------------------------------

# A step of a path into the document: a field name, or None for "every item of the list".
_Step = str | None


@dataclasses.dataclass(frozen=True)
class _MoneyCheck:
    path: tuple[_Step, ...]
    want: str              # a dimension name or an ISO code
    dimension: bool


@dataclasses.dataclass(frozen=True)
class _OneCheck:
    path: tuple[_Step, ...]  # the list field
    field: str
    value: str
    label: str


class FactsModels:
    """The pydantic models of one vocabulary, and the checks that span a whole document.

    Attributes:
        vocabulary: The vocabulary they were built from.
        root: The model of a whole facts document (a :class:`Facts` subclass).
        records: The model of every record, by record name.
    """

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self.records: dict[str, type[BaseModel]] = {}
        self.record_of: dict[type[BaseModel], str] = {}
        self._money: list[_MoneyCheck] = []
        self._ones: list[_OneCheck] = []
        self._fills: list[tuple[tuple[_Step, ...], str, str, str]] = []
        self._filled: set[tuple[str, str]] = set()
        self._collect(vocabulary.root, (), frozenset())
        root = self._model(vocabulary.root, ())
        assert issubclass(root, Facts)
        self.root: type[Facts] = root

    # models ------------------------------------------------------------------------------
    def _model(self, name: str, path: tuple[_Step, ...]) -> type[BaseModel]:
        record = self.vocabulary.record_map[name]
        model = self.records.get(name)
        if model is not None:
            return model
        fields: dict[str, Any] = {}
        for f in record.fields:
            fields[f.name] = (self._annotation(f, f.type, (*path, f.name)), self._default(f))
        validators: dict[str, Any] = {}
        if record.exactly_one_of:
            groups = tuple(g.fields for g in record.exactly_one_of)
            validators["_exactly_one_of"] = model_validator(mode="after")(_exactly_one(groups))
        base: type[BaseModel] = Facts if not path else _Base
        if not path and self._fills:
            validators["_fill_defaults"] = model_validator(mode="before")(
                classmethod(_filler(tuple(self._fills), self.vocabulary)))  # type: ignore[arg-type]
        model = create_model(
            _class_name(name), __base__=base, __doc__=record.doc, __module__=__name__,
            __validators__=validators, **fields)
        self.records[name] = model
        self.record_of[model] = name
        return model

    def _collect(self, record: str, path: tuple[_Step, ...], seen: frozenset[str]) -> None:
        # the document-wide checks, at every path a record is used
        for f in self.vocabulary.record_map[record].fields:
            self._field_checks(f, f.type, (*path, f.name), seen | {record})
            if f.type.base == "money" and isinstance(f.default, Mapping) and \
                    f.default.get("currency") in self.vocabulary.dimension_map:
                self._filled.add((_class_name(record), f.name))

    def _field_checks(self, f: FieldDef, t: FieldType, path: tuple[_Step, ...],
                      seen: frozenset[str]) -> None:
        voc = self.vocabulary
        if t.base == "money":
            dim = voc.dimension_map.get(str(t.arg))
            if dim is None or dim.source != path:
                self._money.append(_MoneyCheck(path, str(t.arg), dim is not None))
            d = f.default
            if dim is not None and not f.required and isinstance(d, Mapping) \
                    and d.get("currency") in voc.dimension_map and path[-1] is not None:
                self._fills.append((path[:-1], str(path[-1]), str(d["amount"]),
                                    str(d["currency"])))
        elif t.base == "list" and t.item is not None:
            if f.at_most_one is not None:
                self._ones.append(_OneCheck(path, *f.at_most_one, str(t.item.arg)))
            self._field_checks(f, t.item, (*path, None), seen)
        elif t.base == "record" and str(t.arg) not in seen:
            self._collect(str(t.arg), path, seen)

    def _annotation(self, f: FieldDef, t: FieldType, path: tuple[_Step, ...]) -> Any:
        ann = self._base_annotation(f, t, path)
        return ann | None if t.nullable else ann

    def _base_annotation(self, f: FieldDef, t: FieldType, path: tuple[_Step, ...]) -> Any:
        if t.base == "boolean":
            return bool
        if t.base == "integer":
            return Annotated[int, Field(ge=f.minimum, le=f.maximum, gt=f.greater_than)]
        if t.base == "decimal":
            positive = f.greater_than == 0 or (f.minimum is not None and f.minimum > 0)
            return Annotated[Decimal, BeforeValidator(_decimal(f.minimum, f.maximum,
                                                               f.greater_than)),
                             WithJsonSchema(_POSITIVE_SCHEMA if positive else _DECIMAL_SCHEMA)]
        if t.base == "text":
            limit = f.max_length if f.max_length is not None and t is f.type else \
                f.item_max_length or TEXT_MAX_LENGTH
            return Annotated[str, Field(min_length=f.min_length if t is f.type else None,
                                        max_length=limit)]
        if t.base == "date":
            return Day
        if t.base == "code":
            return self._code(t)
        if t.base == "money":
            return Annotated[Money, Currency(str(t.arg))]
        if t.base == "list" and t.item is not None:
            item = self._annotation(f, t.item, (*path, None))
            return Annotated[list[item], Field(min_length=f.min_length,  # type: ignore[valid-type]
                                               max_length=f.max_length)]
        return self._model(str(t.arg), path)

    def _code(self, t: FieldType) -> Any:
        code_set = self.vocabulary.code_map.get(str(t.arg)) if t.arg else None
        if code_set is not None and code_set.closed:
            return Literal[code_set.codes]
        known = frozenset(code_set.codes) if code_set is not None else frozenset()
        extra: dict[str, Any] = {"pattern": CODE_PATTERN}
        if known:
            extra["examples"] = list(code_set.codes) if code_set else []
        return Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH,
                                    json_schema_extra=extra),
                         AfterValidator(_code_checker(known))]

    def _default(self, f: FieldDef) -> Any:
        if f.required:
            return Field(description=f.doc)
        d = f.default
        if f.type.base == "money" and isinstance(d, Mapping):
            currency = str(d["currency"])
            if currency in self.vocabulary.dimension_map:
                # filled in from the document (see _filler)
                return Field(default=None, description=f.doc)
            return Field(default=Money(parse_amount(d["amount"]), currency),
                         description=f.doc)
        if isinstance(d, list):
            return Field(default_factory=list, description=f.doc)
        return Field(default=d, description=f.doc)

    def _mismatch(self, mc: _MoneyCheck, at: tuple[int, ...], found: str,
                  want: str) -> FactProblem:
        label = f" ({self.vocabulary.dimension_map[mc.want].label})" if mc.dimension else ""
        return FactProblem(path=_where(mc.path, at) + ".currency",
                           message=f"expected {want}{label}, found {found}",
                           code="currency_mismatch")

    def filled_fields(self) -> list[tuple[str, str]]:
        """(model name, field) of money defaults filled in from the document's currency."""
        return sorted(self._filled)

    # document-wide checks ------------------------------------------------------------------
    @functools.cached_property
    def _checker(self) -> Callable[[Facts, list[FactProblem]], None]:
        """The document-wide checks as one straight-line function (they run on every claim).

        Field names are identifiers (the vocabulary's pattern); every other value reaches
        the code as a constant, never as text.
        """
        lines = ["def check(facts, problems):"]
        consts: dict[str, Any] = {"mismatch": self._mismatch, "duplicate": self._duplicate}
        for k, dim in enumerate(self.vocabulary.dimensions):
            lines += ["    try:", f"        w{k} = {_getattr_chain('facts', dim.source)}.currency",
                      "    except AttributeError:", f"        w{k} = None"]
        dims = {d.name: f"w{k}" for k, d in enumerate(self.vocabulary.dimensions)}
        for k, mc in enumerate(self._money):
            consts[f"m{k}"] = mc
            want = dims[mc.want] if mc.dimension else f"m{k}.want"
            lines += _check_lines(mc.path, f"m{k}", want)
        for k, one in enumerate(self._ones):
            consts[f"o{k}"] = one
            lines += _one_lines(one.path, f"o{k}", one.field)
        lines.append("    return None")
        namespace: dict[str, Any] = {"__builtins__": {"AttributeError": AttributeError,
                                                      "enumerate": enumerate}, **consts}
        exec(compile("\n".join(lines), f"<facts checks of {self.vocabulary.name}>", "exec"),
             namespace)
        return namespace["check"]  # type: ignore[no-any-return]

    def check(self, facts: Facts) -> list[FactProblem]:
        """Money in the currency each field requires; at most one item with a value."""
        problems: list[FactProblem] = []
        self._checker(facts, problems)
        return problems

    def check_document(self, data: Mapping[str, Any],
                       reported: list[FactProblem]) -> list[FactProblem]:
        """The document-wide checks on a document the models refused, for every path.

        A document with a bad date and a payment in another currency names both: the
        checks of :meth:`check` run on the raw document, skipping values that are refused
        themselves (at or under a path already ``reported``) and currencies that are not
        known codes.
        """
        bad = {p.path for p in reported}
        under = {prefix for path in bad for prefix in _prefixes(path)}

        def whole(path: str) -> bool:
            # the path, or something it is in, was refused
            return any(prefix in bad for prefix in _prefixes(path))

        def refused(path: str) -> bool:
            # the path, something in it, or something it is in was refused
            return path in under or whole(path)

        wants: dict[str, str | None] = {}
        for dim in self.vocabulary.dimensions:
            source = _raw_at(data, dim.source)
            code = source.get("currency") if _is_mapping(source) else None
            source_path = ".".join(dim.source)
            wants[dim.name] = code if isinstance(code, str) and is_known_currency(code) \
                and not whole(source_path + ".currency") else None
        problems: list[FactProblem] = []
        for mc in self._money:
            want = wants.get(mc.want) if mc.dimension else mc.want
            if want is None or whole(_where(_before_list(mc.path), ())):
                continue  # nothing to hold it against, or its list is refused whole
            for at, value in _raw_items(data, mc.path, ()):
                code = value.get("currency") if _is_mapping(value) else None
                where = _where(mc.path, at)
                if want is None or not (isinstance(code, str) and is_known_currency(code)) \
                        or code == want or whole(where + ".currency"):
                    continue
                problems.append(self._mismatch(mc, at, code, want))
        for one in self._ones:
            if whole(_where(_before_list(one.path), ())):
                continue
            for at, items in _raw_items(data, one.path, ()):
                first = -1
                for i, item in enumerate(items if isinstance(items, list) else ()):
                    if not _is_mapping(item) or item.get(one.field) != one.value:
                        continue
                    if first < 0:
                        first = i
                    elif not refused(f"{_where(one.path, at)}[{i}].{one.field}"):
                        problems.append(self._duplicate(one, at, first, i))
        return problems

    def _duplicate(self, one: _OneCheck, at: tuple[int, ...], first: int,
                   i: int) -> FactProblem:
        where = _where(one.path, at)
        return FactProblem(path=f"{where}[{i}].{one.field}",
                           message=f"at most one {one.value} {one.label}; {where}[{first}] "
                                   f"is already {one.value}",
                           code="at_most_one")


def _before_list(path: tuple[_Step, ...]) -> tuple[_Step, ...]:
    """The steps of ``path`` before its first list (all of them when there is none)."""
    return path[:path.index(None)] if None in path else path


def _prefixes(path: str) -> list[str]:
    """``a.b[2].c`` -> ``a``, ``a.b``, ``a.b[2]``, ``a.b[2].c``."""
    cuts = [i for i, ch in enumerate(path) if ch in ".["]
    return [path[:i] for i in cuts if i] + [path]


def _raw_at(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        data = data.get(part) if _is_mapping(data) else None
    return data


def _raw_items(data: Any, path: tuple[_Step, ...],
               at: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], Any]]:
    """The values at ``path`` in a raw document (None steps: each item of a list)."""
    for k, step in enumerate(path):
        if step is not None:
            data = data.get(step) if _is_mapping(data) else None
            continue
        for i, item in enumerate(data if isinstance(data, list) else ()):
            yield from _raw_items(item, path[k + 1:], (*at, i))
        return
    if data is not None:
        yield at, data


def _getattr_chain(base: str, path: tuple[_Step, ...]) -> str:
    out = base
    for step in path:
        out = attribute(out, str(step))
    return out


def _check_lines(path: tuple[_Step, ...], name: str, want: str) -> list[str]:
    """Code checking the currency of the money at ``path`` (through lists too)."""
    return _over(path, lambda value, at: [
        f"{{pad}}if {value} is not None and {want} is not None and "
        f"{value}.currency != {want}:",
        f"{{pad}}    problems.append(mismatch({name}, ({at}), {value}.currency, {want}))"])


def _one_lines(path: tuple[_Step, ...], name: str, field: str) -> list[str]:
    """Code refusing a second item of the list at ``path`` with ``field`` = the value."""
    def body(value: str, at: str) -> list[str]:
        return ["{pad}first = -1",
                f"{{pad}}for i_one, item_one in enumerate({value} or ()):",
                f"{{pad}}    if {attribute('item_one', field)} == {name}.value:",
                "{pad}        if first < 0:",
                "{pad}            first = i_one",
                "{pad}        else:",
                f"{{pad}}            problems.append(duplicate({name}, ({at}), first, i_one))"]
    return _over(path, body)


def _over(path: tuple[_Step, ...], body: Callable[[str, str], list[str]]) -> list[str]:
    """Code reaching the value at ``path`` (None steps: each item of a list) for ``body``."""
    out: list[str] = []
    pad, base, indexes, rest = "    ", "facts", [], list(path)
    n = 0
    while None in rest:
        cut = rest.index(None)
        n += 1
        out += [f"{pad}try:", f"{pad}    l{n} = {_getattr_chain(base, tuple(rest[:cut]))}",
                f"{pad}except AttributeError:", f"{pad}    l{n} = None",
                f"{pad}for i{n}, e{n} in enumerate(l{n} or ()):"]
        pad += "    "
        base, rest = f"e{n}", rest[cut + 1:]
        indexes.append(f"i{n}")
    at = "".join(f"{i}, " for i in indexes)
    out += [f"{pad}try:", f"{pad}    v = {_getattr_chain(base, tuple(rest))}",
            f"{pad}except AttributeError:", f"{pad}    v = None"]
    out += [line.replace("{pad}", pad) for line in body("v", at)]
    return out


def _code_checker(known: frozenset[str]) -> Callable[[str], str]:
    def check(value: str) -> str:
        return value if value in known else check_code(value, known)
    return check


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)


def _class_name(record: str) -> str:
    return "".join(part.capitalize() for part in record.split("_")) or "Record"


def _where(path: tuple[_Step, ...], at: tuple[int, ...]) -> str:
    """The document path at ``path`` with the list indexes ``at`` (``payments[2].amount``)."""
    out, indexes = "", iter(at)
    for step in path:
        out += f"[{next(indexes)}]" if step is None else ("." if out else "") + step
    return out


def _exactly_one(groups: tuple[tuple[str, ...], ...]) -> Callable[[Any], Any]:
    def check(self: Any) -> Any:
        for group in groups:
            given = 0
            for name in group:
                if getattr(self, name) is not None:
                    given += 1
            if given != 1:
                names = " and ".join(group) if len(group) == 2 else \
                    ", ".join(group[:-1]) + " and " + group[-1]
                raise ValueError(f"exactly one of {names} must be given")
        return self
    return check


def _filler(fills: tuple[tuple[tuple[_Step, ...], str, str, str], ...],
            vocabulary: Vocabulary) -> Callable[[Any, Any], Any]:
    """Fill money defaults that are in a currency dimension (only the document knows it).

    A field under a list (``payments[].fee``) is filled in every item that leaves it out.
    """
    def fill(cls: Any, data: Any) -> Any:
        if not _is_mapping(data):
            return data
        for owner, name, amount, dimension in fills:
            source = _raw_at(data, vocabulary.dimension_map[dimension].source)
            currency = source.get("currency") if _is_mapping(source) else None
            if not (isinstance(currency, str) and is_known_currency(currency)):
                continue  # the source is refused itself; the field stays empty
            data = _filled(data, owner, name, {"amount": amount, "currency": currency})
        return data
    return fill


def _filled(data: Any, owner: tuple[_Step, ...], name: str, value: Any) -> Any:
    """``data`` with ``value`` at ``name`` of each record at ``owner`` without one.

    A None step of ``owner`` is each item of a list. A record whose ``name`` is absent or
    null gets ``value``; ``data`` itself comes back when nothing changes (never mutated).
    """
    if not owner:
        if not _is_mapping(data) or data.get(name) is not None:
            return data
        new = dict(data)
        new[name] = value
        return new
    step, rest = owner[0], owner[1:]
    if step is None:
        if not isinstance(data, list):
            return data
        items = [_filled(item, rest, name, value) for item in data]
        return items if any(a is not b for a, b in zip(items, data, strict=True)) else data
    if not _is_mapping(data):
        return data
    inner = data.get(step)
    changed = _filled(inner, rest, name, value)
    if changed is inner:
        return data
    new = dict(data)
    new[step] = changed
    return new


def _decimal(minimum: int | None, maximum: int | None,
             greater_than: int | None) -> Callable[[Any], Decimal]:
    def read(value: Any) -> Decimal:
        amount = parse_decimal(value)
        if greater_than is not None and amount <= greater_than:
            raise ValueError(f"must be greater than {greater_than}, found {amount}")
        if minimum is not None and amount < minimum:
            raise ValueError(f"must be at least {minimum}, found {amount}")
        if maximum is not None and amount > maximum:
            raise ValueError(f"must be at most {maximum}, found {amount}")
        return amount
    return read


_MODELS: dict[Vocabulary, FactsModels] = {}
_MODELS_LOCK = threading.Lock()
_last: tuple[Vocabulary, FactsModels] | None = None  # looked up last (one tuple: atomic)


def facts_models(vocabulary: Vocabulary) -> FactsModels:
    """The models of a vocabulary (built once, then shared)."""
    last = _last
    if last is not None and last[0] is vocabulary:
        return last[1]
    models = _MODELS.get(vocabulary)
    if models is None:
        with _MODELS_LOCK:
            models = _MODELS.get(vocabulary)
            if models is None:
                models = FactsModels(vocabulary)
                _MODELS[vocabulary] = models
    _remember(vocabulary, models)
    return models


def _remember(vocabulary: Vocabulary, models: FactsModels) -> None:
    global _last
    _last = (vocabulary, models)


_default_vocabulary: Callable[[], Vocabulary] | None = None


def set_default_vocabulary(provider: Callable[[], Vocabulary]) -> None:
    """Name where the default vocabulary comes from (the bundled rules register theirs)."""
    global _default_vocabulary
    _default_vocabulary = provider


def default_vocabulary() -> Vocabulary:
    """The vocabulary facts are read with when none is given (that of the bundled rules)."""
    if _default_vocabulary is None:  # pragma: no cover - ta_rules registers it on import
        raise RuntimeError("no default vocabulary is registered")
    return _default_vocabulary()


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# Parts pydantic adds to an error's location that are not in the document: the member of a
# union that failed (by exact name; user keys such as "strict_limit" must be kept) and
# validator wrappers.
_UNION_MEMBERS: Final = frozenset({"str", "constrained-str", "int", "bool", "float",
                                   "decimal", "date", "dict"})
_WRAPPERS: Final = ("function-", "lax-or-strict[", "json-or-python[")


def error_path(loc: tuple[int | str, ...],
               models: frozenset[str] = frozenset()) -> tuple[int | str, ...]:
    """The document path of a pydantic error location (``models``: union member models)."""
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in _UNION_MEMBERS or p in models or p.startswith(_WRAPPERS))))


def _problems_from(exc: ValidationError) -> list[FactProblem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = error_path(tuple(err["loc"]))
        msg = str(err["msg"])
        kind = str(err["type"])
        if kind == "missing":
            msg = "field required"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif kind not in {"currency_code", "currency_unknown", "amount", "amount_precision",
                          "amount_negative"}:
            msg = f"{msg}; found {_found(err.get('input'))}"
        problems.append(FactProblem(path=_path(loc), message=msg, code=kind))
    return problems



def parse_facts(data: Any, vocabulary: Vocabulary | None = None) -> Facts:
    """Validate a facts document (a mapping, as read from YAML or JSON).

    Args:
        data: The document, or existing :class:`Facts` of that vocabulary (returned as is).
        vocabulary: The vocabulary to read it with (default: that of the bundled rules).

    Returns:
        The validated, frozen facts.

    Raises:
        FactsError: Naming every offending path, with what was expected and found.
    """
    models = facts_models(vocabulary or default_vocabulary())
    if isinstance(data, Facts):
        if type(data) is models.root:
            return data
        data = data.model_dump(mode="json")
    if not isinstance(data, Mapping):
        raise FactsError(
            [FactProblem("", f"expected a mapping of facts, found {type(data).__name__}", "type")]
        )
    try:
        facts = models.root.model_validate(data)
    except ValidationError as exc:
        problems = _problems_from(exc)
        raise FactsError(problems + models.check_document(data, problems)) from None
    except RecursionError:
        raise FactsError([FactProblem("", "the document is nested too deeply", "depth")]) from None
    problems = models.check(facts)
    if problems:
        raise FactsError(problems)
    return facts
