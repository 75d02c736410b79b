"""``ta-rules diff``: what changed between two ruleset versions, in policy terms."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.messages import json_value
from ta_rules.money import Money
from ta_rules.rulesets import _expr as ex
from ta_rules.rulesets._analysis import canon
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.schema import ValueSpec

__all__ = ["Change", "diff_rulesets", "pair_versions", "scenario_changes", "vocabulary_changes"]


@dataclasses.dataclass(frozen=True)
class Change:
    """One difference: what kind of thing, its name, and old/new (None when absent)."""

    section: str  # vocabulary, parameter, reason, value, function, rule, table, order, effective
    name: str
    change: str  # added, removed, changed
    old: Any = None
    new: Any = None
    detail: str = ""

    def render(self) -> str:
        """One readable line."""
        if self.change == "added":
            body = f"+ {self.section} {self.name}"
            if self.new is not None:
                body += f": {self.new}"
        elif self.change == "removed":
            body = f"- {self.section} {self.name}"
            if self.old is not None:
                body += f": {self.old}"
        else:
            body = f"~ {self.section} {self.name}: {self.old} -> {self.new}"
        return body + (f"  ({self.detail})" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"section": self.section, "name": self.name, "change": self.change,
                "old": self.old, "new": self.new, "detail": self.detail}


def _expr_text(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return canon(ex.parse(text))
    except ex.ParseError:
        return " ".join(text.split())


def _compare_maps(section: str, old: Mapping[str, Any], new: Mapping[str, Any],
                  show: Any = lambda v: v, same: Any = None) -> list[Change]:
    out = []
    same = same or (lambda a, b: a == b)
    for name in old:
        if name not in new:
            out.append(Change(section, name, "removed", show(old[name]), None))
        elif not same(old[name], new[name]):
            out.append(Change(section, name, "changed", show(old[name]), show(new[name])))
    out.extend(Change(section, name, "added", None, show(new[name]))
               for name in new if name not in old)
    return out


def _rule_summary(rule: Any) -> str:
    parts = []
    if rule.when is not None:
        parts.append(f"when {' '.join(rule.when.split())}")
    reasons = getattr(rule, "reasons", None)
    if reasons:
        parts.append("gives " + ", ".join(" ".join(r.split()) for r in reasons))
    if getattr(rule, "use", None):
        parts.append(f"uses table {rule.use}")
    if getattr(rule, "outcome", None):
        parts.append(f"outcome {rule.outcome}")
    return "; ".join(parts) or "always"


def _rule_key(rule: Any) -> tuple[Any, ...]:
    return (
        _expr_text(rule.when),
        tuple(_expr_text(r) for r in getattr(rule, "reasons", ()) or ()),
        getattr(rule, "use", None),
        getattr(rule, "outcome", None),
        tuple(sorted((k, _expr_text(v)) for k, v in (getattr(rule, "with_", {}) or {}).items())),
    )


def _rule_lists(rs: Ruleset) -> dict[str, list[Any]]:
    lists: dict[str, list[Any]] = {}
    for name, g in rs.spec.groups.items():
        if g.rules is not None:
            lists[f"groups.{name}"] = list(g.rules)
        for tname, rules in (g.tables or {}).items():
            lists[f"groups.{name}.{tname}"] = list(rules)
    lists["outcome"] = list(rs.spec.outcome)
    return lists


def _field_summary(f: Any) -> str:
    parts = [str(f.type)]
    if not f.required:
        parts.append(f"default {_show(f.default)}")
    for name in ("minimum", "maximum", "greater_than", "min_length", "max_length",
                 "item_max_length"):
        value = getattr(f, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if f.at_most_one is not None:
        parts.append(f"at most one with {f.at_most_one[0]} = {f.at_most_one[1]}")
    return ", ".join(parts)


def _fields(voc: Any) -> dict[str, Any]:
    """Every field of a vocabulary, by ``record.field``."""
    if voc is None:
        return {}
    return {f"{r.name}.{f.name}": f for r in voc.records for f in r.fields}


def vocabulary_changes(old: Any, new: Any) -> list[Change]:
    """The differences between two facts vocabularies: fields, codes and currencies.

    A field added, removed, or changed in type, default or bounds, a code added to or
    removed from a code set, a currency dimension read from another fact: each can change
    a verdict, so each is a policy difference.
    """
    changes = _compare_maps("vocabulary", _fields(old), _fields(new), show=_field_summary,
                            same=lambda a, b: _field_summary(a) == _field_summary(b))
    old_sets = {c.name: c for c in old.code_sets} if old is not None else {}
    new_sets = {c.name: c for c in new.code_sets} if new is not None else {}
    for name in sorted({*old_sets, *new_sets}):
        a, b = old_sets.get(name), new_sets.get(name)
        before, after = set(a.codes) if a else set(), set(b.codes) if b else set()
        for code in sorted(after - before):
            changes.append(Change("vocabulary", f"codes.{name}", "added", None, code))
        for code in sorted(before - after):
            changes.append(Change("vocabulary", f"codes.{name}", "removed", code, None))
        if a and b and a.closed != b.closed:
            changes.append(Change("vocabulary", f"codes.{name}", "changed",
                                  "closed" if a.closed else "open",
                                  "closed" if b.closed else "open"))
    changes += _compare_maps(
        "vocabulary", {f"currencies.{d.name}": d for d in (old.dimensions if old else ())},
        {f"currencies.{d.name}": d for d in (new.dimensions if new else ())},
        show=lambda d: "from " + ".".join(d.source),
        same=lambda a, b: a.source == b.source)
    return changes


def diff_rulesets(old: Ruleset, new: Ruleset) -> list[Change]:
    """Every policy difference between two rulesets, their facts vocabularies included."""
    changes: list[Change] = []
    eff_old = (old.effective_from, old.effective_until)
    eff_new = (new.effective_from, new.effective_until)
    if eff_old != eff_new:
        def fmt(e: tuple[Any, Any]) -> str:
            return f"from {e[0] or 'the beginning'} until {e[1] or 'further notice'}"
        changes.append(Change("effective", "range", "changed", fmt(eff_old), fmt(eff_new)))
    if old.vocabulary != new.vocabulary:
        changes += vocabulary_changes(old.vocabulary, new.vocabulary)
    changes += _compare_maps(
        "parameter", old.parameters, new.parameters,
        show=lambda p: f"{_show(p.default)} ({p.type_text})",
        same=lambda a, b: (a.type_text, a.default, a.choices) == (b.type_text, b.default,
                                                                    b.choices))
    changes += _compare_maps(
        "reason", old.reasons, new.reasons, show=lambda r: f"{r.kind}: {r.message}",
        same=lambda a, b: (a.kind, a.message) == (b.kind, b.message))

    def value_text(v: str | ValueSpec) -> str:
        return v.expr if isinstance(v, ValueSpec) else v

    changes += _compare_maps(
        "value", old.spec.values, new.spec.values,
        show=lambda v: " ".join(value_text(v).split()),
        same=lambda a, b: _expr_text(value_text(a)) == _expr_text(value_text(b)))
    changes += _compare_maps(
        "function", old.spec.functions, new.spec.functions,
        show=lambda f: " ".join(f.expr.split()),
        same=lambda a, b: (_expr_text(a.expr), a.params) == (_expr_text(b.expr), b.params))
    old_lists, new_lists = _rule_lists(old), _rule_lists(new)
    changes += _compare_maps("table", old_lists, new_lists,
                             show=lambda rules: f"{len(rules)} rule(s)",
                             same=lambda a, b: True)
    old_rules = {r.id: (where, r) for where, rules in old_lists.items() for r in rules}
    new_rules = {r.id: (where, r) for where, rules in new_lists.items() for r in rules}
    for rid, (where, rule) in old_rules.items():
        if rid not in new_rules:
            changes.append(Change("rule", rid, "removed", _rule_summary(rule), None,
                                  f"was in {where}"))
            continue
        nwhere, nrule = new_rules[rid]
        if _rule_key(rule) != _rule_key(nrule):
            changes.append(Change("rule", rid, "changed", _rule_summary(rule),
                                  _rule_summary(nrule)))
        if where != nwhere:
            changes.append(Change("rule", rid, "changed", where, nwhere, "moved"))
    for rid, (where, rule) in new_rules.items():
        if rid not in old_rules:
            changes.append(Change("rule", rid, "added", None, _rule_summary(rule),
                                  f"in {where}"))
    for where, rules in old_lists.items():
        if where not in new_lists:
            continue
        ids_new = [r.id for r in new_lists[where]]
        common_old = [r.id for r in rules if r.id in ids_new]
        common_new = [i for i in ids_new if i in common_old]
        if common_old != common_new:
            changes.append(Change("order", where, "changed", ", ".join(common_old),
                                  ", ".join(common_new), "the first rule that applies decides"
                                  if _is_first(old, where) else ""))
    return changes


def _show(value: Any) -> str:
    if isinstance(value, Money):
        return str(value)
    return json.dumps(json_value(value))


def _is_first(rs: Ruleset, where: str) -> bool:
    if where == "outcome":
        return True
    group = rs.spec.groups.get(where.split(".")[1])
    return group is not None and group.mode == "first"


def scenario_changes(old: Ruleset, new: Ruleset, paths: Iterable[str]) -> list[dict[str, Any]]:
    """Scenarios whose verdict differs when judged by ``old`` and by ``new``."""
    from ta_rules.errors import Diagnostic, Location, RulesetError, TaRulesError
    from ta_rules.evaluate import evaluate, read_facts
    from ta_rules.present import error_summary, verdict_summary
    from ta_rules.testing.scenarios import load_scenarios, scenario_places

    out = []
    for path, folder, problem in scenario_places(paths):
        if problem is not None:
            raise RulesetError([Diagnostic(dc.FILE_UNREADABLE, problem, Location(path))])
        scenarios, problems = load_scenarios(path, folder=folder)
        if any(d.severity == "error" for d in problems):
            # a scenario that cannot be read is never "unchanged"
            raise RulesetError([d for d in problems if d.severity == "error"])
        for s in scenarios:
            results: list[dict[str, Any]] = []
            for rs in (old, new):
                params = {k: v for k, v in s.parameters.items() if k in rs.parameters}
                try:
                    # a fact only the other side's vocabulary has is ignored, not refused
                    valid, _ = read_facts(s.facts, rs, wider=(old.vocabulary, new.vocabulary))
                    v = evaluate(valid, ruleset=rs, parameters=params or None)
                    results.append(verdict_summary(v))
                except TaRulesError as exc:
                    results.append(error_summary(exc))
            if results[0] != results[1]:
                out.append({"name": s.name, "location": s.location,
                            "old": results[0], "new": results[1]})
    return out


def pair_versions(old: Any, new: Any) -> list[tuple[Any, Any]]:
    """The versions two resolved references compare (:class:`ta_rules.refs.Resolved`).

    The two pinned versions, or each version by name and version; a version only one
    side has is paired with None.
    """
    if old.ruleset is not None and new.ruleset is not None:
        return [(old.ruleset, new.ruleset)]

    def index(side: Any, other: Any) -> dict[tuple[str, str], Any]:
        if side.ruleset is not None:
            return {(side.ruleset.name, side.ruleset.version): side.ruleset}
        keys = [(r.name, r.version) for r in other.rulesets] if other.ruleset is not None \
            else [(r.name, r.version) for r in side.rulesets]
        return {(r.name, r.version): r for r in side.rulesets if (r.name, r.version) in keys
                or other.ruleset is None}

    a, b = index(old, new), index(new, old)
    if old.ruleset is not None and not b:
        b = {k: r for k, r in ((k, _same_version(new, k)) for k in a) if r is not None}
    if new.ruleset is not None and not a:
        a = {k: r for k, r in ((k, _same_version(old, k)) for k in b) if r is not None}
    keys = sorted({*a, *b}, key=lambda k: (k[0], _version_key(k[1])))
    return [(a.get(k), b.get(k)) for k in keys]


def _same_version(side: Any, key: tuple[str, str]) -> Any:
    from ta_rules.errors import UnknownRulesetError

    try:
        return side.registry.select(*key)
    except UnknownRulesetError:
        return None


def _version_key(version: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))
