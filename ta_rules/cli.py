"""The ``ta-rules`` command line: ``eval``, ``check``, ``test``, ``impact``...

``main(argv) -> int`` never raises for bad input: results go to stdout, diagnostics to
stderr, and the exit status says what happened (:class:`ExitCode`).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ta_rules.errors import (
    EngineError,
    EvaluationError,
    FactsError,
    ParameterError,
    RulesetError,
    TaRulesError,
    UnknownRulesetError,
    render_diagnostics,
)

__all__ = ["ExitCode", "console_main", "main"]


class ExitCode(enum.IntEnum):
    """Exit statuses of ``ta-rules``."""

    OK = 0
    PROBLEMS = 1  # diagnostics found, scenarios failed
    USAGE = 2  # bad arguments or unreadable input
    INTERNAL = 3  # a bug in ta-rules


class UsageError(Exception):
    """A bad command line or input: one line on stderr, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _color(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _read_input(name: str, limit: int) -> tuple[bytes, str]:
    """At most ``limit`` bytes of a document: a file (a pipe or ``<(command)`` too) or stdin.

    A longer document is cut at ``limit`` bytes; callers pass one byte more than they accept,
    so the reader of the document says it is too large.
    """
    from ta_rules._files import FileRefused, read_guarded

    if name == "-":
        return sys.stdin.buffer.read(limit), "<stdin>"
    if Path(name).is_dir():
        raise UsageError(f"{name}: is a folder, expected a file")
    try:
        return read_guarded(name, max_bytes=limit, head=True, streams=True,
                            what="facts file"), name
    except FileRefused as exc:
        raise UsageError(str(exc)) from None


def _read_document(name: str, *, max_bytes: int | None = None) -> Any:
    """Read a YAML or JSON document from a file or stdin; its problems are a usage error."""
    return _read_source(name, max_bytes=max_bytes)[0]


def _read_source(name: str, *, max_bytes: int | None = None) -> tuple[Any, bytes, str]:
    """The document's data, and the bytes and name it was read from."""
    from ta_rules.rulesets._yaml import MAX_BYTES, load_yaml

    content, source = _read_input(name, (max_bytes or MAX_BYTES) + 1)
    # a scenario file may share facts through anchors (expansion is bounded)
    doc, problems = load_yaml(content, source, max_bytes=max_bytes or MAX_BYTES, aliases=True)
    if doc is None or problems:
        raise UsageError(render_diagnostics(problems, {source: doc.text} if doc else {}))
    return doc.data, content, source


def _write_out(name: str, text: str, inputs: Sequence[str | None]) -> None:
    """Write an ``--out`` file whole, never over one of the command's inputs."""
    from ta_rules._files import OutputRefused, write_output

    try:
        write_output(name, text, inputs=inputs)
    except OutputRefused as exc:
        raise UsageError(str(exc)) from None


def _parse_sets(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def _registry(folder: str | None) -> Any:
    """The registry of ``--rules``, else of the project configuration, else the bundled one."""
    return _rules(folder)[0]


def _rules(folder: str | None) -> tuple[Any, Any]:
    """The registry ``--rules`` names (a folder, ``bundled:``, ``git:REV``), else the project's."""
    from ta_rules.project import RulesChoice, choose_rules, find_project
    from ta_rules.refs import resolve_rules

    resolved = resolve_rules(folder)
    if folder is not None and resolved.kind in ("git", "bundled", "file"):
        return resolved.registry, RulesChoice(resolved.folder, "--rules", find_project(),
                                              label=resolved.where())
    return resolved.registry, choose_rules(folder)


def _rules_line(choice: Any, rulesets: Any) -> str:
    from ta_rules.project import describe_rules

    return describe_rules(choice, rulesets) + "\n"


# --- eval ------------------------------------------------------------------------------


def _cmd_batch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.batch import batch_options

    if args.facts is not None:
        raise UsageError("ta-rules eval: give either a facts file or --batch FILE, not both")
    if args.workers < 1:
        raise UsageError("ta-rules eval: --workers must be at least 1")
    to_file = args.out not in (None, "-")
    if args.resume and not to_file:
        raise UsageError("ta-rules eval: --resume needs --out FILE (the run to continue)")
    registry, choice = _rules(args.rules)
    options = batch_options(registry, ruleset=args.ruleset, version=args.version,
                            text_parameters=_parse_sets(args.set), locale=args.locale,
                            engine=args.engine, trace=args.trace)
    if args.batch != "-":
        if Path(args.batch).is_dir():
            raise UsageError(f"{args.batch}: is a folder, expected a JSON Lines file")
        try:
            with open(args.batch, "rb"):
                pass
        except OSError as exc:
            raise UsageError(f"{args.batch}: cannot read: {exc.strerror or exc}") from None
    common: dict[str, Any] = {"workers": args.workers, "strict": args.strict,
                              "options": options, "report": err, "progress": err.isatty()}
    if args.decision_log is not None and args.workers > 1:
        raise UsageError("ta-rules eval: a batch with --decision-log is judged in one "
                         "process: --workers must be 1")
    with contextlib.ExitStack() as stack:
        if args.decision_log is not None:
            from ta_rules.batch import recording
            from ta_rules.decisionlog._cli import labels_of, open_log_for

            decision_log = stack.enter_context(open_log_for(args, registry))
            labels = labels_of(args.label)
            stack.enter_context(recording(lambda doc, verdict: decision_log.submit(
                doc, verdict, labels=labels)))
        return _run_batch(args, common, choice, registry, to_file, out, err)
    raise AssertionError("unreachable")  # pragma: no cover


def _run_batch(args: argparse.Namespace, common: dict[str, Any], choice: Any, registry: Any,
               to_file: bool, out: TextIO, err: TextIO) -> int:
    from ta_rules.batch import BatchError, partial_path, run_batch, run_batch_file

    try:
        with _sigterm_as_interrupt():
            if to_file:
                summary = run_batch_file(args.batch, args.out, resume=args.resume,
                                         inputs=[choice.folder], **common)
                summary_stream = out
            else:
                with (contextlib.nullcontext(sys.stdin.buffer) if args.batch == "-"
                      else open(args.batch, "rb")) as source:
                    summary = run_batch(source, out, source=args.batch, summary_record=True,
                                        **common)
                summary_stream = err
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{args.batch}: cannot read: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        kept = f"; the lines judged so far are kept in {partial_path(args.out)}: run the " \
            "same command with --resume to continue" if to_file else ""
        err.write(f"interrupted{kept}\n")
        return 130
    if args.format == "json":
        from ta_rules.project import rules_json

        summary_stream.write(json.dumps({**summary.to_json(),
                                         "rules": rules_json(choice, registry.rulesets)},
                                        indent=2) + "\n")
    else:
        summary_stream.write(summary.render() + "\n"
                             + _rules_line(choice, registry.rulesets))
    if summary.stopped_at is not None:
        return ExitCode.PROBLEMS
    return ExitCode.OK if summary.errors == 0 else ExitCode.PROBLEMS


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a batch the way Ctrl-C does (workers ended, partial results kept)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.present import verdict_json, verdict_text

    if args.batch is not None:
        return _cmd_batch(args, out, err)
    if args.facts is None:
        raise UsageError("ta-rules eval: give a facts file (or - for stdin), or --batch FILE")
    data, content, source = _read_source(args.facts)
    registry, choice = _rules(args.rules)
    scenario = isinstance(data, dict) and "facts" in data and "expect" in data
    if args.why_not and args.decision_log is not None:
        raise UsageError("ta-rules eval: --why-not explains, it gives no verdict to record; "
                         "drop --decision-log")
    if args.free and not args.why_not:
        raise UsageError("ta-rules eval: --free goes with --why-not")
    if args.why_not:
        if isinstance(data, dict) and "scenarios" in data:
            raise UsageError(f"{source}: --why-not takes one claim: a facts file or a file "
                             "with one scenario")
        return _why_not(data["facts"] if scenario else data, args, registry,
                        data if scenario else {}, out)
    if isinstance(data, dict) and ("scenarios" in data or scenario):
        if args.decision_log is not None:
            raise UsageError(f"{source}: --decision-log records claims judged, not scenario "
                             "files")
        return _eval_scenarios(args, registry, choice, out, (content, source),
                               many="scenarios" in data)
    if args.decision_log is not None:
        return _eval_recorded(data, args, registry, choice, out)
    verdict, ruleset = _judge(data, args, registry)  # read with the judging ruleset's vocabulary
    if args.format == "json":
        out.write(verdict_json(verdict))
        return ExitCode.OK
    out.write(verdict_text(verdict, color=_color(out)) + "\n" + _rules_line(choice, [ruleset]))
    return ExitCode.OK


def _eval_recorded(data: Any, args: argparse.Namespace, registry: Any, choice: Any,
                   out: TextIO) -> int:
    """Judge one claim and record it in the decision log before showing the verdict."""
    from ta_rules.decisionlog._cli import labels_of, open_log_for
    from ta_rules.present import verdict_text
    from ta_rules.request import judge_request

    labels = labels_of(args.label)
    verdict, valid, ruleset = judge_request(
        data, ruleset=args.ruleset, version=args.version, text_parameters=_parse_sets(args.set),
        trace=args.trace, locale=args.locale, engine=args.engine, registry=registry)
    with open_log_for(args, registry) as decision_log:
        record = decision_log.record(valid, verdict, labels=labels,
                                     vocabulary=ruleset.vocabulary)
    if args.format == "json":
        out.write(json.dumps({"decision_id": record.decision_id,
                              **verdict.model_dump(mode="json")}, indent=2,
                             ensure_ascii=False) + "\n")
        return ExitCode.OK
    out.write(verdict_text(verdict, color=_color(out)) + "\n" + _rules_line(choice, [ruleset])
              + f"decision {record.decision_id} recorded in {args.decision_log}\n")
    return ExitCode.OK


def _judge(facts: Any, args: argparse.Namespace, registry: Any, *, ruleset: str | None = None,
           version: str | None = None, parameters: Any = None) -> tuple[Any, Any]:
    """Evaluate with the command line's options (the path ``serve`` takes too); its pins win."""
    from ta_rules.request import evaluate_request

    verdict = evaluate_request(facts, ruleset=args.ruleset or ruleset,
                               version=args.version or version, parameters=parameters,
                               text_parameters=_parse_sets(args.set), trace=args.trace,
                               locale=args.locale, engine=args.engine, registry=registry)
    return verdict, registry.select(verdict.ruleset.name, verdict.ruleset.version)


def _why_not(data: Any, args: argparse.Namespace, registry: Any, pins: dict[str, Any],
             out: TextIO) -> int:
    """``eval --why-not``: the claim judged as ``eval`` would, then what would cover it."""
    from ta_rules.evaluate import read_facts
    from ta_rules.verify.commands import why_not_command

    # the facts as the ruleset that judges them reads them, with its own vocabulary
    verdict, ruleset = _judge(data, args, registry, ruleset=pins.get("ruleset"),
                              version=pins.get("version"), parameters=pins.get("parameters"))
    facts, _ = read_facts(data, ruleset)
    return why_not_command(facts, ruleset=ruleset, parameters=dict(verdict.parameters) or None,
                           bound=args.bound, fmt=args.format, out=out, free=args.free or ())


def _eval_scenarios(args: argparse.Namespace, registry: Any, choice: Any, out: TextIO,
                    read: tuple[bytes, str], *, many: bool) -> int:
    """Judge the facts of each scenario of a scenario file, with its parameters and pins."""
    from ta_rules.present import verdict_data, verdict_text
    from ta_rules.testing.scenarios import compare, load_scenarios_text

    content, source = read
    scenarios, problems = load_scenarios_text(content, source)
    if problems:
        raise UsageError(render_diagnostics(problems))
    if args.k:
        scenarios = [s for s in scenarios if args.k.lower() in s.name.lower()]
        if not scenarios:
            raise UsageError(f"{source}: no scenario's name contains {args.k!r}")
    judged = []
    for s in scenarios:
        try:
            judged.append((s, *_judge(s.facts, args, registry, ruleset=s.ruleset,
                                      version=s.version, parameters=s.parameters)))
        except FactsError as exc:
            err = "".join(f"\n  {s.doc.location((*s.path, 'facts'))}: facts.{p.path}: "
                          f"{p.message}" for p in exc.problems)
            raise UsageError(f"{s.location}: {s.name}: invalid facts:{err}") from None
    if args.format == "json":
        items = [{"name": s.name, "location": s.location,
                  "verdict": verdict_data(v)} for s, v, _ in judged]
        body: Any = items if many else items[0]["verdict"]
        out.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
        return ExitCode.OK
    for s, verdict, _ in judged:
        if many:
            out.write(f"== {s.name} ({s.location})\n")
        out.write(verdict_text(verdict, color=_color(out)) + "\n")
        differences = compare(s.expect, verdict)
        out.write("expectation: met\n" if not differences else "expectation: NOT met: "
                  + "; ".join(differences) + "\n")
    out.write(_rules_line(choice, {id(r): r for _, _, r in judged}.values()))
    return ExitCode.OK


# --- check -----------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.project import choose_rules
    from ta_rules.rulesets.load import content_hash, read_rule_file
    from ta_rules.tools.check import check_paths, rule_file_places

    choice = choose_rules(None)
    paths = args.paths or ([choice.folder] if choice.folder is not None else [])
    if not paths:
        raise UsageError("ta-rules check: give rule files or folders (or name the rules "
                         "folder in [tool.ta-rules] of pyproject.toml)")
    diagnostics, sources, count = check_paths(paths, engines=args.engine, never_matter=True)
    hashes = {}
    for name, folder in rule_file_places(paths)[0]:
        try:  # read as check reads it: a regular file inside its folder, bounded
            hashes[name] = content_hash(read_rule_file(name, folder=folder))
        except RulesetError:
            continue
    if args.format == "json":
        out.write(json.dumps({"files": count, "diagnostics": [d.to_json() for d in diagnostics],
                              "hashes": hashes}, indent=2) + "\n")
    else:
        if diagnostics:
            err.write(render_diagnostics(diagnostics, sources) + "\n")
        errors = sum(1 for d in diagnostics if d.severity == "error")
        warnings = len(diagnostics) - errors
        out.write(f"{count} file(s) checked: {errors} error(s), {warnings} warning(s)\n")
        shown = ", ".join(paths) if args.paths else f"{choice.folder} ({choice.origin})"
        out.write(f"rules: {shown}: " + ", ".join(
            f"{os.path.basename(name)} {digest[:19]}" for name, digest in hashes.items())
            + "\n")
    return ExitCode.PROBLEMS if any(d.severity == "error" for d in diagnostics) \
        else ExitCode.OK


# --- test ------------------------------------------------------------------------------


class _NestedProjects:
    """Scenario files inside a folder that is a project of its own run with its rules.

    ``ta-rules test examples/`` then judges ``examples/extending/scenarios`` with
    ``examples/extending/rules`` (named by ``examples/extending/ta-rules.toml``) and the
    rest with the rules the command chose.
    """

    def __init__(self, choice: Any) -> None:
        self.top = choice.project.config if choice.project else None
        self._by_config: dict[Any, Any] = {}
        self._by_folder: dict[Path, Any] = {}
        self.used: list[tuple[Any, Any]] = []

    def _project(self, path: str) -> Any:
        """The project configuration found from the file's folder upward (once per folder)."""
        from ta_rules.project import find_project

        folder = Path(path).parent
        if folder not in self._by_folder:
            project = find_project(folder)
            self._by_folder[folder] = project if project and project.rules else None
        return self._by_folder[folder]

    def in_rules_folder(self, path: str) -> bool:
        """Whether ``path`` is a rule file of a project met on the way (not a scenario)."""
        project = self._project(path)
        return project is not None and \
            Path(path).absolute().is_relative_to(project.rules.absolute())

    def __call__(self, path: str) -> Any:
        from ta_rules.project import RulesChoice, display_path
        from ta_rules.rulesets.registry import Registry

        project = self._project(path)
        if project is None or project.config == self.top:
            return None
        if project.config not in self._by_config:
            registry = Registry.from_folder(project.rules)
            self._by_config[project.config] = registry
            choice = RulesChoice(project.rules_arg(), f"from {display_path(project.config)}",
                                 project)
            self.used.append((choice, registry))
        return self._by_config[project.config]


def _cmd_test(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.testing.runner import run_paths

    registry, choice = _rules(args.rules)
    paths = args.paths or (choice.project.scenario_args() if choice.project else [])
    if not paths:
        raise UsageError("ta-rules test: give scenario files or folders (or name them as "
                         "scenarios in [tool.ta-rules] of pyproject.toml)")
    nested = _NestedProjects(choice) if args.rules is None else None
    report = run_paths(paths, registry=registry, engine=args.engine, keyword=args.k,
                       locale=args.locale, coverage=args.coverage or args.coverage_per_version
                       or args.fail_under is not None,
                       registry_for=nested, skip=nested.in_rules_folder if nested else None,
                       coverage_per_version=args.coverage_per_version,
                       conditions=args.conditions)
    if args.format == "json":
        from ta_rules.project import rules_json

        out.write(json.dumps({**report.to_json(), "rules": rules_json(choice, registry.rulesets)},
                             indent=2) + "\n")
    else:
        body, _, last = report.render(color=_color(out)).rpartition("\n")
        lines = _rules_line(choice, registry.rulesets) + "".join(
            _rules_line(c, r.rulesets) for c, r in (nested.used if nested else []))
        out.write(body + ("\n" if body else "") + lines + last + "\n")
    if not report.ok:
        return ExitCode.PROBLEMS
    if args.fail_under is not None and report.coverage_percent() < args.fail_under:
        err.write(f"rule coverage {report.coverage_percent():.1f}% is under "
                  f"--fail-under {args.fail_under}\n")
        return ExitCode.PROBLEMS
    return ExitCode.OK


def _cmd_scenarios_suggest(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.verify import require_z3

    require_z3()
    import yaml

    from ta_rules.testing.runner import run_paths
    from ta_rules.verify.suggest import HEADER, suggest

    registry, choice = _rules(args.rules)
    paths = args.paths or (choice.project.scenario_args() if choice.project else [])
    if not paths:
        raise UsageError("ta-rules scenarios suggest: give scenario files or folders (or "
                         "name them as scenarios in [tool.ta-rules] of pyproject.toml)")
    if os.path.exists(args.out) and not args.force:
        raise UsageError(f"{args.out}: exists; give --force to overwrite it")
    if args.for_rule and not any(args.for_rule in rs.rules for rs in registry.rulesets):
        raise UsageError(f"--for {args.for_rule}: no rule with this id in the rules")
    report = run_paths(paths, registry=registry, conditions=True)
    conds = report.conditions or {}
    before = {k: (c.percent(), len(c.missing())) for k, c in conds.items()}
    found, notes = suggest(conds, registry.rulesets, rule=args.for_rule)
    text = HEADER + yaml.safe_dump({"scenarios": [s.scenario for s in found]},
                                   sort_keys=False, allow_unicode=True, width=100)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    for (name, version), c in conds.items():
        pct, missing = before[(name, version)]
        out.write(f"condition coverage {name} {version}: {pct:.1f}% ({missing} not shown) -> "
                  f"{c.percent():.1f}% with the suggestions\n")
    for note in notes:
        out.write(f"note: {note}\n")
    out.write(f"{len(found)} scenario(s) written to {args.out}: each verdict is the engines', "
              "to be confirmed by a person\n" + _rules_line(choice, registry.rulesets))
    return ExitCode.OK


# --- schema and diff -------------------------------------------------------------------


def _cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.schema_export import json_schema

    vocabulary = None
    if args.rules is not None and args.kind != "facts":
        raise UsageError("ta-rules schema: --rules is for the facts schema")
    if args.kind == "facts":
        # the facts of the project's rules (or --rules): its newest version's vocabulary,
        # which every older version also judges (ta_rules.evaluate.read_facts)
        registry = _registry(args.rules)
        vocabulary = registry.versions(registry.resolve_name(None))[-1].vocabulary
    text = json.dumps(json_schema(args.kind, vocabulary), indent=2,
                      ensure_ascii=False) + "\n"
    if args.out:
        _write_out(args.out, text, [args.rules])
    else:
        out.write(text)
    return ExitCode.OK


def _resolve(label: str, rules: str | None) -> Any:
    """A policy reference (a version, ``bundled:``, ``git:REV``, a file or a folder)."""
    from ta_rules.refs import resolve

    return resolve(label, rules=rules)


def _cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.tools.diff import diff_rulesets, pair_versions, scenario_changes

    old_side, new_side = _resolve(args.old, args.rules), _resolve(args.new, args.rules)
    pairs = pair_versions(old_side, new_side)
    if not pairs:
        raise UsageError(f"ta-rules diff: {args.old} and {args.new} have no version in common")
    if args.symbolic:
        from ta_rules.verify.commands import symbolic_diff_command

        both = [(o, n) for o, n in pairs if o is not None and n is not None]
        if len(both) != 1:
            raise UsageError("ta-rules diff --symbolic compares one version with one version: "
                             "name a version on each side (2015.1, git:HEAD@2015.1, a file)")
        return symbolic_diff_command(both[0][0], both[0][1], bound=args.bound or 3,
                                     timeout=args.timeout, fmt=args.format, out=out)
    results: list[tuple[Any, Any, Any, Any]] = []
    for old, new in pairs:
        if old is None or new is None:
            results.append((old, new, None, None))
            continue
        changes = diff_rulesets(old, new)
        scenarios = scenario_changes(old, new, args.scenarios) if args.scenarios else None
        results.append((old, new, changes, scenarios))
    if args.format == "json":
        out.write(json.dumps({
            **(_diff_json(*results[0]) if len(results) == 1 else {}),
            "versions": [_diff_json(*r) for r in results],
            "references": {
                "old": {"reference": args.old, "resolved": old_side.describe(),
                        "revision": old_side.revision},
                "new": {"reference": args.new, "resolved": new_side.describe(),
                        "revision": new_side.revision}},
        }, indent=2, default=str) + "\n")
        return ExitCode.OK
    for result in results:
        _write_diff(out, *result)
    out.write(f"old: {args.old}: {old_side.describe()}\n")
    out.write(f"new: {args.new}: {new_side.describe()}\n")
    return ExitCode.OK


def _ref_json(rs: Any) -> Any:
    if rs is None:
        return None
    return {"name": rs.name, "version": rs.version, "source": rs.source,
            "content_hash": rs.content_hash}


def _diff_json(old: Any, new: Any, changes: Any, scenarios: Any) -> dict[str, Any]:
    return {"old": _ref_json(old), "new": _ref_json(new),
            "changes": None if changes is None else [c.to_json() for c in changes],
            "scenarios": scenarios}


def _write_diff(out: TextIO, old: Any, new: Any, changes: Any, scenarios: Any) -> None:
    def head(mark: str, rs: Any) -> str:
        return f"{mark} {rs.name} {rs.version} ({rs.source}, {rs.content_hash[:19]})\n"

    if old is None or new is None:
        only = old or new
        out.write(f"{'-' if new is None else '+'} version {only.name} {only.version} "
                  f"({only.source}, {only.content_hash[:19]}): only on the "
                  f"{'old' if new is None else 'new'} side\n")
        return
    out.write(head("---", old) + head("+++", new))
    for section in ("effective", "vocabulary", "parameter", "reason", "value", "function",
                    "table", "rule", "order"):
        group = [c for c in changes if c.section == section]
        if group:
            out.write(f"{section}s:\n" if section not in ("effective", "vocabulary")
                      else f"{section}:\n")
            out.writelines(f"  {c.render()}\n" for c in group)
    if not changes:
        out.write("no policy differences\n")
    if scenarios is not None:
        out.write(f"scenarios whose verdict changes: {len(scenarios)}\n")
        for s in scenarios:
            o, n = s["old"], s["new"]
            out.write(f"  {s['location']}: {s['name']}\n"
                      f"    {o['outcome']} {o['reasons']} {o['max_refund']} -> "
                      f"{n['outcome']} {n['reasons']} {n['max_refund']}\n")


# --- messages --------------------------------------------------------------------------


def _cmd_messages(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.project import choose_rules
    from ta_rules.tools.catalogs import run

    choice = choose_rules(args.rules)
    if choice.folder is None:  # the bundled rules: their catalogs are the installed package's
        raise UsageError("ta-rules messages: outside a project, the catalogs would be written "
                         "into the installed ta-rules package (and break it); run it inside "
                         "a project ([tool.ta-rules] rules = ...) or name the rules folder "
                         "with --rules FOLDER")
    folder = choice.folder
    base = str(choice.project.root) if choice.project is not None else None
    if args.locale and args.action != "update":
        raise UsageError("ta-rules messages: --locale starts a catalog, with update")
    out.writelines(line + "\n" for line in run(args.action, folder, base=base,
                                                new_locales=args.locale))
    return ExitCode.OK


# --- prove -----------------------------------------------------------------------------


def _cmd_prove(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.project import choose_rules
    from ta_rules.verify.commands import prove_command

    # no rules named: the project's rules folder ([tool.ta-rules]), else the bundled rules
    folder = choose_rules(None).folder if not args.rules else None
    return prove_command(args.rules or ([folder] if folder else []), bound=args.bound,
                         timeout=args.timeout, only=args.property,
                         params=_parse_sets(args.set), fmt=args.format, out=out)


# --- replay ----------------------------------------------------------------------------


def _cmd_replay(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.audit import replay

    documents = []
    for name in (args.verdict, args.facts):
        data = _read_document(name, max_bytes=64 * 1024 * 1024)
        if not isinstance(data, dict):
            raise UsageError(f"{name}: expected a JSON or YAML mapping")
        documents.append(data)
    recorded, facts = documents
    if "facts" in facts and "expect" in facts:
        facts = facts["facts"]
    registry, choice = _rules(args.rules)
    store = None
    if args.store is not None:
        from ta_rules.store import PolicyStore

        store = PolicyStore(args.store)
    report = replay(recorded, facts, registry=registry, store=store)
    if args.format == "json":
        out.write(json.dumps(report.to_json(), indent=2) + "\n")
        return ExitCode.OK if report.reproduced else ExitCode.PROBLEMS
    ref = report.verdict.ruleset if report.verdict is not None else None
    where = {None: "", "folder": " (texts as they are in the rules folder)"}.get(
        report.texts_from, f" (texts from the store {report.texts_from})")
    out.write(f"exact replay: {'reproduced' if report.reproduced else 'NOT reproduced'}"
              f"{where}\n")
    out.writelines(f"  {line}\n" for line in report.differences)
    if report.policy_drift is None:
        out.write("policy drift: the rules folder has no such version\n")
    else:
        assert report.policy_now is not None
        source, digest = report.policy_now
        if not report.policy_drift:
            same = "the same texts" if ref is not None and digest == ref.content_hash \
                else "other texts that decide it the same"
            out.write(f"policy drift: none ({source} {digest[:19]}: {same})\n")
        else:
            out.write(f"policy drift: {source} {digest[:19]} decides otherwise\n")
            out.writelines(f"  {line}\n" for line in report.policy_drift)
    if report.verdict is not None:
        out.write("library drift: " + ("none\n" if not report.library_drift else
                                       "this ta-rules decides otherwise\n"))
    out.writelines(f"  note: {line}\n" for line in report.notes)
    out.write(_rules_line(choice, registry.rulesets))
    return ExitCode.OK if report.reproduced else ExitCode.PROBLEMS


def _cmd_show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ta_rules.rulesets.show import render_flat, render_python

    ruleset = _resolve(args.ruleset, args.rules).ruleset
    if ruleset is None:
        raise UsageError(f"ta-rules show: {args.ruleset} names several versions; name one "
                         "(2015.1, git:HEAD@2015.1, a rule file)")
    out.write(render_python(ruleset) if args.python else render_flat(ruleset))
    return ExitCode.OK


# --- serve -----------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from ta_rules.serve import Limits, serve
    except ModuleNotFoundError as exc:
        raise UsageError(f"ta-rules serve needs the serve extra (pip install "
                         f"'ta-rules[serve]'): no module {exc.name!r}") from None
    # the rules every other command uses: --rules (a folder, bundled: or git:REV), else the
    # project's rules folder, else the bundled rulesets
    from ta_rules.refs import resolve_rules

    resolved = resolve_rules(args.rules)
    rules = None if resolved.kind == "bundled" else \
        resolved.label if resolved.kind in ("project", "folder") else resolved.folder
    opener = None
    if args.decision_log is not None:
        from ta_rules.decisionlog._cli import open_log_for

        def opener(registry: Any) -> Any:
            return open_log_for(args, registry)
    return serve(rules=rules, host=args.host, port=args.port, workers=args.workers,
                 reload_signal=args.reload_signal, decision_log=opener,
                 limits=Limits(body=args.max_body_bytes, batch=args.max_batch_bytes),
                 shutdown_timeout=args.shutdown_timeout, client_timeout=args.client_timeout,
                 log_stream=err)


# --- lsp -------------------------------------------------------------------------------


def _cmd_lsp(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from ta_rules.lsp import serve_stdio
        from ta_rules.lsp._server import build_server  # noqa: F401  (the extra is there)
    except ModuleNotFoundError as exc:
        raise UsageError(f"ta-rules lsp needs the lsp extra (pip install "
                         f"'ta-rules[lsp]'): no module {exc.name!r}") from None
    return serve_stdio()


# --- studio ----------------------------------------------------------------------------


def _cmd_studio(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        from ta_rules.studio import studio, workbench
    except ModuleNotFoundError as exc:
        raise UsageError(f"ta-rules studio needs the serve extra (pip install "
                         f"'ta-rules[serve]'): no module {exc.name!r}") from None
    return studio(workbench(args.rules), host=args.host, port=args.port, announce=err)


# --- impact ----------------------------------------------------------------------------


def _cmd_impact(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import signal
    import threading

    from ta_rules.impact import (
        ImpactConfig,
        ImpactError,
        read_history,
        render_html,
        render_text,
        report_json,
        resolve_side,
        run_impact,
    )

    if args.workers < 1:
        raise UsageError("ta-rules impact: --workers must be at least 1")
    try:
        # without --base, the rules every other command uses (the project's folder, else
        # the bundled rulesets)
        if args.base is None and args.candidate is None:
            raise UsageError("ta-rules impact: name what to compare: --candidate, or --base "
                             "(the candidate is then the project's rules folder)")
        # None: the project's rules folder, else the bundled rulesets
        base = args.base
        config = ImpactConfig(resolve_side(base), resolve_side(
            args.candidate, _parse_sets(args.set)), strict=args.strict)
        partitions, total = read_history(args.claims, args.claims_format)
        tally = run_impact(partitions, config, workers=args.workers, dask=args.dask,
                           progress=err.isatty(), total=total, stream=err)
    except ImpactError as exc:
        raise UsageError(f"ta-rules impact: {exc}") from None
    except KeyboardInterrupt:
        # stopping: a second Ctrl-C must not cut short what Dask does at exit
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise
    for e in tally.first_errors:
        err.write(f"{args.claims}:{e['line']}: {e['kind']}: {e['message']}\n")
    if tally.errors > len(tally.first_errors):
        err.write(f"{args.claims}: {tally.errors - len(tally.first_errors)} more bad "
                  "record(s)\n")
    if tally.stopped_at is not None:
        err.write(f"stopped at line {tally.stopped_at} (--strict)\n")
        return ExitCode.PROBLEMS
    if tally.claims + tally.errors == 0:
        err.write(f"{args.claims}: no claims\n")
    report = report_json(tally, config)
    if args.format == "json":
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "html":
        text = render_html(report)
    else:
        text = render_text(report) + "\n"
    if args.out in (None, "-"):
        out.write(text)
    else:
        _write_out(args.out, text, [args.claims, base, args.candidate])
    return ExitCode.OK if tally.errors == 0 else ExitCode.PROBLEMS


# --- wiring ----------------------------------------------------------------------------


def _parser() -> _Parser:
    from ta_rules.decisionlog._cli import add_log_options, add_log_parser

    parser = _Parser(prog="ta-rules", description="Decide Trade Assurance claims from "
                     "versioned YAML rulesets.")
    from ta_rules._version import __version__

    parser.add_argument("--version", action="version", version=f"ta-rules {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an internal error, show the "
                        "traceback as well")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("eval", help="judge one claim's facts (YAML or JSON file, or - for "
                       "stdin), or a JSON Lines batch")
    p.add_argument("facts", nargs="?", help="facts file, or - for stdin; a scenario file "
                   "judges each scenario's facts with its parameters and pinned version")
    p.add_argument("--batch", metavar="FILE", help="judge every line of a JSON Lines file "
                   "(- for stdin), writing one result line each, in order")
    p.add_argument("--out", metavar="FILE", help="with --batch: where the results go "
                   "(default stdout; the summary then goes to stderr)")
    p.add_argument("--workers", type=int, default=1, help="with --batch: worker processes")
    p.add_argument("--strict", action="store_true", help="with --batch: stop at the first "
                   "line that cannot be judged")
    p.add_argument("--resume", action="store_true", help="with --batch and --out: continue "
                   "an interrupted run from its kept partial file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--ruleset", help="ruleset name (default: trade-assurance)")
    p.add_argument("--version", dest="version", help="pin a version instead of the one in "
                   "force on the order date")
    p.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                   help="override a ruleset parameter (repeatable)")
    p.add_argument("--trace", action="store_true", help="show every rule evaluated")
    p.add_argument("--locale", default="en", help="language of messages (en, zh_Hans, es...)")
    p.add_argument("--engine", default="compiled", help="evaluation engine")
    p.add_argument("-k", metavar="SUBSTRING", help="with a scenario file: only the scenarios "
                   "whose name contains this")
    p.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's, see [tool.ta-rules], else the bundled ones)")
    p.add_argument("--why-not", action="store_true", help="the fewest fact changes that "
                   "would make the claim covered (needs the verify extra)")
    p.add_argument("--bound", type=int, metavar="K", help="with --why-not: most list items")
    add_log_options(p, labels=True)
    p.add_argument("--free", nargs="+", action="extend", metavar="PATH", help="with "
                   "--why-not: let these facts change although fixed or already past "
                   "(contract.category, supplier; all: every fact)")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("check", help="load and compile rule files, printing every problem")
    p.add_argument("paths", nargs="*", help="ruleset files or folders (default: the rules "
                   "folder of the project configuration)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--engine", action="append", default=[], metavar="NAME",
                   help="also check that this engine can take the rulesets (repeatable)")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("test", help="run scenario files against the rules")
    p.add_argument("paths", nargs="*", help="scenario files or folders (default: the "
                   "scenarios of the project configuration)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--engine", default="compiled")
    p.add_argument("-k", metavar="SUBSTRING", help="only scenarios whose name contains this")
    p.add_argument("--locale", default="en", help="locale of messages; 'all' renders every "
                   "scenario in every shipped locale")
    p.add_argument("--coverage", action="store_true", help="report which rules and reason "
                   "codes the scenarios exercised")
    p.add_argument("--fail-under", type=float, metavar="PCT",
                   help="fail when rule coverage is under PCT percent")
    p.add_argument("--conditions", action="store_true", help="with --coverage: which "
                   "conditions of each rule the scenarios showed decisive (MC/DC style; "
                   "needs the verify extra)")
    p.add_argument("--coverage-per-version", action="store_true",
                   help="count every rule of a version written as changes (based_on:) in its "
                   "own coverage; by default a rule inherited unchanged counts in the "
                   "coverage of the version that wrote it")
    p.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's rules folder, else the bundled rulesets)")
    p.set_defaults(func=_cmd_test)

    p = sub.add_parser("scenarios", help="work on scenario files (suggest the missing ones)")
    ssub = p.add_subparsers(dest="scenarios_command", metavar="COMMAND", required=True)
    q = ssub.add_parser("suggest", help="write scenarios that show the conditions no scenario "
                        "shows decisive, boundaries included (needs the verify extra)")
    q.add_argument("paths", nargs="*", help="the scenarios there are (default: the project's)")
    q.add_argument("--for", dest="for_rule", metavar="RULE", help="only the conditions of "
                   "this rule")
    q.add_argument("--out", required=True, metavar="FILE", help="the scenario file to write")
    q.add_argument("--force", action="store_true", help="overwrite FILE when it exists")
    q.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's, see [tool.ta-rules], else the bundled ones)")
    q.set_defaults(func=_cmd_scenarios_suggest)

    p = sub.add_parser("schema", help="print the JSON Schema of rule files or facts documents")
    p.add_argument("kind", choices=["rules", "facts"])
    p.add_argument("--out", metavar="FILE", help="write to a file instead of stdout")
    p.add_argument("--rules", metavar="RULES",
                   help="the facts of these rules' vocabulary: a folder, bundled: or git:REV "
                   "(default: the project's rules folder)")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("diff", help="what changed between two ruleset versions")
    p.add_argument("old", help="a policy reference: a version of the project's rules (2015.1), "
                   "bundled:2015.1, git:HEAD (git:REV@VERSION), a rule file or a folder")
    p.add_argument("new", help="the same kinds of reference: `ta-rules diff git:HEAD rules/` "
                   "is what an uncommitted edit changes")
    p.add_argument("--scenarios", nargs="+", metavar="PATH",
                   help="also list the scenarios whose verdict changes")
    p.add_argument("--symbolic", action="store_true", help="a witness facts document for "
                   "every change of outcome or refund, or a proof of none (verify extra)")
    p.add_argument("--bound", type=int, metavar="K", help="with --symbolic: most list items")
    p.add_argument("--timeout", type=float, default=60.0, help="solver seconds per question")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's rules folder, else the bundled rulesets)")
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("prove", help="prove the properties declared beside the rules "
                       "(verify extra)")
    p.add_argument("rules", nargs="*", help="ruleset files or folders (default: the project's "
                   "rules folder, else the bundled rules)")
    p.add_argument("--bound", type=int, default=3, metavar="K", help="most items of a list")
    p.add_argument("--timeout", type=float, default=60.0, help="solver seconds per query")
    p.add_argument("--property", metavar="ID", help="only this property")
    p.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                   help="prove under a parameter override (repeatable)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_prove)

    p = sub.add_parser("show", help="show a ruleset flattened, each part with the file and "
                       "line that wrote it (or, with --python, what it compiles to)")
    p.add_argument("ruleset", help="a bundled version such as 2015.1, or a ruleset file")
    p.add_argument("--flat", action="store_true", help="the flattened ruleset, each part "
                   "with where it is written (the default)")
    p.add_argument("--python", action="store_true",
                   help="print the generated Python (plain and traced programs)")
    p.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's rules folder, else the bundled rulesets)")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("messages", help="keep the message catalogs of a rules folder: "
                       "extract the template, update each locale, compile")
    p.add_argument("action", choices=["extract", "update", "compile"])
    p.add_argument("--rules", metavar="FOLDER", help="the rules folder (default: the "
                   "project's, else the bundled one)")
    p.add_argument("--locale", action="append", default=[], metavar="LOCALE",
                   help="with update: start a catalog for this locale (repeatable)")
    p.set_defaults(func=_cmd_messages)

    p = sub.add_parser("replay", help="re-evaluate a recorded verdict and say whether it is "
                       "reproduced")
    p.add_argument("verdict", help="a verdict (JSON from ta-rules eval --format json, or one "
                   "line of a --batch output)")
    p.add_argument("facts", help="the facts it was given")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--rules", metavar="RULES", help="the rules now, for policy drift: a folder, "
                   "bundled: or git:REV (default: the project's rules folder)")
    p.add_argument("--store", metavar="FOLDER", help="the policy store holding the texts "
                   "that decided (default: the project's, then the user's)")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("serve", help="serve verdicts over HTTP (needs the serve extra)")
    p.add_argument("--rules", metavar="RULES", help="a rules folder, bundled: or git:REV "
                   "(default: the project's rules folder, else the bundled rulesets)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    p.add_argument("--workers", type=int, default=1, help="server processes")
    p.add_argument("--reload-signal", action="store_true", help="reload --rules on SIGHUP, "
                   "keeping the last good version when the folder is broken")
    p.add_argument("--max-body-bytes", type=int, default=1024 * 1024, metavar="N",
                   help="largest /v1/evaluate body (default 1 MiB)")
    p.add_argument("--max-batch-bytes", type=int, default=64 * 1024 * 1024, metavar="N",
                   help="largest /v1/evaluate/batch body (default 64 MiB)")
    p.add_argument("--shutdown-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="time in-flight requests get to finish after SIGTERM")
    p.add_argument("--client-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="time a client gets to send a request's headers, or to start its "
                   "body (which must then keep coming at 16 KiB/s); default 10")
    add_log_options(p, labels=False)
    p.set_defaults(func=_cmd_serve)


    p = sub.add_parser("lsp", help="a language server for editors, over stdin and stdout "
                       "(needs the lsp extra)",
                       description="Speak the Language Server Protocol on stdin and stdout: "
                       "check's diagnostics, completion, hover, definitions and scenario runs "
                       "for an editor (setting it up: docs/editors.md).")
    p.set_defaults(func=_cmd_lsp)

    add_log_parser(sub)

    p = sub.add_parser("studio", help="a workbench in the browser over the rules folder "
                       "(needs the serve extra; see docs/editors.md)")
    p.add_argument("--rules", metavar="DIR", help="the rules folder (default: the project's)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a "
                   "free one)")
    p.set_defaults(func=_cmd_studio)

    p = sub.add_parser("impact", help="what a policy change does to a history of claims")
    p.add_argument("--claims", required=True, metavar="HISTORY", help="JSON Lines (- for "
                   "stdin), CSV or Parquet history, or a decision log URL (jsonl:PATH, "
                   "sqlite:PATH, ...); see docs/impact.md")
    p.add_argument("--claims-format", choices=["jsonl", "csv", "parquet"],
                   help="the history's format (default: from its suffix)")
    p.add_argument("--base", help="a policy reference (2015.1, bundled:2015.1, git:HEAD, a "
                   "rule file or folder) or 'recorded' (default: the project's rules folder, "
                   "else the bundled rulesets, each claim by its order date)")
    p.add_argument("--candidate", help="a policy reference or 'recorded' (default: the "
                   "project's rules folder): `--base git:HEAD` alone is what an uncommitted "
                   "edit does to the history")
    p.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                   help="override a parameter of the candidate (repeatable)")
    p.add_argument("--format", choices=["text", "json", "html"], default="text")
    p.add_argument("--out", metavar="FILE", help="write the report to a file")
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster ('local' starts "
                   "a LocalCluster of --workers processes)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.set_defaults(func=_cmd_impact)
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the command line; return the exit status instead of exiting.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> main(["check", "rules/"], stdout=out)
        0
    """
    return int(_main(argv, stdout or sys.stdout, stderr or sys.stderr))


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in words
    try:
        args = _parser().parse_args(words)
        code: int = args.func(args, out, err)
        return code
    except UsageError as exc:
        err.write(f"{exc}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if isinstance(exc.code, int | None) else ExitCode.USAGE
    except FactsError as exc:
        err.write("error: invalid facts:\n" + "".join(
            f"  {p.path or '<document>'}: {p.message}\n" for p in exc.problems))
        return ExitCode.USAGE
    except RulesetError as exc:
        err.write(exc.render() + "\n")
        return ExitCode.PROBLEMS
    except EvaluationError as exc:
        err.write(f"internal error: {exc} (this is a bug in ta-rules; please report it with "
                  "the command that caused it)\n")
        if debug:
            traceback.print_exception(exc, file=err)
        return ExitCode.INTERNAL
    except (ParameterError, UnknownRulesetError, EngineError) as exc:
        err.write(f"error: {exc}\n")
        return ExitCode.USAGE
    except TaRulesError as exc:
        err.write(f"error: {exc}\n")
        return ExitCode.USAGE
    except BrokenPipeError:
        return ExitCode.OK
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130
    except Exception as exc:  # a bug in ta-rules: say so in one line, never a traceback
        err.write(f"internal error: {type(exc).__name__}: {exc} (this is a bug in ta-rules; "
                  "please report it with the command that caused it)\n")
        if debug:
            traceback.print_exception(exc, file=err)
        return ExitCode.INTERNAL


def console_main() -> NoReturn:
    """Entry point of the ``ta-rules`` script."""
    sys.exit(main())
