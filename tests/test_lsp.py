"""``ta-rules lsp`` driven over stdio by a client speaking raw JSON-RPC with lsprotocol types.

The server is started as a real subprocess (``python -m ta_rules lsp``); every answer is
compared with what the library gives for the same file (``check``'s diagnostics) or with
what the files themselves say (the line a parameter is declared on, the vocabulary's
fields), never with the server's own output.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")
from lsprotocol import converters
from lsprotocol import types as lsp

from ta_rules.rulesets._yaml import load_yaml
from ta_rules.tools.check import check_paths

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad_rules"
RULES = ROOT / "ta_rules" / "rules"
RULE_FILE = RULES / "trade-assurance-2015.1.yaml"
VOCABULARY = RULES / "trade-assurance.vocabulary.yaml"
SCENARIOS = ROOT / "examples" / "scenarios"
TIMEOUT = 60.0
CONVERTER = converters.get_converter()


class Client:
    """A language client over the server's stdin and stdout (Content-Length framed)."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ta_rules", "lsp"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.next_id = 0
        self.responses: dict[int, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.errors: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.put(line.decode("utf-8", "replace"))

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(out.read(length))
            if "id" in message and "method" in message:  # a request from the server
                self.write({"jsonrpc": "2.0", "id": message["id"], "result": None})
                continue
            with self.cond:
                if "id" in message:
                    self.responses[message["id"]] = message
                else:
                    self.notifications.append(message)
                self.cond.notify_all()

    def write_raw(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def write(self, message: dict[str, Any]) -> None:
        self.write_raw(json.dumps(message).encode())

    def request_raw(self, method: str, params: Any) -> dict[str, Any]:
        self.next_id += 1
        rid = self.next_id
        self.write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        with self.cond:
            assert self.cond.wait_for(lambda: rid in self.responses, TIMEOUT), method
            return self.responses.pop(rid)

    def request(self, method: str, params: Any) -> Any:
        reply = self.request_raw(method, CONVERTER.unstructure(params))
        assert "error" not in reply, reply
        return reply["result"]

    def notify(self, method: str, params: Any) -> None:
        self.write({"jsonrpc": "2.0", "method": method,
                    "params": CONVERTER.unstructure(params)})

    def initialize(self, root: Path) -> None:
        caps = lsp.ClientCapabilities(workspace=lsp.WorkspaceClientCapabilities(
            code_lens=lsp.CodeLensWorkspaceClientCapabilities(refresh_support=True)))
        self.request("initialize", lsp.InitializeParams(
            capabilities=caps, process_id=os.getpid(), root_uri=root.as_uri()))
        self.notify("initialized", lsp.InitializedParams())

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        if text is None:
            text = path.read_bytes().decode("utf-8", "replace")
        self.notify("textDocument/didOpen", lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri, "yaml", 1, text)))
        return uri

    def change(self, uri: str, version: int, text: str) -> None:
        self.notify("textDocument/didChange", lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version, uri),
            [lsp.TextDocumentContentChangeWholeDocument(text)]))

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", lsp.DidCloseTextDocumentParams(
            lsp.TextDocumentIdentifier(uri)))

    def diagnostics(self, uri: str, *, after: int = 0,
                    version: int | None = None) -> tuple[list[lsp.Diagnostic], int]:
        """The first diagnostics published for ``uri`` after notification number ``after``."""
        def found() -> tuple[list[lsp.Diagnostic], int] | None:
            for i, n in enumerate(self.notifications[after:], start=after):
                p = n.get("params", {})
                if n.get("method") == "textDocument/publishDiagnostics" and p["uri"] == uri \
                        and (version is None or p.get("version") == version):
                    return [CONVERTER.structure(d, lsp.Diagnostic)
                            for d in p["diagnostics"]], i + 1
            return None

        with self.cond:
            assert self.cond.wait_for(lambda: found() is not None, TIMEOUT), uri
            result = found()
            assert result is not None
            return result

    def mark(self) -> int:
        with self.cond:
            return len(self.notifications)

    def stop(self) -> None:
        try:
            self.request_raw("shutdown", None)
            self.write({"jsonrpc": "2.0", "method": "exit"})
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, AssertionError):
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def client() -> Any:
    c = Client(ROOT)
    c.initialize(ROOT)
    yield c
    c.stop()


