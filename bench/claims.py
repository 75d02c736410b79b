"""A seeded generator of realistic Trade Assurance claims under the 2015.1 programme.

Every claim is a facts document exactly in the format of section 2 of the domain
specification (dates and amounts as strings, as read from JSON), for an order placed before
2017-12-08, so the registry picks ruleset ``2015.1`` for it.

Claims are drawn from scenario families whose mix, under the default parameters, is roughly:

* ~45% covered: late or missing shipment, failed pre-shipment quality checks, amended
  ship-by dates, ship-within-days contracts, partial payments, limit caps, overpayments,
  prior payouts, and extra grounds that are denied alongside a covered one;
* ~30% denied: every gate (participation, category, confirmation, currency - EUR contracts
  carry an FX rate but the default policy does not convert -, minimum, payments, limit,
  chargeback, prior payouts) and every denied ground, sometimes several at once;
* ~15% pending: premature claims, pending pre-shipment checks, the supplier-response and
  negotiation periods, a missing or premature determination request;
* ~10% settled between the parties.

The mix is a property of the scenario families, not a label: the verdicts themselves come
from the engines being measured. ``generate(n, seed)`` is deterministic for a seed.

Command line::

    python bench/claims.py N OUT.jsonl [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SEED", "generate", "iter_claims", "write_jsonl"]

DEFAULT_SEED = 20150101

Claim = dict[str, Any]

#: Ordinary product categories (none is excluded by the 2015.1 defaults).
CATEGORIES = (
    "consumer_electronics", "industrial_machinery", "apparel", "home_textiles",
    "auto_parts", "furniture", "packaging", "led_lighting", "hardware_tools",
    "chemicals", "beauty_personal_care", "toys", "sports_equipment", "agriculture_food",
)
#: Categories the 2015.1 defaults exclude.
EXCLUDED = (
    "vehicles", "real_estate", "websites_businesses_for_sale", "classified_ads", "services",
    "business_equipment.excluded_subcategory",
)
UNCOVERED_METHODS = ("credit_card", "e_checking", "western_union", "online_bank_payment",
                     "pay_later")
INSPECTION_METHODS = ("third_party_inspection", "buyer_sample_check", "buyer_onsite_check")
QUALITY_REQUIREMENTS = (
    "Thickness 0.80 mm +/- 0.02", "Colour Pantone 286 C", "Drop test 1.2 m, no breakage",
    "Moisture below 12%", "Stitch density 10 per inch", "Voltage 220-240 V, CE marked",
    "AQL 2.5 general inspection level II", "Seams double-stitched",
)
FINDINGS = ("Thickness 0.72 mm", "Colour off-shade", "3 of 50 units cracked", "Moisture 17%",
            "Missing CE mark", "AQL exceeded: 9 major defects")
LAST_PLACEMENT = dt.date(2017, 10, 31)  # leaves room for the claim, all before 2017-12-08
FIRST_PLACEMENT = dt.date(2015, 1, 5)
CENT = Decimal("0.01")


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "currency": currency}


def _day(d: dt.date) -> str:
    return d.isoformat()


class _Builder:
    """One claim under construction: plain Python values, rendered to a facts dict at the end."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        r = rng
        span = (LAST_PLACEMENT - FIRST_PLACEMENT).days
        self.placed = FIRST_PLACEMENT + dt.timedelta(days=r.randrange(span))
        self.confirmed: dt.date | None = self.placed + dt.timedelta(days=r.randint(0, 3))
        self.category = r.choice(CATEGORIES)
        self.currency = "USD"
        self.fx_rate: str | None = None
        self.order = Decimal(r.choice((
            r.randint(1000, 5000), r.randint(5000, 30000), r.randint(30000, 250000),
        ))) + Decimal(r.choice((0, 0, 50, r.randint(1, 99)))) / 100
        self.total_value: Decimal | None = None
        self.safeguard = False
        self.safeguard_at_placement: bool | None = None
        self.requirements: list[str] = []
        self.participating = True
        self.participating_at_claim: bool | None = r.choice((True, True, None))
        self.ta_limit: Decimal | None = (  # whole dollars
            self.order * r.choice((2, 3, 5, 10))).quantize(Decimal(1)) + 10000
        self.limit_in_use = Decimal(r.choice((0, 0, r.randint(1, 9) * 1000)))
        # payments: a deposit + balance, or one payment in full, all by T/T to the platform
        pay1 = self.confirmed + dt.timedelta(days=r.randint(1, 7))
        self.payments: list[dict[str, Any]] = []
        if r.random() < 0.45:
            share = Decimal(r.choice((30, 40, 50))) / 100
            deposit = (self.order * share).quantize(CENT)
            self.payments.append(self._payment("initial", deposit, pay1))
            self.payments.append(self._payment(
                "balance", self.order - deposit, pay1 + dt.timedelta(days=r.randint(5, 20))))
        else:
            self.payments.append(self._payment("initial", self.order, pay1))
        self.ship_within: int | None = None
        self.ship_by: dt.date | None = pay1 + dt.timedelta(days=r.randint(15, 60))
        if r.random() < 0.15:  # "ship within N days of the initial payment"
            self.ship_within = r.choice((20, 30, 45, 60))
            self.ship_by = None
        self.amended_ship_by: dt.date | None = None
        self.amendment_agreed_on: dt.date | None = None
        # shipment: late by default
        self.shipped: dt.date | None = self.original_ship_by + dt.timedelta(days=r.randint(1, 20))
        self.first_partial: dt.date | None = None
        self.delivered: dt.date | None = None
        self.damaged = False
        self.damage_stage: str | None = None
        self.inspection: dict[str, Any] | None = None
        self.post_inspection: dict[str, Any] | None = None
        self.grounds = ["late_shipment"]
        self.description: str | None = r.choice((
            None, "Goods not shipped by the contract ship-by date.",
            "Supplier missed the agreed ship date.", "Container left port late."))
        self.submitted = self.shipped + dt.timedelta(days=r.randint(1, 10))
        self.responded: dt.date | None = None
        self.settled: dt.date | None = None
        self.determination: dt.date | None = None
        self.accepted_delay = False
        self.chargeback = False
        self.prior = Decimal(0)
        self.as_of = self.submitted  # fixed by `settle_process`
        self.settle_process()

    # -- helpers -------------------------------------------------------------------------
    def _payment(self, role: str, amount: Decimal, on: dt.date, method: str = "TT",
                 to_platform: bool = True, payer_name: bool | None = True) -> dict[str, Any]:
        return {"role": role, "method": method, "to_platform_account": to_platform,
                "payer_name_entered": payer_name if method == "TT" else None,
                "amount": amount, "received_on": on}

    @property
    def initial(self) -> dict[str, Any] | None:
        return next((p for p in self.payments if p["role"] == "initial"), None)

    @property
    def original_ship_by(self) -> dt.date:
        if self.ship_by is not None:
            return self.ship_by
        initial = self.initial
        assert initial is not None and self.ship_within is not None
        received: dt.date = initial["received_on"]
        return received + dt.timedelta(days=self.ship_within)

    @property
    def effective_ship_by(self) -> dt.date:
        if self.amended_ship_by is not None and self.amendment_agreed_on is not None:
            return self.amended_ship_by
        return self.original_ship_by

    def days(self, d: dt.date, lo: int, hi: int) -> dt.date:
        return d + dt.timedelta(days=self.rng.randint(lo, hi))

    def settle_process(self, state: str = "determination") -> None:
        """Set response, determination request and as_of so the dispute is in ``state``.

        ``determination``: a valid request (supplier silent past day 5, or past day 15);
        ``awaiting_supplier``, ``negotiation``, ``awaiting_request``, ``premature``.
        """
        r, s = self.rng, self.submitted
        self.responded = None
        self.determination = None
        if state == "determination":
            if r.random() < 0.6:  # supplier silent: the buyer may ask from day 6
                if r.random() < 0.3:
                    self.responded = self.days(s, 6, 12)  # answered, but too late
                self.determination = self.days(s, 6, 20)
            else:  # supplier answered in time: negotiation runs to day 15
                self.responded = self.days(s, 0, 5)
                self.determination = self.days(s, 16, 30)
            self.as_of = self.days(max(self.determination, self.responded or s), 0, 10)
        elif state == "awaiting_supplier":
            self.as_of = self.days(s, 0, 5)
        elif state == "negotiation":
            self.responded = self.days(s, 0, 4)
            self.as_of = self.days(max(self.responded, s), 0, 15 - (self.responded - s).days)
            self.as_of = min(self.as_of, s + dt.timedelta(days=15))
        elif state == "awaiting_request":
            if r.random() < 0.5:
                self.as_of = self.days(s, 6, 40)  # supplier silent past day 5
            else:
                self.responded = self.days(s, 0, 5)
                self.as_of = self.days(s, 16, 40)  # negotiation period over
        elif state == "premature":
            if r.random() < 0.5:
                self.determination = self.days(s, 0, 5)  # before the response period ends
            else:
                self.responded = self.days(s, 0, 5)
                self.determination = self.days(s, 6, 15)  # still in negotiation
            self.as_of = self.days(self.determination, 0, 5)
        else:
            raise ValueError(state)

    # -- shaping: grounds ------------------------------------------------------------------
    def not_shipped(self) -> None:
        self.shipped = None
        self.submitted = self.days(self.effective_ship_by, 1, 25)

    def quality_covered(self, shipped: bool) -> None:
        """Safeguard on, requirements stated, a failed pre-shipment check."""
        r = self.rng
        self.safeguard = True
        self.safeguard_at_placement = r.choice((True, True, None))
        self.requirements = r.sample(QUALITY_REQUIREMENTS, r.randint(1, 3))
        ship_by = self.effective_ship_by
        on = self.days(ship_by, -12, -1)
        self.inspection = {"on": on, "method": r.choice(INSPECTION_METHODS), "result": "fail",
                           "findings": r.choice((None, *FINDINGS))}
        self.grounds = ["quality"]
        if shipped:
            self.shipped = self.days(on, 0, 8)  # shipped anyway (on the day counts as before)
            self.submitted = self.days(max(self.shipped, on), 0, 12)
        else:
            self.shipped = None
            self.submitted = self.days(on, 1, 20)

    def add_grounds(self, *grounds: str) -> None:
        for g in grounds:
            if g not in self.grounds:
                self.grounds.append(g)

    # -- rendering -------------------------------------------------------------------------
    def render(self) -> Claim:
        r = self.rng
        cur = self.currency

        def money(x: Decimal) -> dict[str, str]:
            return _money(x, cur)

        contract: dict[str, Any] = {
            "placed_on": _day(self.placed),
            "confirmed_on": _day(self.confirmed) if self.confirmed else None,
            "category": self.category,
            "order_amount": money(self.order),
            "total_value": money(self.total_value) if self.total_value is not None else None,
            "fx_rate_to_usd": self.fx_rate,
            "ship_by": _day(self.ship_by) if self.ship_by else None,
            "ship_within_days": self.ship_within,
            "amended_ship_by": _day(self.amended_ship_by) if self.amended_ship_by else None,
            "amendment_agreed_on":
                _day(self.amendment_agreed_on) if self.amendment_agreed_on else None,
            "quality_safeguard": self.safeguard,
            "quality_safeguard_at_placement": self.safeguard_at_placement,
            "quality_requirements": list(self.requirements),
        }
        supplier: dict[str, Any] = {
            "participating": self.participating,
            "participating_at_claim": self.participating_at_claim,
            "ta_limit": _money(self.ta_limit, "USD") if self.ta_limit is not None else None,
            "limit_in_use": _money(self.limit_in_use, "USD"),
        }
        payments = [
            {**p, "amount": money(p["amount"]), "received_on": _day(p["received_on"])}
            for p in self.payments
        ]
        shipment: dict[str, Any] = {
            "shipped_on": _day(self.shipped) if self.shipped else None,
            "first_partial_shipped_on": _day(self.first_partial) if self.first_partial else None,
            "delivered_on": _day(self.delivered) if self.delivered else None,
            "damaged_in_transit": self.damaged,
            "damage_stage": self.damage_stage,
        }
        claim: dict[str, Any] = {
            "grounds": list(self.grounds),
            "description": self.description,
            "submitted_on": _day(self.submitted),
            "supplier_responded_on": _day(self.responded) if self.responded else None,
            "settled_on": _day(self.settled) if self.settled else None,
            "determination_requested_on": _day(self.determination) if self.determination else None,
            "buyer_accepted_delay": self.accepted_delay,
            "chargeback_filed": self.chargeback,
            "prior_payouts": money(self.prior),
        }

        def inspection(i: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if i is None else {**i, "on": _day(i["on"])}

        facts: Claim = {
            "as_of": _day(self.as_of),
            "contract": contract,
            "supplier": supplier,
            "payments": payments,
            "shipment": shipment,
            "inspection": inspection(self.inspection),
            "post_shipment_inspection": inspection(self.post_inspection),
            "claim": claim,
        }
        # Optional fields are often left out, as real documents do (they then take their
        # defaults); required fields are always present.
        if r.random() < 0.5:
            _drop_defaults(facts)
        return facts


_OPTIONAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "contract": {"total_value": None, "fx_rate_to_usd": None,
                 "ship_within_days": None, "amended_ship_by": None,
                 "amendment_agreed_on": None, "quality_safeguard_at_placement": None},
    "supplier": {"participating_at_claim": None, "limit_in_use": {"amount": "0.00",
                                                                  "currency": "USD"}},
    "shipment": {"first_partial_shipped_on": None, "delivered_on": None,
                 "damaged_in_transit": False, "damage_stage": None},
    "claim": {"description": None, "supplier_responded_on": None, "settled_on": None,
              "determination_requested_on": None, "buyer_accepted_delay": False,
              "chargeback_filed": False},
}


