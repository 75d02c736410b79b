"""Round two of hostile inputs: wrong verdicts without an error, hostile files, batch data."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main

from conftest import base_facts, rules_text

# --- date arithmetic out of the calendar --------------------------------------------------


def test_date_overflow_is_a_located_error_not_a_null() -> None:
    # ship_by 2015-03-01 + 3,000,000 days is past 9999-12-31: no verdict can be given
    with pytest.raises(ta_rules.TaRulesError) as info:
        ta_rules.evaluate(base_facts(), parameters={"late_shipment_grace_days": 3_000_000})
    assert not isinstance(info.value, ta_rules.FactsError)
    message = str(info.value)
    assert "9999" in message and "trade-assurance-2015.1.yaml:" in message
    with pytest.raises(ta_rules.TaRulesError, match="outside the calendar"):
        ta_rules.evaluate(base_facts(), parameters={"claim_window_days": -800_000})


def test_date_overflow_on_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(base_facts()))
    assert main(["eval", str(path), "--set", "late_shipment_grace_days=3000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "outside the calendar" in err
    assert "internal error" not in err
