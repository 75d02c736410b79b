"""Batch evaluation: JSON Lines of facts in, JSON Lines of verdicts out, in order.

Memory stays constant however long the input: lines are read, judged and written in
chunks, with a bounded number of chunks in flight when several worker processes are used.
Each output line is ``{"line": N, "verdict": {...}}`` or, for a line that could not be
judged, ``{"line": N, "error": {...}}``; a bad line never stops the others unless
``strict`` is set.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import IO, Any, Protocol, TypeVar

from ta_rules.errors import FactsError, TaRulesError

__all__ = ["BatchSummary", "batch_options", "judge_lines", "numbered_chunks", "run_batch"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)

CHUNK = 200
MAX_LINE = 16 * 1024 * 1024


@dataclasses.dataclass
class BatchSummary:
    """What a batch run produced."""

    claims: int = 0
    errors: int = 0
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    reasons: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    refunds: dict[str, Decimal] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    stopped_at: int | None = None

    def add(self, part: BatchSummary) -> None:
        """Fold a chunk's summary in."""
        self.claims += part.claims
        self.errors += part.errors
        self.outcomes.update(part.outcomes)
        self.reasons.update(part.reasons)
        for currency, amount in part.refunds.items():
            self.refunds[currency] = self.refunds.get(currency, Decimal(0)) + amount

    def render(self) -> str:
        """A readable summary."""
        rate = self.claims / self.seconds if self.seconds else 0.0
        lines = [f"{self.claims} claims judged, {self.errors} bad line(s) in "
                 f"{self.seconds:.1f} s ({rate:,.0f} claims/s)"]
        lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                             sorted(self.outcomes.items())))
        refunds = ", ".join(f"{amount} {currency}" for currency, amount in
                            sorted(self.refunds.items())) or "none"
        lines.append(f"total refunds: {refunds}")
        lines.append("reasons:")
        lines.extend(f"  {code:<40} {n}" for code, n in self.reasons.most_common())
        if self.stopped_at is not None:
            lines.append(f"stopped at line {self.stopped_at} (--strict)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"claims": self.claims, "errors": self.errors,
                "outcomes": dict(self.outcomes), "reasons": dict(self.reasons),
                "refunds": {c: str(a) for c, a in self.refunds.items()},
                "seconds": round(self.seconds, 3), "stopped_at": self.stopped_at}


# Options of the worker processes: set once per process by _init.
_OPTIONS: dict[str, Any] = {}
_STRICT: list[bool] = [False]


def _init(options: dict[str, Any], strict: bool = False) -> None:
    _OPTIONS.clear()
    _OPTIONS.update(options)
    _STRICT[0] = strict


Judged = tuple[list[str], BatchSummary, list[tuple[int, str]]]


def _judge_chunk(chunk: list[tuple[int, str]]) -> Judged:
    """Judge a chunk with this process's options (set by :func:`_init`)."""
    return judge_lines(chunk, _OPTIONS, strict=_STRICT[0])


def judge_lines(chunk: list[tuple[int, str]], options: dict[str, Any], *,
                strict: bool = False) -> Judged:
    """Judge numbered lines: output lines, a summary, and (line, message) of bad lines.

    Args:
        chunk: (line number, text) pairs.
        options: Keyword options of :func:`ta_rules.evaluate`.
        strict: Stop after the first line that cannot be judged.
    """
    from ta_rules.evaluate import evaluate

    out: list[str] = []
    summary = BatchSummary()
    bad: list[tuple[int, str]] = []
    for number, text in chunk:
        try:
            if len(text) > MAX_LINE:
                raise ValueError(f"line is {len(text)} characters; at most {MAX_LINE}")
            data = json.loads(text)
            verdict = evaluate(data, **options)
        except FactsError as exc:
            error: dict[str, Any] = {"kind": "facts", "message": str(exc), "problems": [
                {"path": p.path, "message": p.message} for p in exc.problems]}
        except TaRulesError as exc:
            # before ValueError: ParameterError is one too, and is not about the JSON
            error = {"kind": type(exc).__name__, "message": str(exc)}
        except (ValueError, RecursionError) as exc:
            error = {"kind": "json", "message": f"not a JSON document: {exc}"}
        else:
            summary.claims += 1
            summary.outcomes[verdict.outcome] += 1
            summary.reasons.update(verdict.codes)
            refund = verdict.max_refund
            summary.refunds[refund.currency] = \
                summary.refunds.get(refund.currency, Decimal(0)) + refund.amount
            out.append(f'{{"line": {number}, "verdict": {verdict.model_dump_json()}}}')
            continue
        summary.errors += 1
        bad.append((number, error["message"]))
        out.append(json.dumps({"line": number, "error": error}, ensure_ascii=False))
        if strict:
            break
    return out, summary, bad


