"""The language server: pygls wiring over :mod:`ta_rules.lsp._analysis`."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, ParamSpec, TypeVar
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from ta_rules._version import __version__
from ta_rules.lsp import _analysis as an
from ta_rules.rulesets.symbols import Symbol, SymbolTable, ruleset_symbols

__all__ = ["DEBOUNCE_SECONDS", "RUN_SCENARIO", "TaRulesServer", "build_server"]

#: How long after the last change a document is checked again.
DEBOUNCE_SECONDS: Final = 0.1
#: The command a scenario's code lens runs: arguments [uri, index of the scenario].
RUN_SCENARIO: Final = "ta-rules.runScenario"
_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]*")
_R = TypeVar("_R")
_P = ParamSpec("_P")
log = logging.getLogger("ta_rules.lsp")


def path_of(uri: str) -> str | None:
    """The absolute file path of a ``file:`` URI, or None for any other URI."""
    try:
        parsed = urlparse(uri)
    except ValueError:
        return None
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = unquote(parsed.path)
    return os.path.normpath(path) if path.startswith("/") and "\x00" not in path else None


def _guarded(fn: Callable[_P, _R]) -> Callable[_P, _R | None]:
    """Answer nothing instead of failing when a request handler meets the unexpected."""
    @functools.wraps(fn)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # an editor's request is never worth a crash
            log.warning("%s failed on this input: %s", getattr(fn, "__name__", "a request"),
                        _one_line(exc))
            return None
    return guarded


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:500]


class _Protocol(LanguageServerProtocol):
    """pygls' protocol, answering a request whose parameters cannot be read with an error.

    (pygls itself drops such a request, and the editor would wait for an answer forever.)
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data.get("id"), int | str) and isinstance(data.get("method"), str):
                self._send_response(data["id"], error=lsp.ResponseError(
                    exc.code, f"{exc.message}: the params of {data['method'][:100]!r} are "
                    "not what the protocol defines"))
            raise


