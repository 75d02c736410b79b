"""The decision record: what one verdict was given for, chained to the record before it.

A record is plain JSON. Its ``hash`` is ``sha256:`` of the canonical JSON of every other
field (keys sorted, no spaces, UTF-8), and its ``prev_hash`` is the ``hash`` of the record
written before it, so a record edited, removed or moved is found by :func:`check_chain`.
Sensitive facts (``sensitive: true`` in the vocabulary) are replaced by an HMAC-SHA256 of
their canonical JSON under the log's key: the record shows that they were given and can be
matched against the original document, never what they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

from ta_rules.errors import TaRulesError
from ta_rules.facts import Facts
from ta_rules.verdict import Verdict
from ta_rules.vocabulary import FieldType, RecordDef, Vocabulary

__all__ = [
    "SCHEMA",
    "DecisionLogError",
    "DecisionRecord",
    "MaskMismatch",
    "canonical_json",
    "check_chain",
    "check_masked",
    "mask_facts",
    "new_decision_id",
    "record_hash",
    "rules_digest",
    "sensitive_paths",
]

#: The format of a record; a reader refuses a record of another format.
SCHEMA: Final = "ta-rules/decision/1"
#: What a masked value is replaced by: ``{MASK_KEY: "hmac-sha256:..."}``.
MASK_KEY: Final = "$masked"


class DecisionLogError(TaRulesError):
    """The decision log cannot be opened, written or read (the message says which and why)."""


class DecisionRecord(BaseModel):
    """One recorded decision.

    Attributes:
        schema_: The record format (``ta-rules/decision/1``).
        seq: Its position in the log, from 1.
        decision_id: A UUIDv7: time-ordered, unique.
        decided_at: When it was recorded (UTC, ISO 8601, microseconds).
        facts: The canonical facts as judged (defaults filled in, amounts to the minor
            unit), sensitive values replaced by ``{"$masked": "hmac-sha256:..."}``.
        masked: The dotted paths of the values masked (list items as ``payments[0].x``).
        mask_key_id: Which key masked them (a digest of the key, never the key).
        policy: The ruleset that decided: name, version, content_hash, source.
        parameters: The parameters overridden.
        locale: The locale of the messages.
        engine: The evaluation engine.
        library_version: The ta-rules version that decided.
        verdict: The verdict as ``ta-rules eval --format json`` writes it (without trace).
        rules_applied: ``{"count": N, "digest": "sha256:..."}`` of the ids of the rules
            that applied, in evaluation order, and ``from``: ``trace`` (every rule that
            applied) or ``reasons`` (the rules that gave a reason, when no trace was taken).
        labels: The caller's labels (``claim``, ``tenant``, ...).
        supersedes: The decision id of the last earlier record with the same ``claim``
            label: a re-decision points to the one it replaces, nothing is overwritten.
        prev_hash: The hash of the record before (None for the first).
        hash: ``sha256:`` of the canonical JSON of every other field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_: str = SCHEMA
    seq: int
    decision_id: str
    decided_at: str
    facts: dict[str, Any]
    masked: list[str] = []
    mask_key_id: str | None = None
    policy: dict[str, str]
    parameters: dict[str, Any] = {}
    locale: str
    engine: str
    library_version: str
    verdict: dict[str, Any]
    rules_applied: dict[str, Any]
    labels: dict[str, str] = {}
    supersedes: str | None = None
    prev_hash: str | None = None
    hash: str

    def to_json(self) -> dict[str, Any]:
        """The record as stored (``schema`` under its own name)."""
        data = self.model_dump()
        data["schema"] = data.pop("schema_")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DecisionRecord:
        """A record from its stored form, without checking its hash (see :func:`check_chain`).

        Raises:
            DecisionLogError: It is not a decision record of this format.
        """
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise DecisionLogError(f"not a ta-rules decision record (schema {found!r}, "
                                   f"expected {SCHEMA!r})")
        fields = dict(data)
        fields["schema_"] = fields.pop("schema")
        try:
            return cls.model_validate(fields)
        except ValueError as exc:
            raise DecisionLogError(f"decision record {data.get('decision_id')!r}: "
                                   f"{str(exc).splitlines()[0]}") from None

    @property
    def claim(self) -> str | None:
        """The ``claim`` label, if given."""
        return self.labels.get("claim")


