"""The decision record: what one verdict was given for, chained to the record before it.

A record is one JSON object written once, as text: its members in a fixed order (sorted by
name), no spaces, UTF-8; ``facts`` is the canonical facts text (exactly what the verdict's
``facts_hash`` is taken of, unless masked) and ``verdict`` the verdict as the library writes
it. ``hash``, the last member, is ``sha256:`` of the text before it (closed with ``}``), and
``prev_hash`` is the ``hash`` of the record written before, so a record edited, removed or
moved is found by :func:`check_chain`. Verification reads the stored text itself, so any
change to a stored byte is found.
Sensitive facts (``sensitive: true`` in the vocabulary) are left out of ``facts`` and kept
in ``masked`` as an HMAC-SHA256 of their canonical JSON under the log's key: the record shows
that they were given and can be matched against the original document, never what they were.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import encode_basestring
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
    "mask_plan",
    "masked_facts",
    "new_decision_id",
    "parse_stored",
    "record_text",
    "restored_facts",
    "rules_digest",
    "sensitive_paths",
    "text_hash",
]

#: The format of a record; a reader refuses a record of another format.
SCHEMA: Final = "ta-rules/decision/1"


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
            unit), without the fields the vocabulary marks sensitive.
        masked: Each sensitive field's path (list items as ``payments[0].x``) with
            ``hmac-sha256:`` of its value under the log's key, or None when it was null.
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
    masked: dict[str, str | None] = {}
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
    return _compact(value).encode("utf-8")


# --- ids -----------------------------------------------------------------------------------

_ID_LOCK = threading.Lock()
# seeded from the system once (and again in a forked child): ids need uniqueness, not secrecy
_RANDOM = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _RANDOM.seed(os.urandom(32)))
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
    rand = _RANDOM.getrandbits(62)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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


@dataclasses.dataclass(frozen=True)
class MaskPlan:
    """The sensitive fields of a vocabulary, as paths and as a pydantic include/exclude."""

    paths: tuple[tuple[str, ...], ...]
    spec: dict[str, Any]


def mask_plan(vocabulary: Vocabulary) -> MaskPlan | None:
    """How to mask facts of a vocabulary (None when it marks nothing sensitive)."""
    paths = sensitive_paths(vocabulary)
    if not paths:
        return None
    spec: dict[str, Any] = {}
    for path in paths:
        node = spec
        for part in path[:-1]:
            node = node.setdefault("__all__" if part == "[]" else part, {})
        node[path[-1]] = True
    return MaskPlan(paths, spec)


def masked_facts(facts: Facts, plan: MaskPlan, key: bytes | None,
                 ) -> tuple[str, dict[str, str | None]]:
    """The canonical facts text without the sensitive fields, and their keyed digests.

    Each sensitive value is named by its path (list items as ``payments[0].x``) with
    ``hmac-sha256:`` of its canonical JSON under ``key``, or None when it is null (absence
    is not sensitive).

    Raises:
        DecisionLogError: A value is to be masked and there is no key.
    """
    text = facts.model_dump_json(exclude=plan.spec)
    small = facts.model_dump(mode="json", include=plan.spec)
    masked: dict[str, str | None] = {}
    for path in plan.paths:
        for holder, name, shown in _places(small, path):
            value = holder[name]
            if value is None:
                masked[shown] = None
                continue
            if key is None:
                raise DecisionLogError(
                    f"{shown} is marked sensitive in the vocabulary and the decision log has "
                    "no masking key: give one (TA_RULES_DECISION_LOG_KEY, --mask-key-file, "
                    "or DecisionLog(url, mask_key=...)); it is never written in clear")
            masked[shown] = _digest(key, value)
    return text, masked


class MaskMismatch(DecisionLogError):
    """Facts given for a masked record differ from it (``paths`` names the fields)."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


def check_masked(record: DecisionRecord, facts: Facts, plan: MaskPlan | None,
                 key: bytes | None) -> None:
    """Check original facts against a record with masked fields, field by field.

    Raises:
        MaskMismatch: Fields differ (each named by its path).
        DecisionLogError: No key, or not the key that masked the record.
    """
    hidden = [p for p, v in record.masked.items() if v is not None]
    if hidden and key is None:
        raise DecisionLogError(f"record {record.decision_id} has masked facts "
                               f"({', '.join(hidden)}): give the masking key to check "
                               "the original facts against them")
    if hidden and key is not None and key_id(key) != record.mask_key_id:
        raise DecisionLogError(f"record {record.decision_id} was masked with key "
                               f"{record.mask_key_id}, not with the key given ({key_id(key)})")
    digests: dict[str, str | None] = {}
    if plan is None:
        text = facts.model_dump_json()
    else:
        text, digests = masked_facts(facts, plan, key if key is not None else b"")
    differ: list[str] = []
    _compare(record.facts, json.loads(text), "", differ)
    differ = sorted([*differ, *(p for p in set(record.masked) | set(digests)
                                if record.masked.get(p, "") != digests.get(p, ""))])
    if differ:
        raise MaskMismatch(f"record {record.decision_id}: the facts given differ from those "
                           f"judged at {', '.join(differ[:10])}"
                           + (f" and {len(differ) - 10} more" if len(differ) > 10 else ""),
                           differ)