class TaRulesServer(LanguageServer):
    """A language server for the rule files, vocabularies, properties and scenarios."""

    def __init__(self) -> None:
        super().__init__("ta-rules", __version__,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=_Protocol)
        self.pending: dict[str, asyncio.TimerHandle] = {}
        #: Documents changed in the editor since they were opened or saved: only these are
        #: checked from the editor's text, the others as ``check`` reads them from disk.
        self.dirty: set[str] = set()
        self.published: dict[tuple[str, ...], set[str]] = {}
        self.results: dict[tuple[str, int, str], tuple[bool, str]] = {}
        self.last_tables: dict[str, SymbolTable] = {}
        self.checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ta-rules-check")
        self.runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ta-rules-run")
        self._registries: dict[str, tuple[Any, Any]] = {}
        self._registry_lock = threading.Lock()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log a message that could not be handled (to stderr; no pop-up in the editor)."""
        log.warning("a message could not be handled: %s", _one_line(error))

    # documents ------------------------------------------------------------------------------
    def document(self, uri: str) -> tuple[str, str, an.DocKind] | None:
        """(path, text, kind) of an open document with a file URI; None otherwise."""
        path = path_of(uri)
        doc = self.workspace.text_documents.get(uri)
        if path is None or doc is None:
            return None
        text = doc.source
        return path, text, an.doc_kind(path, text)

    def texts(self) -> dict[str, str]:
        """The text of every open file changed and not saved (or not on disk), by path."""
        out = {}
        for uri, doc in list(self.workspace.text_documents.items()):
            path = path_of(uri)
            if path is not None and (uri in self.dirty or not os.path.lexists(path)):
                out[path] = doc.source
        return out

    # diagnostics ----------------------------------------------------------------------------
    def schedule(self, uri: str, delay: float = DEBOUNCE_SECONDS) -> None:
        """Check a document ``delay`` seconds from now (a later change restarts the wait)."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(
            delay, lambda: asyncio.ensure_future(self.publish(uri)))

    async def publish(self, uri: str) -> None:
        """Publish the diagnostics of a document (and of the files checked with it)."""
        self.pending.pop(uri, None)
        found = self.document(uri)
        if found is None:
            return
        path, text, kind = found
        version = self.workspace.text_documents[uri].version
        loop = asyncio.get_running_loop()
        try:
            if kind in ("ruleset", "vocabulary"):
                unit = an.unit_of(path)
                by_file = await loop.run_in_executor(self.checker, an.check_unit, unit,
                                                     self.texts())
                self._publish_unit(unit, by_file, uri, version)
                return
            if len(text) > an.MAX_TEXT:
                diags = an.yaml_diagnostics(path, text)
            elif kind == "scenarios":
                diags = await loop.run_in_executor(self.checker, an.scenario_diagnostics,
                                                   path, text)
            elif kind == "properties":
                diags = await loop.run_in_executor(self.checker, an.properties_diagnostics,
                                                   path, text)
            else:
                diags = []
        except Exception as exc:
            log.warning("checking %s failed: %s", path, _one_line(exc))
            return
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags, version=version))

    def _publish_unit(self, unit: an.Unit, by_file: dict[str, list[lsp.Diagnostic]],
                      uri: str, version: int | None) -> None:
        uris = set()
        for name, diags in by_file.items():
            file_uri = uri if path_of(uri) == name else Path(name).as_uri()
            uris.add(file_uri)
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                uri=file_uri, diagnostics=diags,
                version=version if file_uri == uri else None))
        for stale in self.published.get(unit.paths, set()) - uris:
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        self.published[unit.paths] = uris

    # names ----------------------------------------------------------------------------------
    def table(self, path: str, text: str, kind: an.DocKind) -> SymbolTable:
        """The names a document can use: its own, or (properties) those of its rule files."""
        if kind == "ruleset":
            # while the YAML is broken (mid-edit), the names of the last readable text
            table = ruleset_symbols(text, path)
            if table.symbols:
                self.last_tables[path] = table
            return table if table.symbols else self.last_tables.get(path, table)
        if kind != "properties":
            return SymbolTable(path)
        from ta_rules.rulesets.load import rule_files

        symbols: list[Symbol] = []
        texts = self.texts()
        try:
            files = rule_files(os.path.dirname(os.path.dirname(path)))
        except OSError:
            files = []
        vocabulary = catalog = None
        for f in files:
            name = os.path.abspath(f)
            body = an.read_text(name, texts)
            if body is None or an.doc_kind(name, body) != "ruleset":
                continue
            t = ruleset_symbols(body, name)
            symbols += [s for s in t.symbols if not any(o.name == s.name for o in symbols)]
            vocabulary = vocabulary or t.vocabulary
            catalog = catalog or t.catalog
        return SymbolTable(path, tuple(symbols), vocabulary, catalog)

    def vocabulary(self, path: str, kind: an.DocKind, table: SymbolTable) -> Any:
        """The vocabulary a document's facts come from (a properties file: its rules')."""
        if kind == "properties":  # properties/NAME.yaml lies in the rules folder
            path = os.path.join(os.path.dirname(os.path.dirname(path)), "properties.yaml")
        return an.vocabulary_for(path, table)

    def registry(self, path: str) -> Any:
        """The registry of the file's project rules (rebuilt when a rule file changes)."""
        from ta_rules.rulesets.load import rule_files
        from ta_rules.rulesets.registry import Registry

        folder = an.project_rules(path)
        stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size)
                      for f in rule_files(folder))
        with self._registry_lock:
            cached = self._registries.get(folder)
            if cached is None or cached[0] != stamp:
                cached = (stamp, Registry.from_folder(folder))
                self._registries[folder] = cached
            return cached[1]


def _facts_key_path(text: str, line: int) -> list[str] | None:
    """The fact path of a scenario file's line (the keys under ``facts:``), if any."""
    keys = an.key_path(text, line)
    return keys[keys.index("facts") + 1:] if "facts" in keys else None


