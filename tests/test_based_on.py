"""A version written as changes to another (``based_on:``), flattened at load.

Expected verdicts come from the policy the files state: 2017.12's minimum order amount is
100.00 USD (``min_order_amount_usd``) and a filed chargeback denies the claim
(OTHER_REMEDY_PURSUED, gate.chargeback-filed); the change files below raise the minimum to
150.00 USD and drop the chargeback gate.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from ta_rules import RulesetError, evaluate
from ta_rules.cli import main
from ta_rules.rulesets.load import load_ruleset, loads_ruleset
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.texts import materialize

BUNDLED = Path(str(files("ta_rules") / "rules"))

CHANGES = """\
ruleset: trade-assurance
version: "2025.1"
based_on: "2017.12"
title: Trade Assurance (2025)
effective:
  from: 2025-01-01
parameters:
  min_order_amount_usd: {default: "150.00"}
  supplier_suspended: {type: boolean, default: false}
groups:
  gates:
    remove: [gate.chargeback-filed]
    replace:
      gate.below-minimum:
        when: in_usd(basis_amount) < min_order_amount_usd
        reasons: [BELOW_MINIMUM_ORDER_AMOUNT]
        with: {amount: basis_amount, minimum: min_order_amount_usd}
    add:
      - id: gate.supplier-suspended
        after: gate.excluded-category
        when: supplier_suspended
        reasons: [SUPPLIER_NOT_PARTICIPATING]
  process:
    add:
      - id: process.held
        before: process.awaiting-supplier
        when: supplier_suspended
        reasons: [AWAITING_DETERMINATION_REQUEST]
remove:
  parameters: [deny_if_chargeback_filed]
  reasons: [OTHER_REMEDY_PURSUED]
