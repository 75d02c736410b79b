"""Verification with z3: proofs of the bundled properties, counterexamples the engine confirms,
the symbolic diff of the two versions, counterfactuals for the spec's denied and pending claims."""

from __future__ import annotations

import io
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main
from ta_rules.rulesets.registry import Registry
from ta_rules.testing.scenarios import find_scenario_files, load_scenarios

ROOT = Path(__file__).resolve().parent.parent
SPEC_EXAMPLES = ROOT / ".." / "shared" / "spec" / "examples"


def _z3() -> Any:
    return pytest.importorskip("z3")


def _copy_rules(tmp_path: Path, version: str) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "ta_rules" / "rules", folder)
    for f in folder.glob("*.yaml"):
        if version not in f.name:
            f.unlink()
    return folder


def _edit(folder: Path, version: str, old: str, new: str) -> None:
    path = folder / f"trade-assurance-{version}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bundled_properties_are_proven() -> None:
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    results = prove_rulesets(ta_rules.default_registry().rulesets)
    assert len(results) == 10
    assert {(r.ruleset, r.status) for r in results} == {("2015.1", "proven"),
                                                        ("2017.12", "proven")}, \
        [(r.ruleset, r.property, r.status, r.detail) for r in results]
    assert all(r.bound == 3 and "USD" in r.currencies for r in results)


def test_cli_prove_text_and_json() -> None:
    _z3()
    out = io.StringIO()
    assert main(["prove", "--property", "gate-denial-never-covered"], stdout=out) == 0
    assert "2 proven" in out.getvalue() and "K=3" in out.getvalue()
    out = io.StringIO()
    assert main(["prove", "--property", "refund-within-order-amount", "--format", "json"],
                stdout=out) == 0
    assert '"status": "proven"' in out.getvalue()


def test_a_cap_that_can_exceed_the_order_amount_gets_a_confirmed_counterexample(
        tmp_path: Path) -> None:
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    folder = _copy_rules(tmp_path, "2017.12")
    _edit(folder, "2017.12", "then min(contract.order_amount, qualifying_paid, available)",
          "then min(contract.order_amount * 2, qualifying_paid, available)")
    (result,) = prove_rulesets(Registry.from_folder(folder).rulesets,
                               only="refund-within-order-amount")
    assert result.status == "violated", result
    facts = ta_rules.parse_facts(result.counterexample)  # a complete, valid document
    verdict = ta_rules.evaluate(facts, ruleset=Registry.from_folder(folder).select(
        None, "2017.12"))
    assert verdict.outcome == "covered"
    assert verdict.max_refund.amount > facts.contract.order_amount.amount
    # the bundled rules judge the same facts within the order amount
    fine = ta_rules.evaluate(facts, version="2017.12")
    assert fine.max_refund.amount <= facts.contract.order_amount.amount
    out = io.StringIO()
    assert main(["prove", str(folder), "--property", "refund-within-order-amount"],
                stdout=out) == 1
    assert "VIOLATED" in out.getvalue() and "counterexample" in out.getvalue()


def test_a_gate_denial_that_no_longer_reaches_the_outcome_is_found(tmp_path: Path) -> None:
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    folder = _copy_rules(tmp_path, "2015.1")
    _edit(folder, "2015.1", "when: not empty(gates.denial)\n",
          "when: count(gates.denial) >= 2\n")
    results = prove_rulesets(Registry.from_folder(folder).rulesets,
                             only="gate-denial-never-covered")
    (result,) = results
    assert result.status == "violated", result
    rs = Registry.from_folder(folder).select(None, "2015.1")
    verdict = ta_rules.explain(result.counterexample, ruleset=rs)
    assert verdict.outcome != "denied"
    trace = verdict.trace or ()
    denials = {c for c, r in rs.reasons.items() if r.kind == "denial"}
    gates = [t for t in trace if t.group == "gates" and t.applied]
    assert gates and all(rs.rules[t.rule].codes for t in gates)
    assert any(set(rs.rules[t.rule].codes) & denials for t in gates)


def test_what_cannot_be_encoded_is_reported_with_the_rule_and_line(tmp_path: Path) -> None:
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    folder = _copy_rules(tmp_path, "2017.12")
    _edit(folder, "2017.12", "when: contract.category in excluded_categories\n",
          "when: contract.category in excluded_categories or contract.category > \"m\"\n")
    results = prove_rulesets(Registry.from_folder(folder).rulesets,
                             only="gate-denial-never-covered")
    (result,) = results
    assert result.status == "unsupported"
    assert "gate.excluded-category" in result.detail
    assert "trade-assurance-2017.12.yaml:" in result.detail
    assert "ordering of str" in result.detail


