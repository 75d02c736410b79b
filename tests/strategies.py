"""Hypothesis strategies: valid, varied facts documents around the boundaries that matter.

``facts_documents()`` mixes two kinds of claim. A fifth are *wild*: every field drawn on
its own, so most are denied at some gate, in many different ways. The rest are *coherent*:
a claim the rules would cover (an order above the minimum, paid by a covered method, shipped
late, claimed in time), then steered to one outcome: left covered, still pending in the
dispute process, settled between the parties, or denied by one broken condition. So every
outcome, and non-zero refunds, are well represented (tests/test_strategies.py holds the
shares to at least 10% each under the CI profile).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

D = dt.date
CATEGORIES = ["consumer_electronics", "machinery", "apparel", "services", "vehicles",
              "real_estate", "chemicals"]
GROUNDS = ["late_shipment", "quality", "non_arrival", "transit_damage",
           "post_shipment_quality", "quantity_shortfall", "other"]
METHODS = ["TT", "TT", "TT", "credit_card", "e_checking", "western_union", "pay_later", "cash"]
RATES = {"EUR": ["1.0527", "1.1000", "0.9000"], "JPY": ["0.0083", "0.0091"],
         "GBP": ["1.2500", "1.3000"]}


def money(amount: Decimal, currency: str) -> dict[str, str]:
    places = 0 if currency == "JPY" else 2
    q = amount.quantize(Decimal(1).scaleb(-places))
    return {"amount": str(q), "currency": currency}


@st.composite
def amounts(draw: st.DrawFn) -> Decimal:
    return draw(st.sampled_from([
        Decimal("99.99"), Decimal("100.00"), Decimal("999.99"), Decimal("1000.00"),
        Decimal("1000.01"), Decimal("5000.00"), Decimal("20000.00"),
    ]) | st.decimals(min_value=Decimal(50), max_value=Decimal(60000), places=2))


@st.composite
def days_after(draw: st.DrawFn, base: dt.date, lo: int, hi: int) -> dt.date:
    return base + dt.timedelta(days=draw(st.integers(lo, hi)))


OUTCOMES = ("covered", "denied", "pending", "settled")


@st.composite
def facts_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid facts document: wild (one in five) or coherent, aiming at any outcome."""
    aim = draw(st.sampled_from([*OUTCOMES, "wild"]))
    return draw(wild_facts() if aim == "wild" else coherent_facts(aim))


@st.composite
def coherent_facts(draw: st.DrawFn, outcome: str) -> dict[str, Any]:
    """A late-shipment claim the rules cover, steered to ``outcome`` (orders of 2015 or 2018).

    The aim is not a promise: a denial or a pending step may win over what was aimed at,
    and the tests judge the verdict, not the aim.
    """
    later = draw(st.booleans())
    placed = draw(days_after(D(2018, 1, 1) if later else D(2015, 1, 1), 0, 300))
    order = draw(st.sampled_from([Decimal("1000.00"), Decimal("1000.01"), Decimal("5000.00"),
                                  Decimal("19999.99"), Decimal("20000.00")])
                 | st.decimals(min_value=Decimal(1000), max_value=Decimal(60000), places=2))
    ship_by = draw(days_after(placed, 10, 60))
    paid_on = draw(days_after(placed, 0, 5))
    shipped = draw(days_after(ship_by, 1, 25))
    submitted = draw(days_after(shipped, 0, 4))
    split = draw(st.sampled_from([None, None, Decimal("0.3")]))
    payments = [{"role": "initial", "method": "TT", "to_platform_account": True,
                 "payer_name_entered": True,
                 "amount": money(order if split is None else order * split, "USD"),
                 "received_on": paid_on.isoformat()}]
    if split is not None:
        payments.append({"role": "balance", "method": "TT", "to_platform_account": True,
                         "payer_name_entered": True,
                         "amount": money(order - order * split, "USD"),
                         "received_on": draw(days_after(paid_on, 1, 5)).isoformat()})
    limit = draw(st.sampled_from([Decimal("5000.00"), Decimal("20000.00"),
                                  Decimal("100000.00")]))
    requested = draw(days_after(submitted, 6, 15))
    doc: dict[str, Any] = {
        "as_of": draw(days_after(requested, 0, 10)).isoformat(),
        "contract": {
            "placed_on": placed.isoformat(),
            "confirmed_on": (placed + dt.timedelta(days=1)).isoformat(),
            "category": draw(st.sampled_from(["consumer_electronics", "machinery", "apparel",
                                              "chemicals"])),
            "order_amount": money(order, "USD"),
            "ship_by": ship_by.isoformat(),
            "quality_safeguard": draw(st.booleans()),
            "quality_requirements": [],
        },
        "supplier": {"participating": True, "ta_limit": money(limit, "USD")},
        "payments": payments,
        "shipment": {"shipped_on": shipped.isoformat()},
        "inspection": None,
        "claim": {"grounds": ["late_shipment"], "submitted_on": submitted.isoformat(),
                  "determination_requested_on": requested.isoformat()},
    }
    claim = doc["claim"]
    if outcome == "pending":
        claim["determination_requested_on"] = None
        doc["as_of"] = draw(days_after(submitted, 0, 2)).isoformat()
    elif outcome == "settled":
        settled = draw(days_after(submitted, 1, 5))
        claim["settled_on"] = settled.isoformat()
        claim["determination_requested_on"] = None
        doc["as_of"] = draw(days_after(settled, 0, 5)).isoformat()
    elif outcome == "denied":
        broken = draw(st.sampled_from(["minimum", "category", "participation", "method",
                                       "unpaid", "account", "on_time"]))
        if broken == "minimum":
            small = draw(st.sampled_from([Decimal("999.99"), Decimal("100.00")]))
            doc["contract"]["order_amount"] = money(small, "USD")
            doc["payments"] = [{**payments[0], "amount": money(small, "USD")}]
        elif broken == "category":
            doc["contract"]["category"] = draw(st.sampled_from(["vehicles", "real_estate",
                                                                "services"]))
        elif broken == "participation":
            doc["supplier"]["participating"] = False
        elif broken == "method":
            payments[0]["method"] = draw(st.sampled_from(["cash", "western_union"]))
        elif broken == "unpaid":
            doc["payments"] = []
        elif broken == "account":
            payments[0]["to_platform_account"] = False
        else:
            doc["shipment"]["shipped_on"] = (ship_by - dt.timedelta(
                days=draw(st.integers(0, 5)))).isoformat()
    return doc


