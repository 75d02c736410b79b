"""``ta-rules diff A B --symbolic``: every way two versions can judge one claim differently.

Both versions are encoded over one symbolic facts document (each pinned: the same facts
judged by A and by B, whatever the order date). For each pair of different outcomes, and
for a refund that goes up or down, the solver finds a witness facts document or proves that
none exists within the bound K (for every contract currency class). Every witness is judged
by the real engine under both versions; one that does not change that way is reported as an
encoder bug, never as a witness.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import z3

from ta_rules.errors import TaRulesError
from ta_rules.present import outcome_summary
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.resolve import OUTCOMES
from ta_rules.verify.concrete import judge
from ta_rules.verify.prove import DEFAULT_BOUND, DEFAULT_TIMEOUT
from ta_rules.verify.query import Query, currency_classes, literals, settled_check
from ta_rules.verify.rules_enc import SymVerdict

__all__ = ["render_symbolic", "symbolic_diff"]


def _questions(q: Query) -> list[tuple[str, Any, Any]]:
    """(name, formula, check on the two verdicts) for every change asked about."""
    a, b = q.verdicts
    strings = q.space.strings

    def is_outcome(v: SymVerdict, name: str) -> Any:
        return z3.And(v.outcome.present, v.outcome.val == strings.of(name))

    out: list[tuple[str, Any, Any]] = []
    for x, y in itertools.permutations(sorted(OUTCOMES), 2):
        out.append((f"{x} -> {y}", z3.And(is_outcome(a, x), is_outcome(b, y)),
                    lambda va, vb, x=x, y=y: va.outcome == x and vb.outcome == y))
    out.append(("refund up", a.max_refund.val < b.max_refund.val,
                lambda va, vb: va.max_refund.amount < vb.max_refund.amount))
    out.append(("refund down", a.max_refund.val > b.max_refund.val,
                lambda va, vb: va.max_refund.amount > vb.max_refund.amount))
    return out


def symbolic_diff(old: Ruleset, new: Ruleset, *, bound: int = DEFAULT_BOUND,
                  timeout: float = DEFAULT_TIMEOUT,
                  params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """For each change of outcome or refund, a witness facts document or a proof of none.

    Returns:
        ``{"old", "new", "bound", "currencies", "changes": [{"change", "status", ...}]}``;
        status is ``witness`` (with ``facts`` and both verdicts), ``impossible`` (proven
        within K for every currency class), ``unknown`` or ``error``.
    """
    po, _ = old.bind_parameters({k: v for k, v in (params or {}).items()
                                 if k in old.parameters} or None)
    pn, _ = new.bind_parameters({k: v for k, v in (params or {}).items()
                                 if k in new.parameters} or None)
    classes = currency_classes(literals([old, new], [po, pn]))
    results: dict[str, dict[str, Any]] = {}
    for currency in classes:
        q = Query.build([old, new], [po, pn], currency=currency, bound=bound)
        s = q.solver(timeout)
        for name, formula, check in _questions(q):
            if results.get(name, {}).get("status") in ("witness", "error"):
                continue
            s.push()
            s.add(formula)
            answer = settled_check(s)
            if answer == z3.sat:
                results[name] = _witness(q, s.model(), old, new, po, pn, check, currency)
            elif answer == z3.unknown:
                results[name] = {"status": "unknown",
                                 "detail": f"the solver gave up ({s.reason_unknown()})"}
            elif name not in results:
                results[name] = {"status": "impossible"}
            s.pop()
    changes = [{"change": name, **r} for name, r in results.items()]
    return {"old": old.version, "new": new.version, "bound": bound, "currencies": classes,
            "changes": changes}


def _witness(q: Query, model: Any, old: Ruleset, new: Ruleset, po: Any, pn: Any,
             check: Any, currency: str) -> dict[str, Any]:
    doc = q.space.decode(model)
    try:
        wider = (old.vocabulary, new.vocabulary)
        va, vb = judge(old, doc, None, wider), judge(new, doc, None, wider)
    except TaRulesError as exc:
        return {"status": "error", "detail": f"encoder bug: the witness is not judged: {exc}",
                "facts": doc}
    entry = {"facts": doc, "old_verdict": outcome_summary(va), "new_verdict": outcome_summary(vb),
             "currency": currency}
    if not check(va, vb):
        return {"status": "error", "detail": "encoder bug: the engine does not change that "
                "way on the witness", **entry}
    return {"status": "witness", **entry}


def render_symbolic(result: dict[str, Any]) -> str:
    """The symbolic diff as text."""
    lines = [f"symbolic diff {result['old']} -> {result['new']} (facts judged by both; lists "
             f"of up to K={result['bound']} items; currencies {', '.join(result['currencies'])})"]
    for c in result["changes"]:
        if c["status"] == "witness":
            o, n = c["old_verdict"], c["new_verdict"]
            lines.append(f"  {c['change']:20} witness: {o['outcome']} {o['codes']} "
                         f"{o['max_refund']} -> {n['outcome']} {n['codes']} {n['max_refund']}")
        elif c["status"] == "impossible":
            lines.append(f"  {c['change']:20} impossible (proven within K={result['bound']})")
        else:
            lines.append(f"  {c['change']:20} {c['status']}: {c.get('detail', '')}")
    lines.append("(witness facts documents: --format json)")
    return "\n".join(lines)
