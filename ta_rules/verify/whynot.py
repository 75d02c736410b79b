"""``ta-rules eval FACTS --why-not``: the fewest fact changes that would make a claim covered.

The claim's facts are pinned in a symbolic document; z3's optimiser looks for a covered
verdict under the same ruleset version that changes the fewest fact leaves (a value, an
optional object given or taken away, a list item added or removed, each counts one).
Facts the policy marks ``fixed`` (beside the rules: the contract's terms, the supplier...)
never change; a date that is already past (before ``as_of``) never changes, and a
date that changes falls between the claim's ``as_of`` and the new ``as_of`` (which may
only move forward): a suggestion is something that can still happen. Every suggestion is
judged by the real engine; one it does not find covered is reported as an encoder bug.

The policy writer's question ("what would have made it covered?") frees facts: ``free``
names fact paths (or ``all``) that may change although fixed or already past, and a freed
date may take any day. A free text or code fact (a category, a payment method) takes a
value that means something for it (:mod:`ta_rules.verify.meaning`): one the rules compare
it with, one the claim has there, or a marked placeholder (``other-0``), never a literal of
another field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import z3

from ta_rules.evaluate import evaluate, select_ruleset
from ta_rules.facts import parse_facts
from ta_rules.present import claim_summary
from ta_rules.verify import MAX_BOUND, BoundError, FreeError, check_bound
from ta_rules.verify.meaning import field_literals, generic_path, leaf_keys
from ta_rules.verify.properties import load_properties
from ta_rules.verify.prove import DEFAULT_BOUND, DEFAULT_TIMEOUT
from ta_rules.verify.query import Query, currency_classes, env_of, literals
from ta_rules.verify.rules_enc import EncodingError
from ta_rules.verify.space import FactSpace, Leaf, flatten, present_in

__all__ = ["ALL", "diff_documents", "why_not"]


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def _under(key: str, paths: Sequence[str]) -> bool:
    base = key.rstrip("#?")
    return any(base == f or base.startswith((f + ".", f + "[")) for f in paths)


def _is_fixed(key: str, fixed: Sequence[str], free: Sequence[str] = ()) -> bool:
    return _under(key, fixed) and not _under(key, free)


#: ``free`` value that frees every fact.
ALL = "all"


def _constraints(space: FactSpace, flat: Mapping[str, Any], fixed: Sequence[str],
                 free: Sequence[str] = ()) -> tuple[list[Any], list[Any]]:
    """(what must stay or hold, the cost terms) of changing the pinned document."""
    same = space.same_as(flat)
    keep: list[Any] = []
    cost: list[Any] = []
    old_as_of = dt.date.fromisoformat(flat["as_of"]).toordinal()
    new_as_of = next(leaf.raw for leaf in space.leaves if leaf.path == "as_of")
    if not _under("as_of", free):
        keep.append(new_as_of >= old_as_of)
    for key in [k for k in same if k.endswith(("#", "?"))]:
        if _is_fixed(key, fixed, free):
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
        freed = _under(leaf.path, free)  # any value, a past date or a day to come
        if not all(present_in(w, flat) for w in leaf.within):
            # inside something the claim does not have (counted where it is added): a date
            # in it is one that can still happen
            if is_date and not freed:
                keep.append(z3.Implies(z3.And(both, leaf.sym.present), window))
            continue
        old = flat.get(leaf.path)
        past = is_date and old is not None and not freed and \
            dt.date.fromisoformat(old).toordinal() < old_as_of
        changed = z3.And(both, z3.Not(same[leaf.path]))
        if _is_fixed(leaf.path, fixed, free) or past:
            keep.append(z3.Not(changed))
        elif is_date and not freed:
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
            timeout: float = DEFAULT_TIMEOUT, free: Sequence[str] = ()) -> dict[str, Any]:
    """See :func:`ta_rules.counterfactual`; ``free``: fact paths (or ``all``) freed."""
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
    free = _check_free(free, env)
    out: dict[str, Any] = {
        "ruleset": {"name": rs.name, "version": rs.version}, "bound": k,
        "fixed": [f for f in fixed if not _under(f, free)], "free": list(free),
        "claim": claim_summary(verdict)}
    if verdict.outcome == "covered":
        return {**out, "changes": [], "verdict": out["claim"],
                "reason": "the claim is already covered"}
    params, _ = rs.bind_parameters(parameters or None)
    currency = _currency(valid, rs)
    meaning = _meaning(rs, params, flat, env)
    currencies = [currency]
    dims = rs.vocabulary.dimensions if rs.vocabulary is not None else ()
    if any(_under(".".join(dim.source), free) for dim in dims):
        # the contract currency is freed: another one may cure it (one query each)
        currencies += [c for c in currency_classes(literals([rs], [params])) if c != currency]
    for cur in currencies:
        try:
            q = Query.build([rs], [params], currency=cur, bound=k, extra=_strings(canonical))
        except EncodingError as exc:
            return {**out, "changes": None, "status": "error", "reason": str(exc)}
        keep, cost = _constraints(q.space, flat, fixed, free)
        covered = z3.And(q.verdicts[0].outcome.present,
                         q.verdicts[0].outcome.val == q.space.strings.of("covered"))
        as_of = next(leaf.raw for leaf in q.space.leaves if leaf.path == "as_of")
        answer, model, why = _fewest(q, [*keep, covered], cost, as_of, timeout, meaning)
        if answer == z3.sat:
            break
    if answer == z3.unsat:
        return {**out, "changes": None, "status": "none",
                "reason": f"no change of the changeable facts makes it covered (lists of up "
                          f"to K={k} items; fixed: {', '.join(out['fixed']) or 'none'})"}
    if answer == z3.unknown:
        return {**out, "changes": None, "status": "unknown",
                "reason": f"the solver gave up ({why})"}
    doc = q.space.decode(model)
    new = parse_facts(doc, rs.vocabulary)
    judged = evaluate(new, ruleset=rs, parameters=parameters)
    changes = diff_documents(canonical, new.model_dump(mode="json"))
    result = {**out, "changes": changes, "verdict": claim_summary(judged),
              "status": "found", "facts": new.model_dump(mode="json")}
    if why:
        result["note"] = why
    if judged.outcome != "covered":
        result["status"] = "error"
        result["reason"] = ("encoder bug: the engine does not find the changed facts covered "
                            f"({judged.outcome})")
    return result


#: Seconds the optimiser has before the fewest changes are counted up one by one instead.
OPTIMISE_FIRST = 3.0


def _fewest(q: Query, hold: list[Any], cost: list[Any], as_of: Any, timeout: float,
            meaning: Callable[[Leaf], set[str] | None]) -> tuple[Any, Any, str]:
    """(sat/unsat/unknown, a model with the fewest changes, why unknown).

    The optimiser (fewest changes, then the earliest ``as_of``) is asked first, for a few
    seconds; when it gives up (rates and rounding make it slow), one solver is asked for a
    covered claim with at most 0, 1, 2... changes: the first answer has the fewest.
    """
    total = z3.Sum(cost) if cost else z3.IntVal(0)
    opt = q.solver(min(timeout, OPTIMISE_FIRST), optimize=True, meaning=meaning)
    opt.add(*hold)
    opt.minimize(total)
    opt.minimize(as_of)
    answer = opt.check()
    if answer != z3.unknown:
        return answer, opt.model() if answer == z3.sat else None, ""
    s = q.solver(timeout, meaning=meaning)
    s.add(*hold)
    first = s.check()
    if first != z3.sat:
        return first, None, s.reason_unknown() if first == z3.unknown else ""
    best = s.model()
    for n in range(len(cost) + 1):
        got = s.check(total <= n)
        if got == z3.sat:
            return got, s.model(), ""
        if got == z3.unknown:
            break
    return z3.sat, best, "a change that covers it, not shown to be the fewest"


def _check_free(free: Sequence[str], env: Any) -> list[str]:
    """The freed paths (``all``: every fact), each checked against the vocabulary.

    Raises:
        FreeError: Naming a path that is not a fact.
    """
    names = list(free)
    if ALL in names:
        return [*env.roots]
    for name in names:
        t = None
        for i, part in enumerate(generic_path(name).split(".")):
            field = part.removesuffix("[]")
            if i == 0:
                t = env.roots.get(field)
            elif t is not None and t.kind == "object" and t.model is not None:
                t = env.fields(t.model).get(field)
            else:
                t = None
            if t is not None and part.endswith("[]"):
                t = t.item if t.kind == "list" else None
            if t is None:
                raise FreeError(f"--free {name}: no such fact (facts: "
                                 f"{', '.join(env.roots)}, and their fields)")
    return names


def _meaning(rs: Any, params: Mapping[str, Any], flat: Mapping[str, Any], env: Any
             ) -> Callable[[Leaf], set[str] | None]:
    """What a free text or code fact may take (and a placeholder, always).

    The literals the rules compare it with, and the values the claim has at that place.
    """
    named = field_literals(rs, params)
    had: dict[str, set[str]] = {}
    for key, value in flat.items():
        if isinstance(value, str):
            had.setdefault(generic_path(key), set()).add(value)

    def meaning(leaf: Leaf) -> set[str]:
        keys = leaf_keys(env, leaf.path)
        return set().union(*(named.get(k, set()) for k in keys),
                           had.get(generic_path(leaf.path), set()))
    return meaning


def _currency(facts: Any, rs: Any) -> str:
    """The currency of the vocabulary's currency dimension in these facts (else USD)."""
    for dim in rs.vocabulary.dimensions:
        value: Any = facts
        for part in dim.source:
            value = getattr(value, part, None)
        if value is not None:
            return str(value.currency)
    return "USD"
