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
import json
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

from ta_rules._files import OutputRefused, partial_path, refuse_inputs
from ta_rules._records import (
    MAX_FIELDS,
    MAX_INT_DIGITS,
    MAX_LINE,
    BadRecord,
    Line,
    RecordError,
    loads_record,
    numbered_lines,
    records,
)
from ta_rules._workers import (
    Pending,
    WorkerLost,
    die_with_parent,
    in_order,
    pool_alive,
    stop_pool,
    worker_pool,
)
from ta_rules.errors import FactsError, TaRulesError

__all__ = ["MAX_FIELDS", "MAX_INT_DIGITS", "MAX_LINE", "BatchError", "BatchSummary", "Pending",
           "batch_options", "in_order", "judge_lines", "loads_line", "numbered_chunks",
           "partial_path", "run_batch", "run_batch_file", "worker_pool"]

#: Most lines judged together.
CHUNK: Final = 200
#: Most bytes of input in one chunk (a longer single line is a chunk of its own).
CHUNK_BYTES: Final = 4 * 1024 * 1024
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

    def add_verdict(self, verdict: Any) -> None:
        """Count one judged claim: its outcome, its codes (each once) and its refund."""
        self.claims += 1
        self.outcomes[verdict.outcome] += 1
        self.reasons.update(verdict.codes)
        refund = verdict.max_refund
        self.refunds[refund.currency] = \
            self.refunds.get(refund.currency, Decimal(0)) + refund.amount

    def add_error(self, number: int, error: dict[str, Any], out: list[str],
                  bad: list[tuple[int, str]]) -> None:
        """Count one line that could not be judged, and write its error record."""
        self.errors += 1
        bad.append((number, error["message"]))
        out.append(json.dumps({"line": number, "error": error}, ensure_ascii=False))

    def add_record(self, record: dict[str, Any]) -> None:
        """Fold in one output record (a verdict or an error), as written."""
        verdict = record.get("verdict")
        if verdict is None:
            self.errors += 1
            return
        self.claims += 1
        self.outcomes[verdict["outcome"]] += 1
        # a code the verdict holds twice (two grounds) counts once, as when it was judged
        self.reasons.update({r["code"] for r in verdict["reasons"]})
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

def numbered_chunks(lines: IO[bytes] | Iterable[bytes | str], size: int = CHUNK, *,
                    skip_through: int = 0) -> Iterator[list[Line]]:
    """The lines that are not blank as (1-based line number, line, bytes), in chunks.

    A chunk holds at most ``size`` lines and :data:`CHUNK_BYTES` bytes; a line over
    :data:`MAX_LINE` bytes comes as ``None`` (it is that line's error record); lines up to
    ``skip_through`` are read past (resume).
    """
    return _chunks(numbered_lines(lines), skip_through, size)


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


#: One line's JSON document, refusing what ``ta-rules eval FILE`` refuses.
loads_line = loads_record


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


_die_with_parent = die_with_parent


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
    from ta_rules.present import batch_record

    out: list[str] = []
    summary = BatchSummary()
    bad: list[tuple[int, str]] = []
    for number, raw, size in chunk:
        try:
            if raw is None:
                raise RecordError("too large")
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            verdict = evaluate(loads_line(text), **options)
        except Exception as exc:  # every failure is this line's record, never the run's
            error = _error(exc, size, raw is not None)
        else:
            summary.add_verdict(verdict)
            out.append(batch_record(number, verdict))
            continue
        summary.add_error(number, error, out, bad)
        if strict:
            break
    return out, summary, bad


def _judge_recorded(chunk: list[Line], options: dict[str, Any], strict: bool,
                    record: Recorder) -> Judged:
    """:func:`judge_lines` with each verdict recorded, its line written once stored."""
    from ta_rules.evaluate import evaluate
    from ta_rules.present import batch_record

    results: list[tuple[int, Any, Any]] = []  # (line, verdict and future, or error)
    for number, raw, size in chunk:
        try:
            if raw is None:
                raise RecordError("too large")
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
                summary.add_verdict(verdict)
                out.append(batch_record(number, verdict, decision_id=decision_id))
                continue
        summary.add_error(number, error, out, bad)
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

    # a ruleset or version that does not exist would fail every line: refuse the run
    if version is not None:
        registry.select(ruleset, version)
    else:
        registry.resolve_name(ruleset)
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


