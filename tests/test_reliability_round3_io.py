"""Files, records, batches and impact: the shared readers, writer and worker supervision.

Each test holds a defect of issue 22 (its item number in the test's first comment): a file
read past its guards, a JSON Lines record read whole or read leniently, an output written
over an input, a worker's death reported as an internal error, a resumed run that differs
from an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main

from conftest import ROOT, base_facts, rules_text


def _line(grounds: list[str] | None = None, **claim: Any) -> str:
    facts = base_facts()
    if grounds is not None:
        facts["claim"]["grounds"] = grounds
    facts["claim"].update(claim)
    return json.dumps(facts)


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _impact_json(*argv: str) -> dict[str, Any]:
    code, out, err = _cli("impact", *argv, "--format", "json")
    assert code in (0, 1), err
    data: dict[str, Any] = json.loads(out)
    return data


class _Interrupt:
    """A report stream that interrupts the run at the first bad line it is told of."""

    def write(self, text: str) -> int:
        raise KeyboardInterrupt

    def flush(self) -> None:
        pass


# --- item 1: the summary of a resumed run is that of an uninterrupted one ---------------------


def test_a_resumed_run_counts_a_code_held_twice_once(tmp_path: Path) -> None:
    # item 1: two grounds denied for OTHER_DISPUTE_REASON give a verdict holding it twice
    from ta_rules.batch import run_batch_file

    lines = [_line(["other", "quantity_shortfall"]) for _ in range(450)]
    lines[300] = "{not json"  # the interruption comes at the report of this line
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    whole = tmp_path / "whole.jsonl"
    run_batch_file(str(src), str(whole), report=io.StringIO())
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_batch_file(str(src), str(out), report=_Interrupt())  # type: ignore[arg-type]
    assert not out.exists()
    run_batch_file(str(src), str(out), resume=True, report=io.StringIO())
    assert out.read_bytes() == whole.read_bytes()
    summary = json.loads(out.read_bytes().splitlines()[-1])["summary"]
    assert summary["reasons"] == {"OTHER_DISPUTE_REASON": 449}


# --- item 2: resuming from stdin verifies that the input is the same --------------------------


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_a_resumed_stdin_run_refuses_another_input(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # item 2: lines 1-N judged from one input must not be spliced with another input
    from ta_rules.batch import BatchError, run_batch_file

    first = [_line() for _ in range(450)]
    first[300] = "{not json"
    other = [_line(["other"]) for _ in range(450)]
    a = ("\n".join(first) + "\n").encode()
    b = ("\n".join(other) + "\n").encode()
    out = tmp_path / "out.jsonl"
    _stdin(monkeypatch, a)
    with pytest.raises(KeyboardInterrupt):
        run_batch_file("-", str(out), report=_Interrupt())  # type: ignore[arg-type]
    _stdin(monkeypatch, b)
    with pytest.raises(BatchError, match="not the input"):
        run_batch_file("-", str(out), resume=True, report=io.StringIO())
    assert not out.exists()
    _stdin(monkeypatch, a[:1000])  # shorter than what was judged: not the same either
    with pytest.raises(BatchError, match="not the input"):
        run_batch_file("-", str(out), resume=True, report=io.StringIO())
    _stdin(monkeypatch, a)  # the same input again: the run continues where it stopped
    summary = run_batch_file("-", str(out), resume=True, report=io.StringIO())
    assert summary.resumed_after > 0 and summary.judged_now < 450
    whole = tmp_path / "whole.jsonl"
    _stdin(monkeypatch, a)
    run_batch_file("-", str(whole), report=io.StringIO())
    assert out.read_bytes() == whole.read_bytes()


# --- item 19: a partial file that is not ta-rules' own -----------------------------------------


@pytest.mark.parametrize("foreign", [b'{"hello": 1}\n', b"[1, 2]\n", b'{"line": "x"}\n',
                                     b'{"line": 1, "line": 2, "error": {}}\n'])
def test_a_foreign_line_in_a_partial_file_is_a_clear_error(foreign: bytes,
                                                           tmp_path: Path) -> None:
    # item 19
    from ta_rules.batch import partial_path

    lines = [_line() for _ in range(450)]
    lines[300] = "{not json"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    from ta_rules.batch import run_batch_file

    with pytest.raises(KeyboardInterrupt):
        run_batch_file(str(src), str(out), report=_Interrupt())  # type: ignore[arg-type]
    partial = partial_path(out)
    kept = partial.read_bytes().splitlines(keepends=True)
    partial.write_bytes(b"".join([*kept[:5], foreign, *kept[5:]]))
    from ta_rules.batch import BatchError

    with pytest.raises(BatchError) as info:
        run_batch_file(str(src), str(out), resume=True, report=io.StringIO())
    assert str(info.value).startswith(f"{partial}:6: ")


# --- item 4: impact refuses what eval refuses ---------------------------------------------------


def test_impact_refuses_a_record_with_a_duplicate_key(tmp_path: Path) -> None:
    # item 4
    good = _line()
    dup = good[:-1] + ', "as_of": "2016-01-01"}'
    history = tmp_path / "h.jsonl"
    envelope = '{"id": "x", "facts": ' + good + ', "id": "y"}'
    history.write_text(good + "\n" + dup + "\n" + envelope + "\n")
    report = _impact_json("--claims", str(history), "--candidate", "2015.1")
    assert report["claims"] == 1
    assert report["errors"]["count"] == 2
    assert [e["line"] for e in report["errors"]["first"]] == [2, 3]
    assert all("duplicate key" in e["message"] for e in report["errors"]["first"])


# --- item 9: an output never replaces an input -------------------------------------------------


@pytest.mark.parametrize("which", ["history", "candidate", "candidate-folder"])
def test_impact_out_never_replaces_an_input(which: str, tmp_path: Path) -> None:
    # item 9
    history = tmp_path / "h.jsonl"
    history.write_text(_line() + "\n")
    folder = tmp_path / "rules"
    folder.mkdir()
    candidate = folder / "ta.yaml"
    candidate.write_text(rules_text())
    given = str(folder) if which == "candidate-folder" else str(candidate)
    target = history if which == "history" else candidate
    before = target.read_bytes()
    code, _, err = _cli("impact", "--claims", str(history), "--candidate", given,
                        "--out", str(target))
    assert code == 2 and "input" in err and "--out" in err, err
    assert target.read_bytes() == before
    # an output elsewhere is written whole
    code, _, err = _cli("impact", "--claims", str(history), "--candidate", given,
                        "--out", str(tmp_path / "report.txt"))
    assert code == 0, err
    assert "1 claims judged" in (tmp_path / "report.txt").read_text()
    assert not list(tmp_path.glob(".*.partial"))


def test_schema_out_never_replaces_an_input_rules_folder(tmp_path: Path) -> None:
    # item 9: every command that writes a file goes through the same writer
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    code, _, err = _cli("schema", "facts", "--rules", str(folder), "--out",
                        str(folder / "ta.yaml"))
    assert code == 2 and "input folder" in err
    assert (folder / "ta.yaml").read_text() == rules_text()


# --- item 18: a worker that dies is named, never an internal error ---------------------------


def test_batch_out_never_replaces_a_rule_file(tmp_path: Path) -> None:
    # item 9: the rules are an input of eval --batch too
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    src = tmp_path / "in.jsonl"
    src.write_text(_line() + "\n")
    code, _, err = _cli("eval", "--batch", str(src), "--rules", str(folder), "--out",
                        str(folder / "ta.yaml"))
    assert code == 2 and "input folder" in err, err
    assert (folder / "ta.yaml").read_text() == rules_text()


def _kill_a_worker_at(n: int, lines: list[str]) -> Iterator[str]:
    for i, line in enumerate(lines, 1):
        if i == n:
            children = multiprocessing.active_children()
            assert children, "no worker process started"
            os.kill(children[0].pid, signal.SIGKILL)
        yield line + "\n"


def test_a_batch_worker_killed_is_a_clear_error(tmp_path: Path) -> None:
    # item 18: SIGKILL of a real worker process (as the OOM killer does)
    from ta_rules.batch import BatchError, run_batch

    lines = [_line() for _ in range(3000)]
    out = io.StringIO()
    with pytest.raises(BatchError) as info:
        run_batch(_kill_a_worker_at(1500, lines), out, workers=2, report=io.StringIO())
    message = str(info.value)
    assert "worker process" in message and "lines" in message
    assert "BrokenProcessPool" not in message
    written = [json.loads(x)["line"] for x in out.getvalue().splitlines()]
    assert written == list(range(1, len(written) + 1))  # whole chunks, in order, no gap


def test_an_impact_worker_killed_is_a_clear_error(tmp_path: Path) -> None:
    # item 18
    from ta_rules.impact import ImpactConfig, ImpactError, resolve_side, run_impact

    text = _line()

    def partitions() -> Iterator[list[Any]]:
        for p in range(40):
            if p == 20:
                children = multiprocessing.active_children()
                assert children
                os.kill(children[0].pid, signal.SIGKILL)
            yield [(p * 100 + i + 1, text, None, None) for i in range(100)]

    config = ImpactConfig(resolve_side(None), resolve_side("2015.1"))
    with pytest.raises(ImpactError) as info:
        run_impact(partitions(), config, workers=2)
    message = str(info.value)
    assert "worker process" in message and "lines" in message


_MID_SEND = """
import os, signal, struct, sys, time
from ta_rules._workers import WorkerLost, in_order, pool_alive, stop_pool, worker_pool

