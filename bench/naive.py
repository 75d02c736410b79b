"""The naive evaluator: the 2015.1 decision as a service team would write it over plain dicts.

No library, no validation model: the facts document comes in as parsed JSON (dates and
amounts are strings), the code reads it with ``dict.get``, parses its own dates with
``date.fromisoformat`` and amounts with ``Decimal``, and returns the outcome, the reason
codes and the two amounts. It is written from sections 1-4 of the domain specification
(``shared/spec/trade-assurance.md``) with the 2015.1 default parameters of section 3 as
constants, so the branches for non-default modes simply do not exist.

It trusts its input (a service behind a schema check, say): bad facts are not its business,
which is exactly why it is the bar for ``ta_rules.evaluate(dict)``, which also validates
every field and builds a full verdict. ``bench/run.py --check`` verifies it agrees with
``ta_rules.evaluate`` on every benchmark claim (outcome, reason codes, max_refund,
coverage_cap).

``decide(doc) -> (outcome, codes, max_refund, coverage_cap, currency)``: amounts are
``Decimal`` rounded to cents (``coverage_cap`` may be None), ``codes`` a frozenset.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

__all__ = ["decide"]

# section 3, the 2015.1 defaults
MIN_ORDER_USD = Decimal("1000.00")
EXCLUDED_CATEGORIES = {"vehicles", "real_estate", "websites_businesses_for_sale",
                       "classified_ads", "services", "business_equipment.excluded_subcategory"}
INSPECTION_METHODS = {"third_party_inspection", "buyer_sample_check", "buyer_onsite_check"}
WINDOW = timedelta(days=30)
RESPONSE = timedelta(days=5)
SETTLEMENT = timedelta(days=15)
CENTS = Decimal("0.01")
ZERO = Decimal(0)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _amount(money: dict[str, Any] | None) -> Decimal:
    return Decimal(money["amount"]) if money else ZERO


def decide(doc: dict[str, Any]) -> tuple[str, frozenset[str], Decimal, Decimal | None, str]:
    """Judge one facts document with the 2015.1 defaults."""
    contract, supplier, claim = doc["contract"], doc["supplier"], doc["claim"]
    shipment = doc["shipment"]
    currency = contract["order_amount"]["currency"]
    order = Decimal(contract["order_amount"]["amount"])
    today = date.fromisoformat(doc["as_of"])
    submitted = date.fromisoformat(claim["submitted_on"])
    shipped = _day(shipment.get("shipped_on"))
    participating = supplier["participating"]

    denials = []
    if not participating:
        denials.append("SUPPLIER_NOT_PARTICIPATING")
    if contract["category"] in EXCLUDED_CATEGORIES:
        denials.append("EXCLUDED_CATEGORY")
    if contract.get("confirmed_on") is None:
        denials.append("CONTRACT_NOT_CONFIRMED")

    # currency: only USD is accepted (no conversion by default), and USD is rate 1
    usable = currency == "USD"
    if not usable:
        denials.append("UNSUPPORTED_CURRENCY")
    elif order < MIN_ORDER_USD:
        denials.append("BELOW_MINIMUM_ORDER_AMOUNT")

    payments = doc.get("payments") or []
    initial = None
    for p in payments:
        if p["role"] == "initial":
            initial = p
            break
    if initial is None or _amount(initial["amount"]) == 0 or not initial.get("method"):
        denials.append("NO_QUALIFYING_PAYMENT")
    else:
        if initial["method"] != "TT":
            denials.append("PAYMENT_METHOD_NOT_COVERED")
        if not initial["to_platform_account"]:
            denials.append("PAYMENT_NOT_TO_PLATFORM_ACCOUNT")
        if initial["method"] == "TT" and initial.get("payer_name_entered") is False:
            denials.append("PAYER_NAME_MISSING")
    paid = ZERO
    for p in payments:
        if (p.get("method") == "TT" and p["to_platform_account"]
                and p.get("payer_name_entered") is not False):
            paid += Decimal(p["amount"]["amount"])

    available = _amount(supplier.get("ta_limit")) - _amount(supplier.get("limit_in_use"))
    if participating and usable and available <= 0:
        denials.append("NO_AVAILABLE_TA_LIMIT")
    if claim.get("chargeback_filed"):
        denials.append("OTHER_REMEDY_PURSUED")

    # the coverage cap (rate 1, so the available limit is already in the contract currency)
    cap = None
    cap_codes = []
    if participating and usable and available > 0 and paid > 0:
        available = available.quantize(CENTS, rounding=ROUND_FLOOR)
        cap = min(order, paid, available)
        if paid < order and paid <= available:
            cap_codes.append("CAPPED_AT_AMOUNT_PAID")
        if available < order and available < paid:
            cap_codes.append("CAPPED_AT_AVAILABLE_TA_LIMIT")
        if paid > order and order <= available:
            cap_codes.append("CAPPED_AT_ORDER_AMOUNT")
        prior = _amount(claim.get("prior_payouts"))
        if prior > 0:
            if prior >= cap:
                denials.append("ALREADY_COMPENSATED")
                cap = ZERO
            else:
                cap -= prior
                cap_codes.append("REDUCED_BY_PRIOR_PAYOUT")

    # the effective ship-by date and the late deadline (grace 0 days)
    ship_by = _day(contract.get("ship_by"))
    if ship_by is None and initial is not None and contract.get("ship_within_days") is not None:
        ship_by = (date.fromisoformat(initial["received_on"])
                   + timedelta(days=contract["ship_within_days"]))
    amended_ship_by = _day(contract.get("amended_ship_by"))
    agreed_on = _day(contract.get("amendment_agreed_on"))
    agreed_after_breach = False
    if amended_ship_by is not None and agreed_on is not None:
        agreed_after_breach = ship_by is not None and agreed_on > ship_by
        ship_by = amended_ship_by
    late = (ship_by is not None and ((shipped is not None and shipped > ship_by)
                                     or (shipped is None and submitted > ship_by)))

    covered, pending, denied = set(), set(), set()
    for ground in claim["grounds"]:
        if ground == "late_shipment":
            if claim.get("buyer_accepted_delay"):
                denied.add("BUYER_ACCEPTED_BREACH")
            elif shipped is not None and ship_by is not None and shipped <= ship_by:
                denied.add("BUYER_ACCEPTED_BREACH" if agreed_after_breach else "NOT_LATE")
            elif ship_by is not None and submitted <= ship_by:
                pending.add("CLAIM_PREMATURE")
            elif ship_by is not None and submitted > ship_by + WINDOW:
                denied.add("CLAIM_WINDOW_EXPIRED")
            else:
                covered.add("NOT_SHIPPED_BY_SHIP_BY_DATE" if shipped is None else "LATE_SHIPMENT")
        elif ground == "quality":
            inspection = doc.get("inspection")
            if not contract["quality_safeguard"]:
                denied.add("QUALITY_SAFEGUARD_NOT_ENABLED")
            elif (contract.get("quality_safeguard_at_placement") is False
                  or not contract["quality_requirements"]):
                if contract.get("quality_safeguard_at_placement") is False:
                    denied.add("QUALITY_SAFEGUARD_ADDED_AFTER_ORDER")
                if not contract["quality_requirements"]:
                    denied.add("NO_CONTRACT_QUALITY_REQUIREMENTS")
            elif inspection is None:
                if shipped is None:
                    pending.add("PRE_SHIPMENT_CHECK_PENDING")
                else:
                    denied.add("QUALITY_NOT_CHECKED_BEFORE_SHIPMENT")
                    if doc.get("post_shipment_inspection") is not None:
                        denied.add("POST_SHIPMENT_QUALITY_ISSUE")
            else:
                inspected = date.fromisoformat(inspection["on"])
                if shipped is not None and inspected > shipped:
                    denied.add("POST_SHIPMENT_QUALITY_ISSUE")
                elif inspection["method"] not in INSPECTION_METHODS:
                    pending.add("DESIGNATED_INSPECTION_REQUIRED")
                elif inspection.get("result") == "pass":
                    denied.add("INSPECTION_PASSED")
                elif inspection.get("result") is None:
                    pending.add("PRE_SHIPMENT_CHECK_PENDING")
                elif submitted > inspected + WINDOW:
                    denied.add("CLAIM_WINDOW_EXPIRED")
                else:
                    covered.add("PRE_SHIPMENT_QUALITY_FAILURE")
        elif ground == "post_shipment_quality":
            denied.add("POST_SHIPMENT_QUALITY_ISSUE")
        elif ground == "non_arrival":
            denied.add("OTHER_DISPUTE_REASON" if late else "SHIPPED_ON_TIME_NOT_ARRIVED")
        elif ground == "transit_damage":
            denied.add("TRANSIT_DAMAGE_EXCLUDED")
        else:
            denied.add("OTHER_DISPUTE_REASON")

    # the outcome: denied > settled > pending > covered
    rounded_cap = cap.quantize(CENTS, rounding=ROUND_HALF_UP) if cap is not None else None
    if denials:
        return "denied", frozenset(denials) | denied, ZERO, None, currency
    if not covered and not pending:
        return "denied", frozenset(denied), ZERO, None, currency
    if claim.get("settled_on") is not None:
        return "settled", frozenset(("SETTLED_BETWEEN_PARTIES",)), ZERO, None, currency
    if not covered:
        return "pending", frozenset(pending), ZERO, rounded_cap, currency

    # the dispute process (S = submitted, R = responded, D = determination requested)
    responded = _day(claim.get("supplier_responded_on"))
    requested = _day(claim.get("determination_requested_on"))
    process = None
    if requested is None:
        if responded is None and today <= submitted + RESPONSE:
            process = "AWAITING_SUPPLIER_RESPONSE"
        elif (responded is not None and responded <= submitted + RESPONSE
              and today <= submitted + SETTLEMENT):
            process = "NEGOTIATION_PERIOD"
        else:
            process = "AWAITING_DETERMINATION_REQUEST"
    else:
        timely = responded is not None and responded <= submitted + RESPONSE
        if not ((requested > submitted + RESPONSE and not timely)
                or requested > submitted + SETTLEMENT):
            process = "DETERMINATION_REQUEST_PREMATURE"
    if process is not None:
        return "pending", frozenset((process,)), ZERO, rounded_cap, currency
    return ("covered", frozenset(covered) | frozenset(cap_codes), rounded_cap, rounded_cap,
            currency)