def doc_position(path: Path, pattern: str, offset: int = 0) -> lsp.Position:
    """The position of the first match of ``pattern`` in a file (plus ``offset`` chars)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(pattern, text, re.M)
    assert m, pattern
    start = m.start() + offset
    line = text.count("\n", 0, start)
    return lsp.Position(line, start - (text.rfind("\n", 0, start) + 1))


def key_line(path: Path, pattern: str) -> int:
    return doc_position(path, pattern).line


def as_published(d: Any) -> tuple[str, int, int, str]:
    """A library diagnostic as the protocol places it (0-based; 0 stays 0 when unknown)."""
    loc = d.location
    return d.code, max(loc.line - 1, 0), max(loc.column - 1, 0), d.severity


def published(diags: list[lsp.Diagnostic]) -> list[tuple[str, int, int, str]]:
    sev = {lsp.DiagnosticSeverity.Error: "error", lsp.DiagnosticSeverity.Warning: "warning"}
    return sorted((str(d.code), d.range.start.line, d.range.start.character,
                   sev[d.severity]) for d in diags if d.severity is not None)


# --- diagnostics ---------------------------------------------------------------------------


def single_cases() -> list[Path]:
    # check.* (rules that can never matter) are asked of the solver by ta-rules check
    # only, not on every re-check of an editor
    return sorted(p for p in BAD.iterdir() if p.suffix == ".yaml"
                  and not p.name.startswith("check."))


def folder_cases() -> list[Path]:
    return sorted(p for p in BAD.iterdir() if p.is_dir())


@pytest.mark.parametrize("path", single_cases(), ids=lambda p: p.stem)
def test_each_bad_rule_file_is_published_as_check_reports_it(client: Client,
                                                           path: Path) -> None:
    expected, _, _ = check_paths([path])
    mark = client.mark()
    uri = client.open(path)
    diags, _ = client.diagnostics(uri, after=mark)
    client.close(uri)
    assert published(diags) == sorted(as_published(d) for d in expected)
    for d in diags:
        assert d.source == "ta-rules" and d.message
    header = re.match(r"# expect: (\S+) (\d+):(\d+)(?! max_bytes)", path.read_text(
        encoding="utf-8", errors="replace"))
    if header and "max_bytes" not in path.read_text(encoding="utf-8", errors="replace")[:200]:
        code, line, col = header[1], int(header[2]), int(header[3])
        assert (code, line - 1, col - 1) in [(c, ln, ch) for c, ln, ch, _ in published(diags)]


@pytest.mark.parametrize("folder", folder_cases(), ids=lambda p: p.name)
def test_each_bad_rules_folder_is_published_as_check_reports_it(tmp_path: Path,
                                                               folder: Path) -> None:
    """A project whose rules folder breaks across files: every file gets check's findings."""
    project = tmp_path / folder.name
    shutil.copytree(folder, project)
    config = project / "ta-rules.toml"
    config.write_text('rules = "."\n' + (config.read_text() if config.exists() else ""))
    expected, _, _ = check_paths([str(project)])
    code, where = (folder / "EXPECT").read_text().split()
    name, line, col = where.rsplit(":", 2)
    opened = project / name if name.endswith(".yaml") else project / "mini.yaml"
    c = Client(project)
    try:
        c.initialize(project)
        c.open(opened)
        by_file: dict[str, list[tuple[str, int, int, str]]] = {}
        for f in {d.location.source for d in expected}:
            diags, _ = c.diagnostics(Path(f).as_uri())
            by_file[f] = published(diags)
    finally:
        c.stop()
    for f, got in by_file.items():
        assert got == sorted(as_published(d) for d in expected if d.location.source == f)
    target = str(project / name)
    assert (code, max(int(line) - 1, 0), max(int(col) - 1, 0)) in [
        (c_, ln, ch) for c_, ln, ch, _ in by_file[target]]


