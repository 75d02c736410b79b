"""The fact vocabulary: what one claim's facts document may say.

The models mirror section 2 of the domain specification. They are frozen, refuse unknown
fields, and are strict: a boolean is not a number, a number is not a date, a float is never
money. :func:`parse_facts` turns a mapping into :class:`Facts` or raises
:class:`~ta_rules.errors.FactsError` naming every offending path.

Rulesets refer to facts by dotted paths (``contract.order_amount``); money fields carry a
:class:`Currency` marker that says which currency they must be in, so the compiler can refuse
a comparison between contract-currency money and USD money.

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
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from ta_rules.errors import FactProblem, FactsError
from ta_rules.money import Money, is_known_currency, parse_amount

__all__ = [
    "Claim",
    "Contract",
    "Currency",
    "Facts",
    "Ground",
    "Inspection",
    "Payment",
    "Shipment",
    "Supplier",
    "parse_facts",
]

#: The earliest and latest dates a facts document may hold.
MIN_DATE: Final = dt.date(1900, 1, 1)
MAX_DATE: Final = dt.date(2999, 12, 31)
_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclasses.dataclass(frozen=True)
class Currency:
    """Marks a money field with the currency it must be in.

    Attributes:
        code: ``"contract"`` for the contract currency (that of ``contract.order_amount``),
            or an ISO-4217 code such as ``"USD"``.
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


def _rate(value: Any) -> Decimal:
    amount = parse_amount(value)
    if amount <= 0:
        raise ValueError(f"a rate must be greater than zero, found {amount}")
    return amount


Day = Annotated[
    dt.date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]
