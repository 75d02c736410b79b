"""A fast path for validating facts documents, generated from the facts models.

:func:`parse` either returns exactly the :class:`~ta_rules.facts.Facts` that
:func:`ta_rules.facts.parse_facts` would return for the same document, or ``None``, and the
caller then validates with :func:`~ta_rules.facts.parse_facts`, which reports every bad path.
It never rejects a document by itself, so the documents accepted and refused - and the
errors - are those of the pydantic models; it only saves their cost on documents in the
ordinary shape (plain dicts, lists, strings, booleans and ints, money as ``{amount,
currency}`` strings).

The code is generated once per vocabulary, on its first document, by walking the pydantic
models :func:`ta_rules.facts.facts_models` builds from it (annotations, constraints,
defaults, before- and after-validators, model validators), so it follows the vocabulary
and the models as they change. Anything the generator does not know how to check exactly
makes the fast path of that model give up on every document (``None``), never guess.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import inspect
import threading
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel, BeforeValidator, WithJsonSchema
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ta_rules import facts as _facts
from ta_rules.money import _FAST_AMOUNT, Money, _currencies, minor_unit
from ta_rules.vocabulary import Vocabulary

__all__ = ["parse", "source"]


class _Miss(Exception):
    """The document is not one the fast path can vouch for: validate it the full way."""


class _Unsupported(Exception):
    """A model construct the generator does not translate (its model always misses)."""


def _money(value: Any) -> Money:
    # the ordinary shape, exactly as Money's own validator accepts it on its quick path
    if type(value) is not dict or len(value) != 2:
        raise _Miss
    text = value.get("amount")
    code = value.get("currency")
    if type(text) is not str or type(code) is not str or code not in _currencies() \
            or not _FAST_AMOUNT.fullmatch(text):
        raise _Miss
    dot = text.find(".")
    decimals = 0 if dot < 0 else len(text) - dot - 1
    digits = minor_unit(code)
    if decimals > digits:
        raise _Miss
    return Money(Decimal(text), code, text if decimals == digits else None)


#: Entries a memo holds before it starts again from empty.
_MEMO_SIZE: Final = 1024


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


_SLOTS: Any = vars(BaseModel)
#: How the generated code fills a model instance: the slot descriptors of BaseModel.
_SETTERS: Final = {
    "_new": object.__new__,
    "_set_dict": _SLOTS["__dict__"].__set__,
    "_set_fields_set": _SLOTS["__pydantic_fields_set__"].__set__,
    "_set_extra": _SLOTS["__pydantic_extra__"].__set__,
    "_set_private": _SLOTS["__pydantic_private__"].__set__,
}


@dataclasses.dataclass
class _Bounds:
    """The length and range constraints on one value."""

    min_len: Any = None
    max_len: Any = None
    ge: Any = None
    le: Any = None

    @classmethod
    def of(cls, meta: list[Any]) -> _Bounds:
        b = cls()
        for m in meta:
            if isinstance(m, annotated_types.MinLen):
                b.min_len = m.min_length
            elif isinstance(m, annotated_types.MaxLen):
                b.max_len = m.max_length
            elif isinstance(m, annotated_types.Ge):
                b.ge = m.ge
            elif isinstance(m, annotated_types.Le):
                b.le = m.le
            elif isinstance(m, WithJsonSchema):
                continue  # the JSON schema only
            elif isinstance(m, annotated_types.BaseMetadata) or hasattr(
                    m, "__get_pydantic_core_schema__") or type(m).__module__.startswith(
                    ("pydantic", "annotated_types")):
                raise _Unsupported(f"constraint {m!r}")
            # anything else is a marker pydantic ignores (such as facts.Currency)
        return b

    @property
    def sized(self) -> bool:
        return self.min_len is not None or self.max_len is not None

    @property
    def ranged(self) -> bool:
        return self.ge is not None or self.le is not None

    def size(self, v: str) -> list[str]:
        """Conditions under which the length of ``v`` is out of bounds."""
        out = []
        if self.min_len is not None:
            out.append(f"len({v}) < {int(self.min_len)}")
        if self.max_len is not None:
            out.append(f"len({v}) > {int(self.max_len)}")
        return out


@dataclasses.dataclass
class _Generator:
    """Writes one checking function per model, as Python source."""

    env: dict[str, Any] = dataclasses.field(default_factory=dict)
    lines: list[str] = dataclasses.field(default_factory=list)
    done: dict[type[BaseModel], str] = dataclasses.field(default_factory=dict)
    counter: int = 0

    def name(self, prefix: str, value: Any = None) -> str:
        self.counter += 1
        key = f"_{prefix}{self.counter}"
        if value is not None:
            self.env[key] = value
        return key

    # --- types -------------------------------------------------------------------------------
    def check(self, tp: Any, meta: list[Any], v: str, out: str, ind: str) -> list[str]:
        """Lines that check the value in ``v`` against ``tp`` and put the result in ``out``."""
        if get_origin(tp) is typing.Annotated:
            base, *more = get_args(tp)
            return self.check(base, [*more, *meta], v, out, ind)
        flat: list[Any] = []
        for m in meta:
            flat.extend(m.metadata if isinstance(m, FieldInfo) else [m])
        if any(isinstance(m, BeforeValidator) for m in flat):
            return self.before(tp, flat, v, out, ind)
        if any(isinstance(m, AfterValidator) for m in flat):
            return self.after(tp, flat, v, out, ind)
        if get_origin(tp) in (Union, types.UnionType):
            args = get_args(tp)
            others = [a for a in args if a is not type(None)]
            if len(others) != 1 or len(args) != 2:
                raise _Unsupported(f"union {tp!r}")
            inner = self.check(others[0], flat, v, out, ind + "    ")
            return [f"{ind}if {v} is None:", f"{ind}    {out} = None", f"{ind}else:", *inner]
        bounds = _Bounds.of(flat)
        if bounds.sized and tp is not str and get_origin(tp) is not list:
            raise _Unsupported(f"length on {tp!r}")
        if bounds.ranged and tp is not int:
            raise _Unsupported(f"bounds on {tp!r}")
        return self.leaf(tp, bounds, v, out, ind)

    def before(self, tp: Any, flat: list[Any], v: str, out: str, ind: str) -> list[str]:
        """Before-validators, innermost first, each given the previous one's result."""
        code: list[str] = []
        cur = v
        for m in reversed([m for m in flat if isinstance(m, BeforeValidator)]):
            if _takes_info(m.func):
                raise _Unsupported("a validator that takes ValidationInfo")
            fn, memo, nxt = self.name("f", m.func), self.name("memo", {}), self.name("b")
            # the validators are pure functions of their input: a string seen before gives
            # the result it gave then (dates repeat a lot between claims)
            code += [f"{ind}{nxt} = {memo}.get({cur}) if type({cur}) is str else None",
                     f"{ind}if {nxt} is None:",
                     f"{ind}    try:", f"{ind}        {nxt} = {fn}({cur})",
                     f"{ind}    except Exception:", f"{ind}        raise _Miss from None",
                     f"{ind}    if type({cur}) is str:",
                     f"{ind}        _remember({memo}, {cur}, {nxt})"]
            cur = nxt
        rest = [m for m in flat if not isinstance(m, BeforeValidator)]
        return code + self.check(tp, rest, cur, out, ind)

    def after(self, tp: Any, flat: list[Any], v: str, out: str, ind: str) -> list[str]:
        """The type's own check, then its after-validators in the order they are written."""
        cur = self.name("t")
        code = self.check(tp, [m for m in flat if not isinstance(m, AfterValidator)], v, cur,
                          ind)
        for m in flat:
            if not isinstance(m, AfterValidator):
                continue
            if _takes_info(m.func):
                raise _Unsupported("a validator that takes ValidationInfo")
            fn, nxt = self.name("f", m.func), self.name("a")
            code += [f"{ind}try:", f"{ind}    {nxt} = {fn}({cur})",
                     f"{ind}except Exception:", f"{ind}    raise _Miss from None"]
            cur = nxt
        return [*code, f"{ind}{out} = {cur}"]

    def leaf(self, tp: Any, bounds: _Bounds, v: str, out: str, ind: str) -> list[str]:
        """A type inside any Annotated, validator and Optional."""
        origin = get_origin(tp)
        miss = [f"{ind}    raise _Miss"]
        if origin is Literal:
            values = get_args(tp)
            if not all(type(x) is str for x in values):
                raise _Unsupported(f"literal {tp!r}")
            allowed = self.name("k", frozenset(values))
            return [f"{ind}if type({v}) is not str or {v} not in {allowed}:", *miss,
                    f"{ind}{out} = {v}"]
        if origin is list:
            (item_tp,) = get_args(tp)
            item, item_out = self.name("i"), self.name("o")
            cond = " or ".join([f"type({v}) is not list", *bounds.size(v)])
            body = self.check(item_tp, [], item, item_out, ind + "    ")
            return [f"{ind}if {cond}:", *miss, f"{ind}{out} = []",
                    f"{ind}for {item} in {v}:", *body, f"{ind}    {out}.append({item_out})"]
        if origin is not None:
            raise _Unsupported(f"generic {tp!r}")
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [f"{ind}{out} = {self.model(tp)}({v})"]
        if tp is Money:
            # immutable, so one Money serves every document that writes the same amount
            memo, key = self.name("memo", {}), self.name("key")
            return [f"{ind}if type({v}) is not dict or len({v}) != 2:", *miss,
                    f"{ind}{key} = ({v}.get('amount'), {v}.get('currency'))",
                    f"{ind}if type({key}[0]) is not str or type({key}[1]) is not str:", *miss,
                    f"{ind}{out} = {memo}.get({key})",
                    f"{ind}if {out} is None:", f"{ind}    {out} = _money({v})",
                    f"{ind}    _remember({memo}, {key}, {out})"]
        conds = self.scalar(tp, bounds, v)
        return [f"{ind}if {' or '.join(conds)}:", *miss, f"{ind}{out} = {v}"]

    def scalar(self, tp: Any, bounds: _Bounds, v: str) -> list[str]:
        """The conditions under which ``v`` is not a valid ``tp`` (strict mode)."""
        if tp is str:
            # pydantic refuses a string that is not valid Unicode (a lone surrogate) where
            # it measures the length; leave anything but well-formed text to it
            return [f"type({v}) is not str", f"not ({v}.isascii() or _unicode({v}))",
                    *bounds.size(v)]
        if tp is bool:
            return [f"type({v}) is not bool"]
        if tp is int:
            conds = [f"type({v}) is not int"]
            if bounds.ge is not None:
                conds.append(f"{v} < {self.name('n', bounds.ge)}")
            if bounds.le is not None:
                conds.append(f"{v} > {self.name('n', bounds.le)}")
            return conds
        if tp is dt.date:
            return [f"type({v}) is not _date"]
        if tp is Decimal:
            return [f"type({v}) is not _Decimal", f"not {v}.is_finite()"]
        raise _Unsupported(f"type {tp!r}")

    # --- models ------------------------------------------------------------------------------
    def model(self, cls: type[BaseModel]) -> str:
        """The name of the checking function for ``cls`` (written on first use)."""
        if cls in self.done:
            return self.done[cls]
        fn = self.name(f"m_{cls.__name__}_")
        self.done[cls] = fn
        try:
            body = self.model_body(cls)
        except _Unsupported:
            body = ["    raise _Miss"]
        self.lines += [f"def {fn}(d):", *body, ""]
        return fn

    def model_body(self, cls: type[BaseModel]) -> list[str]:
        config = cls.model_config
        if not config.get("strict") or config.get("extra") != "forbid" \
                or cls.__private_attributes__ or cls.__pydantic_computed_fields__ \
                or config.get("from_attributes") or config.get("str_strip_whitespace"):
            raise _Unsupported(f"config of {cls.__name__}")
        decorators = cls.__pydantic_decorators__
        if decorators.field_validators or decorators.validators \
                or decorators.root_validators or decorators.field_serializers \
                or decorators.model_serializers:
            raise _Unsupported(f"field validators of {cls.__name__}")
        befores = [d for d in decorators.model_validators.values() if d.info.mode == "before"]
        afters = [d for d in decorators.model_validators.values() if d.info.mode == "after"]
        if len(befores) + len(afters) != len(decorators.model_validators):
            raise _Unsupported(f"a wrap validator on {cls.__name__}")
        lines = []
        for d in befores:
            if _takes_info(d.func):
                raise _Unsupported("a validator that takes ValidationInfo")
            lines += ["    try:", f"        d = {self.name('v', d.func)}(d)",
                      "    except Exception:", "        raise _Miss from None"]
        keys = self.name("keys", frozenset(cls.model_fields))
        lines += ["    if type(d) is not dict or not d.keys() <= " + keys + ":",
                  "        raise _Miss"]
        outs = []
        for field_name, info in cls.model_fields.items():
            if info.alias or info.validation_alias or info.default_factory is not None \
                    or info.validate_default:
                raise _Unsupported(f"{cls.__name__}.{field_name}")
            v, out = self.name("v"), self.name("r")
            outs.append((field_name, out))
            lines.append(f"    {v} = d.get({field_name!r}, _MISSING)")
            lines.append(f"    if {v} is _MISSING:")
            if info.default is PydanticUndefined:
                lines.append("        raise _Miss")
            else:
                try:
                    hash(info.default)
                except TypeError:  # pydantic copies a default it cannot share
                    default = self.name("default", _Default(info.default))
                    lines.append(f"        {out} = {default}.get()")
                else:
                    shared = self.name("default", _Shared(info.default))
                    lines.append(f"        {out} = {shared}.value")
            lines.append("    else:")
            lines += self.check(info.annotation, list(info.metadata), v, out, "        ")
        data = "{" + ", ".join(f"{k!r}: {o}" for k, o in outs) + "}"
        # what model_validate leaves: the fields, those given, no extra, no private state
        lines += [f"    obj = _new({self.name('cls', cls)})", f"    _set_dict(obj, {data})",
                  "    _set_fields_set(obj, set(d))", "    _set_extra(obj, None)",
                  "    _set_private(obj, None)"]
        for d in afters:
            if _takes_info(d.func):
                raise _Unsupported("a validator that takes ValidationInfo")
            lines += ["    try:", f"        obj = {self.name('v', d.func)}(obj)",
                      "    except Exception:", "        raise _Miss from None"]
        lines.append("    return obj")
        return lines


