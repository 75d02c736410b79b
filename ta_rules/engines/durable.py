"""The durable-rules engine: a Rete network (C core) decides which rules hold.

The shared code computes every value once and hands the network one flat fact per block of
rules (see :mod:`ta_rules.rulesets._lower`): exact integers for money (minor units at a
common scale) and dates (day numbers), canonical strings for equality, presence markers for
null tests and booleans for what the network cannot express (membership, quantifiers). The
network answers which rules hold; the shared code then assembles the verdict exactly as the
compiled engine does.

Only the extension module's low-level functions are used (``create_ruleset``,
``assert_fact``, ``start_action_for_state``, ``complete_and_start_action``,
``retract_fact``): the high-level ``durable.lang`` host keeps a global registry and runs
timer threads that can take actions from an evaluation in progress. Each evaluation takes a
session id from a pool, asserts a fact with its own id, drains the actions and retracts the
fact, so threads never share a session and memory stays flat.

Limits of durable-rules 2.0.28 that hang or crash the process are refused when a ruleset is
prepared, never met at evaluation: at most 64 alpha nodes pending in one match (error 303)
— blocks are split into chunks of at most 60 possible matches, and a single rule with more
is refused; at most 255 properties per fact — chunks keep under 250; fewer than 512 constants
on one field (the block tags); no arithmetic in conditions (so no integer division by zero).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import re
import weakref
from collections.abc import Mapping
from typing import Any, Final

from ta_rules.engines import CachingEngine, Decision
from ta_rules.errors import EngineError, EngineUnavailableError
from ta_rules.facts import Facts
from ta_rules.rulesets._lower import (
    And,
    Equal,
    Flag,
    LNode,
    Or,
    Order,
    Present,
    Truth,
    match_count,
)
from ta_rules.rulesets.compile import Ruleset

__all__ = ["DurableEngine", "durable_condition"]

MAX_MATCHES: Final = 60
MAX_PROPERTIES: Final = 250
MAX_TAGS: Final = 500

#: durable-rules error codes (src/rules/rules.h) and what they mean here.
ERROR_CODES: Final = {
    101: "out of memory",
    102: "unexpected type in a rule definition",
    106: "too many rules",
    111: "invalid ruleset handle",
    112: "too many rulesets",
    113: "too many expressions in one rule",
    201: "the fact is not valid JSON",
    302: "more than 255 properties in one fact",
    303: "more than 64 alpha nodes pending in one match",
    304: "too many messages in one frame",
    309: "unknown session",
    313: "the fact is too large",
}

_OPS: Final = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def durable_condition(node: LNode) -> dict[str, Any] | None:
    """The durable-rules JSON condition of a lowered condition (None: always true)."""
    if isinstance(node, Truth):
        return None if node.value else {"$nex": {"t": 1}}
    if isinstance(node, And | Or):
        parts = [durable_condition(p) for p in node.parts]
        if isinstance(node, And):
            kept = [p for p in parts if p is not None]
            if not kept:
                return None
            return kept[0] if len(kept) == 1 else {"$and": kept}
        if any(p is None for p in parts):
            return None
        return {"$or": parts}
    if isinstance(node, Order):
        return {_OPS[node.op]: {node.left: {"$m": node.right}}}
    if isinstance(node, Equal):
        if node.op == "==":
            return {node.left: {"$m": node.right}}
        return {"$neq": {node.left: {"$m": node.right}}}
    if isinstance(node, Present):
        return {"$ex" if node.present else "$nex": {node.prop: 1}}
    assert isinstance(node, Flag)
    return {node.prop: node.value}


def _props(node: LNode) -> set[str]:
    if isinstance(node, And | Or):
        return set().union(*(_props(p) for p in node.parts))
    if isinstance(node, Order | Equal):
        return {node.left, node.right}
    if isinstance(node, Present | Flag):
        return {node.prop}
    return set()


def _import() -> Any:
    try:
        import durable_rules_engine
    except ImportError as exc:
        raise EngineUnavailableError(
            "the durable engine needs durable-rules, which is not importable here "
            f"({exc}); install it with: pip install 'ta-rules[durable]' (durable-rules "
            "2.0.28 builds from source with a C compiler and does not work on Python 3.13 "
            "or later); the default engine, 'compiled', is unaffected"
        ) from None
    return durable_rules_engine


def _engine_error(exc: Exception, what: str) -> EngineError:
    text = str(exc)
    m = re.search(r"(\d{3})", text)
    meaning = ERROR_CODES.get(int(m.group(1))) if m else None
    detail = f"error {m.group(1)}: {meaning}" if m and meaning else text
    return EngineError(f"durable-rules failed to {what} ({detail})")


def _delete_ruleset(engine: Any, handle: Any, sessions: list[str]) -> None:
    with contextlib.suppress(Exception):  # at interpreter exit the module may be gone
        for sid in sessions:
            engine.delete_state(handle, sid)
        engine.delete_ruleset(handle)


class _Chunk:
    def __init__(self, tag: str, indexes: list[int], props: set[str]) -> None:
        self.tag = tag
        self.indexes = indexes
        self.props = sorted(props)


class DurableProgram:
    """One ruleset in a durable-rules network."""

    _names = itertools.count(1)

    def __init__(self, ruleset: Ruleset) -> None:
        self.engine = _import()
        # the program lives in a cache keyed weakly by the ruleset: it must not refer to the
        # ruleset itself, or neither would ever be freed
        self._label = f"{ruleset.name} {ruleset.version}"
        program = ruleset.program("holds")
        self._decide_holds = program.decide
        self._chunks: dict[str, list[_Chunk]] = {}
        self._rule_index: dict[str, tuple[str, int]] = {}
        definition: dict[str, Any] = {}
        for tag, conditions in program.lowered.items():
            chunks = self._chunk(tag, conditions)
            self._chunks[tag] = chunks
            for chunk in chunks:
                for i in chunk.indexes:
                    node = conditions[i][1]
                    name = f"r{len(self._rule_index)}"
                    self._rule_index[name] = (tag, i)
                    cond = durable_condition(node)
                    test: dict[str, Any] = {"t": chunk.tag}
                    if cond is not None:
                        test = {"$and": [test, cond]}
                    definition[name] = {"all": [{"m": test}]}
        tags = sum(len(c) for c in self._chunks.values())
        if tags >= MAX_TAGS:
            raise EngineError(f"{ruleset.name} {ruleset.version}: {tags} rule blocks; the "
                              f"durable engine takes fewer than {MAX_TAGS}")
        name = f"ta_rules_{ruleset.name}_{ruleset.version}_{next(self._names)}"
        try:
            self._handle = self.engine.create_ruleset(name, json.dumps(definition))
        except Exception as exc:
            raise _engine_error(exc, f"load {ruleset.name} {ruleset.version}") from None
        self._sids: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._sid_count = itertools.count(1)
        self._sessions: list[str] = []
        # the network and its sessions' states are freed with the program (when its ruleset
        # is dropped, on a reload): deleting the ruleset alone keeps every state it made
        weakref.finalize(self, _delete_ruleset, self.engine, self._handle, self._sessions)
        self._ids = itertools.count(1)

    def _chunk(self, tag: str, conditions: list[tuple[str, LNode]]) -> list[_Chunk]:
        chunks: list[_Chunk] = []
        indexes: list[int] = []
        props: set[str] = set()
        matches = 0
        for i, (rid, node) in enumerate(conditions):
            count = match_count(node)
            need = _props(node)
            if count > MAX_MATCHES or len(need) > MAX_PROPERTIES:
                raise EngineError(
                    f"{self._label}: rule {rid!r} is too complex "
                    f"for the durable engine ({count} alternative matches, {len(need)} "
                    f"values; at most {MAX_MATCHES} and {MAX_PROPERTIES})", rule=rid)
            if indexes and (matches + count > MAX_MATCHES
                            or len(props | need) > MAX_PROPERTIES):
                chunks.append(_Chunk(f"{tag}#{len(chunks)}", indexes, props))
                indexes, props, matches = [], set(), 0
            indexes.append(i)
            props |= need
            matches += count
        chunks.append(_Chunk(f"{tag}#{len(chunks)}", indexes, props))
        return chunks

    def _sid(self) -> str:
        try:
            return self._sids.get_nowait()
        except queue.Empty:
            sid = f"s{next(self._sid_count)}"
            self._sessions.append(sid)
            return sid

    def holds(self, tag: str, fact: Mapping[str, Any]) -> set[int]:
        """The indexes of the block's rules whose conditions hold for ``fact``."""
        held: set[int] = set()
        engine = self.engine
        handle = self._handle
        sid = self._sid()
        try:
            for chunk in self._chunks[tag]:
                part = {p: fact[p] for p in chunk.props if p in fact}
                part["t"] = chunk.tag
                part["sid"] = sid
                part["id"] = next(self._ids)
                payload = json.dumps(part)
                try:
                    code, state = engine.assert_fact(handle, payload)
                    if code == 0:
                        result = engine.start_action_for_state(handle, state)
                        while result:
                            for name in json.loads(result[1]):
                                held.add(self._rule_index[name][1])
                            more = engine.complete_and_start_action(handle, state)
                            result = (result[0], more) if more else None
                    engine.retract_fact(handle, payload)
                except Exception as exc:
                    raise _engine_error(exc, f"evaluate block {tag}") from None
        finally:
            self._sids.put(sid)
        return held

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> Decision:
        """Decide with the network choosing which rules hold."""
        return self._decide_holds(facts, params, trace, self)


class DurableEngine(CachingEngine):
    """``engine="durable"``: durable-rules decides which rules hold."""

    name = "durable"

    def build(self, ruleset: Ruleset) -> DurableProgram:
        """The network of ``ruleset``."""
        return DurableProgram(ruleset)