"""


def facts(amount: str = "500.00", *, chargeback: bool = False) -> dict[str, Any]:
    """A late-shipment claim on an order placed 2025-02-01 (2017.12 covers it in full)."""
    money = {"amount": amount, "currency": "USD"}
    return {
        "as_of": "2025-04-07",
        "contract": {"placed_on": "2025-02-01", "confirmed_on": "2025-02-02",
                     "category": "consumer_electronics", "order_amount": money,
                     "ship_by": "2025-04-01", "quality_safeguard": False,
                     "quality_requirements": []},
        "supplier": {"participating": True,
                     "ta_limit": {"amount": "20000.00", "currency": "USD"}},
        "payments": [{"role": "initial", "method": "TT", "to_platform_account": True,
                      "payer_name_entered": True, "amount": money,
                      "received_on": "2025-02-03"}],
        "shipment": {"shipped_on": "2025-04-02"},
        "inspection": None,
        "claim": {"grounds": ["late_shipment"], "submitted_on": "2025-04-03",
                  "determination_requested_on": "2025-04-07",
                  "chargeback_filed": chargeback},
    }


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


@pytest.fixture
def changed(tmp_path: Path) -> Path:
    """A rules folder holding only the change file: its base is the bundled 2017.12."""
    return write(tmp_path / "rules", "trade-assurance-2025.1.yaml", CHANGES)


def problems(exc: pytest.ExceptionInfo[RulesetError]) -> list[tuple[str, str, int]]:
    return [(d.code, Path(d.location.source).name, d.location.line)
            for d in exc.value.diagnostics]


# --- flattening and verdicts -----------------------------------------------------------


def test_a_change_file_is_the_base_with_its_changes(changed: Path) -> None:
    rs = load_ruleset(changed)
    base = default_registry().select(version="2017.12")
    assert (rs.version, rs.based_on) == ("2025.1", "2017.12")
    assert rs.effective_from is not None and rs.effective_from.isoformat() == "2025-01-01"
    assert rs.order_date == base.order_date  # inherited
    assert str(rs.parameters["min_order_amount_usd"].default) == "150.00 USD"
    assert rs.parameters["min_order_amount_usd"].type == \
        base.parameters["min_order_amount_usd"].type  # only the default changed
    assert "gate.chargeback-filed" not in rs.rules and "deny_if_chargeback_filed" \
        not in rs.parameters and "OTHER_REMEDY_PURSUED" not in rs.reasons
    gates = [r for r in rs.rules if rs.rules[r].group == "gates"]
    assert gates.index("gate.supplier-suspended") == gates.index("gate.excluded-category") + 1
    process = [r for r in rs.rules if rs.rules[r].group == "process"]
    assert process[0] == "process.held"  # before process.awaiting-supplier
    # every rule the base has and the change does not touch is there, in the base's order
    untouched = [r for r in base.rules if r not in ("gate.chargeback-filed",)]
    assert [r for r in rs.rules if r in untouched] == untouched


def test_verdicts_follow_the_changes(changed: Path) -> None:
    rs = load_ruleset(changed)
    base = default_registry().select(version="2017.12")
    # 120.00 USD: above 2017.12's minimum of 100.00, below 2025.1's 150.00
    assert evaluate(facts("120.00"), ruleset=base).outcome == "covered"
    v = evaluate(facts("120.00"), ruleset=rs)
    assert (v.outcome, set(v.codes)) == ("denied", {"BELOW_MINIMUM_ORDER_AMOUNT"})
    # a filed chargeback denies under 2017.12; 2025.1 removed that gate
    v = evaluate(facts(chargeback=True), ruleset=base)
    assert (v.outcome, set(v.codes)) == ("denied", {"OTHER_REMEDY_PURSUED"})
    v = evaluate(facts(chargeback=True), ruleset=rs)
    assert (v.outcome, str(v.max_refund)) == ("covered", "500.00 USD")
    # the added gate, through a new parameter
    v = evaluate(facts(), ruleset=rs, parameters={"supplier_suspended": True})
    assert (v.outcome, set(v.codes)) == ("denied", {"SUPPLIER_NOT_PARTICIPATING"})


def test_reasons_are_added_and_changed(tmp_path: Path) -> None:
    text = CHANGES.replace("groups:\n", '''catalog: null
reasons:
  SUSPENDED: {kind: denial, message: "The supplier is suspended."}
  OTHER_REMEDY_PURSUED: {message: "Chargeback filed."}
groups:
''', 1).replace("reasons: [SUPPLIER_NOT_PARTICIPATING]", "reasons: [SUSPENDED]").replace(
        "  reasons: [OTHER_REMEDY_PURSUED]\n", "")
    rs = load_ruleset(write(tmp_path / "rules", "trade-assurance-2025.1.yaml", text))
    assert rs.reasons["OTHER_REMEDY_PURSUED"].kind == "denial"  # inherited, message changed
    v = evaluate(facts(), ruleset=rs, parameters={"supplier_suspended": True})
    assert [(r.code, r.message) for r in v.reasons] == [
        ("SUSPENDED", "The supplier is suspended.")]


def test_the_base_is_found_beside_the_file_before_the_bundled_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    base = base.replace('  from: 2017-12-08\n', '  from: 2017-12-08\n  until: 2025-01-01\n')
    base = base.replace('default: "100.00"', 'default: "110.00"', 1)
    write(rules, "trade-assurance-2017.12.yaml", base)
    write(rules, "trade-assurance-2025.1.yaml", CHANGES.replace(
        'min_order_amount_usd: {default: "150.00"}', 'min_amount_basis: {}'))
    reg = Registry.from_folder(rules)
    rs = reg.select(version="2025.1")
    assert str(rs.parameters["min_order_amount_usd"].default) == "110.00 USD"
    assert [t.path for t in rs.texts if t.role == "base"] == \
        ["rules/trade-assurance-2017.12.yaml"]


# --- located errors --------------------------------------------------------------------


def test_an_error_in_an_inherited_rule_is_located_in_the_base_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    broken = base.replace("when: rate is null", "when: rate_x is null")
    write(rules, "trade-assurance-2017.12.yaml", broken)
    change = write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    with pytest.raises(RulesetError) as exc:
        load_ruleset(change)
    assert ("compile.unknown-name", "trade-assurance-2017.12.yaml",
            line_of(broken, "rate_x is null")) in problems(exc)
    # and the base file's text is there for the excerpt
    assert any(k.endswith("trade-assurance-2017.12.yaml") for k in exc.value.sources)


def test_an_error_in_a_changed_rule_is_located_in_the_change_file(tmp_path: Path) -> None:
    text = CHANGES.replace("when: supplier_suspended\n        reasons: [SUPPLIER",
                           "when: supplier_suspend\n        reasons: [SUPPLIER")
    change = write(tmp_path / "rules", "trade-assurance-2025.1.yaml", text)
    with pytest.raises(RulesetError) as exc:
        load_ruleset(change)
    assert problems(exc) == [("compile.unknown-name", "trade-assurance-2025.1.yaml",
                              line_of(text, "supplier_suspend\n"))]


@pytest.mark.parametrize(("edit", "code", "needle"), [
    (("remove: [gate.chargeback-filed]", "remove: [gate.chargeback-filled]"),
     "based-on.unknown-rule", "gate.chargeback-filled"),
    (("      gate.below-minimum:\n", "      gate.below-minimum:\n        id: gate.below-min\n"),
     "based-on.id-mismatch", "id: gate.below-min"),
    (("        before: process.awaiting-supplier\n", ""),
     "based-on.placement", "- id: process.held"),
    (("after: gate.excluded-category", "after: gate.nowhere"),
     "based-on.unknown-rule", "gate.nowhere"),
    (('based_on: "2017.12"', 'based_on: "2016.1"'), "based-on.unknown-base", "based_on"),
    (("  reasons: [OTHER_REMEDY_PURSUED]", "  reasons: [NO_SUCH_REASON]"),
     "based-on.remove", "NO_SUCH_REASON"),
    (("ruleset: trade-assurance", "ruleset: other-programme"),
     "based-on.unknown-base", "based_on"),
])
def test_each_wrong_change_is_a_located_error(tmp_path: Path, edit: tuple[str, str], code: str,
                                              needle: str) -> None:
    text = CHANGES.replace(*edit)
    assert text != CHANGES
    change = write(tmp_path / "rules", "trade-assurance-2025.1.yaml", text)
    with pytest.raises(RulesetError) as exc:
        load_ruleset(change)
    assert (code, "trade-assurance-2025.1.yaml", line_of(text, needle)) in problems(exc)
    # check says the same, with an exit status
    assert main(["check", str(change)]) == 1


def test_a_based_on_cycle_is_a_located_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    a = CHANGES.replace('based_on: "2017.12"', 'based_on: "2026.1"')
    b = CHANGES.replace('version: "2025.1"', 'version: "2026.1"').replace(
        'based_on: "2017.12"', 'based_on: "2025.1"')
    write(rules, "trade-assurance-2025.1.yaml", a)
    write(rules, "trade-assurance-2026.1.yaml", b)
    with pytest.raises(RulesetError) as exc:
        load_ruleset(rules / "trade-assurance-2025.1.yaml")
    (diag,) = exc.value.diagnostics
    assert diag.code == "based-on.cycle" and "2025.1 -> 2026.1 -> 2025.1" in diag.message
    assert (Path(diag.location.source).name, diag.location.line) == \
        ("trade-assurance-2026.1.yaml", line_of(b, "based_on"))


def test_check_reports_every_file_of_a_folder_with_a_change(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    rules = tmp_path / "rules"
    write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    assert main(["check", str(rules)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 file(s) checked: 0 error(s)")


# --- identity and replay ---------------------------------------------------------------


def test_the_content_hash_covers_the_base(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    write(rules, "trade-assurance-2017.12.yaml", base)
    change = write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    before = load_ruleset(change).content_hash
    write(rules, "trade-assurance-2017.12.yaml", base.replace('default: "100.00"',
                                                              'default: "90.00"', 1))
    assert load_ruleset(change).content_hash != before


def test_materialized_texts_load_the_same_ruleset(changed: Path, tmp_path: Path) -> None:
    rs = load_ruleset(changed)
    roles = sorted({t.role for t in rs.texts})
    assert "base" in roles and "rules" in roles
    folder = materialize(rs.texts, tmp_path / "replay")
    # (the bundled base, laid out beside it, is in force with no end: load the version's file)
    again = load_ruleset(folder / "trade-assurance-2025.1.yaml")
    assert again.content_hash == rs.content_hash
    for case in (facts("120.00"), facts(chargeback=True), facts()):
        judged = [json.dumps(evaluate(case, ruleset=r, trace=True).model_dump(mode="json"))
                  for r in (again, rs)]
        # the same verdict; only the folder named in locations differs
        assert judged[0].replace(str(folder), "rules") == judged[1].replace(
            str(changed.parent), "rules")
    # and from the texts alone, without a folder
    rules_text = next(t for t in rs.texts if t.role == "rules")
    alone = loads_ruleset(rules_text.data, "x.yaml", based_on=[
        t for t in rs.texts if t.role == "base"])
    assert alone.written_by["gate.below-minimum"] == "2025.1"


def test_a_chain_of_changes_keeps_every_base(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    later = write(rules, "trade-assurance-2026.1.yaml", copy.copy(
        'ruleset: trade-assurance\nversion: "2026.1"\nbased_on: "2025.1"\n'
        'effective: {from: 2026-01-01}\n'
        'parameters: {min_order_amount_usd: {default: "200.00"}}\n'))
    rs = load_ruleset(later)
    assert sorted(t.path for t in rs.texts if t.role == "base") == [
        "rules/trade-assurance-2017.12.yaml", "rules/trade-assurance-2025.1.yaml"]
    assert rs.written_by["gate.below-minimum"] == "2025.1"
    assert rs.written_by["gate.excluded-category"] == "2017.12"
    v = evaluate(facts("180.00") | {"as_of": "2026-04-07"}, ruleset=rs)
    assert set(v.codes) == {"BELOW_MINIMUM_ORDER_AMOUNT"}
    folder = materialize(rs.texts, tmp_path / "replay")
    assert load_ruleset(folder / "trade-assurance-2026.1.yaml").content_hash == rs.content_hash


# --- show ------------------------------------------------------------------------------


def test_show_prints_the_flattened_ruleset_with_origins(changed: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    assert main(["show", "2025.1", "--rules", str(changed.parent)]) == 0
    out = capsys.readouterr().out
    base_text = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    lines = out.splitlines()
    # an inherited rule: the base file's line; a replaced one: the change file's
    inherited = lines.index("      - id: gate.excluded-category")
    assert lines[inherited - 1].endswith(
        f"trade-assurance-2017.12.yaml:{line_of(base_text, '- id: gate.excluded-category')}")
    replaced = lines.index("      - id: gate.below-minimum")
    assert lines[replaced - 1] == \
        f"      # {changed}:{line_of(CHANGES, 'gate.below-minimum:')}"
    assert "gate.chargeback-filed" not in out
    default_line = line_of(CHANGES, '{default: "150.00"}')
    assert f"default: {changed}:{default_line}" in out
    assert main(["show", "2025.1", "--rules", str(changed.parent), "--python"]) == 0
    assert "def _decide" in capsys.readouterr().out


def test_a_file_without_based_on_is_unchanged() -> None:
    for name in ("trade-assurance-2015.1.yaml", "trade-assurance-2017.12.yaml"):
        rs = load_ruleset(BUNDLED / name)
        assert rs.based_on is None and {t.role for t in rs.texts} != {"base"}
        assert set(rs.written_by.values()) == {rs.version}


def test_a_copied_folder_loads_as_the_bundled_one(tmp_path: Path) -> None:
    target = tmp_path / "rules"
    shutil.copytree(BUNDLED, target)
    a = Registry.from_folder(target).select(version="2017.12")
    b = default_registry().select(version="2017.12")
    assert a.content_hash == b.content_hash


# --- the currency dimension's name is free ---------------------------------------------


def test_a_currency_dimension_may_have_any_name(tmp_path: Path) -> None:
    """The bundled vocabulary with its dimension called ``deal``: the same verdicts."""
    target = tmp_path / "rules"
    shutil.copytree(BUNDLED, target)
    vocab = target / "trade-assurance.vocabulary.yaml"
    text = vocab.read_text(encoding="utf-8")
    renamed = (text.replace("currencies:\n  contract:\n", "currencies:\n  deal:\n")
               .replace("money[contract]", "money[deal]")
               .replace("currency: contract}", "currency: deal}"))
    assert renamed.count("deal") >= 5 and "money[contract]" not in renamed
    vocab.write_text(renamed, encoding="utf-8")
    later = target / "trade-assurance-2017.12.yaml"
    later.write_text(later.read_text(encoding="utf-8").replace(
        "parameters:\n", 'parameters:\n  refund_floor:\n    type: money[deal]\n'
        '    default: {amount: "0.00", currency: EUR}\n', 1), encoding="utf-8")
    rs = Registry.from_folder(target).select(version="2017.12")
    assert rs.vocabulary is not None and [d.name for d in rs.vocabulary.dimensions] == ["deal"]
    assert str(rs.parameters["refund_floor"].default) == "0.00 EUR"
    bundled = default_registry().select(version="2017.12")
    for case in (facts("120.00"), facts("50.00"), facts(chargeback=True)):
        mine, theirs = evaluate(case, ruleset=rs), evaluate(case, ruleset=bundled)
        assert (mine.outcome, mine.codes, mine.max_refund, mine.coverage_cap) == \
            (theirs.outcome, theirs.codes, theirs.max_refund, theirs.coverage_cap)
    assert str(evaluate(facts("120.00"), ruleset=rs).max_refund) == "120.00 USD"


# --- properties scoped to versions ----------------------------------------------------

PROPERTIES = """\
ruleset: trade-assurance
properties:
  - id: refund-within-order-amount
    expect: max_refund <= contract.order_amount
  - id: suspended-supplier-denied
    versions: [2025.1]
    when: supplier_suspended
    expect: outcome == "denied"
  - id: suspended-supplier-pays-nothing
    versions: ">=2025.1"
    when: supplier_suspended
    expect: max_refund.amount == 0
