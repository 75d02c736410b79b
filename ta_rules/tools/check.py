"""``ta-rules check``: load and compile rule files and report every problem at once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.load import (
    catalog_diagnostics,
    loads_ruleset,
    read_rule_file,
    rule_files,
)
from ta_rules.rulesets.properties import property_diagnostics
from ta_rules.rulesets.registry import check_versions
from ta_rules.rulesets.vocabulary_load import (
    is_vocabulary_file,
    load_vocabulary_file,
    loads_vocabulary,
)

__all__ = [
    "catalog_diagnostics",
    "check_paths",
    "engine_diagnostics",
    "expand_rule_paths",
    "locale_diagnostics",
    "rule_file_places",
    "schema_comment_diagnostics",
]


def rule_file_places(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[tuple[str, str | None]], list[Diagnostic]]:
    """(file, the folder it was found in or None when named) and the problems."""
    files: list[tuple[str, str | None]] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = [str(f) for f in rule_files(p)]
            if not found:
                problems.append(Diagnostic(dc.FILE_EMPTY_FOLDER, "no *.yaml or *.yml rule files "
                                           "here", Location(str(p))))
            files.extend((f, str(p)) for f in found)
        elif p.exists() or p.is_symlink():
            files.append((str(p), None))
        else:
            problems.append(Diagnostic(dc.FILE_MISSING, "no such file or folder",
                                       Location(str(p))))
    return files, problems


def expand_rule_paths(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str],
                                                                        list[Diagnostic]]:
    """Files named, and the ``*.yaml``/``*.yml`` files of folders named (not recursive)."""
    files, problems = rule_file_places(paths)
    return [name for name, _ in files], problems


def engine_diagnostics(ruleset: Ruleset, engine: str) -> list[Diagnostic]:
    """Whether an evaluation engine can take the ruleset (for example durable-rules' limits).

    Raises:
        EngineUnavailableError: When the engine cannot be used on this interpreter.
    """
    from ta_rules.engines import get_engine
    from ta_rules.errors import EngineError, EngineUnavailableError

    try:
        get_engine(engine).prepare(ruleset)
    except EngineUnavailableError:
        raise
    except EngineError as exc:
        rule = ruleset.rules.get(exc.rule) if exc.rule else None
        where = rule.location if rule else ruleset.effective_location
        return [Diagnostic(dc.ENGINE_REFUSED, f"the {engine} engine cannot take this ruleset: "
                           f"{exc}", where)]
    return []


_SCHEMA_COMMENT = re.compile(r"\A(?:#.*\n)*?#\s*yaml-language-server:\s*\$schema=(\S+)")


def schema_comment_diagnostics(name: str, text: str) -> list[Diagnostic]:
    """A ``yaml-language-server`` comment naming a schema file that is not there.

    Editors resolve the path from the folder the file is opened in, without following a
    symbolic link to the folder first, so the check is made the same way.
    """
    m = _SCHEMA_COMMENT.match(text)
    if m is None or "://" in m[1]:
        return []
    folder = os.path.dirname(os.path.abspath(name))
    target = os.path.normpath(os.path.join(folder, m[1]))
    if os.path.isfile(target):
        return []
    line = text.count("\n", 0, m.start(1)) + 1
    return [Diagnostic(
        dc.FILE_SCHEMA_COMMENT,
        f"the editor schema {m[1]} is not beside this file: an editor cannot check it",
        Location(name, line, 1),
        f"write it with: ta-rules schema rules --out {target}", severity="warning")]


def locale_diagnostics(ruleset: Ruleset, locales: Iterable[str]) -> list[Diagnostic]:
    """A locale the project requires (``locales`` of its configuration) with no catalog.

    A ruleset without ``catalog:`` shows its messages as written and is not concerned.
    """
    from ta_rules.messages import shipped_locales

    domain = ruleset.spec.catalog
    if domain is None:  # messages are shown as written in the file
        return []
    shipped = shipped_locales(domain, ruleset.catalog_root)
    return [Diagnostic(
        dc.MESSAGES_MISSING_LOCALE,
        f"the project requires the locale {locale!r} but catalog {domain!r} has none "
        f"(shipped: {', '.join(shipped) or 'none'})",
        ruleset.effective_location,
        f"add locales/{locale}/LC_MESSAGES/{domain}.po (ta-rules messages update)")
        for locale in locales if locale not in shipped and locale != "en"]


def _required_locales(file: str, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    from ta_rules.project import find_project

    folder = os.path.dirname(os.path.abspath(file))
    if folder not in cache:
        project = find_project(folder)
        cache[folder] = project.locales if project is not None else ()
    return cache[folder]


def _unsaved_text(name: str, texts: Mapping[str, str]) -> bytes | None:
    """The text an editor holds for a file (looked up by its absolute path), as UTF-8."""
    text = texts.get(os.path.abspath(name))
    return None if text is None else text.encode("utf-8", "surrogatepass")


def check_paths(paths: Iterable[str | os.PathLike[str]], *, engines: Iterable[str] = (),
                texts: Mapping[str, str] | None = None, never_matter: bool = False,
                ) -> tuple[list[Diagnostic], dict[str, str], int]:
    """Check rule files and folders (and, when named, that each engine can take them).

    The ``locales`` a file's project configuration requires (see :mod:`ta_rules.project`,
    found from the file's folder upward) must each have a catalog.

    Args:
        paths: Rule files and folders, as ``ta-rules check`` takes them.
        engines: Evaluation engines that must be able to take every ruleset.
        texts: Text to check instead of a file's content on disk, by absolute path (the
            unsaved buffers of an editor, also of files not yet on disk). A ruleset reads
            its vocabulary from disk.
        never_matter: Also report rules and reason codes that can never matter
            (:mod:`ta_rules.tools.never_matter`; the solver's work is bounded in time, a
            few seconds: ``ta-rules check`` asks for it, an editor's re-check does not).

    Returns:
        The diagnostics (sorted), the text of each file (for carets), and the file count.
    """
    texts = texts or {}
    files, problems = rule_file_places(paths)
    # a file an editor holds but that is not (yet) on disk is checked from its text
    unsaved_new = [d for d in problems if d.code == dc.FILE_MISSING
                   and os.path.abspath(d.location.source) in texts]
    problems = [d for d in problems if d not in unsaved_new]
    files.extend((d.location.source, None) for d in unsaved_new)
    sources: dict[str, str] = {}
    loaded: list[Ruleset] = []
    required: dict[str, tuple[str, ...]] = {}
    for name, folder in files:
        unsaved = _unsaved_text(name, texts)
        if is_vocabulary_file(name):
            try:
                if unsaved is None:
                    load_vocabulary_file(name, folder=folder)
                else:
                    loads_vocabulary(unsaved, name,
                                     folder=os.path.dirname(os.path.abspath(name)))
            except RulesetError as exc:
                problems.extend(exc.diagnostics)
                sources.update(exc.sources)
            continue
        try:
            content = read_rule_file(name, folder=folder) if unsaved is None else unsaved
            ruleset = loads_ruleset(content, name,
                                    rules_folder=os.path.dirname(os.path.abspath(name)))
        except RulesetError as exc:
            problems.extend(exc.diagnostics)
            sources.update(exc.sources)
            continue
        loaded.append(ruleset)
        sources[name] = content.decode("utf-8").removeprefix("\ufeff")
        problems.extend(schema_comment_diagnostics(name, sources[name]))
        problems.extend(ruleset.warnings)
        if never_matter and not any(d.severity == "error" for d in ruleset.warnings):
            from ta_rules.tools.never_matter import never_matter as dead_rules

            problems.extend(dead_rules(ruleset))
        try:
            problems.extend(locale_diagnostics(ruleset, _required_locales(name, required)))
        except RulesetError as exc:  # the project configuration itself is broken
            problems.extend(exc.diagnostics)
            sources.update(exc.sources)
        for engine in engines:
            problems.extend(engine_diagnostics(ruleset, engine))
        # the properties beside the rules are resolved against each version they apply to
        found, texts_of = property_diagnostics(ruleset)
        problems.extend(found)
        sources.update(texts_of)
    problems.extend(check_versions(loaded))
    # a broken vocabulary is reported by each ruleset written against it: once is enough
    # (the vocabulary file is named as the folder scan found it, or as a rule file's
    # lookup did: one file, however it is named)
    problems = list({(d.code, os.path.abspath(d.location.source) if d.location.source
                      and not d.location.source.startswith("<") else d.location.source,
                      d.location.line, d.location.column, d.message): d
                     for d in reversed(problems)}.values())[::-1]
    problems.sort(key=Diagnostic.sort_key)
    return problems, sources, len(files)
