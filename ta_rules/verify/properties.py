"""Properties of a ruleset, written by policy writers beside the rules, and their meaning.

A properties file is ``properties/<ruleset name>.yaml`` in the folder of the rule files::

    ruleset: trade-assurance
    properties:
      - id: refund-within-order-amount
        doc: The refund never exceeds the order amount.
        expect: max_refund <= contract.order_amount
      - id: covered-pays-something
        when: outcome == "covered"
        expect: max_refund.amount > 0
      - id: suspended-supplier-denied
        versions: ">=2025.1"                   # or a list: [2025.1, 2026.1]
        when: supplier_suspended
        expect: outcome == "denied"
    fixed: [contract.category, supplier]      # facts --why-not never changes

A property with ``versions`` is checked only against the versions it names: a list of
versions, or a range of comparisons joined by commas (``">=2017.12, <2026.1"``; versions
compare part by part as numbers). Against a version it applies to, a name that version does
not know is still an error.

Expressions are the rule language (:mod:`ta_rules.rulesets._expr`) over the verdict
(``outcome``, ``max_refund``, ``coverage_cap``, ``reasons`` and ``codes``: the codes
given), the facts, the ruleset's values and parameters, and its groups' reasons
(``gates.denial``), with the built-in functions. :func:`resolve_properties` resolves and
types them with the rule resolver, against each version they apply to (a mistake is a
located ``compile.*`` diagnostic, as in a rule); :class:`PropertyEncoder` gives the
resolved form its z3 meaning with the one expression encoder
(:class:`~ta_rules.verify.encode.ExprEncoder`) over a :class:`World`: symbolic for the
solver, or concrete (the engine's verdict and values) to re-check an answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import z3

from ta_rules.rulesets import ir
from ta_rules.rulesets._types import REASONS
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.properties import (
    Properties,
    Property,
    PropertyError,
    ResolvedProperty,
    Versions,
    load_properties,
    property_literals,
    resolve_properties,
    verdict_types,
)
from ta_rules.verify.encode import ExprEncoder, const_sym
from ta_rules.verify.values import TRUE, Strings, Sym, Unsupported, truth

__all__ = ["Properties", "Property", "PropertyEncoder", "PropertyError", "ResolvedProperty",
           "Versions", "World", "load_properties", "property_literals", "resolve_properties",
           "verdict_types"]


@dataclasses.dataclass
class World:
    """What a property can name: the verdict, facts, values, parameters, groups."""

    outcome: Sym
    max_refund: Sym
    coverage_cap: Sym
    reasons: list[Any]
    facts: Mapping[str, Sym]
    value: Callable[[str], Sym]
    group: Callable[[str], list[Any]]
    params: Mapping[str, Any]
    ruleset: Ruleset
    strings: Strings


class PropertyEncoder:
    """The meaning of resolved properties in a :class:`World`, by the one expression encoder.

    Args:
        world: The verdict, facts, values... (symbolic, or the engine's).
        resolved: The properties in the intermediate form (:func:`resolve_properties`).
    """

    def __init__(self, world: World, resolved: Mapping[str, ResolvedProperty]) -> None:
        self.w = world
        self.resolved = resolved
        rir = world.ruleset.ir
        self.x = ExprEncoder(world.strings, "", self._ref, self._group_kind,
                             lambda name: rir.functions[name] if rir else _no_function(name))

    def _ref(self, n: ir.Ref) -> Sym:
        w = self.w
        if n.kind == "verdict":
            if n.name in ("reasons", "codes"):
                return Sym(n.t, entries=list(w.reasons))
            return {"outcome": w.outcome, "max_refund": w.max_refund,
                    "coverage_cap": w.coverage_cap}[n.name]
        if n.kind == "fact":
            return w.facts[n.name]
        if n.kind == "value":
            return w.value(n.name)
        if n.kind == "param":
            return const_sym(w.params[n.name], n.t, w.strings)
        if n.kind == "group":
            return Sym(n.t, entries=list(w.group(n.name)))
        raise Unsupported(f"the name {n.name} ({n.kind}) in a property")

    def _group_kind(self, group: str, kind: str) -> Sym:
        codes = {c for c, r in self.w.ruleset.reasons.items() if r.kind == kind}
        return Sym(REASONS, entries=[e for e in self.w.group(group) if e[1] in codes])

    def _get(self, prop: Property) -> ResolvedProperty:
        got = self.resolved.get(prop.id)
        if got is None:
            raise PropertyError(f"property {prop.id} was not resolved")
        return got

    def holds(self, prop: Property) -> Any:
        """The property as one z3 Bool."""
        r = self._get(prop)
        expect = truth(self.x.expr(r.expect))
        if r.when is None:
            return expect
        return z3.Implies(truth(self.x.expr(r.when)), expect)

    def premise(self, prop: Property) -> Any:
        """The ``when`` of a property (true without one)."""
        r = self._get(prop)
        return TRUE if r.when is None else truth(self.x.expr(r.when))


def _no_function(name: str) -> ir.FunctionIR:
    raise Unsupported(f"the function {name}() of a ruleset without its intermediate form")
