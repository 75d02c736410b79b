"""The durable-rules engine and the reference engine against the compiled engine."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import ta_rules
from ta_rules.engines import get_engine
from ta_rules.engines.durable import _engine_error
from ta_rules.testing.runner import run_paths

from conftest import EXAMPLES, SHARED_EXAMPLES, rules_text
from strategies import facts_documents, overrides

durable = pytest.importorskip("durable_rules_engine", reason="durable-rules is not installed")


def key(v: ta_rules.Verdict) -> tuple[Any, ...]:
    return (v.outcome, v.codes, v.max_refund, v.coverage_cap,
            tuple((r.code, r.rule, r.subject, r.message) for r in v.reasons))


def verdicts(facts: dict[str, Any], params: dict[str, Any] | None) -> Iterator[Any]:
    for engine in ("compiled", "reference", "durable"):
        try:
            v = ta_rules.evaluate(facts, parameters=params, engine=engine, trace=True)
        except ta_rules.ParameterError:
            yield "parameter-error"
            continue
        yield key(v)


@settings(max_examples=300)
@given(facts=facts_documents(), params=overrides())
def test_engines_agree_on_generated_claims(facts: dict[str, Any],
                                           params: dict[str, Any]) -> None:
    compiled, reference, durable_v = verdicts(facts, params or None)
    assert reference == compiled
    assert durable_v == compiled


def test_scenarios_pass_on_the_durable_engine() -> None:
    paths = [EXAMPLES / "scenarios", *([SHARED_EXAMPLES] if SHARED_EXAMPLES.is_dir() else [])]
    report = run_paths(paths, engine="durable")
    assert report.ok, report.render()
    assert report.passed >= 386


def test_traces_agree(facts: dict[str, Any]) -> None:
    a = ta_rules.explain(facts)
    b = ta_rules.explain(facts, engine="durable")
    assert [(t.rule, t.subject, t.applied) for t in a.trace or ()] == \
        [(t.rule, t.subject, t.applied) for t in b.trace or ()]
    assert b.engine == "durable"


def test_threads_give_the_single_thread_verdicts() -> None:
    from hypothesis import find  # noqa: F401  (strategies are drawn below)

    samples: list[dict[str, Any]] = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(facts_documents())
    def collect(f: dict[str, Any]) -> None:
        samples.append(f)

    collect()
    expected = [key(ta_rules.evaluate(f, engine="durable")) for f in samples]
    failures: list[str] = []

    def work(n: int) -> None:
        for i in range(200):
            j = (i * 7 + n) % len(samples)
            if key(ta_rules.evaluate(samples[j], engine="durable")) != expected[j]:
                failures.append(f"thread {n} sample {j}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_big_blocks_are_split_for_the_network(facts: dict[str, Any]) -> None:
    text = rules_text()
    extra = "".join(
        f"      - id: gate.extra-{i}\n"
        f"        when: contract.category == \"extra_{i}\" or claim.chargeback_filed\n"
        f"        reasons: [OTHER_REMEDY_PURSUED]\n" for i in range(150))
    text = text.replace("      - id: gate.chargeback-filed\n", extra +
                        "      - id: gate.chargeback-filed\n")
    big = ta_rules.loads_ruleset(text, "big.yaml")
    program: Any = get_engine("durable").prepare(big)
    assert len(program._chunks["gates"]) > 2
    for category, chargeback in (("extra_77", False), ("x", True), ("x", False)):
        f = {**facts, "contract": {**facts["contract"], "category": category},
             "claim": {**facts["claim"], "chargeback_filed": chargeback}}
        assert key(ta_rules.evaluate(f, ruleset=big, engine="durable")) == \
            key(ta_rules.evaluate(f, ruleset=big))


def test_a_rule_too_complex_for_the_network_is_refused_when_prepared() -> None:
    ors = " or ".join(f"contract.category == \"c{i}\"" for i in range(70))
    text = rules_text().replace("when: contract.category in excluded_categories",
                                f"when: {ors}")
    ruleset = ta_rules.loads_ruleset(text, "wide.yaml")
    with pytest.raises(ta_rules.EngineError, match=r"gate\.excluded-category.*too complex"):
        get_engine("durable").prepare(ruleset)


def test_engine_error_codes_are_explained() -> None:
    err = _engine_error(Exception("Could not assert fact, error code: 303"), "evaluate")
    assert "error 303: more than 64 alpha nodes pending" in str(err)


def test_unavailable_durable_is_one_clear_error(monkeypatch: pytest.MonkeyPatch,
                                                facts: dict[str, Any]) -> None:
    from ta_rules import engines

    monkeypatch.setitem(sys.modules, "durable_rules_engine", None)
    monkeypatch.setitem(engines.ENGINES, "durable", engines._LazyDurable())
    with pytest.raises(ta_rules.EngineUnavailableError,
                       match=r"pip install 'ta-rules\[durable\]'"):
        ta_rules.evaluate(facts, engine="durable")
    assert ta_rules.evaluate(facts).outcome == "covered"


def test_check_can_ask_whether_an_engine_takes_the_rules(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    from ta_rules.cli import main

    assert main(["check", "rules/", "--engine", "durable"]) == 0
    ors = " or ".join(f"contract.category == \"c{i}\"" for i in range(70))
    wide = tmp_path / "wide.yaml"
    wide.write_text(rules_text().replace(
        "when: contract.category in excluded_categories", f"when: {ors}").replace(
        "  excluded_categories:\n", "  unused_categories:\n"))
    capsys.readouterr()
    assert main(["check", str(wide), "--engine", "durable"]) == 1
    err = capsys.readouterr().err
    assert "error[engine.refused]: the durable engine cannot take this ruleset" in err
    assert "rule 'gate.excluded-category' is too complex" in err
