"""Vocabularies as data: the general mechanisms they switch on, on a small vocabulary."""

from __future__ import annotations

from typing import Any

import pytest

from ta_rules import FactsError, Money, RulesetError
from ta_rules.facts import parse_facts
from ta_rules.rulesets.vocabulary_load import loads_vocabulary
from ta_rules.schema_export import json_schema

SHOP = """\
vocabulary: shop
root: order
currencies:
  order: {from: total, label: the order currency}
codes:
  kind: {codes: [new, used]}
  colour: {open: true, codes: [red, BLUE]}
records:
  order:
    exactly_one_of: [[deliver_by, deliver_within_days, collect]]
    fields:
      total: {type: "money[order]"}
      deliver_by: {type: date?, default: null}
      deliver_within_days: {type: integer?, default: null, minimum: 1, maximum: 30}
      collect: {type: boolean?, default: null}
      paid: {type: "money[order]", default: {amount: "0", currency: order}}
      boxes: {type: "list[box]", max_length: 3, at_most_one: {kind: used}}
  box:
    fields:
      kind: {type: "code[kind]"}
      colour: {type: "code[colour]?", default: null}
      items: {type: "list[item]", default: []}
  item:
    fields:
      price: {type: "money[order]"}
      note: {type: text?, default: null, max_length: 5}
"""


def doc(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"total": {"amount": "10.00", "currency": "EUR"},
                           "deliver_by": "2020-01-02",
                           "boxes": [{"kind": "new", "items": [
                               {"price": {"amount": "1", "currency": "EUR"}}]}]}
    out.update(changes)
    return out


def problems(data: Any, vocabulary: Any) -> dict[str, str]:
    with pytest.raises(FactsError) as info:
        parse_facts(data, vocabulary)
    return {p.path: p.message for p in info.value.problems}


def test_a_small_vocabulary_builds_a_strict_model() -> None:
    voc = loads_vocabulary(SHOP, "shop.vocabulary.yaml")
    facts = parse_facts(doc(), voc)
    assert facts.paid == Money.of("0", "EUR")  # the default, in the order's own currency
    assert facts.boxes[0].items[0].note is None


def test_checks_through_nested_lists() -> None:
    voc = loads_vocabulary(SHOP, "shop.vocabulary.yaml")
    boxes = [{"kind": "used"}, {"kind": "new", "items": [
        {"price": {"amount": "1", "currency": "EUR"}},
        {"price": {"amount": "1", "currency": "USD"}}]}, {"kind": "used"}]
    found = problems(doc(boxes=boxes, paid={"amount": "1", "currency": "GBP"}), voc)
    assert found == {
        "boxes[1].items[1].price.currency": "expected EUR (the order currency), found USD",
        "paid.currency": "expected EUR (the order currency), found GBP",
        "boxes[2].kind": "at most one used box; boxes[0] is already used",
    }


def test_exactly_one_of_and_limits() -> None:
    voc = loads_vocabulary(SHOP, "shop.vocabulary.yaml")
    found = problems(doc(collect=True, deliver_within_days=40,
                         boxes=[{"kind": "new", "colour": "blue",
                                 "items": [{"price": {"amount": "1", "currency": "EUR"},
                                            "note": "too long"}]}]), voc)
    assert set(found) == {"deliver_within_days", "boxes[0].colour",
                          "boxes[0].items[0].note"}
    assert "did you mean 'BLUE'" in found["boxes[0].colour"]
    assert "exactly one of deliver_by, deliver_within_days and collect" in problems(
        doc(collect=True), voc)[""]


def test_the_schema_follows_the_vocabulary() -> None:
    voc = loads_vocabulary(SHOP, "shop.vocabulary.yaml")
    schema = json_schema("facts", voc)
    assert set(schema["properties"]) == {"total", "deliver_by", "deliver_within_days",
                                         "collect", "paid", "boxes"}
    assert schema["required"] == ["total", "boxes"]


def test_every_mistake_of_a_vocabulary_is_located() -> None:
    bad = SHOP.replace('type: "code[kind]"', 'type: "code[kinds]"').replace(
        "type: date?, default: null", "type: date?, default: 5")
    with pytest.raises(RulesetError) as info:
        loads_vocabulary(bad, "shop.vocabulary.yaml")
    found = sorted((d.code, d.location.line) for d in info.value.diagnostics)
    assert found == [("vocabulary.bad-default", 13), ("vocabulary.unknown-code-set", 20)]
