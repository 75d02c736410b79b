"""The boundary between the compiler and the runtime: programs and the decision they return.

A compiled ruleset has one program per :data:`ProgramMode`, each generated from the typed
intermediate form and compiled the first time it is asked for (:class:`Programs`):

- ``plain``: the decision alone, what :func:`ta_rules.evaluate` runs;
- ``traced``: the decision, recording every rule with the values its condition read;
- ``holds``: traced, asking an external engine which rules hold (with the lowered
  conditions it is given);
- ``values``: the decision with every value and group it computed (what verification
  checks a solver's answer against).

Every program returns a :class:`Decision`: what a verdict is built from, declared by name.
"""

from __future__ import annotations

import dataclasses
import linecache
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from ta_rules.errors import Location

if TYPE_CHECKING:
    from ta_rules.money import Money

__all__ = ["MODES", "Decision", "Holds", "Program", "ProgramMode", "Programs", "RawReason",
           "SourceMap"]

ProgramMode = Literal["plain", "traced", "holds", "values"]
MODES: Final[tuple[ProgramMode, ...]] = ("plain", "traced", "holds", "values")

#: A reason as a program gives it: (code, rule id, subject or None, message values or None).
RawReason = tuple[str, str, Any, "dict[str, Any] | None"]


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """What a ruleset decides on one claim, before it becomes a verdict.

    Attributes:
        outcome: covered, denied, pending or settled.
        reasons: Every reason given, in order, duplicates included.
        amounts: Each amount of the file's ``amounts`` section by name (``max_refund``,
            ``coverage_cap``), unrounded; None where the amount is null.
        values: In ``values`` mode, every value computed, by its name in the file.
        groups: In ``values`` mode, the reasons of every group, by group name.
    """

    outcome: str
    reasons: list[RawReason]
    amounts: Mapping[str, Money | None]
    values: Mapping[str, Any] | None = None
    groups: Mapping[str, list[RawReason]] | None = None

    def amount(self, name: str) -> Money:
        """The amount ``name``, which must not be null (``max_refund`` never is).

        Raises:
            ValueError: The amount is null.
        """
        value = self.amounts[name]
        if value is None:
            raise ValueError(f"the amount {name} is null")
        return value


class Holds(Protocol):
    """What a ``holds`` program asks: which rules of a block hold for one fact."""

    def holds(self, tag: str, fact: Mapping[str, Any]) -> set[int]:
        """The indexes of the block's rules whose conditions hold for ``fact``."""


class SourceMap:
    """Which part of a ruleset each generated line evaluates: line -> (what, location)."""

    def __init__(self) -> None:
        self.owners: dict[int, tuple[str, Location]] = {}

    def owner(self, lineno: int) -> tuple[str, Location] | None:
        """What generated line ``lineno`` (1-based) evaluates, or None."""
        return self.owners.get(lineno)


@dataclasses.dataclass(frozen=True)
class Program:
    """One compiled program of a ruleset.

    Attributes:
        mode: Which program it is.
        source: The generated Python (for review and debugging).
        filename: The name its code is compiled under (tracebacks show its lines).
        decide: ``decide(facts, params, trace)`` (``trace`` a list to append to in
            ``traced`` mode, else None); in ``holds`` mode ``decide(facts, params, trace,
            engine)`` with a :class:`Holds`.
        source_map: Which rule or value each line evaluates.
        lowered: In ``holds`` mode, each block's rule conditions, lowered for external
            engines (tag -> [(rule id, condition)]); else empty.
    """

    mode: ProgramMode
    source: str
    filename: str
    decide: Callable[..., Decision]
    source_map: SourceMap
    lowered: Mapping[str, list[tuple[str, Any]]]


#: Builds the program of a mode: (source, line owners, namespace of constants, lowered).
Build = Callable[[ProgramMode], tuple[str, list[Any], dict[str, Any], dict[str, Any]]]


class Programs:
    """The programs of one ruleset, each compiled on first use; thread-safe.

    Holds no reference to its ruleset (engines keep programs in caches keyed weakly by the
    ruleset). The generated sources stay readable by tracebacks until :meth:`forget`.
    """

    def __init__(self, label: str, build: Build, namespace: Callable[[], dict[str, Any]]
                 ) -> None:
        self._label = label
        self._build = build
        self._namespace = namespace
        self._programs: dict[ProgramMode, Program] = {}
        self._lock = threading.Lock()

    def get(self, mode: ProgramMode) -> Program:
        """The program of ``mode``, compiled the first time."""
        program = self._programs.get(mode)
        if program is None:
            if mode not in MODES:
                raise ValueError(f"no program mode {mode!r}; modes: {', '.join(MODES)}")
            with self._lock:
                program = self._programs.get(mode)
                if program is None:
                    program = self._programs[mode] = self._compile(mode)
        return program

    def compiled(self) -> list[Program]:
        """The programs compiled so far."""
        return list(self._programs.values())

    def _compile(self, mode: ProgramMode) -> Program:
        source, owners, consts, lowered = self._build(mode)
        suffix = "" if mode == "plain" else f" {mode}"
        filename = f"{self._label[:-1]}{suffix}>"
        source_map = SourceMap()
        for lineno, owner in enumerate(owners, start=1):
            if owner is not None:
                source_map.owners[lineno] = owner
        ns = {**self._namespace(), **consts}
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), ns)
        return Program(mode, source, filename, ns[_FUNCTION[mode]], source_map,
                       MappingProxyType(lowered))

    def owner(self, filename: str, lineno: int) -> tuple[str, Location] | None:
        """What line ``lineno`` of the program compiled as ``filename`` evaluates."""
        for program in self.compiled():
            if program.filename == filename:
                return program.source_map.owner(lineno)
        return None

    def forget(self) -> None:
        """Drop the generated sources from :mod:`linecache`."""
        for program in self.compiled():
            linecache.cache.pop(program.filename, None)


#: The name of the generated function of each mode.
_FUNCTION: Final[Mapping[ProgramMode, str]] = MappingProxyType({
    "plain": "_decide", "traced": "_decide_traced", "holds": "_decide_holds",
    "values": "_decide_values"})


def function_name(mode: ProgramMode) -> str:
    """The name of the generated function of ``mode``."""
    return _FUNCTION[mode]
