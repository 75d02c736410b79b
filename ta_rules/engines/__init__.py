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
from ta_rules.money import Money

__all__ = ["ENGINES", "Engine", "Program", "RawDecision", "get_engine"]

RawDecision = tuple[str, list[tuple[Any, ...]], Money, Money | None]


class Program(Protocol):
    """An engine's form of one ruleset."""

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> RawDecision:
        """Decide: (outcome, raw reasons, max_refund, coverage_cap)."""


class Engine(Protocol):
    """Turns rulesets into programs."""

    name: str

    def prepare(self, ruleset: Any) -> Program:
        """Build (or fetch the cached) program for ``ruleset``."""


class _CompiledProgram:
    def __init__(self, ruleset: Any) -> None:
        self._plain = ruleset._decide
        self._traced = ruleset._decide_traced

    def run(self, facts: Facts, params: Mapping[str, Any],
            trace: list[Any] | None) -> RawDecision:
        if trace is None:
            return self._plain(facts, params, None)  # type: ignore[no-any-return]
        return self._traced(facts, params, trace)  # type: ignore[no-any-return]


class CompiledEngine:
    """The default engine: the generated Python of the compiler."""

    name = "compiled"

    def __init__(self) -> None:
        self._cache: weakref.WeakKeyDictionary[Any, _CompiledProgram] = \
            weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def prepare(self, ruleset: Any) -> Program:
        """The program of ``ruleset`` (cached)."""
        program = self._cache.get(ruleset)
        if program is None:
            with self._lock:
                program = self._cache.get(ruleset)
                if program is None:
                    program = _CompiledProgram(ruleset)
                    self._cache[ruleset] = program
        return program


ENGINES: dict[str, Engine] = {"compiled": CompiledEngine()}


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