def test_a_change_inside_an_expression_is_published_at_its_column(client: Client,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    good = (ROOT / "tests" / "data" / "minimal.yaml").read_text(encoding="utf-8")
    path.write_text(good, encoding="utf-8")
    mark = client.mark()
    uri = client.open(path)
    diags, _ = client.diagnostics(uri, after=mark)
    assert [d for d in diags if d.severity == lsp.DiagnosticSeverity.Error] == []
    m = re.search(r"when: .*contract\.(\w+)", good)
    assert m, "minimal.yaml has a condition on a contract fact"
    bad = good[:m.start(1)] + "ship_dat" + good[m.end(1):]
    # several quick changes: the last one is what gets published
    mark = client.mark()
    for version, text in ((2, good + "\n"), (3, bad)):
        client.change(uri, version, text)
    diags, _ = client.diagnostics(uri, after=mark, version=3)
    path.write_text(bad, encoding="utf-8")
    expected, _, _ = check_paths([path])
    assert published(diags) == sorted(as_published(d) for d in expected)
    assert "compile.unknown-fact" in [d.code for d in diags]
    hinted = [d for d in diags if d.code == "compile.unknown-fact"]
    assert all("\nhint: " in d.message for d in hinted if expected[0].hint)
    client.close(uri)


# --- completion, hover, definition, references ---------------------------------------------


def vocabulary_records() -> dict[str, Any]:
    doc, problems = load_yaml(VOCABULARY.read_text(encoding="utf-8"), str(VOCABULARY))
    assert doc is not None and not problems
    records: dict[str, Any] = doc.data["records"]
    return records


@pytest.fixture(scope="module")
def rule_uri(client: Client) -> str:
    return client.open(RULE_FILE)


def complete(client: Client, uri: str, pos: lsp.Position) -> list[lsp.CompletionItem]:
    result = client.request("textDocument/completion", lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri), pos))
    return CONVERTER.structure(result, lsp.CompletionList).items


def test_completion_after_contract_offers_the_contract_fields(client: Client,
                                                             rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"when: contract\.category", len("when: contract."))
    items = complete(client, rule_uri, pos)
    contract = vocabulary_records()["contract"]["fields"]
    assert sorted(i.label for i in items) == sorted(contract)
    by_label = {i.label: i for i in items}
    assert by_label["order_amount"].detail == "money[contract]"
    assert by_label["order_amount"].documentation == "The Trade Assurance Order Amount."


def test_completion_of_a_name_offers_facts_parameters_values_functions_reasons_groups(
        client: Client, rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"when: contract\.category", len("when: "))
    labels = {i.label for i in complete(client, rule_uri, pos)}
    facts = vocabulary_records()["facts"]["fields"]
    assert set(facts) <= labels
    assert {"min_order_amount_usd", "basis_amount", "in_usd", "BELOW_MINIMUM_ORDER_AMOUNT",
            "gates", "count", "money", "business_days_between"} <= labels


def hover(client: Client, uri: str, pos: lsp.Position) -> str:
    result = client.request("textDocument/hover", lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri), pos))
    assert result is not None
    value: str = CONVERTER.structure(result, lsp.Hover).contents.value  # type: ignore[union-attr]
    return value


def definition(client: Client, uri: str, pos: lsp.Position) -> lsp.Location:
    result = client.request("textDocument/definition", lsp.DefinitionParams(
        lsp.TextDocumentIdentifier(uri), pos))
    assert result is not None
    return CONVERTER.structure(result, lsp.Location)


def test_hover_and_definition_of_a_fact(client: Client, rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"order_usd: in_usd\(contract\.order_amount",
                       len("order_usd: in_usd(contract.or"))
    text = hover(client, rule_uri, pos)
    assert "contract.order_amount" in text and "money[contract]" in text
    assert "The Trade Assurance Order Amount." in text
    loc = definition(client, rule_uri, pos)
    assert Path(loc.uri.removeprefix("file://")).resolve() == VOCABULARY.resolve()
    assert loc.range.start.line == key_line(VOCABULARY, r"^      order_amount:")


def test_hover_and_definition_of_a_parameter(client: Client, rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"min_order_amount_usd\b(?!:)", 3)
    text = hover(client, rule_uri, pos)
    assert "money[USD]" in text and "1000.00" in text
    assert "Minimum order amount in USD, inclusive." in text
    loc = definition(client, rule_uri, pos)
    assert loc.uri == rule_uri
    assert loc.range.start.line == key_line(RULE_FILE, r"^  min_order_amount_usd:")


