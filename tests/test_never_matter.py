"""``ta-rules check`` reports rules and reason codes that can never matter, with both places.

The fixtures are in tests/data/bad_rules/ (check.shadowed-rule, check.impossible-condition,
check.unreachable-reason: test_bad_rules.py checks their code and place); here: the other
places named, the bundled rules staying clean, the syntactic check used without the solver,
and a spent time budget reported rather than guessed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import ta_rules
from ta_rules.tools import never_matter as nm
from ta_rules.tools.check import check_paths

ROOT = Path(__file__).parent.parent
BAD = Path(__file__).parent / "data" / "bad_rules"


def _only(path: Path) -> ta_rules.Diagnostic:
    found, _, _ = check_paths([path], never_matter=True)
    (d,) = found
    return d


def test_shadowed_row_names_the_rows_before_it() -> None:
    d = _only(BAD / "check.shadowed-rule.yaml")
    assert d.severity == "warning" and "late.long-delay" in d.message
    assert "late.any-delay" in d.message and "solver" in d.message
    # the earlier row that covers it, in the same file
    assert [(r.line, r.column) for r in d.related] == [(41, 11)]


def test_impossible_condition_is_located_at_its_rule() -> None:
    d = _only(BAD / "check.impossible-condition.yaml")
    assert "gate.far-future" in d.message and d.location.line == 32
    # and at the declaration that makes it impossible: the fact's bounds in the vocabulary
    assert any(r.source.endswith("trade-assurance.vocabulary.yaml") for r in d.related), \
        d.related


def test_unreachable_reason_points_at_the_rule_naming_it() -> None:
    d = _only(BAD / "check.unreachable-reason.yaml")
    assert "HUGE" in d.message
    assert [r.line for r in d.related] == [31]


def test_bundled_rules_have_no_rule_that_never_matters() -> None:
    found, _, _ = check_paths([ROOT / "rules"], never_matter=True)
    assert not [d.render() for d in found if d.code.startswith("check.")]


SYNTACTIC = """\
        - id: late.any-delay
          when: shipment.shipped_on > contract.ship_by
          reasons: [LATE]
        - id: late.late-and-claimed
          when: claim.submitted_on > contract.ship_by and shipment.shipped_on > contract.ship_by
          reasons: [LATE]
"""


def test_without_the_solver_a_syntactic_check_finds_a_repeated_condition(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (BAD / "check.shadowed-rule.yaml").read_text()
    start = text.index("        - id: late.any-delay")
    end = text.index("      other:")
    path = tmp_path / "syntactic.yaml"
    path.write_text(text[:start] + SYNTACTIC + text[end:])
    rs = ta_rules.load_ruleset(path)
    monkeypatch.setitem(sys.modules, "z3", None)  # as without the verify extra
    (d,) = nm.never_matter(rs)
    assert d.code == "check.shadowed-rule" and "late.late-and-claimed" in d.message
    assert "syntactic check" in d.message
    assert [r.line for r in d.related] == [41]
    # the shadowed row of the fixture needs the solver: the syntactic check keeps quiet
    assert nm.never_matter(ta_rules.load_ruleset(BAD / "check.shadowed-rule.yaml")) == []


def test_ta_rules_check_reports_them_and_an_editor_recheck_does_not() -> None:
    import io

    from ta_rules.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(BAD / "check.shadowed-rule.yaml")], stdout=out, stderr=err) == 0
    assert "warning[check.shadowed-rule]" in out.getvalue() + err.getvalue()
    assert "1 warning(s)" in out.getvalue()
    assert check_paths([BAD / "check.shadowed-rule.yaml"])[0] == []


def test_without_the_solver_a_bound_of_the_vocabulary_still_rules_a_condition_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rs = ta_rules.load_ruleset(BAD / "check.impossible-condition.yaml")
    monkeypatch.setitem(sys.modules, "z3", None)  # as without the verify extra
    (d,) = nm.never_matter(rs)
    assert d.code == "check.impossible-condition" and "gate.far-future" in d.message
    assert "syntactic check" in d.message and d.location.line == 32


def test_a_spent_time_budget_is_said_never_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nm, "BUDGET", 0.0)
    found = nm.never_matter(ta_rules.load_ruleset(BAD / "check.shadowed-rule.yaml"))
    assert found and {d.code for d in found} == {"check.solver-gave-up"}
    assert all("budget" in d.message for d in found)
