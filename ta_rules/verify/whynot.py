"""``ta-rules eval FACTS --why-not``: the fewest fact changes that would make a claim covered.

The claim's facts are pinned in a symbolic document; z3's optimiser looks for a covered
verdict under the same ruleset version that changes the fewest fact leaves (a value, an
optional object given or taken away, a list item added or removed, each counts one).
Facts the policy marks ``fixed`` (beside the rules: the contract's terms, the supplier...)
never change; a date that is already past (before ``as_of``) never changes, and a
date that changes falls between the claim's ``as_of`` and the new ``as_of`` (which may
only move forward): a suggestion is something that can still happen. Every suggestion is
judged by the real engine; one it does not find covered is reported as an encoder bug.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import z3

from ta_rules.evaluate import evaluate, select_ruleset
from ta_rules.facts import parse_facts
from ta_rules.present import claim_summary
from ta_rules.verify import MAX_BOUND, BoundError, check_bound
from ta_rules.verify.properties import load_properties
from ta_rules.verify.prove import DEFAULT_BOUND, DEFAULT_TIMEOUT
from ta_rules.verify.query import Query, env_of
from ta_rules.verify.rules_enc import EncodingError
from ta_rules.verify.space import FactSpace, flatten, present_in

__all__ = ["diff_documents", "why_not"]


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def _is_fixed(key: str, fixed: Sequence[str]) -> bool:
    base = key.rstrip("#?")
    return any(base == f or base.startswith((f + ".", f + "[")) for f in fixed)


def _constraints(space: FactSpace, flat: Mapping[str, Any], fixed: Sequence[str]
                 ) -> tuple[list[Any], list[Any]]:
    """(what must stay or hold, the cost terms) of changing the pinned document."""
    same = space.same_as(flat)
    keep: list[Any] = []
    cost: list[Any] = []
    old_as_of = dt.date.fromisoformat(flat["as_of"]).toordinal()
    new_as_of = next(leaf.raw for leaf in space.leaves if leaf.path == "as_of")
    keep.append(new_as_of >= old_as_of)
    for key in [k for k in same if k.endswith(("#", "?"))]:
        if _is_fixed(key, fixed):
            keep.append(same[key])
        if key.endswith("#"):
            n = int(flat.get(key, 0))
            length = space.lists[key[:-1]].length
            cost.append(z3.If(length >= n, length - n, n - length))
        else:
            cost.append(z3.If(same[key], 0, 1))
    for leaf in space.leaves:
        both = z3.And([space.there(w) for w in leaf.within] or [z3.BoolVal(True)])
        is_date = leaf.t.kind == "date" and leaf.path != "as_of"
        window = z3.And(leaf.raw >= old_as_of, leaf.raw <= new_as_of) if is_date else None
        if not all(present_in(w, flat) for w in leaf.within):
            # inside something the claim does not have (counted where it is added): a date
            # in it is one that can still happen
            if is_date:
                keep.append(z3.Implies(z3.And(both, leaf.sym.present), window))
            continue
        old = flat.get(leaf.path)
        past = is_date and old is not None and \
            dt.date.fromisoformat(old).toordinal() < old_as_of
        changed = z3.And(both, z3.Not(same[leaf.path]))
        if _is_fixed(leaf.path, fixed) or past:
            keep.append(z3.Not(changed))
        elif is_date:
            keep.append(z3.Implies(z3.And(changed, leaf.sym.present), window))
        cost.append(z3.If(changed, 1, 0))
    return keep, cost


def diff_documents(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """The changes from one canonical facts document to another, as {path, from, to}."""
    if isinstance(old, dict) and isinstance(new, dict) and set(old) != {"amount", "currency"}:
        out = []
        for key in old.keys() | new.keys():
            out += diff_documents(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return sorted(out, key=lambda c: c["path"])
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            a = old[i] if i < len(old) else None
            b = new[i] if i < len(new) else None
            out += [{"path": f"{path}[{i}]", "from": a, "to": b}] if a is None or b is None \
                else diff_documents(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [{"path": path, "from": old, "to": new}]


def why_not(facts: Any, *, ruleset: Any = None, version: str | None = None,
            parameters: Mapping[str, Any] | None = None, registry: Any = None,
            fixed: Sequence[str] | None = None, bound: int | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """See :func:`ta_rules.counterfactual`."""
    rs = select_ruleset(facts, ruleset=ruleset, version=version, registry=registry)
    valid = parse_facts(facts, rs.vocabulary)
    verdict = evaluate(valid, ruleset=rs, parameters=parameters)
    canonical = valid.model_dump(mode="json")
    if fixed is None:
        fixed = load_properties(rs).fixed
    env = env_of(rs)
    flat = flatten(canonical, env)
    lists = {key[:-1]: int(n) for key, n in flat.items() if key.endswith("#")}
    longest = max(lists, key=lambda name: lists[name], default="")
    if lists.get(longest, 0) > MAX_BOUND:
        raise BoundError(f"{longest} has {lists[longest]} items; the fewest changes are "
                         f"searched for lists of at most {MAX_BOUND} items")
    k = max(check_bound(bound or DEFAULT_BOUND), lists.get(longest, 0))
    out: dict[str, Any] = {
        "ruleset": {"name": rs.name, "version": rs.version}, "bound": k,
        "fixed": list(fixed), "claim": claim_summary(verdict)}
    if verdict.outcome == "covered":
        return {**out, "changes": [], "verdict": out["claim"],
                "reason": "the claim is already covered"}
    params, _ = rs.bind_parameters(parameters or None)
    currency = _currency(valid, rs)
    try:
        q = Query.build([rs], [params], currency=currency, bound=k, extra=_strings(canonical))
    except EncodingError as exc:
        return {**out, "changes": None, "status": "error", "reason": str(exc)}
    keep, cost = _constraints(q.space, flat, fixed)
    opt = q.solver(timeout, optimize=True)
    opt.add(*keep)
    opt.add(q.verdicts[0].outcome.present,
            q.verdicts[0].outcome.val == q.space.strings.of("covered"))
    opt.minimize(z3.Sum(cost) if cost else z3.IntVal(0))
    # then the earliest day it can happen: as_of moves as little as it can
    opt.minimize(next(leaf.raw for leaf in q.space.leaves if leaf.path == "as_of"))
    answer = opt.check()
    if answer == z3.unsat:
        return {**out, "changes": None, "status": "none",
                "reason": f"no change of the changeable facts makes it covered (lists of up "
                          f"to K={k} items; fixed: {', '.join(fixed) or 'none'})"}
    if answer == z3.unknown:
        return {**out, "changes": None, "status": "unknown",
                "reason": f"the solver gave up ({opt.reason_unknown()})"}
    doc = q.space.decode(opt.model())
    new = parse_facts(doc, rs.vocabulary)
    judged = evaluate(new, ruleset=rs, parameters=parameters)
    changes = diff_documents(canonical, new.model_dump(mode="json"))
    result = {**out, "changes": changes, "verdict": claim_summary(judged),
              "status": "found", "facts": new.model_dump(mode="json")}
    if judged.outcome != "covered":
        result["status"] = "error"
        result["reason"] = ("encoder bug: the engine does not find the changed facts covered "
                            f"({judged.outcome})")
    return result


def _currency(facts: Any, rs: Any) -> str:
    """The currency of the vocabulary's currency dimension in these facts (else USD)."""
    for dim in rs.vocabulary.dimensions:
        value: Any = facts
        for part in dim.source:
            value = getattr(value, part, None)
        if value is not None:
            return str(value.currency)
    return "USD"
