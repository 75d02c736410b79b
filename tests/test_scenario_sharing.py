"""Scenario files share facts: a ``base:`` facts document, or YAML anchors and merge keys.

Expected verdicts are the 2015.1 policy's (docs and examples/scenarios/minimum.yaml): the
minimum order amount is 1000.00 USD, inclusive; a late shipment of a qualifying order is
covered up to the amount paid.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ta_rules.cli import main
from ta_rules.rulesets._yaml import MAX_NODES, load_yaml
from ta_rules.testing.runner import run_paths
from ta_rules.testing.scenarios import load_scenarios_text

BASE_FACTS = """\
    as_of: 2015-07-08
    contract:
      confirmed_on: 2015-04-20
      category: consumer_electronics
      order_amount: {amount: "1000.00", currency: USD}
      ship_by: 2015-06-30
      quality_safeguard: false
      quality_requirements: []
    supplier:
      participating: true
      ta_limit: {amount: "20000.00", currency: USD}
    payments:
      - role: initial
        method: TT
        to_platform_account: true
        payer_name_entered: true
        amount: {amount: "1000.00", currency: USD}
        received_on: 2015-04-23
    shipment:
      shipped_on: 2015-07-01
    inspection: null
    claim:
      grounds: [late_shipment]
      submitted_on: 2015-07-02
      determination_requested_on: 2015-07-08
"""

WITH_BASE = f"""\
base:
  facts:
{BASE_FACTS}
scenarios:
  - name: the base as it is, exactly the minimum
    expect:
      outcome: covered
      reasons: [LATE_SHIPMENT]
      max_refund: {{amount: "1000.00", currency: USD}}
  - name: one cent below the minimum
    facts:
      contract:
        order_amount: {{amount: "999.99", currency: USD}}
    expect:
      outcome: denied
      reasons: [BELOW_MINIMUM_ORDER_AMOUNT]
      max_refund: {{amount: "0.00", currency: USD}}
  - name: a list replaces the base's, a mapping merges
    facts:
      payments:
        - role: initial
          method: TT
          to_platform_account: true
          payer_name_entered: true
          amount: {{amount: "600.00", currency: USD}}
          received_on: 2015-04-23
    expect:                     # paid less than the order: capped at the amount paid
      outcome: covered
      reasons: [LATE_SHIPMENT, CAPPED_AT_AMOUNT_PAID]
      max_refund: {{amount: "600.00", currency: USD}}
"""

WITH_ANCHORS = f"""\
scenarios:
  - name: exactly the minimum
    facts: &claim
{BASE_FACTS.replace("    ", "      ", 1).replace(chr(10) + "    ", chr(10) + "      ")}
    expect:
      outcome: covered
      reasons: [LATE_SHIPMENT]
      max_refund: {{amount: "1000.00", currency: USD}}
  - name: one cent below the minimum
    facts:
      <<: *claim
      contract:
        confirmed_on: 2015-04-20
        category: consumer_electronics
        order_amount: {{amount: "999.99", currency: USD}}
        ship_by: 2015-06-30
        quality_safeguard: false
        quality_requirements: []
    expect:
      outcome: denied
      reasons: [BELOW_MINIMUM_ORDER_AMOUNT]
      max_refund: {{amount: "0.00", currency: USD}}
  - name: the same claim again
    facts: *claim
    expect:
      outcome: covered
      reasons: [LATE_SHIPMENT]
      max_refund: {{amount: "1000.00", currency: USD}}
"""


def line_of(text: str, needle: str, start: int = 0) -> int:
    return text[: text.index(needle, start)].count("\n") + 1


@pytest.mark.parametrize("text", [WITH_BASE, WITH_ANCHORS], ids=["base", "anchors"])
def test_scenarios_share_facts(tmp_path: Path, text: str) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(text, encoding="utf-8")
    report = run_paths([path])
    assert not report.errors, report.render()
    assert [r.passed for r in report.results] == [True] * 3, report.render()
    assert main(["test", str(path)]) == 0
    assert main(["eval", str(path), "-k", "one cent below"]) == 0


def test_a_bad_fact_in_the_base_is_located_in_the_base(tmp_path: Path) -> None:
    text = WITH_BASE.replace("category: consumer_electronics", "category: 7")
    scenarios, problems = load_scenarios_text(text, "shared.yaml")
    assert problems == [] and len(scenarios) == 3
    report = run_paths([_write(tmp_path, text)])
    errors = [r.error or "" for r in report.results]
    line = line_of(text, "category: 7")
    # every scenario that inherits it names the base's line and its own path
    assert all(f"shared.yaml:{line}:" in e and "facts.contract.category" in e for e in errors)


def test_a_bad_fact_a_scenario_writes_is_located_in_the_scenario(tmp_path: Path) -> None:
    text = WITH_BASE.replace('amount: "999.99"', 'amount: "nine"')
    report = run_paths([_write(tmp_path, text)])
    second = report.results[1].error or ""
    assert f"shared.yaml:{line_of(text, 'nine')}:" in second
    assert report.results[0].error is None  # the base itself is fine


def test_a_bad_fact_behind_an_alias_is_located_at_the_anchor(tmp_path: Path) -> None:
    text = WITH_ANCHORS.replace("shipped_on: 2015-07-01", "shipped_on: someday")
    report = run_paths([_write(tmp_path, text)])
    line = line_of(text, "someday")
    assert [f"shared.yaml:{line}:" in (r.error or "") for r in report.results] == [True] * 3


@pytest.mark.parametrize(("text", "code"), [
    ("base: [1]\nscenarios: []\n", "scenario.invalid"),
    ("base: {facts: {}, extra: 1}\nscenarios: []\n", "scenario.unknown-field"),
    ("scenarios:\n  - name: x\n    facts: *nowhere\n", "yaml.alias"),
    ("a: &a {b: 1}\nscenarios:\n  - <<: 5\n", "yaml.merge-key"),
    ("scenarios:\n  - &k name: x\n", "yaml.anchor"),
])
def test_wrong_sharing_is_a_located_error(text: str, code: str) -> None:
    _, problems = load_scenarios_text(text, "s.yaml")
    assert [p.code for p in problems][:1] == [code]
    assert problems[0].location.line >= 1


def test_billion_laughs_stays_bounded() -> None:
    lol = ('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
           + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                     for p, n in zip("abcdefgh", "bcdefghi", strict=True))
           + "scenarios: [*i]\n")
    started = time.monotonic()
    _, problems = load_scenarios_text(lol, "lol.yaml")
    assert time.monotonic() - started < 30  # bounded: refused, not expanded
    assert [p.code for p in problems] == ["yaml.too-large"]
    assert f"more than {MAX_NODES} values" in problems[0].message


def test_rule_files_still_refuse_anchors() -> None:
    _, problems = load_yaml("a: &x 1\nb: *x\n", "rules.yaml")
    assert [p.code for p in problems] == ["yaml.anchor"]


def _write(folder: Path, text: str) -> Path:
    path = folder / "shared.yaml"
    path.write_text(text, encoding="utf-8")
    return path
