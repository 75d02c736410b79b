"""Build the 2015.1 decision as a GoRules JDM decision graph (for zen-engine).

The graph is written to ``trade-assurance-2015.1.json`` beside this file; that JSON is what
the benchmark loads. This builder is its readable source: edit the tables here, then run
``python bench/zen/jdm_build.py`` (``bench/run.py --check`` says when the JSON is stale).

The graph is a straight chain, each node passing its input through and adding its output::

    request -> policy -> values -> gates -> caps -> ground items -> grounds
            -> process -> summary -> outcome -> result -> response

* ``policy`` (expression node): the 2015.1 default parameters that are numbers or lists.
  The modes (``currency_handling: deny``, ``limit_exceeded_handling: cap``,
  ``payer_name_missing_handling: deny``, ``shipment_date_basis: complete_shipment``, no
  post-delivery quality cover, no recharacterisation, no auto-escalation) are built into the
  tables, as the benchmark judges every engine with the default parameters.
* ``values`` (expression node): derived values - the rate, amounts as decimals, the initial
  payment, the qualifying amount paid, the available limit, the coverage cap, the effective
  ship-by date and the other dates of the decision.
* ``gates``, ``caps`` (decision tables, hit policy *collect*): one row per gate / cap code.
* ``grounds`` (decision table, hit policy *first*, run in *loop* mode over the asserted
  grounds): each ground judged on its own, rows in the spec's order, one group per ground.
* ``process`` (decision table, *first*): where the dispute stands.
* ``summary`` (expression node): the codes gathered by kind.
* ``outcome`` (decision table, *first*): the outcome precedence of section 4.
* ``result`` (expression node, no pass-through): outcome, reasons and the two amounts.

No function (JavaScript) node is needed: ZEN expressions have exact decimals (numbers are
``rust_decimal``), ``round(x, 2)`` rounds half away from zero (= half-up for the
non-negative amounts here), ``floor`` gives rounding down to cents, ``d()`` gives calendar
dates with ``.add(n, 'd')`` and comparisons, and ``and``/``or``/``?:`` short-circuit, which
is what the null guards need. Amounts enter as decimal strings (``number()`` parses them
exactly) and leave as strings (``string()``), never as floats.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["GRAPH_PATH", "build", "main"]

GRAPH_PATH = Path(__file__).with_name("trade-assurance-2015.1.json")

# --- node helpers ------------------------------------------------------------------------

_x = 0


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    global _x
    _x += 220
    node: dict[str, Any] = {"id": node_id, "type": kind, "name": node_id,
                            "position": {"x": _x, "y": 100}}
    if content is not None:
        node["content"] = content
    return node


def _expressions(node_id: str, pairs: list[tuple[str, str]], *,
                 pass_through: bool = True) -> dict[str, Any]:
    """An expression node: ``key = value`` rows, evaluated in order (``$`` = this node)."""
    return _node(node_id, "expressionNode", {
        "expressions": [{"id": f"{node_id}-{i}", "key": k, "value": v}
                        for i, (k, v) in enumerate(pairs, 1)],
        "passThrough": pass_through, "inputField": None, "outputPath": None,
        "executionMode": "single",
    })


def _table(node_id: str, hit_policy: str, inputs: list[tuple[str, str | None]],
           outputs: list[tuple[str, str]], rows: Sequence[tuple[str, ...]], *,
           output_path: str, input_field: str | None = None) -> dict[str, Any]:
    """A decision table. ``inputs``: (name, field or None for expression cells);
    ``outputs``: (name, field); ``rows``: input cells then output cells ("" = any)."""
    in_ids = [f"{node_id}-in{i}" for i in range(len(inputs))]
    out_ids = [f"{node_id}-out{i}" for i in range(len(outputs))]
    rules = []
    for n, row in enumerate(rows, 1):
        if len(row) != len(inputs) + len(outputs):
            raise ValueError(f"{node_id} row {n}: expected {len(inputs) + len(outputs)} cells")
        rule = {"_id": f"{node_id}-r{n}"}
        rule.update(zip(in_ids + out_ids, row, strict=True))
        rules.append(rule)
    return _node(node_id, "decisionTableNode", {
        "hitPolicy": hit_policy,
        "inputs": [{"id": i, "name": name, **({"field": field} if field else {})}
                   for i, (name, field) in zip(in_ids, inputs, strict=True)],
        "outputs": [{"id": o, "name": name, "field": field}
                    for o, (name, field) in zip(out_ids, outputs, strict=True)],
        "rules": rules,
        "passThrough": True,
        "inputField": input_field,
        "outputPath": output_path,
        "executionMode": "loop" if input_field else "single",
    })


def _codes(*conditional: tuple[str, str]) -> str:
    """An expression for a list of codes, each present when its condition holds."""
    items = ", ".join(f"{cond} ? '{code}' : null" for code, cond in conditional)
    return f"filter([{items}], # != null)"


# --- the policy --------------------------------------------------------------------------

POLICY = [
    ("p.min_order_amount_usd", "1000.00"),
    ("p.contract_currencies", "['USD']"),
    ("p.covered_payment_methods", "['TT']"),
    ("p.excluded_categories",
     "['vehicles', 'real_estate', 'websites_businesses_for_sale', 'classified_ads', "
     "'services', 'business_equipment.excluded_subcategory']"),
    ("p.late_shipment_grace_days", "0"),
    ("p.claim_window_days", "30"),
    ("p.supplier_response_days", "5"),
    ("p.settlement_days", "15"),
    ("p.determination_request_deadline_days", "null"),
    ("p.accepted_inspection_methods",
     "['third_party_inspection', 'buyer_sample_check', 'buyer_onsite_check']"),
]

_V = "$.v."  # earlier values of the same expression node

VALUES = [
    ("v.currency", "contract.order_amount.currency"),
    # USD per unit of the contract currency; null = the currency cannot be used
    ("v.rate", f"{_V}currency == 'USD' ? 1 : "
               f"({_V}currency in p.contract_currencies and contract.fx_rate_to_usd != null "
               f"? number(contract.fx_rate_to_usd) : null)"),
    ("v.order", "number(contract.order_amount.amount)"),
    ("v.orderUsd", f"{_V}rate == null ? null : round({_V}order * {_V}rate, 2)"),
    ("v.initial", "filter(payments, #.role == 'initial')[0]"),
    ("v.initialMissing", f"{_V}initial == null or number({_V}initial.amount.amount) == 0 "
                         f"or {_V}initial.method == null"),
    # a payment qualifies: covered method, to the platform account, T/T payer name entered
    ("v.paid", "sum(map(filter(payments, #.method in p.covered_payment_methods "
               "and #.to_platform_account and (#.method != 'TT' or #.payer_name_entered "
               "!= false)), number(#.amount.amount)))"),
    ("v.availableUsd", "(supplier.ta_limit == null ? 0 : number(supplier.ta_limit.amount)) "
                       "- number(supplier.limit_in_use.amount)"),
    # the available limit in the contract currency, rounded down to cents
    ("v.available", f"{_V}rate == null ? null : floor({_V}availableUsd / {_V}rate * 100) / 100"),
    ("v.hasCap", f"supplier.participating and {_V}rate != null and {_V}availableUsd > 0 "
                 f"and {_V}paid > 0"),
    ("v.capBeforePayouts",
     f"{_V}hasCap ? min([{_V}order, {_V}paid, {_V}available]) : null"),
    ("v.prior", "number(claim.prior_payouts.amount)"),
    ("v.cap", f"{_V}hasCap ? ({_V}prior >= {_V}capBeforePayouts ? 0 "
              f": {_V}capBeforePayouts - {_V}prior) : null"),
    # dates
    ("v.originalShipBy", "contract.ship_by != null ? d(contract.ship_by) : "
                         f"({_V}initial != null and contract.ship_within_days != null "
                         f"? d({_V}initial.received_on).add(contract.ship_within_days, 'd') "
                         ": null)"),
    ("v.amended", "contract.amended_ship_by != null and contract.amendment_agreed_on != null"),
    ("v.shipBy", f"{_V}amended ? d(contract.amended_ship_by) : {_V}originalShipBy"),
    ("v.amendedAfterBreach", f"{_V}amended and {_V}originalShipBy != null "
                             f"and d(contract.amendment_agreed_on) > {_V}originalShipBy"),
    ("v.shipped", "shipment.shipped_on == null ? null : d(shipment.shipped_on)"),
    ("v.lateDeadline", f"{_V}shipBy == null ? null "
                       f": {_V}shipBy.add(p.late_shipment_grace_days, 'd')"),
    ("v.submitted", "d(claim.submitted_on)"),
    ("v.asOf", "d(as_of)"),
    ("v.shippedLate", f"{_V}shipped != null and {_V}lateDeadline != null "
                      f"and {_V}shipped > {_V}lateDeadline"),
    ("v.notShippedByDeadline", f"{_V}shipped == null and {_V}lateDeadline != null "
                               f"and {_V}submitted > {_V}lateDeadline"),
    ("v.inspectedOn", "inspection == null ? null : d(inspection.on)"),
    ("v.responded", "claim.supplier_responded_on == null ? null "
                    ": d(claim.supplier_responded_on)"),
    ("v.requested", "claim.determination_requested_on == null ? null "
                    ": d(claim.determination_requested_on)"),
    ("v.responseDeadline", f"{_V}submitted.add(p.supplier_response_days, 'd')"),
    ("v.settlementDeadline", f"{_V}submitted.add(p.settlement_days, 'd')"),
]

GATES = [  # (condition, code): every row that holds adds its denial
    ("not supplier.participating", "SUPPLIER_NOT_PARTICIPATING"),
    ("contract.category in p.excluded_categories", "EXCLUDED_CATEGORY"),
    ("contract.confirmed_on == null", "CONTRACT_NOT_CONFIRMED"),
    ("v.rate == null", "UNSUPPORTED_CURRENCY"),
    ("v.orderUsd != null and v.orderUsd < p.min_order_amount_usd", "BELOW_MINIMUM_ORDER_AMOUNT"),
    ("v.initialMissing", "NO_QUALIFYING_PAYMENT"),
    ("not v.initialMissing and not (v.initial.method in p.covered_payment_methods)",
     "PAYMENT_METHOD_NOT_COVERED"),
    ("not v.initialMissing and not v.initial.to_platform_account",
     "PAYMENT_NOT_TO_PLATFORM_ACCOUNT"),
    ("not v.initialMissing and v.initial.method == 'TT' "
     "and v.initial.payer_name_entered == false", "PAYER_NAME_MISSING"),
    ("supplier.participating and v.rate != null and v.availableUsd <= 0",
     "NO_AVAILABLE_TA_LIMIT"),
    ("claim.chargeback_filed", "OTHER_REMEDY_PURSUED"),
    ("v.hasCap and v.prior > 0 and v.prior >= v.capBeforePayouts", "ALREADY_COMPENSATED"),
]

CAPS = [  # (condition, code)
    ("v.hasCap and v.paid < v.order and v.paid <= v.available", "CAPPED_AT_AMOUNT_PAID"),
    ("v.hasCap and v.available < v.order and v.available < v.paid",
     "CAPPED_AT_AVAILABLE_TA_LIMIT"),
    ("v.hasCap and v.paid > v.order and v.order <= v.available", "CAPPED_AT_ORDER_AMOUNT"),
    ("v.hasCap and v.prior > 0 and v.prior < v.capBeforePayouts", "REDUCED_BY_PRIOR_PAYOUT"),
]

# Each asserted ground becomes one item of the loop, carrying what its rows read.
GROUND_ITEMS = [
    ("groundItems", "map(claim.grounds, {ground: #, v: v, p: p, claim: claim, "
                    "contract: contract, inspection: inspection, "
                    "post_shipment_inspection: post_shipment_inspection})"),
]

_NO_REQUIREMENTS = "len(contract.quality_requirements) == 0"
_ADDED_AFTER = "contract.quality_safeguard_at_placement == false"
GROUNDS = [  # (ground, condition, status, codes): first row that holds, per ground
    ("'late_shipment'", "claim.buyer_accepted_delay", "'denied'", "['BUYER_ACCEPTED_BREACH']"),
    ("'late_shipment'", "v.shipped != null and v.lateDeadline != null "
                        "and v.shipped <= v.lateDeadline",
     "'denied'", "[v.amendedAfterBreach ? 'BUYER_ACCEPTED_BREACH' : 'NOT_LATE']"),
    ("'late_shipment'", "v.lateDeadline != null and v.submitted <= v.lateDeadline",
     "'pending'", "['CLAIM_PREMATURE']"),
    ("'late_shipment'", "p.claim_window_days != null and v.shipBy != null "
                        "and v.submitted > v.shipBy.add(p.claim_window_days, 'd')",
     "'denied'", "['CLAIM_WINDOW_EXPIRED']"),
    ("'late_shipment'", "", "'covered'",
     "[v.shipped == null ? 'NOT_SHIPPED_BY_SHIP_BY_DATE' : 'LATE_SHIPMENT']"),
    ("'quality'", "not contract.quality_safeguard", "'denied'",
     "['QUALITY_SAFEGUARD_NOT_ENABLED']"),
    ("'quality'", f"{_ADDED_AFTER} or {_NO_REQUIREMENTS}", "'denied'",
     _codes(("QUALITY_SAFEGUARD_ADDED_AFTER_ORDER", _ADDED_AFTER),
            ("NO_CONTRACT_QUALITY_REQUIREMENTS", _NO_REQUIREMENTS))),
    ("'quality'", "inspection == null and v.shipped != null", "'denied'",
     _codes(("QUALITY_NOT_CHECKED_BEFORE_SHIPMENT", "true"),
            ("POST_SHIPMENT_QUALITY_ISSUE", "post_shipment_inspection != null"))),
    ("'quality'", "inspection == null", "'pending'", "['PRE_SHIPMENT_CHECK_PENDING']"),
    ("'quality'", "v.shipped != null and v.inspectedOn > v.shipped", "'denied'",
     "['POST_SHIPMENT_QUALITY_ISSUE']"),
    ("'quality'", "not (inspection.method in p.accepted_inspection_methods)", "'pending'",
     "['DESIGNATED_INSPECTION_REQUIRED']"),
    ("'quality'", "inspection.result == 'pass'", "'denied'", "['INSPECTION_PASSED']"),
    ("'quality'", "inspection.result == null", "'pending'", "['PRE_SHIPMENT_CHECK_PENDING']"),
    ("'quality'", "p.claim_window_days != null "
                  "and v.submitted > v.inspectedOn.add(p.claim_window_days, 'd')",
     "'denied'", "['CLAIM_WINDOW_EXPIRED']"),
    ("'quality'", "", "'covered'", "['PRE_SHIPMENT_QUALITY_FAILURE']"),
    ("'post_shipment_quality'", "", "'denied'", "['POST_SHIPMENT_QUALITY_ISSUE']"),
    ("'non_arrival'", "v.shippedLate or v.notShippedByDeadline", "'denied'",
     "['OTHER_DISPUTE_REASON']"),
    ("'non_arrival'", "", "'denied'", "['SHIPPED_ON_TIME_NOT_ARRIVED']"),
    ("'transit_damage'", "", "'denied'", "['TRANSIT_DAMAGE_EXCLUDED']"),
    ("", "", "'denied'", "['OTHER_DISPUTE_REASON']"),  # quantity_shortfall, other
]

PROCESS = [  # (condition, code, kind): the first that holds
    ("v.requested == null and v.responded == null and v.asOf <= v.responseDeadline",
     "'AWAITING_SUPPLIER_RESPONSE'", "'pending'"),
    ("v.requested == null and v.responded != null and v.responded <= v.responseDeadline "
     "and v.asOf <= v.settlementDeadline", "'NEGOTIATION_PERIOD'", "'pending'"),
    ("v.requested == null", "'AWAITING_DETERMINATION_REQUEST'", "'pending'"),
    ("not ((v.requested > v.responseDeadline and (v.responded == null "
     "or v.responded > v.responseDeadline)) or v.requested > v.settlementDeadline)",
     "'DETERMINATION_REQUEST_PREMATURE'", "'pending'"),
    ("p.determination_request_deadline_days != null and v.requested > "
     "v.submitted.add(p.determination_request_deadline_days, 'd')",
     "'DETERMINATION_REQUEST_TOO_LATE'", "'denial'"),
    ("", "null", "null"),
]

SUMMARY = [
    ("codes.gates", "map(gates, #.code)"),
    ("codes.caps", "map(caps, #.code)"),
    ("codes.covered", "flatten(map(filter(grounds, #.status == 'covered'), #.codes))"),
    ("codes.pending", "flatten(map(filter(grounds, #.status == 'pending'), #.codes))"),
    ("codes.denied", "flatten(map(filter(grounds, #.status == 'denied'), #.codes))"),
]

OUTCOME = [  # (condition, outcome, reasons): section 4's precedence
    ("len(codes.gates) > 0", "'denied'", "flatten([codes.gates, codes.denied])"),
    ("len(codes.covered) == 0 and len(codes.pending) == 0", "'denied'", "codes.denied"),
    ("claim.settled_on != null", "'settled'", "['SETTLED_BETWEEN_PARTIES']"),
    ("len(codes.covered) == 0", "'pending'", "codes.pending"),
    ("process.kind == 'denial'", "'denied'", "[process.code]"),
    ("process.code != null", "'pending'", "[process.code]"),
    ("", "'covered'", "flatten([codes.covered, codes.caps])"),
]

RESULT = [
    ("outcome", "verdict.outcome"),
    ("reasons", "verdict.reasons"),
    ("maxRefund", "verdict.outcome == 'covered' and v.cap != null ? string(v.cap) : '0'"),
    ("coverageCap", "(verdict.outcome == 'covered' or verdict.outcome == 'pending') "
                    "and v.cap != null ? string(v.cap) : null"),
]


def build() -> dict[str, Any]:
    """The JDM graph as a JSON-ready dict."""
    global _x
    _x = 0
    nodes = [
        _node("request", "inputNode", {"schema": ""}),
        _expressions("policy", POLICY),
        _expressions("values", VALUES),
        _table("gates", "collect", [("Condition", None)], [("Code", "code")],
               [(c, f"'{code}'") for c, code in GATES], output_path="gates"),
        _table("caps", "collect", [("Condition", None)], [("Code", "code")],
               [(c, f"'{code}'") for c, code in CAPS], output_path="caps"),
        _expressions("ground-items", GROUND_ITEMS),
        _table("grounds", "first", [("Ground", "ground"), ("Condition", None)],
               [("Status", "status"), ("Codes", "codes")], GROUNDS,
               output_path="grounds", input_field="groundItems"),
        _table("process", "first", [("Condition", None)], [("Code", "code"), ("Kind", "kind")],
               PROCESS, output_path="process"),
        _expressions("summary", SUMMARY),
        _table("outcome", "first", [("Condition", None)],
               [("Outcome", "outcome"), ("Reasons", "reasons")], OUTCOME,
               output_path="verdict"),
        _expressions("result", RESULT, pass_through=False),
        _node("response", "outputNode", {"schema": ""}),
    ]
    edges = [
        {"id": f"e{i}", "sourceId": a["id"], "targetId": b["id"], "type": "edge"}
        for i, (a, b) in enumerate(itertools.pairwise(nodes), 1)
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def render() -> str:
    """The graph's JSON text, as written to :data:`GRAPH_PATH`."""
    return json.dumps(build(), indent=2) + "\n"


def main() -> int:
    GRAPH_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {GRAPH_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
