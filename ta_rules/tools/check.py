"""``ta-rules check``: load and compile rule files and report every problem at once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.rulesets.compile import Ruleset
from ta_rules.rulesets.load import load_ruleset
from ta_rules.rulesets.registry import check_versions

__all__ = ["catalog_diagnostics", "check_paths", "engine_diagnostics", "expand_rule_paths"]


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


def catalog_diagnostics(ruleset: Ruleset) -> list[Diagnostic]:
    """Catalog problems of a ruleset's reason messages.

    A reason code with no translation in a shipped locale, or a translation whose
    placeholders differ from the rule file's English template.
    """
    from ta_rules.messages import catalog_entries, placeholders, shipped_locales

    out: list[Diagnostic] = []
    domain = ruleset.spec.catalog
    if domain is None:
        return out
    root = ruleset.catalog_root
    locales = shipped_locales(domain, root)
    missing: dict[str, list[str]] = {}
    for locale in locales:
        entries = catalog_entries(locale, domain, root)
        for code, reason in ruleset.reasons.items():
            text = entries.get((code, reason.message))
            if text is None:
                missing.setdefault(code, []).append(locale)
            elif placeholders(text) != reason.placeholders:
                found = ", ".join(sorted(placeholders(text) or ()))
                wanted = ", ".join(sorted(reason.placeholders))
                out.append(Diagnostic(
                    "messages.placeholder-mismatch",
                    f"the {locale} message of {code} uses {{{found}}} but the template has "
                    f"{{{wanted}}}",
                    reason.location, f"fix the translation in the {locale} catalog {domain}.po"))
    folder = root or "ta_rules/locales"
    for code, where in missing.items():
        out.append(Diagnostic(
            "messages.missing-translation",
            f"the message of {code} has no translation in {', '.join(where)} "
            f"(catalog {domain!r} in {folder})",
            ruleset.reasons[code].location,
            "run pybabel extract/update/compile (see ta_rules/messages.py) and translate it"))
    return out


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
        return [Diagnostic("engine.refused", f"the {engine} engine cannot take this ruleset: "
                           f"{exc}", where)]
    return []


def check_paths(paths: Iterable[str | os.PathLike[str]], *,
                engines: Iterable[str] = ()) -> tuple[list[Diagnostic], dict[str, str], int]:
    """Check rule files and folders (and, when named, that each engine can take them).

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
        problems.extend(catalog_diagnostics(ruleset))
        for engine in engines:
            problems.extend(engine_diagnostics(ruleset, engine))
    problems.extend(check_versions(loaded))
    problems.sort(key=Diagnostic.sort_key)
    return problems, sources, len(files)
