"""A policy writer changes the policy by editing YAML only: each change shown on a copy."""

from __future__ import annotations

from typing import Any

import pytest

import ta_rules

from conftest import rules_text


def edited(old: str, new: str, *, count: int = 1) -> ta_rules.Ruleset:
    text = rules_text()
    assert text.count(old) == count, old
    return ta_rules.loads_ruleset(text.replace(old, new), "edited.yaml")


def test_change_the_minimum_amount(make_facts: Any) -> None:
    facts = make_facts(contract__order_amount={"amount": "800.00", "currency": "USD"},
                       payments__0__amount={"amount": "800.00", "currency": "USD"})
    assert ta_rules.evaluate(facts).outcome == "denied"
    lowered = edited('type: money[USD]\n    default: "1000.00"',
                     'type: money[USD]\n    default: "500.00"')
    verdict = ta_rules.evaluate(facts, ruleset=lowered)
    assert verdict.outcome == "covered"
    assert verdict.ruleset.source == "edited.yaml"


def test_change_the_response_and_settlement_periods(make_facts: Any) -> None:
    # determination on day 6 with a silent supplier is valid under the 5-day period...
    facts = make_facts()
    assert ta_rules.evaluate(facts).outcome == "covered"
    longer = edited("  supplier_response_days:\n    type: integer\n    default: 5",
                    "  supplier_response_days:\n    type: integer\n    default: 10")
    verdict = ta_rules.evaluate(facts, ruleset=longer)
    assert verdict.codes == {"DETERMINATION_REQUEST_PREMATURE"}
    # ...and a responsive supplier negotiates until the settlement period ends
    facts = make_facts(claim__supplier_responded_on="2015-03-05",
                       claim__determination_requested_on=None, as_of="2015-03-20")
    assert ta_rules.evaluate(facts).codes == {"AWAITING_DETERMINATION_REQUEST"}
    shorter = edited("  settlement_days:\n    type: integer\n    default: 15",
                     "  settlement_days:\n    type: integer\n    default: 20")
    assert ta_rules.evaluate(facts, ruleset=shorter).codes == {"NEGOTIATION_PERIOD"}


def test_change_the_excluded_categories(make_facts: Any) -> None:
    facts = make_facts(contract__category="consumer_electronics")
    assert ta_rules.evaluate(facts).outcome == "covered"
    stricter = edited("      - vehicles\n", "      - vehicles\n      - consumer_electronics\n")
    verdict = ta_rules.evaluate(facts, ruleset=stricter)
    assert verdict.outcome == "denied"
    assert verdict.codes == {"EXCLUDED_CATEGORY"}


def test_change_the_order_of_checks(make_facts: Any) -> None:
    # The buyer accepted the delay AND the claim is premature: the first check decides.
    facts = make_facts(claim__buyer_accepted_delay=True, shipment__shipped_on=None,
                       claim__submitted_on="2015-02-27", claim__determination_requested_on=None)
    assert ta_rules.evaluate(facts).codes == {"BUYER_ACCEPTED_BREACH"}
    text = rules_text()
    accepted = (
        "        - id: late.buyer-accepted-delay\n"
        "          when: claim.buyer_accepted_delay\n"
        "          reasons: [BUYER_ACCEPTED_BREACH]\n"
    )
    premature = (
        "        - id: late.premature\n"
        "          when: claim.submitted_on <= late_deadline\n"
        "          reasons: [CLAIM_PREMATURE]\n"
        "          with: {deadline: late_deadline}\n"
    )
    assert accepted in text and premature in text
    swapped = text.replace(accepted, "@@").replace(premature, accepted).replace("@@", premature)
    ruleset = ta_rules.loads_ruleset(swapped, "reordered.yaml")
    verdict = ta_rules.evaluate(facts, ruleset=ruleset)
    assert verdict.outcome == "pending"
    assert verdict.codes == {"CLAIM_PREMATURE"}


def test_add_a_new_exclusion_with_a_new_reason_code(make_facts: Any) -> None:
    text = rules_text()
    text = text.replace(
        "reasons:\n  LATE_SHIPMENT:",
        "reasons:\n  SANCTIONED_DESTINATION:\n    kind: denial\n"
        "    message: \"Orders shipped to {category} buyers are not covered.\"\n"
        "  LATE_SHIPMENT:", 1)
    text = text.replace(
        "      - id: gate.excluded-category\n",
        "      - id: gate.sanctioned-destination\n"
        "        when: contract.category == \"dual_use_goods\"\n"
        "        reasons: [SANCTIONED_DESTINATION]\n"
        "        with: {category: contract.category}\n"
        "      - id: gate.excluded-category\n", 1)
    # a new message is refused until it is translated in every shipped locale
    with pytest.raises(ta_rules.RulesetError, match="SANCTIONED_DESTINATION has no translation"):
        ta_rules.loads_ruleset(text, "new-exclusion.yaml")
    # a ruleset without a catalog shows its messages as written
    text = text.replace("\ncatalog: ta_rules", "\n# catalog: ta_rules", 1)
    ruleset = ta_rules.loads_ruleset(text, "new-exclusion.yaml")
    verdict = ta_rules.evaluate(make_facts(contract__category="dual_use_goods"), ruleset=ruleset)
    assert verdict.outcome == "denied"
    assert verdict.codes == {"SANCTIONED_DESTINATION"}
    (reason,) = verdict.reasons
    assert reason.rule == "gate.sanctioned-destination"
    assert reason.kind == "denial"
    assert "dual_use_goods" in reason.message
    assert reason.location.startswith("new-exclusion.yaml:")
