"""YAML syntax errors are diagnostics like any other: file:line:column, the line with a
caret, and a hint for the usual traps of hand-written rule files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import ta_rules
from ta_rules.cli import main

from conftest import rules_text


def check(tmp_path: Path, text: str) -> str:
    path = tmp_path / "edited.yaml"
    path.write_text(text)
    err = io.StringIO()
    assert main(["check", str(path)], stdout=io.StringIO(), stderr=err) == 1
    return err.getvalue().replace(str(path), "edited.yaml")


def edit(old: str, new: str) -> str:
    text = rules_text()
    assert old in text
    return text.replace(old, new, 1)


def test_a_value_starting_with_a_quote(tmp_path: Path) -> None:
    text = edit("        when: contract.category in excluded_categories\n",
                '        when: "counterfeit" in claim.grounds\n')
    line = text[: text.index('"counterfeit"')].count("\n") + 1
    assert check(tmp_path, text).splitlines() == [
        f"edited.yaml:{line}:29: error[yaml.syntax]: did not find expected key (while parsing "
        "a block mapping)",
        f"{line:>4} |         when: \"counterfeit\" in claim.grounds",
        " " * 35 + "^",
        "  hint: a value that starts with a quote ends at the closing quote, so YAML cannot "
        "read what follows it; quote the whole value: when: '\"counterfeit\" in claim.grounds'",
    ]


def test_a_flow_mapping_holding_an_expression_with_commas(tmp_path: Path) -> None:
    text = edit("with: {amount: basis_amount, minimum: min_order_amount_usd}",
                'with: {amount: basis_amount, minimum: money(1000000, "USD")}')
    rendered = check(tmp_path, text).splitlines()
    assert "error[yaml.syntax]: did not find expected ',' or '}'" in rendered[0]
    assert rendered[1].endswith('with: {amount: basis_amount, minimum: money(1000000, "USD")}')
    assert rendered[2].index("^") == rendered[1].index('"USD"') + len('"USD"')
    assert rendered[3].startswith("  hint: inside { } a comma separates entries")


def test_a_flow_mapping_silently_cut_at_a_comma_is_an_error(tmp_path: Path) -> None:
    # without quotes YAML reads {minimum: "max(min_order_amount_usd", "basis_amount)": null}
    text = edit("with: {amount: basis_amount, minimum: min_order_amount_usd}",
                "with: {amount: basis_amount, minimum: max(min_order_amount_usd, basis_amount)}")
    rendered = check(tmp_path, text)
    assert "error[yaml.flow-comma]: inside { } or [ ] a comma ends a value, so YAML reads " \
        "'max(min_order_amount_usd' here" in rendered
    assert "hint: write the mapping one key per line, or quote the expression" in rendered
    with pytest.raises(ta_rules.RulesetError, match=r"yaml\.flow-comma"):
        ta_rules.loads_ruleset(text, "edited.yaml")


@pytest.mark.parametrize("old,new,expected", [
    ("    default: \"1000.00\"\n", "   default: \"1000.00\"\n",
     "check the indentation: this line is indented 3 spaces and the line above 4"),
    ("    default: \"1000.00\"\n", "      default: \"1000.00\"\n",
     "check the indentation: this line is indented 6 spaces and the line above 4"),
    ("    doc: Minimum order amount in USD, inclusive.\n",
     "    doc: Note: the minimum order amount in USD, inclusive.\n",
     "a value that contains ': ' must be quoted"),
])
def test_indentation_and_colons(tmp_path: Path, old: str, new: str, expected: str) -> None:
    rendered = check(tmp_path, edit(old, new)).splitlines()
    assert "error[yaml.syntax]" in rendered[0]
    assert rendered[1].endswith(new.rstrip("\n")) and "^" in rendered[2]
    assert rendered[-1].startswith(f"  hint: {expected}")


def test_the_library_error_renders_the_same(tmp_path: Path) -> None:
    text = edit("        when: contract.category in excluded_categories\n",
                '        when: "counterfeit" in claim.grounds\n')
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(text, "edited.yaml")
    assert info.value.render() == check(tmp_path, text).rstrip("\n")
