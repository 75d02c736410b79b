"""Passes over the intermediate form: static checks and what traces show.

- :func:`check_rule_lists`: a rule after one that always applies (in a ``first`` list) can
  never be reached; a condition whose parts contradict each other never applies.
- :func:`check_unused`: parameters, reason codes, values, functions and groups nothing
  uses; ``with`` values no message shows (warnings).
- :func:`collect_trace_refs`: for every rule condition, the names and fact paths it reads,
  as nodes, so that a trace can show their values.
- :func:`day_count_parameters`: the integer parameters added to or subtracted from a date
  (their overrides are bounded by :data:`MAX_DAY_COUNT`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic
from ta_rules.rulesets import ir
from ta_rules.rulesets._analysis import contradiction
from ta_rules.rulesets._yaml import Path, YamlDocument
from ta_rules.rulesets.parse import Parsed
from ta_rules.rulesets.resolve import Resolver
from ta_rules.rulesets.schema import RulesetSpec

__all__ = ["MAX_DAY_COUNT", "check_rule_lists", "check_unused", "collect_trace_refs",
           "day_count_parameters"]

#: Largest day count a parameter may be given: 1900-01-01 (the earliest date a claim may
#: hold) minus it is still in the calendar, and so is 2999-12-31 (the latest) plus it.
MAX_DAY_COUNT = 693_595


def _rule_lists(spec: RulesetSpec) -> Iterator[tuple[Path, str, list[Any]]]:
    """Every ordered list of rules: (path, mode, rules)."""
    for name, g in spec.groups.items():
        if g.rules is not None:
            yield ("groups", name, "rules"), g.mode, g.rules
        for tname, rules in (g.tables or {}).items():
            yield ("groups", name, "tables", tname), g.mode, rules
    yield ("outcome",), "first", spec.outcome


def check_rule_lists(spec: RulesetSpec, doc: YamlDocument, parsed: Parsed,
                     broken_rules: frozenset[tuple[Any, ...]]) -> list[Diagnostic]:
    """Unreachable rules, and conditions that can never hold."""
    out = []
    for path, mode, rules in _rule_lists(spec):
        always_at: int | None = None
        for i, rule in enumerate(rules):
            rpath = (*path, i)
            if rpath in broken_rules:
                continue
            if always_at is not None and mode == "first":
                out.append(Diagnostic(
                    dc.COMPILE_UNREACHABLE_RULE,
                    f"rule {rule.id!r} can never be reached: rule {rules[always_at].id!r} "
                    "before it always applies", doc.offset_location((*rpath, "id"), 0),
                    "move it before that rule, or give that rule a condition"))
                break
            if rule.when is None or rule.when.strip() == "true":
                always_at = i
                continue
            tree = parsed.get((*rpath, "when"))
            clash = contradiction(tree) if tree is not None else None
            if clash is not None:
                first, second = clash
                what = "is always false" if first is second else \
                    "contradicts an earlier part of the same condition"
                out.append(Diagnostic(
                    dc.COMPILE_NEVER_APPLIES, f"rule {rule.id!r} can never apply: this part "
                    f"{what}", doc.offset_location((*rpath, "when"), second.pos)))
    return out


_UNUSED = {"value": dc.COMPILE_UNUSED_VALUE, "function": dc.COMPILE_UNUSED_FUNCTION,
           "group": dc.COMPILE_UNUSED_GROUP}


def _warn(code: str, message: str, location: Any, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, location, hint, "warning")


def check_unused(r: Resolver, rir: ir.RulesetIR) -> list[Diagnostic]:
    """Declarations nothing uses, and ``with`` values no message shows."""
    spec, doc = r.spec, r.doc
    out = []
    for name, param in r.params.items():
        if name not in r.used_params:
            out.append(_warn(dc.COMPILE_UNUSED_PARAMETER, f"parameter {name!r} is never used",
                             param.location, "use it in a rule or remove it"))
    for code, reason in r.reasons.items():
        if code not in r.codes_produced:
            out.append(_warn(dc.COMPILE_UNUSED_REASON,
                             f"reason code {code} is declared but no rule gives it",
                             reason.location))
    for kind, section in (("value", spec.values), ("function", spec.functions),
                          ("group", spec.groups)):
        for name in section:
            if (kind, name) not in r.referenced:
                out.append(_warn(
                    _UNUSED[kind], f"{kind} {name!r} is never used"
                    + (" (its reasons never reach a verdict)" if kind == "group" else ""),
                    doc.location((f"{kind}s", name), key=True)))
    for path, _, rules in _rule_lists(spec):
        for i, rule in enumerate(rules):
            codes = rir.rules[rule.id].codes if rule.id in rir.rules else ()
            used = set().union(*(r.reasons[c].placeholders for c in codes if c in r.reasons))
            for key in getattr(rule, "with_", None) or {}:
                if codes and key not in used:
                    out.append(_warn(
                        dc.COMPILE_UNUSED_MESSAGE_VALUE,
                        f"rule {rule.id!r} provides {key!r} but no message of "
                        f"{', '.join(codes)} uses it",
                        doc.location((*path, i, "with", key), key=True)))
    return out


def _fact_path(node: ir.Node) -> str | None:
    if isinstance(node, ir.Ref):
        return node.name if node.kind == "fact" else None
    if isinstance(node, ir.Field):
        base = _fact_path(node.obj)
        return f"{base}.{node.name}" if base else None
    return None


def _reads(node: ir.Node, out: dict[str, ir.Node]) -> None:
    """The fact paths and names a condition reads (not inside a ``for``'s element)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ir.Field):
            fp = _fact_path(n)
            if fp is not None:
                out.setdefault(fp, n)
                continue
        elif isinstance(n, ir.Ref):
            if n.kind in ("local", "value", "param"):
                out.setdefault(n.name, n)
            continue
        elif isinstance(n, ir.Builtin):
            stack.extend(reversed([*((n.over.iterable,) if n.over else ()), *n.args]))
            continue
        stack.extend(reversed(list(ir.children(n))))


def collect_trace_refs(rir: ir.RulesetIR) -> None:
    """Record, for every rule condition, what it reads (``rir.trace_refs``)."""
    for rule in rir.rules.values():
        if rule.when is None or not rule.ok:
            continue
        found: dict[str, ir.Node] = {}
        _reads(rule.when, found)
        rir.trace_refs[rule.id] = list(found.items())


def _roots(rir: ir.RulesetIR) -> Iterator[ir.Node]:
    """Every expression of the ruleset."""
    yield from (v.node for v in rir.values.values())
    yield from (f.node for f in rir.functions.values())
    yield from (g.iterable for g in rir.groups.values() if g.iterable is not None)
    yield from (n for n in rir.amounts.values() if n is not None)
    for rule in rir.rules.values():
        if rule.when is not None:
            yield rule.when
        yield from (node for _, node in rule.with_values)
        yield from rule.reasons


def day_count_parameters(rir: ir.RulesetIR) -> frozenset[str]:
    """The integer parameters that a date is shifted by (``date + p``, ``date - p * 7``)."""
    found: set[str] = set()
    for root in _roots(rir):
        for node in ir.walk(root):
            if isinstance(node, ir.Arith) and node.left.t.kind == "date" \
                    and node.right.t.kind == "int":
                found.update(n.name for n in ir.walk(node.right)
                             if isinstance(n, ir.Ref) and n.kind == "param")
    return frozenset(found)
