"""One solver query: a symbolic facts document judged by one or more rulesets.

The contract currency is fixed per query. :func:`currency_classes` gives the currencies
to query so that every currency is covered: the rules can tell a currency apart only by
naming it (``currency == "USD"``, a list parameter) or by its minor unit (rounding), so the
currencies they name, plus one currency they do not name for each minor unit (0, 2, 3 and
4 places), stand for all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import z3

from ta_rules.money import Money, is_known_currency, known_currencies, minor_unit
from ta_rules.rulesets import ir
from ta_rules.rulesets._types import TypeEnv, type_env
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.resolve import OUTCOMES
from ta_rules.verify import check_timeout
from ta_rules.verify.rules_enc import EncodingError, RulesetEncoder, SymVerdict
from ta_rules.verify.space import FactSpace, Leaf
from ta_rules.verify.values import Strings

__all__ = ["Query", "currency_classes", "env_of", "literals"]


def env_of(rs: Ruleset) -> TypeEnv:
    """The rule-language types of the facts vocabulary a ruleset is written against."""
    if rs.vocabulary is None:
        raise EncodingError("a ruleset without a facts vocabulary", rs.version, rs.source)
    return type_env(rs.vocabulary)

_REPRESENTATIVES = {2: "EUR", 0: "JPY", 3: "BHD", 4: "CLF"}


def _strings_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Money):
        yield value.currency
    elif isinstance(value, tuple | list | frozenset | set):
        for x in value:
            yield from _strings_in(x)


def _nodes(rir: ir.RulesetIR) -> Iterable[ir.Node]:
    for v in rir.values.values():
        yield v.node
    for f in rir.functions.values():
        yield f.node
    for g in rir.groups.values():
        if g.iterable is not None:
            yield g.iterable
    for rule in rir.all_rules():
        if rule.when is not None:
            yield rule.when
        yield from rule.reasons
        yield from (n for _, n in rule.with_values)
    yield from (n for n in rir.amounts.values() if n is not None)


def literals(rulesets: Sequence[Ruleset], params: Sequence[Mapping[str, Any]]) -> set[str]:
    """Every string the rulesets (and their parameter values) mention."""
    out: set[str] = set(OUTCOMES)
    for rs, p in zip(rulesets, params, strict=True):
        assert rs.ir is not None
        for value in p.values():
            out.update(_strings_in(value))
        for g in rs.ir.groups.values():
            out.update(t.name for t in g.tables)
        for root in _nodes(rs.ir):
            for node in ir.walk(root):
                if isinstance(node, ir.Const):
                    out.update(_strings_in(node.value))
                if node.t.choices:
                    out.update(node.t.choices)
    return out


def currency_classes(mentioned: Iterable[str]) -> list[str]:
    """The contract currencies to query: those the rules name, and one per minor unit."""
    named = sorted(c for c in set(mentioned) if len(c) == 3 and c.isupper()
                   and is_known_currency(c))
    out = list(named)
    for places, preferred in _REPRESENTATIVES.items():
        pick = preferred if preferred not in named else next(
            (c for c in known_currencies() if c not in named
             and minor_unit(c) == places), None)
        if pick is not None and pick not in out:
            out.append(pick)
    return out


def _field_types(voc: Any) -> set[tuple[str, str, str]]:
    return {(r.name, f.name, str(f.type)) for r in voc.records for f in r.fields}


def _widest(rulesets: Sequence[Ruleset]) -> Ruleset | None:
    """The ruleset whose vocabulary holds every field of the others' with the same type."""
    if any(rs.vocabulary is None for rs in rulesets):
        return None
    fields = [_field_types(rs.vocabulary) for rs in rulesets]
    for rs, own in zip(rulesets, fields, strict=True):
        if all(other <= own for other in fields):
            return rs
    return None


def settled_check(s: Any) -> Any:
    """``s.check()``, asked once more when the solver gives up.

    On a loaded machine a check can come back ``unknown`` (``canceled``) long before its
    time limit; that says nothing about the rules, so a second answer is asked for before
    "unknown" is reported.
    """
    answer = s.check()
    if answer == z3.unknown:
        answer = s.check()
    return answer


@dataclasses.dataclass
class Query:
    """A facts space for one currency, the encoders of the rulesets, and their verdicts."""

    space: FactSpace
    encoders: list[RulesetEncoder]
    verdicts: list[SymVerdict]
    currency: str
    bound: int

    @classmethod
    def build(cls, rulesets: Sequence[Ruleset], params: Sequence[Mapping[str, Any]], *,
              currency: str, bound: int, extra: Iterable[str] = ()) -> Query:
        """Encode ``rulesets`` (with their parameter values) over one facts space."""
        strings = Strings(literals(rulesets, params) | set(extra) | {currency})
        widest = _widest(rulesets)
        if widest is None:
            raise EncodingError("rulesets written against facts vocabularies neither of "
                                "which holds every field of the other with the same type",
                                ", ".join(rs.version for rs in rulesets),
                                ", ".join(rs.source for rs in rulesets))
        # one facts document for all: a field only the newer vocabulary has is one the
        # older version ignores (ta_rules.evaluate.read_facts)
        space = FactSpace(strings, currency, bound, env_of(widest))
        encoders = [RulesetEncoder(rs, space.roots, strings, currency, p)
                    for rs, p in zip(rulesets, params, strict=True)]
        verdicts = [e.verdict() for e in encoders]
        return cls(space, encoders, verdicts, currency, bound)

    def solver(self, timeout: float, optimize: bool = False,
               meaning: Callable[[Leaf], set[str] | None] | None = None) -> Any:
        """A solver holding the document's validity constraints.

        ``meaning``: see :meth:`~ta_rules.verify.space.FactSpace.constraints`.
        """
        s = z3.Optimize() if optimize else z3.Solver()
        s.set("timeout", check_timeout(timeout, "timeout"))
        s.add(*self.space.constraints(meaning))
        return s
