"""Reproduce a recorded verdict: same facts, policy texts, parameters, locale and engine.

A verdict records a hash of the facts it judged, the identity of the policy that decided
(``ruleset.content_hash``: the rule file, its vocabularies and message catalogs), the
overridden parameters and the ta-rules version. Replaying answers three questions apart:

- **exact replay**: the texts named by the verdict, loaded from the policy store
  (:mod:`ta_rules.store`) or found unchanged in the rules folder, judge the same facts the
  same way, byte for byte (apart from the ta-rules version field);
- **policy drift**: whether the version now in the rules folder would decide differently;
- **library drift**: whether this ta-rules decides differently from the one recorded, the
  texts being the very same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ta_rules._version import __version__
from ta_rules.errors import TaRulesError, UnknownRulesetError
from ta_rules.evaluate import evaluate, facts_hash
from ta_rules.facts import Facts, parse_facts
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.store import (
    PolicyNotStoredError,
    PolicyStore,
    StoreError,
    default_store,
    user_store,
)
from ta_rules.verdict import Verdict

__all__ = ["ReplayReport", "replay"]


@dataclasses.dataclass(frozen=True)
class ReplayReport:
    """The outcome of a replay.

    Attributes:
        reproduced: The exact replay gave the recorded verdict, byte for byte (apart from
            the ta-rules version field).
        differences: What differs in the exact replay, one readable line each (or why it
            could not be made).
        notes: Things worth knowing that do not change the verdict.
        verdict: The verdict of the exact replay (None when it could not be made).
        texts_from: Where the exact texts came from: the store's folder, the rules folder
            (``folder``), or None when they were found nowhere.
        policy_drift: How the version now in the rules folder decides these facts
            differently (empty: the same; None: the folder has no such version).
        policy_now: (source, content hash) of that version, or None.
        library_drift: The differences the library makes: the exact texts and the same
            facts, decided otherwise by this ta-rules than by the recorded one.
    """

    reproduced: bool
    differences: tuple[str, ...]
    notes: tuple[str, ...]
    verdict: Verdict | None
    texts_from: str | None = None
    policy_drift: tuple[str, ...] | None = None
    policy_now: tuple[str, str] | None = None
    library_drift: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form of the report."""
        return {
            "reproduced": self.reproduced, "differences": list(self.differences),
            "notes": list(self.notes), "texts_from": self.texts_from,
            "policy_drift": None if self.policy_drift is None else list(self.policy_drift),
            "policy_now": None if self.policy_now is None else {
                "source": self.policy_now[0], "content_hash": self.policy_now[1]},
            "library_drift": list(self.library_drift),
        }


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


def _exact_ruleset(old: Verdict, reg: Registry, stores: Sequence[PolicyStore]
                   ) -> tuple[Ruleset | None, str | None, list[str]]:
    """The ruleset of the recorded texts: from the rules folder when unchanged, else a store."""
    ref = old.ruleset
    for rs in reg.rulesets:
        if rs.content_hash == ref.content_hash and rs.source == ref.source:
            return rs, "folder", []
    problems: list[str] = []
    for store in stores:
        try:
            exact = store.load(ref.content_hash, source=ref.source)
            if ref.source not in store.sources(ref.content_hash):
                return exact, str(store.root), [
                    f"ruleset: recorded from {ref.source}, but the texts of "
                    f"{ref.content_hash[:19]} were kept from "
                    f"{', '.join(store.sources(ref.content_hash))}"]
            return exact, str(store.root), []
        except PolicyNotStoredError as exc:
            problems.append(str(exc))
        except StoreError as exc:
            try:  # named otherwise than the texts it claims were kept
                kept = store.load(ref.content_hash)
            except StoreError:
                problems.append(str(exc))
                continue
            return kept, str(store.root), [
                f"ruleset: recorded from {ref.source}, but the texts of "
                f"{ref.content_hash[:19]} are those of {kept.source}"]
    return None, None, problems


def _compare(before: dict[str, Any], after: dict[str, Any], skip: Sequence[str]) -> list[str]:
    out = []
    for field in before:
        if field in skip:
            continue
        if before[field] != after.get(field):
            was, now = _short(before[field]), _short(after.get(field))
            if was == now:
                was, now = "other details (rule, message or values)", "these"
            out.append(f"{field}: recorded {was}, now {now}")
    return out


