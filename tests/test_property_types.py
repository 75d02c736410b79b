"""Properties are rule-language expressions resolved by the rule resolver, with the
verdict's names in scope: a type error in one is a located compile error, never VIOLATED."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from ta_rules.cli import main
from ta_rules.rulesets.registry import Registry

from conftest import ROOT

pytest.importorskip("z3")


def folder_with(tmp_path: Path, properties: str) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "ta_rules" / "rules", folder)
    (folder / "trade-assurance-2015.1.yaml").unlink()
    (folder / "properties" / "trade-assurance.yaml").write_text(properties, encoding="utf-8")
    return folder


def test_a_type_error_in_a_property_is_located(tmp_path: Path) -> None:
    from ta_rules.verify.properties import PropertyError, load_properties, resolve_properties

    folder = folder_with(tmp_path, "properties:\n  - id: lots\n"
                                   "    expect: max_refund <= \"lots\"\n")
    rs = Registry.from_folder(folder).select(None, "2017.12")
    props = load_properties(rs)
    with pytest.raises(PropertyError) as info:
        resolve_properties(rs, props)
    (d,) = info.value.diagnostics
    assert d.code == "compile.type-mismatch"
    assert d.location.source.endswith("properties/trade-assurance.yaml")
    assert (d.location.line, d.location.column) == (3, 24)
    assert "cannot compare money" in d.message

    out = io.StringIO()
    assert main(["prove", str(folder)], stdout=out) == 2
    text = out.getvalue()
    assert "VIOLATED" not in text
    assert "trade-assurance.yaml:3:24" in text and "compile.type-mismatch" in text


def test_an_unknown_name_in_a_property_says_where(tmp_path: Path) -> None:
    from ta_rules.verify.properties import PropertyError, load_properties, resolve_properties

    folder = folder_with(tmp_path, "properties:\n  - id: x\n    when: outcme == \"covered\"\n"
                                   "    expect: max_refund.amount > 0\n")
    rs = Registry.from_folder(folder).select(None, "2017.12")
    with pytest.raises(PropertyError) as info:
        resolve_properties(rs, load_properties(rs))
    (d,) = info.value.diagnostics
    assert d.code == "compile.unknown-name" and (d.location.line, d.location.column) == (3, 11)
    assert "outcome" in (d.hint or "")


def test_properties_use_the_rule_language_and_its_built_ins(tmp_path: Path) -> None:
    from ta_rules.verify.prove import prove_rulesets

    folder = folder_with(tmp_path, """properties:
  - id: vehicles-excluded
    when: contract.category == "vehicles"
    expect: '"EXCLUDED_CATEGORY" in codes and outcome == "denied"'
  - id: same-day
    expect: business_days_between(claim.submitted_on, claim.submitted_on) == 0
  - id: null-in-null-out
    expect: business_days_between(claim.submitted_on, null) is null
  - id: cap-or-none
    when: outcome == "covered"
    expect: coverage_cap is null or max_refund <= coverage_cap
  - id: wrong-on-purpose
    expect: count(reasons) == 1
""")
    results = {r.property: r for r in prove_rulesets(Registry.from_folder(folder).rulesets)}
    assert results["vehicles-excluded"].status == "proven", results["vehicles-excluded"]
    assert results["same-day"].status == "proven", results["same-day"]
    assert results["null-in-null-out"].status == "proven", results["null-in-null-out"]
    assert results["cap-or-none"].status == "proven", results["cap-or-none"]
    assert results["wrong-on-purpose"].status == "violated", results["wrong-on-purpose"]


def test_check_reports_a_property_type_error_with_its_place(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, "properties:\n  - id: lots\n"
                                   "    expect: max_refund <= \"lots\"\n"
                                   "  - id: later\n    versions: [\"2099.1\"]\n"
                                   "    expect: no_such_name\n")
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(folder)], stdout=out, stderr=err) == 1
    text = err.getvalue()
    assert "properties/trade-assurance.yaml:3:24: error[compile.type-mismatch]" in text
    assert "no_such_name" not in text  # a property of another version is not its concern
    assert "    expect: max_refund <= \"lots\"" in text  # the line, with a caret under it


def test_check_of_the_bundled_rules_reads_their_properties(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(ROOT / "ta_rules" / "rules")], stdout=out, stderr=err) == 0
    assert err.getvalue() == ""
