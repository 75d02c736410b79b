"""The decision log: records verdicts through a bounded queue and one writer thread.

A caller submits (facts, verdict); the record is built at once (id, time, canonical and
masked facts) and queued. The writer takes every record waiting (up to :data:`BATCH`),
chains them (``seq``, ``prev_hash``, ``supersedes``, ``hash``), stores them in one durable
write (fsync or commit) and only then resolves their futures: a caller that waited for its
record's future holds an acknowledged record, which a crash does not lose. When the queue
is full, ``when_full="block"`` waits for room and ``"refuse"`` raises
:class:`DecisionLogFull`; a store that fails resolves the futures with the error. Nothing
is dropped without its caller being told.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import json
import os
import queue
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from typing import Any, Final, Literal

from ta_rules import _fastfacts
from ta_rules.decisionlog._record import (
    DecisionLogError,
    DecisionRecord,
    MaskPlan,
    StoredRecord,
    check_chain,
    key_id,
    mask_plan,
    masked_facts,
    new_decision_id,
    parse_stored,
    record_text,
    rules_digest,
    utc_now,
)
from ta_rules.decisionlog._sinks import Sink, open_sink
from ta_rules.facts import Facts, default_vocabulary, parse_facts
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.verdict import Verdict
from ta_rules.vocabulary import Vocabulary

__all__ = ["BATCH", "Acknowledged", "Decision", "DecisionLog", "DecisionLogFull"]

#: Most records stored in one write.
BATCH: Final = 1000
#: The environment variable a masking key may come from (its bytes, UTF-8).
KEY_ENV: Final = "TA_RULES_DECISION_LOG_KEY"
WhenFull = Literal["block", "refuse"]
_CLAIMS_KEPT: Final = 100_000


class DecisionLogFull(DecisionLogError):
    """The decision log's queue is full and its policy is to refuse (nothing was recorded)."""


class Decision:
    """A verdict and its record, as :meth:`DecisionLog.evaluate` returns them."""

    __slots__ = ("record", "verdict")

    def __init__(self, verdict: Verdict, record: DecisionRecord) -> None:
        self.verdict = verdict
        self.record = record

    @property
    def decision_id(self) -> str:
        """The record's decision id."""
        return self.record.decision_id


class Acknowledged:
    """A stored record: its id, place in the chain and hash (the record, read on demand)."""

    __slots__ = ("_record", "decision_id", "hash", "seq", "text")

    def __init__(self, stored: StoredRecord) -> None:
        self.decision_id: str = stored["decision_id"]
        self.seq: int = stored["seq"]
        self.hash: str = stored["hash"]
        self.text = stored.text
        self._record: DecisionRecord | None = None

    @property
    def record(self) -> DecisionRecord:
        """The record as stored."""
        if self._record is None:
            self._record = DecisionRecord.from_json(json.loads(self.text))
        return self._record


_Item = tuple[dict[str, Any], "Future[Acknowledged]"]


