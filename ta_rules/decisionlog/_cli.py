"""``ta-rules log verify|show|replay`` and the ``--decision-log`` options of eval and serve."""

from __future__ import annotations

import argparse
import collections
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TextIO

from ta_rules.decisionlog._log import KEY_ENV, DecisionLog
from ta_rules.decisionlog._record import DecisionLogError, DecisionRecord, check_chain
from ta_rules.decisionlog._sinks import open_sink

__all__ = ["add_log_options", "add_log_parser", "labels_of", "open_log_for"]

#: The log ``ta-rules log show`` reads when --log is not given.
LOG_ENV: Final = "TA_RULES_DECISION_LOG"
#: Most problems or replay lines printed one by one (all are counted).
SHOWN: Final = 200


def add_log_options(p: argparse.ArgumentParser, *, labels: bool) -> None:
    """The options that record verdicts in a decision log."""
    p.add_argument("--decision-log", metavar="URL", help="record every verdict: jsonl:PATH, "
                   "sqlite:PATH, parquet:DIR or postgresql://... (docs/decision-log.md)")
    p.add_argument("--mask-key-file", metavar="FILE", help="the key of the digests of "
                   f"sensitive facts (default: ${KEY_ENV})")
    p.add_argument("--when-log-full", choices=["block", "refuse"], default="block",
                   help="when the log's queue is full: wait, or refuse the verdict")
    if labels:
        p.add_argument("--label", action="append", default=[], metavar="NAME=VALUE",
                       help="a label of the record (claim=C-1, tenant=...; repeatable)")


def mask_key(args: argparse.Namespace) -> bytes | None:
    """The masking key of --mask-key-file (else None: the environment's, if any)."""
    name = getattr(args, "mask_key_file", None)
    if name is None:
        return None
    try:
        key = Path(name).read_bytes().strip()
    except OSError as exc:
        raise DecisionLogError(f"{name}: cannot read the masking key: "
                               f"{exc.strerror or exc}") from None
    if not key:
        raise DecisionLogError(f"{name}: the masking key file is empty")
    return key


def open_log_for(args: argparse.Namespace, registry: Any) -> DecisionLog:
    """The decision log the command line names, for writing."""
    return DecisionLog(args.decision_log, mask_key=mask_key(args),
                       when_full=args.when_log_full, registry=registry)


