"""The work of an impact run: judge a partition of records under both sides, and fold.

:func:`judge_partition` is a plain function of picklable data (a list of records and an
:class:`ImpactConfig`) returning a :class:`Tally`; tallies fold with :meth:`Tally.add`
in any grouping, and folding them in partition order gives the same report however the
partitions were spread over processes or machines.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ta_rules._records import loads_record
from ta_rules.errors import FactsError, TaRulesError, UnknownRulesetError
from ta_rules.facts import Facts
from ta_rules.impact._history import Record, TableFacts, Unreadable
from ta_rules.impact._sides import Decision, Side, judge_with, recorded_decision

__all__ = ["ImpactConfig", "Tally", "judge_partition"]

#: Examples kept per transition, and bad records kept with their details.
EXAMPLES = 10
FIRST_ERRORS = 20


@dataclasses.dataclass(frozen=True)
class ImpactConfig:
    """What to compare: plain data, picklable.

    Attributes:
        base: The side claims are judged with today (or ``recorded``).
        candidate: The side with the change.
        strict: Stop a partition at its first bad record.
    """

    base: Side
    candidate: Side
    strict: bool = False


def _add_money(into: dict[str, Decimal], currency: str, amount: Decimal) -> None:
    into[currency] = into.get(currency, Decimal(0)) + amount


@dataclasses.dataclass
class Tally:
    """Counts of one or more partitions (see :func:`judge_partition`).

    Attributes:
        claims: Records judged under both sides.
        changed: Claims whose outcome, reason codes or maximum refund differ.
        transitions: Claims by (base outcome, candidate outcome).
        refund_delta: Candidate minus base maximum refund, summed per currency.
        reasons_gained: Per code: claims that gained it, and their refund delta.
        reasons_lost: Per code: claims that lost it, and their refund delta.
        by_rule: Per rule id: [claims where it newly gave a reason, claims where it no
            longer did].
        examples: Per transition: the first changed claims, as (line, id, base, candidate).
        errors: Records that could not be judged.
        error_kinds: Bad records by kind.
        first_errors: The first bad records (line, id, kind, message, problems).
        rulesets: Claims judged per (side, name, version, content hash).
        stopped_at: With ``strict``: the line of the first bad record.
    """

    claims: int = 0
    changed: int = 0
    transitions: collections.Counter[tuple[str, str]] = dataclasses.field(
        default_factory=collections.Counter)
    refund_delta: dict[str, Decimal] = dataclasses.field(default_factory=dict)
    reasons_gained: dict[str, tuple[int, dict[str, Decimal]]] = dataclasses.field(
        default_factory=dict)
    reasons_lost: dict[str, tuple[int, dict[str, Decimal]]] = dataclasses.field(
        default_factory=dict)
    by_rule: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    examples: dict[tuple[str, str], list[tuple[int, str | None, Decision, Decision]]] = \
        dataclasses.field(default_factory=dict)
    errors: int = 0
    error_kinds: collections.Counter[str] = dataclasses.field(
        default_factory=collections.Counter)
    first_errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    rulesets: collections.Counter[tuple[str, str, str, str]] = dataclasses.field(
        default_factory=collections.Counter)
    stopped_at: int | None = None

    def add(self, other: Tally) -> None:
        """Fold ``other`` in; ``other`` holds records after this tally's ones."""
        self.claims += other.claims
        self.changed += other.changed
        self.transitions.update(other.transitions)
        for currency, amount in other.refund_delta.items():
            _add_money(self.refund_delta, currency, amount)
        for mine, theirs in ((self.reasons_gained, other.reasons_gained),
                             (self.reasons_lost, other.reasons_lost)):
            for code, (n, delta) in theirs.items():
                count, money = mine.setdefault(code, (0, {}))
                for currency, amount in delta.items():
                    _add_money(money, currency, amount)
                mine[code] = (count + n, money)
        for rule, (gained, lost) in other.by_rule.items():
            counts = self.by_rule.setdefault(rule, [0, 0])
            counts[0] += gained
            counts[1] += lost
        for key, items in other.examples.items():
            kept = self.examples.setdefault(key, [])
            kept.extend(items[:EXAMPLES - len(kept)])
        self.errors += other.errors
        self.error_kinds.update(other.error_kinds)
        self.first_errors.extend(other.first_errors[:FIRST_ERRORS - len(self.first_errors)])
        self.rulesets.update(other.rulesets)
        if self.stopped_at is None:
            self.stopped_at = other.stopped_at

    def _error(self, line: int, rid: str | None, kind: str, message: str,
               problems: Iterable[dict[str, str]] = ()) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1
        if len(self.first_errors) < FIRST_ERRORS:
            self.first_errors.append({"line": line, "id": rid, "kind": kind,
                                      "message": message, "problems": list(problems)})

    def _count(self, line: int, rid: str | None, base: Decision, cand: Decision) -> None:
        self.claims += 1
        key = (base.outcome, cand.outcome)
        self.transitions[key] += 1
        for side, decision in (("base", base), ("candidate", cand)):
            if decision.ruleset is not None:
                self.rulesets[(side, *decision.ruleset)] += 1
        if base.currency == cand.currency:
            delta = {cand.currency: cand.refund - base.refund}
        else:
            delta = {base.currency: -base.refund, cand.currency: cand.refund}
        for currency, amount in delta.items():
            _add_money(self.refund_delta, currency, amount)
        if (base.outcome, base.codes, base.refund, base.currency) == \
                (cand.outcome, cand.codes, cand.refund, cand.currency):
            if base.rules != cand.rules:
                self._rules(base, cand)
            return
        self.changed += 1
        for into, codes in ((self.reasons_gained, set(cand.codes) - set(base.codes)),
                            (self.reasons_lost, set(base.codes) - set(cand.codes))):
            for code in codes:
                count, money = into.setdefault(code, (0, {}))
                for currency, amount in delta.items():
                    _add_money(money, currency, amount)
                into[code] = (count + 1, money)
        self._rules(base, cand)
        kept = self.examples.setdefault(key, [])
        if len(kept) < EXAMPLES:
            kept.append((line, rid, base, cand))

    def _rules(self, base: Decision, cand: Decision) -> None:
        for rules, i in ((set(cand.rules) - set(base.rules), 0),
                         (set(base.rules) - set(cand.rules), 1)):
            for rule in rules:
                self.by_rule.setdefault(rule, [0, 0])[i] += 1