def _completion_items(server: TaRulesServer, path: str, text: str, kind: an.DocKind,
                      pos: lsp.Position) -> list[lsp.CompletionItem]:
    line = an.line_at(text, pos.line)
    if line is None:
        return []
    before = line[:an.to_index(line, pos.character)]
    token = re.search(r"[A-Za-z_][A-Za-z0-9_.]*$", before)
    word = token[0] if token else ""
    table = server.table(path, text, kind)
    voc = server.vocabulary(path, kind, table)
    if kind == "scenarios":
        return _scenario_items(server, path, text, pos.line, before, voc)
    if an.in_key_position(before) and "reasons" not in an.key_path(text, pos.line)[-1:]:
        return []
    items: list[lsp.CompletionItem] = []
    if "." in word:
        head = word.rpartition(".")[0].split(".")
        group = table.find(head[0], "group")
        if group is not None and len(head) == 1:
            from ta_rules.rulesets.resolve import KINDS

            return [lsp.CompletionItem(k, kind=lsp.CompletionItemKind.Property,
                                       detail=f"the {k} reasons of {head[0]}") for k in KINDS]
        return [_field_item(f) for f in an.fields_after(voc, head)]
    items += [_field_item(f) for f in an.fields_after(voc, [])]
    kinds = {"parameter": lsp.CompletionItemKind.Variable,
             "value": lsp.CompletionItemKind.Constant,
             "function": lsp.CompletionItemKind.Function,
             "reason": lsp.CompletionItemKind.EnumMember,
             "group": lsp.CompletionItemKind.Module}
    for sym in table.symbols:
        if sym.kind in kinds:
            items.append(lsp.CompletionItem(
                sym.name, kind=kinds[sym.kind], detail=f"{sym.kind}: {sym.detail}"[:200],
                documentation=sym.doc))
    items += [lsp.CompletionItem(b.name, kind=lsp.CompletionItemKind.Function,
                                 detail=b.signature, documentation=b.doc)
              for b in an.builtin_specs()]
    items += [lsp.CompletionItem(k, kind=lsp.CompletionItemKind.Keyword) for k in an.KEYWORDS]
    return items


def _field_item(f: Any) -> lsp.CompletionItem:
    return lsp.CompletionItem(f.name, kind=lsp.CompletionItemKind.Field,
                              detail=str(f.type), documentation=f.doc)


def _scenario_items(server: TaRulesServer, path: str, text: str, line: int, before: str,
                    voc: Any) -> list[lsp.CompletionItem]:
    keys = an.key_path(text, line)
    if "reasons" in keys[-1:] or re.search(r"reasons\s*:\s*\[[^\]]*$", before):
        try:
            registry = server.registry(path)
        except Exception:
            return []
        seen: dict[str, Any] = {}
        for rs in registry.rulesets:
            for code, reason in rs.reasons.items():
                seen.setdefault(code, reason)
        return [lsp.CompletionItem(code, kind=lsp.CompletionItemKind.EnumMember,
                                   detail=r.kind, documentation=r.message)
                for code, r in sorted(seen.items())]
    facts = _facts_key_path(text, line)
    if facts is None or not an.in_key_position(before):
        return []
    # the line's own key (being typed) is not part of the path to the record
    own = re.match(r"\s*(?:-\s+)*([A-Za-z_][A-Za-z0-9_]*)\s*:", an.line_at(text, line) or "")
    if own and facts and facts[-1] == own[1]:
        facts = facts[:-1]
    return [_field_item(f) for f in an.fields_after(voc, facts)]


@dataclasses.dataclass(frozen=True)
class _Cursor:
    """The name under the cursor and what the document can name."""

    word: str
    range: lsp.Range
    parts: list[str]
    table: SymbolTable
    voc: Any
    scenario_fact: list[str] | None

    @classmethod
    def of(cls, server: TaRulesServer, path: str, text: str, kind: an.DocKind,
           pos: lsp.Position) -> _Cursor | None:
        found = an.word_at(text, pos)
        if found is None:
            return None
        word, rng = found
        table = server.table(path, text, kind)
        facts = _facts_key_path(text, pos.line) if kind == "scenarios" else None
        return cls(word, rng, word.split("."), table, server.vocabulary(path, kind, table),
                   facts if facts and facts[-1] == word else None)