class _Sink:
    """Writes whole chunks of records; a failed write leaves no torn line behind."""

    def __init__(self, out: IO[str] | IO[bytes]) -> None:
        self.out: Any = out
        self.binary = isinstance(out, io.RawIOBase | io.BufferedIOBase)

    def write(self, lines: list[str], before: Callable[[int], None] | None = None) -> None:
        """Write ``lines``; ``before(size after)`` is called first (binary files only)."""
        text = "".join(f"{line}\n" for line in lines)
        if not self.binary:
            self.out.write(text)
            return
        out = self.out
        data = text.encode("utf-8")
        good = out.tell()
        if before is not None:
            before(good + len(data))
        try:
            out.write(data)
            out.flush()
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(out.fileno(), good)
                out.seek(good)
            raise


class _Prefix:
    """The SHA-256 of the input read so far, and the check of a resumed run's input.

    A resumed run must read the same input as the run it continues: the digest of the
    lines up to ``through`` must be ``expected`` (recorded by the interrupted run), else
    the run stops before judging anything.
    """

    def __init__(self, source: str, through: int = 0, expected: str | None = None) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.through = through
        self.expected = expected
        self.last: tuple[int, Any] = (0, self.digest.copy())
        self.before = self.last
        self.last_holds_claim = False

    def lines(self, lines: IO[bytes] | Iterable[bytes | str]) -> Iterator[Line]:
        number = 0
        for line in numbered_lines(lines, digest=self.digest):
            number, raw, _ = line
            self.before, self.last = self.last, (number, self.digest.copy())
            self.last_holds_claim = number > self.through and (raw is None or bool(raw.strip()))
            if number == self.through and self.expected is not None \
                    and self.mark()[1] != self.expected:
                raise self._refused("its first lines differ")
            yield line
        if number < self.through and self.expected is not None:
            raise self._refused(f"it has {number} line(s); the interrupted run had judged "
                                f"{self.through}")

    def mark(self, end: int | None = None) -> tuple[int, str]:
        """The last line read that a chunk ending at line ``end`` accounts for, and its digest.

        Lines read past a chunk's end are blank (nothing to judge) except, perhaps, the last
        one read, which then opens the next chunk.
        """
        number, state = self.last
        if end is not None and number > end and self.last_holds_claim:
            number, state = self.before
        return number, "sha256:" + str(state.hexdigest())

    def _refused(self, why: str) -> BatchError:
        return BatchError(f"{self.source}: not the input of the interrupted run ({why}: the "
                          f"SHA-256 of lines 1-{self.through} differs); its results cannot be "
                          "continued with it: give the same input, or delete the partial "
                          "file to start again")


def run_batch(
    lines: IO[bytes] | Iterable[bytes | str], out: IO[str] | IO[bytes], *, workers: int = 1,
    strict: bool = False, options: dict[str, Any] | None = None,
    report: IO[str] | None = None, progress: bool = False, source: str = "<input>",
    skip_through: int = 0, summary: BatchSummary | None = None,
    summary_record: bool = False, input_digest: str | None = None,
    checkpoint: Callable[[int, str, int], None] | None = None,
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
        input_digest: With ``skip_through``: the SHA-256 (``sha256:HEX``) the lines up to
            it must have; another input is refused before anything is judged.
        checkpoint: Called before each write to a binary ``out`` with the last input line
            the write accounts for, the SHA-256 of the input up to it, and the size ``out``
            will have.

    Returns:
        The summary of the run.

    Raises:
        BatchError: A worker process died (the lines it had got no result; what was written
            before is whole chunks, in order), or the input is not the one ``input_digest``
            was taken of.
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
    prefix = _Prefix(source, skip_through, input_digest)
    marks: collections.deque[tuple[int, str]] = collections.deque()
    kept = [skip_through]

    def marked(chunks: Iterator[list[Line]]) -> Iterator[list[Line]]:
        for chunk in chunks:
            marks.append(prefix.mark(chunk[-1][0]))
            yield chunk

    def mark(through: int, digest: str) -> Callable[[int], None] | None:
        kept[0] = through
        if checkpoint is None:
            return None
        return lambda size: checkpoint(through, digest, size)

    chunks = marked(_chunks(prefix.lines(lines), skip_through))
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
                           in_flight=workers * 2, span=lambda c: (c[0][0], c[-1][0]),
                           alive=pool_alive(pool))
    try:
        for written, part, bad in results:
            sink.write(written, mark(*marks.popleft()))
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
            sink.write([json.dumps({"summary": summary.record()})], mark(*prefix.mark()))
    except WorkerLost as exc:
        raise BatchError(f"{source}: {exc}; the results of lines 1-{kept[0]} are "
                         "written") from None
    finally:
        if pool is not None:
            # also when interrupted: the chunks not started are cancelled and the workers
            # end after the chunk in hand (killing one while it sends a result would leave
            # the pool's reader thread waiting for the rest of it, forever)
            stop_pool(pool)
        if progress:
            report.write("\n")
    summary.seconds = time.perf_counter() - started
    out.flush()
    return summary


