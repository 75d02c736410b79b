"""Extending the facts vocabulary in YAML: examples/extending, and a new inspection method.

examples/extending/rules adds a fact (shipment.counterfeit_confirmed), a claim ground
(counterfeit) and an exclusion (COUNTERFEIT_EXCLUDED) without Python; its scenarios run
against that folder (they are not collected with examples/scenarios).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import ta_rules
from ta_rules import FactsError, RulesetError
from ta_rules.cli import main
from ta_rules.facts import parse_facts
from ta_rules.rulesets.registry import Registry
from ta_rules.schema_export import json_schema

from conftest import EXAMPLES, rules_text

EXTENDING = EXAMPLES / "extending"
RULES = EXTENDING / "rules"
SCENARIOS = EXTENDING / "scenarios"
PACKAGE = Path(ta_rules.__file__).parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, dt.date) else value


def scenario_facts() -> list[dict[str, Any]]:
    data = yaml.safe_load((SCENARIOS / "counterfeit.yaml").read_text(encoding="utf-8"))
    return [jsonable(s["facts"]) for s in data["scenarios"]]


def test_check_accepts_the_extension(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", str(RULES))
    assert (code, err) == (0, "")
    assert out.startswith("2 file(s) checked: 0 error(s), 0 warning(s)\n")


def test_its_scenarios_pass_with_every_rule_exercised(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", "--coverage", "--fail-under", "100", "--rules",
                       str(RULES), str(SCENARIOS))
    assert code == 0, out
    assert out.rstrip().endswith("10 passed, 0 failed")


def test_its_scenarios_fail_against_the_bundled_rules(
        capsys: pytest.CaptureFixture[str]) -> None:
    # run with the bundled rules named explicitly (its own ta-rules.toml is then not used)
    code, out, _ = run(capsys, "test", "--rules", "rules", str(SCENARIOS))
    assert code != 0
    assert "counterfeit" in out


def test_schema_of_the_extended_facts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "facts", "--rules", str(RULES))
    assert code == 0
    extended = json.loads(out)
    validator = jsonschema.Draft202012Validator(extended,
                                                format_checker=jsonschema.FormatChecker())
    bundled = jsonschema.Draft202012Validator(json_schema("facts"))
    for facts in scenario_facts():
        validator.validate(facts)
    counterfeit = [f for f in scenario_facts() if "counterfeit" in f["claim"]["grounds"] or
                   "counterfeit_confirmed" in f["shipment"]]
    assert counterfeit and not any(bundled.is_valid(f) for f in counterfeit)


def test_facts_are_read_with_the_vocabulary_of_the_ruleset_that_judges_them() -> None:
    reg = Registry.from_folder(RULES)
    (rs,) = reg.rulesets
    assert rs.vocabulary is not None and rs.vocabulary.extends == "trade-assurance"
    facts = next(f for f in scenario_facts() if f["claim"]["grounds"] == ["counterfeit"])
    with pytest.raises(FactsError) as info:
        parse_facts(facts)  # the bundled vocabulary has no such ground
    assert [p.path for p in info.value.problems] == ["claim.grounds[0]"]
    verdict = ta_rules.evaluate(facts, registry=reg)
    assert (verdict.outcome, verdict.codes) == ("denied", {"COUNTERFEIT_EXCLUDED"})
    old = scenario_facts()[0]  # a document written for trade-assurance, no new field
    assert parse_facts(old, rs.vocabulary).shipment.counterfeit_confirmed is False
    bad = copy.deepcopy(old)
    bad["shipment"]["counterfeit_confirmed"] = "yes"
    with pytest.raises(FactsError) as info:
        ta_rules.evaluate(bad, registry=reg)
    assert [p.path for p in info.value.problems] == ["shipment.counterfeit_confirmed"]


def test_the_example_holds_no_python_and_the_package_none_of_its_names() -> None:
    assert not [p for p in EXTENDING.rglob("*") if p.suffix in (".py", ".pyc", ".so")]
    names = re.compile(r"counterfeit|COUNTERFEIT_EXCLUDED", re.IGNORECASE)
    hits = [str(p) for p in PACKAGE.rglob("*") if p.is_file() and p.suffix != ".pyc"
            and names.search(p.read_bytes().decode("utf-8", "replace"))]
    assert not hits


def test_messages_in_each_catalog_beside_the_rules() -> None:
    reg = Registry.from_folder(RULES)
    facts = next(f for f in scenario_facts() if f["claim"]["grounds"] == ["counterfeit"])
    messages = {loc: ta_rules.evaluate(facts, registry=reg, locale=loc).reasons[0].message
                for loc in ("en", "es", "zh_Hans")}
    assert messages["en"].startswith("Counterfeit goods are not covered")
    assert messages["es"].startswith("Los productos falsificados")
    assert messages["zh_Hans"].startswith("假冒商品")


# --- a new inspection method, in YAML only ---------------------------------------------

DRONE_VOCABULARY = """\
vocabulary: trade-assurance-drones
extends: trade-assurance
codes:
  inspection_method:
    codes: [drone_survey]
