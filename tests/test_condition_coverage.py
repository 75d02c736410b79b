"""Condition coverage (``ta-rules test --coverage --conditions``) and the scenarios
``ta-rules scenarios suggest`` writes for the conditions no scenario shows decisive.

Expectations come from the policy: MIN-01 (999.99 USD) and MIN-02 (1000.00 USD) are one
cent either side of the 1000 USD minimum, so together they show the single condition of
gate.below-minimum deciding the rule both ways; a rule whose condition is "X and Y" is
not shown for Y by a claim where X is false.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ta_rules.cli import main

ROOT = Path(__file__).parent.parent
SCENARIOS = ROOT / "examples" / "scenarios"
MINIMUM = SCENARIOS / "minimum.yaml"


@pytest.fixture(autouse=True)
def _z3() -> None:
    pytest.importorskip("z3")


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _conditions(*paths: Path | str, engine: str = "compiled") -> dict[str, Any]:
    code, out, err = _run("test", "--coverage", "--conditions", "--format", "json",
                          "--engine", engine, *map(str, paths))
    assert code == 0, out + err
    report = json.loads(out)
    return {c["version"]: c for c in report["conditions"]}


def _condition(cov: dict[str, Any], rule: str, index: int = 0) -> dict[str, Any]:
    return next(c for c in cov["conditions"] if c["rule"] == rule and c["index"] == index)


def test_a_pair_either_side_of_the_minimum_shows_its_condition_both_ways(
        tmp_path: Path) -> None:
    doc = yaml.safe_load(MINIMUM.read_text())
    pair = [s for s in doc["scenarios"] if s["name"].startswith(("MIN-01", "MIN-02"))]
    path = tmp_path / "pair.yaml"
    path.write_text(yaml.safe_dump({"scenarios": pair}))
    cov = _conditions(path)["2015.1"]
    c = _condition(cov, "gate.below-minimum")
    assert c["text"] == "in_usd(basis_amount) < min_order_amount_usd"
    assert [n[:6] for n in c["decisive_when_true"]] == ["MIN-01"]
    assert [n[:6] for n in c["decisive_when_false"]] == ["MIN-02"]
    # late.premature ("submitted_on <= late_deadline"): both claims were submitted after
    # the late deadline and reached the rule, so it was decisive while false
    assert _condition(cov, "late.premature")["decisive_when_false"]
    assert cov["percent"] < 100.0
    shown = [x for x in cov["conditions"] if x["shown"]]
    missing = [x for x in cov["conditions"] if not x["shown"] and x["decidable"] is not False]
    assert shown and missing
    assert cov["percent"] == pytest.approx(100.0 * len(shown) / (len(shown) + len(missing)))


def test_an_and_is_not_shown_for_a_part_that_did_not_decide(tmp_path: Path) -> None:
    # late.window-expired: "claim_window_days is not null and submitted_on > ship_by +
    # claim_window_days". MIN-02 has the default 30-day window (part 1 true) and was
    # submitted 2 days after ship-by (part 2 false): flipping part 1 alone leaves the rule
    # not applying (not shown), flipping part 2 alone makes it apply (shown while false)
    doc = yaml.safe_load(MINIMUM.read_text())
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump({"scenarios": [doc["scenarios"][1]]}))
    cov = _conditions(path)["2015.1"]
    first = _condition(cov, "late.window-expired", 0)
    second = _condition(cov, "late.window-expired", 1)
    assert not first["shown"]
    assert second["decisive_when_false"] and not second["decisive_when_true"]
    # while in late.premature ("submitted_on <= late_deadline") the one part decided
    assert _condition(cov, "late.premature")["decisive_when_false"]


def test_text_report_lists_each_condition(tmp_path: Path) -> None:
    code, out, _ = _run("test", "--coverage", "--conditions", str(MINIMUM))
    assert code == 0
    assert "condition coverage trade-assurance 2015.1:" in out
    assert "gate.below-minimum [1] in_usd(basis_amount) < min_order_amount_usd: decisive " \
           "when true and false" in out
    assert "NOT SHOWN decisive" in out


def _suggest(tmp_path: Path, *paths: Path, extra: tuple[str, ...] = ()) -> Path:
    out_file = tmp_path / "suggested.yaml"
    code, out, err = _run("scenarios", "suggest", *map(str, paths), "--out", str(out_file),
                          *extra)
    assert code == 0, out + err
    assert "-> 100.0% with the suggestions" in out
    return out_file


def test_suggest_brings_a_thin_set_to_every_decidable_condition(tmp_path: Path) -> None:
    suggested = _suggest(tmp_path, MINIMUM)
    text = suggested.read_text()
    assert text.startswith("# Suggested by `ta-rules scenarios suggest`")
    doc = yaml.safe_load(text)
    assert len(doc["scenarios"]) > 10
    for s in doc["scenarios"]:
        assert s["name"].startswith("SUGGESTED (confirm): ")
        assert s["tags"] == ["suggested", "confirm"]
    # every suggested verdict is what both engines give: the files pass on both
    for engine in ("compiled", "durable"):
        cov = _conditions(MINIMUM, suggested, engine=engine)
        for version in ("2015.1", "2017.12"):
            assert cov[version]["percent"] == 100.0, [
                c for c in cov[version]["conditions"] if not c["shown"]
                and c["decidable"] is not False]


def _value(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc[part]
    return doc


def test_suggested_boundaries_are_one_step_apart(tmp_path: Path) -> None:
    doc = yaml.safe_load(_suggest(tmp_path, MINIMUM).read_text())
    by_condition: dict[str, list[dict[str, Any]]] = {}
    for s in doc["scenarios"]:
        key, _, what = s["name"].rpartition(" (")
        by_condition.setdefault(key, []).append({**s, "what": what.rstrip(")")})
    pairs = [v for v in by_condition.values()
             if any(x["what"] == "on the boundary" for x in v)
             and any(x["what"].startswith("one step") for x in v)]
    assert pairs, sorted(by_condition)
    for pair in pairs:
        on = next(x for x in pair if x["what"] == "on the boundary")
        past = next(x for x in pair if x["what"].startswith("one step"))
        # the two claims sit either side of the boundary: the rule's result differs, so
        # the verdicts do too unless a later rule gives the same
        assert on["facts"] != past["facts"]
    # a date window: its last day and the day after (late.not-late of 2017.12:
    # "shipped_on <= late_deadline")
    dated = [p for k, p in by_condition.items() if "late.not-late [2]" in k and len(p) == 2]
    if dated:
        on = next(x for x in dated[0] if x["what"] == "on the boundary")
        past = next(x for x in dated[0] if x["what"].startswith("one step"))
        a = dt.date.fromisoformat(_value(on["facts"], "shipment.shipped_on"))
        b = dt.date.fromisoformat(_value(past["facts"], "shipment.shipped_on"))
        assert on["expect"] != past["expect"]
        assert abs((b - a).days) <= 400  # both within the version's first years
    assert any(len(p) == 2 for p in pairs)


def test_project_scenarios_and_the_suggestions_reach_every_decidable_condition(
        tmp_path: Path) -> None:
    suggested = _suggest(tmp_path, SCENARIOS)
    cov = _conditions(SCENARIOS, suggested)
    for version in ("2015.1", "2017.12"):
        assert cov[version]["percent"] == 100.0
        # every scenario was read: the encoding agrees with the engine's trace on the rules
        # that applied for each of them
        assert cov[version]["skipped"] == []
    assert _conditions(SCENARIOS, suggested, engine="durable")["2017.12"]["percent"] == 100.0


def test_suggest_for_one_rule_and_its_errors(tmp_path: Path) -> None:
    out_file = tmp_path / "one.yaml"
    code, out, err = _run("scenarios", "suggest", str(MINIMUM), "--for", "late.premature",
                          "--out", str(out_file))
    assert code == 0, out + err
    names = [s["name"] for s in yaml.safe_load(out_file.read_text())["scenarios"]]
    assert names and all("late.premature" in n for n in names)
    code, _, err = _run("scenarios", "suggest", str(MINIMUM), "--for", "late.premature",
                        "--out", str(out_file))
    assert code == 2 and "exists; give --force" in err
    code, _, err = _run("scenarios", "suggest", str(MINIMUM), "--for", "no.such-rule",
                        "--out", str(tmp_path / "x.yaml"))
    assert code == 2 and "--for no.such-rule: no rule" in err