def _hover_text(server: TaRulesServer, path: str, text: str, kind: an.DocKind,
                pos: lsp.Position) -> tuple[str, lsp.Range] | None:
    at = _Cursor.of(server, path, text, kind, pos)
    if at is None:
        return None
    word, rng, parts, table, voc = at.word, at.range, at.parts, at.table, at.voc
    if kind == "scenarios":
        if at.scenario_fact is not None:
            f = an.fact_at(voc, at.scenario_fact)
            return (an.fact_markdown(".".join(at.scenario_fact), f), rng) if f else None
        return _reason_hover(server, path, word, rng)
    if kind not in ("ruleset", "properties"):
        return None
    sym = table.find(parts[0])
    if sym is not None and len(parts) == 1:
        extra = an.translations(path if kind == "ruleset" else sym.location.source, table,
                                sym.name, str(sym.spec.get("message", ""))) \
            if sym.kind == "reason" else None
        return an.symbol_markdown(sym, extra), rng
    f = an.fact_at(voc, parts)
    if f is not None:
        return an.fact_markdown(word, f), rng
    spec = an.builtin_specs_by_name().get(parts[0]) if len(parts) == 1 else None
    if spec is not None:
        return f"**built-in function** `{spec.signature}`\n\n{spec.doc}", rng
    return None


def _reason_hover(server: TaRulesServer, path: str, word: str,
                  rng: lsp.Range) -> tuple[str, lsp.Range] | None:
    if not _CODE.fullmatch(word):
        return None
    found = an.find_reason(path, word, server.texts())
    if found is None:
        return None
    sym, text = found
    table = ruleset_symbols(text, sym.location.source)
    extra = an.translations(sym.location.source, table, word, str(sym.spec.get("message", "")))
    return an.symbol_markdown(sym, extra), rng


def _definition(server: TaRulesServer, path: str, text: str, kind: an.DocKind,
                pos: lsp.Position) -> lsp.Location | None:
    at = _Cursor.of(server, path, text, kind, pos)
    if at is None:
        return None
    word, parts, table, voc = at.word, at.parts, at.table, at.voc
    if kind == "scenarios":
        if at.scenario_fact is not None:
            f = an.fact_at(voc, at.scenario_fact)
            return an.loc_to_lsp(f.location) if f and f.location else None
        reason = an.find_reason(path, word, server.texts()) if _CODE.fullmatch(word) else None
        return an.loc_to_lsp(reason[0].location, reason[1]) if reason else None
    sym = table.find(parts[0]) if len(parts) == 1 else None
    if sym is not None:
        return an.loc_to_lsp(sym.location, text if sym.location.source == path else None)
    f = an.fact_at(voc, parts)
    if f is not None and f.location is not None:
        return an.loc_to_lsp(f.location)
    return None


def _code_lenses(server: TaRulesServer, uri: str, path: str,
                 text: str) -> list[lsp.CodeLens]:
    from ta_rules.testing.scenarios import load_scenarios_text

    scenarios, _ = load_scenarios_text(text, path)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    out = []
    for i, s in enumerate(scenarios):
        result = server.results.get((uri, i, digest))
        title = "▶ run scenario" if result is None else \
            ("✓ passed" if result[0] else "✗ failed: " + result[1]) + " (run again)"
        line = max(s.line - 1, 0)
        out.append(lsp.CodeLens(
            range=lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)),
            command=lsp.Command(title[:300], RUN_SCENARIO, arguments=[uri, i])))
    return out


def _run_scenario(server: TaRulesServer, uri: str, index: int) -> dict[str, Any]:
    from ta_rules.testing.scenarios import load_scenarios_text, run_scenario

    found = server.document(uri)
    if found is None or found[2] != "scenarios":
        return {"error": f"not an open scenario file: {uri}"}
    path, text, _ = found
    scenarios, problems = load_scenarios_text(text, path)
    if not 0 <= index < len(scenarios):
        return {"error": f"no scenario number {index} in {path}"
                + (f" ({problems[0].message})" if problems else "")}
    s = scenarios[index]
    result = run_scenario(s, registry=server.registry(path))
    failures = [*result.differences, *([result.error] if result.error else [])]
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    server.results[(uri, index, digest)] = (result.passed, "; ".join(failures))
    return {"name": s.name, "line": s.line, "passed": result.passed,
            "outcome": result.verdict.outcome if result.verdict else None,
            "differences": list(result.differences), "error": result.error}