def test_hover_and_definition_of_a_reason_with_its_translations(client: Client,
                                                               rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"reasons: \[BELOW_MINIMUM_ORDER_AMOUNT", len("reasons: [B"))
    text = hover(client, rule_uri, pos)
    assert "denial" in text
    assert "The order amount of {amount} is below the minimum of {minimum}." in text
    po = (ROOT / "ta_rules" / "locales" / "es" / "LC_MESSAGES" / "ta_rules.po").read_text(
        encoding="utf-8")
    m = re.search(r'msgctxt "BELOW_MINIMUM_ORDER_AMOUNT"\nmsgid ".*"\nmsgstr "(.*)"', po)
    assert m, "the es catalog translates the reason"
    assert f"es: {m[1]}" in text
    loc = definition(client, rule_uri, pos)
    assert loc.range.start.line == key_line(RULE_FILE, r"^  BELOW_MINIMUM_ORDER_AMOUNT:")


def test_hover_and_definition_of_a_value(client: Client, rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"in_usd\(basis_amount\)", len("in_usd(ba"))
    text = hover(client, rule_uri, pos)
    assert "**value** `basis_amount`" in text and "contract.total_value" in text
    loc = definition(client, rule_uri, pos)
    assert loc.range.start.line == key_line(RULE_FILE, r"^  basis_amount:")


def test_references_of_a_reason_code_span_rules_and_scenarios(client: Client,
                                                              rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"^  LATE_SHIPMENT:", 4)
    result = client.request("textDocument/references", lsp.ReferenceParams(
        context=lsp.ReferenceContext(include_declaration=True),
        text_document=lsp.TextDocumentIdentifier(rule_uri), position=pos))
    locations = [CONVERTER.structure(r, lsp.Location) for r in result]
    files = {Path(loc.uri.removeprefix("file://")).resolve() for loc in locations}
    assert RULE_FILE.resolve() in files
    assert any(f.is_relative_to(SCENARIOS.resolve()) for f in files)
    for loc in locations:  # each place holds the code as a word of its own
        lines = Path(loc.uri.removeprefix("file://")).read_text(encoding="utf-8").splitlines()
        line = lines[loc.range.start.line]
        assert line[loc.range.start.character:loc.range.end.character] == "LATE_SHIPMENT"
    expected = sum(len(re.findall(r"(?<![\w.])LATE_SHIPMENT(?!\w)", p.read_text(
        encoding="utf-8"))) for p in [*RULES.glob("*.yaml"), *SCENARIOS.rglob("*.yaml")]
        if "LATE_SHIPMENT" in p.read_text(encoding="utf-8"))
    comments = sum(len(re.findall(r"#.*(?<![\w.])LATE_SHIPMENT(?!\w)", p.read_text(
        encoding="utf-8"))) for p in [*RULES.glob("*.yaml"), *SCENARIOS.rglob("*.yaml")])
    assert len(locations) == expected - comments


# --- scenarios -----------------------------------------------------------------------------


def test_scenario_completion_offers_fact_keys_and_reason_codes(client: Client,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = ("scenarios:\n  - name: x\n    facts:\n      contract:\n        \n"
            "    expect:\n      outcome: covered\n      reasons: [\n")
    path.write_text(text, encoding="utf-8")
    uri = client.open(path)
    keys = {i.label for i in complete(client, uri, lsp.Position(4, 8))}
    assert keys == set(vocabulary_records()["contract"]["fields"])
    codes = {i.label for i in complete(client, uri, lsp.Position(7, 16))}
    doc, _ = load_yaml(RULE_FILE.read_text(encoding="utf-8"), str(RULE_FILE))
    assert doc is not None
    declared = doc.data["reasons"]
    assert set(declared) <= codes
    client.close(uri)


def test_code_lens_runs_a_scenario_and_shows_pass_or_fail(client: Client,
                                                         tmp_path: Path) -> None:
    source = SCENARIOS / "late_shipment.yaml"
    path = tmp_path / "late_shipment.yaml"
    shutil.copy(source, path)
    uri = client.open(path)
    lenses = [CONVERTER.structure(c, lsp.CodeLens) for c in client.request(
        "textDocument/codeLens", lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri)))]
    names = re.findall(r"^  - name: ", source.read_text(encoding="utf-8"), re.M)
    assert len(lenses) == len(names)
    first = lenses[0]
    assert first.command is not None and list(first.command.arguments or ()) == [uri, 0]
    assert first.range.start.line == key_line(source, r"^  - name: ")
    result = client.request("workspace/executeCommand", lsp.ExecuteCommandParams(
        first.command.command, [uri, 0]))
    assert result["passed"] is True, result
    lenses = client.request("textDocument/codeLens",
                            lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri)))
    assert lenses[0]["command"]["title"].startswith("✓ passed")
    # the same scenario expecting another outcome fails, and says why
    text = path.read_text(encoding="utf-8")
    first_outcome = re.search(r"outcome: (\w+)", text)
    assert first_outcome
    other = "denied" if first_outcome[1] != "denied" else "covered"
    client.change(uri, 2, text[:first_outcome.start(1)] + other + text[first_outcome.end(1):])
    result = client.request("workspace/executeCommand", lsp.ExecuteCommandParams(
        first.command.command, [uri, 0]))
    assert result["passed"] is False
    assert f"outcome: expected {other}, got {first_outcome[1]}" in result["differences"]
    lenses = client.request("textDocument/codeLens",
                            lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri)))
    assert lenses[0]["command"]["title"].startswith("✗ failed: outcome: expected")
    client.close(uri)