def batch_options(
    registry: Any, *, ruleset: str | None = None, version: str | None = None,
    text_parameters: dict[str, str] | None = None, locale: str = "en",
    engine: str = "compiled", trace: bool = False,
) -> dict[str, Any]:
    """The options every line of a batch is judged with, checked once before the first line.

    ``text_parameters`` (``--set`` values) are read by the types of the pinned version, else
    of the newest version that declares each.

    Raises:
        UnknownRulesetError, ParameterError, EngineError, TaRulesError: A bad option (an
            unknown ruleset, parameter, engine or locale).
    """
    from ta_rules.engines import get_engine
    from ta_rules.messages import require_catalog, resolve_locale

    options: dict[str, Any] = {"ruleset": ruleset, "version": version, "locale": locale,
                               "engine": engine, "trace": trace, "registry": registry}
    if text_parameters:
        options["parameters"] = _typed_sets(registry, ruleset, version, text_parameters)
    get_engine(engine)
    loc = resolve_locale(locale)
    for rs in registry.rulesets:
        if rs.spec.catalog is not None:
            require_catalog(loc, rs.spec.catalog, rs.catalog_root)
    return options


def _typed_sets(registry: Any, name: str | None, version: str | None,
                sets: dict[str, str]) -> dict[str, Any]:
    """``--set`` values typed by the pinned version, else by the newest that declares each.

    Without a pin every claim is judged by the version in force for it, which reports an
    override it does not declare.
    """
    pinned = registry.select(name, version)
    shown: dict[str, Any] = {}
    for param, text in sets.items():
        typed = pinned
        if version is None:
            typed = next((r for r in reversed(registry.versions(pinned.name))
                          if param in r.parameters), pinned)
        shown.update(typed.bind_parameters({param: text}, from_text=True)[1])
    return shown


def numbered_chunks(lines: Iterable[str], size: int = CHUNK) -> Iterator[list[tuple[int, str]]]:
    """The lines that are not blank as (1-based line number, line), in chunks of ``size``."""
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        chunk.append((number, line))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def worker_pool(workers: int, initializer: Callable[..., None],
                initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, each set up by ``initializer(*initargs)``."""
    methods = multiprocessing.get_all_start_methods()
    # fork shares the loaded rulesets with the workers; spawn re-imports where fork is absent
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer,
                               initargs=initargs)


def run_batch(
    lines: Iterable[str], out: IO[str], *, workers: int = 1, strict: bool = False,
    options: dict[str, Any] | None = None, report: IO[str] | None = None,
    progress: bool = False, source: str = "<input>",
) -> BatchSummary:
    """Judge every line of ``lines`` and write a result line for each, in input order.

    Args:
        lines: JSON documents, one per line (blank lines are skipped).
        out: Where the JSON Lines results go.
        workers: Worker processes (1 = in this process).
        strict: Stop at the first line that cannot be judged.
        options: Keyword options of :func:`ta_rules.evaluate` (ruleset, version,
            parameters, locale, engine, trace).
        report: Where bad lines are reported (``source:line: message``); default stderr.
        progress: Show a progress line on ``report``.
        source: The input's name in reports.

    Returns:
        The summary of the run.
    """
    options = dict(options or {})
    report = report or sys.stderr
    summary = BatchSummary()
    started = time.perf_counter()
    last_shown = 0.0
    results: Iterator[Judged]
    pool: ProcessPoolExecutor | None = None
    if workers <= 1:
        _init(options, strict)
        results = (_judge_chunk(c) for c in numbered_chunks(lines))
    else:
        pool = worker_pool(workers, _init, (options, strict))
        submit = pool.submit
        results = in_order(lambda chunk: submit(_judge_chunk, chunk), numbered_chunks(lines),
                           in_flight=workers * 3)
    try:
        for written, part, bad in results:
            for text in written:
                out.write(text)
                out.write("\n")
            for number, message in bad:
                report.write(f"{source}:{number}: {message}\n")
            summary.add(part)
            if progress and time.perf_counter() - last_shown > 0.2:
                last_shown = time.perf_counter()
                rate = summary.claims / max(last_shown - started, 1e-9)
                report.write(f"\r{summary.claims + summary.errors:,} lines, "
                             f"{rate:,.0f} claims/s")
                report.flush()
            if strict and bad:
                summary.stopped_at = bad[0][0]
                break
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if progress:
            report.write("\n")
    summary.seconds = time.perf_counter() - started
    out.flush()
    return summary


class Pending(Protocol[_R_co]):
    """A submitted piece of work (a concurrent.futures or a Dask future)."""

    def result(self) -> _R_co:
        """Wait for the result."""


def in_order(submit: Callable[[_T], Pending[_R]], chunks: Iterable[_T],
             in_flight: int) -> Iterator[_R]:
    """Results of ``submit(chunk)`` in input order, with at most ``in_flight`` pending."""
    pending: collections.deque[Pending[_R]] = collections.deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
