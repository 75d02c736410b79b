"""Re-judge the records of a decision log and say, for each, what came out.

Each record is replayed with :func:`ta_rules.audit.replay` from its canonical facts (or,
for a record with masked facts, from the original facts document, checked field by field
against the record's digests first). A record is then

``exact``
    the verdict came out identical;
``library-drift``
    it differs, and the record was decided by another ta-rules version;
``cannot-replay``
    the policy text that decided it is not available (the ruleset is gone or its content
    hash has changed), or its masked facts were not given or do not match (the field is
    named);
``differs``
    it differs under the same policy text and library version: the record or the
    library is wrong, and the lines say where.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, Literal

from ta_rules._version import __version__
from ta_rules.decisionlog._record import (
    DecisionLogError,
    DecisionRecord,
    MaskMismatch,
    canonical_facts,
    check_masked,
    mask_plan,
    parse_stored,
    restored_facts,
)
from ta_rules.errors import TaRulesError, UnknownRulesetError
from ta_rules.facts import parse_facts
from ta_rules.rulesets.registry import Registry, default_registry

__all__ = ["RecordReplay", "replay_records"]

Status = Literal["exact", "library-drift", "cannot-replay", "differs"]
STATUSES: Final[tuple[Status, ...]] = ("exact", "library-drift", "cannot-replay", "differs")


@dataclasses.dataclass(frozen=True)
class RecordReplay:
    """What replaying one record gave."""

    decision_id: str
    status: Status
    lines: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"decision_id": self.decision_id, "status": self.status,
                "lines": list(self.lines)}


def _judge_again(verdict: Mapping[str, Any], facts: Any, registry: Registry,
                 library_version: str) -> tuple[Status, tuple[str, ...]]:
    """The one place that reads :class:`ta_rules.audit.ReplayReport` into a status."""
    from ta_rules.audit import replay

    try:
        report = replay(verdict, facts, registry=registry)
    except UnknownRulesetError as exc:
        return "cannot-replay", (f"ruleset: {exc}",)
    lines = (*report.differences, *(f"note: {n}" for n in report.notes))
    if report.reproduced:
        return "exact", lines
    if report.verdict is None:  # the texts that decided are neither in the folder nor stored
        return "cannot-replay", lines
    if report.library_drift and library_version != __version__:
        return "library-drift", lines
    return "differs", lines


def replay_record(record: DecisionRecord, registry: Registry, *,
                  original: Any = None, key: bytes | None = None) -> RecordReplay:
    """Replay one record (``original``: the facts document, needed when facts are masked)."""
    facts: Any = restored_facts(record.to_json()) if original is None else None
    if facts is None:
        hidden = [p for p, v in record.masked.items() if v is not None]
        if original is None:
            return RecordReplay(record.decision_id, "cannot-replay", (
                f"facts: {', '.join(hidden)} masked: give the original facts document "
                "(--facts)",))
        try:
            ruleset = registry.select(record.policy["name"], record.policy["version"])
            given = parse_facts(original, ruleset.vocabulary)
            plan = mask_plan(ruleset.vocabulary) if ruleset.vocabulary else None
            check_masked(record, given, plan, key)
        except MaskMismatch as exc:
            return RecordReplay(record.decision_id, "cannot-replay",
                                (f"facts: the original facts given differ at "
                                 f"{', '.join(exc.paths)}",))
        except TaRulesError as exc:
            return RecordReplay(record.decision_id, "cannot-replay", (f"facts: {exc}",))
        facts = canonical_facts(given)
    status, lines = _judge_again(record.verdict, facts, registry, record.library_version)
    return RecordReplay(record.decision_id, status, lines)


# --- many records, in worker processes ---------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init(folder: str | None, key: bytes | None) -> None:
    _WORKER["registry"] = Registry.from_folder(folder) if folder else default_registry()
    _WORKER["key"] = key
    _WORKER["for"] = (folder, key)


def _replay_piece(piece: list[tuple[str, dict[str, Any] | None, Any]], folder: str | None,
                  key: bytes | None) -> list[RecordReplay]:
    """One piece of work on a Dask worker (the rules are loaded once per worker process)."""
    if _WORKER.get("for") != (folder, key):
        _init(folder, key)
    return _replay_chunk(piece)


def _replay_chunk(chunk: list[tuple[str, dict[str, Any] | None, Any]]) -> list[RecordReplay]:
    out = []
    for where, data, original in chunk:
        try:
            if data is None:
                raise DecisionLogError("not a decision record")
            record = DecisionRecord.from_json(data)
        except DecisionLogError as exc:
            out.append(RecordReplay(str((data or {}).get("decision_id") or where),
                                    "cannot-replay", (f"{where}: {exc}",)))
            continue
        out.append(replay_record(record, _WORKER["registry"], original=original,
                                 key=_WORKER["key"]))
    return out


def _chunks(records: Iterable[tuple[str, str]], originals: Mapping[str, Any],
            size: int) -> Iterator[list[tuple[str, dict[str, Any] | None, Any]]]:
    chunk: list[tuple[str, dict[str, Any] | None, Any]] = []
    for where, text in records:
        data = parse_stored(text)
        if data is None:
            chunk.append((where, None, None))
            continue
        labels = data.get("labels")
        original = originals.get(str(data.get("decision_id")))
        if original is None and isinstance(labels, dict) and labels.get("claim") is not None:
            original = originals.get(f"claim:{labels['claim']}")
        chunk.append((where, data, original))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def replay_records(records: Iterable[tuple[str, str]], *, folder: str | None = None,
                   originals: Mapping[str, Any] | None = None, key: bytes | None = None,
                   workers: int = 1, chunk: int = 200,
                   dask: str | None = None) -> Iterator[RecordReplay]:
    """Replay stored records (as a sink reads them), in order, on ``workers`` processes.

    Args:
        records: (where, stored text) pairs, as a sink reads them.
        folder: The rules folder (default: the bundled rulesets).
        originals: Original facts documents of masked records, by decision id or by
            ``claim:LABEL``.
        key: The masking key.
        workers: Worker processes (1: this process); with ``dask="local"``, the workers
            of the LocalCluster started.
        chunk: Records per piece of work.
        dask: A Dask scheduler address (its workers read the rules folder by the same
            path, as the records name it), or ``local`` to start a LocalCluster.
    """
    from ta_rules.batch import in_order, worker_pool

    pieces = _chunks(records, originals or {}, chunk)
    if dask is not None:
        from ta_rules.impact._run import _dask

        with _dask(dask, max(workers, 1)) as (client, n):
            for results in in_order(lambda piece: client.submit(
                    _replay_piece, piece, folder, key, pure=False), pieces,
                    in_flight=n * 3):
                yield from results
        return
    if workers <= 1:
        _init(folder, key)
        for piece in pieces:
            yield from _replay_chunk(piece)
        return
    with worker_pool(workers, _init, (folder, key)) as pool:
        for results in in_order(lambda piece: pool.submit(_replay_chunk, piece), pieces,
                                in_flight=workers * 2):
            yield from results

