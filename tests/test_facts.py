from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import ta_rules
from ta_rules import FactsError, parse_facts


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(FactsError) as info:
        parse_facts(data)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ta_rules.TaRulesError)
    return {p.path: p.message for p in info.value.problems}


def test_valid_facts_parse_with_defaults(facts: dict[str, Any]) -> None:
    parsed = parse_facts(facts)
    assert parsed.claim.prior_payouts == ta_rules.Money.of("0", "USD")
    assert parsed.supplier.limit_in_use == ta_rules.Money.of("0", "USD")
    assert parsed.contract.ship_by == dt.date(2015, 3, 1)
    assert parsed.shipment.damaged_in_transit is False


def test_every_bad_path_is_named(facts: dict[str, Any]) -> None:
    facts["contract"]["order_amount"] = {"amount": 5000.0, "currency": "usd"}
    facts["payments"][0]["received_on"] = "2015-02-30"
    facts["supplier"]["participating"] = "yes"
    facts["claim"]["grounds"] = ["late"]
    facts["shipment"]["colour"] = "red"
    del facts["claim"]["submitted_on"]
    found = problems(facts)
    assert set(found) == {
        "contract.order_amount.amount",
        "contract.order_amount.currency",
        "payments[0].received_on",
        "supplier.participating",
        "claim.grounds[0]",
        "shipment.colour",
        "claim.submitted_on",
    }
    assert "float" in found["contract.order_amount.amount"]
    assert "not a real calendar date" in found["payments[0].received_on"]
    assert found["shipment.colour"] == "unknown field"
    assert found["claim.submitted_on"] == "field required"


@pytest.mark.parametrize("amount", ["-1.00", "1e3", "12.345", "abc", "", " 5", True, None])
def test_malformed_amounts_are_refused(facts: dict[str, Any], amount: Any) -> None:
    facts["contract"]["order_amount"]["amount"] = amount
    assert "contract.order_amount.amount" in problems(facts) or \
        "contract.order_amount" in problems(facts)


def test_ints_and_strings_are_accepted_as_amounts(facts: dict[str, Any]) -> None:
    facts["contract"]["order_amount"]["amount"] = 5000
    assert parse_facts(facts).contract.order_amount.amount == 5000


def test_currency_must_match_the_contract_or_usd(facts: dict[str, Any]) -> None:
    facts["payments"][0]["amount"]["currency"] = "EUR"
    facts["supplier"]["ta_limit"]["currency"] = "EUR"
    found = problems(facts)
    assert set(found) == {"payments[0].amount.currency", "supplier.ta_limit.currency"}


def test_unknown_currency_code(facts: dict[str, Any]) -> None:
    facts["contract"]["order_amount"]["currency"] = "ABC"
    assert "unknown" in problems(facts)["contract.order_amount.currency"]


def test_strict_types(facts: dict[str, Any]) -> None:
    facts["contract"]["quality_safeguard"] = 1
    facts["contract"]["ship_by"] = 20150301
    facts["contract"]["ship_within_days"] = True
    found = problems(facts)
    assert {"contract.quality_safeguard", "contract.ship_by",
            "contract.ship_within_days"} <= set(found)


def test_exactly_one_ship_by_form(facts: dict[str, Any]) -> None:
    facts["contract"]["ship_within_days"] = 30
    assert "exactly one of ship_by" in problems(facts)["contract"]


def test_at_most_one_initial_payment(facts: dict[str, Any]) -> None:
    facts["payments"].append(dict(facts["payments"][0]))
    assert "at most one initial" in problems(facts)["payments[1].role"]


def test_not_a_mapping() -> None:
    assert "expected a mapping" in problems([1, 2])[""]


def test_yaml_dates_are_accepted(facts: dict[str, Any]) -> None:
    facts["as_of"] = dt.date(2015, 3, 9)
    assert parse_facts(facts).as_of == dt.date(2015, 3, 9)
    facts["as_of"] = dt.datetime(2015, 3, 9, 10, 0)
    assert "date and time" in problems(facts)["as_of"]


def test_evaluate_raises_facts_error_not_a_verdict(facts: dict[str, Any]) -> None:
    facts["claim"]["grounds"] = []
    with pytest.raises(FactsError):
        ta_rules.evaluate(facts)