def _as_id(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _decide(side: Side, data: Any, parsed: dict[int, Facts], recorded: Any,
            other: Side, table: bool = False) -> Decision:
    if side.recorded:
        if recorded is None:
            raise ValueError("no recorded verdict (a 'verdict' beside the facts)")
        return recorded_decision(recorded)
    # a fact only the other side's vocabulary has is ignored by this side, not refused
    wider = () if other.recorded else judge_with(other).vocabularies()
    return judge_with(side).decide(data, parsed, wider=wider, table=table)


def judge_partition(records: list[Record], config: ImpactConfig) -> Tally:
    """Judge every record under both sides of ``config`` and count the differences.

    A plain function of picklable data, for process pools, Dask or Spark alike: records
    come from :func:`ta_rules.impact.read_history` (or any source of ``(line, JSON text,
    id, verdict JSON text)`` tuples); a bad record is counted and kept with its line
    number, never raised.

    Example:
        >>> from pathlib import Path
        >>> from ta_rules.impact import ImpactConfig, judge_partition, resolve_side
        >>> text = Path("examples/claims/late-shipment.json").read_text()
        >>> config = ImpactConfig(resolve_side(None),
        ...                       resolve_side(None, {"min_order_amount_usd": "6000"}))
        >>> tally = judge_partition([(1, text, "c-1", None), (2, "{", None, None)], config)
        >>> tally.claims, dict(tally.transitions), tally.errors
        (1, {('covered', 'denied'): 1}, 1)
    """
    tally = Tally()
    for line, document, rid, verdict_text in records:
        kind = "json"
        try:
            if isinstance(document, Unreadable):
                tally._error(line, rid, document.kind, document.message)
                continue
            data = loads_record(document)  # what `eval` refuses (duplicate keys...) too
            recorded: Any = None
            if verdict_text is not None:
                kind = "verdict"
                recorded = loads_record(verdict_text)
            if isinstance(data, Mapping) and "facts" in data:  # an envelope
                if rid is None:
                    rid = _as_id(data.get("id"))
                if recorded is None:
                    recorded = data.get("verdict")
                data = data["facts"]
            kind = "verdict"
            parsed: dict[int, Facts] = {}
            table = isinstance(document, TableFacts)
            base = _decide(config.base, data, parsed, recorded, config.candidate, table)
            cand = _decide(config.candidate, data, parsed, recorded, config.base, table)
        except FactsError as exc:
            tally._error(line, rid, "facts", str(exc), (
                {"path": p.path, "message": p.message} for p in exc.problems))
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, json.JSONDecodeError | RecursionError):
                where = "the recorded verdict is" if kind == "verdict" else "the record is"
                message = f"{where} not a JSON document: {exc}"
            else:
                message = str(exc)
            tally._error(line, rid, kind if kind != "facts" else "record", message)
        except UnknownRulesetError as exc:
            tally._error(line, rid, "ruleset", str(exc))
        except TaRulesError as exc:
            tally._error(line, rid, "decision", f"{type(exc).__name__}: {exc}")
        else:
            tally._count(line, rid, base, cand)
            continue
        if config.strict:
            tally.stopped_at = line
            break
    return tally


def example_json(item: tuple[int, str | None, Decision, Decision]) -> dict[str, Any]:
    """One example in JSON form."""
    line, rid, base, cand = item
    return {"line": line, "id": rid, "base": base.to_json(), "candidate": cand.to_json()}


def money_json(amounts: Mapping[str, Decimal]) -> dict[str, str]:
    """Per-currency amounts as exact decimal strings, sorted by currency."""
    return {c: format(a, "f") for c, a in sorted(amounts.items())}