def _drop_defaults(facts: Claim) -> None:
    """Leave out optional fields that hold their default value."""
    for section, defaults in _OPTIONAL_DEFAULTS.items():
        doc = facts[section]
        for key, default in defaults.items():
            if key in doc and doc[key] == default:
                del doc[key]
    contract = facts["contract"]
    if contract["placed_on"] == contract["confirmed_on"]:  # placed_on defaults to confirmed_on
        del contract["placed_on"]
    if facts["post_shipment_inspection"] is None:
        del facts["post_shipment_inspection"]
    prior = facts["claim"]["prior_payouts"]
    if Decimal(prior["amount"]) == 0:
        del facts["claim"]["prior_payouts"]


# === scenario families ========================================================================

def _covered(b: _Builder) -> None:
    r = b.rng
    kind = r.random()
    if kind < 0.12:
        b.not_shipped()
    elif kind < 0.27:
        b.quality_covered(shipped=r.random() < 0.6)
    elif kind < 0.35:  # amended ship-by agreed before the breach, missed anyway
        original = b.original_ship_by
        b.amendment_agreed_on = b.days(original, -10, 0)
        b.amended_ship_by = b.days(original, 5, 20)
        b.shipped = b.days(b.amended_ship_by, 1, 10)
        b.submitted = b.days(b.shipped, 1, 10)
    # caps and payments
    twist = r.random()
    if twist < 0.15:  # only the deposit was paid through the platform (or at all)
        if len(b.payments) == 2:
            if r.random() < 0.5:
                b.payments.pop()
            else:
                b.payments[1]["method"] = r.choice(UNCOVERED_METHODS)
                b.payments[1]["payer_name_entered"] = None
        else:
            b.payments[0]["amount"] = (b.order * Decimal("0.3")).quantize(CENT)
    elif twist < 0.25:  # the supplier's remaining limit is below the order amount
        assert b.ta_limit is not None
        b.limit_in_use = b.ta_limit - (b.order * Decimal(r.choice(("0.4", "0.7", "0.95")))
                                       ).quantize(CENT)
    elif twist < 0.32:  # paid more than the order amount (freight, a second invoice)
        b.payments.append(b._payment("balance", Decimal(r.randint(50, 900)),
                                     b.days(b.payments[0]["received_on"], 3, 9)))
    elif twist < 0.40:  # an earlier partial refund
        b.prior = (b.order * Decimal(r.choice(("0.1", "0.25", "0.5")))).quantize(CENT)
    elif twist < 0.45:
        b.total_value = b.order + Decimal(r.randint(100, 5000))
    # extra grounds that are judged and denied alongside the covered one
    if r.random() < 0.25:
        b.add_grounds(r.choice(("non_arrival", "transit_damage", "other", "quantity_shortfall",
                                "post_shipment_quality")))
    b.settle_process("determination")