def _params_ok(doc: Any) -> tuple[str, str, an.DocKind] | None:
    return doc if doc is not None and len(doc[1]) <= an.MAX_TEXT else None


def build_server() -> TaRulesServer:
    """A server with every feature registered."""
    server = TaRulesServer()
    _register_documents(server)
    _register_requests(server)
    return server


def _register_documents(server: TaRulesServer) -> None:
    @server.feature(lsp.INITIALIZED)
    def initialized(ls: TaRulesServer, params: lsp.InitializedParams) -> None:
        an.set_position_encoding(str(ls.workspace.position_encoding or "utf-16"))

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: TaRulesServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: TaRulesServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.dirty.add(params.text_document.uri)
        ls.schedule(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: TaRulesServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.dirty.discard(params.text_document.uri)
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: TaRulesServer, params: lsp.DidCloseTextDocumentParams) -> None:
        ls.dirty.discard(params.text_document.uri)
        pending = ls.pending.pop(params.text_document.uri, None)
        if pending is not None:
            pending.cancel()



def _register_requests(server: TaRulesServer) -> None:
    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=[".", "[", " "]))
    @_guarded
    def completion(ls: TaRulesServer,
                   params: lsp.CompletionParams) -> lsp.CompletionList | None:
        doc = _params_ok(ls.document(params.text_document.uri))
        if doc is None:
            return None
        items = _completion_items(ls, doc[0], doc[1], doc[2], params.position)
        return lsp.CompletionList(is_incomplete=False, items=items)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @_guarded
    def hover(ls: TaRulesServer, params: lsp.HoverParams) -> lsp.Hover | None:
        doc = _params_ok(ls.document(params.text_document.uri))
        found = _hover_text(ls, *doc, params.position) if doc else None
        if found is None:
            return None
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, found[0]), found[1])

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    @_guarded
    def definition(ls: TaRulesServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        doc = _params_ok(ls.document(params.text_document.uri))
        return _definition(ls, *doc, params.position) if doc else None

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    @_guarded
    def references(ls: TaRulesServer,
                   params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        doc = _params_ok(ls.document(params.text_document.uri))
        found = an.word_at(doc[1], params.position) if doc else None
        if doc is None or found is None or not _CODE.fullmatch(found[0]):
            return None
        return an.references(doc[0], found[0], ls.texts(),
                             params.context.include_declaration)

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
    @_guarded
    def code_lens(ls: TaRulesServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens] | None:
        doc = _params_ok(ls.document(params.text_document.uri))
        if doc is None or doc[2] != "scenarios":
            return None
        return _code_lenses(ls, params.text_document.uri, doc[0], doc[1])

    @server.command(RUN_SCENARIO)
    async def run_scenario(ls: TaRulesServer, *args: Any) -> dict[str, Any]:
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], int):
            return {"error": f"{RUN_SCENARIO} takes [uri, scenario index]"}
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(ls.runner, _run_scenario, ls, args[0],
                                                args[1])
        except Exception as exc:
            log.warning("running a scenario failed: %s", _one_line(exc))
            return {"error": f"{type(exc).__name__}: {exc}"}
        if "passed" in result:
            verdict = "passed" if result["passed"] else "failed: " + "; ".join(
                [*result["differences"], *([result["error"]] if result["error"] else [])])
            ls.window_show_message(lsp.ShowMessageParams(
                lsp.MessageType.Info if result["passed"] else lsp.MessageType.Warning,
                f"{result['name']}: {verdict}"[:2000]))
            caps = ls.client_capabilities.workspace
            if caps and caps.code_lens and caps.code_lens.refresh_support:
                ls.workspace_code_lens_refresh(None)
        return result
