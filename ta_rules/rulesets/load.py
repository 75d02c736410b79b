"""Load a ruleset file: YAML with positions, then the file schema, then the compiler."""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from pydantic import BaseModel, ValidationError

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError
from ta_rules.facts import error_path
from ta_rules.rulesets import cache
from ta_rules.rulesets._types import TypeEnv, type_env
from ta_rules.rulesets._yaml import MAX_BYTES, YamlDocument, load_yaml
from ta_rules.rulesets.changes import FlatDocument, flatten
from ta_rules.rulesets.compile import FrontEnd, Ruleset, assemble_ruleset, compile_ruleset
from ta_rules.rulesets.schema import RulesetSpec
from ta_rules.rulesets.vocabulary_load import find_vocabulary, ruleset_env
from ta_rules.texts import PolicyText, catalog_texts, policy_identity
from ta_rules.vocabulary import Vocabulary

__all__ = [
    "RULE_SUFFIXES",
    "catalog_diagnostics",
    "exc_as_diagnostic",
    "load_ruleset",
    "load_ruleset_spec",
    "loads_ruleset",
    "read_rule_file",
    "rule_files",
    "schema_diagnostics",
]

# models that appear as members of a union in the file schema (values: text or {expr, doc})
_UNION_MODELS = frozenset({"ValueSpec"})

# the code of each pydantic error kind, by the kind of file (rule file or scenario file)
_TYPE_CODES: dict[str, dict[str, str]] = {
    "schema": {"missing": dc.SCHEMA_MISSING, "extra_forbidden": dc.SCHEMA_UNKNOWN_FIELD,
               "literal_error": dc.SCHEMA_CHOICE,
               "string_pattern_mismatch": dc.SCHEMA_PATTERN, "": dc.SCHEMA_INVALID,
               "coercion": dc.SCHEMA_YAML_COERCION},
    "scenario": {"missing": dc.SCENARIO_MISSING, "extra_forbidden": dc.SCENARIO_UNKNOWN_FIELD,
                 "literal_error": dc.SCENARIO_CHOICE,
                 "string_pattern_mismatch": dc.SCENARIO_PATTERN, "": dc.SCENARIO_INVALID,
                 "coercion": dc.SCENARIO_YAML_COERCION},
}


