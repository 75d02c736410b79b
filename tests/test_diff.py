"""ta-rules diff: the real differences of 2015.1 and 2017.12, and the scenarios they change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ta_rules
from ta_rules.cli import main
from ta_rules.tools.diff import diff_rulesets


def versions() -> tuple[ta_rules.Ruleset, ta_rules.Ruleset]:
    reg = ta_rules.default_registry()
    return reg.select(version="2015.1"), reg.select(version="2017.12")


def test_policy_differences() -> None:
    changes = {(c.section, c.name, c.change): c for c in diff_rulesets(*versions())}
    minimum = changes[("parameter", "min_order_amount_usd", "changed")]
    assert (minimum.old, minimum.new) == ("1000.00 USD (money[USD])", "100.00 USD (money[USD])")
    assert ("parameter", "covered_payment_methods", "changed") in changes
    assert changes[("parameter", "supplier_response_days", "changed")].new == "3 (integer)"
    assert changes[("parameter", "settlement_days", "changed")].new == "6 (integer)"
    assert changes[("parameter", "auto_escalate_after_days", "changed")].new == "7 (integer?)"
    assert ("rule", "gate.payer-name-missing", "removed") in changes
    assert ("rule", "quality.safeguard-not-enabled", "removed") in changes
    assert ("rule", "quality.awaiting-inspection", "added") in changes
    assert ("reason", "POST_DELIVERY_CHECK_PENDING", "added") in changes
    assert ("order", "groups.grounds.quality", "changed") in changes
    assert ("effective", "range", "changed") in changes
    # the late-shipment policy is the same in both
    assert not [c for c in changes.values() if c.name.startswith("late.")]


def test_a_version_against_itself_has_no_differences() -> None:
    old, _ = versions()
    assert diff_rulesets(old, old) == []


def test_diff_command_with_scenarios(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     shared_examples: list[Path]) -> None:
    folder = shared_examples[0].parent
    assert main(["diff", "2015.1", "2017.12", "--scenarios", str(folder),
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    changed = {s["name"].split(":")[0] for s in data["scenarios"]}
    assert {"TA-003", "TA-059", "TA-071", "TA-078"} <= changed
    assert "TA-001" not in changed
    assert main(["diff", "2015.1", "2017.12"]) == 0
    text = capsys.readouterr().out
    assert "~ parameter min_order_amount_usd: 1000.00 USD (money[USD]) -> 100.00 USD" in text


def test_diff_of_unknown_version_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "2015.1", "1999.1"]) == 2
    assert "no version '1999.1'" in capsys.readouterr().err