def _set_currency(b: _Builder, currency: str, rate: str | None) -> None:
    b.currency = currency
    b.fx_rate = rate


_GATE_DENIALS: tuple[Callable[[_Builder], None], ...] = (
    lambda b: setattr(b, "participating", False),
    lambda b: setattr(b, "category", b.rng.choice(EXCLUDED)),
    lambda b: setattr(b, "confirmed", None),
    lambda b: _set_currency(b, "EUR", b.rng.choice(("1.0853", "1.1214", "1.0615", None))),
    lambda b: _set_currency(b, "CNY", b.rng.choice(("0.1452", "0.1611"))),
    lambda b: _below_minimum(b),
    lambda b: _no_payment(b),
    lambda b: _initial_fault(b),
    lambda b: _no_limit(b),
    lambda b: setattr(b, "chargeback", True),
    lambda b: _already_compensated(b),
)


def _below_minimum(b: _Builder) -> None:
    b.order = Decimal(b.rng.randint(150, 999)) + Decimal(b.rng.choice((0, 99))) / 100
    for p in b.payments:
        p["amount"] = b.order if p["role"] == "initial" else Decimal(0)
    b.payments = [p for p in b.payments if p["amount"] > 0]


def _no_payment(b: _Builder) -> None:
    choice = b.rng.randrange(3)
    if choice == 0 or not b.payments:
        if b.ship_within is not None:  # the ship-by date hangs on the initial payment
            b.ship_by, b.ship_within = b.original_ship_by, None
        b.payments = []
    elif choice == 1:
        b.payments[0]["amount"] = Decimal(0)
    else:
        b.payments[0]["method"] = None
        b.payments[0]["payer_name_entered"] = None


