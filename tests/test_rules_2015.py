"""Spec sentences that a verdict alone does not show, checked through the trace."""

from __future__ import annotations

from typing import Any

import ta_rules


def applied(v: ta_rules.Verdict, group: str) -> set[str]:
    return {t.rule for t in v.trace or () if t.applied and t.group == group}


def test_missing_initial_payment_gives_no_other_payment_code(make_facts: Any) -> None:
    # "A missing, zero or method-less initial payment gives NO_QUALIFYING_PAYMENT and no
    # other payment code", even when a balance payment lacks the payer name under `pending`.
    balance = {"role": "balance", "method": "TT", "to_platform_account": True,
               "payer_name_entered": False, "received_on": "2015-01-23",
               "amount": {"amount": "5000.00", "currency": "USD"}}
    for initial in ([], [{"role": "initial", "method": None, "to_platform_account": True,
                          "payer_name_entered": False, "received_on": "2015-01-20",
                          "amount": {"amount": "100.00", "currency": "USD"}}]):
        v = ta_rules.explain(make_facts(payments=[*initial, balance]),
                             parameters={"payer_name_missing_handling": "pending"})
        assert applied(v, "gates") == {"gate.no-qualifying-payment"}
        assert v.codes == {"NO_QUALIFYING_PAYMENT"}


def test_pending_payer_name_still_counts_the_payment(make_facts: Any) -> None:
    facts = make_facts(payments__0__payer_name_entered=False)
    v = ta_rules.evaluate(facts, parameters={"payer_name_missing_handling": "pending"})
    assert (v.outcome, v.codes) == ("pending", {"PAYMENT_VERIFICATION_PENDING"})
    assert str(v.coverage_cap) == "5000.00 USD"


def test_one_cap_per_order_however_many_grounds(make_facts: Any) -> None:
    facts = make_facts(claim__grounds=["late_shipment", "late_shipment", "other"],
                       payments__0__amount={"amount": "1500.00", "currency": "USD"})
    v = ta_rules.evaluate(facts)
    assert v.codes == {"LATE_SHIPMENT", "CAPPED_AT_AMOUNT_PAID"}
    assert str(v.max_refund) == "1500.00 USD"
