"""Reproduce a recorded verdict: same facts, ruleset, parameters, locale and engine.

A verdict records a hash of the facts it judged, the content hash of the ruleset that
decided, the overridden parameters and the ta-rules version; replaying checks each of
them and re-evaluates, so an auditor can tell "the same decision today" from "something
changed" — and what.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ta_rules._version import __version__
from ta_rules.errors import TaRulesError, UnknownRulesetError
from ta_rules.evaluate import evaluate, facts_hash
from ta_rules.facts import Facts, parse_facts
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.verdict import Verdict

__all__ = ["ReplayReport", "replay"]


@dataclasses.dataclass(frozen=True)
class ReplayReport:
    """The outcome of a replay.

    Attributes:
        reproduced: The verdict came out identical (apart from the ta-rules version field).
        differences: What differs, one readable line each.
        notes: Things worth knowing that do not change the verdict.
        verdict: The verdict evaluated now (None when it could not be).
    """

    reproduced: bool
    differences: tuple[str, ...]
    notes: tuple[str, ...]
    verdict: Verdict | None


def _recorded(data: Mapping[str, Any] | Verdict) -> tuple[Verdict, list[str]]:
    """The recorded verdict, and the fields missing from the record.

    ta-rules writes every field of a verdict (``null`` when empty), so a missing one (a
    removed trace) means the record was edited: that is a difference, never "reproduced".
    """
    if isinstance(data, Verdict):
        return data, []
    if "verdict" in data and "line" in data:  # a record of ta-rules eval --batch
        data = data["verdict"]
    elif "decision_id" in data and "outcome" in data:  # an answer recorded in a decision log
        data = {k: v for k, v in data.items() if k != "decision_id"}
    missing = [name for name in Verdict.model_fields if name not in data]
    try:
        return Verdict.model_validate(data), missing
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "<document>"
        raise TaRulesError(f"not a ta-rules verdict: {where}: {first['msg']}") from None


def _facts_differ(valid: Facts, recorded_hash: str) -> str:
    return ("facts: these are not the facts that were judged (their hash "
            f"{facts_hash(valid)[:19]} differs from {recorded_hash[:19]})")


def replay(recorded: Mapping[str, Any] | Verdict, facts: Mapping[str, Any] | Facts, *,
           registry: Registry | None = None) -> ReplayReport:
    """Re-evaluate the facts of a recorded verdict and compare.

    Raises:
        FactsError: The facts are invalid.
        TaRulesError: The recorded document is not a verdict.
    """
    old, missing = _recorded(recorded)
    differences: list[str] = [f"{name}: missing from the record (ta-rules writes every field; "
                              "the record was edited)" for name in missing]
    notes: list[str] = []
    reg = registry or default_registry()
    ref = old.ruleset
    try:
        ruleset = reg.select(ref.name, ref.version)
    except UnknownRulesetError as exc:
        valid = parse_facts(facts)
        if facts_hash(valid) != old.facts_hash:
            differences.append(_facts_differ(valid, old.facts_hash))
        return ReplayReport(False, (*differences, f"ruleset: {exc}"), tuple(notes), None)
    valid = parse_facts(facts, ruleset.vocabulary)  # the facts as that ruleset reads them
    if facts_hash(valid) != old.facts_hash:
        differences.append(_facts_differ(valid, old.facts_hash))
    if ruleset.source != ref.source:
        differences.append(f"ruleset: recorded from {ref.source}, now from {ruleset.source}")
    if ruleset.content_hash != ref.content_hash:
        differences.append(f"ruleset: {ref.name} {ref.version} has changed since the verdict "
                           f"(content hash {ruleset.content_hash[:19]}, recorded "
                           f"{ref.content_hash[:19]})")
    if old.ta_rules_version != __version__:
        notes.append(f"recorded with ta-rules {old.ta_rules_version}, replayed with "
                     f"{__version__}")
    new = evaluate(valid, ruleset=ruleset, parameters=old.parameters or None,
                   locale=old.locale, engine=old.engine, trace=old.trace is not None)
    before = old.model_dump(mode="json", exclude={"ta_rules_version"})
    after = new.model_dump(mode="json", exclude={"ta_rules_version"})
    for field in before:
        if field in ("facts_hash", "ruleset"):
            continue  # reported above, with their meaning
        if before[field] != after[field]:
            was, now = _short(before[field]), _short(after[field])
            if was == now:
                was, now = "other details (rule, message or values)", "these"
            differences.append(f"{field}: recorded {was}, now {now}")
    return ReplayReport(not differences, tuple(differences), tuple(notes), new)


def _short(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "code" in value[0]:
        return "[" + ", ".join(str(v["code"]) for v in value) + "]"
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
