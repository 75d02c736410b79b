"""Evaluation engines behind one small interface.

An engine turns a compiled :class:`~ta_rules.rulesets.compile.Ruleset` into a program once
(:meth:`Engine.prepare`, cached per ruleset) and runs it on validated facts. The default
engine, ``compiled``, runs the Python the compiler generated.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

from ta_rules.errors import EngineUnavailableError
from ta_rules.facts import Facts
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.program import Decision, Programs

__all__ = ["ENGINES", "CachingEngine", "Decision", "Engine", "Program", "get_engine"]


class Program(Protocol):
    """An engine's form of one ruleset."""

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> Decision:
        """Decide; with ``trace`` a list, append every rule evaluated to it."""


class Engine(Protocol):
    """Turns rulesets into programs."""

    name: str

    def prepare(self, ruleset: Ruleset) -> Program:
        """Build (or fetch the cached) program for ``ruleset``."""


class _CompiledProgram:
    def __init__(self, ruleset: Ruleset) -> None:
        self._plain = ruleset.program("plain").decide
        # the traced program is compiled when something first traces; the programs do not
        # refer to their ruleset (the engine's cache is weak)
        self._programs: Programs = ruleset.programs

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> Decision:
        if trace is None:
            return self._plain(facts, params, None)
        return self._programs.get("traced").decide(facts, params, trace)


class CachingEngine:
    """An engine that builds each ruleset's program once.

    Thread-safe; a program lives as long as its ruleset (so a program must not refer to its
    ruleset: the cache holds rulesets weakly, and a value referring to its key keeps it).
    """

    name = "caching"

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Ruleset, Program] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def build(self, ruleset: Ruleset) -> Program:
        """Build the program of ``ruleset`` (called once per ruleset)."""
        raise NotImplementedError

    def prepare(self, ruleset: Ruleset) -> Program:
        """The program of ``ruleset`` (built on first use)."""
        program = self._cache.get(ruleset)
        if program is None:
            with self._lock:
                program = self._cache.get(ruleset)
                if program is None:
                    program = self.build(ruleset)
                    self._cache[ruleset] = program
        return program


class CompiledEngine(CachingEngine):
    """The default engine: the generated Python of the compiler."""

    name = "compiled"

    def build(self, ruleset: Ruleset) -> Program:
        """The generated decision functions of ``ruleset``."""
        return _CompiledProgram(ruleset)


class _ReferenceProgram:
    def __init__(self, ruleset: Ruleset) -> None:
        from ta_rules.rulesets._lower import evaluate_lowered

        self._evaluate = evaluate_lowered
        program = ruleset.program("holds")  # not the ruleset: the cache is weak
        self._decide_holds = program.decide
        self._blocks = dict(program.lowered)

    def holds(self, tag: str, fact: Mapping[str, Any]) -> set[int]:
        return {i for i, (_, node) in enumerate(self._blocks[tag]) if self._evaluate(node, fact)}

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> Decision:
        return self._decide_holds(facts, params, trace, self)


class ReferenceEngine(CachingEngine):
    """``engine="reference"``: lowered conditions evaluated by a small Python interpreter.

    The lowered conditions are what external engines receive; this engine pins down what
    they must compute, so a disagreement can be placed: in the lowering, or in the external
    engine.
    """

    name = "reference"

    def build(self, ruleset: Ruleset) -> Program:
        """The reference program of ``ruleset``."""
        return _ReferenceProgram(ruleset)


class _LazyDurable:
    """Imports durable-rules only when the engine is first used."""

    name = "durable"

    def __init__(self) -> None:
        self._engine: Any = None

    def prepare(self, ruleset: Ruleset) -> Program:
        """The durable-rules network of ``ruleset``."""
        if self._engine is None:
            from ta_rules.engines.durable import DurableEngine, _import

            _import()
            self._engine = DurableEngine()
        program: Program = self._engine.prepare(ruleset)
        return program


ENGINES: dict[str, Engine] = {
    "compiled": CompiledEngine(),
    "durable": _LazyDurable(),
    "reference": ReferenceEngine(),
}


def get_engine(name: str) -> Engine:
    """The engine called ``name``.

    Raises:
        EngineUnavailableError: For an unknown engine, or one that cannot run here.
    """
    engine = ENGINES.get(name)
    if engine is None:
        raise EngineUnavailableError(
            f"unknown engine {name!r}; available: {', '.join(sorted(ENGINES))}")
    return engine
