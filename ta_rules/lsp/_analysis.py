"""What the language server knows about a document, computed from the library's own APIs.

Nothing here speaks the protocol's transport: each function takes a file's path and text
(and the texts of the other open files) and returns :mod:`lsprotocol` values. Diagnostics
come from :func:`ta_rules.tools.check.check_paths` (what ``ta-rules check`` runs) and
:func:`ta_rules.testing.scenarios.load_scenarios_text`; names from
:func:`ta_rules.rulesets.symbols.ruleset_symbols` and the facts vocabulary.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, Literal

from lsprotocol import types as lsp

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.project import Project, find_project
from ta_rules.rulesets.builtins import BUILTINS, BuiltinSpec
from ta_rules.rulesets.symbols import Symbol, SymbolTable, code_uses, ruleset_symbols
from ta_rules.vocabulary import FieldDef, RecordDef, Vocabulary

__all__ = [
    "DocKind",
    "Unit",
    "check_unit",
    "doc_kind",
    "lsp_range",
    "set_position_encoding",
    "to_index",
    "word_at",
]

DocKind = Literal["ruleset", "vocabulary", "properties", "scenarios", "other"]

#: Files larger than this are not analysed for completion, hover or definitions.
MAX_TEXT: Final = 2 * 1024 * 1024
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SEVERITY: Final = {"error": lsp.DiagnosticSeverity.Error,
                    "warning": lsp.DiagnosticSeverity.Warning}
KEYWORDS: Final = ("and", "or", "not", "in", "if", "then", "else", "true", "false", "null",
                   "for")


# --- positions ---------------------------------------------------------------------------


_ENCODING = ["utf-16"]


def set_position_encoding(name: str) -> None:
    """Count columns in the client's unit: ``utf-8``, ``utf-16`` (the default) or ``utf-32``.

    The unit is agreed when the client connects; one server process serves one client.
    """
    _ENCODING[0] = name if name in ("utf-8", "utf-16", "utf-32") else "utf-16"


def _units(ch: str) -> int:
    if _ENCODING[0] == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    if _ENCODING[0] == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def client_column(line: str, index: int) -> int:
    """The client's column of character ``index`` of ``line``."""
    head = line[:max(0, index)]
    return len(head) if head.isascii() else sum(_units(ch) for ch in head)


def to_index(line: str, character: int) -> int:
    """The character index of the client's column ``character`` of ``line`` (clamped)."""
    if line.isascii():
        return max(0, min(character, len(line)))
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return i
        units += _units(ch)
    return len(line)


def line_at(text: str, line: int) -> str | None:
    """Line ``line`` (0-based) of ``text``, or None when there is no such line."""
    if line < 0:
        return None
    lines = text.split("\n")
    return lines[line].rstrip("\r") if line < len(lines) else None


def lsp_range(loc: Location, text: str | None) -> lsp.Range:
    """The range of a diagnostic's location: the word starting there, or one character."""
    if loc.line <= 0:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    line = line_at(text, loc.line - 1) if text is not None else None
    index = max(loc.column - 1, 0)
    if line is None:
        pos = lsp.Position(loc.line - 1, index)
        return lsp.Range(pos, pos)
    m = _IDENT.match(line, index)
    end = m.end() if m else min(index + 1, len(line))
    return lsp.Range(lsp.Position(loc.line - 1, client_column(line, index)),
                     lsp.Position(loc.line - 1, client_column(line, max(end, index))))


def word_at(text: str, position: lsp.Position) -> tuple[str, lsp.Range] | None:
    """The dotted name under the cursor, cut after the part the cursor is on, and its range."""
    line = line_at(text, position.line)
    if line is None:
        return None
    index = to_index(line, position.character)
    for m in _IDENT.finditer(line):
        if m.start() <= index <= m.end():
            end = line.find(".", index)
            end = m.end() if end == -1 or end > m.end() else end
            rng = lsp.Range(lsp.Position(position.line, client_column(line, m.start())),
                            lsp.Position(position.line, client_column(line, end)))
            return line[m.start():end], rng
    return None


# --- documents and projects --------------------------------------------------------------


def doc_kind(path: str, text: str) -> DocKind:
    """What a file is, by its name and its top-level keys."""
    if path.endswith(".vocabulary.yaml"):
        return "vocabulary"
    if not path.endswith((".yaml", ".yml")):
        return "other"
    head = text[:200_000]
    if re.search(r"^scenarios\s*:", head, re.M) or (
            re.search(r"^facts\s*:", head, re.M) and re.search(r"^expect\s*:", head, re.M)):
        return "scenarios"
    if re.search(r"^properties\s*:", head, re.M):
        return "properties"
    if re.search(r"^ruleset\s*:", head, re.M):
        return "ruleset"
    return "other"


