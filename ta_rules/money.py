"""Exact money: a Decimal amount with an ISO-4217 currency.

Amounts are never floats. Arithmetic and comparison between two currencies raise
:class:`CurrencyMismatchError` instead of guessing a rate; conversion is the policy's job and
is written in the ruleset.

Example:
    >>> a = Money.of("5000.00", "USD")
    >>> (a - Money.of("1500", "USD")).amount
    Decimal('3500.00')
    >>> Money.of("10.005", "USD").rounded().amount
    Decimal('10.01')
"""

from __future__ import annotations

import decimal
import functools
import re
from decimal import Decimal
from typing import Any, Final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, ValidationError, core_schema

from ta_rules._iso4217 import MINOR_UNITS
from ta_rules.errors import TaRulesError

__all__ = [
    "MONEY_CONTEXT",
    "ROUNDING_MODES",
    "CurrencyMismatchError",
    "Money",
    "currency_problem",
    "is_known_currency",
    "known_currencies",
    "minor_unit",
    "parse_amount",
    "parse_decimal",
    "round_to",
]

#: Rounding modes a ruleset may name, mapped to :mod:`decimal` constants.
ROUNDING_MODES: Final[dict[str, str]] = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
    "floor": decimal.ROUND_FLOOR,
    "ceiling": decimal.ROUND_CEILING,
}

#: Largest number of digits an amount may have before the decimal point.
MAX_INTEGER_DIGITS: Final = 15

#: The decimal context of all money arithmetic, rounding and formatting: 60 significant
#: digits. Within the bounds of the facts (:data:`MAX_INTEGER_DIGITS` digits before the
#: point, :data:`MAX_DECIMAL_PLACES` places of a rate) a product has at most 30 + 24 digits
#: and a quotient is known to 60 digits, far more than telling it from the nearest minor
#: unit needs (see docs/limits.md): every result is exact or exactly rounded. Python's
#: default context (28 digits) cannot even round 10^27 to cents.
MONEY_CONTEXT: Final = decimal.Context(
    prec=60, rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
_AMOUNT_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")


class CurrencyMismatchError(TaRulesError, TypeError):
    """Arithmetic or comparison between amounts of two different currencies."""


@functools.cache
def _currencies() -> frozenset[str]:
    return frozenset(MINOR_UNITS)


def is_known_currency(code: str) -> bool:
    """Whether ``code`` is an ISO-4217 code in current use (see :mod:`ta_rules._iso4217`)."""
    return code in MINOR_UNITS


def minor_unit(currency: str) -> int:
    """Decimal places of the currency's minor unit, from ISO 4217 (USD 2, JPY 0, IQD 3).

    Raises:
        KeyError: For a code that is not a currency in current use.
    """
    return MINOR_UNITS[currency]


def known_currencies() -> list[str]:
    """Every ISO-4217 code in current use, in code order."""
    return list(MINOR_UNITS)


def round_to(amount: Decimal, places: int, mode: str = "half_up") -> Decimal:
    """Round ``amount`` to ``places`` decimal places with a named rounding mode.

    Args:
        amount: The value to round.
        places: Decimal places to keep (may be 0).
        mode: One of :data:`ROUNDING_MODES`.

    Returns:
        The rounded Decimal.
    """
    exp = Decimal(1).scaleb(-places, MONEY_CONTEXT)
    return amount.quantize(exp, rounding=ROUNDING_MODES[mode], context=MONEY_CONTEXT)


def parse_amount(value: object) -> Decimal:
    """Parse an amount given as a decimal string or an int; floats are refused.

    Raises:
        ValueError: With a message saying what was expected and found.
    """
    if isinstance(value, bool | float):
        raise ValueError(
            f"expected a decimal string such as \"5000.00\", found the {type(value).__name__} "
            f"{value!r} (floats are never used for money)"
        )
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"expected a finite amount, found {value}")
        text = format(value, "f")
    elif isinstance(value, str):
        text = value
        if len(text) > 64:
            raise ValueError(
                f"expected a decimal string, found a string of {len(value)} characters")
    else:
        raise ValueError(
            f"expected a decimal string such as \"5000.00\", found {type(value).__name__}"
        )
    if not _AMOUNT_RE.fullmatch(text):
        raise ValueError(f"expected a decimal string such as \"5000.00\", found {value!r}")
    integer = text.lstrip("-").split(".")[0]
    if len(integer) > MAX_INTEGER_DIGITS:
        raise ValueError(
            f"amount has {len(integer)} digits before the point; at most {MAX_INTEGER_DIGITS}"
        )
    amount = Decimal(text)
    if amount.is_zero() and amount.is_signed():
        # -0.00 equals 0.00 yet prints as "-0.00" in verdicts and messages
        raise ValueError(f"expected an amount, found the negative zero {value!r}; write 0")
    return amount


