"""A code is a code: one pattern for code-valued facts and parameters, no second spelling.

Spec 4, gate 2: a contract whose category is in excluded_categories (vehicles is) is
denied EXCLUDED_CATEGORY. A category written with a trailing space, in capitals, with an
invisible or a NUL character is not another category that escapes the exclusion: it is
bad facts, refused at its path.
"""

from __future__ import annotations

from typing import Any

import pytest

import ta_rules
from ta_rules import FactsError, ParameterError


def problems(facts: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(FactsError) as info:
        ta_rules.evaluate(facts)
    return {p.path: p.message for p in info.value.problems}


def test_the_excluded_category_itself_is_denied(make_facts: Any) -> None:
    verdict = ta_rules.evaluate(make_facts(contract__category="vehicles"))
    assert verdict.outcome == "denied"
    assert "EXCLUDED_CATEGORY" in verdict.codes


@pytest.mark.parametrize("category", ["vehicles ", "VEHICLES", "Vehicles", "vehi\u200bcles",
                                      "vehicles\u0000", " vehicles", "vehicles\n",
                                      "vehi cles", "véhicles"])
def test_a_variant_of_a_category_is_bad_facts_not_covered(make_facts: Any,
                                                           category: str) -> None:
    found = problems(make_facts(contract__category=category))
    assert set(found) == {"contract.category"}, found


def test_a_case_variant_of_a_known_code_says_which_was_meant(make_facts: Any) -> None:
    assert "did you mean 'vehicles'" in problems(
        make_facts(contract__category="VEHICLES"))["contract.category"]
    assert "did you mean 'TT'" in problems(
        make_facts(payments__0__method="tt"))["payments[0].method"]


@pytest.mark.parametrize("method", ["TT ", "tt", "T T", "TT\u001b]0;x\u0007", ""])
def test_payment_method_variants_are_refused(make_facts: Any, method: str) -> None:
    assert set(problems(make_facts(payments__0__method=method))) == {"payments[0].method"}


def test_unknown_but_well_formed_codes_are_still_free(make_facts: Any) -> None:
    verdict = ta_rules.evaluate(make_facts(contract__category="garden_furniture",
                                           payments__0__method="alipay"))
    assert verdict.codes == {"PAYMENT_METHOD_NOT_COVERED"}


@pytest.mark.parametrize("value", ["vehicles ", "VEHICLES\u200b", "a b"])
def test_parameters_holding_codes_follow_the_same_pattern(make_facts: Any, value: str) -> None:
    with pytest.raises(ParameterError, match="excluded_categories"):
        ta_rules.evaluate(make_facts(), parameters={"excluded_categories": [value]})
    rs = ta_rules.default_registry().select(version="2015.1")
    with pytest.raises(ParameterError, match="not a code"):
        rs.bind_parameters({"covered_payment_methods": "TT ,x y"}, from_text=True)


def test_the_pattern_is_the_documented_one() -> None:
    from ta_rules.vocabulary import check_code

    for good in ["TT", "credit_card", "business_equipment.excluded_subcategory", "a-b", "x1"]:
        assert check_code(good) == good
    for bad in ["", "_x", "x_", "a__b", "a b", "a\tb", "ä", "x" * 101]:
        with pytest.raises(ValueError):
            check_code(bad)
