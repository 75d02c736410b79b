"""Batch evaluation: JSON Lines of facts in, JSON Lines of verdicts out, in order.

Each output line is ``{"line": N, "verdict": {...}}`` or, for a line that could not be
judged (bad JSON, bad facts, invalid UTF-8, a line over :data:`MAX_LINE` bytes, or any
failure while judging it), ``{"line": N, "error": {...}}``; a bad line never stops the
others unless ``strict`` is set. The last line of a finished run is
``{"summary": {...}}`` (counts, outcomes, reasons, refunds; no timings, so two runs over
the same input give the same bytes).

Bounds: a line is read at most :data:`MAX_LINE` bytes at a time (a longer one is skipped
to its end and reported), a chunk holds at most :data:`CHUNK` lines or
:data:`CHUNK_BYTES` bytes, at most two chunks per worker are in flight, and an error
record keeps at most :data:`MAX_PROBLEMS` problems of at most :data:`MAX_MESSAGE`
characters each. Memory is therefore bounded by the in-flight bytes, whatever the input.

With an output file (:func:`run_batch_file`), results go to a partial file beside it
(``.NAME.partial``) that is renamed to ``NAME`` once the summary is written; an interrupted
run (Ctrl-C, SIGTERM, SIGKILL, a full disk) keeps the partial file, and ``resume=True``
continues from its last complete line, so the finished file is byte-identical to that of an
uninterrupted run and no claim is judged twice. Worker processes die with the parent,
however it ends.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final, Protocol, TypeVar

from ta_rules.errors import FactsError, TaRulesError

__all__ = ["BatchError", "BatchSummary", "Pending", "batch_options", "in_order", "judge_lines",
           "numbered_chunks", "run_batch", "run_batch_file", "worker_pool"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)

#: Most lines judged together.
CHUNK: Final = 200
#: Most bytes of input in one chunk (a longer single line is a chunk of its own).
CHUNK_BYTES: Final = 4 * 1024 * 1024
#: Longest line judged: the size limit of a facts file (``ta-rules eval FILE``).
MAX_LINE: Final = 2 * 1024 * 1024
#: Most fields (keys of every object) one line's document may have.
MAX_FIELDS: Final = 10_000
#: Most digits of an integer in a line.
MAX_INT_DIGITS: Final = 64
#: Most problems kept in an error record, and the longest message kept.
MAX_PROBLEMS: Final = 20
MAX_MESSAGE: Final = 500


class BatchError(TaRulesError):
    """A batch run cannot start or cannot continue (its output cannot be written)."""


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
    #: Lines judged by an earlier, interrupted run (``resume``); 0 for a fresh run.
    resumed_after: int = 0
    #: Lines judged by this run (claims and errors).
    judged_now: int = 0

    def add(self, part: BatchSummary) -> None:
        """Fold a chunk's summary in."""
        self.claims += part.claims
        self.errors += part.errors
        self.outcomes.update(part.outcomes)
        self.reasons.update(part.reasons)
        for currency, amount in part.refunds.items():
            self.refunds[currency] = self.refunds.get(currency, Decimal(0)) + amount

    def add_record(self, record: dict[str, Any]) -> None:
        """Fold in one output record (a verdict or an error), as written."""
        verdict = record.get("verdict")
        if verdict is None:
            self.errors += 1
            return
        self.claims += 1
        self.outcomes[verdict["outcome"]] += 1
        self.reasons.update(r["code"] for r in verdict["reasons"])
        refund = verdict["max_refund"]
        self.refunds[refund["currency"]] = \
            self.refunds.get(refund["currency"], Decimal(0)) + Decimal(refund["amount"])

    def render(self) -> str:
        """A readable summary."""
        rate = self.judged_now / self.seconds if self.seconds else 0.0
        lines = [f"{self.claims} claims judged, {self.errors} bad line(s) in "
                 f"{self.seconds:.1f} s ({rate:,.0f} lines/s)"]
        if self.resumed_after:
            lines.append(f"resumed after line {self.resumed_after}: {self.judged_now} "
                         "line(s) judged by this run")
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

    def record(self) -> dict[str, Any]:
        """The deterministic summary written as the output's last line (no timings)."""
        return {"claims": self.claims, "errors": self.errors,
                "outcomes": dict(sorted(self.outcomes.items())),
                "reasons": dict(sorted(self.reasons.items())),
                "refunds": {c: str(a) for c, a in sorted(self.refunds.items())},
                "stopped_at": self.stopped_at}

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.record(), "seconds": round(self.seconds, 3),
                "resumed_after": self.resumed_after, "judged_now": self.judged_now}


