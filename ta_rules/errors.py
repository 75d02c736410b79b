"""The error tree and the diagnostics that rule files, scenario files and facts produce.

Every problem a user can cause is a :class:`TaRulesError`. Problems found in files are
collected as :class:`Diagnostic` values (a stable code, a message, a :class:`Location` and
an optional hint), sorted by location and raised together, so a policy writer sees every
mistake in one run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, Literal

__all__ = [
    "Diagnostic",
    "EngineError",
    "EngineUnavailableError",
    "EvaluationError",
    "FactsError",
    "Location",
    "OutOfRangeError",
    "ParameterError",
    "RulesetError",
    "ScenarioError",
    "TaRulesError",
    "UnknownRulesetError",
    "render_diagnostics",
]

Severity = Literal["error", "warning"]
_WIDTH = 160


@dataclasses.dataclass(frozen=True, order=True)
class Location:
    """Where something is written: a file, a 1-based line and column, and a data path.

    Attributes:
        source: The file name as given by the user (or ``<string>``).
        line: 1-based line, 0 when unknown.
        column: 1-based column, 0 when unknown.
        path: The data path inside the document, e.g. ``gates[2].when``.
    """

    source: str
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.column}"
        return self.source


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem found in a file.

    Attributes:
        code: A stable identifier such as ``compile.unknown-fact``.
        message: What was expected and what was found.
        location: Where the problem is.
        hint: An optional suggestion ("did you mean ...?").
        severity: ``error`` or ``warning``.
        related: Other places involved (for example the other file of an overlap).
    """

    code: str
    message: str
    location: Location
    hint: str | None = None
    severity: Severity = "error"
    related: tuple[Location, ...] = ()

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order by file, line, column, then code."""
        loc = self.location
        return (loc.source, loc.line, loc.column, self.code)

    def render(self, source_text: str | None = None) -> str:
        """Render as ``file:line:col: error[code]: message`` with the source line and a caret.

        Args:
            source_text: The text of the file, used to quote the offending line.

        Returns:
            The rendered diagnostic (several lines when a source line or hint is shown).
        """
        head = f"{self.location}: {self.severity}[{self.code}]: {self.message}"
        lines = [head]
        loc = self.location
        if source_text is not None and loc.line:
            text_lines = source_text.splitlines()
            if 0 < loc.line <= len(text_lines):
                src = text_lines[loc.line - 1].replace("\t", " ")
                caret = max(loc.column - 1, 0)
                if len(src) > _WIDTH:  # show a window of a very long line around the column
                    start = max(0, min(caret - _WIDTH // 2, len(src) - _WIDTH))
                    src = ("..." if start else "") + src[start:start + _WIDTH] + (
                        "..." if start + _WIDTH < len(src) else "")
                    caret = caret - start + (3 if start else 0)
                gutter = f"{loc.line:>4} | "
                lines.append(gutter + src)
                lines.append(" " * (len(gutter) + caret) + "^")
        lines.extend(f"  note: also {rel}" for rel in self.related)
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Return the diagnostic as JSON-ready data."""
        loc = self.location
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": loc.source,
            "line": loc.line,
            "column": loc.column,
            "path": loc.path,
            "hint": self.hint,
            "related": [
                {"file": r.source, "line": r.line, "column": r.column} for r in self.related
            ],
        }


def render_diagnostics(
    diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None
) -> str:
    """Render diagnostics, each with its source line when the text is known."""
    sources = sources or {}
    return "\n".join(d.render(sources.get(d.location.source)) for d in diagnostics)


class TaRulesError(Exception):
    """The root of every error ta-rules raises on purpose.

    Attributes:
        index: The position of the item the error is about when it comes from a stream of
            items (:func:`ta_rules.evaluate_many`), else None.
    """

    index: int | None = None


class RulesetError(TaRulesError):
    """A rule file (or a set of them) is wrong; every problem is in ``diagnostics``.

    Attributes:
        diagnostics: The problems, sorted by location; a problem found twice (in a base
            file read for each version written as changes to it) is given once.
        sources: The text of each file involved, for rendering carets.
    """

    def __init__(
        self, diagnostics: Sequence[Diagnostic], *, sources: dict[str, str] | None = None
    ) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(dict.fromkeys(diagnostics), key=Diagnostic.sort_key)
        )
        self.sources: dict[str, str] = dict(sources or {})
        count = len(self.diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        summary = f"{count} problem{'s' if count != 1 else ''} in rule files"
        if first is not None:
            summary += f"; first: {first.location}: [{first.code}] {first.message}"
        super().__init__(summary)

    def render(self) -> str:
        """Render every diagnostic with source lines and carets."""
        return render_diagnostics(self.diagnostics, self.sources)


class ScenarioError(TaRulesError):
    """A scenario file cannot be read; the problems are in ``diagnostics``."""

    def __init__(
        self, diagnostics: Sequence[Diagnostic], *, sources: dict[str, str] | None = None
    ) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(
            sorted(diagnostics, key=Diagnostic.sort_key)
        )
        self.sources: dict[str, str] = dict(sources or {})
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(
            f"{first.location}: [{first.code}] {first.message}" if first else "bad scenario"
        )

    def render(self) -> str:
        """Render every diagnostic with source lines and carets."""
        return render_diagnostics(self.diagnostics, self.sources)


@dataclasses.dataclass(frozen=True)
class FactProblem:
    """One bad value in a facts document.

    Attributes:
        path: Dotted path with list indexes, e.g. ``payments[0].amount.amount``.
        message: What was expected and what was found.
        code: A short machine code (pydantic's error type or ours).
    """

    path: str
    message: str
    code: str


class FactsError(TaRulesError, ValueError):
    """The facts document is invalid; every offending path is in ``problems``."""

    def __init__(self, problems: Sequence[FactProblem]) -> None:
        self.problems: tuple[FactProblem, ...] = tuple(problems)
        body = "; ".join(f"{p.path or '<document>'}: {p.message}" for p in self.problems)
        super().__init__(f"invalid facts ({len(self.problems)} problem(s)): {body}")

    @property
    def paths(self) -> tuple[str, ...]:
        """The offending paths, in document order."""
        return tuple(p.path for p in self.problems)


class ParameterError(TaRulesError, ValueError):
    """A parameter override names an unknown parameter or has a value of the wrong type."""


class OutOfRangeError(TaRulesError, ValueError):
    """The facts and parameters lead a rule to a value that cannot exist (not a bug).

    For example a date after 9999-12-31 (a ship-by date plus a huge grace period). No verdict
    is given: the message names the value, and the rule and its ``file:line:column``.

    Attributes:
        rule: The rule (or ``value NAME``...) that was being evaluated, once known.
        location: Where it is written, once known.
    """

    def __init__(self, message: str, *, rule: str | None = None,
                 location: Location | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.location = location


class UnknownRulesetError(TaRulesError, LookupError):
    """No ruleset (or version) matches the request."""


class EngineError(TaRulesError):
    """An evaluation engine failed or cannot run a ruleset.

    Attributes:
        rule: The id of the rule the engine cannot take, when one is to blame.
    """

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class EvaluationError(EngineError):
    """Generated code failed while judging a claim: a bug, named by the rule that ran.

    Attributes:
        rule: The rule (or ``value NAME``...) that was being evaluated.
        location: Where it is written (``file:line:column``).
    """

    def __init__(self, message: str, *, rule: str | None, location: Location) -> None:
        super().__init__(message, rule=rule)
        self.location = location


class EngineUnavailableError(EngineError):
    """The requested engine cannot be used on this interpreter (for example, not installed)."""


__all__ += ["FactProblem"]
__all__.sort()