def schema_diagnostics(
    exc: ValidationError, doc: YamlDocument, model: type[BaseModel],
    prefix: Literal["schema", "scenario"] = "schema"
) -> list[Diagnostic]:
    """Turn pydantic errors into diagnostics at the YAML positions they refer to."""
    out = []
    for err in exc.errors(include_url=False):
        loc = error_path(tuple(err["loc"]), _UNION_MODELS)
        kind = str(err["type"])
        codes = _TYPE_CODES[prefix]
        code = codes.get(kind, codes[""])
        message = str(err["msg"]).removeprefix("Value error, ")
        hint = None
        key_error = bool(loc) and loc[-1] == "[key]"
        if key_error:
            loc = loc[:-1]
        if kind == "missing":
            message = f"missing required field '{loc[-1]}'"
            location = doc.location(loc[:-1], key=True)
        elif kind == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
            location = doc.location(loc, key=True)
            allowed = _allowed_fields(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                hint = f"did you mean '{close[0]}'?"
            elif allowed:
                hint = "allowed here: " + ", ".join(allowed)
        elif key_error:
            location = doc.location(loc, key=True)
            message = f"the key {loc[-1]!r}: {message}"
        else:
            location = doc.location(loc)
            raw = doc.plain_non_string(loc)
            if raw is not None and kind.endswith("_type"):
                value = doc.data_at(loc)
                hint = f"YAML reads {raw} as {type(value).__name__}; quote it: \"{raw}\""
                code = codes["coercion"]
            else:
                found = err.get("input")
                if kind not in ("value_error", "assertion_error") and not isinstance(
                        found, dict | list):
                    message += f", found {found!r}"[:120]
        out.append(Diagnostic(code, message, location, hint))
    return out


def _allowed_fields(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Field names allowed at ``path`` of ``model`` (best effort, for hints)."""
    current: Any = model
    for part in path:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        info = fields.get(part) or next(
            (f for f in fields.values() if f.alias == part), None)
        if info is None:
            current = None
            continue
        current = _model_in(info.annotation)
    fields = getattr(current, "model_fields", None)
    if not fields:
        return []
    return [f.alias or n for n, f in fields.items()]


def _model_in(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _yaml_document(content: str | bytes, source: str, *,
                   max_bytes: int = MAX_BYTES) -> YamlDocument:
    """A rule file's YAML, with positions: a mapping, or a located error."""
    doc, problems = load_yaml(content, source, max_bytes=max_bytes)
    if doc is None or problems:
        raise RulesetError(problems, sources=doc.texts() if doc else {})
    if not isinstance(doc.data, dict):
        raise RulesetError(
            [Diagnostic(dc.SCHEMA_INVALID, "a ruleset file must be a mapping with ruleset:, "
                        "version:, ...", Location(source, 1, 1))],
            sources=doc.texts(),
        )
    return doc


def _validate(doc: YamlDocument) -> RulesetSpec:
    try:
        return RulesetSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise RulesetError(schema_diagnostics(exc, doc, RulesetSpec),
                           sources=doc.texts()) from None


def load_ruleset_spec(
    content: str | bytes, source: str, *, max_bytes: int = MAX_BYTES,
    rules_folder: str | None = None, based_on: Sequence[PolicyText] = (),
) -> tuple[RulesetSpec, YamlDocument]:
    """Read and validate a ruleset file's text (YAML + file schema), without compiling.

    A version written as changes (``based_on:``) is flattened first (see
    :mod:`ta_rules.rulesets.changes`): its base is looked up among ``based_on``, then in
    ``rules_folder``, then among the bundled rulesets; the document returned locates each
    part in the file that wrote it.

    Raises:
        RulesetError: For YAML or schema problems, with positions.
    """
    doc = _yaml_document(content, source, max_bytes=max_bytes)
    doc, _ = flatten(doc, rules_folder, candidates=based_on, max_bytes=max_bytes)
    return _validate(doc), doc


def content_hash(content: str | bytes) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return "sha256:" + hashlib.sha256(data).hexdigest()


def policy_texts(content: str | bytes, file_name: str, vocabulary: Vocabulary | None,
                 catalog: str | None, catalog_root: str | None, *,
                 based_on: Sequence[PolicyText] = ()) -> tuple[PolicyText, ...]:
    """Every text a ruleset is built from: its file, its bases, vocabularies and catalogs."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    name = file_name if file_name and "/" not in file_name and file_name not in (".", "..") \
        else "ruleset.yaml"
    if not name.endswith(RULE_SUFFIXES):
        name += ".yaml"
    return (PolicyText("rules", f"rules/{name}", data), *based_on,
            *(vocabulary.texts if vocabulary is not None else ()),
            *catalog_texts(catalog, catalog_root))


def _file_name(source: str) -> str:
    return "ruleset.yaml" if source.startswith("<") else os.path.basename(source)


def loads_ruleset(
    content: str | bytes, source: str = "<string>", *, max_bytes: int = MAX_BYTES,
    rules_folder: str | None = None, based_on: Sequence[PolicyText] = (), keep: bool = True,
    file_name: str | None = None,
) -> Ruleset:
    """Load and compile a ruleset from its text.

    Args:
        content: The YAML text (or bytes).
        source: The name to show in diagnostics.
        max_bytes: Refuse files larger than this.
        rules_folder: The folder the file is in: its message catalog is looked up beside it
            (``locales/``) before the package's.
        based_on: Rule texts among which the base of a version written as changes
            (``based_on:``) is looked up first (before ``rules_folder`` and the bundled
            rulesets). The bases used are part of its texts and its identity.
        file_name: The file's own name (default: the last part of ``source``), by which
            it is laid out again from the store.
        keep: Keep its texts in the policy store (:func:`ta_rules.store.default_store`),
            so that verdicts it gives can be replayed exactly later.

    Returns:
        The compiled ruleset.

    Raises:
        RulesetError: With every problem, each with file:line:column.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    key = None
    if len(data) <= max_bytes and not based_on and cache.cache_dir() is not None:
        key = cache.entry_key(data, source, rules_folder)
        cached = _from_cache(key, data, source, rules_folder, file_name or _file_name(source))
        if cached is not None:
            if keep:
                _keep(cached)
            return cached
    doc: YamlDocument | None = None
    try:
        doc = _yaml_document(content, source, max_bytes=max_bytes)
        doc, bases = flatten(doc, rules_folder, candidates=based_on, max_bytes=max_bytes)
        spec = _validate(doc)
    except RulesetError as exc:
        raise _with_compile_problems(exc, doc, source, rules_folder) from None
    root = _catalog_root(spec.catalog, rules_folder)
    env = ruleset_env(spec, doc, rules_folder)
    texts = policy_texts(content, file_name or _file_name(source), env.vocabulary,
                         spec.catalog, root, based_on=bases)
    ruleset = compile_ruleset(spec, doc, source=source, content_hash=policy_identity(texts),
                              catalog_root=root, env=env)
    ruleset.texts = texts
    ruleset.rules_folder = rules_folder
    ruleset.document = doc
    if isinstance(doc, FlatDocument):
        ruleset.based_on = doc.based_on
        writers = doc.versions()
        ruleset.written_by = MappingProxyType({
            rid: writers.get(rule.location.source, ruleset.version)
            for rid, rule in ruleset.rules.items()})
        ruleset.reasons_written_by = MappingProxyType({
            code: writers.get(reason.location.source, ruleset.version)
            for code, reason in ruleset.reasons.items()})
    _check_catalogs(ruleset, doc)
    # a version written as changes is never cached: its bases may change under it
    if key is not None and not isinstance(doc, FlatDocument) and ruleset.front is not None \
            and ruleset.env is not None:
        cache.write(key, cache.CacheEntry(
            ruleset.front, ruleset.env.vocabulary.name, repr(ruleset.env.vocabulary),
            cache.catalog_signature(spec.catalog, root)), ruleset.env)
    if keep:
        _keep(ruleset)
    return ruleset


def _keep(ruleset: Ruleset) -> None:
    from ta_rules.store import default_store, keep_all

    keep_all([ruleset], default_store())


def _catalog_root(domain: str | None, rules_folder: str | None) -> str | None:
    if domain is None or rules_folder is None:
        return None
    from ta_rules.messages import find_catalog_root

    return find_catalog_root(rules_folder, domain)


def _from_cache(key: str, data: bytes, source: str, rules_folder: str | None,
                file_name: str) -> Ruleset | None:
    """The ruleset from the compile cache, when its entry is there and still holds.

    The entry holds what the compiler made of the file; its identity is computed anew from
    the texts as they are now (the file, its vocabulary and catalogs), as a compile does.
    """

    def env_of(name: str) -> TypeEnv | None:
        try:
            voc = find_vocabulary(name, rules_folder)
        except RulesetError:
            return None  # compiled again, which reports it
        return type_env(voc) if voc is not None else None

    found = cache.read(key, env_of)
    if found is None:
        return None
    entry, env = found
    front: FrontEnd = entry.front
    root = _catalog_root(front.spec.catalog, rules_folder)
    if cache.catalog_signature(front.spec.catalog, root) != entry.catalog:
        return None
    texts = policy_texts(data, file_name, env.vocabulary, front.spec.catalog, root)
    ruleset = assemble_ruleset(front, source=source, content_hash=policy_identity(texts),
                               catalog_root=root, env=env)
    ruleset.texts = texts
    ruleset.rules_folder = rules_folder
    try:
        ruleset.document = _yaml_document(data, source, max_bytes=len(data))
        _check_catalogs(ruleset, None)
    except RulesetError:
        return None  # compiled again, which reports it with the file's text
    return ruleset


def _check_catalogs(ruleset: Ruleset, doc: YamlDocument | None) -> None:
    # what `ta-rules check` calls an error is not loaded either: a message with no
    # translation would be shown in English with the reader's number and date formats
    problems = [d for d in catalog_diagnostics(ruleset) if d.severity == "error"]
    if problems:
        raise RulesetError(problems, sources=doc.texts() if doc is not None else {})


def catalog_diagnostics(ruleset: Ruleset) -> list[Diagnostic]:
    """Catalog problems of a ruleset's reason messages.

    A catalog that cannot be used (corrupt, empty, not a regular file), a translation whose
    placeholders are not plain names, a reason code with no translation in a shipped locale,
    or a translation whose placeholders differ from the rule file's English template.
    """
    from ta_rules.messages import (
        CatalogError,
        catalog_entries,
        catalog_problems,
        placeholders,
        shipped_locales,
    )

    domain = ruleset.spec.catalog
    if domain is None:
        return []
    root = ruleset.catalog_root
    out = catalog_problems(domain, root, {
        code: (reason.message, reason.location) for code, reason in ruleset.reasons.items()})
    locales = shipped_locales(domain, root)
    missing: dict[str, list[str]] = {}
    for locale in locales:
        try:
            entries = catalog_entries(locale, domain, root)
        except CatalogError:
            continue  # reported above
        for code, reason in ruleset.reasons.items():
            text = entries.get((code, reason.message))
            if text is None:
                missing.setdefault(code, []).append(locale)
            elif placeholders(text) is not None and placeholders(text) != reason.placeholders:
                found = ", ".join(sorted(placeholders(text) or ()))
                wanted = ", ".join(sorted(reason.placeholders))
                out.append(Diagnostic(
                    dc.MESSAGES_PLACEHOLDER_MISMATCH,
                    f"the {locale} message of {code} uses {{{found}}} but the template has "
                    f"{{{wanted}}}",
                    reason.location, f"fix the translation in the {locale} catalog {domain}.po"))
    folder = root or "ta_rules/locales"
    for code, where in missing.items():
        out.append(Diagnostic(
            dc.MESSAGES_MISSING_TRANSLATION,
            f"the message of {code} has no translation in {', '.join(where)} "
            f"(catalog {domain!r} in {folder})",
            ruleset.reasons[code].location,
            f"run ta-rules messages update, translate it in {domain}.po, then ta-rules "
            "messages compile"))
    return out


# Sections whose entries can be set aside one by one when they break the file schema.
_ENTRY_SECTIONS = ("parameters", "reasons", "functions", "values", "groups")


def _with_compile_problems(exc: RulesetError, doc: YamlDocument | None, source: str,
                           rules_folder: str | None = None) -> RulesetError:
    """Add the compiler's problems to a file's schema problems, so one run shows all.

    The entries the schema refused (a parameter, a reason, a rule...) are set aside and the
    rest is compiled; names of set-aside entries are known to be broken, so they cause no
    second report. When the file's structure itself is broken (a top-level key), only the
    schema problems are given.
    """
    if not exc.diagnostics or any(not d.code.startswith("schema.") for d in exc.diagnostics):
        return exc
    if doc is None or not isinstance(doc.data, dict):
        return exc
    data = copy.deepcopy(doc.data)
    broken_names: set[str] = set()
    broken_rules: set[tuple[Any, ...]] = set()
    try:
        RulesetSpec.model_validate(data)
    except ValidationError as err:
        for e in err.errors(include_url=False):
            loc = tuple(p for p in error_path(tuple(e["loc"]), _UNION_MODELS) if p != "[key]")
            if not _set_aside(data, loc, broken_names, broken_rules):
                return exc
    else:  # pragma: no cover - the file failed before
        return exc
    try:
        spec = RulesetSpec.model_validate(data)
    except ValidationError:
        return exc
    try:
        env = ruleset_env(spec, doc, rules_folder)
        compile_ruleset(spec, doc, source=source, content_hash="",
                        broken=(frozenset(broken_names), frozenset(broken_rules)), env=env)
    except RulesetError as compiled:
        return RulesetError([*exc.diagnostics, *compiled.diagnostics], sources=exc.sources)
    return exc


def _set_aside(data: dict[str, Any], loc: tuple[Any, ...], names: set[str],
               rules: set[tuple[Any, ...]]) -> bool:
    """Set aside the entry an error is in; False when it is not inside an entry."""
    if len(loc) < 2 or loc[0] not in (*_ENTRY_SECTIONS, "outcome"):
        return False
    section = data.get(loc[0])
    if loc[0] == "outcome":
        if not isinstance(loc[1], int) or not isinstance(section, list):
            return False
        section[loc[1]] = {"id": f"x-set-aside-{loc[1]}", "outcome": "denied"}
        rules.add(("outcome", loc[1]))
        return True
    if not isinstance(section, dict):
        return False
    if loc[1] not in section:
        return str(loc[1]) in names  # a second problem in an entry already set aside
    if loc[0] == "groups" and len(loc) >= 4:
        group = section[loc[1]]
        where = loc[2:4] if loc[2] == "rules" else loc[2:5] if loc[2] == "tables" else ()
        if isinstance(group, dict) and where and isinstance(where[-1], int):
            container: Any = group
            for part in where[:-1]:
                container = container.get(part) if isinstance(container, dict) else None
            if isinstance(container, list) and where[-1] < len(container):
                container[where[-1]] = {"id": f"x-set-aside-{len(rules)}"}
                rules.add(("groups", loc[1], *where))
                return True
    names.add(str(loc[1]))
    del section[loc[1]]
    return True


#: The file names a folder of rules is read for, by ``check`` and by the registry alike.
RULE_SUFFIXES: Final = (".yaml", ".yml")


def rule_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The rule files of a folder (``*.yaml`` and ``*.yml``, not recursive), sorted."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix in RULE_SUFFIXES)


def read_rule_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                   folder: str | os.PathLike[str] | None = None) -> bytes:
    """The bytes of a rule file: a regular file (inside ``folder`` when given), read bounded.

    A device (``/dev/zero``), a FIFO or a folder is refused without reading it (a FIFO is
    opened without waiting for a writer), and so is a link out of ``folder``.

    Raises:
        RulesetError: ``file.unreadable``, ``file.not-regular``, ``file.outside-folder`` or
            ``yaml.too-large``.
    """
    from ta_rules._files import FileRefused, read_guarded

    try:
        return read_guarded(path, max_bytes=max_bytes, folder=folder, what="rule file")
    except FileRefused as exc:
        raise exc_as_diagnostic(exc) from None


def exc_as_diagnostic(exc: Any) -> RulesetError:
    """A :class:`ta_rules._files.FileRefused` as the diagnostic ``check`` shows."""
    code = dc.YAML_TOO_LARGE if exc.code == dc.FILE_TOO_LARGE else \
        dc.FILE_UNREADABLE if exc.code == dc.FILE_MISSING else exc.code
    where = Location(exc.path, 1, 1) if code == dc.YAML_TOO_LARGE else Location(exc.path)
    return RulesetError([Diagnostic(code, exc.reason, where)])


def load_ruleset(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES,
                 folder: str | os.PathLike[str] | None = None,
                 source: str | None = None) -> Ruleset:
    """Load and compile one ruleset file.

    Args:
        path: The rule file.
        max_bytes: Refuse files larger than this.
        folder: The folder of rules it was found in: a link out of it is refused.
        source: The name diagnostics and verdicts give the file (default: ``path``).

    Example:
        >>> from importlib.resources import files
        >>> rs = load_ruleset(str(files("ta_rules") / "rules" / "trade-assurance-2015.1.yaml"))
        >>> (rs.name, rs.version)
        ('trade-assurance', '2015.1')

    Raises:
        RulesetError: If the file cannot be read or has any problem.
    """
    name = os.fspath(path)
    content = read_rule_file(name, max_bytes=max_bytes, folder=folder)
    return loads_ruleset(content, source or name, max_bytes=max_bytes,
                         rules_folder=os.path.dirname(os.path.abspath(name)),
                         file_name=os.path.basename(name))