def project_of(path: str) -> Project | None:
    """The project configuration found from the file's folder (None when broken or none)."""
    try:
        return find_project(os.path.dirname(path))
    except RulesetError:
        return None


def project_rules(path: str) -> str:
    """The rules folder of the file's project (the bundled rules when it names none)."""
    project = project_of(path)
    if project is not None and project.rules is not None:
        return str(project.rules)
    import ta_rules

    return str(Path(ta_rules.__file__).parent / "rules")


@dataclasses.dataclass(frozen=True)
class Unit:
    """What one check covers: the paths given to ``check``, and the files they contain."""

    paths: tuple[str, ...]
    files: tuple[str, ...]


def unit_of(path: str) -> Unit:
    """What is checked with a file.

    A file of the project's rules folder is checked with the whole folder (versions
    overlap, a vocabulary is shared); any other rule file on its own, as ``check FILE``.
    """
    from ta_rules.rulesets.load import rule_files

    project = project_of(path)
    folder = os.path.dirname(path)
    if project is not None and project.rules is not None and \
            os.path.realpath(project.rules) == os.path.realpath(folder):
        try:
            files = tuple(str(f) for f in rule_files(folder))
        except OSError:
            files = ()
        if path not in files:
            files = (*files, path)
        return Unit((folder,), files)
    return Unit((path,), (path,))


def to_lsp(d: Diagnostic, text: str | None) -> lsp.Diagnostic:
    """A library diagnostic as the protocol's: code, severity, hint and related places."""
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    related = [lsp.DiagnosticRelatedInformation(
        lsp.Location(Path(r.source).absolute().as_uri(), lsp_range(r, None)), "also here")
        for r in d.related if r.source]
    return lsp.Diagnostic(range=lsp_range(d.location, text), message=message,
                          severity=_SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error),
                          code=d.code, source="ta-rules", related_information=related or None)


def _file_of(source: str) -> str | None:
    from ta_rules.rulesets.vocabulary_load import vocabulary_source_file

    if os.path.isabs(source):
        return source
    return vocabulary_source_file(source)


def check_unit(unit: Unit, texts: Mapping[str, str]) -> dict[str, list[lsp.Diagnostic]]:
    """The diagnostics ``check`` gives for a unit, by file (every file of the unit listed)."""
    from ta_rules.tools.check import check_paths

    found, sources, _ = check_paths(unit.paths, texts=texts)
    out: dict[str, list[lsp.Diagnostic]] = {f: [] for f in unit.files}
    for d in found:
        name = _file_of(d.location.source)
        if name is None:
            continue
        text = texts.get(name) or sources.get(d.location.source)
        out.setdefault(name, []).append(to_lsp(d, text))
    return out


def scenario_diagnostics(path: str, text: str) -> list[lsp.Diagnostic]:
    """The problems of a scenario file, as ``ta-rules test`` reports them before running."""
    from ta_rules.testing.scenarios import load_scenarios_text

    _, problems = load_scenarios_text(text, path)
    return [to_lsp(d, text) for d in problems]


def properties_diagnostics(path: str, text: str) -> list[lsp.Diagnostic]:
    """The problems of a properties file's text, resolved against each version beside it.

    ``properties/NAME.yaml`` belongs to the rulesets named NAME in the folder above; each
    property is resolved against every version it applies to, as ``ta-rules check`` does.
    """
    from ta_rules.rulesets.load import loads_ruleset, read_rule_file, rule_files
    from ta_rules.rulesets.properties import (
        PropertyError,
        loads_properties,
        property_diagnostics,
    )

    found = yaml_diagnostics(path, text)
    if found:
        return found
    try:
        props = loads_properties(text, path)
    except PropertyError as exc:
        return [to_lsp(Diagnostic(dc.PROPERTY_INVALID, str(exc), Location(path, 1, 1)), text)]
    folder = os.path.dirname(os.path.dirname(path))
    name = Path(path).stem
    seen: dict[tuple[str, int, int, str], Diagnostic] = {}
    try:
        files = rule_files(folder)
    except OSError:
        files = []
    for file in files:
        try:
            rs = loads_ruleset(read_rule_file(str(file), folder=folder), str(file),
                               rules_folder=folder)
        except (RulesetError, OSError):
            continue  # its own problems are shown in its own file
        if rs.name != name:
            continue
        for d in property_diagnostics(rs, props)[0]:
            seen.setdefault((d.code, d.location.line, d.location.column, d.message), d)
    return [to_lsp(d, text) for d in seen.values()]