# --- hostile input -------------------------------------------------------------------------


def test_bad_editor_input_gets_an_error_or_nothing_and_the_server_goes_on(
        tmp_path: Path) -> None:
    c = Client(tmp_path)
    try:
        c.initialize(tmp_path)
        good = tmp_path / "mini.yaml"
        shutil.copy(ROOT / "tests" / "data" / "minimal.yaml", good)
        good_uri = c.open(good)
        c.diagnostics(good_uri)
        probe = doc_position(good, r"when: usd_amount", len("when: us"))

        # not JSON, JSON that is no message, a notification nobody knows
        for body in (b"{not json", b"[1, 2]", b'"text"', b"null", b"\xff\xfe",
                     b'{"jsonrpc": "2.0", "method": "no/such/notification"}'):
            c.write_raw(body)
        # a request for a method that does not exist: an error, not silence
        reply = c.request_raw("no/such/method", {})
        assert reply["error"]["code"] == -32601
        # parameters of the wrong shape: an error response
        reply = c.request_raw("textDocument/hover", {"textDocument": 5, "position": "x"})
        assert "error" in reply
        reply = c.request_raw("textDocument/hover", {"textDocument": {"uri": good_uri},
                                                     "position": {"line": -1,
                                                                  "character": -5}})
        assert "error" in reply or reply["result"] is None

        def hover_at(uri: str, line: int, character: int) -> Any:
            return c.request("textDocument/hover", lsp.HoverParams(
                lsp.TextDocumentIdentifier(uri), lsp.Position(line, character)))

        # unknown documents and URIs that are no files: nothing
        assert hover_at((tmp_path / "never-opened.yaml").as_uri(), 0, 0) is None
        for uri in ("untitled:Untitled-1", "http://example.invalid/x.yaml", "file://host/x",
                    "file:///%00/x.yaml", "::::"):
            c.notify("textDocument/didOpen", lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri, "yaml", 1, "ruleset: x\n")))
            assert hover_at(uri, 0, 1) is None
            c.change(uri, 2, "ruleset: y\n")
        # positions beyond the document
        assert hover_at(good_uri, 10**6, 0) is None
        # (a column past the end of a line means its end, says the protocol)
        end = len(good.read_text(encoding="utf-8").splitlines()[probe.line])
        assert hover_at(good_uri, probe.line, 10**6) == hover_at(good_uri, probe.line, end)
        beyond = c.request("textDocument/completion", lsp.CompletionParams(
            lsp.TextDocumentIdentifier(good_uri), lsp.Position(10**6, 3)))
        assert beyond is None or beyond["items"] == []
        assert c.request("textDocument/definition", lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(good_uri), lsp.Position(10**6, 10**6))) is None
        # an edit whose range lies outside the document
        c.notify("textDocument/didChange", lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(2, good_uri),
            [lsp.TextDocumentContentChangePartial(
                lsp.Range(lsp.Position(10**6, 0), lsp.Position(10**6 + 5, 3)), "x")]))
        # a change to a document never opened
        c.change((tmp_path / "ghost.yaml").as_uri(), 7, "ruleset: ghost\n")
        # commands with bad arguments, and a command that does not exist
        reply = c.request_raw("workspace/executeCommand",
                              {"command": "ta-rules.runScenario", "arguments": ["x"]})
        assert "error" in reply or "error" in reply["result"]
        reply = c.request_raw("workspace/executeCommand",
                              {"command": "ta-rules.runScenario",
                               "arguments": [good_uri, 10**9]})
        assert "error" in reply or "error" in reply["result"]
        reply = c.request_raw("workspace/executeCommand", {"command": "no.such"})
        assert "error" in reply

        # malformed documents: YAML that does not parse, NUL bytes, a huge file
        broken = tmp_path / "broken.yaml"
        broken.write_text("ruleset: [unclosed\n  when: : :\n", encoding="utf-8")
        uri = c.open(broken)
        diags, _ = c.diagnostics(uri)
        assert [d.code for d in diags] == [d.code for d in check_paths([broken])[0]]
        assert diags and str(diags[0].code).startswith("yaml.")
        mark = c.mark()
        c.change(uri, 2, "ruleset: x\x00\x01\ufffe\n\t- : [\n" * 3)
        diags, _ = c.diagnostics(uri, after=mark, version=2)
        assert diags and all(str(d.code).startswith(("yaml.", "schema.")) for d in diags)
        assert hover_at(uri, 0, 2) is None
        huge = "ruleset: x\n" + "# filler line to make the file large\n" * 80_000
        mark = c.mark()
        started = time.monotonic()
        c.change(uri, 3, huge)
        diags, _ = c.diagnostics(uri, after=mark, version=3)
        assert [d.code for d in diags] == ["yaml.too-large"]
        assert time.monotonic() - started < TIMEOUT
        assert hover_at(uri, 1, 3) is None

        # after all of it: still alive, still right
        assert c.proc.poll() is None
        text = c.request("textDocument/hover", lsp.HoverParams(
            lsp.TextDocumentIdentifier(good_uri), probe))
        assert text is not None, "".join(c.errors.get() for _ in range(c.errors.qsize()))
        assert "usd_amount" in text["contents"]["value"]
    finally:
        c.stop()


