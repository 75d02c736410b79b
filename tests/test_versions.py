"""The registry picks the version in force on the order date; 2017.12 decides differently."""

from __future__ import annotations

import datetime as dt
from importlib.resources import files
from typing import Any

import pytest

import ta_rules

LATER = {"contract__placed_on": "2018-01-10", "contract__confirmed_on": "2018-01-11",
         "contract__ship_by": "2018-03-01", "payments__0__received_on": "2018-01-15",
         "shipment__shipped_on": "2018-03-02", "claim__submitted_on": "2018-03-03",
         "claim__determination_requested_on": "2018-03-09", "as_of": "2018-03-09"}


def test_selection_by_order_date() -> None:
    reg = ta_rules.default_registry()
    assert reg.select(on=dt.date(2018, 1, 10)).version == "2017.12"
    assert reg.select(on=dt.date(2017, 12, 8)).version == "2017.12"
    assert reg.select(on=dt.date(2017, 12, 7)).version == "2015.1"
    with pytest.raises(ta_rules.UnknownRulesetError, match=r"no version '1\.0'"):
        reg.select(version="1.0")
    with pytest.raises(ta_rules.UnknownRulesetError, match="no ruleset named"):
        reg.select("nope")


def test_placed_on_selects_before_confirmed_on(make_facts: Any) -> None:
    v = ta_rules.evaluate(make_facts(**LATER))
    assert v.ruleset.version == "2017.12"
    v = ta_rules.evaluate(make_facts(**{**LATER, "contract__placed_on": "2017-12-07"}))
    assert v.ruleset.version == "2015.1"


def test_lower_minimum_in_2017(make_facts: Any) -> None:
    small = {"contract__order_amount": {"amount": "500.00", "currency": "USD"},
             "payments__0__amount": {"amount": "500.00", "currency": "USD"}}
    assert ta_rules.evaluate(make_facts(**small)).codes == {"BELOW_MINIMUM_ORDER_AMOUNT"}
    later = ta_rules.evaluate(make_facts(**small, **LATER))
    assert later.outcome == "covered"
    assert later.codes == {"LATE_SHIPMENT"}


def test_credit_card_and_no_payer_name_in_2017(make_facts: Any) -> None:
    card = {"payments__0__method": "credit_card"}
    assert ta_rules.evaluate(make_facts(**card)).codes == {"PAYMENT_METHOD_NOT_COVERED"}
    assert ta_rules.evaluate(make_facts(**card, **LATER)).outcome == "covered"
    no_name = {"payments__0__payer_name_entered": False}
    assert ta_rules.evaluate(make_facts(**no_name)).codes == {"PAYER_NAME_MISSING"}
    assert ta_rules.evaluate(make_facts(**no_name, **LATER)).outcome == "covered"


def test_quality_after_delivery_in_2017(make_facts: Any) -> None:
    quality = {
        "claim__grounds": ["quality"],
        "contract__quality_requirements": ["Thickness 1.00 mm +/- 0.05 mm"],
        "shipment__shipped_on": "2018-02-25",
        "shipment__delivered_on": "2018-03-20",
        "post_shipment_inspection": {"on": "2018-03-22", "method": "third_party_inspection",
                                     "result": "fail"},
        "claim__submitted_on": "2018-03-23",
        "claim__determination_requested_on": "2018-03-30",
        "as_of": "2018-03-30",
    }
    early = {k: v for k, v in LATER.items() if k != "shipment__shipped_on"}
    v = ta_rules.evaluate(make_facts(**{**early, **quality}))
    assert v.ruleset.version == "2017.12"
    assert (v.outcome, v.codes) == ("covered", {"POST_DELIVERY_QUALITY_FAILURE"})
    # the same facts under 2015.1: no safeguard, so no quality cover
    old = ta_rules.evaluate(make_facts(**{**early, **quality}), version="2015.1")
    assert old.codes == {"QUALITY_SAFEGUARD_NOT_ENABLED"}
    # a buyer's own check is not a designated inspection in 2017.12
    own = dict(quality)
    own["post_shipment_inspection"] = {**quality["post_shipment_inspection"],
                                       "method": "buyer_onsite_check"}
    v = ta_rules.evaluate(make_facts(**{**early, **own}))
    assert (v.outcome, v.codes) == ("pending", {"DESIGNATED_INSPECTION_REQUIRED"})
    # day 31 after delivery is too late
    late = {**quality, "claim__submitted_on": "2018-04-20",
            "claim__determination_requested_on": "2018-04-28", "as_of": "2018-04-28"}
    assert ta_rules.evaluate(make_facts(**{**early, **late})).codes == {"CLAIM_WINDOW_EXPIRED"}


def test_faster_process_in_2017(make_facts: Any) -> None:
    # supplier silent, no determination request: day 4 of 2017.12 is past the 3-day period
    facts = make_facts(**{**LATER, "claim__determination_requested_on": None,
                          "as_of": "2018-03-07"})
    assert ta_rules.evaluate(facts).codes == {"AWAITING_DETERMINATION_REQUEST"}
    assert ta_rules.evaluate(facts, version="2015.1").codes == {"AWAITING_SUPPLIER_RESPONSE"}
    # from day 7 the platform escalates by itself
    facts = make_facts(**{**LATER, "claim__determination_requested_on": None,
                          "as_of": "2018-03-10"})
    v = ta_rules.evaluate(facts)
    assert (v.outcome, v.codes) == ("covered", {"LATE_SHIPMENT"})