def _initial_fault(b: _Builder) -> None:
    if not b.payments or b.payments[0]["role"] != "initial":
        return
    p = b.payments[0]
    fault = b.rng.randrange(3)
    if fault == 0:
        p["method"] = b.rng.choice(UNCOVERED_METHODS)
        p["payer_name_entered"] = None
    elif fault == 1:
        p["to_platform_account"] = False
    else:
        p["payer_name_entered"] = False


def _no_limit(b: _Builder) -> None:
    if b.rng.random() < 0.5:
        b.ta_limit = None
    else:
        assert b.ta_limit is not None
        b.limit_in_use = b.ta_limit + Decimal(b.rng.choice((0, 2500)))


def _already_compensated(b: _Builder) -> None:
    b.prior = b.order


def _ground_denial(b: _Builder) -> None:
    """Every asserted ground is denied."""
    r = b.rng
    kind = r.randrange(14)
    ship_by = b.effective_ship_by
    if kind == 0:  # shipped on time, claimed late shipment anyway
        b.shipped = b.days(ship_by, -10, 0)
        b.submitted = b.days(b.shipped, 1, 20)
    elif kind == 1:
        b.accepted_delay = True
    elif kind == 2:  # a new ship-by date agreed after the breach, then met
        b.amendment_agreed_on = b.days(ship_by, 1, 6)
        b.amended_ship_by = b.days(b.amendment_agreed_on, 5, 20)
        b.shipped = b.days(b.amended_ship_by, -4, 0)
        b.submitted = b.days(b.shipped, 1, 10)
    elif kind == 3:  # claimed after the 30-day window
        if r.random() < 0.5:
            b.shipped = None
        b.submitted = b.days(ship_by, 31, 60)
    elif kind in (4, 5, 6, 7, 8, 9, 10):
        b.quality_covered(shipped=True)
        if kind == 4:
            b.safeguard = False
            b.safeguard_at_placement = None
        elif kind == 5:
            b.safeguard_at_placement = False
            if r.random() < 0.4:
                b.requirements = []
        elif kind == 6:
            b.requirements = []
        elif kind == 7:  # shipped without a pre-shipment check
            b.inspection = None
            if r.random() < 0.5:
                b.delivered = b.days(b.shipped or ship_by, 15, 40)
                b.post_inspection = {"on": b.days(b.delivered, 0, 5),
                                     "method": r.choice(INSPECTION_METHODS), "result": "fail",
                                     "findings": r.choice(FINDINGS)}
                b.submitted = b.days(b.post_inspection["on"], 0, 5)
        elif kind == 8:  # the check was done after the goods had left
            assert b.inspection is not None and b.shipped is not None
            b.inspection["on"] = b.days(b.shipped, 1, 10)
            b.submitted = b.days(b.inspection["on"], 0, 10)
        elif kind == 9:
            assert b.inspection is not None
            b.inspection["result"] = "pass"
        else:
            assert b.inspection is not None
            b.submitted = b.days(b.inspection["on"], 31, 50)
    elif kind == 11:  # shipped on time, never arrived; or damaged on the way
        b.shipped = b.days(ship_by, -10, 0)
        b.submitted = b.days(b.shipped, 20, 45)
        if r.random() < 0.5:
            b.grounds = ["non_arrival"]
        else:
            b.grounds = ["transit_damage"]
            b.damaged = True
            b.damage_stage = r.choice(("pick_up", "ocean_transit", "inland_transit"))
            b.delivered = b.days(b.shipped, 15, 30)
    elif kind == 12:  # shipped late and never arrived: another kind of dispute
        b.grounds = ["non_arrival"]
    else:
        b.shipped = b.days(ship_by, -10, 0)
        b.delivered = b.days(b.shipped, 15, 40)
        b.submitted = b.days(b.delivered, 1, 20)
        b.grounds = [r.choice(("quantity_shortfall", "other", "post_shipment_quality"))]
        if r.random() < 0.3:
            b.add_grounds("transit_damage")


