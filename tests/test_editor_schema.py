"""The rule-file schema is found by an editor from rules/, ta_rules/rules/ and a copied
folder, and the schemas work as the usual Python validation (yaml.safe_load + jsonschema)
uses them: they accept what the library accepts and refuse what it refuses, as far as
JSON Schema can say it."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import ta_rules
from ta_rules.cli import main

from conftest import EXAMPLES, ROOT, base_facts

COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.M)


def schema_of(rule_file: Path) -> Path:
    """Where an editor looks: the comment's path, relative to the file as opened (the
    editor does not resolve the folder's symbolic link first)."""
    m = COMMENT.search(rule_file.read_text())
    assert m, f"{rule_file} has no yaml-language-server comment"
    return Path(os.path.normpath(Path(rule_file.parent.absolute(), m[1])))


def validator(path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@pytest.mark.parametrize("folder", ["rules", "ta_rules/rules", "copy"])
def test_the_schema_loads_from_where_the_file_is_opened(folder: str, tmp_path: Path) -> None:
    base = ROOT / folder
    if folder == "copy":
        base = tmp_path / "my-rules"
        shutil.copytree(ROOT / "rules", base)  # as `cp -r rules my-rules` does
    files = sorted(f for f in base.glob("*.yaml") if not f.name.endswith(".vocabulary.yaml"))
    assert files
    for path in files:
        target = schema_of(path)
        assert target.is_file(), f"{path}: the editor finds no schema at {target}"
        # and it validates the file as yaml.safe_load reads it (dates are dates there)
        validator(target).validate(yaml.safe_load(path.read_text()))


def test_check_warns_when_the_schema_comment_points_nowhere(tmp_path: Path) -> None:
    lone = tmp_path / "trade-assurance-2015.1.yaml"
    shutil.copy(ROOT / "rules" / "trade-assurance-2015.1.yaml", lone)
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(lone)], stdout=out, stderr=err) == 0
    text = err.getvalue()
    assert f"{lone}:1:1: warning[file.schema-comment]: the editor schema ruleset.schema.json " \
        "is not beside this file" in text
    assert f"ta-rules schema rules --out {tmp_path / 'ruleset.schema.json'}" in text
    assert main(["schema", "rules", "--out", str(tmp_path / "ruleset.schema.json")]) == 0
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(lone)], stdout=out, stderr=err) == 0
    assert err.getvalue() == ""


FACTS_SCHEMA = ROOT / "ta_rules" / "schemas" / "facts.schema.json"


def accepted_by_library(doc: Any) -> bool:
    try:
        ta_rules.parse_facts(doc)
    except ta_rules.FactsError:
        return False
    return True


def change(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target: Any = doc
        for p in parents:
            target = target[p]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return apply


def both(*paths: str) -> Callable[[Any], Callable[[dict[str, Any]], None]]:
    def make(value: Any) -> Callable[[dict[str, Any]], None]:
        def apply(doc: dict[str, Any]) -> None:
            for p in paths:
                change(p, value)(doc)
        return apply
    return make


AMOUNT = both("contract.order_amount.amount", "payments.0.amount.amount")
AMOUNTS = ["5000.00", "5000", "5000.0", "5000.000", "5000.0010", 5000, "0", "0.00", 0,
           "-0.00", "-0", "-1.00", -1,
           "5000.001", "05000.00", "5000.", ".5", "+5000", "5e3", " 5000", "5000 ",
           "1" + "0" * 15, "9" * 15, 5000.5, True, None, "", "5,000.00"]
DATES = ["2015-01-20", dt.date(2015, 1, 20), "2015-1-20", "20150120", "2015-13-01",
         "2015-01-32", "1899-12-31", "3000-01-01", "1900-01-01", "2999-12-31", 20150120,
         "2015-01-20T00:00:00", None]


def documents() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, Callable[[dict[str, Any]], None]]] = []
    cases += [(f"amount {a!r}", AMOUNT(a)) for a in AMOUNTS]
    cases += [(f"jpy {a!r}", both("contract.order_amount", "payments.0.amount")(
        {"amount": a, "currency": "JPY"})) for a in ["600000", "600000.0", "600000.5", "600000.00"]]
    cases += [(f"bhd {a!r}", both("contract.order_amount", "payments.0.amount")(
        {"amount": a, "currency": "BHD"})) for a in ["500.125", "500.1255", "500.1250"]]
    cases += [(f"currency {c!r}", both("contract.order_amount.currency",
                                       "payments.0.amount.currency")(c))
              for c in ["EUR", "usd", "US", "XQQ", 840]]
    cases += [(f"ta_limit {a!r}", change("supplier.ta_limit.amount", a))
              for a in ["-5.00", "-0.00", "20000.00"]]
    cases += [(f"confirmed_on {d!r}", change("contract.confirmed_on", d)) for d in DATES]
    cases += [(f"fx_rate_to_usd {r!r}", change("contract.fx_rate_to_usd", r))
              for r in ["1", "1.0527", "0.5", "0", "0.000", "-1", "01", 1, 0, -2, 1.5]]
    cases += [("unknown key", change("contract.colour", "red")),
              ("missing as_of", change("as_of", KeyError)),
              ("ground", change("claim.grounds", ["late_shipment", "lateness"])),
              ("money extra key", change("contract.order_amount.note", "x"))]
    out = []
    for name, apply in cases:
        doc = copy.deepcopy(base_facts())
        apply(doc)
        out.append((name, doc))
    return out


def test_the_facts_schema_agrees_with_the_library() -> None:
    check = validator(FACTS_SCHEMA)
    disagree = [(name, accepted_by_library(doc), check.is_valid(doc))
                for name, doc in documents() if accepted_by_library(doc) != check.is_valid(doc)]
    assert disagree == []
    assert sum(not accepted_by_library(doc) for _, doc in documents()) >= 30


def test_shipped_facts_validate_as_yaml_safe_load_reads_them() -> None:
    check = validator(FACTS_SCHEMA)
    count = 0
    for path in sorted((EXAMPLES / "scenarios").glob("*.yaml")):
        for scenario in yaml.safe_load(path.read_text())["scenarios"]:
            check.validate(scenario["facts"])
            count += 1
    assert count >= 300


def test_what_json_schema_cannot_say() -> None:
    """Documented limits: the library refuses these, the schema cannot."""
    check = validator(FACTS_SCHEMA)
    for apply in (change("contract.confirmed_on", "2015-02-30"),  # not a real day
                  change("contract.confirmed_on", dt.datetime(2015, 1, 20, 10)),  # a time
                  change("payments.0.amount.currency", "EUR")):  # not the contract's
        doc = copy.deepcopy(base_facts())
        apply(doc)
        assert check.is_valid(doc) and not accepted_by_library(doc)
