"""``ta-rules prove``: each property of a ruleset proven within the bound, or violated.

For each property and each contract currency class (:func:`~ta_rules.verify.query.currency_classes`)
the solver looks for a valid facts document (lists up to K items) where the property fails.
None in any class: **proven** (within K). One: it is decoded, judged by the real engine, and
the property re-checked on the engine's verdict and values: **violated** with that
counterexample. A solver that gives up is **unknown**, never proven; an answer the engine
does not confirm is an **error** (a bug in the encoder), never a proof; rules the encoder
cannot express are **unsupported**, with the rule and ``file:line``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Mapping
from typing import Any

import z3

from ta_rules.errors import FactsError
from ta_rules.present import verdict_data
from ta_rules.rulesets.compile import Ruleset
from ta_rules.verify.concrete import engine_world
from ta_rules.verify.properties import (
    Property,
    PropertyEncoder,
    PropertyError,
    ResolvedProperty,
    World,
    load_properties,
    property_literals,
    resolve_properties,
)
from ta_rules.verify.query import Query, currency_classes, literals, settled_check
from ta_rules.verify.rules_enc import EncodingError
from ta_rules.verify.values import Unsupported

__all__ = ["Result", "check_property", "prove_rulesets", "render_results", "symbolic_world"]

DEFAULT_BOUND = 3
DEFAULT_TIMEOUT = 60.0


@dataclasses.dataclass
class Result:
    """The answer for one property of one ruleset."""

    ruleset: str
    property: str
    text: str
    status: str  # proven, violated, unknown, unsupported, error
    bound: int
    currencies: list[str]
    source: str = ""
    detail: str = ""
    counterexample: dict[str, Any] | None = None
    verdict: dict[str, Any] | None = None
    seconds: float = 0.0
    notes: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        out = dataclasses.asdict(self)
        return {k: v for k, v in out.items() if v not in (None, "", [])}


def symbolic_world(q: Query, index: int = 0) -> World:
    """The world a property sees in a query: the symbolic verdict, facts and values."""
    enc, v = q.encoders[index], q.verdicts[index]
    return World(outcome=v.outcome, max_refund=v.max_refund, coverage_cap=v.coverage_cap,
                 reasons=v.reasons, facts=q.space.roots, value=enc.value, group=enc.group,
                 params=enc.params, ruleset=enc.rs, strings=q.space.strings)


def _confirm(rs: Ruleset, prop: Property, resolved: Mapping[str, ResolvedProperty],
             doc: dict[str, Any],
             params: Mapping[str, Any] | None, q: Query) -> tuple[bool | None, Any, str]:
    """(property holds on the engine's verdict?, verdict JSON, problem)."""
    try:
        world, verdict = engine_world(rs, doc, params, q.space.strings)
    except FactsError as exc:
        return None, None, f"the counterexample is not a valid facts document: {exc}"
    holds = z3.simplify(PropertyEncoder(world, resolved).holds(prop))
    if not (z3.is_true(holds) or z3.is_false(holds)):
        return None, None, "the property did not evaluate to true or false on the verdict"
    return z3.is_true(holds), verdict_data(verdict, trace=False), ""


def check_property(rs: Ruleset, prop: Property, *, bound: int = DEFAULT_BOUND,
                   timeout: float = DEFAULT_TIMEOUT,
                   params: Mapping[str, Any] | None = None,
                   queries: dict[str, tuple[Query, Any]] | None = None,
                   extra: Iterable[str] = ()) -> Result:
    """Prove one property of one ruleset within ``bound`` (or find a counterexample).

    ``queries`` keeps the encoding of each currency class for the next property of the same
    ruleset and parameters; ``extra`` then names the strings of all those properties.
    """
    started = time.monotonic()
    try:
        resolved = resolve_properties(rs, [prop])
    except PropertyError as exc:
        return Result(rs.version, prop.id, prop.text(), "error", bound, [], prop.source,
                      detail=str(exc))
    bound_params, _ = rs.bind_parameters(params or None)
    classes = currency_classes(literals([rs], [bound_params]))
    result = Result(rs.version, prop.id, prop.text(), "proven", bound, classes, prop.source)
    cache = {} if queries is None else queries
    try:
        for currency in classes:
            if currency not in cache:
                q = Query.build([rs], [bound_params], currency=currency, bound=bound,
                                extra=property_literals([prop]) | set(extra))
                cache[currency] = (q, q.solver(timeout))
            q, s = cache[currency]
            s.push()
            try:
                s.add(z3.Not(PropertyEncoder(symbolic_world(q), resolved).holds(prop)))
                result.notes += [n for n in q.encoders[0].notes if n not in result.notes]
                answer = settled_check(s)
                model = s.model() if answer == z3.sat else None
                why = s.reason_unknown() if answer == z3.unknown else ""
            finally:
                s.pop()
            if answer == z3.unsat:
                continue
            if model is None:
                result.status = "unknown"
                result.detail = f"the solver gave up ({why}) for {currency}"
                continue
            doc = q.space.decode(model)
            holds, verdict, problem = _confirm(rs, prop, resolved, doc, params, q)
            result.counterexample, result.verdict = doc, verdict
            if holds is False:
                result.status, result.detail = "violated", f"contract currency {currency}"
            else:
                result.status = "error"
                result.detail = problem or ("encoder bug: the solver's counterexample does "
                                            "not violate the property on the engine's verdict")
            break
    except EncodingError as exc:
        result.status, result.detail = "unsupported", str(exc)
    except PropertyError as exc:
        result.status, result.detail = "error", f"property {prop.id} ({prop.source}): {exc}"
    except Unsupported as exc:
        result.status = "unsupported"
        result.detail = f"property {prop.id} ({prop.source}): cannot encode {exc.what}"
    result.seconds = round(time.monotonic() - started, 2)
    return result


def prove_rulesets(rulesets: Iterable[Ruleset], *, bound: int = DEFAULT_BOUND,
                   timeout: float = DEFAULT_TIMEOUT,
                   params: Mapping[str, Any] | None = None,
                   only: str | None = None, from_text: bool = False) -> list[Result]:
    """Every declared property of every ruleset; a ruleset without any is an error.

    ``params`` (command-line text when ``from_text``) apply to the rulesets declaring them.
    """
    out = []
    for rs in rulesets:
        try:
            props = load_properties(rs)
        except PropertyError as exc:
            out.append(Result(rs.version, "-", "", "error", bound, [], detail=str(exc)))
            continue
        if not props.properties:
            out.append(Result(rs.version, "-", "", "error", bound, [],
                              detail=f"no properties declared ({props.source})"))
        known = {k: v for k, v in (params or {}).items() if k in rs.parameters}
        _, shown = rs.bind_parameters(known or None, from_text=from_text)
        chosen = [p for p in props.properties
                  if (only is None or only == p.id) and p.applies_to(rs.version)]
        if props.properties and only is None and not chosen:
            out.append(Result(rs.version, "-", "", "error", bound, [],
                              detail=f"no property of {props.source} applies to version "
                              f"{rs.version} (each names its versions:)"))
        try:
            extra = property_literals(chosen)
        except PropertyError as exc:
            out.append(Result(rs.version, "-", "", "error", bound, [], detail=str(exc)))
            continue
        queries: dict[str, tuple[Query, Any]] = {}
        for prop in chosen:
            out.append(check_property(rs, prop, bound=bound, timeout=timeout, params=shown,
                                      queries=queries, extra=extra))
    return out


def render_results(results: list[Result]) -> str:
    """The results as text: one line each, counterexamples below."""
    import json

    lines = []
    for r in results:
        lines.append(f"{r.status.upper():11} {r.ruleset} {r.property}: {r.text}  "
                     f"(K={r.bound}; currencies {', '.join(r.currencies)}; {r.seconds}s)")
        if r.detail:
            lines.append(f"            {r.detail}")
        lines.extend(f"            note: {n}" for n in r.notes)
        if r.counterexample is not None:
            lines.append("            counterexample facts (judged by the engine: "
                         f"{(r.verdict or {}).get('outcome')}, max refund "
                         f"{(r.verdict or {}).get('max_refund')}):")
            lines.extend("              " + line for line in
                         json.dumps(r.counterexample, indent=2).splitlines())
    counts = {s: sum(1 for r in results if r.status == s)
              for s in ("proven", "violated", "unknown", "unsupported", "error")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()) +
                 f" (within the bound K={results[0].bound if results else DEFAULT_BOUND})")
    return "\n".join(lines)
