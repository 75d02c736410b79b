"""What each studio action does, each through the library call of the matching command.

Every function takes the workbench and the request's JSON object and returns JSON-ready
data; a refusal is a :class:`~ta_rules.studio._app.StudioError`, a library error goes up
as it is (the application turns it into an answer naming what and where).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from ta_rules.errors import Diagnostic
from ta_rules.studio._app import StudioError, Workbench, _text, digest

__all__ = ["check", "diff", "impact", "read_file", "run", "save", "scenarios", "state",
           "why_not"]

#: Most impact reports kept for the page to show (each is one self-contained page).
_REPORTS_KEPT = 8


def state(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """What the page starts with: files, scenarios, examples, locales, the diff base."""
    from ta_rules.testing.scenarios import load_scenarios

    listed: list[dict[str, Any]] = []
    for shown, path in wb.scenario_files():
        found, _ = load_scenarios(path)
        listed.extend({"file": shown, "name": s.name, "line": s.line} for s in found)
    return {"rules": str(wb.rules), "root": str(wb.root), "files": wb.rule_names(),
            "where": f"{wb.root.name}/{wb.shown(str(wb.rules))}",
            "scenarios": listed, "examples": wb.example_names(), "locales": wb.locales,
            "base": wb.base}


def read_file(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """A rule file's text."""
    path = wb.rule_path(body.get("file"))
    try:
        content = path.read_bytes()
        text = content.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(422, f"{path.name}: cannot read: {exc}") from None
    return {"file": path.name, "text": text, "digest": digest(content)}


def _diagnostic(wb: Workbench, d: Diagnostic) -> dict[str, Any]:
    data = d.to_json()
    source = d.location.source
    if source and not source.startswith("<"):
        p = Path(os.path.abspath(source))
        data["file"] = p.name if p.parent == wb.rules else wb.shown(str(p))
    return data