def test_after_a_group_name_completion_offers_the_reason_kinds(client: Client,
                                                              rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"empty\(gates\.denial\)", len("empty(gates."))
    assert {i.label for i in complete(client, rule_uri, pos)} == {
        "basis", "cap", "denial", "pending", "closed"}


def test_a_reason_code_in_a_scenario_hovers_and_goes_to_its_rule_file(client: Client) -> None:
    source = SCENARIOS / "late_shipment.yaml"
    uri = client.open(source)
    pos = doc_position(source, r"reasons: \[LATE_SHIPMENT", len("reasons: [LA"))
    assert "**reason** `LATE_SHIPMENT` (basis)" in hover(client, uri, pos)
    loc = definition(client, uri, pos)
    declared = Path(loc.uri.removeprefix("file://"))
    assert re.match(r"  LATE_SHIPMENT:", declared.read_text(
        encoding="utf-8").splitlines()[loc.range.start.line])
    # a fact key under facts: hovers with its type and goes to the vocabulary
    pos = doc_position(source, r"^        ship_by:", 9)
    assert "`contract.ship_by`" in hover(client, uri, pos)
    loc = definition(client, uri, pos)
    assert loc.range.start.line == key_line(VOCABULARY, r"^      ship_by:")
    client.close(uri)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_columns_are_counted_in_the_unit_agreed_with_the_client(tmp_path: Path,
                                                                encoding: str) -> None:
    """An astral character before the mistake: 1 code point, 2 UTF-16 units, 4 UTF-8 bytes."""
    good = (ROOT / "tests" / "data" / "minimal.yaml").read_text(encoding="utf-8")
    bad = good.replace("when: usd_amount < minimum",
                       'when: contract.category == "😀é" or contract.ship_dat is null', 1)
    assert bad != good
    path = tmp_path / "mini.yaml"
    path.write_text(bad, encoding="utf-8")
    (unknown,) = [d for d in check_paths([path])[0] if d.code == "compile.unknown-fact"]
    line = bad.splitlines()[unknown.location.line - 1]
    prefix = line[:unknown.location.column - 1]
    assert "😀" in prefix
    width = {"utf-16": len(prefix.encode("utf-16-le")) // 2,
             "utf-8": len(prefix.encode("utf-8")), "utf-32": len(prefix)}[encoding]
    c = Client(tmp_path)
    try:
        caps = lsp.ClientCapabilities(general=lsp.GeneralClientCapabilities(
            position_encodings=[encoding]))
        reply = c.request("initialize", lsp.InitializeParams(
            capabilities=caps, process_id=None, root_uri=tmp_path.as_uri()))
        assert reply["capabilities"]["positionEncoding"] == encoding
        c.notify("initialized", lsp.InitializedParams())
        uri = c.open(path)
        diags, _ = c.diagnostics(uri)
        (found,) = [d for d in diags if d.code == "compile.unknown-fact"]
        assert (found.range.start.line, found.range.start.character) == (
            unknown.location.line - 1, width)
        # and a position sent by the client in that unit finds the name written there
        at = line.index(" or contract.") + len(" or contract.")  # after the emoji
        column = {"utf-16": len(line[:at].encode("utf-16-le")) // 2,
                  "utf-8": len(line[:at].encode("utf-8")), "utf-32": at}[encoding]
        items = complete(c, uri, lsp.Position(unknown.location.line - 1, column))
        assert {i.label for i in items} == set(vocabulary_records()["contract"]["fields"])
        at = line.index("contract.category") + len("contract.ca")  # ASCII before it: same
        text = c.request("textDocument/hover", lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), lsp.Position(unknown.location.line - 1, at)))
        assert "`contract.category`" in text["contents"]["value"]
    finally:
        c.stop()


