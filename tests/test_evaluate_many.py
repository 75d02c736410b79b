"""evaluate_many: typed options, and a bad item named by its index instead of a bare stop."""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import ta_rules

from conftest import base_facts


def items() -> list[Any]:
    good = base_facts()
    bad_amount = copy.deepcopy(good)
    bad_amount["contract"]["order_amount"]["amount"] = "-5.00"
    return [good, bad_amount, good, "not a mapping", good]


def test_raise_names_the_index_of_the_bad_item() -> None:
    stream = ta_rules.evaluate_many(items())
    assert next(stream).outcome == "covered"
    with pytest.raises(ta_rules.FactsError) as info:
        next(stream)
    assert info.value.index == 1
    assert "item 1 of evaluate_many" in "".join(getattr(info.value, "__notes__", []))
    assert "contract.order_amount" in str(info.value)


def test_yield_gives_each_error_in_its_place_and_goes_on() -> None:
    out = list(ta_rules.evaluate_many(items(), errors="yield"))
    assert [type(v).__name__ for v in out] == ["Verdict", "FactsError", "Verdict",
                                              "FactsError", "Verdict"]
    errors = [v for v in out if isinstance(v, ta_rules.TaRulesError)]
    assert [e.index for e in errors] == [1, 3]
    verdicts = [v for v in out if isinstance(v, ta_rules.Verdict)]
    assert all(v.outcome == "covered" for v in verdicts)


def test_options_are_keywords_of_evaluate() -> None:
    (v,) = ta_rules.evaluate_many([base_facts()], parameters={"min_order_amount_usd": "6000.00"},
                                  locale="es", trace=True)
    assert isinstance(v, ta_rules.Verdict)
    assert v.outcome == "denied" and v.locale == "es" and v.trace
    with pytest.raises(TypeError):
        ta_rules.evaluate_many([base_facts()], paramters={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="errors must be 'raise' or 'yield'"):
        ta_rules.evaluate_many([], errors="ignore")  # type: ignore[call-overload]
    # a bad option fails every item, each with its index
    (bad,) = ta_rules.evaluate_many([base_facts()], errors="yield", parameters={"nope": 1})
    assert isinstance(bad, ta_rules.ParameterError) and bad.index == 0


def test_a_keyword_typo_is_a_type_error_for_mypy(tmp_path: Path) -> None:
    program = ("import ta_rules\n"
               "ta_rules.evaluate_many([], paramters={})\n"
               "for v in ta_rules.evaluate_many([]):\n"
               "    print(v.outcome)\n")
    # mypy's cache is kept between runs (it checks each module's hash), so this stays quick
    cache = Path(tempfile.gettempdir()) / "ta-rules-tests-mypy-cache"
    found = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file=",
                            f"--cache-dir={cache}", "-c", program], cwd=tmp_path,
                           capture_output=True, text=True, check=False)
    assert 'Unexpected keyword argument "paramters"' in found.stdout, found.stdout
    errors = [line for line in found.stdout.splitlines() if ": error:" in line]
    assert errors and all(line.startswith("<string>:2:") for line in errors), found.stdout
