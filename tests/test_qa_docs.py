"""QA's guide and fixtures stand alone: the guide's examples run, the fixtures cite only
files that ship, and a scenario file can be judged with ta-rules eval as its help says."""

from __future__ import annotations

import io
import json
import re

import pytest

from ta_rules.cli import main

from conftest import EXAMPLES, ROOT

GUIDE = ROOT / "docs" / "testing.md"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_the_guide_scenario_passes() -> None:
    from ta_rules.testing.scenarios import load_scenarios_text, run_scenario

    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), re.S)
              if "scenarios:" in b]
    assert len(blocks) == 2  # the format, and facts shared through base:
    for block in blocks:
        scenarios, problems = load_scenarios_text(block, "docs/testing.md")
        assert problems == [] and scenarios
        for scenario in scenarios:
            result = run_scenario(scenario)
            assert result.passed, (result.error, result.differences)


def test_the_guide_names_every_flag_of_ta_rules_test_and_the_plugin(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = GUIDE.read_text()
    assert main(["test", "--help"]) == 0
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-k)\b", capsys.readouterr().out))
    flags -= {"--help"}
    assert flags and not [f for f in flags if f not in text]
    for option in ("--ta-rules-scenarios", "--ta-rules-engine", "--ta-rules-rules",
                   "ta_rules_scenarios", "ta_rules_rules"):
        assert option in text


def test_fixtures_cite_only_files_that_ship() -> None:
    cited = re.compile(r"[\w./-]+\.(?:md|ya?ml|json|py)\b")
    for path in sorted(EXAMPLES.rglob("*")):
        if not path.is_file() or path.suffix == ".mo":  # compiled catalogs are binary
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            comment = line.partition("#")[2] if "#" in line else ""
            for name in cited.findall(comment):
                assert (ROOT / name).exists() or (path.parent / name).exists(), \
                    f"{path.relative_to(ROOT)}:{n} cites {name}, which does not ship"


def test_eval_judges_a_shipped_scenario_file() -> None:
    path = str(EXAMPLES / "scenarios" / "minimum.yaml")
    code, out, err = run("eval", path, "-k", "MIN-02")
    assert (code, err) == (0, "")
    assert "== MIN-02: 1000.00 USD, exactly the minimum (inclusive)" in out
    assert "COVERED  max refund 1000.00 USD" in out and "expectation: met" in out
    code, out, _ = run("eval", path, "--format", "json")
    items = json.loads(out)
    assert code == 0 and len(items) == 11
    assert items[0]["verdict"]["outcome"] == "denied"
    # a scenario's parameters are used, and --set still wins
    code, out, _ = run("eval", path, "-k", "MIN-10")
    assert "BELOW_MINIMUM_ORDER_AMOUNT" in out and "expectation: met" in out
    code, out, _ = run("eval", path, "-k", "MIN-10", "--set", "min_order_amount_usd=10.00")
    assert out.startswith("== MIN-10") and "\nCOVERED  max refund 5000.00 USD" in out
    assert "expectation: NOT met: outcome: expected denied, got covered" in out
    code, _, err = run("eval", path, "-k", "no such scenario")
    assert code == 2 and "no scenario's name contains 'no such scenario'" in err
