"""The compiler's stages: parse once, an intermediate form, traceable generated code."""

from __future__ import annotations

import io
import warnings
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main
from ta_rules.rulesets import _expr, _runtime, ir, parse
from ta_rules.rulesets._suggest import Suggester

from conftest import base_facts, rules_text

MINI = """\
ruleset: mini
version: "1.0"
effective:
  from: 2000-01-01
parameters:
  methods:
    type: list[string]
    default: [a-b]
reasons:
  DENY:
    kind: denial
    message: "Denied."
  LATE:
    kind: basis
    message: "Shipped late."
  DASH:
    kind: denial
    message: "Table a-b."
  UNDERSCORE:
    kind: denial
    message: "Table a_b."
groups:
  gates:
    mode: all
    rules:
      - id: gate.always
        reasons: [DENY]
  gates__denial:
    mode: all
    rules:
      - id: other.never
        when: contract.category == "nothing"
        reasons: [DENY]
  tables:
    mode: all
    for_each: m in methods
    tables:
      a-b:
        - id: dash.table
          reasons: [DASH]
      a_b:
        - id: underscore.table
          reasons: [UNDERSCORE]
  grounds:
    mode: all
    rules:
      - id: late.covered
        reasons: [LATE]
outcome:
  - id: outcome.denied
    when: not empty(gates.denial) or not empty(gates__denial) or not empty(tables)
    outcome: denied
    reasons: [gates.denial, tables]
  - id: outcome.covered
    outcome: covered
    reasons: [grounds]
amounts:
  max_refund: money(0, contract.order_amount.currency)
  coverage_cap: if outcome == "covered" then money(0, contract.order_amount.currency)
"""