def yaml_diagnostics(path: str, text: str) -> list[lsp.Diagnostic]:
    """The YAML problems of a file."""
    from ta_rules.rulesets._yaml import load_yaml

    _, problems = load_yaml(text, path)
    return [to_lsp(d, text) for d in problems]


# --- names -------------------------------------------------------------------------------


def vocabulary_for(path: str, table: SymbolTable) -> Vocabulary:
    """The vocabulary a rule file is written against (the bundled one when it is broken)."""
    from ta_rules.rulesets.vocabulary_load import (
        DEFAULT_VOCABULARY,
        bundled_vocabulary,
        find_vocabulary,
    )

    try:
        found = find_vocabulary(table.vocabulary or DEFAULT_VOCABULARY, os.path.dirname(path))
    except RulesetError:
        found = None
    return found or bundled_vocabulary()


def fact_at(voc: Vocabulary, parts: list[str]) -> FieldDef | None:
    """The field at a dotted fact path (list items of records pass through to the record)."""
    return voc.field_at(parts, through_lists=True)


def record_of(voc: Vocabulary, f: FieldDef) -> RecordDef | None:
    """The record a field holds (or a list of), if any."""
    t = f.type
    while t.base == "list" and t.item is not None:
        t = t.item
    return voc.record_map.get(str(t.arg)) if t.base == "record" else None


def fields_after(voc: Vocabulary, parts: list[str]) -> list[FieldDef]:
    """The fields that may follow a dotted fact path (the root's fields for no path)."""
    if not parts:
        record = voc.record_map.get(voc.root)
    else:
        f = fact_at(voc, parts)
        record = record_of(voc, f) if f is not None else None
    return list(record.fields) if record is not None else []


def fact_markdown(path: str, f: FieldDef) -> str:
    """A fact's hover: its path, type and doc."""
    out = f"**fact** `{path}`: `{f.type}`" + ("" if f.required else " (optional)")
    if f.default is not None:
        out += f", default `{f.default}`"
    return out + (f"\n\n{f.doc}" if f.doc else "")


def symbol_markdown(sym: Symbol, translations: Mapping[str, str] | None = None) -> str:
    """A declared name's hover."""
    s = sym.spec
    if sym.kind == "parameter":
        out = f"**parameter** `{sym.name}`: `{s.get('type', '?')}`, default `{s.get('default')}`"
        if s.get("choices"):
            out += f"\n\nchoices: {', '.join(map(str, s['choices']))}"
    elif sym.kind == "reason":
        out = f"**reason** `{sym.name}` ({s.get('kind', '?')})\n\n{s.get('message', '')}"
        for locale, text in (translations or {}).items():
            out += f"\n\n- {locale}: {text}"
    elif sym.kind == "value":
        out = f"**value** `{sym.name}`\n\n```\n{sym.detail}\n```"
    elif sym.kind == "function":
        params = s.get("params")
        args = ", ".join(f"{k}: {v}" for k, v in params.items()) if isinstance(params,
                                                                               dict) else ""
        out = f"**function** `{sym.name}({args})`\n\n```\n{sym.detail}\n```"
    elif sym.kind == "group":
        out = f"**group** `{sym.name}` ({sym.detail})"
    else:
        out = f"**rule** `{sym.name}`"
    return out + (f"\n\n{sym.doc}" if sym.doc else "")


def translations(path: str, table: SymbolTable, code: str, message: str) -> dict[str, str]:
    """A reason message in every shipped locale of the file's catalog."""
    from ta_rules.messages import (
        CatalogError,
        catalog_entries,
        find_catalog_root,
        shipped_locales,
    )

    if table.catalog is None:
        return {}
    root = find_catalog_root(os.path.dirname(path), table.catalog)
    out = {}
    for locale in shipped_locales(table.catalog, root):
        try:
            text = catalog_entries(locale, table.catalog, root).get((code, message))
        except (CatalogError, OSError):
            continue
        if text:
            out[locale] = text
    return out


def builtin_specs_by_name() -> Mapping[str, BuiltinSpec]:
    """The rule language's built-in functions by name (the one table of them)."""
    return BUILTINS