"""


def versions_folder(tmp_path: Path, properties: str) -> Registry:
    """2017.12 (until 2025-01-01) and 2025.1 written as changes to it, with properties."""
    rules = tmp_path / "rules"
    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    write(rules, "trade-assurance-2017.12.yaml", base.replace(
        "  from: 2017-12-08\n", "  from: 2017-12-08\n  until: 2025-01-01\n"))
    write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    write(rules / "properties", "trade-assurance.yaml", properties)
    return Registry.from_folder(rules)


def test_a_property_is_checked_only_against_the_versions_it_names(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    from ta_rules.verify.prove import prove_rulesets

    reg = versions_folder(tmp_path, PROPERTIES)
    results = {(r.ruleset, r.property): r.status for r in prove_rulesets(reg.rulesets)}
    assert results == {
        ("2017.12", "refund-within-order-amount"): "proven",
        ("2025.1", "refund-within-order-amount"): "proven",
        ("2025.1", "suspended-supplier-denied"): "proven",
        ("2025.1", "suspended-supplier-pays-nothing"): "proven",
    }


def test_a_scoped_property_naming_what_its_version_lacks_is_an_error(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    from ta_rules.verify.prove import prove_rulesets

    wrong = PROPERTIES.replace("versions: [2025.1]", 'versions: ">=2017.12"')
    reg = versions_folder(tmp_path, wrong)
    results = {(r.ruleset, r.property): r for r in prove_rulesets(reg.rulesets)}
    failed = results["2017.12", "suspended-supplier-denied"]
    assert failed.status == "error" and "supplier_suspended" in failed.detail


@pytest.mark.parametrize("versions", ['"2025"x', "[]", '"=>2017.12"', "{a: 1}"])
def test_a_bad_versions_field_is_a_located_error(tmp_path: Path, versions: str) -> None:
    pytest.importorskip("z3")
    from ta_rules.verify.properties import PropertyError, load_properties

    text = PROPERTIES.replace("versions: [2025.1]", f"versions: {versions}")
    reg = versions_folder(tmp_path, text.replace('"2025"x', "'2025'x"))
    with pytest.raises(PropertyError) as exc:
        load_properties(reg.select(version="2025.1"))
    assert "trade-assurance.yaml:" in str(exc.value)


def test_versions_compare_as_numbers() -> None:
    pytest.importorskip("z3")
    from ta_rules.verify.properties import Versions

    assert Versions.parse(">=2017.12").includes("2025.1")
    assert not Versions.parse(">=2017.12").includes("2017.2")   # 12 > 2
    assert Versions.parse(">2015.1, <2025.1").includes("2017.12")
    assert not Versions.parse(">2015.1, <2025.1").includes("2025.1")
    assert Versions.parse(["2017.10"]).includes("2017.10")


# --- coverage of a version written as changes ------------------------------------------


def scenarios_text() -> str:
    """Scenarios of 2025.1 that exercise only what it changes (JSON is YAML)."""
    def scenario(name: str, case: dict[str, Any], reasons: list[str],
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"name": name, "facts": case, "parameters": params or {},
                "expect": {"outcome": "denied", "reasons": reasons,
                           "max_refund": {"amount": "0.00", "currency": "USD"}}}
    return json.dumps({"scenarios": [
        scenario("120.00 USD is below the 2025.1 minimum", facts("120.00"),
                 ["BELOW_MINIMUM_ORDER_AMOUNT"]),
        scenario("a suspended supplier", facts(), ["SUPPLIER_NOT_PARTICIPATING"],
                 {"supplier_suspended": True}),
    ]}, indent=1)


@pytest.mark.parametrize("bundled_base", [True, False])
def test_coverage_counts_inherited_rules_in_the_version_that_wrote_them(
        tmp_path: Path, bundled_base: bool) -> None:
    from ta_rules.testing.runner import run_paths

    reg = (Registry.from_folder(write(tmp_path / "rules", "trade-assurance-2025.1.yaml",
                                      CHANGES).parent) if bundled_base
           else versions_folder(tmp_path, PROPERTIES))
    scenarios = write(tmp_path / "scenarios", "changes.yaml", scenarios_text())
    report = run_paths([scenarios], registry=reg, coverage=True)
    assert report.ok, report.render()
    assert report.coverage is not None
    mine = report.coverage["trade-assurance", "2025.1"]
    # the rules 2025.1 wrote: replaced and added; every other rule is 2017.12's
    assert sorted(mine.rules) == ["gate.below-minimum", "gate.supplier-suspended",
                                  "process.held"]
    assert mine.rules["gate.below-minimum"] == 1 and mine.rules["gate.supplier-suspended"] == 1
    assert set(mine.inherited.values()) == {"2017.12"}
    assert "gate.excluded-category" in mine.inherited
    if not bundled_base:  # 2017.12 is in the run: inherited rules that applied count there
        theirs = report.coverage["trade-assurance", "2017.12"]
        assert "gate.below-minimum" in theirs.rules  # its own version of it
        assert theirs.rules["outcome.gate-denial"] == 2
    else:
        assert set(report.coverage) == {("trade-assurance", "2025.1")}
    per_version = run_paths([scenarios], registry=reg, coverage=True,
                            coverage_per_version=True).coverage
    assert per_version is not None
    whole = per_version["trade-assurance", "2025.1"]
    assert len(whole.rules) == len(reg.select(version="2025.1").rules)
    assert whole.rules["outcome.gate-denial"] == 2 and not whole.inherited


def test_cli_coverage_per_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = write(tmp_path / "rules", "trade-assurance-2025.1.yaml", CHANGES).parent
    scenarios = write(tmp_path / "scenarios", "changes.yaml", scenarios_text())
    args = ["test", "--rules", str(rules), str(scenarios), "--fail-under", "60"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "inherited unchanged from 2017.12 and counted there" in out
    assert main([*args, "--coverage-per-version"]) == 1
    assert "is under --fail-under 60" in capsys.readouterr().err


# --- examples/changes: a version written as changes, with its scenarios ----------------

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "changes"


def test_the_example_checks_and_its_scenarios_cover_what_it_changes(
        capsys: pytest.CaptureFixture[str]) -> None:
    rules, scenarios = EXAMPLE / "rules", EXAMPLE / "scenarios"
    assert main(["check", str(rules)]) == 0
    assert main(["test", "--coverage", "--fail-under", "100", "--rules", str(rules),
                 str(scenarios)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("9 passed, 0 failed")
    assert "coverage trade-assurance 2025.1: rules 2/2" in out


def test_the_example_changes_verdicts_that_2017_12_gives() -> None:
    from ta_rules.testing.scenarios import load_scenarios, run_scenario

    scenarios, problems = load_scenarios(EXAMPLE / "scenarios" / "changes.yaml")
    assert problems == [] and len(scenarios) == 9
    old = default_registry().select(version="2017.12")
    changed = {s.name[:6]: evaluate(dict(s.facts), ruleset=old) for s in scenarios}
    # what 2017.12 says of the same claims, from its own policy: the minimum is 100.00 USD,
    # no grace, a chargeback bars the claim, the window runs from the ship-by date
    assert changed["CHG-02"].outcome == "covered"
    assert set(changed["CHG-04"].codes) == {"LATE_SHIPMENT"}
    assert set(changed["CHG-05"].codes) == {"OTHER_REMEDY_PURSUED"}
    assert set(changed["CHG-06"].codes) == {"CLAIM_WINDOW_EXPIRED"}
    reg = Registry.from_folder(EXAMPLE / "rules")
    engines = ["compiled", *(["durable"] if importlib.util.find_spec("durable") else [])]
    for s in scenarios:
        for engine in engines:
            assert run_scenario(s, registry=reg, engine=engine).passed, (s.name, engine)


def test_an_unknown_base_names_the_versions_there_are(tmp_path: Path) -> None:
    change = write(tmp_path / "rules", "trade-assurance-2025.1.yaml",
                   CHANGES.replace('based_on: "2017.12"', "based_on: 2017.10"))
    with pytest.raises(RulesetError) as exc:
        load_ruleset(change)
    (diag,) = exc.value.diagnostics
    # read as written: 2017.10, not the number 2017.1
    assert "no version 2017.10 of trade-assurance" in diag.message
    assert diag.hint == "known versions of trade-assurance: 2015.1, 2017.12"


def test_the_editor_schema_takes_a_change_file_and_refuses_a_misspelling() -> None:
    import jsonschema
    import yaml

    from ta_rules.schema_export import json_schema

    def jsonable(value: Any) -> Any:
        return json.loads(json.dumps(value, default=str))

    validator = jsonschema.Draft202012Validator(json_schema("rules"))
    example = (EXAMPLE / "rules" / "trade-assurance-2025.1.yaml").read_text(encoding="utf-8")
    assert example.startswith("# yaml-language-server: $schema=ruleset.schema.json")
    for text in (example, CHANGES):
        validator.validate(jsonable(yaml.safe_load(text)))
    for wrong in (CHANGES.replace("    remove: [gate.", "    remve: [gate."),
                  CHANGES.replace("after: gate.excluded", "aftr: gate.excluded"),
                  CHANGES.replace("effective:\n  from: 2025-01-01\n", "")):
        assert not validator.is_valid(jsonable(yaml.safe_load(wrong)))


def test_a_change_that_adds_a_message_gets_it_through_the_catalog_tools(tmp_path: Path) -> None:
    """An added reason under the base's catalog: extract, update, translate, compile, judge."""
    from babel.messages.pofile import read_po, write_po

    shutil.copytree(Path(str(files("ta_rules") / "locales")), tmp_path / "locales")
    rules = write(tmp_path / "rules", "trade-assurance-2025.1.yaml", CHANGES.replace(
        "groups:\n", 'reasons:\n  SUPPLIER_SUSPENDED: {kind: denial, message: "The supplier '
        'is suspended."}\ngroups:\n', 1).replace(
        "reasons: [SUPPLIER_NOT_PARTICIPATING]", "reasons: [SUPPLIER_SUSPENDED]")).parent
    with pytest.raises(RulesetError) as exc:  # no translation yet
        load_ruleset(rules / "trade-assurance-2025.1.yaml")
    assert {d.code for d in exc.value.diagnostics} == {"messages.missing-translation"}
    for action in ("extract", "update"):
        assert main(["messages", action, "--rules", str(rules)]) == 0
    spanish = tmp_path / "locales" / "es" / "LC_MESSAGES" / "ta_rules.po"
    with spanish.open("rb") as fh:
        catalog = read_po(fh)
    entry = catalog.get("The supplier is suspended.", context="SUPPLIER_SUSPENDED")
    assert entry is not None and entry.string == ""
    # the inherited messages keep their translations
    kept = catalog.get("The Trade Assurance contract was never confirmed.",
                       context="CONTRACT_NOT_CONFIRMED")
    assert kept is not None and kept.string
    for po in (tmp_path / "locales").glob("*/LC_MESSAGES/ta_rules.po"):
        with po.open("rb") as fh:
            each = read_po(fh)
        found = each.get("The supplier is suspended.", context="SUPPLIER_SUSPENDED")
        assert found is not None
        found.string = found.string or ("El proveedor está suspendido."
                                        if po == spanish else "供应商已被暂停。")
        with po.open("wb") as fh:
            write_po(fh, each)
    assert main(["messages", "compile", "--rules", str(rules)]) == 0
    rs = load_ruleset(rules / "trade-assurance-2025.1.yaml")
    v = evaluate(facts(), ruleset=rs, parameters={"supplier_suspended": True}, locale="es")
    assert [r.message for r in v.reasons] == ["El proveedor está suspendido."]