def _denied(b: _Builder) -> None:
    r = b.rng
    if r.random() < 0.3:  # start from a covered-looking claim with caps and extra grounds
        _covered(b)
    n_gates = r.choice((1, 1, 1, 2, 3)) if r.random() < 0.7 else 0
    if n_gates == 0 or r.random() < 0.25:
        _ground_denial(b)
    for gate in r.sample(_GATE_DENIALS, n_gates):
        gate(b)
    if r.random() < 0.2:
        b.add_grounds(r.choice(("non_arrival", "other", "transit_damage")))
    b.settle_process(r.choice(("determination", "determination", "awaiting_request",
                               "awaiting_supplier")))


def _pending(b: _Builder) -> None:
    r = b.rng
    kind = r.random()
    if kind < 0.25:  # claimed before the ship-by date had even passed
        b.shipped = None
        b.submitted = b.days(b.effective_ship_by, -10, 0)
        b.settle_process(r.choice(("determination", "awaiting_supplier", "awaiting_request")))
    elif kind < 0.40:  # quality claim while the pre-shipment check is outstanding
        b.quality_covered(shipped=False)
        if r.random() < 0.5:
            b.inspection = None
        else:
            assert b.inspection is not None
            b.inspection["result"] = None
        b.settle_process(r.choice(("determination", "awaiting_request")))
    else:  # a covered ground, but the dispute process is still running
        if r.random() < 0.2:
            b.not_shipped()
        elif r.random() < 0.2:
            b.quality_covered(shipped=True)
        b.settle_process(r.choice(("awaiting_supplier", "negotiation", "awaiting_request",
                                   "premature")))
    if r.random() < 0.2:
        b.add_grounds(r.choice(("non_arrival", "other", "quality")))