def _fixture_transitions() -> set[tuple[str, str]]:
    old, new = ta_rules.default_registry().versions("trade-assurance")
    found = set()
    for path, problem in find_scenario_files([str(ROOT / "examples" / "scenarios")]):
        assert problem is None
        scenarios, _ = load_scenarios(path)
        for s in scenarios:
            for with_params in (False, True):
                outcomes = []
                for rs in (old, new):
                    params = {k: v for k, v in s.parameters.items() if k in rs.parameters}
                    v = ta_rules.evaluate(s.facts, ruleset=rs,
                                          parameters=(params if with_params else None) or None)
                    outcomes.append(v.outcome)
                if outcomes[0] != outcomes[1]:
                    found.add((outcomes[0], outcomes[1]))
    return found


def test_symbolic_diff_finds_every_transition_the_fixtures_show() -> None:
    _z3()
    from ta_rules.verify.symdiff import symbolic_diff

    old, new = ta_rules.default_registry().versions("trade-assurance")
    result = symbolic_diff(old, new)
    by_change = {c["change"]: c for c in result["changes"]}
    assert len(by_change) == 14
    shown = _fixture_transitions()
    assert shown  # the fixtures do show changes between the versions
    for a, b in shown:
        c = by_change[f"{a} -> {b}"]
        assert c["status"] == "witness", c
    for c in result["changes"]:
        assert c["status"] in ("witness", "impossible"), c
        if c["status"] == "witness":
            facts = c["facts"]
            va = ta_rules.evaluate(facts, ruleset=old)
            vb = ta_rules.evaluate(facts, ruleset=new)
            if "->" in c["change"]:
                assert f"{va.outcome} -> {vb.outcome}" == c["change"]
            elif c["change"] == "refund up":
                assert vb.max_refund.amount > va.max_refund.amount
            else:
                assert vb.max_refund.amount < va.max_refund.amount


def test_cli_symbolic_diff() -> None:
    _z3()
    out = io.StringIO()
    code = main(["diff", "2015.1", "2017.12", "--symbolic"], stdout=out)
    text = out.getvalue()
    assert code == 0, text  # any unknown or error status is shown
    assert "denied -> covered" in text and "witness" in text and "K=3" in text


def _spec_claims() -> list[Any]:
    if not SPEC_EXAMPLES.is_dir():
        pytest.skip("../shared/spec/examples is not here")
    out = []
    for path in sorted(SPEC_EXAMPLES.glob("*.yaml")):
        scenarios, _ = load_scenarios(path)
        out.extend(scenarios)
    return out


def test_why_not_on_every_denied_or_pending_spec_example() -> None:
    _z3()
    from ta_rules.verify.whynot import diff_documents

    checked = 0
    for s in _spec_claims():
        params = s.parameters or None
        v = ta_rules.evaluate(s.facts, parameters=params)
        if v.outcome not in ("denied", "pending"):
            continue
        checked += 1
        answer = ta_rules.counterfactual(s.facts, parameters=params)
        assert answer["status"] in ("found", "none"), (s.name, answer)
        if answer["status"] == "none":
            assert answer["changes"] is None and "no change" in answer["reason"]
            continue
        changed = answer["facts"]
        judged = ta_rules.evaluate(changed, ruleset=v.ruleset.name, version=v.ruleset.version,
                                   parameters=params)
        assert judged.outcome == "covered", s.name
        original = ta_rules.parse_facts(s.facts).model_dump(mode="json")
        assert diff_documents(original, changed) == answer["changes"]
        assert answer["changes"]
        for change in answer["changes"]:
            assert not any(change["path"] == f or change["path"].startswith(f + ".")
                           for f in answer["fixed"]), (s.name, change)
    assert checked >= 5


def test_why_not_respects_what_the_caller_fixes() -> None:
    _z3()
    claims = {s.name: s for s in _spec_claims()}
    s = next(c for n, c in claims.items() if n.startswith("TA-049"))
    free = ta_rules.counterfactual(s.facts)
    assert [c["path"] for c in free["changes"]] == ["claim.buyer_accepted_delay"]
    stuck = ta_rules.counterfactual(s.facts, fixed=["claim", "contract", "supplier",
                                                    "shipment", "payments", "inspection",
                                                    "post_shipment_inspection"])
    assert stuck["changes"] is None


