"""The fifteen worked scenarios of the domain spec, read straight from ../shared."""

from __future__ import annotations

from pathlib import Path

import ta_rules
from ta_rules.money import Money

from conftest import load_yaml_file


def test_every_spec_example_gives_the_expected_verdict(shared_examples: list[Path]) -> None:
    assert len(shared_examples) == 15
    for path in shared_examples:
        doc = load_yaml_file(path)
        verdict = ta_rules.evaluate(doc["facts"], parameters=doc.get("parameters"))
        expect = doc["expect"]
        where = path.name
        assert verdict.outcome == expect["outcome"], where
        assert verdict.codes == set(expect["reasons"]), where
        assert verdict.max_refund == Money.of(**expect["max_refund"]), where
        cap = expect.get("coverage_cap")
        assert verdict.coverage_cap == (Money.of(**cap) if cap else None), where
        assert verdict.ruleset.version == "2015.1"