@st.composite
def covered_claims(draw: st.DrawFn) -> dict[str, Any]:
    """A coherent claim aimed at ``covered``."""
    return draw(coherent_facts("covered"))


@st.composite
def wild_facts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid facts document with every field drawn on its own (most are denied)."""
    later = draw(st.booleans())
    placed = draw(days_after(D(2018, 1, 1) if later else D(2015, 1, 1), 0, 300))
    currency = draw(st.sampled_from(["USD", "USD", "USD", "EUR", "JPY", "GBP"]))
    order = draw(amounts())
    if currency == "JPY":
        order = (order * 120).quantize(Decimal(1))
    rate = draw(st.sampled_from(RATES[currency])) if currency != "USD" else \
        draw(st.sampled_from([None, None, "1"]))
    ship_by = draw(days_after(placed, 10, 60))
    use_relative = draw(st.integers(0, 5)) == 0
    initial_on = draw(days_after(placed, 0, 5))
    paid_fraction = draw(st.sampled_from([Decimal(1), Decimal(1), Decimal("0.3"),
                                          Decimal("1.1"), Decimal(0)]))
    payments: list[dict[str, Any]] = []
    if draw(st.integers(0, 12)) != 0:
        first = order * paid_fraction if paid_fraction != 1 else order
        payments.append({
            "role": "initial", "method": draw(st.sampled_from([*METHODS, None])),
            "to_platform_account": draw(st.sampled_from([True, True, True, False])),
            "payer_name_entered": draw(st.sampled_from([True, True, True, False, None])),
            "amount": money(first, currency), "received_on": initial_on.isoformat(),
        })
        if paid_fraction < 1 and draw(st.booleans()):
            payments.append({
                "role": "balance", "method": draw(st.sampled_from(METHODS)),
                "to_platform_account": draw(st.booleans()),
                "payer_name_entered": draw(st.sampled_from([True, False, None])),
                "amount": money(order - first, currency),
                "received_on": draw(days_after(initial_on, 1, 20)).isoformat(),
            })
    shipped = draw(st.sampled_from([None, -3, 0, 1, 2, 10, 40]))
    shipped_on = None if shipped is None else ship_by + dt.timedelta(days=shipped)
    partial = None
    if shipped_on is not None and draw(st.integers(0, 4)) == 0:
        partial = shipped_on - dt.timedelta(days=draw(st.integers(0, 5)))
    delivered = None
    if shipped_on is not None and draw(st.booleans()):
        delivered = shipped_on + dt.timedelta(days=draw(st.integers(5, 40)))
    grounds = draw(st.lists(st.sampled_from(GROUNDS), min_size=1, max_size=3))
    submitted = draw(days_after(ship_by, -5, 45))
    if delivered is not None and draw(st.booleans()):
        submitted = delivered + dt.timedelta(days=draw(st.integers(0, 35)))
    responded = draw(st.sampled_from([None, None, 2, 5, 6, 8]))
    determination = draw(st.sampled_from([None, None, 3, 5, 6, 7, 15, 16, 40]))
    settled = draw(st.sampled_from([None] * 6 + [4]))
    as_of = submitted + dt.timedelta(days=draw(st.integers(0, 30)))

    def inspection(after: dt.date | None) -> dict[str, Any] | None:
        if draw(st.integers(0, 2)) == 0:
            return None
        base = after or ship_by
        return {
            "on": (base + dt.timedelta(days=draw(st.integers(-8, 4)))).isoformat(),
            "method": draw(st.sampled_from(["third_party_inspection", "buyer_sample_check",
                                            "buyer_onsite_check"])),
            "result": draw(st.sampled_from(["fail", "fail", "pass", None])),
        }

    limit = draw(st.sampled_from([None, Decimal("500.00"), Decimal("5000.00"),
                                  Decimal("20000.00"), Decimal("100000.00")]))
    in_use = draw(st.sampled_from([Decimal(0), Decimal(0), Decimal("3000.00"),
                                   Decimal("25000.00")]))
    contract: dict[str, Any] = {
        "placed_on": placed.isoformat(),
        "confirmed_on": draw(st.sampled_from([placed + dt.timedelta(days=1), None]
                                             if draw(st.integers(0, 15)) == 0 else
                                             [placed + dt.timedelta(days=1)])),
        "category": draw(st.sampled_from(CATEGORIES)),
        "order_amount": money(order, currency),
        "fx_rate_to_usd": rate,
        "ship_by": None if use_relative else ship_by.isoformat(),
        "ship_within_days": (ship_by - initial_on).days if use_relative else None,
        "quality_safeguard": draw(st.booleans()),
        "quality_safeguard_at_placement": draw(st.sampled_from([None, True, False])),
        "quality_requirements": draw(st.sampled_from([[], ["Thickness 1.00 mm"]])),
    }
    if contract["confirmed_on"] is not None:
        contract["confirmed_on"] = contract["confirmed_on"].isoformat()
    if draw(st.integers(0, 5)) == 0:
        contract["total_value"] = money(order * 2, currency)
    if draw(st.integers(0, 6)) == 0:
        contract["amended_ship_by"] = (ship_by + dt.timedelta(days=10)).isoformat()
        contract["amendment_agreed_on"] = (ship_by + dt.timedelta(
            days=draw(st.sampled_from([-2, 3])))).isoformat()
    prior = draw(st.sampled_from([Decimal(0)] * 5 + [order / 4, order * 2]))
    return {
        "as_of": as_of.isoformat(),
        "contract": contract,
        "supplier": {
            "participating": draw(st.sampled_from([True] * 9 + [False])),
            "participating_at_claim": draw(st.sampled_from([None, True, False])),
            "ta_limit": money(limit, "USD") if limit is not None else None,
            "limit_in_use": money(in_use, "USD"),
        },
        "payments": payments,
        "shipment": {
            "shipped_on": shipped_on.isoformat() if shipped_on else None,
            "first_partial_shipped_on": partial.isoformat() if partial else None,
            "delivered_on": delivered.isoformat() if delivered else None,
        },
        "inspection": inspection(None),
        "post_shipment_inspection": inspection(delivered) if delivered else None,
        "claim": {
            "grounds": grounds,
            "submitted_on": submitted.isoformat(),
            "supplier_responded_on": None if responded is None else
            (submitted + dt.timedelta(days=responded)).isoformat(),
            "determination_requested_on": None if determination is None else
            (submitted + dt.timedelta(days=determination)).isoformat(),
            "settled_on": None if settled is None else
            (submitted + dt.timedelta(days=settled)).isoformat(),
            "buyer_accepted_delay": draw(st.sampled_from([False] * 8 + [True])),
            "chargeback_filed": draw(st.sampled_from([False] * 10 + [True])),
            "prior_payouts": money(prior, currency),
        },
    }


PARAMETER_CHOICES: dict[str, list[Any]] = {
    "currency_handling": ["convert"],
    "fx_rounding": ["compare_unrounded"],
    "min_amount_basis": ["total_contract_value"],
    "initial_payment_must_qualify": [False],
    "payer_name_missing_handling": ["pending"],
    "limit_basis": ["per_order"],
    "limit_exceeded_handling": ["deny"],
    "participation_check": ["at_confirmation_and_claim"],
    "late_shipment_grace_days": [2],
    "shipment_date_basis": ["first_shipment"],
    "claim_window_days": [None, 10],
    "auto_escalate_after_days": [7],
    "determination_request_deadline_days": [20],
    "quality_claim_must_precede_shipment": [True],
    "allow_post_delivery_quality": [True],
    "recharacterize_grounds": [True],
    "deny_if_chargeback_filed": [False],
}


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, Any]:
    """A few parameter alternatives of the spec's table (2015.1 names)."""
    names = draw(st.lists(st.sampled_from(sorted(PARAMETER_CHOICES)), max_size=3, unique=True))
    return {n: draw(st.sampled_from(PARAMETER_CHOICES[n])) for n in names}