def test_cli_why_not_text() -> None:
    _z3()
    if not SPEC_EXAMPLES.is_dir():
        pytest.skip("../shared/spec/examples is not here")
    out = io.StringIO()
    assert main(["eval", str(SPEC_EXAMPLES / "ta-049.yaml"), "--why-not"], stdout=out) == 0
    assert "claim.buyer_accepted_delay: true -> false" in out.getvalue()
    assert "the engine judges the changed facts covered" in out.getvalue()


def test_rounding_is_exact_in_every_mode() -> None:
    z3 = _z3()
    from ta_rules.money import round_to
    from ta_rules.verify.encode import round_real

    for mode in ("half_up", "half_even", "half_down", "down", "up", "floor", "ceiling"):
        for text in ("2.345", "-2.345", "2.355", "-2.355", "2.3449", "0.005", "-0.005", "7"):
            got = z3.simplify(round_real(z3.RealVal(text), 2, mode))
            assert Decimal(got.as_fraction().numerator) / Decimal(
                got.as_fraction().denominator) == round_to(Decimal(text), 2, mode), (mode, text)


def test_without_z3_each_command_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "z3", None)  # import z3 now fails
    for argv in (["prove"], ["diff", "2015.1", "2017.12", "--symbolic"],
                 ["eval", str(ROOT / "examples" / "claims" / "late-shipment.json"),
                  "--why-not"]):
        err = io.StringIO()
        assert main(argv, stdout=io.StringIO(), stderr=err) == 2
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and "pip install 'ta-rules[verify]'" in lines[0], lines


def test_a_property_can_name_a_code_the_rules_never_mention(tmp_path: Path) -> None:
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    folder = _copy_rules(tmp_path, "2017.12")
    (folder / "properties" / "trade-assurance.yaml").write_text(
        "properties:\n"
        "  - id: toys-never-covered\n"
        "    when: contract.category == \"toys\"\n"
        "    expect: outcome != \"covered\"\n", encoding="utf-8")
    (result,) = prove_rulesets(Registry.from_folder(folder).rulesets)
    assert result.status == "violated", result
    assert result.counterexample is not None
    assert result.counterexample["contract"]["category"] == "toys"
    assert ta_rules.evaluate(result.counterexample, version="2017.12").outcome == "covered"


def test_a_bad_properties_file_is_an_error_not_a_proof(tmp_path: Path) -> None:
    _z3()
    folder = _copy_rules(tmp_path, "2017.12")
    (folder / "properties" / "trade-assurance.yaml").write_text(
        "properties:\n  - id: x\n    expect: max_refund <=\n", encoding="utf-8")
    out = io.StringIO()
    assert main(["prove", str(folder)], stdout=out, stderr=io.StringIO()) == 2
    assert "ERROR" in out.getvalue()
    (folder / "properties" / "trade-assurance.yaml").write_text(
        "properties:\n  - id: x\n    expect: no_such_name > 0\n", encoding="utf-8")
    out = io.StringIO()
    assert main(["prove", str(folder)], stdout=out) == 2
    assert "no_such_name" in out.getvalue()


def test_the_encoding_judges_every_fixture_as_the_engine_does() -> None:
    """Each scenario's facts pinned in the symbolic document: the solver's verdict is the
    engine's (outcome, codes, refund), and the decoded document is judged the same way."""
    z3 = _z3()
    from ta_rules.evaluate import select_ruleset
    from ta_rules.verify.query import Query
    from ta_rules.verify.space import flatten

    registry = ta_rules.default_registry()
    paths = [str(ROOT / "examples" / "scenarios")]
    paths += [str(SPEC_EXAMPLES)] if SPEC_EXAMPLES.is_dir() else []
    queries: dict[Any, Any] = {}
    checked = 0
    for path, _ in find_scenario_files(paths):
        scenarios, _ = load_scenarios(path)
        for s in scenarios:
            try:
                facts = ta_rules.parse_facts(s.facts)
                rs = select_ruleset(facts, ruleset=s.ruleset, version=s.version,
                                    registry=registry)
                expected = ta_rules.evaluate(facts, ruleset=rs, parameters=s.parameters or None)
            except ta_rules.TaRulesError:
                continue  # scenarios of bad input
            params, shown = rs.bind_parameters(s.parameters or None)
            k = max(3, len(facts.payments), len(facts.claim.grounds),
                    len(facts.contract.quality_requirements))
            currency = facts.contract.order_amount.currency
            key = (rs.version, repr(sorted(shown.items())), currency, k)
            if key not in queries:
                q = Query.build([rs], [params], currency=currency, bound=k)
                queries[key] = (q, q.solver(60))
            q, solver = queries[key]
            solver.push()
            solver.add(*q.space.pin(flatten(facts.model_dump(mode="json"), q.space.env)))
            assert solver.check() == z3.sat, s.name
            m = solver.model()
            solver.pop()
            v = q.verdicts[0]
            got_outcome = q.space.strings.text(m.eval(v.outcome.val).as_long())
            refund = m.eval(v.max_refund.val)
            got_refund = Decimal(refund.numerator_as_long()) / refund.denominator_as_long()
            got_codes = {c for c in v.codes() if z3.is_true(m.eval(v.has_code(c)))}
            assert (got_outcome, got_refund, got_codes) == (
                expected.outcome, expected.max_refund.amount, set(expected.codes)), s.name
            decoded = ta_rules.evaluate(q.space.decode(m), ruleset=rs,
                                        parameters=s.parameters or None)
            assert (decoded.outcome, decoded.codes) == (expected.outcome, expected.codes), s.name
            checked += 1
    assert checked >= 300