def init():
    pass

def work(n):
    if n == 5:  # SIGKILL in the middle of sending a result: the message is cut short
        frame = sys._getframe()
        while "result_queue" not in frame.f_locals:
            frame = frame.f_back
        writer = frame.f_locals["result_queue"]._writer
        os.write(writer.fileno(), struct.pack("!i", 1 << 20) + b"x" * 100)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return n

pool = worker_pool(2, init, ())
try:
    list(in_order(lambda n: pool.submit(work, n), range(20), 4, span=lambda n: (n, n),
                  alive=pool_alive(pool)))
except WorkerLost as exc:
    print("lost", exc.first, exc.last)
finally:
    stop_pool(pool)
print("stopped")
"""


def test_a_worker_killed_while_sending_its_result_is_a_clear_error() -> None:
    # item 18: the pool's own reader would wait forever for the rest of the message
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _MID_SEND], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    lost, stopped = proc.stdout.splitlines()
    assert lost.startswith("lost ") and int(lost.split()[1]) <= 5 <= int(lost.split()[2])
    assert stopped == "stopped"


def test_a_killed_worker_in_the_cli_keeps_the_partial_file_to_resume(tmp_path: Path) -> None:
    # item 18, through the command: exit 2 with a message, the partial kept, --resume works
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(_line() for _ in range(6000)) + "\n")
    out = tmp_path / "out.jsonl"
    script = (
        "import os, signal, sys, threading, time, multiprocessing, faulthandler\n"
        "faulthandler.dump_traceback_later(60, exit=True)\n"
        "from ta_rules.cli import main\n"
        "def kill():\n"
        "    deadline = time.monotonic() + 60\n"
        "    while time.monotonic() < deadline:\n"
        "        kids = multiprocessing.active_children()\n"
        "        if kids and os.path.exists(sys.argv[2]) and os.path.getsize(sys.argv[2]) > 0:\n"
        "            os.kill(kids[0].pid, signal.SIGKILL)\n"
        "            return\n"
        "        time.sleep(0.01)\n"
        "threading.Thread(target=kill, daemon=True).start()\n"
        "sys.exit(main(['eval', '--batch', sys.argv[1], '--out', sys.argv[3],"
        " '--workers', '2']))\n")
    from ta_rules.batch import partial_path

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script, str(src), str(partial_path(out)),
                           str(out)], capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    assert "worker process" in proc.stderr and "--resume" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    code, _, err = _cli("eval", "--batch", str(src), "--out", str(out), "--resume")
    assert code == 0, err
    assert len(out.read_bytes().splitlines()) == 6001


# --- item 17: records are bounded before they are read; CSV and Parquet ----------------------


class _HugeLine(io.RawIOBase):
    """A stream of one line of ``size`` bytes, then a good line, made as it is read."""

    def __init__(self, size: int, then: bytes) -> None:
        self.left = size
        self.then = then

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.left > 0:
            n = min(len(view), self.left)
            view[:n] = b"x" * n
            self.left -= n
            return n
        n = min(len(view), len(self.then))
        view[:n] = self.then[:n]
        self.then = self.then[n:]
        return n


def test_an_impact_history_line_is_bounded_before_it_is_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # item 17: a line of 64 MB (standing for 1 GB) is never held whole
    size = 64 * 1024 * 1024
    stream = io.BufferedReader(_HugeLine(size, b"\n" + _line().encode() + b"\n"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stream))
    tracemalloc.start()
    try:
        report = _impact_json("--claims", "-", "--candidate", "2015.1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024, peak
    assert report["claims"] == 1 and report["errors"]["count"] == 1
    first = report["errors"]["first"][0]
    assert first["line"] == 1 and str(size + 1) in first["message"]


def _duckdb() -> Any:
    return pytest.importorskip("duckdb")


def test_a_csv_row_over_the_line_limit_is_that_rows_error(tmp_path: Path) -> None:
    # item 17: one oversized CSV row does not stop the history
    _duckdb()
    import csv

    history = tmp_path / "h.csv"
    big = base_facts()
    big["claim"]["description"] = "x" * (3 * 1024 * 1024)
    with open(history, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "facts"])
        writer.writerow(["a", _line()])
        writer.writerow(["b", json.dumps(big)])
        writer.writerow(["c", _line()])
    report = _impact_json("--claims", str(history), "--candidate", "2015.1")
    assert report["claims"] == 2 and report["errors"]["count"] == 1
    assert report["errors"]["first"][0]["line"] == 2


def _history_jsonl(tmp_path: Path) -> Path:
    spec = __import__("importlib.util").util.spec_from_file_location(
        "bench_claims", ROOT / "bench" / "claims.py")
    module = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(module)
    claims = module.generate(400)
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims))
    return path


@pytest.mark.parametrize("shape", ["own-fields", "envelope-struct", "facts-text"])
def test_a_parquet_history_in_a_data_teams_shape_gives_the_same_verdicts(
        shape: str, tmp_path: Path) -> None:
    # item 17: COPY (SELECT * FROM read_json_auto('h.jsonl')) TO 'h.parquet'
    duckdb = _duckdb()
    jsonl = _history_jsonl(tmp_path)
    source = jsonl
    if shape != "own-fields":
        source = tmp_path / "env.jsonl"
        with open(source, "w") as fh:
            for i, line in enumerate(jsonl.read_text().splitlines(), 1):
                facts: Any = json.loads(line) if shape == "envelope-struct" else line
                fh.write(json.dumps({"id": f"c{i}", "facts": facts}) + "\n")
    parquet = tmp_path / "h.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_json_auto('{source}')) TO '{parquet}' "
                "(FORMAT parquet)")
    types = {row[0]: row[1] for row in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()}
    con.close()
    if shape == "own-fields":
        assert types["as_of"] == "DATE" and types["contract"].startswith("STRUCT")
    want = _impact_json("--claims", str(jsonl), "--candidate", "2017.12")
    got = _impact_json("--claims", str(parquet), "--candidate", "2017.12")
    for key in ("claims", "changed", "transitions", "refund_delta", "reasons_gained",
                "reasons_lost", "errors"):
        assert got[key] == want[key], key


def test_a_parquet_history_with_decimal_columns_reads_them_exactly(tmp_path: Path) -> None:
    # item 17: DECIMAL amounts are exact decimal strings, never floats
    duckdb = _duckdb()
    jsonl = tmp_path / "h.jsonl"
    jsonl.write_text(_line() + "\n")
    parquet = tmp_path / "h.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (struct_update(contract, order_amount := {{'amount': "
        f"CAST(contract.order_amount.amount AS DECIMAL(18, 2)), 'currency': "
        f"contract.order_amount.currency}}) AS contract) FROM read_json_auto('{jsonl}')) "
        f"TO '{parquet}' (FORMAT parquet)")
    con.close()
    want = _impact_json("--claims", str(jsonl), "--candidate", "2015.1")
    got = _impact_json("--claims", str(parquet), "--candidate", "2015.1")
    assert got["claims"] == 1 and got["transitions"] == want["transitions"]


def test_a_csv_facts_column_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    # items 4 and 17: the same checks whatever the history's format
    _duckdb()
    import csv

    history = tmp_path / "h.csv"
    with open(history, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["facts"])
        writer.writerow([_line()[:-1] + ', "as_of": "2016-01-01"}'])
    report = _impact_json("--claims", str(history), "--candidate", "2015.1")
    assert report["claims"] == 0 and "duplicate key" in report["errors"]["first"][0]["message"]


# --- item 16: every file the project reads is guarded ----------------------------------------


def _outside_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("vocabulary: trade-assurance\npassword: hunter2\n")
    return secret


def _run_cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "ta_rules", *argv], capture_output=True,
                          text=True, timeout=60, env=env, cwd=cwd, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["outside", "fifo", "dev-zero"])
def test_a_vocabulary_file_is_read_guarded(kind: str, tmp_path: Path) -> None:
    # item 16
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    voc = folder / "trade-assurance.vocabulary.yaml"
    if kind == "outside":
        voc.symlink_to(_outside_secret(tmp_path))
    elif kind == "fifo":
        os.mkfifo(voc)
    else:
        voc.symlink_to("/dev/zero")
    proc = _run_cli("check", str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "file.outside-folder" in proc.stderr or "file.not-regular" in proc.stderr


@pytest.mark.parametrize("kind", ["outside", "fifo"])
def test_a_properties_file_is_read_guarded(kind: str, tmp_path: Path) -> None:
    # item 16
    pytest.importorskip("z3")
    folder = tmp_path / "rules"
    (folder / "properties").mkdir(parents=True)
    (folder / "ta.yaml").write_text(rules_text())
    props = folder / "properties" / "trade-assurance.yaml"
    if kind == "outside":
        props.symlink_to(_outside_secret(tmp_path))
    else:
        os.mkfifo(props)
    proc = _run_cli("prove", str(folder), "--timeout", "5")
    assert proc.returncode in (1, 2), proc.stderr
    shown = proc.stdout + proc.stderr
    assert "hunter2" not in shown
    assert "outside the folder" in shown or "not a regular file" in shown
    assert "Traceback" not in shown


@pytest.mark.parametrize("kind", ["outside", "fifo"])
def test_a_scenario_file_in_a_folder_is_read_guarded(kind: str, tmp_path: Path) -> None:
    # item 16
    folder = tmp_path / "scenarios"
    folder.mkdir()
    odd = folder / "odd.yaml"
    if kind == "outside":
        odd.symlink_to(_outside_secret(tmp_path))
    else:
        os.mkfifo(odd)
    proc = _run_cli("test", str(folder))
    assert proc.returncode in (1, 2), proc.stderr
    shown = proc.stdout + proc.stderr
    assert "hunter2" not in shown
    assert "file.outside-folder" in shown or "file.not-regular" in shown


@pytest.mark.parametrize("kind", ["outside"])
def test_a_catalog_is_read_guarded(kind: str, tmp_path: Path) -> None:
    # item 16: a catalog beside the rules that leads out of its folder is not read
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    shipped = ROOT / "ta_rules" / "locales"
    for locale in ("en", "es", "zh_Hans"):
        where = folder / "locales" / locale / "LC_MESSAGES"
        where.mkdir(parents=True)
        for suffix in (".po", ".mo"):
            (where / f"ta_rules{suffix}").write_bytes(
                (shipped / locale / "LC_MESSAGES" / f"ta_rules{suffix}").read_bytes())
    es = folder / "locales" / "es" / "LC_MESSAGES" / "ta_rules.mo"
    es.unlink()
    (es.with_suffix(".po")).unlink()
    if kind == "outside":
        es.symlink_to(_outside_secret(tmp_path))
    else:
        os.mkfifo(es)
    proc = _run_cli("check", str(folder))
    assert proc.returncode == 1, proc.stderr
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "outside the folder" in proc.stderr or "not a regular file" in proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "deep"])
def test_a_project_configuration_is_read_guarded(kind: str, tmp_path: Path) -> None:
    # items 16 and 22: a FIFO is not waited on; a deeply nested TOML is a clear error
    config = tmp_path / "ta-rules.toml"
    if kind == "fifo":
        os.mkfifo(config)
    else:
        config.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    for argv in (["check"], ["test"], ["eval", "-"], ["schema", "facts", "--rules", "."],
                 ["messages", "extract"], ["prove"]):
        proc = _run_cli(*argv, cwd=tmp_path)
        assert proc.returncode in (1, 2), (argv, proc.stderr)
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
        assert "ta-rules.toml" in proc.stderr, (argv, proc.stderr)


# --- items 10 and 22: message catalogs ----------------------------------------------------------


def _package_locales() -> dict[str, tuple[int, bytes]]:
    root = Path(ta_rules.__file__).parent / "locales"
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv", [["update", "--locale", "fr"], ["compile"], ["extract"]])
def test_messages_outside_a_project_never_write_into_the_package(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # item 10
    monkeypatch.chdir(tmp_path)
    before = _package_locales()
    code, _, err = _cli("messages", *argv)
    after = _package_locales()
    assert after == before
    assert code == 2 and "--rules" in err and "project" in err, err


def _catalog_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    return folder


def test_messages_never_write_outside_the_rules_folder(tmp_path: Path) -> None:
    # items 10 and 22: --locale ../x is refused, and so is a catalog leading out of its folder
    folder = _catalog_folder(tmp_path)
    assert _cli("messages", "extract", "--rules", str(folder))[0] == 0
    code, _, err = _cli("messages", "update", "--rules", str(folder), "--locale", "../x")
    assert code == 2 and "../x" in err, err
    assert not (folder / "x").exists() and not (tmp_path / "x").exists()
    outside = tmp_path / "elsewhere.po"
    outside.write_text("")
    po = folder / "locales" / "fr" / "LC_MESSAGES" / "ta_rules.po"
    po.parent.mkdir(parents=True)
    po.symlink_to(outside)
    code, _, err = _cli("messages", "update", "--rules", str(folder))
    assert code in (1, 2) and "outside" in err, err
    assert outside.read_text() == ""


def test_a_po_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    # item 22
    folder = _catalog_folder(tmp_path)
    assert _cli("messages", "update", "--rules", str(folder), "--locale", "fr")[0] == 0
    po = folder / "locales" / "fr" / "LC_MESSAGES" / "ta_rules.po"
    po.write_bytes(po.read_bytes().replace(b"msgstr \"\"\n\n", b"msgstr \"\xff\xfe\"\n\n", 1))
    for action in ("update", "compile"):
        code, _, err = _cli("messages", action, "--rules", str(folder))
        assert code in (1, 2), err
        assert str(po) in err and "UTF-8" in err and "internal error" not in err


# --- resume from stdin, through the command -------------------------------------------------


def test_the_stdin_prefix_digest_is_what_was_consumed(tmp_path: Path) -> None:
    # item 2: the digest recorded is the SHA-256 of the bytes of the lines judged
    from ta_rules._records import numbered_lines

    data = b'{"a": 1}\n\n{"b": 2}\n'
    digest = hashlib.sha256()
    assert [n for n, _, _ in numbered_lines(io.BytesIO(data), digest=digest)] == [1, 2, 3]
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_facts_file_is_read_bounded(tmp_path: Path) -> None:
    # item 16: a facts file is read through the same guard, bounded (a pipe is still read)
    proc = _run_cli("eval", "/dev/zero")
    assert proc.returncode == 2 and "yaml.too-large" in proc.stderr
    proc = _run_cli("eval", str(tmp_path))
    assert proc.returncode == 2 and "is a folder" in proc.stderr
    fifo = tmp_path / "facts.json"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen([sys.executable, "-m", "ta_rules", "eval", str(fifo)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as reader:
        fifo.write_text(_line())
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.startswith("COVERED")
