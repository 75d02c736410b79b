"""Parameter overrides are bound once per distinct set, and verdicts stay their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.errors import ParameterError


def _claim() -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "examples" / "claims" / "late-shipment.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def test_a_cached_override_set_is_not_mistaken_for_an_equal_one_of_another_type() -> None:
    doc = _claim()
    one = ta_rules.evaluate(doc, parameters={"claim_window_days": 1})
    assert one.parameters == {"claim_window_days": 1}
    with pytest.raises(ParameterError):  # True == 1, but a boolean is not a day count
        ta_rules.evaluate(doc, parameters={"claim_window_days": True})
    assert ta_rules.evaluate(doc, parameters={"claim_window_days": 1}) == one


def test_each_verdict_owns_its_parameters() -> None:
    doc = _claim()
    overrides = {"excluded_categories": ["vehicles"]}
    first = ta_rules.evaluate(doc, parameters=overrides)
    first.parameters["excluded_categories"].append("tampered")
    overrides["excluded_categories"].append("industrial_machinery")
    second = ta_rules.evaluate(doc, parameters={"excluded_categories": ["vehicles"]})
    assert second.parameters == {"excluded_categories": ["vehicles"]}
    assert ta_rules.evaluate(doc, parameters=overrides).outcome == "denied"


def test_a_bad_override_is_refused_every_time() -> None:
    doc = _claim()
    for _ in range(2):
        with pytest.raises(ParameterError):
            ta_rules.evaluate(doc, parameters={"claim_window_days": "soon"})