def test_bounds_out_of_range_and_huge_lists_are_clear_errors() -> None:
    _z3()
    for argv in (["prove", "--bound", "0"], ["diff", "2015.1", "2017.12", "--symbolic",
                                              "--bound", "500"]):
        err = io.StringIO()
        assert main(argv, stdout=io.StringIO(), stderr=err) == 2
        assert "--bound must be from 1 to 20" in err.getvalue()
    claim = ta_rules.parse_facts(__import__("json").loads(
        (ROOT / "examples" / "claims" / "late-shipment.json").read_text())).model_dump(
        mode="json")
    claim["contract"]["quality_requirements"] = ["x"] * 900
    with pytest.raises(ta_rules.TaRulesError, match="900 items"):
        ta_rules.counterfactual(claim)


def test_covered_pays_something_needs_the_default_currency_handling() -> None:
    """With conversion, a limit of cents rounded down in a dearer currency caps at 0."""
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    rs = ta_rules.default_registry().select(None, "2015.1")
    (result,) = prove_rulesets([rs], only="covered-pays-something",
                               params={"currency_handling": "convert"})
    assert result.status == "violated", result
    verdict = ta_rules.evaluate(result.counterexample, ruleset=rs,
                                parameters={"currency_handling": "convert"})
    assert verdict.outcome == "covered" and verdict.max_refund.amount == 0
    assert result.counterexample["contract"]["order_amount"]["currency"] != "USD"


def test_two_codes_no_rule_mentions_can_differ() -> None:
    """Free codes (a category, a damage stage) unmentioned by the rules are not all one value."""
    z3 = _z3()
    from ta_rules.verify.query import Query

    rs = ta_rules.default_registry().select(None, "2017.12")
    params, _ = rs.bind_parameters(None)
    q = Query.build([rs], [params], currency="USD", bound=3)
    category = q.space.roots["contract"].fields["category"]  # type: ignore[index]
    stage = q.space.roots["shipment"].fields["damage_stage"]  # type: ignore[index]
    s = q.solver(30)
    s.add(stage.present, category.val < 0, stage.val < 0, category.val != stage.val)
    assert s.check() == z3.sat
    doc = q.space.decode(s.model())
    ta_rules.parse_facts(doc)
    mentioned = set(q.space.strings.items)
    assert doc["contract"]["category"] != doc["shipment"]["damage_stage"]
    assert not {doc["contract"]["category"], doc["shipment"]["damage_stage"]} & mentioned


def test_a_ruleset_of_an_extended_vocabulary_is_encoded_the_same_way(tmp_path: Path) -> None:
    """Nothing is written per ruleset: the counterfeit extension (its own vocabulary, ground
    and fact) is proven and refuted like the bundled rules."""
    _z3()
    from ta_rules.verify.prove import prove_rulesets

    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "examples" / "extending" / "rules", folder)
    (folder / "properties").mkdir()
    (folder / "properties" / "counterfeit-cover.yaml").write_text(
        "properties:\n"
        "  - id: within-order\n    expect: max_refund <= contract.order_amount\n"
        "  - id: gates\n    when: not empty(gates.denial)\n    expect: outcome == \"denied\"\n"
        "  - id: no-name\n    expect: qualifying_amount > 0\n", encoding="utf-8")
    results = {r.property: r for r in prove_rulesets(Registry.from_folder(folder).rulesets)}
    assert results["within-order"].status == "proven", results["within-order"]
    assert results["gates"].status == "proven", results["gates"]
    assert results["no-name"].status == "error"
    assert "unknown name 'qualifying_amount'" in results["no-name"].detail
