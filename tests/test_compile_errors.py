"""Mistakes in rule files are caught at load time with file:line:column."""

from __future__ import annotations

import pytest

import ta_rules
from ta_rules import RulesetError

from conftest import rules_text


def diagnostics(text: str) -> list[ta_rules.Diagnostic]:
    with pytest.raises(RulesetError) as info:
        ta_rules.loads_ruleset(text, "broken.yaml")
    return list(info.value.diagnostics)


def position(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def test_unknown_fact_path_has_line_and_column() -> None:
    text = rules_text().replace("when: contract.category in excluded_categories",
                                "when: contract.categry in excluded_categories")
    (d,) = diagnostics(text)
    assert d.code == "compile.unknown-fact"
    assert (d.location.line, d.location.column) == position(text, "categry in excluded")
    assert d.location.source == "broken.yaml"
    assert d.hint == "did you mean 'contract.category'?"
    assert "broken.yaml:" in str(RulesetError([d]))


def test_unknown_fact_in_a_folded_expression() -> None:
    text = rules_text().replace(
        "          not initial_missing and initial_payment_must_qualify\n"
        "          and initial.method not in covered_payment_methods",
        "          not initial_missing and initial_payment_must_qualify\n"
        "          and initial.metod not in covered_payment_methods")
    (d,) = diagnostics(text)
    assert d.code == "compile.unknown-fact"
    assert (d.location.line, d.location.column) == position(text, "metod not in")


def test_type_mismatch_date_against_money() -> None:
    text = rules_text().replace("when: claim.submitted_on <= late_deadline",
                                "when: claim.submitted_on <= contract.order_amount")
    (d,) = diagnostics(text)
    assert d.code == "compile.type-mismatch"
    assert "cannot compare date with money" in d.message
    assert (d.location.line, d.location.column) == position(
        text, "<= contract.order_amount")


def test_money_of_two_currencies_cannot_be_compared() -> None:
    text = rules_text().replace("when: in_usd(basis_amount) < min_order_amount_usd",
                                "when: basis_amount < min_order_amount_usd")
    (d,) = diagnostics(text)
    assert d.code == "compile.currency-mismatch"


def test_unknown_reason_code_and_duplicate_rule_id_reported_together() -> None:
    text = rules_text().replace("reasons: [CONTRACT_NOT_CONFIRMED]",
                                "reasons: [CONTRACT_NOT_CONFIRMD]")
    text = text.replace("- id: gate.excluded-category", "- id: gate.supplier-not-participating")
    codes = [d.code for d in diagnostics(text)]
    assert codes == ["compile.duplicate-rule-id", "compile.unknown-reason"]


def test_syntax_error_points_at_the_character() -> None:
    text = rules_text().replace("when: claim.chargeback_filed and deny_if_chargeback_filed",
                                "when: claim.chargeback_filed = deny_if_chargeback_filed")
    (d,) = diagnostics(text)
    assert d.code == "compile.syntax"
    assert d.hint == "use == to compare"
    assert (d.location.line, d.location.column) == position(text, "= deny_if")


def test_yaml_float_version_is_a_trap() -> None:
    text = rules_text().replace('version: "2015.1"', "version: 2015.10")
    (d,) = diagnostics(text)
    assert d.code == "schema.yaml-coercion"
    assert 'quote it: "2015.10"' in (d.hint or "")


def test_cycle_between_values() -> None:
    text = rules_text().replace("  zero: money(0, currency)", "  zero: money(0, currency) + cap")
    ds = diagnostics(text)
    assert {d.code for d in ds} == {"compile.cycle"}


def test_render_shows_source_line_and_caret() -> None:
    text = rules_text().replace("when: contract.category in excluded_categories",
                                "when: contract.categry in excluded_categories")
    with pytest.raises(RulesetError) as info:
        ta_rules.loads_ruleset(text, "broken.yaml")
    line, col = position(text, "categry in excluded")
    rendered = info.value.render().splitlines()
    assert rendered[0] == (f"broken.yaml:{line}:{col}: error[compile.unknown-fact]: "
                           "unknown fact 'contract.categry'")
    assert rendered[1].endswith("when: contract.categry in excluded_categories")
    assert rendered[2].index("^") == rendered[1].index("categry")
    assert rendered[3] == "  hint: did you mean 'contract.category'?"


def test_full_rendering_of_a_file_with_several_problems(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from ta_rules.cli import main

    from conftest import ROOT

    monkeypatch.chdir(ROOT)
    assert main(["check", "tests/data/several_problems.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (ROOT / "tests" / "data" / "several_problems.txt").read_text()
    assert captured.out.startswith("1 file(s) checked: 4 error(s), 0 warning(s)\n"
                                   "rules: tests/data/several_problems.yaml: "
                                   "several_problems.yaml sha256:")


def test_schema_and_compile_problems_in_one_run() -> None:
    from conftest import ROOT

    text = (ROOT / "tests" / "data" / "minimal.yaml").read_text()
    text = text.replace('    message: "Shipped late."', '    mesage: "Shipped late."')
    text = text.replace("when: usd_amount < minimum\n", "when: usd_amount < minimun\n")
    text = text.replace("          reasons: [LATE]\n",
                        "          reasons: [LATE]\n          whne: true\n")
    found = [(d.code, d.location.line) for d in diagnostics(text)]
    assert found == [("schema.missing", 14), ("schema.unknown-field", 16),
                     ("compile.unknown-name", 28), ("schema.unknown-field", 42)]
    # the reason set aside is not reported again where it is used, nor the rule set aside
    only_reason = text.replace("          whne: true\n", "")
    codes = [d.code for d in diagnostics(only_reason)]
    assert codes == ["schema.missing", "schema.unknown-field", "compile.unknown-name"]


def test_a_broken_top_level_key_gives_schema_problems_only() -> None:
    text = rules_text().replace("\nparameters:\n", "\nparamters:\n")
    codes = {d.code for d in diagnostics(text)}
    assert codes == {"schema.unknown-field"}


def test_a_key_that_looks_like_a_pydantic_tag_keeps_its_place() -> None:
    # pydantic names union members in error locations ("str", "constrained-str"); a value
    # called strict_limit is not one of them and must be pointed at.
    text = rules_text().replace("  zero: money(0, currency)\n",
                                "  zero: money(0, currency)\n  strict_limit: 5\n")
    line, col = position(text, "strict_limit: 5", len("strict_limit: "))
    ds = diagnostics(text)
    assert {d.code for d in ds} == {"schema.yaml-coercion"}
    assert all((d.location.line, d.location.column) == (line, col) for d in ds)
    assert all(d.location.path == "values.strict_limit" for d in ds)