# --- reading lines ---------------------------------------------------------------------

Line = tuple[int, bytes | str | None, int]  # (number, content or None when too long, size)


def _numbered(lines: IO[bytes] | Iterable[bytes | str]) -> Iterator[Line]:
    """Number the input's lines; a line over MAX_LINE bytes is read past, never held."""
    readline: Any = getattr(lines, "readline", None)
    if readline is None:
        for number, line in enumerate(lines, 1):
            size = len(line)
            yield number, (line if size <= MAX_LINE else None), size
        return
    for number in itertools.count(1):
        line = readline(MAX_LINE + 1)
        if not line:
            return
        size = len(line)
        if size <= MAX_LINE or line[MAX_LINE:] in (b"\n", "\n"):
            yield number, line, size
            continue
        while line[-1:] not in (b"\n", "\n"):  # read past the rest of an oversized line
            line = readline(1024 * 1024)
            if not line:
                break
            size += len(line)
        yield number, None, size


def numbered_chunks(lines: IO[bytes] | Iterable[bytes | str], size: int = CHUNK, *,
                    skip_through: int = 0) -> Iterator[list[Line]]:
    """The lines that are not blank as (1-based line number, line, bytes), in chunks.

    A chunk holds at most ``size`` lines and :data:`CHUNK_BYTES` bytes; a line over
    :data:`MAX_LINE` bytes comes as ``None`` (it is that line's error record); lines up to
    ``skip_through`` are read past (resume).
    """
    return _chunks(_numbered(lines), skip_through, size)


def _chunks(lines: Iterator[Line], skip_through: int,
            most: int = CHUNK) -> Iterator[list[Line]]:
    chunk: list[Line] = []
    held = 0
    for number, text, size in lines:
        if number <= skip_through or (text is not None and not text.strip()):
            continue
        if chunk and held + size > CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
        chunk.append((number, text, size))
        held += size if text is not None else 0
        if len(chunk) >= most:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


class _BadLine(ValueError):
    """A line that is not one JSON document of facts."""


def _refuse_constant(name: str) -> Any:
    raise _BadLine(f"{name} is not a number JSON allows here")


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _BadLine(f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are read")
    return int(text)


def loads_line(text: str) -> Any:
    """One line's JSON document, refusing what ``ta-rules eval FILE`` refuses.

    Duplicate keys (JSON would keep the last silently), NaN and Infinity, integers of more
    than :data:`MAX_INT_DIGITS` digits and more than :data:`MAX_FIELDS` fields.

    Raises:
        ValueError: Saying what is wrong.
    """
    fields = [0]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        fields[0] += len(items)
        if fields[0] > MAX_FIELDS:
            raise _BadLine(f"more than {MAX_FIELDS} fields in one document")
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise _BadLine(f"duplicate key {key[:80]!r}; JSON would silently keep only "
                               "the last value")
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=pairs, parse_constant=_refuse_constant,
                      parse_int=_int)


# --- judging (in the workers) ------------------------------------------------------------

# Options of the worker processes: set once per process by _init.
_OPTIONS: dict[str, Any] = {}
_STRICT: list[bool] = [False]