def _compare(stored: Any, given: Any, where: str, out: list[str]) -> None:
    if isinstance(stored, dict) and isinstance(given, dict):
        for name in sorted(set(stored) | set(given)):
            _compare(stored.get(name), given.get(name), f"{where}.{name}" if where else name,
                     out)
        return
    if isinstance(stored, list) and isinstance(given, list) and len(stored) == len(given):
        for i, (a, b) in enumerate(zip(stored, given, strict=True)):
            _compare(a, b, f"{where}[{i}]", out)
        return
    if stored != given:
        out.append(where or "<document>")


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def restored_facts(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """A stored record's facts as judged when every masked value was null, else None.

    (A record with a value masked can be judged again only from the original document.)
    """
    facts = data.get("facts")
    masked = data.get("masked") or {}
    if not isinstance(facts, dict) or not isinstance(masked, dict):
        return None
    if any(v is not None for v in masked.values()):
        return None
    out = copy.deepcopy(facts)
    for shown in masked:
        steps: list[str | int] = [name or int(index) for name, index in
                                  (m.groups(default="") for m in _STEP.finditer(str(shown)))]
        node: Any = out
        for step in steps[:-1]:
            node = node[step] if isinstance(step, int) else node.get(step)
        if isinstance(node, dict) and steps and isinstance(steps[-1], str):
            node[steps[-1]] = None
    return out


# --- building and checking ----------------------------------------------------------------


def canonical_facts(facts: Facts) -> dict[str, Any]:
    """The canonical JSON form of validated facts (what their ``facts_hash`` is taken of)."""
    data: dict[str, Any] = json.loads(facts.model_dump_json())
    return data


class StoredRecord(dict[str, Any]):
    """What a sink stores: the columns it indexes, and ``text``, the record itself."""

    text: str = ""


_HASH_MEMBER: Final = ',"hash":'


def record_text(*, seq: int, decision_id: str, decided_at: str, facts_text: str,
                masked: dict[str, str | None], mask_key_id: str | None, verdict: Verdict,
                rules_applied: dict[str, Any], labels: Mapping[str, str],
                supersedes: str | None, prev_hash: str | None) -> StoredRecord:
    """A record, written: its text (``hash`` last) and the columns sinks index."""
    if verdict.trace is not None:
        verdict = verdict.model_copy(update={"trace": None})
    dumps = _compact
    body = "".join((
        '{"decided_at":', dumps(decided_at), ',"decision_id":', dumps(decision_id),
        ',"engine":', dumps(verdict.engine), ',"facts":', facts_text,
        ',"labels":', dumps(labels), ',"library_version":', dumps(verdict.ta_rules_version),
        ',"locale":', dumps(verdict.locale), ',"mask_key_id":', dumps(mask_key_id),
        ',"masked":', dumps(masked), ',"parameters":', dumps(verdict.parameters),
        ',"policy":', _policy_text(verdict.ruleset), ',"prev_hash":', dumps(prev_hash),
        ',"rules_applied":', dumps(rules_applied), ',"schema":', dumps(SCHEMA),
        ',"seq":', str(seq), ',"supersedes":', dumps(supersedes),
        ',"verdict":', verdict.model_dump_json(), "}"))
    digest = "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
    stored = StoredRecord(seq=seq, decision_id=decision_id, decided_at=decided_at,
                          labels=labels, hash=digest, prev_hash=prev_hash)
    stored.text = body[:-1] + _HASH_MEMBER + '"' + digest + '"}'
    return stored


_ENCODE: Final = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                  allow_nan=False).encode


def _compact(value: Any) -> str:
    """Canonical JSON text of a small value (strings and null without the encoder)."""
    if type(value) is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if type(value) is list and all(type(v) is str for v in value):
        return "[" + ",".join(map(encode_basestring, value)) + "]"
    if type(value) is dict:
        if not value:
            return "{}"
        if all(type(k) is str and (v is None or type(v) is str) for k, v in value.items()):
            return "{" + ",".join(encode_basestring(k) + ":" + (
                "null" if v is None else encode_basestring(v)) for k, v in sorted(
                value.items())) + "}"
    text: str = _ENCODE(value)
    return text


_POLICY_TEXT: dict[int, tuple[Any, str]] = {}


def _policy_text(ref: Any) -> str:
    """The ``policy`` member of a ruleset reference (the same object for every verdict)."""
    hit = _POLICY_TEXT.get(id(ref))
    if hit is None or hit[0] is not ref:
        if len(_POLICY_TEXT) > 1000:
            _POLICY_TEXT.clear()
        hit = _POLICY_TEXT[id(ref)] = (ref, _compact({
            "content_hash": ref.content_hash, "name": ref.name, "source": ref.source,
            "version": ref.version}))
    return hit[1]


def text_hash(text: str) -> str | None:
    """The hash a stored record's text should carry, or None without a ``hash`` member.

    That is ``sha256:`` of the text before its last ``hash`` member, closed with ``}``.
    """
    at = text.rfind(_HASH_MEMBER)
    if at < 0:
        return None
    return "sha256:" + hashlib.sha256((text[:at] + "}").encode("utf-8")).hexdigest()


def parse_stored(text: str) -> dict[str, Any] | None:
    """A stored record's JSON object, or None when the text is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def check_chain(records: Iterable[tuple[str, Any]]) -> Iterator[str]:
    """Problems of a log, each naming the record (by decision id) it concerns.

    A record whose content does not match its hash was edited; a record stored after one
    written later was moved; a gap in the sequence numbers is records removed; a record
    whose ``prev_hash`` is not the hash of the record written before it follows a record
    that was replaced. Only (seq, id, hashes) of each record are held, not the records.

    Args:
        records: (where, stored text) pairs in the log's stored order; ``where`` names
            the place (file and line, or table row).
    """
    links: list[tuple[int, str, str, Any, Any]] = []  # seq, id, where, hash, prev_hash
    latest: tuple[int, str] | None = None
    for where, text in records:
        data = parse_stored(text)
        if data is None or data.get("schema") != SCHEMA:
            yield f"{where}: not a ta-rules decision record"
            continue
        ident = str(data.get("decision_id", "?"))
        seq = data.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            yield f"record {ident} ({where}): no sequence number"
            continue
        if text_hash(text) != data.get("hash"):
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