def check(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """``ta-rules check`` of the rules folder, with the editor's unsaved texts.

    ``text`` is the file in the editor; ``others`` the other rule files with unsaved
    changes, by name (a vocabulary being edited is checked with the rules written
    against it).
    """
    from ta_rules.tools.check import check_paths

    path = wb.rule_path(body.get("file"))
    texts = {str(path): _text(body.get("text"))}
    others = body.get("others") or {}
    if not isinstance(others, dict):
        raise StudioError(400, "others: expected {file name: text}")
    for name, text in others.items():
        texts.setdefault(str(wb.rule_path(name)), _text(text))
    problems, _, count = check_paths([str(wb.rules)], texts=texts)
    return {"file": path.name, "files": count,
            "diagnostics": [_diagnostic(wb, d) for d in problems],
            "outline": outline(texts[str(path)], path.name)}


def outline(text: str, name: str) -> list[dict[str, Any]]:
    """The names the text declares and where each is.

    Read from the YAML alone, as the language server reads them, so also while the file
    does not compile.
    """
    from ta_rules.rulesets.symbols import ruleset_symbols

    return [{"kind": s.kind, "name": s.name, "line": s.location.line,
             "column": s.location.column, "detail": s.detail.splitlines()[0] if s.detail
             else ""} for s in ruleset_symbols(text, name).symbols]


def save(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """Write a rule file of the rules folder (and say what ``check`` now finds)."""
    saved = wb.save(body.get("file"), body.get("text"), body.get("digest"))
    return {**saved, **check(wb, {"file": saved["file"], "text": body.get("text")})}


def _claim(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """The claim to judge: facts, pins, parameters and the expectation, if a scenario."""
    from ta_rules.testing.scenarios import load_scenarios

    if "scenario" in body:
        pick = body["scenario"]
        if not isinstance(pick, dict):
            raise StudioError(400, "scenario: expected {file, name}")
        found, problems = load_scenarios(wb.scenario_file(pick.get("file")))
        if problems:
            raise StudioError(422, "the scenario file has problems", diagnostics=[
                _diagnostic(wb, d) for d in problems])
        for s in found:
            if s.name == pick.get("name"):
                return {"facts": s.facts, "ruleset": s.ruleset, "version": s.version,
                        "parameters": dict(s.parameters) or None, "scenario": s}
        raise StudioError(404, f"{pick.get('file')}: no scenario named {pick.get('name')!r}")
    if "example" in body:
        name = body["example"]
        if name not in wb.example_names() or wb.examples is None:
            raise StudioError(404, f"{name!r}: not an example claim")
        return {"facts": _document((wb.examples / name).read_bytes(), name)}
    if "facts_text" in body:
        return {"facts": _document(_text(body["facts_text"]).encode("utf-8"), "facts")}
    raise StudioError(400, "name the claim: scenario, example or facts_text")


def _document(content: bytes, source: str) -> Any:
    """A facts document, YAML or JSON, read as ``ta-rules eval`` reads its file."""
    from ta_rules.errors import render_diagnostics
    from ta_rules.rulesets._yaml import load_yaml

    doc, problems = load_yaml(content, source, aliases=True)
    if doc is None or problems:
        raise StudioError(422, render_diagnostics(problems, {source: doc.text} if doc else {}))
    data = doc.data
    # a scenario pasted whole is judged by its facts
    if isinstance(data, dict) and "facts" in data and "expect" in data:
        return data["facts"]
    return data


def _judge(wb: Workbench, claim: dict[str, Any], locale: Any) -> tuple[Any, Any]:
    """Judge as ``ta-rules eval --trace`` does, by the saved rules of the folder."""
    from ta_rules.request import evaluate_request

    registry = wb.registry()
    verdict = evaluate_request(claim["facts"], ruleset=claim.get("ruleset"),
                               version=claim.get("version"), parameters=claim.get("parameters"),
                               trace=True, locale=locale if isinstance(locale, str) else "en",
                               registry=registry)
    return verdict, registry.select(verdict.ruleset.name, verdict.ruleset.version)


def _places(wb: Workbench, ruleset: Any) -> dict[str, Any]:
    """Where each rule is written: the rule file (in the rules folder) and the line."""
    out = {}
    for rid, rule in ruleset.rules.items():
        loc = rule.location
        p = Path(os.path.abspath(loc.source))
        out[rid] = {"file": p.name if p.parent == wb.rules else None,
                    "line": loc.line, "column": loc.column}
    return out


def run(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """Judge a claim with the trace; where each rule is; a scenario's differences."""
    from ta_rules.messages import json_value
    from ta_rules.testing.scenarios import compare

    claim = _claim(wb, body)
    verdict, ruleset = _judge(wb, claim, body.get("locale"))
    scenario = claim.get("scenario")
    return {"verdict": verdict.model_dump(mode="json"), "rules": _places(wb, ruleset),
            "facts": json_value(claim["facts"]),
            "differences": compare(scenario.expect, verdict) if scenario else None}


def why_not(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """``ta-rules eval --why-not``: the fewest fact changes that would make it covered."""
    from ta_rules.evaluate import read_facts
    from ta_rules.verify import VerifyUnavailableError, counterfactual

    claim = _claim(wb, body)
    verdict, ruleset = _judge(wb, claim, body.get("locale"))
    facts, _ = read_facts(claim["facts"], ruleset)
    try:
        answer = counterfactual(facts, ruleset=ruleset,
                                parameters=dict(verdict.parameters) or None)
    except VerifyUnavailableError as exc:
        raise StudioError(501, str(exc)) from None
    return answer


def diff(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """``ta-rules diff BASE RULES --scenarios ...``: the rules folder against a base."""
    from ta_rules.refs import resolve
    from ta_rules.tools.diff import diff_rulesets, pair_versions, scenario_changes

    base = body.get("base") or wb.base
    if not isinstance(base, str):
        raise StudioError(400, "base: expected a policy reference")
    old_side, new_side = resolve(base, start=wb.root), resolve(str(wb.rules), start=wb.root)
    paths = [p for _, p in wb.scenario_files()]
    versions = []
    for old, new in pair_versions(old_side, new_side):
        if old is None or new is None:
            only = old or new
            versions.append({"name": only.name, "version": only.version,
                             "only": "old" if new is None else "new"})
            continue
        changes = diff_rulesets(old, new)
        moved = scenario_changes(old, new, paths) if paths else []
        versions.append({
            "name": new.name, "version": new.version,
            "changes": [{**c.to_json(), "text": c.render()} for c in changes],
            "scenarios": [{**s, "location": _shown_location(wb, str(s["location"]))}
                          for s in moved]})
    return {"base": base, "old": old_side.describe(), "new": new_side.describe(),
            "versions": versions}


def _shown_location(wb: Workbench, location: str) -> str:
    """``file:line`` with the file as the page shows it."""
    path, sep, line = location.rpartition(":")
    return f"{wb.shown(path)}:{line}" if sep and line.isdigit() else wb.shown(location)


def scenarios(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """``ta-rules test``: every scenario of the project, by the saved rules."""
    from ta_rules.testing.runner import run_paths

    locale = body.get("locale") if isinstance(body.get("locale"), str) else "en"
    report = run_paths([p for _, p in wb.scenario_files()], registry=wb.registry(),
                       locale=str(locale))
    return {"summary": report.summary(), "passed": report.passed, "failed": report.failed,
            "errors": [_diagnostic(wb, d) for d in report.errors],
            "results": [{"file": wb.shown(r.scenario.source), "name": r.scenario.name,
                         "line": r.scenario.line, "passed": r.passed,
                         "differences": list(r.differences), "error": r.error,
                         "outcome": r.verdict.outcome if r.verdict else None}
                        for r in report.results]}


def impact(wb: Workbench, body: dict[str, Any]) -> dict[str, Any]:
    """``ta-rules impact --claims HISTORY --base BASE --format html`` on the rules folder."""
    from ta_rules.impact import (
        ImpactConfig,
        ImpactError,
        read_history,
        render_html,
        report_json,
        resolve_side,
        run_impact,
    )

    history, base = body.get("history"), body.get("base") or wb.base
    if not isinstance(history, str) or not history or not isinstance(base, str):
        raise StudioError(400, "impact: name a history file and a base")
    path = Path(history) if os.path.isabs(history) else wb.root / history
    if not path.is_file():
        raise StudioError(404, f"{history}: no such history file")
    try:
        # a reference is read from the working folder's project, as the command reads it
        config = ImpactConfig(resolve_side(base), resolve_side(str(wb.rules)))
        partitions, total = read_history(str(path))
        tally = run_impact(partitions, config, total=total)
    except ImpactError as exc:
        raise StudioError(400, f"impact: {exc}") from None
    report = report_json(tally, config)
    key = secrets.token_urlsafe(16)
    wb.reports[key] = render_html(report)
    while len(wb.reports) > _REPORTS_KEPT:
        del wb.reports[next(iter(wb.reports))]
    return {"url": f"/impact/{key}", "claims": report["claims"], "changed": report["changed"],
            "errors": report["errors"]["count"]}