def test_every_expression_is_parsed_once_per_load(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = _expr.parse

    def counting(text: str) -> Any:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(_expr, "parse", counting)
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    expected = list(parse._expressions(rs.spec, frozenset()))
    assert len(calls) == len(expected) > 100
    assert sorted(calls) == sorted(text for _, text, _ in expected)


def test_the_intermediate_form_is_typed_and_located() -> None:
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    text = rules_text().splitlines()
    seen = 0
    for rule in rs.ir.all_rules():
        assert text[rule.location.line - 1].strip().endswith(f"id: {rule.id}")
        if rule.when is None:
            continue
        for node in ir.walk(rule.when):
            seen += 1
            assert node.t.kind != "any"
            path, _ = node.at
            assert path == (*rule.path, "when")
    assert seen > 300
    minimum = rs.ir.rules["gate.below-minimum"].when
    assert isinstance(minimum, ir.Compare) and minimum.op == "<"
    assert minimum.right.t.dim == "USD"


def test_a_failing_helper_names_the_rule_and_its_yaml_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(a: Any, b: Any) -> bool:
        raise ZeroDivisionError("helper failed")

    monkeypatch.setitem(_runtime.HELPERS, "_le", broken)
    text = rules_text()
    rs = ta_rules.loads_ruleset(text, "rules/trade-assurance-2015.1.yaml")
    facts = base_facts()
    with pytest.raises(ta_rules.EvaluationError) as info:
        ta_rules.evaluate(facts, ruleset=rs)
    err = info.value
    assert err.rule is not None and err.rule in rs.rules
    rule = rs.rules[err.rule]
    assert err.location == rule.location
    assert f"rules/trade-assurance-2015.1.yaml:{rule.location.line}" in str(err)
    assert "ZeroDivisionError: helper failed" in str(err)
    assert text.splitlines()[rule.location.line - 1].strip() == f"- id: {err.rule}"


def test_checking_a_file_generates_no_code_until_it_judges_a_claim() -> None:
    """``check`` (and an editor checking as one types) needs the diagnostics, not the program."""
    import linecache

    def generated(name: str) -> list[str]:
        return [k for k in linecache.cache if isinstance(k, str)
                and k.startswith(f"<ruleset {name} ")]

    text = rules_text().replace("ruleset: trade-assurance", "ruleset: lazy-check", 1)
    rs = ta_rules.loads_ruleset(text, "rules.yaml")
    assert generated("lazy-check") == []
    assert ta_rules.evaluate(base_facts(), ruleset=rs).outcome == "covered"
    assert len(generated("lazy-check")) == 1


def test_generated_code_is_registered_for_tracebacks() -> None:
    import linecache

    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    first = linecache.getline(rs.program("plain").filename, 1)
    assert first.startswith("def _decide(F, P, T):")
    assert linecache.getline(rs.program("traced").filename, 1).startswith(
        "def _decide_traced(F, P, T):")


def test_show_python_prints_the_generated_code() -> None:
    out = io.StringIO()
    assert main(["show", "2015.1", "--python"], stdout=out) == 0
    text = out.getvalue()
    assert "def _decide(F, P, T):" in text and "def _decide_traced(F, P, T):" in text
    assert "# rule gate.below-minimum" in text
    assert "trade-assurance-2015.1.yaml:" in text


def test_generated_names_never_collide() -> None:
    rs = ta_rules.loads_ruleset(MINI, "mini.yaml")
    facts = base_facts()
    verdict = ta_rules.evaluate(facts, ruleset=rs, parameters={"methods": []})
    # the always-denying gate denies, whatever a group called gates__denial gives
    assert verdict.outcome == "denied"
    assert verdict.codes == {"DENY"}
    dash = ta_rules.evaluate(facts, ruleset=rs, parameters={"methods": ["a-b"]})
    assert dash.codes == {"DENY", "DASH"}
    underscore = ta_rules.evaluate(facts, ruleset=rs, parameters={"methods": ["a_b"]})
    assert underscore.codes == {"DENY", "UNDERSCORE"}


def test_long_chains_of_and_compile_and_deep_nesting_is_a_located_error() -> None:
    text = rules_text()
    when = "when: contract.category in excluded_categories"
    chain = " and ".join(["contract.category in excluded_categories"] * 201)
    rs = ta_rules.loads_ruleset(text.replace(when, "when: " + chain), "rules.yaml")
    facts = base_facts()
    facts["contract"]["category"] = "vehicles"
    assert "EXCLUDED_CATEGORY" in ta_rules.evaluate(facts, ruleset=rs).codes
    terms = " + ".join(["contract.order_amount"] * 199)
    broken = text.replace(when, f"when: {terms} > contract.order_amount")
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(broken, "rules.yaml")
    (d,) = [d for d in info.value.diagnostics if d.code == "compile.too-deep"]
    line = broken[: broken.index(terms)].count("\n") + 1
    assert d.location.line == line and d.location.source == "rules.yaml"


def test_a_literal_compared_with_null_is_folded_without_a_warning() -> None:
    text = rules_text().replace("when: contract.category in excluded_categories",
                                'when: contract.category in excluded_categories and '
                                '"a" is not null')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs = ta_rules.loads_ruleset(text, "rules.yaml")
    facts = base_facts()
    facts["contract"]["category"] = "vehicles"
    assert "EXCLUDED_CATEGORY" in ta_rules.evaluate(facts, ruleset=rs).codes


def test_did_you_mean_is_bounded() -> None:
    suggest = Suggester(budget=10)
    names = [f"name_{i}" for i in range(6)]
    assert suggest("name_1x", names) == "did you mean 'name_1'?"
    assert suggest("name_2x", names) is None  # the budget is spent
    assert suggest("name_1x", names) == "did you mean 'name_1'?"  # remembered


def test_many_misspelled_names_are_all_reported() -> None:
    text = rules_text()
    values = "".join(f"  v{i}: misspelt_{i} + 1\n" for i in range(300))
    broken = text.replace("values:\n", "values:\n" + values, 1)
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(broken, "rules.yaml")
    unknown = [d for d in info.value.diagnostics if d.code == "compile.unknown-name"]
    assert len(unknown) == 300


def test_rulesets_import_nothing_above_them() -> None:
    import ast
    from pathlib import Path

    above = ("ta_rules.evaluate", "ta_rules.engines", "ta_rules.testing", "ta_rules.tools",
             "ta_rules.cli", "ta_rules.audit", "ta_rules.batch", "ta_rules.serve",
             "ta_rules.verify", "ta_rules.impact")
    folder = Path(ta_rules.__file__).parent / "rulesets"
    offending = []
    for source in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offending += [f"{source.name}: {n}" for n in names if n.startswith(above)]
    assert not offending


def test_every_ground_that_gave_a_code_is_named() -> None:
    facts = base_facts()
    facts["claim"]["grounds"] = ["non_arrival", "transit_damage"]
    verdict = ta_rules.evaluate(facts, parameters={"recharacterize_grounds": True})
    assert verdict.outcome == "covered"
    late = [(r.code, r.subject) for r in verdict.reasons if r.code == "LATE_SHIPMENT"]
    assert sorted(late) == [("LATE_SHIPMENT", "non_arrival"),
                            ("LATE_SHIPMENT", "transit_damage")]
    assert verdict.codes == {"LATE_SHIPMENT"}