@dataclasses.dataclass(frozen=True)
class _Shared:
    """A field default that every document shares (pydantic shares a hashable default)."""

    value: Any


@dataclasses.dataclass(frozen=True)
class _Default:
    """A field default pydantic copies for each document (one it cannot hash)."""

    value: Any

    def get(self) -> Any:
        return copy.deepcopy(self.value)


def _takes_info(fn: Any) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return len(params) > 1


def _build(root: type[BaseModel]) -> tuple[Callable[[Any], Any], str]:
    gen = _Generator()
    entry = gen.model(root)
    text = "\n".join(gen.lines) + "\n"
    env: dict[str, Any] = {**gen.env, **_SETTERS, "_Miss": _Miss, "_MISSING": _MISSING,
                           "_date": dt.date, "_Decimal": Decimal, "_money": _money,
                           "_remember": _remember, "_unicode": _unicode}
    exec(compile(text, f"<fast facts: {root.__name__}>", "exec"), env)
    fn: Callable[[Any], Any] = env[entry]
    return fn, text


_MISSING: Final = object()

#: The generated checker of each root model (one per vocabulary), and its source.
_BUILT: dict[type[BaseModel], tuple[Callable[[Any], Any], str]] = {}
_BUILT_LOCK = threading.Lock()


def _built(root: type[BaseModel]) -> tuple[Callable[[Any], Any], str]:
    hit = _BUILT.get(root)
    if hit is None:
        with _BUILT_LOCK:
            hit = _BUILT.get(root)
            if hit is None:
                hit = _BUILT[root] = _build(root)
    return hit


def source(vocabulary: Vocabulary | None = None) -> str:
    """The generated Python source for a vocabulary's facts (for reading and debugging)."""
    models = _facts.facts_models(vocabulary or _facts.default_vocabulary())
    return _built(models.root)[1]


def parse(data: Any, vocabulary: Vocabulary | None = None) -> _facts.Facts | None:
    """The validated facts of a document in the ordinary shape, or None (validate fully).

    When it returns facts, they are equal to, and serialise exactly like, what
    :func:`ta_rules.facts.parse_facts` returns for ``data`` and ``vocabulary``.
    """
    if type(data) is not dict:
        return None
    models = _facts.facts_models(vocabulary or _facts.default_vocabulary())
    check = _built(models.root)[0]
    try:
        facts: _facts.Facts = check(data)
    except (_Miss, RecursionError):
        return None
    if models.check(facts):
        return None
    return facts
