"""How soon ``ta-rules lsp`` re-checks a 2,000-line rule file after a change.

A real client (pygls' ``LanguageClient``) starts ``ta-rules lsp`` as a subprocess, opens a
generated 2,000-line rule file (the bundled 2015.1 ruleset with a chain of derived values
that one gate reads), then changes one character of an expression at a time, alternating
a version that compiles with one that names an unknown fact. Each sample is the time from
sending ``didChange`` to receiving the ``publishDiagnostics`` of that version: the wait
before a check (the debounce), the check (what ``ta-rules check`` runs), and the transport.
The same check run in this process is timed too, for comparison. Target: the median
within 300 ms.

    .venv/bin/pip install -e '.[lsp]'
    .venv/bin/python bench/lsp.py            # 21 changes
    .venv/bin/python bench/lsp.py --changes 41 --lines 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "ta_rules" / "rules" / "trade-assurance-2015.1.yaml"
TARGET_MS = 300


def rule_file(lines: int) -> str:
    """The 2015.1 ruleset grown to ``lines`` lines by a chain of values a gate reads."""
    base = BASE.read_text(encoding="utf-8")
    values, gate = [], ""
    count = max(1, (lines - base.count("\n") - 6) // 5)
    for i in range(count):
        prev = "contract.order_amount" if i == 0 else f"bench_{i - 1}"
        values.append(
            f"  bench_{i}: >\n"
            f"    if contract.order_amount > money({i}, contract.order_amount.currency)\n"
            f"    then min({prev}, contract.order_amount)\n"
            f"    else {prev}\n"
            f"  # derived value {i} of the benchmark chain\n")
    text = base.replace("\nvalues:\n", "\nvalues:\n" + "".join(values), 1)
    gate = ("      - id: gate.bench-chain\n"
            f"        when: bench_{count - 1} < zero\n"
            "        reasons: [NO_QUALIFYING_PAYMENT]\n")
    text = re.sub(r"(\n  gates:\n    mode: all\n(?:    doc: .*\n)?    rules:\n)",
                  lambda m: m[1] + gate, text, count=1)
    assert "gate.bench-chain" in text, "the gates group of the base file has moved"
    return text


async def measure(path: Path, text: str, changes: int) -> list[float]:
    client = LanguageClient("bench", "1")
    versions: dict[int, asyncio.Future[list[lsp.Diagnostic]]] = {}
    loop = asyncio.get_running_loop()

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: lsp.PublishDiagnosticsParams) -> None:
        future = versions.get(params.version or 0)
        if params.uri == uri and future is not None and not future.done():
            future.set_result(list(params.diagnostics))

    env_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    os.environ["PYTHONPATH"] = env_path
    await client.start_io(sys.executable, "-m", "ta_rules", "lsp")
    await client.initialize_async(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=path.parent.as_uri()))
    client.initialized(lsp.InitializedParams())
    uri = path.as_uri()
    versions[1] = loop.create_future()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri, "yaml", 1, text)))
    first = await asyncio.wait_for(versions[1], 120)
    assert not [d for d in first if d.severity == lsp.DiagnosticSeverity.Error], first
    good_line = "    then min(bench_0, contract.order_amount)"
    bad_line = "    then min(bench_0, contract.order_amount_)"
    samples = []
    for version in range(2, changes + 2):
        bad = version % 2 == 0
        new = text.replace(good_line, bad_line, 1) if bad else text
        versions[version] = loop.create_future()
        started = time.perf_counter()
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version, uri),
            [lsp.TextDocumentContentChangeWholeDocument(new)]))
        diags = await asyncio.wait_for(versions[version], 120)
        samples.append(time.perf_counter() - started)
        codes = {d.code for d in diags if d.severity == lsp.DiagnosticSeverity.Error}
        assert codes == ({"compile.unknown-fact"} if bad else set()), (version, codes)
        await asyncio.sleep(0.05)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return samples


def check_in_process(path: Path, text: str, rounds: int) -> list[float]:
    from ta_rules.tools.check import check_paths

    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        check_paths([path], texts={str(path): text})
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=21)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ta_rules.lsp._server import DEBOUNCE_SECONDS

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench-2000.yaml"
        text = rule_file(args.lines)
        path.write_text(text, encoding="utf-8")
        load_before = os.getloadavg()
        samples = asyncio.run(measure(path, text, args.changes))
        alone = check_in_process(path, text, 7)
        load_after = os.getloadavg()
    ms = sorted(s * 1000 for s in samples)
    median = statistics.median(ms)
    print(f"rule file: {text.count(chr(10))} lines, {len(text)} bytes; {len(ms)} changes")
    print(f"change -> diagnostics: median {median:.0f} ms, min {ms[0]:.0f}, "
          f"max {ms[-1]:.0f} (debounce {DEBOUNCE_SECONDS * 1000:.0f} ms included)")
    print(f"check alone, in process: median {statistics.median(alone) * 1000:.0f} ms")
    print("load average (1, 5, 15 min): before " +
          " ".join(f"{x:.2f}" for x in load_before) + ", after " +
          " ".join(f"{x:.2f}" for x in load_after) + f"; {os.cpu_count()} cores")
    verdict = "within" if median <= TARGET_MS else "OVER"
    print(f"{verdict} the {TARGET_MS} ms target")
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
