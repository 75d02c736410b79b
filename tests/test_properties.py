"""Invariants of every verdict, on generated claims (hypothesis, fixed CI profile)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

import ta_rules
from ta_rules.money import Money

from strategies import covered_claims, facts_documents, overrides


def evaluate(facts: dict[str, Any], params: dict[str, Any] | None = None) -> ta_rules.Verdict:
    return ta_rules.evaluate(facts, parameters=params or None)


def order(facts: dict[str, Any]) -> Money:
    return Money.of(**facts["contract"]["order_amount"])


def paid(facts: dict[str, Any]) -> Money:
    total = Money.zero(order(facts).currency)
    for p in facts["payments"]:
        total = total + Money.of(**p["amount"])
    return total


@given(facts=facts_documents(), params=overrides())
def test_refund_bounds_and_reason_kinds(facts: dict[str, Any], params: dict[str, Any]) -> None:
    try:
        v = evaluate(facts, params)
    except ta_rules.ParameterError:
        assume(False)
        raise
    zero = Money.zero(order(facts).currency)
    assert v.max_refund.currency == zero.currency
    assert zero <= v.max_refund <= min(order(facts), paid(facts))
    kinds = {r.kind for r in v.reasons}
    if v.outcome != "covered":
        assert v.max_refund == zero
    if v.outcome == "covered":
        assert "basis" in kinds
        assert kinds <= {"basis", "cap"}
    if v.outcome == "denied":
        assert "denial" in kinds
        assert v.coverage_cap is None
    if v.outcome == "pending":
        assert kinds == {"pending"}
    if v.outcome == "settled":
        assert v.codes == {"SETTLED_BETWEEN_PARTIES"}
    # one reason per code and subject (two grounds may give the same code)
    assert len({(r.code, r.subject) for r in v.reasons}) == len(v.reasons)


@given(facts=facts_documents())
def test_deterministic_and_json_round_trip(facts: dict[str, Any]) -> None:
    a = ta_rules.evaluate(facts, trace=True)
    b = ta_rules.evaluate(copy.deepcopy(facts), trace=True)
    assert a.model_dump_json() == b.model_dump_json()
    text = a.model_dump_json()
    assert ta_rules.Verdict.model_validate_json(text).model_dump_json() == text
    untraced = ta_rules.evaluate(facts)
    assert ta_rules.Verdict.model_validate_json(untraced.model_dump_json()) == untraced


@given(facts=facts_documents(), extra=st.sampled_from(
    ["0.01", "1.00", "500.00", "100000.00"]))
def test_paying_more_never_lowers_the_refund(facts: dict[str, Any], extra: str) -> None:
    assume(facts["payments"] and facts["payments"][0]["role"] == "initial")
    before = evaluate(facts)
    richer = copy.deepcopy(facts)
    amount = richer["payments"][0]["amount"]
    if amount["currency"] == "JPY":
        extra = str(int(Decimal(extra)))
    amount["amount"] = str(Decimal(amount["amount"]) + Decimal(extra))
    after = evaluate(richer)
    assert after.max_refund >= before.max_refund


@given(facts=covered_claims(), days=st.integers(1, 60))
def test_shipping_later_never_makes_a_covered_claim_not_late(facts: dict[str, Any],
                                                            days: int) -> None:
    before = evaluate(facts)
    assume(before.outcome == "covered" and facts["shipment"]["shipped_on"] is not None)
    later = copy.deepcopy(facts)
    shipped = dt.date.fromisoformat(later["shipment"]["shipped_on"]) + dt.timedelta(days=days)
    later["shipment"]["shipped_on"] = shipped.isoformat()
    later["shipment"]["first_partial_shipped_on"] = None
    later["shipment"]["delivered_on"] = None
    later["post_shipment_inspection"] = None
    assert "NOT_LATE" not in evaluate(later).codes


@given(facts=facts_documents(), category=st.sampled_from(
    ["vehicles", "real_estate", "websites_businesses_for_sale", "classified_ads", "services",
     "business_equipment.excluded_subcategory"]))
def test_an_excluded_category_is_never_covered(facts: dict[str, Any], category: str) -> None:
    facts["contract"]["category"] = category
    v = evaluate(facts)
    assert v.outcome != "covered"
    assert v.outcome != "denied" or "EXCLUDED_CATEGORY" in v.codes
