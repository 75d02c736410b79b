"""A pytest plugin that collects scenario files as test items.

It is opt-in, so installing ta-rules never changes another project's test run: collection
happens only for folders listed in the ini option ``ta_rules_scenarios`` (or for every YAML
file given on the command line with ``--ta-rules-scenarios``)::

    [tool.pytest.ini_options]
    ta_rules_scenarios = ["examples"]

Each scenario is one item named after the scenario, reported at its file and line; a
failure shows expected against actual instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ta_rules.testing.scenarios import Scenario, ScenarioResult, load_scenarios, run_scenario

__all__ = ["ScenarioFile", "ScenarioItem"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the ini option and the command-line flag."""
    group = parser.getgroup("ta-rules")
    group.addoption("--ta-rules-scenarios", action="store_true", default=False,
                    help="collect every *.yaml scenario file given as a test")
    group.addoption("--ta-rules-engine", default="compiled",
                    help="evaluation engine for scenario items")
    parser.addini("ta_rules_scenarios", type="paths", default=[],
                  help="folders whose *.yaml files are ta-rules scenario files")


def _enabled_for(path: Path, config: pytest.Config) -> bool:
    if config.getoption("--ta-rules-scenarios"):
        return True
    folders: list[Path] = config.getini("ta_rules_scenarios")
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
        self.result = run_scenario(self.scenario, engine=engine, trace=True)
        if not self.result.passed:
            raise ScenarioFailure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        """Expected against actual, not a traceback."""
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