def labels_of(items: list[str]) -> dict[str, str]:
    """``--label NAME=VALUE`` options as a mapping."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise DecisionLogError(f"--label {item!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out


def add_log_parser(sub: Any) -> None:
    """``ta-rules log``: verify, show and replay a decision log."""
    p = sub.add_parser("log", help="verify, show or replay a decision log")
    cmds = p.add_subparsers(dest="log_command", required=True, parser_class=type(p))
    v = cmds.add_parser("verify", help="check the chain and every record's hash")
    v.add_argument("url", help="the log: jsonl:PATH, sqlite:PATH, parquet:DIR, postgresql://")
    v.add_argument("--format", choices=["text", "json"], default="text")
    v.set_defaults(func=_cmd_verify)
    s = cmds.add_parser("show", help="print one record as a person reads it")
    s.add_argument("decision_id")
    s.add_argument("--log", metavar="URL", help=f"the log (default: ${LOG_ENV})")
    s.add_argument("--format", choices=["text", "json"], default="text")
    s.set_defaults(func=_cmd_show)
    r = cmds.add_parser("replay", help="re-judge every record: exact, library drift, or "
                        "cannot be replayed")
    r.add_argument("url")
    r.add_argument("--workers", type=int, default=1, help="worker processes")
    r.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster ('local' starts "
                   "a LocalCluster of --workers processes)")
    r.add_argument("--rules", metavar="FOLDER", help="the rules folder the log was written "
                   "with (default: the project's, else the bundled rulesets)")
    r.add_argument("--facts", metavar="FILE", help="JSON Lines of the original facts of "
                   "masked records: {\"decision_id\": ID or \"claim\": LABEL, \"facts\": {...}}")
    r.add_argument("--mask-key-file", metavar="FILE",
                   help=f"the masking key (default: ${KEY_ENV})")
    r.add_argument("--format", choices=["text", "json"], default="text")
    r.set_defaults(func=_cmd_replay)


def _cmd_verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    sink = open_sink(args.url, write=False)
    counted = [0]

    def counting() -> Any:
        for item in sink.read():
            counted[0] += 1
            yield item

    try:
        problems = list(check_chain(counting()))
    finally:
        sink.close()
    if args.format == "json":
        out.write(json.dumps({"records": counted[0], "intact": not problems,
                              "problems": problems}, indent=2) + "\n")
    else:
        out.writelines(f"{line}\n" for line in problems[:SHOWN])
        if len(problems) > SHOWN:
            out.write(f"... and {len(problems) - SHOWN} more problem(s)\n")
        out.write(f"{counted[0]} record(s): " + ("chain intact, every hash matches\n"
                  if not problems else f"{len(problems)} problem(s)\n"))
    return 0 if not problems else 1


def _cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    url = args.log or os.environ.get(LOG_ENV)
    if not url:
        raise DecisionLogError(f"ta-rules log show: name the log with --log URL or ${LOG_ENV}")
    sink = open_sink(url, write=False)
    try:
        data = sink.find(args.decision_id)
    finally:
        sink.close()
    if data is None:
        raise DecisionLogError(f"{url}: no record {args.decision_id}")
    if args.format == "json":
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    out.write(render_record(DecisionRecord.from_json(data)) + "\n")
    return 0


def render_record(record: DecisionRecord) -> str:
    """One record as a person reads it."""
    from ta_rules.present import verdict_text as format_verdict
    from ta_rules.verdict import Verdict

    p = record.policy
    lines = [f"decision {record.decision_id} (record {record.seq}) at {record.decided_at}"]
    if record.labels:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(
            record.labels.items())))
    if record.supersedes:
        lines.append(f"supersedes decision {record.supersedes}")
    lines.append(f"policy: {p['name']} {p['version']} ({p['content_hash']}) from "
                 f"{p['source']}")
    lines.append(f"ta-rules {record.library_version}, engine {record.engine}, locale "
                 f"{record.locale}" + (f", parameters {json.dumps(record.parameters)}"
                                       if record.parameters else ""))
    lines.append(format_verdict(Verdict.model_validate(record.verdict)))
    applied = record.rules_applied
    lines.append(f"rules applied: {applied.get('count')} ({applied.get('from')}, "
                 f"{applied.get('digest')})")
    hidden = [p for p, v in record.masked.items() if v is not None]
    lines.append(f"facts: {record.verdict.get('facts_hash')}" + (
        f"; masked: {', '.join(hidden)}" if hidden else ""))
    lines.append(f"hash {record.hash}, after {record.prev_hash or '(first record)'}")
    return "\n".join(lines)


def _originals(name: str | None) -> dict[str, Any]:
    if name is None:
        return {}
    out: dict[str, Any] = {}
    try:
        with open(name, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise DecisionLogError(f"{name}:{number}: not JSON: {exc}") from None
                if not (isinstance(item, dict) and isinstance(item.get("facts"), Mapping)
                        and (isinstance(item.get("decision_id"), str)
                             or isinstance(item.get("claim"), str))):
                    raise DecisionLogError(f"{name}:{number}: expected {{\"decision_id\": "
                                           "ID or \"claim\": LABEL, \"facts\": {...}}")
                key = item["decision_id"] if isinstance(item.get("decision_id"), str) \
                    else f"claim:{item['claim']}"
                out[key] = item["facts"]
    except OSError as exc:
        raise DecisionLogError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return out


def _cmd_replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.decisionlog._replay import STATUSES, replay_records
    from ta_rules.project import choose_rules

    if args.workers < 1:
        raise DecisionLogError("ta-rules log replay: --workers must be at least 1")
    folder = choose_rules(args.rules).folder
    key = mask_key(args) or (os.environ[KEY_ENV].encode() if os.environ.get(KEY_ENV)
                             else None)
    originals = _originals(args.facts)
    sink = open_sink(args.url, write=False)
    counts: collections.Counter[str] = collections.Counter()
    shown: list[Any] = []
    try:
        for result in replay_records(sink.read(), folder=folder, originals=originals,
                                     key=key, workers=args.workers, dask=args.dask):
            counts[result.status] += 1
            if result.status != "exact" and len(shown) < SHOWN:
                shown.append(result)
    finally:
        sink.close()
    total = sum(counts.values())
    if args.format == "json":
        out.write(json.dumps({"records": total, **{s: counts[s] for s in STATUSES},
                              "not_exact": [r.to_json() for r in shown]}, indent=2) + "\n")
    else:
        for r in shown:
            out.write(f"{r.decision_id}: {r.status}\n")
            out.writelines(f"  {line}\n" for line in r.lines)
        out.write(f"{total} record(s): {counts['exact']} reproduced exactly, "
                  f"{counts['library-drift']} library drift, {counts['cannot-replay']} cannot "
                  f"be replayed, {counts['differs']} differ\n")
    return 0 if counts["exact"] == total else 1
