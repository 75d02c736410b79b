"""Run the JDM graph of the 2015.1 decision on zen-engine, from validated facts.

:class:`ZenDecider` loads ``trade-assurance-2015.1.json`` once; :meth:`ZenDecider.decide`
converts validated :class:`~ta_rules.facts.Facts` to the graph's input (dates as ISO
strings, amounts as decimal strings - zen parses them exactly with ``number()``; floats
are never used), evaluates the graph, and turns its result back into
``(outcome, frozenset(codes), max_refund, coverage_cap)`` with :class:`~ta_rules.money.Money`.

The input holds the facts the 2015.1 decision reads under the default parameters; free
text (descriptions, findings) and the facts only non-default modes read (``placed_on``,
``total_value``, ``participating_at_claim``, ``first_partial_shipped_on``, ``delivered_on``,
transit damage details) are left out.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import zen

from ta_rules.facts import Facts
from ta_rules.money import Money

__all__ = ["GRAPH_PATH", "Decision", "ZenDecider", "to_input"]

GRAPH_PATH = Path(__file__).with_name("trade-assurance-2015.1.json")

Decision = tuple[str, frozenset[str], Money, Money | None]


def _day(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


def _money(m: Money | None) -> dict[str, str] | None:
    return None if m is None else {"amount": str(m.amount), "currency": m.currency}


def _inspection(i: Any) -> dict[str, Any] | None:  # an inspection record, or None
    return None if i is None else {"on": i.on.isoformat(), "method": i.method,
                                   "result": i.result}


def to_input(f: Facts) -> dict[str, Any]:
    """The graph's input for validated facts."""
    c, s, cl = f.contract, f.supplier, f.claim
    return {
        "as_of": f.as_of.isoformat(),
        "contract": {
            "confirmed_on": _day(c.confirmed_on),
            "category": c.category,
            "order_amount": _money(c.order_amount),
            "fx_rate_to_usd": None if c.fx_rate_to_usd is None else str(c.fx_rate_to_usd),
            "ship_by": _day(c.ship_by),
            "ship_within_days": c.ship_within_days,
            "amended_ship_by": _day(c.amended_ship_by),
            "amendment_agreed_on": _day(c.amendment_agreed_on),
            "quality_safeguard": c.quality_safeguard,
            "quality_safeguard_at_placement": c.quality_safeguard_at_placement,
            "quality_requirements": list(c.quality_requirements),
        },
        "supplier": {
            "participating": s.participating,
            "ta_limit": _money(s.ta_limit),
            "limit_in_use": _money(s.limit_in_use),
        },
        "payments": [
            {"role": p.role, "method": p.method, "to_platform_account": p.to_platform_account,
             "payer_name_entered": p.payer_name_entered, "amount": _money(p.amount),
             "received_on": p.received_on.isoformat()}
            for p in f.payments
        ],
        "shipment": {"shipped_on": _day(f.shipment.shipped_on)},
        "inspection": _inspection(f.inspection),
        "post_shipment_inspection": _inspection(f.post_shipment_inspection),
        "claim": {
            "grounds": list(cl.grounds),
            "submitted_on": cl.submitted_on.isoformat(),
            "supplier_responded_on": _day(cl.supplier_responded_on),
            "settled_on": _day(cl.settled_on),
            "determination_requested_on": _day(cl.determination_requested_on),
            "buyer_accepted_delay": cl.buyer_accepted_delay,
            "chargeback_filed": cl.chargeback_filed,
            "prior_payouts": _money(cl.prior_payouts),
        },
    }


class ZenDecider:
    """The 2015.1 decision graph on zen-engine, loaded and compiled once.

    Two ways in, with the same graph and the same answers:

    * :meth:`decide` - ``engine.evaluate(key, input)`` on an engine with a *static loader*
      holding the graph. zen compiles the graph once and reuses it: the fast path.
    * :meth:`decide_via_decision` - ``engine.create_decision(content).evaluate(input)``, the
      README quickstart. With zen-engine 2.1.3 this is several times slower per call (about
      0.1 ms for an empty graph here, 0.3-0.4 ms for this one), so the benchmark reports it
      separately and uses :meth:`decide` for the comparisons.
    """

    KEY = "trade-assurance-2015.1"

    def __init__(self, graph_path: str | Path = GRAPH_PATH) -> None:
        self.content = Path(graph_path).read_text(encoding="utf-8")
        self.engine = zen.ZenEngine(
            {"loader": {"type": "static", "content": {self.KEY: json.loads(self.content)}}})
        self.decision = zen.ZenEngine().create_decision(self.content)

    def evaluate_raw(self, f: Facts, *, trace: bool = False) -> dict[str, Any]:
        """The graph's whole response (``result``, ``performance``, and ``trace`` if asked)."""
        response = self.engine.evaluate(self.KEY, to_input(f), {"trace": trace})
        return dict(response)

    def decide(self, f: Facts) -> Decision:
        """(outcome, reason codes, max_refund, coverage_cap), as the floor returns them."""
        return _decision(self.engine.evaluate(self.KEY, to_input(f))["result"], f)

    def decide_via_decision(self, f: Facts) -> Decision:
        """The same, through a ``ZenDecision`` made by ``create_decision``."""
        return _decision(self.decision.evaluate(to_input(f))["result"], f)


def _decision(result: dict[str, Any], f: Facts) -> Decision:
    currency = f.contract.order_amount.currency
    cap = result.get("coverageCap")  # an expression node leaves out keys whose value is null
    return (
        result["outcome"],
        frozenset(result["reasons"]),
        Money(Decimal(result["maxRefund"]), currency),
        None if cap is None else Money(Decimal(cap), currency),
    )
