"""JSON Schemas for editors: shipped files are current and validate real documents."""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml

from ta_rules.cli import main
from ta_rules.schema_export import SCHEMA_FILES, json_schema

from conftest import EXAMPLES


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.mark.parametrize("kind", ["rules", "facts"])
def test_shipped_schema_files_are_current(kind: Literal["rules", "facts"]) -> None:
    shipped = json.loads((files("ta_rules") / SCHEMA_FILES[kind]).read_text())
    assert shipped == json.loads(json.dumps(json_schema(kind))), \
        f"regenerate with: ta-rules schema {kind} --out ta_rules/{SCHEMA_FILES[kind]}"


def test_bundled_rules_validate_and_point_at_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("rules"))
    rules = files("ta_rules") / "rules"
    for entry in rules.iterdir():
        if not entry.name.endswith(".yaml") or entry.name.endswith(".vocabulary.yaml"):
            continue
        text = entry.read_text()
        assert text.startswith("# yaml-language-server: $schema=ruleset.schema.json")
        validator.validate(jsonable(yaml.safe_load(text)))


def test_schema_rejects_a_misspelled_key() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("rules"))
    doc = jsonable(yaml.safe_load((files("ta_rules") / "rules" /
                                   "trade-assurance-2015.1.yaml").read_text()))
    doc["paramters"] = doc.pop("parameters")
    assert not validator.is_valid(doc)


def test_facts_schema_validates_example_facts(shared_examples: list[Path]) -> None:
    validator = jsonschema.Draft202012Validator(json_schema("facts"),
                                                format_checker=jsonschema.FormatChecker())
    for path in shared_examples:
        validator.validate(jsonable(yaml.safe_load(path.read_text())["facts"]))
    claims = sorted((EXAMPLES / "claims").glob("*.json"))
    assert claims
    for path in claims:
        validator.validate(json.loads(path.read_text()))
    bad = jsonable(yaml.safe_load(shared_examples[0].read_text())["facts"])
    bad["contract"]["order_amount"]["amount"] = 5000.5
    assert not validator.is_valid(bad)


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "facts"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "ta-rules facts document"