"""


def quality_claim(method: str) -> dict[str, Any]:
    """QUAL-01 of examples/scenarios/quality_2015.yaml with another inspection method."""
    data = yaml.safe_load((EXAMPLES / "scenarios" / "quality_2015.yaml").read_text("utf-8"))
    facts = jsonable(data["scenarios"][0]["facts"])
    facts["inspection"]["method"] = method
    return facts


@pytest.fixture
def drone_rules(tmp_path: Path) -> Path:
    (tmp_path / "drones.vocabulary.yaml").write_text(DRONE_VOCABULARY)
    text = rules_text().replace("vocabulary: trade-assurance ",
                                "vocabulary: trade-assurance-drones ")
    assert "trade-assurance-drones" in text
    (tmp_path / "trade-assurance-2015.1.yaml").write_text(text)
    return tmp_path


def test_a_new_inspection_method_in_yaml(drone_rules: Path) -> None:
    facts = quality_claim("drone_survey")
    with pytest.raises(FactsError) as info:  # not a method of the bundled vocabulary
        ta_rules.evaluate(facts, version="2015.1")
    assert [p.path for p in info.value.problems] == ["inspection.method"]
    reg = Registry.from_folder(drone_rules)
    # spec 4, quality: a method that is not accepted -> pending DESIGNATED_INSPECTION_REQUIRED
    v = ta_rules.evaluate(facts, registry=reg)
    assert (v.outcome, v.codes) == ("pending", {"DESIGNATED_INSPECTION_REQUIRED"})
    methods = ["third_party_inspection", "buyer_sample_check", "buyer_onsite_check",
               "drone_survey"]
    v = ta_rules.evaluate(facts, registry=reg,
                          parameters={"accepted_inspection_methods": methods})
    assert (v.outcome, v.codes) == ("covered", {"PRE_SHIPMENT_QUALITY_FAILURE"})
    assert ta_rules.evaluate(quality_claim("third_party_inspection"),
                             registry=reg).codes == {"PRE_SHIPMENT_QUALITY_FAILURE"}


def test_a_rule_about_the_new_method_type_checks_only_with_the_extension(
        drone_rules: Path) -> None:
    rule = ("  drone_inspected:\n    expr: inspection is not null and "
            "inspection.method == \"drone_survey\"\n")
    path = drone_rules / "trade-assurance-2015.1.yaml"
    text = path.read_text().replace("\nvalues:\n", "\nvalues:\n" + rule, 1)
    assert rule in text
    path.write_text(text)
    rs = ta_rules.load_ruleset(path)  # the extended set knows the code
    assert rs.warnings and all(d.code == "compile.unused-value" for d in rs.warnings)
    bundled = path.with_name("bundled.yaml")
    bundled.write_text(text.replace("vocabulary: trade-assurance-drones ",
                                    "vocabulary: trade-assurance "))
    with pytest.raises(RulesetError) as info:
        ta_rules.load_ruleset(bundled)
    assert "compile.impossible-value" in {d.code for d in info.value.diagnostics}


def test_bundled_vocabulary_file_ships_beside_the_rules() -> None:
    names = {e.name for e in (files("ta_rules") / "rules").iterdir()}
    assert "trade-assurance.vocabulary.yaml" in names


def test_the_ruleset_does_not_compile_against_the_bundled_vocabulary(tmp_path: Path) -> None:
    text = (RULES / "counterfeit-cover-1.0.yaml").read_text(encoding="utf-8")
    text = text.replace("vocabulary: trade-assurance-counterfeit\n",
                        "vocabulary: trade-assurance\n")
    (tmp_path / "counterfeit-cover-1.0.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        ta_rules.load_ruleset(tmp_path / "counterfeit-cover-1.0.yaml")
    codes = {d.code for d in info.value.diagnostics}
    assert {"compile.unknown-fact", "compile.unknown-table"} <= codes


def test_eval_reads_the_facts_with_the_folders_vocabulary(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = next(f for f in scenario_facts() if f["claim"]["grounds"] == ["counterfeit"])
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    code, out, _ = run(capsys, "eval", "--rules", str(RULES), str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["reasons"][0]["code"] == "COUNTERFEIT_EXCLUDED"
    code, _, err = run(capsys, "eval", str(path))  # the bundled rules know no such ground
    assert code != 0 and "claim.grounds[0]" in err
