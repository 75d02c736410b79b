"""``ta-rules check``: load and compile rule files and report every problem at once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.load import load_ruleset
from ta_rules.rulesets.registry import check_versions

__all__ = ["check_paths", "expand_rule_paths"]


def expand_rule_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str],
                                                                        list[Diagnostic]]:
    """Files named, and the ``*.yaml`` files of folders named (not recursive)."""
    files: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(f) for f in p.iterdir() if f.suffix in (".yaml", ".yml"))
            if not found:
                problems.append(Diagnostic("file.empty-folder", "no *.yaml rule files here",
                                           Location(str(p))))
            files.extend(found)
        elif p.exists():
            files.append(str(p))
        else:
            problems.append(Diagnostic("file.missing", "no such file or folder",
                                       Location(str(p))))
    return files, problems


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Diagnostic],
                                                                  dict[str, str], int]:
    """Check rule files and folders.

    Returns:
        The diagnostics (sorted), the text of each file (for carets), and the file count.
    """
    files, problems = expand_rule_paths(paths)
    sources: dict[str, str] = {}
    loaded: list[Ruleset] = []
    for name in files:
        try:
            ruleset = load_ruleset(name)
        except RulesetError as exc:
            problems.extend(exc.diagnostics)
            sources.update(exc.sources)
            continue
        loaded.append(ruleset)
        sources[name] = Path(name).read_text(encoding="utf-8")
        problems.extend(ruleset.warnings)
    problems.extend(check_versions(loaded))
    problems.sort(key=Diagnostic.sort_key)
    return problems, sources, len(files)