class DecisionLog:
    """A decision log opened for writing (and reading).

    Args:
        url: ``jsonl:PATH``, ``sqlite:PATH``, ``parquet:DIR`` or ``postgresql://...``.
        mask_key: The key of the digests of sensitive facts (default: the
            ``TA_RULES_DECISION_LOG_KEY`` environment variable). Without one, a record
            with a sensitive value is refused, never written in clear.
        queue_size: Most records waiting to be written.
        when_full: ``block`` (wait for room) or ``refuse`` (raise :class:`DecisionLogFull`).
        registry: Where the ruleset named by a verdict is found, to read facts given as a
            mapping with its vocabulary (default: the bundled rulesets).

    Example:
        >>> import json, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> with open("examples/claims/late-shipment.json") as fh:
        ...     facts = json.load(fh)
        >>> with DecisionLog(f"sqlite:{folder}/log.db", mask_key=b"k") as log:
        ...     decision = log.evaluate(facts, labels={"claim": "C-1"})
        ...     problems = log.verify()
        >>> decision.verdict.outcome, decision.record.seq, problems
        ('covered', 1, [])
    """

    def __init__(self, url: str, *, mask_key: bytes | str | None = None,
                 queue_size: int = 10_000, when_full: WhenFull = "block",
                 registry: Registry | None = None) -> None:
        if when_full not in ("block", "refuse"):
            raise DecisionLogError(f"when_full: expected 'block' or 'refuse', found "
                                   f"{when_full!r}")
        if queue_size < 1:
            raise DecisionLogError("queue_size: at least 1")
        if mask_key is None and os.environ.get(KEY_ENV):
            mask_key = os.environ[KEY_ENV]
        self.mask_key = mask_key.encode() if isinstance(mask_key, str) else mask_key
        self.mask_key_id = key_id(self.mask_key) if self.mask_key else None
        self.when_full = when_full
        self.registry = registry
        self.sink: Sink = open_sink(url, write=True)
        self.url = url
        try:
            self._head = self.sink.head()
        except BaseException:
            self.sink.close()
            raise
        self._queue: queue.Queue[_Item | None] = queue.Queue(maxsize=queue_size)
        self._submit_lock = threading.Lock()
        self._claims: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._closed = False
        self._failure: BaseException | None = None
        self._writer = threading.Thread(target=self._write_loop, name="ta-rules-decision-log",
                                        daemon=True)
        self._writer.start()
        # a caller that submitted without waiting and never closed: stored at exit all the same
        atexit.register(self.close)

    # --- writing ---------------------------------------------------------------------------

    def evaluate(self, facts: Mapping[str, Any] | Facts, *,
                 labels: Mapping[str, str] | None = None, **options: Any) -> Decision:
        """:func:`ta_rules.evaluate` the facts and record the verdict (waiting until stored).

        Raises:
            FactsError, ParameterError, UnknownRulesetError: As :func:`ta_rules.evaluate`.
            DecisionLogError: The record could not be stored (the verdict is not given).
        """
        verdict, future = self.submit_evaluation(facts, labels=labels, **options)
        return Decision(verdict, future.result().record)

    def submit_evaluation(self, facts: Mapping[str, Any] | Facts, *,
                          labels: Mapping[str, str] | None = None, **options: Any,
                          ) -> tuple[Verdict, Future[Acknowledged]]:
        """:meth:`evaluate` without waiting: the verdict, and the future of its record.

        A caller that judges many claims submits them all and waits for the futures
        before it reports them (the writer stores the waiting records together).

        Raises:
            As :meth:`evaluate` and :meth:`submit`.
        """
        from ta_rules.evaluate import evaluate, select_ruleset

        registry = options.pop("registry", None) or self.registry
        rs = select_ruleset(facts, ruleset=options.pop("ruleset", None),
                            version=options.pop("version", None), registry=registry)
        valid = _fastfacts.parse(facts, rs.vocabulary) or parse_facts(facts, rs.vocabulary)
        verdict = evaluate(valid, ruleset=rs, **options)
        return verdict, self._submit(valid, verdict, labels, rs.vocabulary, None, checked=True)

    def record(self, facts: Mapping[str, Any] | Facts, verdict: Verdict, *,
               labels: Mapping[str, str] | None = None,
               vocabulary: Vocabulary | None = None) -> DecisionRecord:
        """Record a verdict and wait until it is stored (acknowledged).

        Raises:
            DecisionLogError: It could not be stored, or the facts are not those judged.
        """
        return self.submit(facts, verdict, labels=labels,
                           vocabulary=vocabulary).result().record

    def submit(self, facts: Mapping[str, Any] | Facts, verdict: Verdict, *,
               labels: Mapping[str, str] | None = None, vocabulary: Vocabulary | None = None,
               block: bool | None = None) -> Future[Acknowledged]:
        """Queue a verdict's record; the future resolves once it is stored (acknowledged).

        Args:
            facts: The facts judged: validated facts, or the document (read with the
                vocabulary of the ruleset the verdict names).
            verdict: The verdict given for them.
            labels: Caller labels (``claim``, ``tenant``...): text values.
            vocabulary: The vocabulary the facts are read with, when they are a document.
            block: Wait for room when the queue is full (default: the ``when_full``
                policy); False raises :class:`DecisionLogFull` instead.

        Raises:
            DecisionLogFull: The queue is full and the policy (or ``block``) is to refuse.
            DecisionLogError: The log is closed or failed, or the facts are not those
                judged (their hash differs from the verdict's ``facts_hash``).
        """
        return self._submit(facts, verdict, labels, vocabulary, block, checked=False)

    def _submit(self, facts: Mapping[str, Any] | Facts, verdict: Verdict,
                labels: Mapping[str, str] | None, vocabulary: Vocabulary | None,
                block: bool | None, *, checked: bool) -> Future[Acknowledged]:
        shown_labels = _labels(labels)
        voc = vocabulary or (self.registry or default_registry()).select(
            verdict.ruleset.name, verdict.ruleset.version).vocabulary or default_vocabulary()
        if not isinstance(facts, Facts):
            facts = _fastfacts.parse(facts, voc) or parse_facts(facts, voc)
        plan = _plan(voc)
        if not checked or plan is None:  # checked: the verdict was just given for them
            text = facts.model_dump_json()
            if "sha256:" + hashlib.sha256(text.encode()).hexdigest() != verdict.facts_hash:
                raise DecisionLogError("the facts given are not those the verdict was given "
                                       "for (their hash differs from its facts_hash)")
        masked: dict[str, str | None] = {}
        if plan is not None:
            text, masked = masked_facts(facts, plan, self.mask_key)
        hidden = any(v is not None for v in masked.values())
        pending = {"facts_text": text, "masked": masked,
                   "mask_key_id": self.mask_key_id if hidden else None,
                   "verdict": verdict, "rules_applied": rules_digest(verdict),
                   "labels": shown_labels}
        future: Future[Acknowledged] = Future()
        wait = self.when_full == "block" if block is None else block
        with self._submit_lock:
            self._check_open()
            pending["decision_id"] = new_decision_id()
            pending["decided_at"] = utc_now()
            try:
                self._queue.put((pending, future), block=wait)
            except queue.Full:
                raise DecisionLogFull(
                    f"decision log {self.url}: {self._queue.maxsize} records are waiting to "
                    "be written; this verdict is refused (nothing recorded)") from None
        return future

    def _check_open(self) -> None:
        if self._closed:
            raise DecisionLogError(f"decision log {self.url} is closed")
        if not self._writer.is_alive():
            raise DecisionLogError(f"decision log {self.url}: its writer stopped: "
                                   f"{self._failure!r}")

    def _write_loop(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._write(batch)
                if stop:
                    return
        except BaseException as exc:  # a bug here must not leave callers waiting forever
            self._failure = exc
            self._fail_waiting(exc)

    def _fail_waiting(self, exc: BaseException) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item[1].set_exception(DecisionLogError(f"decision log {self.url}: {exc}"))

    def _write(self, batch: list[_Item]) -> None:
        seq, prev = self._head if self._head else (0, None)
        records: list[StoredRecord] = []
        claims: dict[str, str] = {}
        for pending, _ in batch:
            seq += 1
            claim = pending["labels"].get("claim")
            supersedes = None
            if claim is not None:
                supersedes = claims.get(claim) or self._last_for_claim(claim)
                claims[claim] = pending["decision_id"]
            data = record_text(seq=seq, decision_id=pending["decision_id"],
                               decided_at=pending["decided_at"],
                               facts_text=pending["facts_text"], masked=pending["masked"],
                               mask_key_id=pending["mask_key_id"], verdict=pending["verdict"],
                               rules_applied=pending["rules_applied"],
                               labels=pending["labels"], supersedes=supersedes,
                               prev_hash=prev)
            prev = data["hash"]
            records.append(data)
        try:
            self.sink.write(records)
        except Exception as exc:
            error = DecisionLogError(f"decision log {self.url}: cannot store "
                                     f"{len(records)} record(s): {exc}; they were not "
                                     "recorded and their verdicts are refused")
            for _, future in batch:
                future.set_exception(error)
            return
        self._head = (seq, str(prev))
        for claim, ident in claims.items():
            self._claims[claim] = ident
            self._claims.move_to_end(claim)
        while len(self._claims) > _CLAIMS_KEPT:
            self._claims.popitem(last=False)
        for (_, future), stored in zip(batch, records, strict=True):
            future.set_result(Acknowledged(stored))

    def _last_for_claim(self, claim: str) -> str | None:
        known = self._claims.get(claim)
        return known if known is not None else self.sink.last_for_claim(claim)

    def close(self) -> None:
        """Write every queued record, then close the store."""
        if self._closed:
            return
        atexit.unregister(self.close)
        with self._submit_lock:
            self._closed = True
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        self.sink.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------

    # each read opens the store again: the writer's connection stays the writer's alone

    def records(self) -> Iterator[DecisionRecord]:
        """Every stored record, in stored order."""
        reader = open_sink(self.url, write=False)
        try:
            yield from read_records(reader)
        finally:
            reader.close()

    def get(self, decision_id: str) -> DecisionRecord | None:
        """One stored record by decision id."""
        reader = open_sink(self.url, write=False)
        try:
            data = reader.find(decision_id)
        finally:
            reader.close()
        return DecisionRecord.from_json(data) if data is not None else None

    def verify(self) -> list[str]:
        """Every problem of the chain (empty when every record is intact, in order)."""
        reader = open_sink(self.url, write=False)
        try:
            return list(check_chain(reader.read()))
        finally:
            reader.close()


def read_records(sink: Sink) -> Iterator[DecisionRecord]:
    """The records of a sink in stored order.

    Raises:
        DecisionLogError: A stored record cannot be read (named by its place).
    """
    for where, text in sink.read():
        data = parse_stored(text)
        if data is None:
            raise DecisionLogError(f"{where}: not a decision record")
        yield DecisionRecord.from_json(data)


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    if not labels:
        return {}
    out: dict[str, str] = {}
    for name, value in labels.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise DecisionLogError(f"label {name!r}: labels are text names with text values")
        if len(name) > 100 or len(value) > 1000:
            raise DecisionLogError(f"label {name[:100]!r}: at most 100 characters of name "
                                   "and 1000 of value")
        out[name] = value
    return out


_PLANS: dict[int, tuple[Vocabulary, MaskPlan | None]] = {}


def _plan(vocabulary: Vocabulary) -> MaskPlan | None:
    hit = _PLANS.get(id(vocabulary))
    if hit is None or hit[0] is not vocabulary:
        hit = _PLANS[id(vocabulary)] = (vocabulary, mask_plan(vocabulary))
    return hit[1]
