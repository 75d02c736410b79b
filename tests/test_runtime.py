"""The runtime's declared boundary: programs, the decision record and the verdict builder."""

from __future__ import annotations

import decimal
from typing import Any

import pytest

import ta_rules
from ta_rules import build
from ta_rules.evaluate import DECISION_CONTEXT
from ta_rules.rulesets.program import MODES, Decision
from ta_rules.rulesets.schema import AmountsSpec
from ta_rules.verdict import Verdict

from conftest import base_facts, rules_text

ENGINES = ["compiled", "reference", "durable"]


def _engine_or_skip(engine: str) -> None:
    if engine == "durable":
        pytest.importorskip("durable_rules_engine", reason="durable-rules is not installed")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("trace", [False, True])
def test_the_builder_fills_every_declared_field_in_order(engine: str, trace: bool) -> None:
    _engine_or_skip(engine)
    verdict = ta_rules.evaluate(base_facts(), engine=engine, trace=trace)
    # a field Verdict declares but nobody fills would be missing from every JSON output;
    # the parts computed on first access are the only ones not there yet
    given = [*vars(verdict), *build.ON_FIRST_ACCESS]
    assert sorted(given) == sorted(Verdict.model_fields)
    assert list(verdict.model_dump(mode="json")) == list(Verdict.model_fields)
    assert list(vars(verdict)) == list(Verdict.model_fields)  # completed, in order
    # what is written can be read back (replay) and written again to the same bytes
    again = Verdict.model_validate_json(verdict.model_dump_json())
    assert again.model_dump_json() == verdict.model_dump_json()


def test_a_field_the_builder_does_not_fill_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fields = build.verdict_fields

    def without_locale(*args: Any, **kwargs: Any) -> dict[str, Any]:
        data = fields(*args, **kwargs)
        del data["locale"]
        return data

    monkeypatch.setattr(build, "verdict_fields", without_locale)
    with pytest.raises(RuntimeError, match=r"not filled \['locale'\]"):
        ta_rules.evaluate(base_facts())


def test_every_amount_of_the_file_is_a_verdict_field() -> None:
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    params, _ = rs.bind_parameters()
    facts = ta_rules.parse_facts(base_facts())
    with decimal.localcontext(DECISION_CONTEXT):
        decision = rs.program("plain").decide(facts, params, None)
    assert isinstance(decision, Decision)
    assert list(decision.amounts) == list(AmountsSpec.model_fields)
    assert set(decision.amounts) <= set(Verdict.model_fields)
    assert decision.outcome == "covered" and decision.values is None


def test_programs_are_compiled_on_first_use() -> None:
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert rs.programs.compiled() == []
    ta_rules.evaluate(base_facts(), ruleset=rs)
    assert [p.mode for p in rs.programs.compiled()] == ["plain"]
    ta_rules.explain(base_facts(), ruleset=rs)
    assert [p.mode for p in rs.programs.compiled()] == ["plain", "traced"]
    assert rs.program("traced") is rs.program("traced")
    with pytest.raises(ValueError, match="no program mode 'fast'"):
        rs.program("fast")  # type: ignore[arg-type]


def test_every_mode_decides_the_same() -> None:
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    params, _ = rs.bind_parameters()
    facts = ta_rules.parse_facts(base_facts())

    class AllHold:
        def holds(self, tag: str, fact: Any) -> set[int]:
            lowered = rs.program("holds").lowered[tag]
            from ta_rules.rulesets._lower import evaluate_lowered

            return {i for i, (_, node) in enumerate(lowered) if evaluate_lowered(node, fact)}

    decisions = {}
    with decimal.localcontext(DECISION_CONTEXT):
        for mode in MODES:
            program = rs.program(mode)
            assert program.mode == mode
            args: list[Any] = [facts, params, [] if mode in ("traced", "holds") else None]
            if mode == "holds":
                args.append(AllHold())
            decisions[mode] = program.decide(*args)
    plain = decisions["plain"]
    for mode, d in decisions.items():
        assert (d.outcome, d.reasons, d.amounts) == (plain.outcome, plain.reasons,
                                                    plain.amounts), mode
    values = decisions["values"]
    assert values.values is not None and values.groups is not None
    assert set(values.values) == set(rs.spec.values)
    assert set(values.groups) == set(rs.spec.groups)


def test_a_failing_rule_is_named_in_a_program_compiled_later() -> None:
    # the traced program is compiled after the plain one, under its own name
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    ta_rules.evaluate(base_facts(), ruleset=rs)
    params, _ = rs.bind_parameters()
    with pytest.raises(AttributeError) as info:  # facts that are not facts: a bug
        rs.program("traced").decide(None, params, [])
    where = rs.failure(info.value)
    assert where is not None and where[0].split()[0] in ("rule", "value", "function")