def canonical_json(value: Any) -> bytes:
    """Canonical JSON: keys sorted, no whitespace, UTF-8 (what every hash is taken of)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def record_hash(data: Mapping[str, Any]) -> str:
    """``sha256:`` of the canonical JSON of a stored record without its ``hash`` field."""
    body = {k: v for k, v in data.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


# --- ids -----------------------------------------------------------------------------------

_ID_LOCK = threading.Lock()
_LAST: list[int] = [0, 0]  # (milliseconds, counter) of the last id


def new_decision_id(now_ns: int | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a counter, then randomness.

    Ids made by one process are strictly increasing, also within one millisecond.
    """
    ms = (now_ns if now_ns is not None else time.time_ns()) // 1_000_000
    with _ID_LOCK:
        if ms <= _LAST[0]:
            ms, counter = _LAST[0], _LAST[1] + 1
            if counter >= 1 << 12:  # 4096 ids in one millisecond: borrow the next one
                ms, counter = ms + 1, 0
        else:
            counter = 0
        _LAST[0], _LAST[1] = ms, counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))


def utc_now() -> str:
    """The current time as a record writes it."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


# --- the applied rules --------------------------------------------------------------------


def rules_digest(verdict: Verdict) -> dict[str, Any]:
    """The ids of the rules that applied, as a count and a digest (not the trace)."""
    if verdict.trace is not None:
        ids = [t.rule for t in verdict.trace if t.applied]
        source = "trace"
    else:
        ids = [r.rule for r in verdict.reasons]
        source = "reasons"
    return {"from": source, "count": len(ids),
            "digest": "sha256:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()}


# --- masking ------------------------------------------------------------------------------


def sensitive_paths(vocabulary: Vocabulary) -> tuple[tuple[str, ...], ...]:
    """The field paths a vocabulary marks sensitive (``[]`` marks a list's items)."""
    out: list[tuple[str, ...]] = []

    def walk(record: RecordDef | None, prefix: tuple[str, ...], seen: frozenset[str]) -> None:
        if record is None or record.name in seen:
            return
        for f in record.fields:
            path = (*prefix, f.name)
            if f.sensitive:
                out.append(path)
                continue
            t: FieldType | None = f.type
            if t is not None and t.base == "list":
                path, t = (*path, "[]"), t.item
            if t is not None and t.base == "record":
                walk(vocabulary.record_map.get(str(t.arg)), path, seen | {record.name})

    walk(vocabulary.record_map.get(vocabulary.root), (), frozenset())
    return tuple(out)


def key_id(key: bytes) -> str:
    """A digest naming a masking key without revealing it."""
    return "sha256:" + hashlib.sha256(b"ta-rules mask key id\0" + key).hexdigest()[:16]


def _digest(key: bytes, value: Any) -> str:
    return "hmac-sha256:" + hmac.new(key, canonical_json(value), hashlib.sha256).hexdigest()


def _places(doc: Any, path: tuple[str, ...], shown: str = "",
            ) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(the mapping holding it, its key, its shown path) of each value at ``path``."""
    if not isinstance(doc, dict) or not path:
        return
    head, rest = path[0], path[1:]
    where = f"{shown}.{head}" if shown else head
    if not rest:
        if head in doc:
            yield doc, head, where
        return
    value = doc.get(head)
    if rest[0] == "[]":
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _places(item, rest[1:], f"{where}[{i}]")
        return
    yield from _places(value, rest, where)


def mask_facts(facts: dict[str, Any], paths: Iterable[tuple[str, ...]],
               key: bytes | None) -> list[str]:
    """Replace the sensitive values of canonical facts (in place) by their keyed digests.

    A null value stays null (absence is not sensitive). Returns the paths masked.

    Raises:
        DecisionLogError: A value is to be masked and the log has no key.
    """
    masked: list[str] = []
    for path in paths:
        for holder, name, shown in _places(facts, path):
            if holder[name] is None:
                continue
            if key is None:
                raise DecisionLogError(
                    f"{shown} is marked sensitive in the vocabulary and the decision log has "
                    "no masking key: give one (TA_RULES_DECISION_LOG_KEY, --mask-key-file, "
                    "or DecisionLog(url, mask_key=...)); it is never written in clear")
            holder[name] = {MASK_KEY: _digest(key, holder[name])}
            masked.append(shown)
    return masked


class MaskMismatch(DecisionLogError):
    """Facts given for a masked record differ from it (``paths`` names the fields)."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


def check_masked(record: DecisionRecord, canonical: dict[str, Any], key: bytes | None) -> None:
    """Check original canonical facts against a masked record, field by field.

    Raises:
        MaskMismatch: A field differs (named), or the key is not the one that masked.
    """
    if record.masked and key is None:
        raise DecisionLogError(f"record {record.decision_id} has masked facts "
                               f"({', '.join(record.masked)}): give the masking key to check "
                               "the original facts against them")
    if record.masked and key is not None and key_id(key) != record.mask_key_id:
        raise DecisionLogError(f"record {record.decision_id} was masked with key "
                               f"{record.mask_key_id}, not with the key given ({key_id(key)})")
    differ: list[str] = []
    _compare(record.facts, canonical, "", key, differ)
    if differ:
        raise MaskMismatch(f"record {record.decision_id}: the facts given differ from those "
                           f"judged at {', '.join(differ[:10])}"
                           + (f" and {len(differ) - 10} more" if len(differ) > 10 else ""),
                           differ)


def _compare(stored: Any, given: Any, where: str, key: bytes | None, out: list[str]) -> None:
    if isinstance(stored, dict) and set(stored) == {MASK_KEY}:
        if key is None or not hmac.compare_digest(stored[MASK_KEY], _digest(key, given)):
            out.append(where or "<document>")
        return
    if isinstance(stored, dict) and isinstance(given, dict):
        for name in sorted(set(stored) | set(given)):
            _compare(stored.get(name), given.get(name), f"{where}.{name}" if where else name,
                     key, out)
        return
    if isinstance(stored, list) and isinstance(given, list) and len(stored) == len(given):
        for i, (a, b) in enumerate(zip(stored, given, strict=True)):
            _compare(a, b, f"{where}[{i}]", key, out)
        return
    if stored != given:
        out.append(where or "<document>")


# --- building and checking ----------------------------------------------------------------


def canonical_facts(facts: Facts) -> dict[str, Any]:
    """The canonical JSON form of validated facts (what their ``facts_hash`` is taken of)."""
    data: dict[str, Any] = json.loads(facts.model_dump_json())
    return data


def build_record(*, seq: int, decision_id: str, decided_at: str, facts: dict[str, Any],
                 masked: list[str], mask_key_id: str | None, verdict: Verdict,
                 rules_applied: dict[str, Any], labels: Mapping[str, str],
                 supersedes: str | None, prev_hash: str | None) -> dict[str, Any]:
    """A stored record (a JSON mapping with its ``hash``)."""
    shown = verdict.model_dump(mode="json")
    shown["trace"] = None
    data: dict[str, Any] = {
        "schema": SCHEMA, "seq": seq, "decision_id": decision_id, "decided_at": decided_at,
        "facts": facts, "masked": masked, "mask_key_id": mask_key_id,
        "policy": dict(shown["ruleset"]), "parameters": shown["parameters"],
        "locale": shown["locale"], "engine": shown["engine"],
        "library_version": shown["ta_rules_version"], "verdict": shown,
        "rules_applied": rules_applied, "labels": dict(labels), "supersedes": supersedes,
        "prev_hash": prev_hash}
    data["hash"] = record_hash(data)
    return data


def check_chain(records: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """Problems of a log, each naming the record (by decision id) it concerns.

    A record whose content does not match its hash was edited; a record stored after one
    written later was moved; a gap in the sequence numbers is records removed; a record
    whose ``prev_hash`` is not the hash of the record written before it follows a record
    that was replaced. Only (seq, id, hashes) of each record are held, not the records.

    Args:
        records: (where, stored record) pairs in the log's stored order; ``where`` names
            the place (file and line, or table row).
    """
    links: list[tuple[int, str, str, Any, Any]] = []  # seq, id, where, hash, prev_hash
    latest: tuple[int, str] | None = None
    for where, data in records:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            yield f"{where}: not a ta-rules decision record"
            continue
        ident = str(data.get("decision_id", "?"))
        seq = data.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            yield f"record {ident} ({where}): no sequence number"
            continue
        if record_hash(data) != data.get("hash"):
            yield f"record {ident} ({where}): edited: its content does not match its hash"
        if latest is not None and seq < latest[0]:
            yield (f"record {ident} ({where}): reordered: stored after {latest[1]}, which was "
                   "written after it")
        if latest is None or seq > latest[0]:
            latest = (seq, ident)
        links.append((seq, ident, where, data.get("hash"), data.get("prev_hash")))
    links.sort(key=lambda link: link[0])
    before: tuple[int, str, str, Any, Any] | None = None
    for link in links:
        seq, ident, where, _, prev_hash = link
        if before is None:
            if seq != 1 or prev_hash is not None:
                yield (f"record {ident} ({where}): the log does not start with the first "
                       f"record: {seq - 1} record(s) before it were removed")
        elif seq == before[0]:
            yield f"record {ident} ({where}): sequence number {seq} is also {before[1]}'s"
        elif seq > before[0] + 1:
            yield (f"record {ident} ({where}): {seq - before[0] - 1} record(s) removed before "
                   f"it (after {before[1]})")
        elif prev_hash != before[3]:
            yield (f"record {ident} ({where}): its prev_hash is not the hash of {before[1]}, "
                   "the record written before it: that one was replaced")
        before = link
