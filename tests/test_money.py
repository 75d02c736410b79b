"""Exact money: currencies, minor units, rounding, mixed currencies, no floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import ta_rules
from ta_rules.evaluate import facts_hash
from ta_rules.money import CurrencyMismatchError, Money, minor_unit, round_to


@pytest.mark.parametrize("currency,places", [("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3),
                                             ("KWD", 3), ("CNY", 2)])
def test_minor_units_from_iso_4217(currency: str, places: int) -> None:
    assert minor_unit(currency) == places


@pytest.mark.parametrize("amount,currency,expected", [
    ("10.005", "USD", "10.01"), ("10.015", "USD", "10.02"), ("10.0049", "USD", "10.00"),
    ("-10.005", "USD", "-10.01"), ("0.5", "JPY", "1"), ("1.5", "JPY", "2"),
    ("2.5", "JPY", "3"), ("1.0005", "BHD", "1.001"), ("1.0004", "BHD", "1.000"),
    ("0.125", "EUR", "0.13"),
])
def test_half_up_rounding_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert Money(Decimal(amount), currency).rounded("half_up").amount == Decimal(expected)
    assert str(Money(Decimal(amount), currency).rounded("half_up").amount) == expected


def test_other_rounding_modes_are_explicit() -> None:
    assert round_to(Decimal("2.5"), 0, "half_even") == Decimal(2)
    assert round_to(Decimal("2.675"), 2, "down") == Decimal("2.67")
    assert round_to(Decimal("-2.671"), 2, "floor") == Decimal("-2.68")
    with pytest.raises(KeyError):
        round_to(Decimal(1), 0, "bankers")


def test_mixed_currencies_raise_instead_of_guessing() -> None:
    usd, eur = Money.of("1", "USD"), Money.of("1", "EUR")
    for op in (lambda: usd + eur, lambda: usd - eur, lambda: usd < eur, lambda: usd >= eur):
        with pytest.raises(CurrencyMismatchError):
            op()
    assert usd != eur
    assert isinstance(CurrencyMismatchError("x"), ta_rules.TaRulesError)


def test_equality_by_value() -> None:
    assert Money.of("5000", "USD") == Money.of("5000.00", "USD")
    assert hash(Money.of("5000", "USD")) == hash(Money.of("5000.00", "USD"))


@pytest.mark.parametrize("bad", [1.5, float("nan"), float("inf"), 1e309, True])
def test_floats_are_refused_everywhere(bad: Any, facts: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"float|decimal string"):
        Money.of(bad, "USD")
    facts["payments"][0]["amount"]["amount"] = bad
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert info.value.paths == ("payments[0].amount.amount",)
    facts["payments"][0]["amount"]["amount"] = "5000.00"
    facts["contract"]["fx_rate_to_usd"] = bad
    with pytest.raises(ta_rules.FactsError):
        ta_rules.evaluate(facts)
    with pytest.raises(ta_rules.ParameterError):
        ta_rules.evaluate(facts | {"contract": {**facts["contract"], "fx_rate_to_usd": None}},
                          parameters={"min_order_amount_usd": bad})


def test_minor_unit_precision_is_enforced_in_facts(facts: dict[str, Any]) -> None:
    facts["contract"]["order_amount"] = {"amount": "150000.5", "currency": "JPY"}
    with pytest.raises(ta_rules.FactsError, match="JPY has no decimal places"):
        ta_rules.parse_facts(facts)


# Spec section 1: digits beyond the minor unit are allowed only when they are zeros.
@pytest.mark.parametrize("amount,currency,expected", [
    ("5000.000", "USD", "5000.00"), ("5000.010", "USD", "5000.01"),
    ("5000.0000000", "USD", "5000.00"), ("0.000", "USD", "0.00"),
    ("700000.00", "JPY", "700000"), ("700000.0", "JPY", "700000"),
    ("1.5000", "BHD", "1.500"), ("1.0010", "BHD", "1.001"), ("1.000000", "BHD", "1.000"),
])
def test_extra_zero_digits_are_the_same_amount(amount: str, currency: str, expected: str,
                                              facts: dict[str, Any]) -> None:
    money = {"amount": amount, "currency": currency}
    facts["contract"]["order_amount"] = money
    facts["payments"][0]["amount"] = money
    parsed = ta_rules.parse_facts(facts)
    assert parsed.contract.order_amount == Money.of(expected, currency)
    dumped = parsed.model_dump(mode="json")
    assert dumped["contract"]["order_amount"] == {"amount": expected, "currency": currency}
    plain = {"amount": expected, "currency": currency}
    facts["contract"]["order_amount"] = plain
    facts["payments"][0]["amount"] = plain
    assert facts_hash(parsed) == facts_hash(ta_rules.parse_facts(facts))


@pytest.mark.parametrize("amount,currency,places", [
    ("5000.005", "USD", "2 decimal places"), ("5000.001", "USD", "2 decimal places"),
    ("5000.0001", "USD", "2 decimal places"), ("5000.0050", "USD", "2 decimal places"),
    ("700000.5", "JPY", "no decimal places"), ("700000.01", "JPY", "no decimal places"),
    ("1.0001", "BHD", "3 decimal places"), ("1.00050", "BHD", "3 decimal places"),
])
def test_non_zero_digits_beyond_the_minor_unit_are_bad_facts_at_the_amount(
        amount: str, currency: str, places: str, facts: dict[str, Any]) -> None:
    facts["contract"]["order_amount"] = {"amount": "5000.00", "currency": currency}
    for p in facts["payments"]:
        p["amount"] = {"amount": "5000", "currency": currency}
    facts["claim"]["prior_payouts"] = {"amount": amount, "currency": currency}
    if currency == "USD":
        facts["supplier"]["ta_limit"] = {"amount": amount, "currency": "USD"}
    else:
        facts["contract"]["order_amount"]["amount"] = "5000"
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    paths = {p.path: p for p in info.value.problems}
    assert "claim.prior_payouts.amount" in paths
    problem = paths["claim.prior_payouts.amount"]
    assert problem.code == "amount_precision"
    assert places in problem.message and amount in problem.message
    assert "extra digits must be zeros" in problem.message
    if currency == "USD":
        assert set(paths) == {"claim.prior_payouts.amount", "supplier.ta_limit.amount"}
    else:
        assert set(paths) == {"claim.prior_payouts.amount"}


def test_precision_error_through_the_slow_path_too(facts: dict[str, Any]) -> None:
    # more than 3 decimals or 15 integer digits take the full validation path
    facts["contract"]["order_amount"] = {"amount": "1234567890.12345000", "currency": "USD"}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.parse_facts(facts)
    assert info.value.paths == ("contract.order_amount.amount",)
    assert "1234567890.12345000" in info.value.problems[0].message


def test_jpy_order_converted_and_refunded_in_yen(facts: dict[str, Any]) -> None:
    yen = {"amount": "600000", "currency": "JPY"}
    facts["contract"].update(order_amount=yen, fx_rate_to_usd="0.0083")
    facts["payments"][0]["amount"] = yen
    v = ta_rules.evaluate(facts, parameters={"currency_handling": "convert"})
    assert v.outcome == "covered"
    assert v.max_refund == Money.of("600000", "JPY")
    assert v.model_dump(mode="json")["max_refund"] == {"amount": "600000", "currency": "JPY"}


def test_no_float_in_the_decision_path(facts: dict[str, Any]) -> None:
    seen: list[Any] = []
    v = ta_rules.explain(facts)
    for entry in v.trace or ():
        seen.extend(entry.values.values())
    assert seen
    assert not any(isinstance(x, float) for x in seen)
    assert isinstance(v.max_refund.amount, Decimal)