def test_every_surface_writes_the_verdict_through_the_presenter(tmp_path: Any) -> None:
    import io
    import json

    from ta_rules import present
    from ta_rules.cli import main
    from ta_rules.testing.runner import run_paths

    from conftest import EXAMPLES

    facts = base_facts()
    verdict = ta_rules.evaluate(facts)
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(facts))
    out = io.StringIO()
    assert main(["eval", str(claim), "--format", "json"], stdout=out) == 0
    assert out.getvalue() == present.verdict_json(verdict)
    out = io.StringIO()
    assert main(["eval", str(claim)], stdout=out) == 0
    assert out.getvalue().startswith(present.verdict_text(verdict) + "\n")
    batch = tmp_path / "claims.jsonl"
    batch.write_text(json.dumps(facts) + "\n")
    out = io.StringIO()
    assert main(["eval", "--batch", str(batch)], stdout=out) == 0
    assert out.getvalue().splitlines()[0] == present.batch_record(1, verdict)
    report = run_paths([EXAMPLES / "scenarios" / "late_shipment.yaml"]).to_json()
    assert report["results"]
    for result in report["results"]:
        assert set(result["verdict"]) == set(Verdict.model_fields)


def _pending(v: Verdict) -> bool:
    return "facts_hash" not in vars(v)


def test_the_facts_hash_is_computed_on_first_access_and_every_form_has_it() -> None:
    import copy
    import pickle

    from pydantic import BaseModel

    from ta_rules.evaluate import facts_hash

    class Envelope(BaseModel):  # a caller's model holding a verdict
        verdict: Verdict

    expected = facts_hash(ta_rules.parse_facts(base_facts()))
    eager = ta_rules.evaluate(base_facts())
    assert eager.facts_hash == expected and not _pending(eager)
    json_bytes = eager.model_dump_json()
    forms = {
        "json": lambda v: v.model_dump_json() == json_bytes,
        "python": lambda v: v.model_dump()["facts_hash"] == expected,
        "nested": lambda v: Envelope(verdict=v).model_dump_json()
        == '{"verdict":' + json_bytes + "}",
        "equal": lambda v: v == eager,
        "repr": lambda v: expected in repr(v),
        "iter": lambda v: dict(v)["facts_hash"] == expected,
        "pickle": lambda v: pickle.loads(pickle.dumps(v)).model_dump_json() == json_bytes,
        "copy": lambda v: copy.copy(v).model_dump_json() == json_bytes,
    }
    for name, check in forms.items():
        verdict = ta_rules.evaluate(base_facts())
        assert _pending(verdict), name
        assert check(verdict), name
        if name != "copy":  # a copy is completed on its own; the original on its first use
            assert not _pending(verdict), name
        assert verdict.facts_hash == expected, name
        assert list(vars(verdict)) == list(Verdict.model_fields), name
    schema = Verdict.model_json_schema(mode="serialization")
    assert "facts_hash" in schema["properties"] and "facts_hash" in schema["required"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ta_rules.evaluate(base_facts()).nope  # noqa: B018


def test_a_reason_message_is_rendered_on_first_access_and_every_form_has_it() -> None:
    import copy
    import pickle

    from ta_rules.verdict import Reason

    text = rules_text()
    eager = ta_rules.evaluate(base_facts(), locale="es")
    (expected,) = eager.reasons
    json_bytes = eager.model_dump_json()
    forms = {
        "attribute": lambda v: v.reasons[0].message == expected.message,
        "json": lambda v: v.model_dump_json() == json_bytes,
        "reason json": lambda v: v.reasons[0].model_dump_json() == expected.model_dump_json(),
        "equal": lambda v: v.reasons[0] == expected,
        "repr": lambda v: expected.message in repr(v.reasons[0]),
        "pickle": lambda v: pickle.loads(pickle.dumps(v.reasons[0])) == expected,
        "copy": lambda v: copy.copy(v.reasons[0]).message == expected.message,
    }
    for name, check in forms.items():
        rs = ta_rules.loads_ruleset(text, "rules/trade-assurance-2015.1.yaml")  # cold cache
        verdict = ta_rules.evaluate(base_facts(), ruleset=rs, locale="es")
        assert "message" not in vars(verdict.reasons[0]), name
        assert check(verdict), name
        assert verdict.reasons[0].message == expected.message, name
        assert list(vars(verdict.reasons[0])) == list(Reason.model_fields), name
    schema = Reason.model_json_schema(mode="serialization")
    assert "message" in schema["required"]