def _settled(b: _Builder) -> None:
    r = b.rng
    if r.random() < 0.7:
        _covered(b)
    else:
        b.shipped = None
        b.submitted = b.days(b.effective_ship_by, -5, 0)  # premature, then settled
    b.settle_process(r.choice(("determination", "awaiting_request", "negotiation")))
    b.settled = b.days(b.submitted, 1, 14)
    b.as_of = max(b.as_of, b.settled)


#: (family, weight): weights give roughly the mix in the module docstring.
FAMILIES: tuple[tuple[Callable[[_Builder], None], float], ...] = (
    (_covered, 0.46),
    (_denied, 0.29),
    (_pending, 0.15),
    (_settled, 0.10),
)


def iter_claims(n: int, seed: int = DEFAULT_SEED) -> Iterator[Claim]:
    """Yield ``n`` claims; the same ``(n, seed)`` always gives the same claims."""
    rng = random.Random(seed)
    families = [f for f, _ in FAMILIES]
    weights = [w for _, w in FAMILIES]
    for _ in range(n):
        b = _Builder(rng)
        rng.choices(families, weights)[0](b)
        yield b.render()


def generate(n: int, seed: int = DEFAULT_SEED) -> list[Claim]:
    """``n`` claims (facts dicts in the spec's format) for ``seed``."""
    return list(iter_claims(n, seed))


def write_jsonl(claims: Iterable[Claim], path: str | Path) -> None:
    """Write one facts document per line."""
    with open(path, "w", encoding="utf-8") as fh:
        for c in claims:
            fh.write(json.dumps(c, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of claims")
    ap.add_argument("out", help="output JSONL file ('-' for stdout)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    claims = iter_claims(args.n, args.seed)  # streamed: a million claims need no memory
    if args.out == "-":
        for c in claims:
            sys.stdout.write(json.dumps(c, separators=(",", ":")) + "\n")
    else:
        write_jsonl(claims, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