#: Most decimal places of a decimal fact (an exchange rate, ...), so that it is at least
#: 1e-12 when not zero. With at most :data:`MAX_INTEGER_DIGITS` digits before the point, a
#: computed amount (amount x rate, amount / rate) then has at most 27 integer digits, well
#: inside the 60 digits decisions compute with: every computation is defined.
MAX_DECIMAL_PLACES: Final = 12


def parse_decimal(value: object) -> Decimal:
    """Parse a decimal fact (a decimal string or int) as :func:`parse_amount` does.

    At most :data:`MAX_DECIMAL_PLACES` decimal places that are not zeros.

    Raises:
        ValueError: With a message saying what was expected and found.
    """
    number = parse_amount(value)
    exp = number.as_tuple().exponent
    if isinstance(exp, int) and -exp > MAX_DECIMAL_PLACES and number != number.quantize(
            Decimal(1).scaleb(-MAX_DECIMAL_PLACES), rounding=decimal.ROUND_DOWN):
        raise ValueError(f"at most {MAX_DECIMAL_PLACES} decimal places (so at least "
                         f"0.{'0' * (MAX_DECIMAL_PLACES - 1)}1 when not zero), found {value!r}"
                         [:200])
    return number


class Money:
    """An exact amount of one currency. Immutable and hashable.

    Attributes:
        amount: The Decimal amount.
        currency: The ISO-4217 code.
    """

    __slots__ = ("_text", "amount", "currency")

    amount: Decimal
    currency: str
    _text: str | None

    def __init__(self, amount: Decimal, currency: str, _text: str | None = None) -> None:
        # the slots are set through their descriptors: Money has no public setter
        _set_amount(self, amount)
        _set_currency(self, currency)
        # the amount written to the minor unit, once known (it is what JSON shows)
        _set_text(self, _text)

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        """Build Money from a decimal string or int and a currency code, validating both.

        Raises:
            ValueError: For a float, a malformed amount or an unknown currency.
        """
        problem = currency_problem(currency)
        if problem is not None:
            raise ValueError(problem[1])
        return cls(parse_amount(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``."""
        return cls(Decimal(0), currency)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Money is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Money, (self.amount, self.currency))

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def _same(self, other: Money, op: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot {op} {self.currency} and {other.currency} amounts without a conversion"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if self.currency != other.currency:
            self._same(other, "add")
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if self.currency != other.currency:
            self._same(other, "subtract")
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, other: object) -> Money:
        if isinstance(other, bool) or not isinstance(other, int | Decimal):
            return NotImplemented
        return Money(self.amount * other, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __lt__(self, other: Money) -> bool:
        if self.currency != other.currency:
            self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if self.currency != other.currency:
            self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if self.currency != other.currency:
            self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if self.currency != other.currency:
            self._same(other, "compare")
        return self.amount >= other.amount

    def rounded(self, mode: str = "half_up", places: int | None = None) -> Money:
        """Round to the currency's minor unit (or ``places``) with a named mode."""
        digits = minor_unit(self.currency) if places is None else places
        if self.amount.as_tuple().exponent == -digits:
            return self  # already written to that many places: rounding changes nothing
        return Money(round_to(self.amount, digits, mode), self.currency)

    def to_json(self) -> dict[str, str]:
        """Return ``{"amount": "...", "currency": "..."}`` rounded to the minor unit."""
        text = self._text
        if text is None:
            text = _format_amount(self)
            object.__setattr__(self, "_text", text)
        return {"amount": text, "currency": self.currency}

    # pydantic integration: money in documents (facts, verdicts) is never negative --------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        fields = core_schema.typed_dict_schema(
            {
                "amount": core_schema.typed_dict_field(
                    core_schema.no_info_plain_validator_function(_validate_amount)
                ),
                "currency": core_schema.typed_dict_field(
                    core_schema.no_info_plain_validator_function(_validate_currency)
                ),
            },
            extra_behavior="forbid",
        )
        return core_schema.no_info_wrap_validator_function(
            _validate_money,
            fields,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: m.to_json(), when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "object",
            "title": "Money",
            "description": "A decimal amount (as a string or integer) with an ISO-4217 currency.",
            "properties": {
                "amount": {
                    "oneOf": [
                        {"type": "string", "pattern": r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"},
                        {"type": "integer"},
                    ]
                },
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }


_SLOTS: Any = vars(Money)
_set_amount = _SLOTS["amount"].__set__
_set_currency = _SLOTS["currency"].__set__
_set_text = _SLOTS["_text"].__set__


def _format_amount(m: Money) -> str:
    places = minor_unit(m.currency)
    exp = m.amount.as_tuple().exponent
    if isinstance(exp, int) and -exp > places:
        # More precision than the minor unit (an unrounded intermediate): keep it all.
        return format(m.amount, "f")
    return format(round_to(m.amount, places), "f")


def _validate_amount(value: Any) -> Decimal:
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise PydanticCustomError("amount", "{detail}", {"detail": str(exc)}) from None


def currency_problem(value: object) -> tuple[str, str] | None:
    """Why ``value`` is not a currency code: (kind, message), or None when it is one.

    Kinds: ``currency_code`` (not three upper-case letters; a known code in other letter
    case is suggested) and ``currency_unknown`` (not on the ISO 4217 list in current use).
    """
    if not isinstance(value, str) or not _CURRENCY_RE.fullmatch(value):
        found = repr(value)[:40]
        hint = ""
        if isinstance(value, str) and value.strip().upper() in MINOR_UNITS:
            hint = f"; did you mean {value.strip().upper()!r}?"
        return ("currency_code",
                f"expected a three-letter upper-case ISO-4217 code, found {found}{hint}")
    if value not in MINOR_UNITS:
        return ("currency_unknown", f"unknown currency code {value}: not an ISO 4217 code "
                                    "in current use")
    return None


def _validate_currency(value: Any) -> str:
    problem = currency_problem(value)
    if problem is not None:
        raise PydanticCustomError(problem[0], "{detail}", {"detail": problem[1]})
    return str(value)


_FAST_AMOUNT: Final = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,3})?")


def _validate_money(value: Any, handler: core_schema.ValidatorFunctionWrapHandler) -> Money:
    if isinstance(value, Money):
        return value
    if type(value) is dict and len(value) == 2:
        # the common case, checked without the per-field validators; anything unusual takes
        # the full path below, which names the offending field
        amount_text = value.get("amount")
        code = value.get("currency")
        if type(amount_text) is str and type(code) is str and _FAST_AMOUNT.fullmatch(
                amount_text) and code in _currencies():
            digits = minor_unit(code)
            dot = amount_text.find(".")
            decimals = 0 if dot < 0 else len(amount_text) - dot - 1
            if decimals <= digits:
                return Money(Decimal(amount_text), code,
                             amount_text if decimals == digits else None)
            if amount_text.endswith("0" * (decimals - digits)):
                # extra zero digits: the same amount, written to the minor unit
                text = amount_text[:dot + 1 + digits] if digits else amount_text[:dot]
                return Money(Decimal(text), code, text)
    fields = handler(value)
    amount: Decimal = fields["amount"]
    currency: str = fields["currency"]
    if amount.is_signed():  # -0.00 too: money in a document never has a minus sign
        raise PydanticCustomError("amount_negative", "amount must not be negative, found "
                                  "{amount}", {"amount": str(amount)})
    exp = amount.as_tuple().exponent
    places = minor_unit(currency)
    if isinstance(exp, int) and -exp > places:
        # digits beyond the minor unit are allowed when they are zeros (5000.000 USD)
        exact = round_to(amount, places, "down")
        if exact != amount:
            raise _precision_error(value["amount"], amount, currency, places)
        amount = exact
    return Money(amount, currency)


def _precision_error(found: Any, amount: Decimal, currency: str,
                     places: int) -> ValidationError:
    """Non-zero digits beyond the minor unit, reported at the amount itself."""
    text = found if isinstance(found, str) else format(amount, "f")
    expected = (f"a whole number of {currency} ({currency} has no decimal places; "
                if places == 0 else f"at most {places} decimal places for {currency} (")
    error = PydanticCustomError(
        "amount_precision", "{detail}",
        {"detail": f"expected {expected}extra digits must be zeros), found {text}"})
    return ValidationError.from_exception_data(
        "Money", [{"type": error, "loc": ("amount",), "input": found}])
