"""The rule-file format: frozen pydantic models of what a ruleset file *says*.

A ruleset file has a name, a version and an effective date range; typed ``parameters``;
the ``reasons`` it can give (code, kind, message); named ``values`` derived from facts and
parameters; small ``functions``; rule ``groups`` (``all``: every rule that applies adds its
reasons; ``first``: the first rule that applies decides); the ``outcome`` rules (the first
that applies gives the verdict's outcome and reasons); and the ``amounts`` of the verdict.
Expressions are strings in the language of :mod:`ta_rules.rulesets._expr`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ta_rules.facts import _date

__all__ = [
    "AmountsSpec",
    "EffectiveSpec",
    "FunctionSpec",
    "GroupSpec",
    "OutcomeRuleSpec",
    "ParameterSpec",
    "ReasonSpec",
    "RuleSpec",
    "RulesetSpec",
    "ValueSpec",
]

Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)]
ReasonCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=100)]
ExprText = Annotated[str, Field(min_length=1, max_length=10_000)]
Doc = Annotated[str, Field(max_length=10_000)]
SpecDate = Annotated[dt.date, BeforeValidator(_date)]
Kind = Literal["basis", "cap", "denial", "pending", "closed"]
OutcomeName = Literal["covered", "denied", "pending", "settled"]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


class ParameterSpec(_Spec):
    """A policy parameter: its type, default and (for strings) allowed choices.

    Types: ``boolean``, ``integer``, ``decimal``, ``string``, ``date``, ``money[USD]``
    (money in a fixed currency), ``list[string]``, ``list[integer]``; a trailing ``?``
    allows null.
    """

    type: Annotated[str, Field(max_length=40)]
    default: Any = None
    choices: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=500)] | None \
        = None
    doc: Doc | None = None


class ReasonSpec(_Spec):
    """A reason code the ruleset can give: its kind and its English message template."""

    kind: Kind
    message: Annotated[str, Field(min_length=1, max_length=1000)]
    doc: Doc | None = None


class FunctionSpec(_Spec):
    """A named, typed helper expression with parameters (for example ``qualifies(p)``)."""

    params: dict[Identifier, Annotated[str, Field(max_length=40)]]
    expr: ExprText
    doc: Doc | None = None


class ValueSpec(_Spec):
    """A named derived value with documentation."""

    expr: ExprText
    doc: Doc | None = None


class RuleSpec(_Spec):
    """One rule: when it applies, the reasons it gives (or the table it hands over to)."""

    id: RuleId
    when: ExprText | None = None
    reasons: Annotated[list[ExprText], Field(max_length=50)] = Field(default_factory=list)
    use: Identifier | None = None
    with_: dict[Identifier, ExprText] = Field(default_factory=dict, alias="with")
    doc: Doc | None = None

    @model_validator(mode="after")
    def _reasons_or_use(self) -> RuleSpec:
        if self.use is not None and self.reasons:
            raise ValueError("a rule gives either reasons or use (another table), not both")
        return self


RuleList = Annotated[list[RuleSpec], Field(max_length=2000)]


class GroupSpec(_Spec):
    """A group of rules.

    ``mode: all`` collects the reasons of every rule that applies; ``mode: first`` stops at
    the first rule that applies. A group with ``for_each: item in list`` runs, for every item,
    the table named by the item's value (or ``default``).
    """

    mode: Literal["all", "first"]
    rules: RuleList | None = None
    for_each: Annotated[str, Field(max_length=200)] | None = None
    tables: dict[Annotated[str, Field(max_length=64)], RuleList] | None = None
    default: Identifier | None = None
    doc: Doc | None = None

    @model_validator(mode="after")
    def _shape(self) -> GroupSpec:
        if self.for_each is None:
            if self.rules is None or self.tables is not None or self.default is not None:
                raise ValueError("a group without for_each needs rules (and no tables/default)")
        elif self.tables is None or self.rules is not None:
            raise ValueError("a group with for_each needs tables (and no rules)")
        return self


class OutcomeRuleSpec(_Spec):
    """An outcome rule: the first that applies gives the verdict's outcome and reasons."""

    id: RuleId
    when: ExprText | None = None
    outcome: OutcomeName
    reasons: Annotated[list[ExprText], Field(max_length=50)] = Field(default_factory=list)
    with_: dict[Identifier, ExprText] = Field(default_factory=dict, alias="with")
    doc: Doc | None = None


class AmountsSpec(_Spec):
    """The verdict's amounts, as expressions of money in the contract currency."""

    max_refund: ExprText
    coverage_cap: ExprText


FactPath = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$",
                                max_length=200)]


class EffectiveSpec(_Spec):
    """The order dates a version is in force for: ``from`` inclusive, ``until`` exclusive.

    ``order_date`` lists date facts (``contract.placed_on``); the first that is not null is
    the order date that selects the version. Every version of a ruleset lists the same.
    """

    from_: SpecDate | None = Field(default=None, alias="from")
    until: SpecDate | None = None
    order_date: Annotated[list[FactPath], Field(max_length=20)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> EffectiveSpec:
        if self.from_ is not None and self.until is not None and self.until <= self.from_:
            raise ValueError("effective.until must be after effective.from")
        return self


class RulesetSpec(_Spec):
    """A whole ruleset file.

    ``vocabulary`` names the facts vocabulary the rules are written against (a
    ``NAME.vocabulary.yaml`` beside the file, else a bundled one; default
    ``trade-assurance``). ``catalog`` names the gettext domain whose translations of the
    reason messages ship with ta-rules (``ta_rules``); without it, messages are shown as
    written in the file.
    """

    ruleset: Annotated[str, Field(pattern=r"^[a-z][a-z0-9\-]*$", max_length=64)]
    version: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)*$", max_length=32)]
    title: Annotated[str, Field(max_length=200)] | None = None
    description: Doc | None = None
    catalog: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)] | None = None
    vocabulary: Annotated[str, Field(pattern=r"^[a-z][a-z0-9\-]*$", max_length=64)] | None \
        = None
    effective: EffectiveSpec
    parameters: dict[Identifier, ParameterSpec] = Field(default_factory=dict)
    reasons: dict[ReasonCode, ReasonSpec]
    functions: dict[Identifier, FunctionSpec] = Field(default_factory=dict)
    values: dict[Identifier, ExprText | ValueSpec] = Field(default_factory=dict)
    groups: dict[Identifier, GroupSpec] = Field(default_factory=dict)
    outcome: Annotated[list[OutcomeRuleSpec], Field(min_length=1, max_length=200)]
    amounts: AmountsSpec