# --- an output file: partial file, rename, resume ----------------------------------------


#: What a run records of itself beside its partial file (``.NAME.partial.run``), version 2:
#: the run's identity, then a checkpoint per chunk written.
_STAMP_VERSION: Final = 2


def _identity(source: str, options: dict[str, Any], strict: bool) -> str:
    """What an interrupted run must share with its resumption for the output to be the same."""
    registry = options.get("registry")
    rulesets = sorted((r.name, r.version, r.content_hash)
                      for r in getattr(registry, "rulesets", ()))
    ident: dict[str, Any] = {key: options.get(key) for key in (
        "ruleset", "version", "parameters", "locale", "engine", "trace")}
    ident.update(strict=strict, rulesets=rulesets, input=os.path.abspath(source)
                 if source != "-" else "-", stamp=_STAMP_VERSION)
    if source != "-":
        st = os.stat(source)
        ident.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return "sha256:" + hashlib.sha256(json.dumps(ident, sort_keys=True, default=str)
                                      .encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class _Checkpoint:
    """A chunk written: input lines through ``through`` (SHA-256 ``digest``), ``size`` bytes."""

    through: int = 0
    digest: str | None = None
    size: int = 0

    def line(self) -> str:
        return json.dumps({"through": self.through, "input": self.digest, "bytes": self.size})


def _read_stamp(stamp: Path, identity: str, partial: Path) -> _Checkpoint:
    """The last checkpoint of the interrupted run that its partial file holds whole.

    Raises:
        BatchError: The run was started with another input, options or rules (or its
            record is missing or unreadable).
    """
    refused = BatchError(f"{partial}: the interrupted run was started with another input, "
                         "other options or other rules; its results cannot be continued "
                         "(delete it to start again)")
    try:
        fh = open(stamp, "rb")  # noqa: SIM115
    except OSError:
        raise refused from None
    size = partial.stat().st_size
    best = _Checkpoint()
    with fh:
        for number, item in records(fh, max_line=4096):
            if number == 1:
                if not isinstance(item, dict) or item.get("run") != identity:
                    raise refused
                continue
            through, digest, at = (item.get(k) if isinstance(item, dict) else None
                                   for k in ("through", "input", "bytes"))
            if not (isinstance(through, int) and isinstance(digest, str)
                    and isinstance(at, int)):
                break  # a torn last checkpoint: the run was cut while writing it
            if at <= size:
                best = _Checkpoint(through, digest, at)
    return best


def _result_record(item: Any) -> dict[str, Any] | None:
    """A result line of a batch run (``line`` and a verdict or an error), else None."""
    if not isinstance(item, dict) or not isinstance(item.get("line"), int) \
            or isinstance(item.get("line"), bool):
        return None
    kinds = [k for k in ("verdict", "error") if isinstance(item.get(k), dict)]
    if len(kinds) != 1 or set(item) != {"line", kinds[0]}:
        return None
    return item


def _kept_lines(partial: Path, through: int) -> tuple[BatchSummary, bool]:
    """The summary of the results a partial file holds, and whether it is finished.

    Raises:
        BatchError: A line that is not a result of a batch run, at its line of the file.
    """
    summary = BatchSummary()
    done = False
    previous = 0
    with open(partial, "rb") as fh:
        for number, item in records(fh):
            def foreign(why: str, number: int = number) -> BatchError:
                return BatchError(f"{partial}:{number}: {why}; this partial file is not the "
                                  "output of an interrupted ta-rules eval --batch: delete it "
                                  "to start again")

            if isinstance(item, BadRecord):
                raise foreign(item.message)
            if done:
                raise foreign("a line after the summary line")
            if isinstance(item, dict) and set(item) == {"summary"}:
                done = True
                continue
            record = _result_record(item)
            if record is None:
                raise foreign("not a result line ({\"line\": N, \"verdict\" or \"error\": "
                              "{...}})")
            if not previous < record["line"] <= through:
                raise foreign(f"line {record['line']} is out of order")
            previous = record["line"]
            try:
                summary.add_record(record)
            except (KeyError, TypeError, ValueError, ArithmeticError):
                raise foreign("not a verdict as ta-rules writes them") from None
    return summary, done


def _resume_point(out: str, partial: Path, stamp: Path, identity: str,
                  resume: bool) -> tuple[_Checkpoint, BatchSummary, bool]:
    """Where a run starts: nothing, or the last checkpoint of the interrupted run it resumes.

    The partial file is cut back to what that checkpoint accounts for.
    """
    if not partial.exists():
        if resume:
            raise BatchError(f"{partial}: no interrupted run of {out} to resume")
        return _Checkpoint(), BatchSummary(), False
    if not resume:
        raise BatchError(f"{partial}: an interrupted run of {out} is kept here; continue "
                         "it with --resume, or delete it to start again")
    start = _read_stamp(stamp, identity, partial)
    try:
        with open(partial, "rb+") as fh:
            fh.truncate(start.size)  # what the last checkpoint does not account for
    except OSError as exc:
        raise BatchError(f"{partial}: cannot write: {exc.strerror or exc}") from None
    summary, done = _kept_lines(partial, start.through)
    return start, summary, done


def run_batch_file(
    source: str, out: str, *, resume: bool = False, workers: int = 1, strict: bool = False,
    options: dict[str, Any] | None = None, report: IO[str] | None = None,
    progress: bool = False, inputs: Iterable[str | None] = (),
) -> BatchSummary:
    """Judge the JSON Lines file ``source`` (``-``: stdin) into the file ``out``.

    The results are written to :func:`partial_path` and renamed to ``out`` when the run
    ends with its summary line; an interrupted run keeps the partial file (whole chunks
    only), and ``resume=True`` continues it. Beside the partial file, ``.NAME.partial.run``
    records the run's options and, for every chunk written, the last input line it accounts
    for with the SHA-256 of the input up to that line. A resumed run reads its input again
    up to that line and refuses to continue unless the digest is the same: from a file or
    from stdin, the finished output is then that of one uninterrupted run over the input
    the resumed run was given (the lines after the checkpoint were never judged before).
    An ``out`` that exists and is not a regular file (``/dev/null``, a FIFO) is written
    directly. ``out`` is never ``source`` nor one of ``inputs`` (the rules folder).

    Raises:
        BatchError: ``out`` is an input; a partial run exists and ``resume`` is not set
            (or it was started with other options or another input); a worker process died;
            the output cannot be written.
        OSError: The input cannot be read.
    """
    options = dict(options or {})
    partial = partial_path(out)
    stamp = partial.with_name(partial.name + ".run")
    try:
        refuse_inputs(out, [source, *inputs])
    except OutputRefused as exc:
        raise BatchError(str(exc)) from None
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
    start, summary, done = _resume_point(out, partial, stamp, identity, resume)
    try:
        stamp_file = open(stamp, "w", encoding="utf-8")  # noqa: SIM115
        stamp_file.write(json.dumps({"run": identity}) + "\n")
        if start.digest is not None:
            stamp_file.write(start.line() + "\n")
        stamp_file.flush()
        target = open(partial, "ab")  # noqa: SIM115
    except OSError as exc:
        raise BatchError(f"{out}: cannot write beside it: {exc.strerror or exc}") from None

    def checkpoint(through: int, digest: str, size: int) -> None:
        stamp_file.write(_Checkpoint(through, digest, size).line() + "\n")
        stamp_file.flush()

    try:
        if done:
            summary.resumed_after = start.through
        else:
            with _open_input(source) as lines:
                summary = run_batch(lines, target, workers=workers, strict=strict,
                                    options=options, report=report, progress=progress,
                                    source=source, skip_through=start.through,
                                    summary=summary, summary_record=True,
                                    input_digest=start.digest, checkpoint=checkpoint)
        os.fsync(target.fileno())
    except BatchError as exc:
        raise BatchError(f"{exc}; the {partial} file keeps them: run again with --resume "
                         "to continue") from None if "worker process" in str(exc) else exc
    except OSError as exc:
        if getattr(exc, "filename", None) == source:
            raise
        raise BatchError(f"{out}: cannot write: {exc.strerror or exc}; the {partial} file keeps "
                         "every line written so far: free some space and run again with "
                         "--resume") from None
    finally:
        target.close()
        stamp_file.close()
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
