"""The floor: the 2015.1 decision written by hand, in plain Python, with default parameters.

This is what a careful engineer would write without a rules framework, straight from
section 4 of the domain specification (``shared/spec/trade-assurance.md``): no rule
language, no trace, no messages, no parameter overrides. It is the lower bound the
benchmark holds the engines against, and a second, independent reading of the spec that
``bench/run.py --check`` compares with ``ta_rules.evaluate`` claim by claim.

The parameters are the 2015.1 defaults. Numbers and lists are module constants; the modes
(``currency_handling: deny``, ``limit_exceeded_handling: cap``, ``payer_name_missing_handling:
deny``, ``shipment_date_basis: complete_shipment``, no post-delivery quality cover, no
recharacterisation, no automatic escalation, no determination deadline, ...) are simply the
way the code is written, so the branches for the alternatives do not exist here.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from ta_rules.facts import Facts
from ta_rules.money import Money

__all__ = ["Decision", "decide"]

Decision = tuple[str, frozenset[str], Money, Money | None]

# --- 2015.1 default parameters ------------------------------------------------------------
MIN_ORDER_AMOUNT_USD = Decimal("1000.00")
CONTRACT_CURRENCIES = frozenset({"USD"})
COVERED_PAYMENT_METHODS = frozenset({"TT"})
EXCLUDED_CATEGORIES = frozenset({
    "vehicles", "real_estate", "websites_businesses_for_sale", "classified_ads", "services",
    "business_equipment.excluded_subcategory",
})
LATE_SHIPMENT_GRACE_DAYS = 0
CLAIM_WINDOW_DAYS = 30
SUPPLIER_RESPONSE_DAYS = 5
SETTLEMENT_DAYS = 15
ACCEPTED_INSPECTION_METHODS = frozenset({
    "third_party_inspection", "buyer_sample_check", "buyer_onsite_check",
})

COVERED, DENIED, PENDING = "covered", "denied", "pending"
CENT = Decimal("0.01")
_ZERO = Decimal(0)


def _days(d: dt.date, n: int) -> dt.date:
    return d + dt.timedelta(days=n)


def _qualifies(p: Any) -> bool:  # a payment record of the facts
    """Covered method, paid to the platform account, and (for T/T) the payer name entered."""
    return (p.method in COVERED_PAYMENT_METHODS and p.to_platform_account
            and (p.method != "TT" or p.payer_name_entered is not False))


def decide(f: Facts) -> Decision:
    """Decide one claim: (outcome, reason codes, max_refund, coverage_cap)."""
    contract, supplier, claim = f.contract, f.supplier, f.claim
    currency = contract.order_amount.currency
    order = contract.order_amount.amount
    shipped = f.shipment.shipped_on
    submitted = claim.submitted_on

    # --- gates ----------------------------------------------------------------------------
    gates: list[str] = []
    if not supplier.participating:
        gates.append("SUPPLIER_NOT_PARTICIPATING")
    if contract.category in EXCLUDED_CATEGORIES:
        gates.append("EXCLUDED_CATEGORY")
    if contract.confirmed_on is None:
        gates.append("CONTRACT_NOT_CONFIRMED")

    rate: Decimal | None  # USD per unit of the contract currency; None = not usable
    if currency == "USD":
        rate = Decimal(1)
    elif currency in CONTRACT_CURRENCIES:
        rate = contract.fx_rate_to_usd
    else:
        rate = None
    if rate is None:
        gates.append("UNSUPPORTED_CURRENCY")
    elif (order * rate).quantize(CENT, rounding=ROUND_HALF_UP) < MIN_ORDER_AMOUNT_USD:
        gates.append("BELOW_MINIMUM_ORDER_AMOUNT")

    initial = next((p for p in f.payments if p.role == "initial"), None)
    if initial is None or initial.amount.amount == 0 or initial.method is None:
        gates.append("NO_QUALIFYING_PAYMENT")
    else:
        if initial.method not in COVERED_PAYMENT_METHODS:
            gates.append("PAYMENT_METHOD_NOT_COVERED")
        if not initial.to_platform_account:
            gates.append("PAYMENT_NOT_TO_PLATFORM_ACCOUNT")
        if initial.method == "TT" and initial.payer_name_entered is False:
            gates.append("PAYER_NAME_MISSING")
    paid = sum((p.amount.amount for p in f.payments if _qualifies(p)), _ZERO)

    limit = supplier.ta_limit.amount if supplier.ta_limit is not None else _ZERO
    available_usd = limit - supplier.limit_in_use.amount
    if supplier.participating and rate is not None and available_usd <= 0:
        gates.append("NO_AVAILABLE_TA_LIMIT")
    if claim.chargeback_filed:
        gates.append("OTHER_REMEDY_PURSUED")

    # --- coverage cap ---------------------------------------------------------------------
    cap: Decimal | None = None
    cap_codes: list[str] = []
    # (only for a participating supplier: otherwise no cap, no cap code, no ALREADY_COMPENSATED)
    if supplier.participating and rate is not None and available_usd > 0 and paid > 0:
        available = (available_usd / rate).quantize(CENT, rounding=ROUND_FLOOR)
        cap = min(order, paid, available)
        if paid < order and paid <= available:
            cap_codes.append("CAPPED_AT_AMOUNT_PAID")
        if available < order and available < paid:
            cap_codes.append("CAPPED_AT_AVAILABLE_TA_LIMIT")
        if paid > order and order <= available:
            cap_codes.append("CAPPED_AT_ORDER_AMOUNT")
        prior = claim.prior_payouts.amount
        if prior > 0:
            if prior >= cap:
                gates.append("ALREADY_COMPENSATED")
                cap = _ZERO
            else:
                cap -= prior
                cap_codes.append("REDUCED_BY_PRIOR_PAYOUT")

    # --- ship-by dates --------------------------------------------------------------------
    original_ship_by: dt.date | None = contract.ship_by
    if original_ship_by is None and initial is not None and contract.ship_within_days is not None:
        original_ship_by = _days(initial.received_on, contract.ship_within_days)
    # (Without a ship-by date - ship_within_days and no initial payment, which the gates deny
    # anyway - no date comparison with it holds, as in the engine.)
    amended = contract.amended_ship_by is not None and contract.amendment_agreed_on is not None
    ship_by = contract.amended_ship_by if amended else original_ship_by
    amended_after_breach = (amended and original_ship_by is not None
                            and contract.amendment_agreed_on is not None
                            and contract.amendment_agreed_on > original_ship_by)
    late_deadline = _days(ship_by, LATE_SHIPMENT_GRACE_DAYS) if ship_by is not None else None
    shipped_late = shipped is not None and late_deadline is not None and shipped > late_deadline
    not_shipped_by_deadline = (shipped is None and late_deadline is not None
                               and submitted > late_deadline)

    # --- grounds, each judged on its own: (status, codes) ---------------------------------
    def late_shipment() -> tuple[str, tuple[str, ...]]:
        if claim.buyer_accepted_delay:
            return DENIED, ("BUYER_ACCEPTED_BREACH",)
        if shipped is not None and late_deadline is not None and shipped <= late_deadline:
            return DENIED, ("BUYER_ACCEPTED_BREACH" if amended_after_breach else "NOT_LATE",)
        if late_deadline is not None and submitted <= late_deadline:
            return PENDING, ("CLAIM_PREMATURE",)
        if ship_by is not None and submitted > _days(ship_by, CLAIM_WINDOW_DAYS):
            return DENIED, ("CLAIM_WINDOW_EXPIRED",)
        return COVERED, ("NOT_SHIPPED_BY_SHIP_BY_DATE" if shipped is None else "LATE_SHIPMENT",)

    def quality() -> tuple[str, tuple[str, ...]]:
        if not contract.quality_safeguard:
            return DENIED, ("QUALITY_SAFEGUARD_NOT_ENABLED",)
        faults = []
        if contract.quality_safeguard_at_placement is False:
            faults.append("QUALITY_SAFEGUARD_ADDED_AFTER_ORDER")
        if not contract.quality_requirements:
            faults.append("NO_CONTRACT_QUALITY_REQUIREMENTS")
        if faults:
            return DENIED, tuple(faults)
        check = f.inspection
        if check is None:
            if shipped is None:
                return PENDING, ("PRE_SHIPMENT_CHECK_PENDING",)
            if f.post_shipment_inspection is not None:
                return DENIED, ("QUALITY_NOT_CHECKED_BEFORE_SHIPMENT",
                                "POST_SHIPMENT_QUALITY_ISSUE")
            return DENIED, ("QUALITY_NOT_CHECKED_BEFORE_SHIPMENT",)
        if shipped is not None and check.on > shipped:
            return DENIED, ("POST_SHIPMENT_QUALITY_ISSUE",)
        if check.method not in ACCEPTED_INSPECTION_METHODS:
            return PENDING, ("DESIGNATED_INSPECTION_REQUIRED",)
        if check.result == "pass":
            return DENIED, ("INSPECTION_PASSED",)
        if check.result is None:
            return PENDING, ("PRE_SHIPMENT_CHECK_PENDING",)
        if submitted > _days(check.on, CLAIM_WINDOW_DAYS):
            return DENIED, ("CLAIM_WINDOW_EXPIRED",)
        return COVERED, ("PRE_SHIPMENT_QUALITY_FAILURE",)

    def non_arrival() -> tuple[str, tuple[str, ...]]:
        if shipped_late or not_shipped_by_deadline:
            return DENIED, ("OTHER_DISPUTE_REASON",)
        return DENIED, ("SHIPPED_ON_TIME_NOT_ARRIVED",)

    covered: set[str] = set()
    pending: set[str] = set()
    denied: set[str] = set()
    for ground in claim.grounds:
        if ground == "late_shipment":
            status, codes = late_shipment()
        elif ground == "quality":
            status, codes = quality()
        elif ground == "post_shipment_quality":
            status, codes = DENIED, ("POST_SHIPMENT_QUALITY_ISSUE",)
        elif ground == "non_arrival":
            status, codes = non_arrival()
        elif ground == "transit_damage":
            status, codes = DENIED, ("TRANSIT_DAMAGE_EXCLUDED",)
        else:  # quantity_shortfall, other
            status, codes = DENIED, ("OTHER_DISPUTE_REASON",)
        {COVERED: covered, PENDING: pending, DENIED: denied}[status].update(codes)

    # --- outcome --------------------------------------------------------------------------
    zero = Money(_ZERO, currency)
    cap_money = Money(cap, currency) if cap is not None else None
    if gates:
        return DENIED, frozenset(gates) | denied, zero, None
    if not covered and not pending:
        return DENIED, frozenset(denied), zero, None
    if claim.settled_on is not None:
        return "settled", frozenset({"SETTLED_BETWEEN_PARTIES"}), zero, None
    if not covered:
        return PENDING, frozenset(pending), zero, cap_money

    process = _process_code(f)
    if process is not None:
        return PENDING, frozenset({process}), zero, cap_money
    assert cap_money is not None  # no gate failed, so a limit and a qualifying payment exist
    return COVERED, frozenset(covered) | frozenset(cap_codes), cap_money, cap_money


def _process_code(f: Facts) -> str | None:
    """Where the dispute stands once a ground is covered (None: ready for a determination)."""
    claim = f.claim
    start = claim.submitted_on
    response_deadline = _days(start, SUPPLIER_RESPONSE_DAYS)
    settlement_deadline = _days(start, SETTLEMENT_DAYS)
    responded = claim.supplier_responded_on
    requested = claim.determination_requested_on
    if requested is None:
        if responded is None and f.as_of <= response_deadline:
            return "AWAITING_SUPPLIER_RESPONSE"
        if (responded is not None and responded <= response_deadline
                and f.as_of <= settlement_deadline):
            return "NEGOTIATION_PERIOD"
        return "AWAITING_DETERMINATION_REQUEST"
    no_timely_response = responded is None or responded > response_deadline
    if (requested > response_deadline and no_timely_response) or requested > settlement_deadline:
        return None
    return "DETERMINATION_REQUEST_PREMATURE"
