"""The built-in functions are one table: every place that knows them reads it.

``business_days_between`` is the example: one entry in ta_rules/rulesets/builtins.py, and it
works in the compiled and the durable engine, in prove, ``diff --symbolic`` and
``--why-not``, in the docs' table and in editor completion.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.rulesets.builtins import BUILTINS, SHARED, business_days_between, docs_table
from ta_rules.rulesets.registry import Registry
from ta_rules.rulesets.resolve import Resolver

from conftest import ROOT, base_facts

DOCS = ROOT / "docs" / "policy-writing.md"


def weekdays_from_to(a: dt.date, b: dt.date) -> int:
    """The definition in the doc line, counted day by day."""
    lo, hi, sign = (a, b, 1) if a <= b else (b, a, -1)
    n, d = 0, lo
    while d < hi:
        n += d.weekday() < 5
        d += dt.timedelta(days=1)
    return sign * n


MON = dt.date(2026, 12, 7)


@pytest.mark.parametrize(("a", "b", "want"), [
    (MON, MON, 0),                                              # same day
    (MON + dt.timedelta(5), MON + dt.timedelta(5), 0),          # same day, a Saturday
    (MON - dt.timedelta(3), MON, 1),                            # Fri -> Mon
    (MON - dt.timedelta(2), MON, 0),                            # Sat -> Mon: weekend start
    (MON - dt.timedelta(1), MON, 0),                            # Sun -> Mon
    (MON, MON + dt.timedelta(5), 5),                            # Mon -> Sat: weekend end
    (MON, MON + dt.timedelta(4), 4),                            # Mon -> Fri: Fri not counted
    (MON, MON + dt.timedelta(7), 5),                            # a week
    (MON + dt.timedelta(5), MON + dt.timedelta(6), 0),          # Sat -> Sun
    (MON, MON - dt.timedelta(3), -1),                           # reversed: Mon -> Fri
    (MON + dt.timedelta(5), MON, -5),                           # reversed: Sat -> Mon
    (dt.date(1, 1, 1), dt.date(1, 1, 8), 5),                    # the first day numbers
    (dt.date(9999, 12, 24), dt.date(9999, 12, 31), 5),          # the last ones
])
def test_business_days_between_edges(a: dt.date, b: dt.date, want: int) -> None:
    assert business_days_between(a, b) == want == weekdays_from_to(a, b)


def test_business_days_between_matches_its_definition_over_five_weeks() -> None:
    days = [MON + dt.timedelta(i) for i in range(-17, 18)]
    for a in days:
        for b in days:
            assert business_days_between(a, b) == weekdays_from_to(a, b), (a, b)
            assert business_days_between(a, b) == -business_days_between(b, a)


def test_the_z3_encoding_is_the_runtime_function() -> None:
    z3 = pytest.importorskip("z3")
    spec = BUILTINS["business_days_between"]
    assert spec.smt is not None
    days = [MON + dt.timedelta(i) for i in range(-10, 11)] + [dt.date(1, 1, 1)]
    for a in days:
        for b in days:
            term = z3.simplify(spec.smt(z3, z3.IntVal(a.toordinal()), z3.IntVal(b.toordinal())))
            assert term.as_long() == business_days_between(a, b), (a, b)


# --- every built-in has every part, or says which it lacks ---------------------------------


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_builtin_is_complete(name: str) -> None:
    from ta_rules.rulesets import _expr as ex
    from ta_rules.verify.encode import ExprEncoder

    b = BUILTINS[name]
    assert b.name == name and b.signature.startswith(name + "(") and b.doc and b.example
    assert f"{name}(" in b.example
    ex.parse(b.example)  # the docs' example is an expression of the language
    # the type rule: a signature, or a resolver method
    assert (b.params is not None and b.result is not None) != (b.type_rule is not None)
    if b.type_rule is not None:
        assert callable(getattr(Resolver, b.type_rule, None)), b.type_rule
    if b.constant:
        return
    # the Python program: a helper of the values, or code
    assert (b.runtime is not None) != (b.python is not None)
    assert b.lowering == SHARED
    # the solver: an encoding, an encoder method, or a stated reason why not
    said = [b.smt is not None, b.encoder is not None, b.unsupported is not None]
    assert said.count(True) == 1, name
    if b.encoder is not None:
        assert callable(getattr(ExprEncoder, b.encoder, None)), b.encoder


def test_no_builtin_is_dispatched_outside_the_table() -> None:
    handlers = {n for n in dir(Resolver) if n.startswith("fn_")}
    assert handlers == {b.type_rule for b in BUILTINS.values() if b.type_rule}


def test_the_docs_table_is_the_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    begin, end = "<!-- built-ins: begin -->\n", "<!-- built-ins: end -->"
    assert begin in text and end in text
    shown = text[text.index(begin) + len(begin):text.index(end)]
    assert shown == docs_table(), "regenerate the table: python -c 'from " \
        "ta_rules.rulesets.builtins import docs_table; print(docs_table())'"


def test_the_docs_show_one_entry_as_the_how_to() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "### Adding a built-in function" in text
    how_to = text[text.index("### Adding a built-in function"):]
    assert 'BuiltinSpec(\n        "business_days_between"' in how_to


def test_completion_and_hover_read_the_table() -> None:
    from ta_rules.lsp import _analysis as an

    assert [b.name for b in an.builtin_specs()] == sorted(BUILTINS)
    assert an.builtin_specs_by_name()["business_days_between"].doc == \
        BUILTINS["business_days_between"].doc


# --- one entry works everywhere -------------------------------------------------------------

NOT_LATE = "when: shipped_on is not null and shipped_on <= late_deadline\n"
NOT_LATE_BUSINESS = ("when: shipped_on is not null and "
                     "business_days_between(late_deadline, shipped_on) <= 0\n")


def business_rules(tmp_path: Path) -> Path:
    """2015.1, where a shipment is late only after a business day past the deadline."""
    folder = tmp_path / "rules"
    shutil.copytree(ROOT / "ta_rules" / "rules", folder)
    for f in folder.glob("trade-assurance-2017.12.yaml"):
        f.unlink()
    path = folder / "trade-assurance-2015.1.yaml"
    text = path.read_text(encoding="utf-8")
    assert NOT_LATE in text
    path.write_text(text.replace(NOT_LATE, NOT_LATE_BUSINESS), encoding="utf-8")
    return folder


def claim(ship_by: dt.date, shipped_on: dt.date) -> dict[str, Any]:
    facts = base_facts()
    facts["contract"]["ship_by"] = ship_by.isoformat()
    facts["shipment"]["shipped_on"] = shipped_on.isoformat()
    submitted = max(shipped_on, ship_by) + dt.timedelta(1)
    facts["claim"]["submitted_on"] = submitted.isoformat()
    facts["claim"]["determination_requested_on"] = (submitted + dt.timedelta(6)).isoformat()
    facts["as_of"] = (submitted + dt.timedelta(6)).isoformat()
    return facts


def test_both_engines_judge_lateness_in_business_days(tmp_path: Path) -> None:
    pytest.importorskip("durable_rules_engine")
    rs = Registry.from_folder(business_rules(tmp_path)).select(None, "2015.1")
    checked = 0
    for start in range(7):
        ship_by = dt.date(2015, 2, 23) + dt.timedelta(start)  # Monday .. Sunday
        for k in range(0, 5):
            shipped = ship_by + dt.timedelta(k)
            # grace days are 0: the deadline is the ship-by date
            not_late = weekdays_from_to(ship_by, shipped) <= 0
            for engine in ("compiled", "durable"):
                v = ta_rules.evaluate(claim(ship_by, shipped), ruleset=rs, engine=engine)
                assert ("NOT_LATE" in v.codes) == not_late, (engine, ship_by, shipped, v.codes)
                assert (v.outcome == "covered") == (not not_late), (engine, ship_by, shipped)
            checked += 1
    assert checked == 35


def test_prove_symbolic_diff_and_why_not_use_it(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    from ta_rules.verify.prove import prove_rulesets
    from ta_rules.verify.symdiff import symbolic_diff

    folder = business_rules(tmp_path)
    rs = Registry.from_folder(folder).select(None, "2015.1")
    results = prove_rulesets([rs])
    assert results and all(r.status == "proven" for r in results), results

    old = ta_rules.default_registry().select(None, "2015.1")
    diff = symbolic_diff(old, rs)
    by_change = {c["change"]: c for c in diff["changes"]}
    for c in diff["changes"]:
        assert c["status"] in ("witness", "impossible"), c
    # shipped the Monday after a Saturday deadline: late by days, not by business days
    assert by_change["covered -> denied"]["status"] == "witness"
    assert by_change["denied -> covered"]["status"] == "impossible"

    # a Saturday deadline, shipped the next Monday: no business day late, denied NOT_LATE,
    # and nothing --why-not may change (past dates stay) cures it
    denied = claim(dt.date(2015, 2, 28), dt.date(2015, 3, 2))
    assert ta_rules.evaluate(denied, ruleset=rs).codes == {"NOT_LATE"}
    assert ta_rules.counterfactual(denied, ruleset=rs)["status"] == "none"
    # a Friday deadline, shipped the next Monday, paid by a method not covered: the cure is
    # the method, and the changed claim is late in business days, so covered
    paid_otherwise = claim(dt.date(2015, 2, 27), dt.date(2015, 3, 2))
    paid_otherwise["payments"][0]["method"] = "alipay"
    assert ta_rules.evaluate(paid_otherwise, ruleset=rs).outcome == "denied"
    answer = ta_rules.counterfactual(paid_otherwise, ruleset=rs)
    assert answer["status"] == "found", answer
    assert [c["path"] for c in answer["changes"]] == ["payments[0].method"]
    assert ta_rules.evaluate(answer["facts"], ruleset=rs).outcome == "covered"


def test_a_builtin_declared_unsupported_is_reported_with_its_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("z3")
    import dataclasses

    from ta_rules.verify.prove import prove_rulesets

    spec = BUILTINS["business_days_between"]
    monkeypatch.setitem(BUILTINS, spec.name, dataclasses.replace(  # type: ignore[index]
        spec, smt=None, unsupported="no calendar in the solver"))
    rs = Registry.from_folder(business_rules(tmp_path)).select(None, "2015.1")
    # the engines still run it
    assert ta_rules.evaluate(claim(MON, MON + dt.timedelta(3)), ruleset=rs).outcome
    results = prove_rulesets([rs])
    assert results and all(r.status == "unsupported" for r in results), results
    detail = results[0].detail
    assert "business_days_between(): no calendar in the solver" in detail
    assert "late.not-late" in detail and "trade-assurance-2015.1.yaml:" in detail