def _init(options: dict[str, Any], strict: bool = False, parent: int | None = None) -> None:
    _OPTIONS.clear()
    _OPTIONS.update(options)
    _STRICT[0] = strict
    if parent is not None:
        _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """Make this worker process end when the batch process ends, however it ends.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere
    a thread also checks every half second that the parent is still the one that started
    us. Ctrl-C reaches the whole process group: the parent handles it, so workers ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="ta-rules-parent-watch", daemon=True).start()


Judged = tuple[list[str], BatchSummary, list[tuple[int, str]]]


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _error(exc: BaseException, size: int, text_known: bool) -> dict[str, Any]:
    """The error record of a line: bounded in size however many problems it has."""
    if not text_known:
        return {"kind": "too-large", "message": f"line is {size} bytes; at most {MAX_LINE}"}
    if isinstance(exc, FactsError):
        problems = exc.problems
        shown = [{"path": _clip(p.path), "message": _clip(p.message)}
                 for p in problems[:MAX_PROBLEMS]]
        first = "; ".join(f"{p['path'] or '<document>'}: {p['message']}" for p in shown[:3])
        error: dict[str, Any] = {
            "kind": "facts",
            "message": _clip(f"invalid facts ({len(problems)} problem(s)): {first}"),
            "problems": shown}
        if len(problems) > MAX_PROBLEMS:
            error["more_problems"] = len(problems) - MAX_PROBLEMS
        return error
    if isinstance(exc, UnicodeDecodeError):
        return {"kind": "encoding", "message": f"not UTF-8 text: byte 0x"
                f"{exc.object[exc.start]:02x} at byte {exc.start + 1} of the line cannot "
                "start a character"}
    if isinstance(exc, ValueError | RecursionError) and not isinstance(exc, TaRulesError):
        return {"kind": "json", "message": _clip(f"not a JSON document: {exc}")}
    if isinstance(exc, TaRulesError):
        return {"kind": type(exc).__name__, "message": _clip(str(exc))}
    # a bug in ta-rules: this line gets a record saying so, and the others are judged
    return {"kind": "internal", "message": _clip(
        f"internal error: {type(exc).__name__}: {exc} (this is a bug in ta-rules)")}


#: Records each verdict of a batch judged in this process (see :func:`recording`).
Recorder = Callable[[Any, Any], Any]
_RECORD: list[Recorder | None] = [None]


@contextlib.contextmanager
def recording(record: Recorder) -> Iterator[None]:
    """Record every verdict of the batches run inside (judged in this process).

    ``record(facts document, verdict)`` returns a future of a record with a
    ``decision_id``; a line's result is written once its record is stored, with the id.
    """
    _RECORD[0] = record
    try:
        yield
    finally:
        _RECORD[0] = None


def _judge_chunk(chunk: list[Line]) -> Judged:
    """Judge a chunk with this process's options (set by :func:`_init`)."""
    return judge_lines(chunk, _OPTIONS, strict=_STRICT[0], record=_RECORD[0])


def judge_lines(chunk: list[Line], options: dict[str, Any], *, strict: bool = False,
                record: Recorder | None = None) -> Judged:
    """Judge numbered lines: output lines, a summary, and (line, message) of bad lines.

    Args:
        chunk: (line number, text or bytes, size) triples, as :func:`numbered_chunks` gives.
        options: Keyword options of :func:`ta_rules.evaluate`.
        strict: Stop after the first line that cannot be judged.
        record: Records each verdict (a decision log's ``submit``); a verdict whose record
            cannot be stored is that line's error, and a stored one's line carries its
            ``decision_id``.
    """
    if record is not None:
        return _judge_recorded(chunk, options, strict, record)
    from ta_rules.evaluate import evaluate

    out: list[str] = []
    summary = BatchSummary()
    bad: list[tuple[int, str]] = []
    for number, raw, size in chunk:
        try:
            if raw is None:
                raise _BadLine("too large")
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            verdict = evaluate(loads_line(text), **options)
        except Exception as exc:  # every failure is this line's record, never the run's
            error = _error(exc, size, raw is not None)
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


def _judge_recorded(chunk: list[Line], options: dict[str, Any], strict: bool,
                    record: Recorder) -> Judged:
    """:func:`judge_lines` with each verdict recorded, its line written once stored."""
    from ta_rules.evaluate import evaluate

    results: list[tuple[int, Any, Any]] = []  # (line, verdict and future, or error)
    for number, raw, size in chunk:
        try:
            if raw is None:
                raise _BadLine("too large")
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            doc = loads_line(text)
            verdict = evaluate(doc, **options)
            results.append((number, verdict, record(doc, verdict)))
        except Exception as exc:
            results.append((number, None, _error(exc, size, raw is not None)))
            if strict:
                break
    out: list[str] = []
    summary = BatchSummary()
    bad: list[tuple[int, str]] = []
    for number, verdict, pending in results:
        error = pending
        if verdict is not None:
            try:
                decision_id = pending.result().decision_id
            except TaRulesError as exc:
                error = {"kind": "decision-log", "message": _clip(str(exc))}
            else:
                summary.claims += 1
                summary.outcomes[verdict.outcome] += 1
                summary.reasons.update(verdict.codes)
                refund = verdict.max_refund
                summary.refunds[refund.currency] = \
                    summary.refunds.get(refund.currency, Decimal(0)) + refund.amount
                out.append(f'{{"line": {number}, "decision_id": "{decision_id}", '
                           f'"verdict": {verdict.model_dump_json()}}}')
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


