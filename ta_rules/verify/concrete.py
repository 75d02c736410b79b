"""The engine's side of every answer: judge a facts document and re-check a property on it.

A solver answer is only reported when the real engine agrees: :func:`engine_world` judges
the document with :func:`ta_rules.evaluate` (the verdict) and with the Python backend's own
program for the ruleset (the values and group reasons a property may name, computed by the
code the emitter generates, not by the encoder), and gives them as a concrete
:class:`~ta_rules.verify.properties.World`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import z3
from pydantic import BaseModel

from ta_rules.evaluate import DECISION_CONTEXT, evaluate, read_facts
from ta_rules.facts import Facts, parse_facts
from ta_rules.money import Money
from ta_rules.rulesets._types import T, TypeEnv
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.program import Decision
from ta_rules.verdict import Verdict
from ta_rules.verify.encode import const_sym
from ta_rules.verify.properties import World
from ta_rules.verify.query import env_of
from ta_rules.verify.values import TRUE, Strings, Sym

__all__ = ["engine_world", "judge", "value_program"]

def value_program(rs: Ruleset) -> Callable[..., Decision]:
    """The ruleset's program that also returns every value and group it computed."""
    return rs.program("values").decide


def judge(rs: Ruleset, doc: Mapping[str, Any], params: Mapping[str, Any] | None,
          wider: tuple[Any, ...] = ()) -> Verdict:
    """The engine's verdict on a document under ``rs`` (pinned, not chosen by date).

    A fact only a vocabulary in ``wider`` has (the newer side of a comparison) is ignored
    by ``rs``, as :func:`ta_rules.evaluate.read_facts` says.
    """
    facts, _ = read_facts(doc, rs, wider=wider)
    return evaluate(facts, ruleset=rs, parameters=params or None)


def _sym(value: Any, t: T, strings: Strings, env: TypeEnv) -> Sym:
    if isinstance(value, BaseModel):
        fields = {f: _sym(getattr(value, f), ft, strings, env)
                  for f, ft in env.fields(type(value)).items()}
        return Sym(t, TRUE, fields=fields)
    if isinstance(value, list | tuple) and t.kind == "list":
        items = [_sym(x, t.item or T("any"), strings, env) for x in value]
        return Sym(t, items=items, length=z3.IntVal(len(items)))
    if isinstance(value, Money | Decimal | dt.date | str | bool | int) or value is None:
        return const_sym(value, t, strings)
    raise TypeError(f"no concrete Sym for {type(value).__name__}")


def _entries(raw: Any) -> list[Any]:
    return [(TRUE, r[0], None) for r in raw or []]


def engine_world(rs: Ruleset, doc: Mapping[str, Any], params: Mapping[str, Any] | None,
                 strings: Strings) -> tuple[World, Verdict]:
    """The verdict and values the engine gives for ``doc``, as a concrete world."""
    verdict = judge(rs, doc, params)
    env = env_of(rs)
    facts: Facts = parse_facts(doc, rs.vocabulary)
    bound, _ = rs.bind_parameters(params or None)
    with decimal.localcontext(DECISION_CONTEXT):
        decision = value_program(rs)(facts, bound, None)
    values, groups = decision.values or {}, decision.groups or {}
    roots = {name: _sym(getattr(facts, name), t, strings, env)
             for name, t in env.roots.items()}
    reasons = [(TRUE, r.code, None) for r in verdict.reasons]

    def value(name: str) -> Sym:
        node_t = rs.ir.values[name].node.t if rs.ir else T("any")
        return _sym(values[name], node_t, strings, env)

    def group(name: str) -> list[Any]:
        return _entries(groups.get(name))

    cap = verdict.coverage_cap
    world = World(
        outcome=const_sym(verdict.outcome, T("str"), strings),
        max_refund=const_sym(verdict.max_refund, T("money"), strings),
        coverage_cap=const_sym(cap, T("money", nullable=True), strings),
        reasons=reasons, facts=roots, value=value, group=group, params=bound,
        ruleset=rs, strings=strings)
    return world, verdict
