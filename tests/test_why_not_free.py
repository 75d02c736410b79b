"""``--why-not --free``: the policy writer's question, with values that mean something.

Every denied or pending worked example (../shared/spec/examples/, skipped without it) and
every denied or pending scenario of examples/scenarios/ is asked "what would have made it
covered" with every fact freed: each gets a change the engine judges covered, and no free
text or code fact takes a literal of another field (a date, say), only a value the rules
name (the word is in the rule file or the claim's parameters), one the claim has at that
place, or a placeholder.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main
from ta_rules.rulesets.registry import default_registry
from ta_rules.testing.scenarios import find_scenario_files, load_scenarios

ROOT = Path(__file__).parent.parent
SPEC_EXAMPLES = ROOT / ".." / "shared" / "spec" / "examples"
PLACEHOLDER = re.compile(r"other-\d+")


def _claims(folder: Path) -> list[Any]:
    out = []
    for path, _ in find_scenario_files([folder]):
        scenarios, problems = load_scenarios(path)
        assert not problems, problems
        out.extend(scenarios)
    return out


def _judge(s: Any) -> Any:
    return ta_rules.evaluate(s.facts, parameters=s.parameters or None, version=s.version)


def _answers(claims: list[Any], free: tuple[str, ...] = ("all",)
             ) -> list[tuple[Any, Any, dict[str, Any]]]:
    pytest.importorskip("z3")
    out = []
    for s in claims:
        v = _judge(s)
        if v.outcome in ("denied", "pending"):
            out.append((s, v, ta_rules.counterfactual(
                s.facts, parameters=s.parameters or None, version=s.version, free=free)))
    return out


@pytest.fixture(scope="module")
def spec_answers() -> list[tuple[Any, Any, dict[str, Any]]]:
    if not SPEC_EXAMPLES.is_dir():
        pytest.skip("../shared/spec/examples is not here")
    return _answers(_claims(SPEC_EXAMPLES))


@pytest.fixture(scope="module")
def scenario_answers() -> list[tuple[Any, Any, dict[str, Any]]]:
    return _answers(_claims(ROOT / "examples" / "scenarios"))


def _cured(answers: list[tuple[Any, Any, dict[str, Any]]]) -> None:
    assert answers
    for s, v, a in answers:
        assert a["status"] == "found", (s.name, a.get("reason"))
        judged = ta_rules.evaluate(a["facts"], ruleset=v.ruleset.name,
                                   version=v.ruleset.version, parameters=s.parameters or None)
        assert judged.outcome == "covered", s.name
        assert a["changes"] and a["free"] and a["fixed"] == []


def test_every_denied_or_pending_spec_example_has_a_cure(spec_answers: Any) -> None:
    _cured(spec_answers)


def test_every_denied_or_pending_scenario_has_a_cure(scenario_answers: Any) -> None:
    _cured(scenario_answers)


def _text_paths(env: Any, value: Any, path: str, t: Any, out: dict[str, set[str]]) -> None:
    """Every free text or code leaf of a document: {generic path: values}."""
    if t.kind == "object" and t.model is not None and isinstance(value, dict):
        for f, ft in env.fields(t.model).items():
            _text_paths(env, value.get(f), f"{path}.{f}" if path else f, ft, out)
    elif t.kind == "list" and isinstance(value, list) and t.item is not None:
        for x in value:
            _text_paths(env, x, path + "[]", t.item, out)
    elif t.kind == "str" and not t.choices:
        out.setdefault(path, set())
        if isinstance(value, str):
            out[path].add(value)


def _meaningful(answers: list[tuple[Any, Any, dict[str, Any]]]) -> int:
    from ta_rules.verify.query import env_of

    seen = 0
    for s, v, a in answers:
        if a["status"] != "found":
            continue
        rs = default_registry().select(v.ruleset.name, v.ruleset.version)
        env = env_of(rs)
        # what the rules name: their file, and the parameter values the claim is judged with
        rules_text = Path(rs.source).read_text() + json.dumps(s.parameters or {}, default=str)
        before: dict[str, set[str]] = {}
        after: dict[str, set[str]] = {}
        root = ta_rules.parse_facts(s.facts, rs.vocabulary).model_dump(mode="json")
        top = type("Root", (), {"kind": "object", "model": env.models.root})
        _text_paths(env, root, "", top, before)
        _text_paths(env, a["facts"], "", top, after)
        everywhere = {x for values in before.values() for x in values}
        for path, values in after.items():
            for value in values - before.get(path, set()):
                seen += 1
                named = re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-])", rules_text)
                assert PLACEHOLDER.fullmatch(value) or named, (s.name, path, value)
                # a literal of another field is never borrowed
                assert value not in everywhere or PLACEHOLDER.fullmatch(value) or named, \
                    (s.name, path, value)
                assert not re.fullmatch(r"\d{4}-\d\d-\d\d", value), (s.name, path, value)
    return seen


def test_free_text_facts_take_values_that_mean_something(spec_answers: Any,
                                                         scenario_answers: Any) -> None:
    assert _meaningful(spec_answers + scenario_answers) > 0


def test_the_buyers_question_takes_meaningful_values_too() -> None:
    if not SPEC_EXAMPLES.is_dir():
        pytest.skip("../shared/spec/examples is not here")
    answers = _answers(_claims(SPEC_EXAMPLES), free=())
    assert any(a["status"] == "found" for _, _, a in answers)
    _meaningful(answers)


def test_a_category_freed_takes_a_category_not_a_date() -> None:
    """The report: a denied claim's answer changed contract.category to a date literal."""
    pytest.importorskip("z3")
    (s,) = [x for x in _claims(ROOT / "examples" / "scenarios")
            if x.name.startswith("MIN-01")] or [None]
    if s is None:
        pytest.skip("no MIN-01 scenario")
    facts = json.loads(json.dumps(s.facts, default=str))
    facts["contract"]["category"] = "services"  # excluded: a category must change too
    a = ta_rules.counterfactual(facts, free=["contract.category", "contract.order_amount"])
    assert a["status"] == "found", a
    to = {c["path"]: c["to"] for c in a["changes"]}
    assert "contract.category" in to, a["changes"]
    assert to["contract.category"] not in ("services", "classified_ads", "real_estate",
                                           "vehicles", "websites_businesses_for_sale")
    assert PLACEHOLDER.fullmatch(to["contract.category"]) or \
        to["contract.category"] in ("consumer_electronics", "business_equipment")


def test_cli_free_paths_and_errors(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    (s,) = [x for x in _claims(ROOT / "examples" / "scenarios") if x.name.startswith("MIN-01")]
    facts = tmp_path / "claim.json"
    facts.write_text(json.dumps(s.facts, default=str))
    out = io.StringIO()
    assert main(["eval", str(facts), "--why-not"], stdout=out) == 0
    assert "no change" in out.getvalue()  # the order amount is fixed by the policy
    out = io.StringIO()
    assert main(["eval", str(facts), "--why-not", "--free", "contract.order_amount"],
                stdout=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "freed (may change although fixed or past): contract.order_amount" in text
    assert "contract.order_amount" in text and "covered" in text
    err = io.StringIO()
    assert main(["eval", str(facts), "--why-not", "--free", "contract.colour"],
                stdout=io.StringIO(), stderr=err) == 2
    assert "--free contract.colour: no such fact" in err.getvalue()
    err = io.StringIO()
    assert main(["eval", str(facts), "--free", "all"], stdout=io.StringIO(),
                stderr=err) == 2
    assert "--free goes with --why-not" in err.getvalue()