def worker_pool(workers: int, initializer: Callable[..., None],
                initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, each set up by ``initializer(*initargs)``."""
    methods = multiprocessing.get_all_start_methods()
    # fork shares the loaded rulesets with the workers; spawn re-imports where fork is absent
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer,
                               initargs=initargs)


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


class _Sink:
    """Writes whole chunks of records; a failed write leaves no torn line behind."""

    def __init__(self, out: IO[str] | IO[bytes]) -> None:
        self.out: Any = out
        self.binary = isinstance(out, io.RawIOBase | io.BufferedIOBase)

    def write(self, lines: list[str]) -> None:
        text = "".join(f"{line}\n" for line in lines)
        if not self.binary:
            self.out.write(text)
            return
        out = self.out
        good = out.tell()
        try:
            out.write(text.encode("utf-8"))
            out.flush()
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(out.fileno(), good)
                out.seek(good)
            raise


def run_batch(
    lines: IO[bytes] | Iterable[bytes | str], out: IO[str] | IO[bytes], *, workers: int = 1,
    strict: bool = False, options: dict[str, Any] | None = None,
    report: IO[str] | None = None, progress: bool = False, source: str = "<input>",
    skip_through: int = 0, summary: BatchSummary | None = None,
    summary_record: bool = False,
) -> BatchSummary:
    """Judge every line of ``lines`` and write a result line for each, in input order.

    Args:
        lines: JSON documents, one per line (blank lines are skipped): a binary file (read
            at most :data:`MAX_LINE` bytes at a time) or an iterable of lines.
        out: Where the JSON Lines results go (text, or a binary file written in whole chunks
            so that a failed write leaves no torn line).
        workers: Worker processes (1 = in this process).
        strict: Stop at the first line that cannot be judged.
        options: Keyword options of :func:`ta_rules.evaluate` (ruleset, version,
            parameters, locale, engine, trace).
        report: Where bad lines are reported (``source:line: message``); default stderr.
        progress: Show a progress line on ``report``.
        source: The input's name in reports.
        skip_through: Lines up to this number were judged before (resume): read past them.
        summary: The summary of those earlier lines, to continue.
        summary_record: End the output with the ``{"summary": ...}`` line.

    Returns:
        The summary of the run.

    Raises:
        OSError: The output cannot be written (what was written before is whole lines).
    """
    options = dict(options or {})
    report = report or sys.stderr
    summary = summary or BatchSummary()
    summary.resumed_after = skip_through
    sink = _Sink(out)
    started = time.perf_counter()
    last_shown = 0.0
    results: Iterator[Judged]
    pool: ProcessPoolExecutor | None = None
    chunks = _chunks(_numbered(lines), skip_through)
    if workers > 1 and _RECORD[0] is not None:
        raise BatchError("a batch with a decision log is judged in one process: "
                         "--workers must be 1")
    if workers <= 1:
        _init(options, strict)
        results = (_judge_chunk(c) for c in chunks)
    else:
        pool = worker_pool(workers, _init, (options, strict, os.getpid()))
        submit = pool.submit
        results = in_order(lambda chunk: submit(_judge_chunk, chunk), chunks,
                           in_flight=workers * 2)
    try:
        for written, part, bad in results:
            sink.write(written)
            for number, message in bad:
                report.write(f"{source}:{number}: {message}\n")
            summary.add(part)
            summary.judged_now += part.claims + part.errors
            if progress and time.perf_counter() - last_shown > 0.2:
                last_shown = time.perf_counter()
                rate = summary.judged_now / max(last_shown - started, 1e-9)
                report.write(f"\r{summary.claims + summary.errors:,} lines, "
                             f"{rate:,.0f} lines/s")
                report.flush()
            if strict and bad:
                summary.stopped_at = bad[0][0]
                break
        if summary_record:
            sink.write([json.dumps({"summary": summary.record()})])
    finally:
        if pool is not None:
            # also when interrupted: the chunks not started are cancelled and the workers
            # end after the chunk in hand (killing one while it sends a result would leave
            # the pool's reader thread waiting for the rest of it, forever)
            pool.shutdown(wait=True, cancel_futures=True)
        if progress:
            report.write("\n")
    summary.seconds = time.perf_counter() - started
    out.flush()
    return summary


# --- an output file: partial file, rename, resume ----------------------------------------


def partial_path(out: str | os.PathLike[str]) -> Path:
    """The partial file of an output file: ``.NAME.partial`` beside it."""
    path = Path(out)
    return path.with_name(f".{path.name}.partial")


def _identity(source: str, options: dict[str, Any], strict: bool) -> str:
    """What an interrupted run must share with its resumption for the output to be the same."""
    registry = options.get("registry")
    rulesets = sorted((r.name, r.version, r.content_hash)
                      for r in getattr(registry, "rulesets", ()))
    ident: dict[str, Any] = {key: options.get(key) for key in (
        "ruleset", "version", "parameters", "locale", "engine", "trace")}
    ident.update(strict=strict, rulesets=rulesets, input=os.path.abspath(source)
                 if source != "-" else "-")
    if source != "-":
        st = os.stat(source)
        ident.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return "sha256:" + hashlib.sha256(json.dumps(ident, sort_keys=True, default=str)
                                      .encode()).hexdigest()


def _same_file(a: str, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _kept_lines(partial: Path) -> tuple[int, BatchSummary, bool]:
    """Cut a torn last line off a partial file; (last line judged, its summary, finished)."""
    summary = BatchSummary()
    last = 0
    done = False
    with open(partial, "rb+") as fh:
        good = 0
        for raw in iter(fh.readline, b""):
            if not raw.endswith(b"\n"):
                break
            try:
                record = json.loads(raw)
            except ValueError:
                break
            good += len(raw)
            if "summary" in record:
                done = True
                break
            last = int(record["line"])
            summary.add_record(record)
        fh.truncate(good)
    return last, summary, done


def run_batch_file(
    source: str, out: str, *, resume: bool = False, workers: int = 1, strict: bool = False,
    options: dict[str, Any] | None = None, report: IO[str] | None = None,
    progress: bool = False,
) -> BatchSummary:
    """Judge the JSON Lines file ``source`` (``-``: stdin) into the file ``out``.

    The results are written to :func:`partial_path` and renamed to ``out`` when the run
    ends with its summary line; an interrupted run keeps the partial file (whole lines only),
    and ``resume=True`` continues it. An ``out`` that exists and is not a regular file
    (``/dev/null``, a FIFO) is written directly.

    Raises:
        BatchError: ``out`` is the input; a partial run exists and ``resume`` is not set
            (or it was started with other options); the output cannot be written.
        OSError: The input cannot be read.
    """
    options = dict(options or {})
    partial = partial_path(out)
    stamp = partial.with_name(partial.name + ".run")
    if source != "-" and (_same_file(source, out) or _same_file(source, partial)):
        raise BatchError(f"{out}: is the input file {source}; the results would overwrite "
                         "the claims: choose another --out")
    try:
        special = not stat.S_ISREG(os.stat(out).st_mode)
    except OSError:
        special = False
    if special:  # /dev/null, a FIFO, a terminal: written as it goes, nothing to rename
        if resume:
            raise BatchError(f"{out}: not a regular file; there is no partial run to resume")
        try:
            target = open(out, "wb")  # noqa: SIM115
        except OSError as exc:
            raise BatchError(f"{out}: cannot write: {exc.strerror or exc}") from None
        with target, _open_input(source) as lines:
            return run_batch(lines, target, workers=workers, strict=strict, options=options,
                             report=report, progress=progress, source=source,
                             summary_record=True)
    identity = _identity(source, options, strict)
    skip, summary, done = 0, BatchSummary(), False
    if partial.exists():
        if not resume:
            raise BatchError(f"{partial}: an interrupted run of {out} is kept here; continue "
                             "it with --resume, or delete it to start again")
        try:
            recorded = stamp.read_text(encoding="utf-8").strip()
        except OSError:
            recorded = ""
        if recorded != identity:
            raise BatchError(f"{partial}: the interrupted run was started with another input, "
                             "other options or other rules; its results cannot be continued "
                             "(delete it to start again)")
        skip, summary, done = _kept_lines(partial)
    elif resume:
        raise BatchError(f"{partial}: no interrupted run of {out} to resume")
    try:
        stamp.write_text(identity + "\n", encoding="utf-8")
        target = open(partial, "ab")  # noqa: SIM115
    except OSError as exc:
        raise BatchError(f"{out}: cannot write beside it: {exc.strerror or exc}") from None
    try:
        if done:
            summary.resumed_after = skip
        else:
            with _open_input(source) as lines:
                summary = run_batch(lines, target, workers=workers, strict=strict,
                                    options=options, report=report, progress=progress,
                                    source=source, skip_through=skip, summary=summary,
                                    summary_record=True)
        os.fsync(target.fileno())
    except OSError as exc:
        if getattr(exc, "filename", None) == source:
            raise
        raise BatchError(f"{out}: cannot write: {exc.strerror or exc}; the {partial} file keeps "
                         "every line written so far: free some space and run again with "
                         "--resume") from None
    finally:
        target.close()
    os.replace(partial, out)
    with contextlib.suppress(OSError):
        stamp.unlink()
    return summary


@contextlib.contextmanager
def _open_input(source: str) -> Iterator[IO[bytes]]:
    if source == "-":
        yield sys.stdin.buffer
        return
    with open(source, "rb") as fh:
        yield fh