def test_what_prove_cannot_encode_is_located_in_the_file_that_wrote_it(tmp_path: Path) -> None:
    """A value 2025.1 inherits from the 2017.12 beside it: located in the 2017.12 file."""
    pytest.importorskip("z3")
    from ta_rules.verify.prove import prove_rulesets

    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    base = base.replace("\nvalues:\n", '\nvalues:\n  odd_category: contract.category > "m"\n', 1)
    base = base.replace("when: contract.category in excluded_categories\n",
                        "when: contract.category in excluded_categories or odd_category\n")
    rules = write(tmp_path / "rules", "trade-assurance-2017.12.yaml", base).parent
    write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    write(rules / "properties", "trade-assurance.yaml", PROPERTIES)
    results = prove_rulesets([load_ruleset(rules / "trade-assurance-2025.1.yaml")],
                             only="refund-within-order-amount")
    (result,) = results
    assert result.status == "unsupported", result
    assert f"trade-assurance-2017.12.yaml:{line_of(base, 'odd_category:')}" in result.detail


def test_what_show_prints_is_a_whole_rule_file_judging_the_same(
        changed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "2025.1", "--rules", str(changed.parent)]) == 0
    flat = write(tmp_path / "flat", "trade-assurance-2025.1.yaml", capsys.readouterr().out)
    whole, written = load_ruleset(flat), load_ruleset(changed)
    assert whole.based_on is None and list(whole.rules) == list(written.rules)
    for case in (facts("120.00"), facts(chargeback=True), facts()):
        for params in (None, {"supplier_suspended": True}):
            a = evaluate(case, ruleset=whole, parameters=params, trace=True)
            b = evaluate(case, ruleset=written, parameters=params, trace=True)
            assert (a.outcome, a.codes, a.max_refund, a.coverage_cap) == \
                (b.outcome, b.codes, b.max_refund, b.coverage_cap)
            assert [(t.rule, t.applied) for t in a.trace or ()] == \
                [(t.rule, t.applied) for t in b.trace or ()]


def test_an_error_in_a_base_is_one_error_for_the_folder(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    base = (BUNDLED / "trade-assurance-2017.12.yaml").read_text(encoding="utf-8")
    write(rules, "trade-assurance-2017.12.yaml", base.replace(
        "when: rate is null", "when: rate_x is null").replace(
        "  from: 2017-12-08\n", "  from: 2017-12-08\n  until: 2025-01-01\n"))
    write(rules, "trade-assurance-2025.1.yaml", CHANGES)
    with pytest.raises(RulesetError) as exc:  # read once for itself, once as the base
        Registry.from_folder(rules)
    assert [d.code for d in exc.value.diagnostics] == ["compile.unknown-name"]