def test_an_extended_vocabulary_serves_rule_and_properties_files(tmp_path: Path) -> None:
    """A project whose rules folder extends the vocabulary: its new fact is offered,
    described and found, in a rule file and in a properties file beside it."""
    project = tmp_path / "extending"
    shutil.copytree(ROOT / "examples" / "extending", project)
    rules = project / "rules"
    vocabulary = rules / "counterfeit.vocabulary.yaml"
    (rules / "properties").mkdir()
    props = rules / "properties" / "counterfeit-cover.yaml"
    props.write_text("ruleset: counterfeit-cover\nproperties:\n  - id: p\n"
                     "    expect: shipment.counterfeit_confirmed or true\n", encoding="utf-8")
    c = Client(project)
    try:
        c.initialize(project)
        for path in (next(rules.glob("counterfeit-cover-*.yaml")), props):
            uri = c.open(path)
            pos = doc_position(path, r"shipment\.counterfeit_confirmed", len("shipment."))
            labels = {i.label for i in complete(c, uri, pos)}
            assert "counterfeit_confirmed" in labels and "shipped_on" in labels
            pos = doc_position(path, r"shipment\.counterfeit_confirmed", len("shipment.co"))
            assert "brand owner confirmed" in hover(c, uri, pos)
            loc = definition(c, uri, pos)
            assert Path(loc.uri.removeprefix("file://")) == vocabulary
            assert loc.range.start.line == key_line(vocabulary, r"^      counterfeit_confirmed:")
    finally:
        c.stop()


def test_a_new_file_not_yet_saved_is_checked_from_its_text(client: Client,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    text = (ROOT / "tests" / "data" / "minimal.yaml").read_text(encoding="utf-8")
    bad = text.replace("when: usd_amount < minimum", "when: usd_amount < minimun", 1)
    mark = client.mark()
    uri = client.open(path, bad)
    diags, _ = client.diagnostics(uri, after=mark)
    path.write_text(bad, encoding="utf-8")  # what check says of the same text on disk
    expected, _, _ = check_paths([path])
    assert published(diags) == sorted(as_published(d) for d in expected)
    assert "compile.unknown-name" in {d.code for d in diags}
    client.close(uri)


def test_hover_and_definition_of_a_function(client: Client, rule_uri: str) -> None:
    pos = doc_position(RULE_FILE, r"order_usd: in_usd\(", len("order_usd: in_"))
    text = hover(client, rule_uri, pos)
    assert "**function** `in_usd(m: money)`" in text
    assert "An amount of the contract currency in USD" in text
    loc = definition(client, rule_uri, pos)
    assert loc.range.start.line == key_line(RULE_FILE, r"^  in_usd:")


def test_a_properties_buffer_is_resolved_against_the_versions_beside_it(
        tmp_path: Path) -> None:
    """A type error in a property is shown where it is, from the editor's unsaved text."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "ta_rules" / "rules", rules)
    props = rules / "properties" / "trade-assurance.yaml"
    c = Client(tmp_path)
    try:
        c.initialize(tmp_path)
        mark = c.mark()
        uri = c.open(props, "ruleset: trade-assurance\nproperties:\n  - id: lots\n"
                            "    expect: max_refund <= \"lots\"\n")
        diags, _ = c.diagnostics(uri, after=mark)
        assert published(diags) == [("compile.type-mismatch", 3, 23, "error")]
        assert "cannot compare money" in diags[0].message
    finally:
        c.stop()
