"""Evaluate facts against a ruleset: validated facts in, :class:`Verdict` out.

Evaluation never parses YAML and never raises for a policy reason: missing data becomes a
reason. An exception other than :class:`~ta_rules.errors.FactsError` (bad facts),
:class:`~ta_rules.errors.ParameterError` (bad overrides) or
:class:`~ta_rules.errors.UnknownRulesetError` (no such ruleset) is a bug in the library.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import hashlib
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, overload

from pydantic import BaseModel

from ta_rules import _fastfacts
from ta_rules.build import build_verdict
from ta_rules.engines import get_engine
from ta_rules.errors import (
    EvaluationError,
    FactProblem,
    FactsError,
    OutOfRangeError,
    ParameterError,
    TaRulesError,
    UnknownRulesetError,
)
from ta_rules.facts import Facts, parse_facts, read_date
from ta_rules.messages import require_catalog, resolve_locale
from ta_rules.money import MONEY_CONTEXT
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.program import Decision
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.verdict import Verdict

__all__ = ["decide", "evaluate", "evaluate_many", "explain", "order_date", "select_ruleset"]

#: Decimal context for decisions: that of all money arithmetic (see MONEY_CONTEXT).
DECISION_CONTEXT: Final = MONEY_CONTEXT


def order_date(facts: Mapping[str, Any] | Facts, paths: Sequence[str]) -> dt.date | None:
    """The order date: the first of the date facts at ``paths`` that is not null.

    The paths come from the ruleset (``effective.order_date``); ``facts`` may be a document
    not yet validated, so each date found is read as the facts model reads dates.

    Raises:
        FactsError: A value at one of the paths is not a date (named by its path).
    """
    return _order_date_fact(facts, paths)[1]


@functools.lru_cache(maxsize=256)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _order_date_fact(facts: Mapping[str, Any] | Facts,
                     paths: Sequence[str]) -> tuple[str, dt.date | None]:
    for path in paths:
        value: Any = facts
        for part in _split(path):
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(part)
            elif isinstance(value, Facts | BaseModel):
                value = getattr(value, part, None)
            else:
                value = None
        if value is None:
            continue
        try:
            return path, read_date(value)
        except ValueError as exc:
            raise FactsError([FactProblem(path, str(exc), "value_error")]) from None
    return "", None


def _undeclared_override(rs: Ruleset, overrides: Mapping[str, Any], facts: Facts, *,
                         pinned: bool, registry: Registry | None) -> ParameterError | None:
    """An override that another version of the ruleset declares but ``rs`` does not.

    A name no version declares is left to :meth:`Ruleset.bind_parameters`, which suggests a
    close one.
    """
    for name in overrides:
        if name in rs.parameters:
            continue
        others = [r.version for r in (registry or default_registry()).versions(rs.name)
                  if name in r.parameters]
        if not others:
            return None
        if pinned:
            how = "the version pinned for this evaluation"
        else:
            fact, day = _order_date_fact(facts, rs.order_date)
            how = f"the version in force for this order ({fact} {day})"
        return ParameterError(
            f"parameter {name!r} is not declared by {rs.name} {rs.version}, {how}; "
            f"{', '.join(others)} declare{'s' if len(others) == 1 else ''} it")
    return None


_PATH_PART: Final = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path_parts(path: str) -> list[str | int]:
    """``payments[0].amount`` as ``["payments", 0, "amount"]``."""
    return [int(index) if index else name for name, index in _PATH_PART.findall(path)]


def _without(data: Any, parts: Sequence[str | int]) -> Any:
    """A copy of ``data`` without the value at ``parts`` (copying only along the path)."""
    head, rest = parts[0], parts[1:]
    if isinstance(data, Mapping) and isinstance(head, str) and head in data:
        copy = dict(data)
        if rest:
            copy[head] = _without(copy[head], rest)
        else:
            del copy[head]
        return copy
    if isinstance(data, list | tuple) and isinstance(head, int) and head < len(data) and rest:
        items = list(data)
        items[head] = _without(items[head], rest)
        return items
    return data


def read_facts(facts: Mapping[str, Any] | Facts, rs: Ruleset, *,
               wider: Iterable[Any] = ()) -> tuple[Facts, tuple[str, ...]]:
    """The facts as ``rs`` reads them, and the facts it ignores.

    The facts format does not depend on the order date: a document written for a newer
    version of the same ruleset, whose vocabulary adds facts, is judged by an older version
    too. A fact that the older version's vocabulary does not have, but a newer one of the
    same ruleset does (``rs.newer_vocabularies``, or one in ``wider``), is accepted and
    ignored; the document must be valid for that newer vocabulary. Anything else invalid is
    a :class:`FactsError` naming the version and vocabulary that refused it.

    Raises:
        FactsError: The facts are invalid for this version (and for every newer one).
    """
    valid = _fastfacts.parse(facts, rs.vocabulary)
    if valid is not None:
        return valid, ()
    try:
        return parse_facts(facts, rs.vocabulary), ()
    except FactsError as exc:
        refused = exc
    unknown = [p.path for p in refused.problems if p.code == "extra_forbidden"]
    if unknown and len(unknown) == len(refused.problems) and isinstance(facts, Mapping):
        parts = [_path_parts(p) for p in unknown]
        names = [tuple(str(x) for x in ps if isinstance(x, str)) for ps in parts]
        for voc in (*getattr(rs, "newer_vocabularies", ()), *wider):
            if voc is None or voc is rs.vocabulary or not all(voc.has_path(n) for n in names):
                continue
            parse_facts(facts, voc)  # valid for the newer version, or its own problems
            stripped: Any = facts
            for ps in parts:
                stripped = _without(stripped, ps)
            return parse_facts(stripped, rs.vocabulary), tuple(unknown)
    voc = rs.vocabulary
    note = f"{rs.name} {rs.version}" + (f", vocabulary {voc.name}" if voc is not None else "")
    # a field unknown to this version: say which version (and vocabulary) refused it
    raise FactsError([FactProblem(p.path, f"{p.message} (for {note})", p.code)
                      if p.code == "extra_forbidden" else p
                      for p in refused.problems]) from None


def select_ruleset(
    facts: Mapping[str, Any] | Facts, *, ruleset: str | Ruleset | None = None,
    version: str | None = None, registry: Registry | None = None,
) -> Ruleset:
    """The ruleset to judge ``facts`` with (given, pinned by version, or in force by date).

    The order date is read from the facts its versions name (``effective.order_date``).

    Raises:
        FactsError: The facts are not a document, or a date that selects is not a date.
        UnknownRulesetError: No ruleset or version matches.
    """
    if isinstance(ruleset, Ruleset):
        return ruleset
    reg = registry or default_registry()
    if version:
        return reg.select(ruleset, version)
    if type(facts) is not dict and not isinstance(facts, Mapping | Facts):
        parse_facts(facts)  # raises: not a mapping of facts
    name = reg.resolve_name(ruleset)
    versions = reg.versions(name)
    paths = versions[-1].order_date
    if not paths and len(versions) == 1:
        return versions[0]
    if not paths:
        raise UnknownRulesetError(f"{name} has several versions but none lists "
                                  "effective.order_date, the facts that select one")
    try:
        day = order_date(facts, paths)
    except FactsError as exc:
        # report every problem of the document, read with the newest version's vocabulary
        try:
            parse_facts(facts, versions[-1].vocabulary)
        except FactsError as full:
            raise full from None
        raise exc from None
    if day is None:
        try:
            parse_facts(facts, versions[-1].vocabulary)
        except FactsError as full:
            raise full from None
        raise FactsError([FactProblem(paths[-1], "no order date: " + ", ".join(paths)
                                      + " are all null", "missing")])
    for rs in versions:
        if rs.in_force_on(day):
            return rs
    return reg.select(name, on=day)  # raises: none is in force on that day


def decide(
    ruleset: Ruleset, facts: Facts, params: Mapping[str, Any], *,
    trace: list[Any] | None = None, engine: str = "compiled",
) -> Decision:
    """Run a ruleset on validated facts: the decision core, without building a verdict.

    Returns:
        The :class:`~ta_rules.rulesets.program.Decision`: outcome, raw reasons
        ``(code, rule id, subject, values)`` and the amounts by name, unrounded.
    """
    program = get_engine(engine).prepare(ruleset)
    with decimal.localcontext(DECISION_CONTEXT):
        try:
            return program.run(facts, params, trace)
        except OutOfRangeError as exc:  # bad data, not a bug: say which rule met it
            where = ruleset.failure(exc)
            if where is None or exc.location is not None:
                raise
            what, location = where
            raise OutOfRangeError(f"{what} ({location}): {exc}", rule=what.removeprefix(
                "rule "), location=location) from None
        except TaRulesError:
            raise
        except Exception as exc:
            where = ruleset.failure(exc)
            if where is None:
                raise
            what, location = where
            raise EvaluationError(
                f"{what} ({location}) failed: {type(exc).__name__}: {exc}",
                rule=what.removeprefix("rule "),
                location=location) from exc


#: Bound override sets: (id of the ruleset, key of the overrides) -> (a weak reference to
#: the ruleset, the runtime parameters, their JSON form, whether that form is flat).
_BOUND: dict[tuple[int, Any], tuple[weakref.ref[Ruleset], Mapping[str, Any], dict[str, Any],
                                    bool]] = {}
_BOUND_CACHE_SIZE: Final = 256
_SCALARS: Final = (str, int, bool, float, type(None))


def _key(value: Any) -> Any:
    """A hashable key that tells apart values that compare equal but differ in type."""
    if isinstance(value, Mapping):
        return (dict, tuple((_key(k), _key(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), tuple(_key(v) for v in value))
    hash(value)  # TypeError for anything else unhashable: bound without the cache
    return (type(value), str(value) if isinstance(value, Decimal) else value)


def _overrides_key(overrides: Mapping[str, Any]) -> Any:
    return tuple((name, type(v), v) if type(v) in _SCALARS else (name, _key(v))
                 for name, v in overrides.items())


def _bind_parameters(rs: Ruleset, overrides: Mapping[str, Any] | None,
                     ) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """``rs.bind_parameters(overrides)``, bound once per distinct set of overrides.

    The runtime mapping is read-only and shared; the JSON form goes into each verdict, so
    every verdict gets its own copy.
    """
    if not overrides or not isinstance(overrides, Mapping):
        return rs.bind_parameters(overrides)
    try:
        key = (id(rs), _overrides_key(overrides))
        hit = _BOUND.get(key)
    except (TypeError, RecursionError):  # a value that cannot be a key: bind it every time
        return rs.bind_parameters(overrides)
    if hit is None or hit[0]() is not rs:
        params, shown = rs.bind_parameters(overrides)  # ParameterError: nothing is cached
        flat = all(type(v) in _SCALARS for v in shown.values())
        if len(_BOUND) >= _BOUND_CACHE_SIZE:
            _BOUND.clear()
        hit = _BOUND[key] = (weakref.ref(rs), params, shown, flat)
    _, params, shown, flat = hit
    return params, dict(shown) if flat else {k: _json_copy(v) for k, v in shown.items()}


def _json_copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    return value


def facts_hash(facts: Facts) -> str:
    """``sha256:`` of the canonical JSON of validated facts.

    Canonical: fields in the model's order, defaults filled in, amounts written to the
    currency's minor unit, so ``"5000"`` and ``"5000.00"`` give the same hash.
    """
    return "sha256:" + hashlib.sha256(facts.model_dump_json().encode()).hexdigest()


def evaluate(
    facts: Mapping[str, Any] | Facts,
    *,
    ruleset: str | Ruleset | None = None,
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    trace: bool = False,
    locale: str = "en",
    registry: Registry | None = None,
    engine: str = "compiled",
) -> Verdict:
    """Decide one claim.

    Args:
        facts: The facts document (a mapping as read from YAML/JSON) or validated :class:`Facts`.
        ruleset: A ruleset name, a compiled :class:`Ruleset`, or None for the default.
        version: Pin a version instead of choosing the one in force on the order date.
        parameters: Override ruleset parameters by name.
        trace: Record every rule evaluated and the values it saw.
        locale: The locale messages are rendered in.
        registry: Where to find rulesets by name (default: the bundled rulesets).
        engine: The evaluation engine (``compiled``, or ``durable`` when installed).

    Returns:
        The verdict.

    Raises:
        FactsError: The facts are invalid (every offending path is named).
        ParameterError: An override names a parameter the selected version does not declare
            (the message names the parameter, the version and why it was selected) or has
            a bad value.
        UnknownRulesetError: No ruleset or version matches.
        TaRulesError: The locale is unknown, or the ruleset's catalog has no translation
            into it (the message names the locales it has).

    Example:
        >>> import json
        >>> with open("examples/claims/late-shipment.json") as fh:
        ...     verdict = evaluate(json.load(fh))
        >>> verdict.outcome, sorted(verdict.codes), str(verdict.max_refund)
        ('covered', ['LATE_SHIPMENT'], '5000.00 USD')
    """
    rs = select_ruleset(facts, ruleset=ruleset, version=version, registry=registry)
    valid, ignored = read_facts(facts, rs)
    if parameters and isinstance(parameters, Mapping) and not isinstance(ruleset, Ruleset):
        undeclared = _undeclared_override(rs, parameters, valid, pinned=version is not None,
                                          registry=registry)
        if undeclared is not None:
            raise undeclared
    params, shown = _bind_parameters(rs, parameters)
    loc = resolve_locale(locale)
    if rs.spec.catalog is not None:
        require_catalog(loc, rs.spec.catalog, rs.catalog_root)
    entries: list[Any] | None = [] if trace else None
    decision = decide(rs, valid, params, trace=entries, engine=engine)
    if entries is not None and ignored:
        # facts of a newer version's vocabulary that this version ignored (read_facts)
        entries[:0] = [{"rule": f"facts.ignored.{path}", "group": "facts", "subject": path,
                        "applied": False, "values": {
                            "ignored": f"not in the vocabulary of {rs.name} {rs.version}"}}
                       for path in ignored]
    return build_verdict(rs, decision, parameters=shown, locale=loc,
                         facts_hash=functools.partial(facts_hash, valid), engine=engine,
                         trace=entries)


def explain(facts: Mapping[str, Any] | Facts, **options: Any) -> Verdict:
    """Evaluate with the trace on: every rule evaluated, whether it applied, what it read."""
    options["trace"] = True
    return evaluate(facts, **options)


@overload
def evaluate_many(
    items: Iterable[Mapping[str, Any] | Facts], *, ruleset: str | Ruleset | None = ...,
    version: str | None = ..., parameters: Mapping[str, Any] | None = ..., trace: bool = ...,
    locale: str = ..., registry: Registry | None = ..., engine: str = ...,
    errors: Literal["raise"] = ...,
) -> Iterator[Verdict]: ...


@overload
def evaluate_many(
    items: Iterable[Mapping[str, Any] | Facts], *, ruleset: str | Ruleset | None = ...,
    version: str | None = ..., parameters: Mapping[str, Any] | None = ..., trace: bool = ...,
    locale: str = ..., registry: Registry | None = ..., engine: str = ...,
    errors: Literal["yield"],
) -> Iterator[Verdict | TaRulesError]: ...


def evaluate_many(
    items: Iterable[Mapping[str, Any] | Facts], *, ruleset: str | Ruleset | None = None,
    version: str | None = None, parameters: Mapping[str, Any] | None = None,
    trace: bool = False, locale: str = "en", registry: Registry | None = None,
    engine: str = "compiled", errors: Literal["raise", "yield"] = "raise",
) -> Iterator[Verdict] | Iterator[Verdict | TaRulesError]:
    """Evaluate claims one after another, yielding verdicts in order (streaming).

    The options are those of :func:`evaluate`, applied to every item.

    Args:
        items: Facts documents (mappings) or validated :class:`Facts`.
        ruleset: See :func:`evaluate`.
        version: See :func:`evaluate`.
        parameters: See :func:`evaluate`.
        trace: See :func:`evaluate`.
        locale: See :func:`evaluate`.
        registry: See :func:`evaluate`.
        engine: See :func:`evaluate`.
        errors: ``raise``: an item that cannot be judged stops the stream with its error;
            ``yield``: the error is yielded in the item's place and the stream goes on.
            Either way the error's ``index`` is the item's position (from 0).

    Raises:
        TaRulesError: With ``errors="raise"``, the first item's that cannot be judged.
        ValueError: When ``errors`` is neither ``raise`` nor ``yield``.
    """
    if errors not in ("raise", "yield"):
        raise ValueError(f"errors must be 'raise' or 'yield', found {errors!r}")
    options: dict[str, Any] = {"ruleset": ruleset, "version": version,
                               "parameters": parameters, "trace": trace, "locale": locale,
                               "registry": registry, "engine": engine}
    return _stream(items, options, errors == "yield")


def _stream(items: Iterable[Mapping[str, Any] | Facts], options: dict[str, Any],
            keep_going: bool) -> Iterator[Any]:
    for index, facts in enumerate(items):
        try:
            yield evaluate(facts, **options)
        except TaRulesError as exc:
            exc.index = index
            if keep_going:
                yield exc
                continue
            exc.add_note(f"item {index} of evaluate_many")
            raise