def builtin_specs() -> list[BuiltinSpec]:
    """The built-in functions, sorted by name."""
    return sorted(BUILTINS.values(), key=lambda b: b.name)


def loc_to_lsp(loc: Location, text: str | None = None) -> lsp.Location | None:
    """A library location as a protocol location (None when the file is unknown)."""
    name = _file_of(loc.source)
    if name is None:
        return None
    if text is None:
        text = read_text(name, {})
    return lsp.Location(Path(name).as_uri(), lsp_range(loc, text))


def read_text(name: str, texts: Mapping[str, str]) -> str | None:
    """A file's text: the editor's when given, else from disk (None when unreadable or huge)."""
    text = texts.get(name)
    if text is None:
        try:
            with open(name, encoding="utf-8") as fh:
                text = fh.read(MAX_TEXT + 1)
        except (OSError, UnicodeDecodeError):
            return None
    return text if len(text) <= MAX_TEXT else None


# --- where a cursor is -------------------------------------------------------------------


def key_path(text: str, line_no: int) -> list[str]:
    """The YAML keys enclosing line ``line_no`` (by indentation), outermost first.

    A key on the line itself is included when the cursor is after it; list items (``-``)
    count as their content's indentation.
    """
    lines = text.split("\n")
    if not 0 <= line_no < len(lines):
        return []
    path: list[str] = []

    def indent_key(line: str) -> tuple[int, str | None]:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        while stripped.startswith("- "):
            stripped = stripped[2:].lstrip(" ")
            indent = len(line) - len(stripped)
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", stripped)
        return indent, m[1] if m else None

    indent, key = indent_key(lines[line_no])
    if key is not None:
        path.append(key)
    limit = indent
    for line in reversed(lines[max(0, line_no - 5000):line_no]):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        ind, k = indent_key(line)
        if ind < limit and k is not None:
            path.append(k)
            limit = ind
            if ind == 0:
                break
    return list(reversed(path))


def in_key_position(before: str) -> bool:
    """Whether the text before the cursor on its line is a key being typed (not a value)."""
    return re.fullmatch(r"\s*(?:-\s+)*[A-Za-z_][A-Za-z0-9_]*", before) is not None or \
        not before.strip()


def project_scenario_files(path: str) -> Iterator[str]:
    """The scenario files of the project a file belongs to."""
    from ta_rules.testing.scenarios import find_scenario_files

    project = project_of(path)
    if project is None:
        return
    for name, problem in find_scenario_files(project.scenarios):
        if problem is None:
            yield os.path.abspath(name)


def references(path: str, code: str, texts: Mapping[str, str],
               include_declaration: bool) -> list[lsp.Location]:
    """Every use of a reason code in the rule files beside ``path`` and the scenarios."""
    from ta_rules.rulesets.load import rule_files

    files: dict[str, str] = {os.path.realpath(path): path}  # one name per file (links)
    names: list[str] = []
    for folder in dict.fromkeys((os.path.dirname(path), project_rules(path))):
        with contextlib.suppress(OSError):
            names += [os.path.abspath(f) for f in rule_files(folder)
                      if not str(f).endswith(".vocabulary.yaml")]
    names += project_scenario_files(path)
    for name in names:
        files.setdefault(os.path.realpath(name), name)
    out = []
    for name in files.values():
        text = read_text(name, texts)
        if text is None:
            continue
        decl = ruleset_symbols(text, name).find(code, "reason") if \
            doc_kind(name, text) == "ruleset" else None
        for loc in code_uses(text, name, code):
            if not include_declaration and decl is not None and \
                    (loc.line, loc.column) == (decl.location.line, decl.location.column):
                continue
            found = loc_to_lsp(loc, text)
            if found is not None:
                out.append(found)
    return out


def find_reason(path: str, code: str, texts: Mapping[str, str]) -> tuple[Symbol, str] | None:
    """Where a reason code is declared: in ``path`` or the project's rule files."""
    from ta_rules.rulesets.load import rule_files

    candidates = [path]
    with contextlib.suppress(OSError):
        candidates += [os.path.abspath(f) for f in rule_files(project_rules(path))]
    for name in candidates:
        text = read_text(name, texts)
        if text is None or doc_kind(name, text) != "ruleset":
            continue
        sym = ruleset_symbols(text, name).find(code, "reason")
        if sym is not None:
            return sym, text
    return None