ContractMoney = Annotated[Money, Currency("contract")]
UsdMoney = Annotated[Money, Currency("USD")]
Rate = Annotated[
    Decimal,
    BeforeValidator(_rate),
    WithJsonSchema(
        {"oneOf": [{"type": "string", "pattern": r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"},
                   {"type": "integer"}]}
    ),
]
Code = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=20_000)]
Ground = Literal[
    "late_shipment",
    "quality",
    "non_arrival",
    "transit_damage",
    "post_shipment_quality",
    "quantity_shortfall",
    "other",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Contract(_Model):
    """The Trade Assurance contract."""

    placed_on: Day | None = None
    confirmed_on: Day | None
    category: Code
    order_amount: ContractMoney
    total_value: ContractMoney | None = None
    fx_rate_to_usd: Rate | None = None
    ship_by: Day | None
    ship_within_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    amended_ship_by: Day | None = None
    amendment_agreed_on: Day | None = None
    quality_safeguard: bool
    quality_safeguard_at_placement: bool | None = None
    quality_requirements: Annotated[list[Text], Field(max_length=1000)]

    @model_validator(mode="after")
    def _one_ship_by(self) -> Contract:
        if (self.ship_by is None) == (self.ship_within_days is None):
            raise ValueError("exactly one of ship_by and ship_within_days must be given")
        return self


class Supplier(_Model):
    """The supplier's participation and Trade Assurance limit (limits are in USD)."""

    participating: bool
    participating_at_claim: bool | None = None
    ta_limit: UsdMoney | None
    limit_in_use: UsdMoney = Money(Decimal(0), "USD")


class Payment(_Model):
    """One payment the buyer made."""

    role: Literal["initial", "balance"]
    method: Code | None
    to_platform_account: bool
    payer_name_entered: bool | None
    amount: ContractMoney
    received_on: Day


class Shipment(_Model):
    """What was shipped and when."""

    shipped_on: Day | None
    first_partial_shipped_on: Day | None = None
    delivered_on: Day | None = None
    damaged_in_transit: bool = False
    damage_stage: Code | None = None


class Inspection(_Model):
    """A quality check of the goods."""

    on: Day
    method: Literal["third_party_inspection", "buyer_sample_check", "buyer_onsite_check"]
    result: Literal["pass", "fail"] | None
    findings: Text | None = None


def _prior_payouts_optional(schema: dict[str, Any]) -> None:
    # Facts fills a missing prior_payouts with zero in the contract currency.
    required = schema.get("required", [])
    if "prior_payouts" in required:
        required.remove("prior_payouts")
    schema["properties"]["prior_payouts"]["description"] = (
        "Refunds already paid for this order; zero in the contract currency when left out.")


class Claim(_Model):
    """What the buyer claims, and how the dispute has gone so far."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True,
                              json_schema_extra=_prior_payouts_optional)

    grounds: Annotated[list[Ground], Field(min_length=1, max_length=20)]
    description: Text | None = None
    submitted_on: Day
    supplier_responded_on: Day | None = None
    settled_on: Day | None = None
    determination_requested_on: Day | None = None
    buyer_accepted_delay: bool = False
    chargeback_filed: bool = False
    prior_payouts: ContractMoney


class Facts(_Model):
    """One claim's facts: the input of an evaluation."""

    as_of: Day
    contract: Contract
    supplier: Supplier
    payments: Annotated[list[Payment], Field(max_length=1000)]
    shipment: Shipment
    inspection: Inspection | None
    post_shipment_inspection: Inspection | None = None
    claim: Claim

    @model_validator(mode="before")
    @classmethod
    def _default_prior_payouts(cls, data: Any) -> Any:
        # prior_payouts defaults to zero *in the contract currency*, which only the whole
        # document knows; fill it in before the field is validated.
        if not isinstance(data, Mapping):
            return data
        claim = data.get("claim")
        contract = data.get("contract")
        if not isinstance(claim, Mapping) or claim.get("prior_payouts") is not None:
            return data
        currency = "USD"
        if isinstance(contract, Mapping) and isinstance(contract.get("order_amount"), Mapping):
            found = contract["order_amount"].get("currency")
            if isinstance(found, str) and is_known_currency(found):
                currency = found
        new_claim = dict(claim)
        new_claim["prior_payouts"] = {"amount": "0", "currency": currency}
        new_data = dict(data)
        new_data["claim"] = new_claim
        return new_data


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxdict = _REPR.maxlist = 4


def _found(value: Any) -> str:
    # bounded: the input may be megabytes long or nested thousands of levels deep
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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


def _currency_problems(facts: Facts) -> list[FactProblem]:
    """Money must be in the currency its field requires (the contract's, or USD)."""
    want = facts.contract.order_amount.currency
    problems = []

    def check(path: str, m: Money | None, expected: str) -> None:
        if m is not None and m.currency != expected:
            problems.append(
                FactProblem(
                    path=path + ".currency",
                    message=f"expected {expected} (the "
                    + ("contract currency" if expected == want and path != "supplier" else
                       "currency of supplier limits")
                    + f"), found {m.currency}",
                    code="currency_mismatch",
                )
            )

    check("contract.total_value", facts.contract.total_value, want)
    for i, p in enumerate(facts.payments):
        check(f"payments[{i}].amount", p.amount, want)
    check("claim.prior_payouts", facts.claim.prior_payouts, want)
    check("supplier.ta_limit", facts.supplier.ta_limit, "USD")
    check("supplier.limit_in_use", facts.supplier.limit_in_use, "USD")
    initial = [i for i, p in enumerate(facts.payments) if p.role == "initial"]
    for i in initial[1:]:
        problems.append(
            FactProblem(
                path=f"payments[{i}].role",
                message=f"at most one initial payment; payments[{initial[0]}] is already initial",
                code="duplicate_initial",
            )
        )
    return problems


def parse_facts(data: Any) -> Facts:
    """Validate a facts document (a mapping, as read from YAML or JSON).

    Args:
        data: The document, or an existing :class:`Facts` (returned as it is).

    Returns:
        The validated, frozen facts.

    Raises:
        FactsError: Naming every offending path, with what was expected and found.
    """
    if isinstance(data, Facts):
        return data
    if not isinstance(data, Mapping):
        raise FactsError(
            [FactProblem("", f"expected a mapping of facts, found {type(data).__name__}", "type")]
        )
    try:
        facts = Facts.model_validate(data)
    except ValidationError as exc:
        raise FactsError(_problems_from(exc)) from None
    except RecursionError:
        raise FactsError([FactProblem("", "the document is nested too deeply", "depth")]) from None
    problems = _currency_problems(facts)
    if problems:
        raise FactsError(problems)
    return facts
