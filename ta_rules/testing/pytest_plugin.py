"""A pytest plugin that collects scenario files as test items.

It is opt-in, so installing ta-rules never changes another project's test run: collection
happens only for folders listed in the ini option ``ta_rules_scenarios`` (or for every YAML
file given on the command line with ``--ta-rules-scenarios``)::

    [tool.pytest.ini_options]
    ta_rules_scenarios = ["examples"]

The ``scenarios`` of the project configuration (``[tool.ta-rules]``, see
:mod:`ta_rules.project`, found from pytest's rootdir upward) are collected too. Scenarios
are judged with the rules of ``--ta-rules-rules FOLDER``, else of the ini option
``ta_rules_rules``, else of the project configuration, else the bundled rulesets; the
header of the run names the folder and the content hash of every version.

Each scenario is one item named after the scenario, reported at its file and line; a
failure shows expected against actual instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ta_rules.errors import RulesetError
from ta_rules.project import RulesChoice, choose_rules, describe_rules, find_project
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.testing.scenarios import Scenario, ScenarioResult, load_scenarios, run_scenario

__all__ = ["ScenarioFile", "ScenarioItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option and the command-line flag."""
    group = parser.getgroup("ta-rules")
    group.addoption("--ta-rules-scenarios", action="store_true", default=False,
                    help="collect every *.yaml scenario file given as a test")
    group.addoption("--ta-rules-engine", default="compiled",
                    help="evaluation engine for scenario items")
    group.addoption("--ta-rules-rules", metavar="FOLDER", default=None,
                    help="the folder of rulesets scenario items are judged with")
    parser.addini("ta_rules_scenarios", type="paths", default=[],
                  help="folders whose *.yaml files are ta-rules scenario files")
    parser.addini("ta_rules_rules", default="",
                  help="the folder of rulesets scenario items are judged with")


_RULES = pytest.StashKey[tuple[RulesChoice, "Registry | RulesetError"]]()


def _rules(config: pytest.Config) -> tuple[RulesChoice, Registry | RulesetError]:
    """The rules scenario items use (loaded once per run; a broken folder fails each item)."""
    if _RULES not in config.stash:
        folder = config.getoption("--ta-rules-rules") or None
        origin = "--ta-rules-rules"
        ini = config.getini("ta_rules_rules")
        if folder is None and ini:
            base = config.inipath.parent if config.inipath else config.rootpath
            folder, origin = str(base / ini), "ini option ta_rules_rules"
        try:
            choice = RulesChoice(folder, origin) if folder else choose_rules(
                None, config.rootpath)
            registry: Registry | RulesetError = default_registry() if choice.folder is None \
                else Registry.from_folder(choice.folder)
        except RulesetError as exc:
            choice = RulesChoice(folder, origin if folder else
                                 f"the configuration found from {config.rootpath}")
            registry = exc
        config.stash[_RULES] = (choice, registry)
    return config.stash[_RULES]


_FILE_RULES = pytest.StashKey[dict[str, tuple[RulesChoice, "Registry | RulesetError"]]]()


def _rules_for(path: Path, config: pytest.Config
               ) -> tuple[RulesChoice, Registry | RulesetError]:
    """The rules a scenario file is judged with: the option's, else its own project's.

    A scenario file inside another project (one with its own ``[tool.ta-rules] rules``)
    is judged with that project's rules, as ``ta-rules test`` judges it.
    """
    if config.getoption("--ta-rules-rules") or config.getini("ta_rules_rules"):
        return _rules(config)
    try:
        project = find_project(path.parent)
    except RulesetError as exc:
        return RulesChoice(None, f"the configuration found from {path.parent}"), exc
    if project is None or project.rules is None:
        return _rules(config)
    cache = config.stash.setdefault(_FILE_RULES, {})
    key = str(project.config)
    if key not in cache:
        choice = RulesChoice(project.rules_arg(), f"from {project.config}", project)
        try:
            registry: Registry | RulesetError = Registry.from_folder(project.rules)
        except RulesetError as exc:
            registry = exc
        cache[key] = (choice, registry)
    return cache[key]


