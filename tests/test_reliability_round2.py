"""Round two of hostile inputs: wrong verdicts without an error, hostile files, batch data."""

from __future__ import annotations

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


# --- verdicts must not depend on earlier claims -------------------------------------------


def _eur_claim(amount: str, rate: str) -> dict[str, Any]:
    f = base_facts()
    f["contract"]["order_amount"] = {"amount": amount, "currency": "EUR"}
    f["contract"]["fx_rate_to_usd"] = rate
    f["payments"][0]["amount"] = {"amount": amount, "currency": "EUR"}
    f["supplier"]["ta_limit"] = {"amount": "5000.00", "currency": "USD"}
    return f


def test_equal_money_printing_differently_is_not_shared_between_claims() -> None:
    params = {"currency_handling": "convert", "fx_rounding": "compare_unrounded",
              "limit_exceeded_handling": "deny"}
    first, second = _eur_claim("5000", "1.10"), _eur_claim("5000.00", "1.1")
    alone = ta_rules.evaluate(second, parameters=params,
                              ruleset=ta_rules.loads_ruleset(rules_text(), "fresh.yaml"))
    shared = ta_rules.loads_ruleset(rules_text(), "fresh.yaml")
    ta_rules.evaluate(first, parameters=params, ruleset=shared)
    after = ta_rules.evaluate(second, parameters=params, ruleset=shared)
    assert "ORDER_EXCEEDS_TA_LIMIT" in after.codes
    assert after.model_dump_json() == alone.model_dump_json()


def test_reasons_are_keyed_by_how_their_values_print() -> None:
    from decimal import Decimal

    from ta_rules.evaluate import _reason
    from ta_rules.messages import resolve_locale
    from ta_rules.money import Money

    en = resolve_locale("en")

    def render(prior: str, ruleset: ta_rules.Ruleset) -> str:
        values = {"prior": Money(Decimal(prior), "USD"), "cap": Money(Decimal("1.00"), "USD")}
        return _reason(ruleset, "ALREADY_COMPENSATED", "gate.already-compensated", None,
                       values, en).model_dump_json()

    shared = ta_rules.loads_ruleset(rules_text(), "fresh.yaml")
    render("-0.00", shared)
    alone = render("0.00", ta_rules.loads_ruleset(rules_text(), "fresh.yaml"))
    assert render("0.00", shared) == alone
    assert '"amount":"0.00"' in alone and "$0.00" in alone


# --- negative zero ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["-0.00", "-0", "-0.0", 0])
def test_negative_zero_is_not_an_amount(amount: Any) -> None:
    f = base_facts()
    f["claim"]["prior_payouts"] = {"amount": amount, "currency": "USD"}
    if amount == 0:
        assert ta_rules.evaluate(f).outcome == "covered"
        return
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(f)
    assert info.value.paths == ("claim.prior_payouts.amount",)
    with pytest.raises(ta_rules.ParameterError, match="min_order_amount_usd"):
        ta_rules.evaluate(base_facts(), parameters={"min_order_amount_usd": amount})


def test_negative_zero_on_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(base_facts()))
    assert main(["eval", str(path), "--set", "min_order_amount_usd=-0"]) == 2
    assert "negative zero" in capsys.readouterr().err
