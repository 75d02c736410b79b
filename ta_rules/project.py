"""Project configuration: which rules folder, scenario paths and locales a project uses.

A project names its rules in ``[tool.ta-rules]`` of ``pyproject.toml`` or at the top level
of a ``ta-rules.toml``, found by walking up from the working directory (the first folder
holding either file with such a table wins; a ``pyproject.toml`` without the table is
skipped)::

    [tool.ta-rules]
    rules = "rules"                 # folder of ruleset files, relative to this file
    scenarios = ["examples"]        # what `ta-rules test` runs when given no path
    locales = ["en", "es"]          # locales every message must be translated into
    store = ".ta-rules/store"       # where every policy text that judged is kept

``ta-rules eval``, ``test``, ``check``, ``diff`` and ``replay``, the pytest plugin and
:meth:`ta_rules.Registry.from_project` use it; ``--rules FOLDER`` overrides it, and with no
configuration the rulesets bundled in the package are used. Each command's summary names
the rules folder it used.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError

__all__ = [
    "CONFIG_FILES",
    "Project",
    "RulesChoice",
    "choose_rules",
    "describe_rules",
    "find_project",
    "load_project",
    "rules_json",
]

#: The files looked for in each folder, in this order.
CONFIG_FILES = ("ta-rules.toml", "pyproject.toml")
#: Largest project configuration read.
MAX_CONFIG_BYTES = 1024 * 1024
_KEYS = {"rules": str, "scenarios": list, "locales": list, "store": str}


@dataclasses.dataclass(frozen=True)
class Project:
    """A project's ta-rules configuration.

    Attributes:
        config: The file the configuration was read from.
        rules: The rules folder (absolute), or None for the bundled rulesets.
        scenarios: Scenario files and folders (absolute).
        locales: Locales the project's messages must be translated into.
        store: The policy store folder (absolute), or None for ``.ta-rules/store`` beside
            the configuration (see :mod:`ta_rules.store`).
    """

    config: Path
    rules: Path | None = None
    scenarios: tuple[Path, ...] = ()
    locales: tuple[str, ...] = ()
    store: Path | None = None

    @property
    def root(self) -> Path:
        """The folder holding the configuration file."""
        return self.config.parent

    def rules_arg(self) -> str | None:
        """The rules folder as a short path: relative to the working directory when inside it."""
        return None if self.rules is None else display_path(self.rules)

    def scenario_args(self) -> list[str]:
        """The scenario paths, each as a short path."""
        return [display_path(p) for p in self.scenarios]


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when that is short, else absolute."""
    rel = os.path.relpath(path.absolute(), Path.cwd())
    ups = rel.split(os.sep).count("..")
    return rel if ups <= 2 else str(path.absolute())


def _table(path: Path, text: str) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise RulesetError([Diagnostic(dc.PROJECT_SYNTAX, "the TOML is nested too deeply to "
                                       "be read", Location(str(path), 1, 1))],
                           sources={str(path): text}) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = (int(m[1]), int(m[2])) if m else (1, 1)
        raise RulesetError([Diagnostic(dc.PROJECT_SYNTAX, f"not valid TOML: {exc}",
                                       Location(str(path), line, col))],
                           sources={str(path): text}) from None
    if path.name != "pyproject.toml":
        return data
    table: Any = data.get("tool", {}).get("ta-rules")
    if table is not None and not isinstance(table, dict):
        return {"": table}
    return table if table is None else dict(table)


