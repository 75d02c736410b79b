"""Every way a verdict is written: text, JSON, the batch record, the HTTP answer, reports.

One function per format over one :class:`~ta_rules.verdict.Verdict`; the command line, the
HTTP service, ``--batch``, the scenario runner and ``ta-rules diff`` all write verdicts
through this module, so a format changes in one place and every surface shows the change.
The JSON of a verdict is pydantic's serialisation of the model: every field it declares,
in its order.
"""

from __future__ import annotations

import json
from typing import Any

from ta_rules.messages import json_value
from ta_rules.verdict import Verdict

__all__ = ["batch_record", "claim_summary", "error_summary", "outcome_summary", "verdict_data",
           "verdict_json", "verdict_summary", "verdict_text"]


def verdict_data(verdict: Verdict, *, trace: bool = True) -> dict[str, Any]:
    """The verdict as JSON data (what a report embeds): ``model_dump(mode="json")``.

    ``trace=False`` leaves the trace out (a counterexample shows the verdict alone).
    """
    if not trace:
        return verdict.model_dump(mode="json", exclude={"trace"})
    return verdict.model_dump(mode="json")


def verdict_json(verdict: Verdict) -> str:
    """The verdict as a JSON document, indented: ``eval --format json`` and the HTTP answer."""
    return json.dumps(verdict.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def batch_record(line: int, verdict: Verdict, *, decision_id: str | None = None) -> str:
    """One ``--batch`` record on one line (no newline): line number, verdict.

    A verdict recorded in a decision log carries its ``decision_id`` before the verdict.
    """
    logged = f'"decision_id": "{decision_id}", ' if decision_id is not None else ""
    return f'{{"line": {line}, {logged}"verdict": {verdict.model_dump_json()}}}'


def verdict_summary(verdict: Verdict) -> dict[str, Any]:
    """Outcome, sorted reason codes and amounts as text (``ta-rules diff --scenarios``)."""
    return {"outcome": verdict.outcome, "reasons": sorted(verdict.codes),
            "max_refund": str(verdict.max_refund),
            "coverage_cap": str(verdict.coverage_cap) if verdict.coverage_cap else None}


def outcome_summary(verdict: Verdict) -> dict[str, Any]:
    """Outcome, sorted codes and refund (a witness of ``ta-rules diff --symbolic``)."""
    return {"outcome": verdict.outcome, "codes": sorted(verdict.codes),
            "max_refund": str(verdict.max_refund)}


def claim_summary(verdict: Verdict) -> dict[str, Any]:
    """Outcome, codes in the verdict's order and amounts as JSON (``eval --why-not``)."""
    data = verdict.model_dump(mode="json", include={"outcome", "reasons", "max_refund",
                                                    "coverage_cap"})
    return {"outcome": data["outcome"], "codes": [r["code"] for r in data["reasons"]],
            "max_refund": data["max_refund"], "coverage_cap": data["coverage_cap"]}


def error_summary(error: BaseException) -> dict[str, Any]:
    """A claim that could not be judged, in the shape of :func:`verdict_summary`."""
    return {"outcome": "error", "reasons": [str(error)], "max_refund": "", "coverage_cap": None}


def verdict_text(verdict: Verdict, *, color: bool = False) -> str:
    """A verdict as text: outcome, amounts, reasons with messages and rules, and the trace.

    ``color``: the outcome in ANSI colour (for a terminal).
    """
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    outcome_color = {"covered": "32", "denied": "31", "pending": "33", "settled": "36"}
    lines = [
        f"{verdict.outcome.upper()}  max refund {verdict.max_refund}"
        + (f"  (coverage cap {verdict.coverage_cap})" if verdict.coverage_cap else ""),
        f"ruleset {verdict.ruleset.name} {verdict.ruleset.version} "
        f"({verdict.ruleset.content_hash[:19]}) engine {verdict.engine}",
    ]
    if verdict.parameters:
        lines.append("parameters: " + ", ".join(
            f"{k}={json.dumps(v)}" for k, v in verdict.parameters.items()))
    lines.append("reasons:")
    for r in verdict.reasons:
        subject = f" [{r.subject}]" if r.subject else ""
        lines.append(f"  {r.code} ({r.kind}){subject}: {r.message}")
        lines.append(f"      rule {r.rule} at {r.location}")
    if verdict.trace is not None:
        lines.append("trace:")
        for t in verdict.trace:
            mark = "applies" if t.applied else "-"
            subject = f" [{t.subject}]" if t.subject else ""
            seen = ", ".join(f"{k}={json.dumps(json_value(v), ensure_ascii=False)}"
                             for k, v in t.values.items())
            lines.append(f"  {t.rule}{subject}: {mark}" + (f"  ({seen})" if seen else ""))
    # facts reach messages, subjects and values: a terminal must never receive their control
    # characters (escape sequences retitle, clear or rewrite the screen)
    text = "\n".join(_printable(line) for line in lines)
    word = verdict.outcome.upper()
    return paint(word, outcome_color[verdict.outcome]) + text[len(word):]


def _printable(text: str) -> str:
    """``text`` with control and bidirectional-format characters written as escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else
                   f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
                   for ch in text)
