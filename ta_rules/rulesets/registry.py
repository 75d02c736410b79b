"""A registry of ruleset versions, selected by the date an order was placed.

The bundled rulesets ship inside the package (``ta_rules/rules``, also reachable as the
top-level ``rules/`` folder of a checkout) and are read with :mod:`importlib.resources`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError, UnknownRulesetError
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.load import RULE_SUFFIXES, load_ruleset, loads_ruleset, rule_files
from ta_rules.rulesets.vocabulary_load import is_vocabulary_file

__all__ = ["Registry", "bundled_ruleset_files", "default_registry"]

DEFAULT_NAME = "trade-assurance"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def check_versions(rulesets: Sequence[Ruleset]) -> list[Diagnostic]:
    """Problems between versions of one ruleset: duplicates, overlaps and gaps."""
    problems: list[Diagnostic] = []
    by_name: dict[str, list[Ruleset]] = {}
    for rs in rulesets:
        by_name.setdefault(rs.name, []).append(rs)
    for name, group in by_name.items():
        problems.extend(_selection_problems(name, group))
        seen: dict[str, Ruleset] = {}
        for rs in group:
            if rs.version in seen:
                problems.append(Diagnostic(
                    dc.REGISTRY_DUPLICATE_VERSION,
                    f"{name} version {rs.version} is defined twice",
                    rs.effective_location, related=(seen[rs.version].effective_location,)))
            else:
                seen[rs.version] = rs
        ordered = sorted(seen.values(), key=lambda r: (r.effective_from or dt.date.min))
        for prev, nxt in itertools.pairwise(ordered):
            start = nxt.effective_from or dt.date.min
            end = prev.effective_until
            if end is None or end > start:
                problems.append(Diagnostic(
                    dc.REGISTRY_OVERLAP,
                    f"{name} {prev.version} ({prev.source}) and {nxt.version} ({nxt.source}) "
                    f"are both in force from {start}",
                    nxt.effective_location, "the earlier version's until must equal the "
                    "later version's from", related=(prev.effective_location,)))
            elif end < start:
                problems.append(Diagnostic(
                    dc.REGISTRY_GAP,
                    f"no version of {name} is in force from {end} to {start} "
                    f"(between {prev.version} in {prev.source} and {nxt.version} in "
                    f"{nxt.source})",
                    nxt.effective_location, related=(prev.effective_location,)))
    return problems


def _selection_problems(name: str, group: Sequence[Ruleset]) -> list[Diagnostic]:
    """Every version of a ruleset selects by the same order-date facts."""
    first = group[0]
    out = []
    for rs in group[1:]:
        if rs.order_date != first.order_date:
            out.append(Diagnostic(
                dc.REGISTRY_ORDER_DATE_MISMATCH,
                f"{name} {rs.version} reads the order date from "
                f"[{', '.join(rs.order_date)}] but {first.version} ({first.source}) from "
                f"[{', '.join(first.order_date)}]",
                rs.effective_location, "every version of a ruleset lists the same "
                "effective.order_date", related=(first.effective_location,)))
    return out


class Registry:
    """Versions of rulesets, selected by name and order date. Thread-safe; reloadable.

    Example:
        >>> reg = default_registry()
        >>> reg.select(on=dt.date(2018, 1, 10)).version
        '2017.12'
    """

    def __init__(self, rulesets: Iterable[Ruleset], *, folder: str | None = None) -> None:
        items = list(rulesets)
        problems = check_versions(items)
        if problems:
            raise RulesetError(problems)
        self._lock = threading.Lock()
        self._rulesets: tuple[Ruleset, ...] = tuple(items)
        self._index = _index(self._rulesets)
        _note_newer_vocabularies(self._index)
        self.folder = folder
        self.label: str | None = None

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], *,
                    label: str | None = None) -> Registry:
        """Load every ruleset in a folder (``*.yaml`` and ``*.yml``, as ``ta-rules check``).

        Args:
            folder: The rules folder.
            label: Name the files ``<label><file name>`` rather than by their path (the
                files of a git revision, laid out elsewhere).

        Raises:
            RulesetError: With the problems of every file (all files are read).
        """
        registry = cls(_load_folder(Path(folder), label), folder=os.fspath(folder))
        registry.label = label
        return registry

    @classmethod
    def from_project(cls, start: str | os.PathLike[str] | None = None) -> Registry:
        """The rulesets of the project configured at ``start`` (default: the working folder).

        The configuration is ``[tool.ta-rules]`` in a ``pyproject.toml`` or a
        ``ta-rules.toml``, found from ``start`` upward (see :mod:`ta_rules.project`); its
        ``rules`` folder is loaded. With no configuration, or none naming a rules folder,
        this is the registry of the bundled rulesets.

        Raises:
            RulesetError: With the problems of the configuration or of every rule file.
        """
        from ta_rules.project import find_project

        project = find_project(start)
        if project is None or project.rules is None:
            return default_registry()
        return cls.from_folder(project.rules)

    @property
    def rulesets(self) -> tuple[Ruleset, ...]:
        """Every loaded ruleset."""
        return self._rulesets

    def names(self) -> list[str]:
        """The ruleset names, sorted."""
        return sorted(self._index)

    def versions(self, name: str) -> list[Ruleset]:
        """The versions of ``name``, oldest first."""
        return list(self._index.get(name, ()))

    def resolve_name(self, name: str | None = None) -> str:
        """The ruleset name meant (None: the default, or the only one).

        Raises:
            UnknownRulesetError: When there is no ruleset of that name.
        """
        names = self._index
        if name is None:
            name = DEFAULT_NAME if DEFAULT_NAME in names or len(names) != 1 else min(names)
        if name not in names:
            raise UnknownRulesetError(
                f"no ruleset named {name!r}; known: {', '.join(self.names()) or 'none'}")
        return name

    def select(self, name: str | None = None, version: str | None = None, *,
               on: dt.date | None = None) -> Ruleset:
        """The ruleset ``name`` at ``version``, or the version in force on the order date ``on``.

        Raises:
            UnknownRulesetError: When nothing matches (the message lists what exists).
        """
        name = self.resolve_name(name)
        candidates = self._index[name]
        if version is not None:
            for r in candidates:
                if r.version == version:
                    return r
            raise UnknownRulesetError(
                f"{name} has no version {version!r}; known: "
                + ", ".join(r.version for r in self.versions(name)))
        if on is None:
            return self.versions(name)[-1]
        for r in candidates:
            if r.in_force_on(on):
                return r
        raise UnknownRulesetError(f"no version of {name} is in force for orders placed on {on}")

    def reload(self) -> list[Diagnostic]:
        """Reload the folder; on any problem keep serving the current versions.

        Returns:
            The problems found (empty when the reload took effect).
        """
        if self.folder is None:
            return []
        try:
            fresh = _load_folder(Path(self.folder), self.label)
            problems = check_versions(fresh)
        except RulesetError as exc:
            return list(exc.diagnostics)
        if problems:
            return problems
        index = _index(fresh)
        _note_newer_vocabularies(index)
        with self._lock:
            self._rulesets, self._index = tuple(fresh), index
        return []


def _index(rulesets: Iterable[Ruleset]) -> dict[str, tuple[Ruleset, ...]]:
    """The versions of each ruleset name, oldest first."""
    out: dict[str, list[Ruleset]] = {}
    for rs in rulesets:
        out.setdefault(rs.name, []).append(rs)
    return {n: tuple(sorted(v, key=lambda r: _version_key(r.version))) for n, v in out.items()}


def _note_newer_vocabularies(index: Mapping[str, tuple[Ruleset, ...]]) -> None:
    """Tell each version the vocabularies of the newer versions of its ruleset.

    A document written for the newest version is judged by every older one: a fact the
    older vocabulary lacks is ignored by it (:func:`ta_rules.evaluate.read_facts`).
    """
    for versions in index.values():
        for i, rs in enumerate(versions):
            newer = [v.vocabulary for v in reversed(versions[i + 1:])
                     if v.vocabulary is not None and v.vocabulary is not rs.vocabulary]
            known = list(rs.newer_vocabularies)
            rs.newer_vocabularies = tuple(dict.fromkeys([*newer, *known]))


def _load_folder(folder: Path, label: str | None = None) -> list[Ruleset]:
    if not folder.is_dir():
        raise RulesetError([Diagnostic(dc.FILE_NOT_A_FOLDER, "not a folder of rulesets",
                                       Location(str(folder)))])
    loaded: list[Ruleset] = []
    problems: list[Diagnostic] = []
    sources: dict[str, str] = {}
    for path in rule_files(folder):
        if is_vocabulary_file(path):
            continue
        try:
            loaded.append(load_ruleset(path, folder=folder, source=None if label is None
                                       else f"{label}{path.name}"))
        except RulesetError as exc:
            problems.extend(exc.diagnostics)
            sources.update(exc.sources)
    if problems:
        raise RulesetError(problems, sources=sources)
    return loaded


def bundled_ruleset_files() -> list[tuple[str, bytes]]:
    """The bundled ruleset files as (name, content), read from the installed package."""
    folder = files("ta_rules") / "rules"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(RULE_SUFFIXES) and not is_vocabulary_file(entry.name):
            out.append((f"rules/{entry.name}", entry.read_bytes()))
    return out


_default: Registry | None = None
_default_lock = threading.Lock()


def default_registry() -> Registry:
    """The registry of the bundled rulesets (loaded once)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Registry(loads_ruleset(content, name)
                                    for name, content in bundled_ruleset_files())
    return _default