def replay(recorded: Mapping[str, Any] | Verdict, facts: Mapping[str, Any] | Facts, *,
           registry: Registry | None = None,
           store: PolicyStore | Sequence[PolicyStore] | None = None) -> ReplayReport:
    """Re-evaluate the facts of a recorded verdict with the texts that decided it, and compare.

    Args:
        recorded: The verdict (its JSON form, or a batch record holding one).
        facts: The facts document that was judged.
        registry: The rules folder now (default: the bundled rulesets): for policy drift,
            and for the exact texts when they are unchanged there.
        store: Where the exact texts are kept (default: the project's store, then the
            user's).

    Raises:
        FactsError: The facts are invalid.
        TaRulesError: The recorded document is not a verdict.
    """
    old, missing = _recorded(recorded)
    differences: list[str] = [f"{name}: missing from the record (ta-rules writes every field; "
                              "the record was edited)" for name in missing]
    notes: list[str] = []
    reg = registry or default_registry()
    stores = [store] if isinstance(store, PolicyStore) else list(store or ())
    if store is None:
        stores = [s for s in (default_store(), user_store()) if s is not None]
    ref = old.ruleset
    if old.ta_rules_version != __version__:
        notes.append(f"recorded with ta-rules {old.ta_rules_version}, replayed with "
                     f"{__version__}")
    exact, texts_from, problems = _exact_ruleset(old, reg, stores)
    drift, now_ref = _policy_drift(old, reg, facts)
    if exact is not None:
        differences.extend(problems)
    else:
        valid = parse_facts(facts, _some_vocabulary(reg, ref.name))
        if facts_hash(valid) != old.facts_hash:
            differences.append(_facts_differ(valid, old.facts_hash))
        differences.append(f"policy texts: {ref.name} {ref.version} {ref.content_hash[:19]} "
                           "are neither in the rules folder nor in a store; "
                           + (problems[0] if problems else "no store is configured"))
        return ReplayReport(False, tuple(differences), tuple(notes), None, None, drift,
                            now_ref)
    valid = parse_facts(facts, exact.vocabulary)  # the facts as those texts read them
    facts_ok = facts_hash(valid) == old.facts_hash
    if not facts_ok:
        differences.append(_facts_differ(valid, old.facts_hash))
    new = evaluate(valid, ruleset=exact, parameters=old.parameters or None,
                   locale=old.locale, engine=old.engine, trace=old.trace is not None)
    before = old.model_dump(mode="json", exclude={"ta_rules_version"})
    after = new.model_dump(mode="json", exclude={"ta_rules_version"})
    found = _compare(before, after, ("facts_hash",))
    differences.extend(found)
    library = tuple(found) if facts_ok and not missing else ()
    if library and old.ta_rules_version == __version__:
        notes.append("the same texts and facts decide otherwise with the same ta-rules "
                     "version: the record was edited, or the library's behaviour depends "
                     "on something outside the policy texts")
    return ReplayReport(not differences, tuple(differences), tuple(notes), new, texts_from,
                        drift, now_ref, library)


def _some_vocabulary(reg: Registry, name: str) -> Any:
    try:
        return reg.select(name).vocabulary
    except UnknownRulesetError:
        return None


def _policy_drift(old: Verdict, reg: Registry, facts: Mapping[str, Any] | Facts
                  ) -> tuple[tuple[str, ...] | None, tuple[str, str] | None]:
    """How the version now in the folder decides the facts, against the record."""
    ref = old.ruleset
    try:
        now = reg.select(ref.name, ref.version)
    except UnknownRulesetError:
        return None, None
    now_ref = (now.source, now.content_hash)
    if now.content_hash == ref.content_hash:
        return (), now_ref
    try:
        valid = parse_facts(facts, now.vocabulary)
        verdict = evaluate(valid, ruleset=now, parameters=old.parameters or None,
                           locale=old.locale, engine=old.engine)
    except TaRulesError as exc:
        return (f"the version now in the folder cannot judge these facts: {exc}",), now_ref
    before = old.model_dump(mode="json", include={"outcome", "reasons", "max_refund",
                                                    "coverage_cap"})
    after = verdict.model_dump(mode="json", include={"outcome", "reasons", "max_refund",
                                                       "coverage_cap"})
    for r in (*before["reasons"], *after["reasons"]):
        r.pop("location", None)  # a rule moved in the file decides the same
    return tuple(_compare(before, after, ())), now_ref


def _short(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "code" in value[0]:
        return "[" + ", ".join(str(v["code"]) for v in value) + "]"
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        return f"{value['amount']} {value['currency']}"
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."
