"""The verdict: the output of an evaluation. Frozen, and JSON-serialisable without loss."""

from __future__ import annotations

import functools
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_serializer

from ta_rules.money import Money

__all__ = ["Kind", "Outcome", "Reason", "RulesetRef", "TraceEntry", "Verdict", "built"]

_M = TypeVar("_M", bound=BaseModel)

Outcome = Literal["covered", "denied", "pending", "settled"]
Kind = Literal["basis", "cap", "denial", "pending", "closed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_set = object.__setattr__


@functools.cache
def _fields_set(cls: type[BaseModel]) -> set[str]:
    # every field is given; the set is only read (by exclude_unset), so one is shared
    return set(cls.model_fields)


def built(cls: type[_M], data: dict[str, Any]) -> _M:
    """An instance of ``cls`` from data the library itself produced and knows to be valid.

    What ``model_construct`` does for a model whose every field is given, without its
    per-call bookkeeping: verdicts are built on every evaluation, trace entries by the
    hundred.
    """
    obj = cls.__new__(cls)
    _set(obj, "__dict__", data)
    _set(obj, "__pydantic_fields_set__", _fields_set(cls))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


class _OnFirstAccess(_Frozen):
    """A model some of whose fields may be computed on first access.

    Such an instance holds, instead of a field's value, how to compute it
    (``__pydantic_private__``: {field: function}): a verdict's facts hash, a reason's
    message, which most callers never read. Reading the field, writing the model in any
    form (alone or inside another model), comparing, printing, iterating or pickling it
    computes every pending part first, in place, so every form shows every field, in
    order. Instances made any other way (validated, constructed) have nothing pending.
    """

    @model_serializer(mode="wrap")
    def _written_complete(self, handler):  # type: ignore[no-untyped-def]
        # no return annotation: pydantic would take it for the model's JSON schema
        pending = self.__pydantic_private__
        if pending:
            self._complete(pending)
        return handler(self)

    def _complete(self, pending: dict[str, Any]) -> None:
        data = self.__dict__
        _set(self, "__dict__", {name: data[name] if name in data else pending[name]()
                                for name in type(self).model_fields})
        _set(self, "__pydantic_private__", None)

    def __getattr__(self, name: str) -> Any:
        pending = self.__pydantic_private__
        if pending and name in pending:
            self._complete(pending)
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        for v in (self, other):
            if isinstance(v, _OnFirstAccess) and v.__pydantic_private__:
                v._complete(v.__pydantic_private__)
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # values and parameters are dicts anyway

    def __repr_args__(self) -> Any:
        if self.__pydantic_private__:
            self._complete(self.__pydantic_private__)
        return super().__repr_args__()

    def __iter__(self) -> Any:
        if self.__pydantic_private__:
            self._complete(self.__pydantic_private__)
        return super().__iter__()

    def __getstate__(self) -> dict[Any, Any]:
        if self.__pydantic_private__:
            self._complete(self.__pydantic_private__)
        return super().__getstate__()


class Reason(_OnFirstAccess):
    """One reason of a verdict.

    Attributes:
        code: The stable reason code (``LATE_SHIPMENT``).
        kind: basis, cap, denial, pending or closed.
        rule: The id of the rule that gave it.
        location: Where that rule is written (``file:line:column``).
        subject: The item it concerns (for example the claim ground), if any.
        message: The rendered, localised message.
        values: The values the message was rendered from (JSON form).
    """

    code: str
    kind: Kind
    rule: str
    location: str
    subject: str | None = None
    message: str
    values: dict[str, Any] = {}


class RulesetRef(_Frozen):
    """Which ruleset decided: name, version, content hash and file."""

    name: str
    version: str
    content_hash: str
    source: str


class TraceEntry(_Frozen):
    """One rule evaluated: whether it applied and the values its condition read.

    ``values`` holds what the rule saw, as the decision saw it (dates, decimals, fact
    objects; money as ``{amount, currency}``); in JSON every value is plain JSON.
    """

    rule: str
    group: str
    subject: str | None = None
    applied: bool
    values: dict[str, Any] = {}


class Verdict(_OnFirstAccess):
    """The decision on one claim.

    Attributes:
        outcome: covered, denied, pending or settled.
        reasons: Every reason, each with code, kind, rule, location and message.
        max_refund: The most the buyer can be refunded (zero unless covered).
        coverage_cap: The cap for covered and pending verdicts, else None.
        ruleset: The ruleset that decided.
        parameters: The parameters that were overridden (JSON form).
        locale: The locale messages were rendered in.
        facts_hash: ``sha256:`` of the canonical JSON of the validated facts.
        engine: The evaluation engine used.
        ta_rules_version: The library version that decided.
        trace: Every rule evaluated, when asked for.
    """

    outcome: Outcome
    reasons: tuple[Reason, ...]
    max_refund: Money
    coverage_cap: Money | None
    ruleset: RulesetRef
    parameters: dict[str, Any] = {}
    locale: str = "en"
    facts_hash: str
    engine: str = "compiled"
    ta_rules_version: str
    trace: tuple[TraceEntry, ...] | None = None

    @property
    def codes(self) -> frozenset[str]:
        """The set of reason codes."""
        return frozenset(r.code for r in self.reasons)
