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
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ta_rules
from ta_rules import RulesetError
from ta_rules.rulesets.registry import Registry

from conftest import ROOT, base_facts

# the conditions under test, each giving its own reason when it applies
CONDITIONS = [
    "a and b", "a or b", "not a", "not (a and b)", "not (a or b)", "a and not b or c",
    "not not a", "not (a and b and c)", "(a or b) and not c", "not (if a then b else c)",
    "a and b or not c", "not (not a or b)", "not all([a, b])", "any([a, not b])",
    "a and null", "null or not a",
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
        # any() and all() count a null item as not true: they are never null
        "not all([a, b])": n(a is True and b is True), "any([a, not b])": a is True or n(b) is True,
        "a and null": an(a, None), "null or not a": o(None, n(a)),
    }[cond]
    return value is True


def ruleset_text(conditions: list[str] = CONDITIONS) -> str:
    reasons = "\n".join(f"  R{i}: {{kind: basis, message: \"condition {i}\"}}"
                        for i in range(len(conditions)))
    rules = "\n".join(f"      - id: r{i}\n        when: \"{c}\"\n        reasons: [R{i}]"
                      for i, c in enumerate(conditions))
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


def encoded(rs: Any, a: Value, b: Value, c: Value, n: int = len(CONDITIONS)) -> set[str]:
    """Which rules the z3 encoding says apply, for these parameter values."""
    z3 = pytest.importorskip("z3")
    from ta_rules.verify.query import Query

    params, _ = rs.bind_parameters({"a": a, "b": b, "c": c})
    q = Query.build([rs], [params], currency="USD", bound=1)
    out = set()
    for i in range(n):
        holds = q.encoders[0].rule_cond(rs.ir.rules[f"r{i}"])
        s = q.solver(30)
        s.add(z3.Not(holds))
        assert s.check() in (z3.sat, z3.unsat)
        if s.check() == z3.unsat:
            out.add(f"R{i}")
    return out


def random_conditions() -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["a", "b", "c", "true", "false", "null"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            inner.map(lambda x: f"not ({x})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]}) and ({p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]}) or ({p[1]})"),
            st.tuples(inner, inner, inner).map(
                lambda p: f"if {p[0]} then {p[1]} else {p[2]}"))

    return st.recursive(leaves, extend, max_leaves=6)


def meaning(cond: str, env: dict[str, Value]) -> Value:
    """The three-valued value of a generated condition, from the table in the docs."""
    from ta_rules.rulesets import _expr as ex

    def value(n: ex.Expr) -> Value:
        if isinstance(n, ex.Lit):
            return n.value  # type: ignore[no-any-return]
        if isinstance(n, ex.Name):
            return env[n.name]
        if isinstance(n, ex.Unary):
            return kleene_not(value(n.operand))
        if isinstance(n, ex.Bin):
            both = (value(n.left), value(n.right))
            return kleene_and(*both) if n.op == "and" else kleene_or(*both)
        assert isinstance(n, ex.Cond) and n.other is not None
        return value(n.then) if value(n.test) is True else value(n.other)

    return value(ex.parse(cond))


@settings(max_examples=15, deadline=None)
@given(st.lists(random_conditions(), min_size=1, max_size=4),
       st.tuples(*[st.sampled_from([True, False, None])] * 3))
def test_random_conditions_agree_with_the_table(tmp_path_factory: pytest.TempPathFactory,
                                                conditions: list[str],
                                                solver_abc: tuple[Value, Value, Value]) -> None:
    folder = tmp_path_factory.mktemp("random")
    (folder / "logic-1.0.yaml").write_text(ruleset_text(conditions), encoding="utf-8")
    try:
        rs = Registry.from_folder(folder).select(None, "1.0")
    except RulesetError as exc:
        # a condition that is always false, or only the literal null: refused by check
        assume(not all(d.code == "compile.never-applies" or d.message.endswith("found null")
                       for d in exc.diagnostics if d.severity == "error"))
        raise
    for a, b, c in itertools.product([True, False, None], repeat=3):
        env = {"a": a, "b": b, "c": c}
        wanted = {f"R{i}" for i, cond in enumerate(conditions) if meaning(cond, env) is True}
        for engine in ENGINES:
            assert applied(rs, engine, a, b, c) == wanted, (engine, env, conditions)
    a, b, c = solver_abc
    env = {"a": a, "b": b, "c": c}
    wanted = {f"R{i}" for i, cond in enumerate(conditions) if meaning(cond, env) is True}
    assert encoded(rs, a, b, c, len(conditions)) == wanted, (env, conditions)


@settings(max_examples=27, deadline=None)
@given(st.tuples(*[st.sampled_from([True, False, None])] * 3))
def test_engines_and_the_encoder_agree(logic: Any, abc: tuple[Value, Value, Value]) -> None:
    a, b, c = abc
    results = [applied(logic, e, a, b, c) for e in ENGINES]
    assert all(r == want(a, b, c) for r in results), (abc, results)
    assert encoded(logic, a, b, c) == want(a, b, c), abc