def _line_of(text: str, key: str) -> int:
    m = re.search(rf"^\s*{re.escape(key)}\s*=", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def load_project(path: str | os.PathLike[str]) -> Project | None:
    """Read one configuration file; None when it is a ``pyproject.toml`` without the table.

    Raises:
        RulesetError: A ``project.*`` diagnostic for a malformed file, an unknown key, a
            value of the wrong type, or a rules folder that does not exist.
    """
    from ta_rules._files import FileRefused, read_guarded

    config = Path(path).absolute()
    try:
        text = read_guarded(config, max_bytes=MAX_CONFIG_BYTES,
                            what="project configuration").decode("utf-8")
    except FileRefused as exc:
        raise RulesetError([Diagnostic(dc.PROJECT_UNREADABLE, exc.reason,
                                       Location(str(config)))]) from None
    except UnicodeDecodeError as exc:
        raise RulesetError([Diagnostic(dc.PROJECT_UNREADABLE, f"not UTF-8 text: {exc.reason} "
                                       f"at byte {exc.start + 1}", Location(str(config)))]
                           ) from None
    table = _table(config, text)
    if table is None:
        return None
    problems: list[Diagnostic] = []

    def problem(key: str, message: str, hint: str | None = None) -> None:
        problems.append(Diagnostic(dc.PROJECT_INVALID, message,
                                   Location(str(config), _line_of(text, key), 1, key), hint))

    for key, value in table.items():
        wanted = _KEYS.get(key)
        if wanted is None:
            problem(key, f"unknown key {key!r} in the ta-rules configuration",
                    "allowed: " + ", ".join(_KEYS))
        elif not isinstance(value, wanted) or (
                wanted is list and not all(isinstance(v, str) for v in value)):
            problem(key, f"{key} must be {'a string' if wanted is str else 'a list of strings'}"
                    f", found {value!r}")
    if problems:
        raise RulesetError(problems, sources={str(config): text})
    base = config.parent
    rules = base / table["rules"] if "rules" in table else None
    if rules is not None and not rules.is_dir():
        problem("rules", f"the rules folder {table['rules']!r} does not exist "
                f"(looked for {rules})")
        raise RulesetError(problems, sources={str(config): text})
    return Project(config=config, rules=rules,
                   scenarios=tuple(base / s for s in table.get("scenarios", ())),
                   locales=tuple(table.get("locales", ())),
                   store=base / table["store"] if "store" in table else None)


def find_project(start: str | os.PathLike[str] | None = None) -> Project | None:
    """The configuration found from ``start`` (default: the working directory) upward.

    Returns:
        The project, or None when no folder up to the root has a configuration.

    Raises:
        RulesetError: When the configuration found is malformed (see :func:`load_project`).
    """
    folder = Path(start if start is not None else Path.cwd()).absolute()
    for candidate in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate / name
            # a FIFO or a device of that name is refused, not passed over for other rules
            if (path.exists() and not path.is_dir()) or path.is_symlink():
                project = load_project(path)
                if project is not None:
                    return project
    return None


@dataclasses.dataclass(frozen=True)
class RulesChoice:
    """The rules a command uses and why.

    Attributes:
        folder: The rules folder as given or configured; None for the bundled rulesets.
        origin: Why: ``--rules``, the configuration file, or ``bundled``.
        project: The project configuration found, if any.
        label: How to name the rules when not by their folder (``git:HEAD (commit
            0a1b2c3d4e5f)``, ``bundled:``).
    """

    folder: str | None
    origin: str
    project: Project | None = None
    label: str | None = None


def choose_rules(flag: str | None = None,
                 start: str | os.PathLike[str] | None = None) -> RulesChoice:
    """The rules folder to use: ``flag`` if given, else the project's, else the bundled ones.

    Raises:
        RulesetError: When the project configuration found is malformed.
    """
    project = find_project(start)
    if flag is not None:
        return RulesChoice(flag, "--rules", project)
    if project is not None and project.rules is not None:
        return RulesChoice(project.rules_arg(), f"from {display_path(project.config)}",
                           project)
    return RulesChoice(None, "bundled", project)


def describe_rules(choice: RulesChoice, rulesets: Any) -> str:
    """One line naming the rules folder and the content hash of every version used.

    Example:
        >>> class R:
        ...     name, version, content_hash = "ta", "1.0", "sha256:" + "ab" * 32
        >>> describe_rules(RulesChoice("rules", "from pyproject.toml"), [R()])
        'rules: rules (from pyproject.toml): ta 1.0 sha256:abababababab'
    """
    where = choice.label if choice.label is not None else \
        f"{choice.folder} ({choice.origin})" if choice.folder is not None \
        else "bundled in the ta-rules package"
    items = ", ".join(f"{r.name} {r.version} {r.content_hash[:19]}"
                      for r in sorted(rulesets, key=lambda r: (r.name, r.version)))
    return f"rules: {where}: {items or 'none'}"


def rules_json(choice: RulesChoice, rulesets: Any) -> dict[str, Any]:
    """The same as :func:`describe_rules`, as JSON-ready data."""
    return {"folder": choice.folder, "origin": choice.origin, "label": choice.label,
            "rulesets": [{"name": r.name, "version": r.version,
                          "content_hash": r.content_hash, "source": r.source}
                         for r in sorted(rulesets, key=lambda r: (r.name, r.version))]}