# Spec section 7: the order date is placed_on, else confirmed_on, else submitted_on; an
# override the selected version does not declare is an error naming parameter and version.
@pytest.mark.parametrize("dates,version", [
    ({"contract__placed_on": "2017-12-07", "contract__confirmed_on": "2017-12-08"}, "2015.1"),
    ({"contract__placed_on": "2017-12-08", "contract__confirmed_on": "2017-12-07"}, "2017.12"),
    ({"contract__confirmed_on": "2017-12-08"}, "2017.12"),
    ({"contract__confirmed_on": "2017-12-07", "claim__submitted_on": "2018-03-03"}, "2015.1"),
    ({"contract__confirmed_on": None, "claim__submitted_on": "2017-12-08"}, "2017.12"),
    ({"contract__confirmed_on": None, "claim__submitted_on": "2017-12-07"}, "2015.1"),
])
def test_the_order_date_that_selects_the_version(make_facts: Any, dates: dict[str, Any],
                                                 version: str) -> None:
    assert ta_rules.evaluate(make_facts(**dates)).ruleset.version == version


@pytest.mark.parametrize("name,value", [("allow_post_delivery_quality", True),
                                        ("allow_post_delivery_quality", False),
                                        ("payer_name_missing_handling", "pending"),
                                        ("quality_claim_must_precede_shipment", True)])
def test_override_declared_only_by_the_other_version_is_an_error(
        make_facts: Any, name: str, value: Any) -> None:
    later = make_facts(**LATER)
    for engine in ("compiled", "durable"):
        with pytest.raises(ta_rules.ParameterError) as info:
            ta_rules.evaluate(later, parameters={name: value}, engine=engine)
        message = str(info.value)
        assert f"{name!r}" in message and "trade-assurance 2017.12" in message
        assert "contract.placed_on 2018-01-10" in message
        assert "2015.1 declares it" in message
    # the version that declares it takes the override
    assert ta_rules.evaluate(make_facts(), parameters={name: value}).ruleset.version == "2015.1"
    with pytest.raises(ta_rules.ParameterError, match=r"pinned .*2015\.1 declares it"):
        ta_rules.evaluate(make_facts(), version="2017.12", parameters={name: value})


def test_override_no_version_declares_names_the_selected_version(make_facts: Any) -> None:
    with pytest.raises(ta_rules.ParameterError,
                       match=r"unknown parameter 'claim_window_dayz' for trade-assurance 2015\.1"
                             r".*did you mean 'claim_window_days'"):
        ta_rules.evaluate(make_facts(), parameters={"claim_window_dayz": 10})
    with pytest.raises(ta_rules.ParameterError,
                       match=r"unknown parameter 'nope' for trade-assurance 2017\.12"):
        ta_rules.evaluate(make_facts(**LATER), parameters={"nope": 1})

# --- the order date is declared in the rule files (effective.order_date) ---------------


def test_the_bundled_versions_declare_their_order_date() -> None:
    for rs in ta_rules.default_registry().rulesets:
        assert rs.order_date == ("contract.placed_on", "contract.confirmed_on",
                                 "claim.submitted_on")


def test_a_bad_selecting_date_is_bad_facts_at_its_path(make_facts: Any) -> None:
    for bad in ("2017-02-30", 20171207, "2017-12-07T10:00", True):
        with pytest.raises(ta_rules.FactsError) as info:
            ta_rules.evaluate(make_facts(contract__placed_on=bad,
                                         supplier__participating="yes"))
        assert {p.path for p in info.value.problems} == {"contract.placed_on",
                                                        "supplier.participating"}


def test_no_selecting_date_at_all_is_bad_facts(make_facts: Any) -> None:
    facts = make_facts(contract__confirmed_on=None)
    del facts["claim"]["submitted_on"]
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert [p.path for p in info.value.problems] == ["claim.submitted_on"]
    with pytest.raises(ta_rules.FactsError):
        ta_rules.evaluate(["not", "a", "document"])  # type: ignore[arg-type]


def test_a_ruleset_chooses_its_own_order_date(tmp_path: Any, make_facts: Any) -> None:
    # the same two versions, selected by the claim's submission date instead
    for version in ("2015.1", "2017.12"):
        text = (files("ta_rules") / "rules" / f"trade-assurance-{version}.yaml").read_text()
        text = text.replace("order_date: [contract.placed_on, contract.confirmed_on, "
                            "claim.submitted_on]", "order_date: [claim.submitted_on]")
        assert "order_date: [claim.submitted_on]" in text
        (tmp_path / f"trade-assurance-{version}.yaml").write_text(text)
    reg = ta_rules.Registry.from_folder(tmp_path)
    facts = make_facts(**{**LATER, "claim__submitted_on": "2017-12-07",
                          "claim__determination_requested_on": None, "as_of": "2017-12-07"})
    assert ta_rules.evaluate(facts).ruleset.version == "2017.12"  # placed 2018-01-10
    assert ta_rules.evaluate(facts, registry=reg).ruleset.version == "2015.1"
