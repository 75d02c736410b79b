"""Null in ``and``, ``or`` and ``not``: three-valued logic, as SQL and FEEL.

``null and false`` is false, ``null and true`` is null, ``null or true`` is true, ``not
null`` is null, and a condition that is null does not apply. The compiled engine, the
durable engine (lowered conditions), the reference engine and the z3 encoder must agree on
every combination; docs/policy-writing.md shows the truth table.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ta_rules
from ta_rules.rulesets.registry import Registry

from conftest import ROOT, base_facts

# the conditions under test, each giving its own reason when it applies
CONDITIONS = [
    "a and b", "a or b", "not a", "not (a and b)", "not (a or b)", "a and not b or c",
    "not not a", "not (a and b and c)", "(a or b) and not c", "not (if a then b else c)",
    "a and b or not c", "not (not a or b)",
]

Value = bool | None


def kleene_not(x: Value) -> Value:
    return None if x is None else not x


def kleene_and(*xs: Value) -> Value:
    if any(x is False for x in xs):
        return False
    return None if any(x is None for x in xs) else True


def kleene_or(*xs: Value) -> Value:
    if any(x is True for x in xs):
        return True
    return None if any(x is None for x in xs) else False


def expected(cond: str, a: Value, b: Value, c: Value) -> bool:
    """Whether the rule applies: the condition is true (null and false do not apply)."""
    n, an, o = kleene_not, kleene_and, kleene_or
    value = {
        "a and b": an(a, b), "a or b": o(a, b), "not a": n(a),
        "not (a and b)": n(an(a, b)), "not (a or b)": n(o(a, b)),
        "a and not b or c": o(an(a, n(b)), c), "not not a": n(n(a)),
        "not (a and b and c)": n(an(a, b, c)), "(a or b) and not c": an(o(a, b), n(c)),
        # an `if` whose test is null takes the else branch
        "not (if a then b else c)": n(b if a else c),
        "a and b or not c": o(an(a, b), n(c)), "not (not a or b)": n(o(n(a), b)),
    }[cond]
    return value is True


def ruleset_text() -> str:
    reasons = "\n".join(f"  R{i}: {{kind: basis, message: \"{c}\"}}"
                        for i, c in enumerate(CONDITIONS))
    rules = "\n".join(f"      - id: r{i}\n        when: \"{c}\"\n        reasons: [R{i}]"
                      for i, c in enumerate(CONDITIONS))
    return f"""ruleset: logic
version: "1.0"
effective:
  from: 2000-01-01
parameters:
  a: {{type: boolean?, default: null}}
  b: {{type: boolean?, default: null}}
  c: {{type: boolean?, default: null}}
reasons:
{reasons}
  OK: {{kind: basis, message: "ok"}}
groups:
  checks:
    mode: all
    rules:
{rules}
outcome:
  - id: outcome.covered
    outcome: covered
    reasons: [checks.basis, OK]
amounts:
  max_refund: contract.order_amount
  coverage_cap: contract.order_amount
"""


@pytest.fixture(scope="module")
def logic(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder: Path = tmp_path_factory.mktemp("logic")
    (folder / "logic-1.0.yaml").write_text(ruleset_text(), encoding="utf-8")
    rs = Registry.from_folder(folder).select(None, "1.0")
    return rs


ENGINES = ["compiled", "reference", "durable"]


def applied(rs: Any, engine: str, a: Value, b: Value, c: Value) -> set[str]:
    if engine == "durable":
        pytest.importorskip("durable_rules_engine")
    v = ta_rules.evaluate(base_facts(), ruleset=rs, engine=engine,
                          parameters={"a": a, "b": b, "c": c})
    return {r.code for r in v.reasons if r.code != "OK"}


def want(a: Value, b: Value, c: Value) -> set[str]:
    return {f"R{i}" for i, cond in enumerate(CONDITIONS) if expected(cond, a, b, c)}


def test_the_truth_table_of_the_docs() -> None:
    assert kleene_and(None, False) is False and kleene_and(False, None) is False
    assert kleene_and(None, True) is None and kleene_or(None, True) is True
    assert kleene_or(None, False) is None and kleene_not(None) is None
    text = (ROOT / "docs" / "policy-writing.md").read_text(encoding="utf-8")
    begin, end = "<!-- null logic: begin -->\n", "<!-- null logic: end -->"
    rows = text[text.index(begin) + len(begin):text.index(end)].splitlines()[2:]
    word = {"true": True, "false": False, "null": None}
    shown = {tuple(word[c.strip()] for c in row.strip("|").split("|")) for row in rows}
    values = [True, False, None]
    assert shown == {(a, b, kleene_and(a, b), kleene_or(a, b), kleene_not(a))
                     for a in values for b in values}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_combination_on_each_engine(logic: Any, engine: str) -> None:
    for a, b, c in itertools.product([True, False, None], repeat=3):
        assert applied(logic, engine, a, b, c) == want(a, b, c), (engine, a, b, c)


def encoded(rs: Any, a: Value, b: Value, c: Value) -> set[str]:
    """Which rules the z3 encoding says apply, for these parameter values."""
    z3 = pytest.importorskip("z3")
    from ta_rules.verify.query import Query

    params, _ = rs.bind_parameters({"a": a, "b": b, "c": c})
    q = Query.build([rs], [params], currency="USD", bound=1)
    out = set()
    for i in range(len(CONDITIONS)):
        holds = q.encoders[0].rule_cond(rs.ir.rules[f"r{i}"])
        s = q.solver(30)
        s.add(z3.Not(holds))
        assert s.check() in (z3.sat, z3.unsat)
        if s.check() == z3.unsat:
            out.add(f"R{i}")
    return out


@settings(max_examples=27, deadline=None)
@given(st.tuples(*[st.sampled_from([True, False, None])] * 3))
def test_engines_and_the_encoder_agree(logic: Any, abc: tuple[Value, Value, Value]) -> None:
    a, b, c = abc
    results = [applied(logic, e, a, b, c) for e in ENGINES]
    assert all(r == want(a, b, c) for r in results), (abc, results)
    assert encoded(logic, a, b, c) == want(a, b, c), abc
