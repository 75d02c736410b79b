"""The verdict builder: a program's :class:`~ta_rules.rulesets.program.Decision` to a verdict.

The one place a :class:`~ta_rules.verdict.Verdict` is made. It fills every field the model
declares and refuses to make a verdict with fewer; ``tests/test_runtime.py`` checks the
fields it fills, and their order, against the fields declared.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final

from ta_rules._version import __version__
from ta_rules.messages import exact_key, json_value, render
from ta_rules.money import Money
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.program import Decision, RawReason
from ta_rules.verdict import Reason, RulesetRef, TraceEntry, Verdict, built

__all__ = ["VERDICT_FIELDS", "build_verdict", "verdict_fields"]

#: The fields a verdict declares, in order.
VERDICT_FIELDS: Final = tuple(Verdict.model_fields)

_REFS: weakref.WeakKeyDictionary[Ruleset, RulesetRef] = weakref.WeakKeyDictionary()
_REASONS: weakref.WeakKeyDictionary[Ruleset, dict[tuple[Any, ...], Reason]] = \
    weakref.WeakKeyDictionary()
_REASON_CACHE_SIZE: Final = 20_000


def _ruleset_ref(rs: Ruleset) -> RulesetRef:
    ref = _REFS.get(rs)
    if ref is None:
        ref = RulesetRef.model_construct(name=rs.name, version=rs.version,
                                         content_hash=rs.content_hash, source=rs.source)
        _REFS[rs] = ref
    return ref


def _reason(rs: Ruleset, code: str, rule_id: str, subject: Any,
            values: dict[str, Any] | None, loc: Any) -> Reason:
    """A verdict reason.

    Identical reasons (same rule, values and locale) are shared: reasons are immutable, and
    rendering a message is the costly part.
    """
    # values that compare equal but print differently (1 and Decimal("1.0"), -0.00 and 0.00
    # USD) are different keys, so a cached reason is exactly the one this claim would render
    cache = _REASONS.get(rs)
    if cache is None:
        cache = _REASONS.setdefault(rs, {})
    key: tuple[Any, ...] | None
    try:
        key = (code, rule_id, exact_key(subject), str(loc), tuple(
            (k, exact_key(v)) for k, v in values.items()) if values else ())
        hit = cache.get(key)
    except TypeError:  # a value that cannot be a key (a fact object): render without the cache
        key, hit = None, None
    if hit is not None:
        return hit
    definition = rs.reasons[code]
    # the message is rendered on first access (most callers read codes, not messages)
    reason = built(Reason, {
        "code": code,
        "kind": definition.kind,
        "rule": rule_id,
        "location": str(rs.rules[rule_id].location),
        "subject": subject,
        "values": {k: json_value(v) for k, v in values.items()} if values else {},
    })
    object.__setattr__(reason, "__pydantic_private__", {"message": functools.partial(
        render, code, definition.message, values, loc, rs.spec.catalog, rs.catalog_root)})
    if key is not None:
        if len(cache) >= _REASON_CACHE_SIZE:
            cache.clear()
        cache[key] = reason
    return reason


def _reasons(rs: Ruleset, raw: Sequence[RawReason], loc: Any) -> tuple[Reason, ...]:
    reasons = []
    # one reason per (code, subject): every ground that gave a code is named
    seen: set[tuple[str, Any]] = set()
    for code, rule_id, subject, values in raw:
        if (code, subject) in seen:
            continue
        seen.add((code, subject))
        reasons.append(_reason(rs, code, rule_id, subject, values, loc))
    return tuple(reasons)


def _trace(entries: list[dict[str, Any]] | None) -> tuple[TraceEntry, ...] | None:
    if entries is None:
        return None
    # values stay as they are (pydantic writes dates, decimals, tuples and fact objects to
    # JSON itself), except money, which JSON shows as {amount, currency}
    for entry in entries:
        seen_values = entry["values"]
        for k, v in seen_values.items():
            if type(v) is Money:
                seen_values[k] = v.to_json()
    return tuple(built(TraceEntry, entry) for entry in entries)


def _amount(value: Money | None) -> Money | None:
    return value.rounded("half_up") if value is not None else None


def verdict_fields(
    rs: Ruleset, decision: Decision, *, parameters: dict[str, Any], locale: Any,
    engine: str, trace: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The fields of the verdict on ``decision`` computed now, by name, in declared order.

    The order matters: pydantic writes a model's JSON in the order of its ``__dict__``. The
    fields of :data:`ON_FIRST_ACCESS` are given to :func:`build_verdict` as functions.
    """
    amounts = decision.amounts
    return {
        "outcome": decision.outcome,
        "reasons": _reasons(rs, decision.reasons, locale),
        "max_refund": _amount(amounts["max_refund"]),
        "coverage_cap": _amount(amounts["coverage_cap"]),
        "ruleset": _ruleset_ref(rs),
        "parameters": parameters,
        "locale": str(locale),
        "engine": engine,
        "ta_rules_version": __version__,
        "trace": _trace(trace),
    }


#: The verdict's fields computed on first access (most callers never read them); a
#: reason's ``message`` is too.
ON_FIRST_ACCESS: Final = ("facts_hash",)
_COUNT: Final = len(VERDICT_FIELDS)


def build_verdict(
    rs: Ruleset, decision: Decision, *, parameters: dict[str, Any], locale: Any,
    facts_hash: Callable[[], str], engine: str, trace: list[dict[str, Any]] | None,
) -> Verdict:
    """The verdict on ``decision``, every declared field filled or pending.

    Args:
        rs: The ruleset that decided.
        decision: What its program returned.
        parameters: The overridden parameters (JSON form).
        locale: The locale of the messages.
        facts_hash: Computes the facts hash, on the verdict's first use of it.
        engine: The engine's name.
        trace: The trace entries, or None.

    Raises:
        RuntimeError: Fewer or more fields are given than :class:`Verdict` declares (a bug
            in the library: the builder and the model disagree).
    """
    data = verdict_fields(rs, decision, parameters=parameters, locale=locale, engine=engine,
                          trace=trace)
    pending = {"facts_hash": facts_hash}
    if len(data) + len(pending) != _COUNT or not pending.keys().isdisjoint(data):
        given = [*data, *pending]
        missing = [f for f in VERDICT_FIELDS if f not in given]
        extra = [f for f in given if f not in VERDICT_FIELDS]
        raise RuntimeError(f"the verdict builder and Verdict disagree: not filled {missing}, "
                           f"not declared {extra}")
    verdict = built(Verdict, data)
    object.__setattr__(verdict, "__pydantic_private__", pending)
    return verdict