def _cannot_load(choice: RulesChoice, problem: RulesetError) -> str:
    what = choice.folder if choice.folder is not None else f"of {choice.origin}"
    first = problem.diagnostics[0] if problem.diagnostics else None
    detail = f": {first.location}: {first.message}" if first is not None else ""
    return f"ta-rules: rules {what} cannot be loaded{detail}"


def pytest_report_header(config: pytest.Config) -> str | None:
    """Name the rules folder and versions scenario items use, when any are collected."""
    if not (config.getini("ta_rules_scenarios") or config.getoption("--ta-rules-scenarios")
            or _project_scenarios(config)):
        return None
    choice, registry = _rules(config)
    if isinstance(registry, RulesetError):
        return _cannot_load(choice, registry)
    return "ta-rules " + describe_rules(choice, registry.rulesets)


_SCENARIOS = pytest.StashKey[tuple[Path, ...]]()


def _project_scenarios(config: pytest.Config) -> tuple[Path, ...]:
    if _SCENARIOS not in config.stash:
        try:
            project = find_project(config.rootpath)
        except RulesetError:
            project = None  # reported by the items, which load the rules
        config.stash[_SCENARIOS] = project.scenarios if project is not None else ()
    return config.stash[_SCENARIOS]


def _enabled_for(path: Path, config: pytest.Config) -> bool:
    if config.getoption("--ta-rules-scenarios"):
        return True
    folders: list[Path] = [*config.getini("ta_rules_scenarios"), *_project_scenarios(config)]
    resolved = path.resolve()
    return any(resolved.is_relative_to(Path(f).resolve()) for f in folders)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.yaml`` scenario files under the configured folders."""
    if file_path.suffix not in (".yaml", ".yml") or not _enabled_for(file_path, parent.config):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioLoadError(Exception):
    """A scenario file that cannot be read."""


class ScenarioFile(pytest.File):
    """A YAML file of scenarios."""

    def collect(self) -> Iterator[pytest.Item]:
        """One item per scenario (or one failing item when the file is broken)."""
        scenarios, problems = load_scenarios(self.path)
        if problems:
            yield BrokenFileItem.from_parent(self, name="<file>", problems=problems)
        seen: dict[str, int] = {}
        for s in scenarios:
            name = s.name
            if name in seen:
                seen[name] += 1
                name = f"{name} [{seen[name]}]"
            else:
                seen[name] = 1
            yield ScenarioItem.from_parent(self, name=name, scenario=s)


class ScenarioFailure(Exception):
    """The verdict differs from the expectation."""


class ScenarioItem(pytest.Item):
    """One scenario as a test."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: ScenarioResult | None = None

    def runtest(self) -> None:
        """Evaluate the scenario and compare."""
        engine = self.config.getoption("--ta-rules-engine")
        choice, registry = _rules_for(self.path, self.config)
        if isinstance(registry, RulesetError):
            raise ScenarioLoadError(_cannot_load(choice, registry) + "\n" + registry.render())
        self.result = run_scenario(self.scenario, registry=registry, engine=engine, trace=True)
        if not self.result.passed:
            raise ScenarioFailure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        """Expected against actual, not a traceback."""
        if isinstance(excinfo.value, ScenarioLoadError):
            return str(excinfo.value)
        if not isinstance(excinfo.value, ScenarioFailure) or self.result is None:
            return str(super().repr_failure(excinfo))
        r = self.result
        lines = [f"{self.scenario.location}: {self.scenario.name}"]
        if r.error:
            lines.append(r.error)
        lines.extend(r.differences)
        if r.verdict is not None and r.verdict.trace:
            lines.append("rules that applied: " + ", ".join(
                t.rule + (f"[{t.subject}]" if t.subject else "")
                for t in r.verdict.trace if t.applied))
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        """File and line of the scenario."""
        return self.path, self.scenario.line - 1, f"scenario: {self.scenario.name}"


class BrokenFileItem(pytest.Item):
    """A scenario file that could not be read: fails with its diagnostics."""

    def __init__(self, *, problems: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        """Always fails: the file has problems."""
        raise ScenarioLoadError("\n".join(
            f"{d.location}: error[{d.code}]: {d.message}" for d in self.problems))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        """The diagnostics."""
        return str(excinfo.value)

    def reportinfo(self) -> tuple[Path, int, str]:
        """The file."""
        return self.path, 0, "scenario file"
