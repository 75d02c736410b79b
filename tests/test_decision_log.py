"""The decision log (issue 24): real SQLite files, Parquet read back through DuckDB, a real
PostgreSQL server started by the test on a Unix socket, and a real ``ta-rules serve``."""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import glob
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main
from ta_rules.decisionlog import DecisionLog, DecisionLogError, DecisionLogFull, open_sink
from ta_rules.decisionlog._record import MaskMismatch, check_masked, mask_plan
from ta_rules.decisionlog._replay import replay_record

ROOT = Path(__file__).resolve().parent.parent
CLAIM = json.loads((ROOT / "examples" / "claims" / "late-shipment.json").read_text())
SECRET = "The machines left the port a day after the agreed ship-by date."
KEY = b"decision-log test key"
PYTHON = sys.executable


# --- a real PostgreSQL server ----------------------------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> tuple[list[str], int | None, int | None]:
    """How to run the server: as the postgres user when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root and there is no postgres user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL cluster of our own: a temporary folder, a Unix socket, torn down after.

    Nothing listens on TCP, so a port taken (5432 or any) or a second run beside this one
    changes nothing.
    """
    if not os.environ.get("CI"):
        pytest.importorskip("psycopg")
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL binaries are not installed")
    prefix, uid, gid = _as_postgres()
    # short: a Unix socket's path has at most 107 bytes, whatever TMPDIR is
    base = Path(tempfile.mkdtemp(prefix="ta-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    _PG_OPTIONS[:] = [f"-k {sock} -c listen_addresses='' -p 5432 -c max_connections=40"]
    if uid is not None and gid is not None:
        for p in (base, sock):
            os.chown(p, uid, gid)
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "--no-sync", "-E", "UTF8"], check=True, env=env,
                   capture_output=True, cwd=base)

    def pg_ctl(*argv: str) -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l",
                        str(base / "log"), "-w", "-t", "60", *argv], check=True, env=env,
                       capture_output=True, cwd=base)

    pg_ctl("-o", _PG_OPTIONS[0], "start")
    _PG_CTL.append(pg_ctl)
    try:
        yield f"postgresql:///postgres?host={sock}&port=5432&user=postgres"
    finally:
        _PG_CTL.clear()
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], env=env, capture_output=True, cwd=base)
        shutil.rmtree(base, ignore_errors=True)


_PG_CTL: list[Any] = []  # the module's cluster: pg_ctl(*arguments)
_PG_OPTIONS: list[str] = [""]  # its server options


def _fresh_pg(url: str) -> str:
    """The server's log table emptied (each test starts a new log)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS ta_rules_decisions")
    return url


SINKS = ["jsonl", "sqlite", "parquet", "postgresql"]


@pytest.fixture(params=SINKS)
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "postgresql":
        return _fresh_pg(request.getfixturevalue("postgres"))
    return {"jsonl": f"jsonl:{tmp_path}/decisions.jsonl", "sqlite": f"sqlite:{tmp_path}/log.db",
            "parquet": f"parquet:{tmp_path}/parquet"}[kind]


def _claim(i: int, **changes: Any) -> dict[str, Any]:
    facts = copy.deepcopy(CLAIM)
    facts["contract"]["order_amount"]["amount"] = f"{1000 + i}.00"
    facts["payments"][0]["amount"]["amount"] = f"{1000 + i}.00"
    facts.update(changes)
    return facts


def _all_bytes(url: str, postgres_url: str | None = None) -> bytes:
    """Every byte a sink keeps (files), or every row's text (PostgreSQL)."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url) as db:
            rows = db.execute("SELECT t::text FROM ta_rules_decisions t").fetchall()
        return "\n".join(r[0] for r in rows).encode()
    path = Path(url.split(":", 1)[1])
    folder = path if path.is_dir() else path.parent
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


# --- records, chain, masking -----------------------------------------------------------


def test_records_are_chained_and_read_back_in_every_sink(log_url: str) -> None:
    with DecisionLog(log_url, mask_key=KEY) as log:
        first = log.evaluate(_claim(1), labels={"claim": "C-1", "tenant": "t"})
        second = log.evaluate(_claim(2), labels={"claim": "C-2"})
        again = log.evaluate(_claim(3), labels={"claim": "C-1"})
        assert log.verify() == []
    r1, r2, r3 = first.record, second.record, again.record
    assert [r1.seq, r2.seq, r3.seq] == [1, 2, 3]
    assert r1.prev_hash is None and r2.prev_hash == r1.hash and r3.prev_hash == r2.hash
    assert r1.decision_id < r2.decision_id < r3.decision_id  # UUIDv7: time-ordered
    assert uuid.UUID(r1.decision_id).version == 7
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        r1.decision_id)
    # a re-decision of claim C-1 points to the one it supersedes; nothing is updated
    assert r3.supersedes == r1.decision_id and r2.supersedes is None
    assert r1.policy == first.verdict.ruleset.model_dump()
    assert r1.verdict == {**first.verdict.model_dump(mode="json"), "trace": None}
    assert r1.library_version == ta_rules.__version__
    assert list(r1.masked) == ["claim.description"] and "description" not in r1.facts["claim"]
    assert r1.masked["claim.description"].startswith("hmac-sha256:")
    assert r1.facts["contract"]["order_amount"] == {"amount": "1001.00", "currency": "USD"}
    # reopened: the chain continues from the last record
    with DecisionLog(log_url, mask_key=KEY) as log:
        fourth = log.evaluate(_claim(4), labels={"claim": "C-1"}).record
        assert fourth.seq == 4 and fourth.prev_hash == r3.hash
        assert fourth.supersedes == r3.decision_id
        assert log.get(r2.decision_id) == r2
        assert [r.decision_id for r in log.records()] == [
            r1.decision_id, r2.decision_id, r3.decision_id, fourth.decision_id]
        assert log.verify() == []
    assert SECRET.encode() not in _all_bytes(log_url)


def test_a_second_writer_is_refused(log_url: str) -> None:
    with DecisionLog(log_url, mask_key=KEY), pytest.raises(DecisionLogError,
                                                           match="another process"):
        DecisionLog(log_url, mask_key=KEY)


def test_sensitive_value_without_a_key_is_refused_not_written(tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    monkeypatch.delenv("TA_RULES_DECISION_LOG_KEY", raising=False)
    url = f"sqlite:{tmp_path}/log.db"
    with DecisionLog(url) as log:
        with pytest.raises(DecisionLogError, match=r"claim\.description is marked sensitive"):
            log.evaluate(CLAIM)
        no_text = _claim(1)
        no_text["claim"] = {**no_text["claim"], "description": None}
        # null is not masked: nothing to hide
        assert log.evaluate(no_text).record.masked == {"claim.description": None}
    assert SECRET.encode() not in _all_bytes(url)


def test_replay_of_masked_facts_checks_the_original_naming_the_field(tmp_path: Path) -> None:
    with DecisionLog(f"sqlite:{tmp_path}/log.db", mask_key=KEY) as log:
        record = log.evaluate(CLAIM).record
    registry = ta_rules.default_registry()
    assert replay_record(record, registry, original=CLAIM, key=KEY).status == "exact"
    other = copy.deepcopy(CLAIM)
    other["claim"]["description"] = "Something else."
    result = replay_record(record, registry, original=other, key=KEY)
    assert result.status == "cannot-replay"
    assert result.lines == ("facts: the original facts given differ at claim.description",)
    assert replay_record(record, registry).status == "cannot-replay"  # not given
    plan = mask_plan(registry.select("trade-assurance", "2015.1").vocabulary)
    original = ta_rules.parse_facts(CLAIM)
    with pytest.raises(DecisionLogError, match="masked with key"):
        check_masked(record, original, plan, b"another key")
    check_masked(record, original, plan, KEY)  # the original: matches
    changed = copy.deepcopy(CLAIM)
    changed["shipment"]["shipped_on"] = "2016-05-03"
    changed["claim"]["description"] = "Other words."
    with pytest.raises(MaskMismatch, match=r"differ from those judged at claim\.description, "
                       r"shipment\.shipped_on$"):
        check_masked(record, ta_rules.parse_facts(changed), plan, KEY)


def test_facts_that_are_not_those_judged_are_refused(tmp_path: Path) -> None:
    verdict = ta_rules.evaluate(CLAIM)
    with DecisionLog(f"jsonl:{tmp_path}/d.jsonl", mask_key=KEY) as log, \
            pytest.raises(DecisionLogError, match="not those the verdict was given for"):
        log.record(_claim(7), verdict)


def test_full_queue_refuses_with_a_clear_error(tmp_path: Path) -> None:
    log = DecisionLog(f"sqlite:{tmp_path}/log.db", mask_key=KEY, queue_size=1,
                      when_full="refuse")
    verdict = ta_rules.evaluate(CLAIM)
    gate = threading.Event()
    real = log.sink.write

    def slow(records: Any) -> None:
        gate.wait(10)
        real(records)

    log.sink.write = slow  # type: ignore[method-assign]
    futures = [log.submit(CLAIM, verdict)]
    refused = 0
    try:
        for _ in range(5):
            try:
                futures.append(log.submit(CLAIM, verdict))
            except DecisionLogFull as exc:
                assert "this verdict is refused (nothing recorded)" in str(exc)
                refused += 1
    finally:
        gate.set()
    assert refused >= 1
    assert all(f.result(10).seq >= 1 for f in futures)
    log.close()
    with DecisionLog(f"sqlite:{tmp_path}/log.db", mask_key=KEY) as again:
        assert sum(1 for _ in again.records()) == len(futures)
        assert again.verify() == []


def test_a_failing_store_fails_the_verdict_never_loses_it_silently(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    with DecisionLog(f"jsonl:{folder}/d.jsonl", mask_key=KEY) as log:
        log.evaluate(_claim(1))
        real = log.sink.write

        def broken(records: Any) -> None:
            raise OSError(28, "No space left on device")

        log.sink.write = broken  # type: ignore[method-assign]
        with pytest.raises(DecisionLogError, match=r"cannot store 1 record.*No space left"):
            log.evaluate(_claim(2))
        log.sink.write = real  # type: ignore[method-assign]
        third = log.evaluate(_claim(3)).record
        assert third.seq == 2  # the refused one took no place in the chain
        assert log.verify() == []


def test_parquet_is_partitioned_by_day_and_read_by_duckdb(tmp_path: Path) -> None:
    import duckdb

    url = f"parquet:{tmp_path}/pq"
    with DecisionLog(url, mask_key=KEY) as log:
        ids = [log.evaluate(_claim(i), labels={"claim": f"C-{i}"}).decision_id
               for i in range(5)]
    days = sorted(p.name for p in (tmp_path / "pq").iterdir() if p.is_dir())
    assert len(days) == 1 and re.fullmatch(r"day=\d{4}-\d{2}-\d{2}", days[0])
    rows = duckdb.sql(f"SELECT decision_id, claim, day, record FROM read_parquet("
                      f"'{tmp_path}/pq/*/*.parquet', hive_partitioning=true) ORDER BY seq"
                      ).fetchall()
    assert [r[0] for r in rows] == ids and [r[1] for r in rows] == [f"C-{i}" for i in range(5)]
    assert json.loads(rows[0][3])["verdict"]["outcome"] == "covered"


def test_sqlite_is_wal_with_the_indexes_the_log_is_read_by(tmp_path: Path) -> None:
    import sqlite3

    with DecisionLog(f"sqlite:{tmp_path}/log.db", mask_key=KEY) as log:
        log.evaluate(CLAIM, labels={"claim": "C-1"})
    db = sqlite3.connect(tmp_path / "log.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    indexed = {r[0] for r in db.execute("SELECT sql FROM sqlite_master WHERE type='index' "
                                        "AND sql IS NOT NULL")}
    assert any("(claim" in s for s in indexed) and any("(decided_at)" in s for s in indexed)
    plan = " ".join(str(r) for r in db.execute(
        "EXPLAIN QUERY PLAN SELECT record FROM decisions WHERE decision_id = 'x'"))
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan


# --- tampering found by id ---------------------------------------------------------------


def _tamper(url: str, ids: list[str]) -> None:
    """By hand: edit record 2's outcome, remove record 4, swap records 5 and 6."""
    kind, _, rest = url.partition(":")
    if kind == "jsonl":
        (path,) = Path(rest).parent.glob("decisions.*.jsonl")
        lines = path.read_text().splitlines(keepends=True)
        lines[1] = lines[1].replace('"outcome":"covered"', '"outcome":"denied"', 1)
        lines = [*lines[:3], lines[5], lines[4], lines[6]]
        path.write_text("".join(lines))
        return
    if kind == "parquet":
        import duckdb

        files = sorted(Path(rest).glob("day=*/part-*.parquet"))
        edited = str(files[1]) + ".new"
        duckdb.sql(f"COPY (SELECT * REPLACE (replace(record, '\"outcome\":\"covered\"', "
                   f"'\"outcome\":\"denied\"') AS record) FROM read_parquet('{files[1]}')) "
                   f"TO '{edited}' (FORMAT parquet)")
        os.replace(edited, files[1])
        files[3].unlink()
        tmp = files[4].with_suffix(".swap")
        files[4].rename(tmp)
        files[5].rename(files[4])
        tmp.rename(files[5])
        return
    statements = [
        "UPDATE {t} SET record = replace(record, '\"outcome\":\"covered\"', "
        "'\"outcome\":\"denied\"') WHERE seq = 2",
        "DELETE FROM {t} WHERE seq = 4"]
    swap = "UPDATE {t} SET record = {p} WHERE seq = {p}"  # rows 5 and 6 swap their records
    if kind == "sqlite":
        import sqlite3

        db = sqlite3.connect(rest)
        for sql in statements:
            db.execute(sql.format(t="decisions"))
        five, six = (db.execute("SELECT record FROM decisions WHERE seq = ?", (n,)).fetchone()[0]
                     for n in (5, 6))
        db.execute(swap.format(t="decisions", p="?"), (six, 5))
        db.execute(swap.format(t="decisions", p="?"), (five, 6))
        db.commit()
        db.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for sql in statements:
            pg.execute(sql.format(t="ta_rules_decisions").encode())
        five, six = (pg.execute("SELECT record FROM ta_rules_decisions WHERE seq = %s",
                                (n,)).fetchone()[0] for n in (5, 6))  # type: ignore[index]
        pg.execute(swap.format(t="ta_rules_decisions", p="%s").encode(), (six, 5))
        pg.execute(swap.format(t="ta_rules_decisions", p="%s").encode(), (five, 6))


def test_log_verify_names_records_edited_removed_and_reordered(log_url: str) -> None:
    with DecisionLog(log_url, mask_key=KEY) as log:
        ids = [log.evaluate(_claim(i)).decision_id for i in range(7)]
    out = _run_cli("log", "verify", log_url)
    assert out[0] == 0 and "7 record(s): chain intact" in out[1]
    _tamper(log_url, ids)
    code, text = _run_cli("log", "verify", log_url)
    assert code == 1
    lines = text.splitlines()
    assert any(ids[1] in line and "edited" in line for line in lines), text
    assert any(ids[4] in line and "reordered" in line and ids[5] in line for line in lines), text
    assert any(ids[4] in line and "1 record(s) removed before it" in line and ids[2] in line
               for line in lines), text
    assert lines[-1] == "6 record(s): 3 problem(s)", text


def _run_cli(*argv: str) -> tuple[int, str]:
    import io

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


# --- through a real ta-rules serve ------------------------------------------------------


class Serve:
    """``python -m ta_rules serve --port 0 --decision-log URL`` in a subprocess."""

    def __init__(self, tmp: Path, url: str) -> None:
        self.log_path = tmp / f"serve-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "TA_RULES_DECISION_LOG_KEY": KEY.decode()}
        self.proc = subprocess.Popen([PYTHON, "-m", "ta_rules", "serve", "--port", "0",
                                      "--decision-log", url], stdout=subprocess.DEVNULL,
                                     stderr=self._log, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        self.port = 0
        while not self.port:
            for line in self.log_path.read_text().splitlines():
                if '"listening"' in line:
                    self.port = json.loads(line)["port"]
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("serve did not start:\n" + self.log_path.read_text())
            time.sleep(0.05)

    def post(self, conn: http.client.HTTPConnection, body: dict[str, Any],
             ) -> tuple[int, dict[str, str], dict[str, Any]]:
        conn.request("POST", "/v1/evaluate", json.dumps(body),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def connection(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(60)
        self._log.close()


@contextlib.contextmanager
def serving(tmp: Path, url: str) -> Iterator[Serve]:
    pytest.importorskip("fastapi")
    server = Serve(tmp, url)
    try:
        yield server
    finally:
        server.close()


CLIENTS = 16
LOAD = 10_000


def _answers(server: Serve, start: int, count: int, *, clients: int = CLIENTS,
             stop: threading.Event | None = None,
             answers: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Post claims start..start+count from ``clients`` threads: {decision id: answer}."""
    answers = {} if answers is None else answers
    lock = threading.Lock()

    def work(offset: int) -> None:
        conn = server.connection()
        try:
            for i in range(start + offset, start + count, clients):
                if stop is not None and stop.is_set():
                    return
                status, headers, data = server.post(
                    conn, {"facts": _claim(i), "labels": {"claim": f"C-{i}"}})
                assert status == 200, data
                assert headers["x-decision-id"] == data["decision_id"]
                with lock:
                    answers[data["decision_id"]] = {**data, "claim": f"C-{i}"}
        except (OSError, http.client.HTTPException, ValueError):
            if stop is None:
                raise
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(work, k) for k in range(clients)]:
            f.result()
    return answers


def _stored(url: str) -> dict[str, dict[str, Any]]:
    sink = open_sink(url, write=False)
    try:
        return {r["decision_id"]: r for r in (json.loads(t) for _, t in sink.read())}
    finally:
        sink.close()


def test_ten_thousand_verdicts_through_serve_under_16_clients(log_url: str,
                                                              tmp_path: Path) -> None:
    with serving(tmp_path, log_url) as server:
        answers = _answers(server, 0, LOAD)
        server.stop()
    assert len(answers) == LOAD  # every id unique
    stored = _stored(log_url)
    assert len(stored) == LOAD and set(stored) == set(answers)
    for ident, answer in answers.items():
        record = stored[ident]
        claim = answer.pop("claim")
        del answer["decision_id"]
        assert record["verdict"] == {**answer, "trace": None}, ident
        assert record["labels"] == {"claim": claim}
    assert sorted(r["seq"] for r in stored.values()) == list(range(1, LOAD + 1))
    assert _run_cli("log", "verify", log_url) == (0, f"{LOAD} record(s): chain intact, every "
                                                     "hash matches\n")
    assert SECRET.encode() not in _all_bytes(log_url)


def test_sigkill_under_load_loses_no_acknowledged_record(log_url: str, tmp_path: Path) -> None:
    stop = threading.Event()
    with serving(tmp_path, log_url) as server:
        done: dict[str, dict[str, Any]] = {}
        loader = threading.Thread(target=_answers, args=(server, 0, 100_000),
                                  kwargs={"clients": 8, "stop": stop, "answers": done})
        loader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(done) < 300:
            time.sleep(0.02)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(60)
        stop.set()
        loader.join(60)
    acknowledged = dict(done)
    assert len(acknowledged) > 50  # it was under load
    # the next start continues the chain (a torn, never acknowledged tail is dropped)
    with serving(tmp_path, log_url) as server:
        more = _answers(server, 200_000, 40, clients=4)
        server.stop()
    stored = _stored(log_url)
    assert set(acknowledged) <= set(stored), "an acknowledged record was lost"
    assert set(more) <= set(stored)
    code, text = _run_cli("log", "verify", log_url)
    assert code == 0, text
    seqs = sorted(r["seq"] for r in stored.values())
    assert seqs == list(range(1, len(stored) + 1))


# --- replay and impact over a log of 10,000 claims ------------------------------------------


def _plain(i: int) -> dict[str, Any]:
    facts = _claim(i)
    facts["claim"] = {**facts["claim"], "description": None}  # nothing masked: replayable
    return facts


def test_replay_and_impact_over_ten_thousand_logged_claims(tmp_path: Path,
                                                             monkeypatch: Any) -> None:
    monkeypatch.chdir(ROOT)  # the rules folder named as the records name it
    history = tmp_path / "claims.jsonl"
    history.write_text("".join(json.dumps(_plain(i)) + "\n" for i in range(LOAD)))
    url = f"sqlite:{tmp_path}/log.db"
    code, text = _run_cli("eval", "--batch", str(history), "--out", str(tmp_path / "out"),
                          "--rules", "rules", "--decision-log", url, "--label", "tenant=t1")
    assert code == 0, text
    lines = (tmp_path / "out").read_text().splitlines()
    answered = [json.loads(line) for line in lines[:-1]]
    stored = _stored(url)
    assert [a["decision_id"] for a in answered] == list(stored)
    assert all(stored[a["decision_id"]]["verdict"] == a["verdict"] for a in answered)
    assert all(r["labels"] == {"tenant": "t1"} for r in stored.values())

    code, text = _run_cli("log", "replay", url, "--rules", "rules", "--workers", "2")
    assert (code, text) == (0, f"{LOAD} record(s): {LOAD} reproduced exactly, 0 library "
                               "drift, 0 cannot be replayed, 0 differ\n")

    # a change to the rules: the minimum order amount of 2015.1 raised to 1,500 USD
    changed = tmp_path / "changed"
    shutil.copytree(ROOT / "rules", changed)
    rule_file = changed / "trade-assurance-2015.1.yaml"
    text_before = rule_file.read_text()
    rule_file.write_text(text_before.replace(
        'min_order_amount_usd:\n    type: money[USD]\n    default: "1000.00"',
        'min_order_amount_usd:\n    type: money[USD]\n    default: "1500.00"', 1))
    assert rule_file.read_text() != text_before
    code, text = _run_cli("impact", "--claims", url, "--base", "rules", "--candidate",
                          str(changed), "--format", "json")
    assert code == 0, text
    report = json.loads(text)
    # orders of 1,000.00 to 1,499.00 USD (claims 0..499) fall below the new minimum
    assert report["claims"] == LOAD and report["changed"] == 500, report
    assert report["transitions"] == {"covered->covered": LOAD - 500, "covered->denied": 500}
    # the texts that judged are in the policy store: replay under the changed folder still
    # reproduces every record exactly from them
    code, text = _run_cli("log", "replay", url, "--rules", str(changed))
    assert (code, text) == (0, f"{LOAD} record(s): {LOAD} reproduced exactly, 0 library "
                               "drift, 0 cannot be replayed, 0 differ\n"), text[-500:]


def test_impact_names_a_masked_record_as_not_judged(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(ROOT)
    url = f"jsonl:{tmp_path}/d.jsonl"
    with DecisionLog(url, mask_key=KEY, registry=ta_rules.Registry.from_folder("rules")) as log:
        log.evaluate(_plain(1))
        masked = log.evaluate(_claim(2)).decision_id
    code, text = _run_cli("impact", "--claims", url, "--base", "rules", "--candidate", "rules")
    assert code == 1
    assert f"decision {masked}: its facts are masked (claim.description)" in text
    assert "1 claims judged" in text or "1 claim" in text


def test_eval_records_one_claim_with_its_labels(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TA_RULES_DECISION_LOG_KEY", KEY.decode())
    url = f"jsonl:{tmp_path}/d.jsonl"
    claim = ROOT / "examples" / "claims" / "late-shipment.json"
    code, text = _run_cli("eval", str(claim), "--decision-log", url, "--label", "claim=C-9",
                          "--format", "json")
    assert code == 0, text
    answer = json.loads(text)
    (record,) = _stored(url).values()
    assert record["decision_id"] == answer.pop("decision_id")
    assert record["verdict"] == answer and record["labels"] == {"claim": "C-9"}
    code, shown = _run_cli("log", "show", record["decision_id"], "--log", url)
    assert code == 0 and f"decision {record['decision_id']} (record 1)" in shown
    assert "labels: claim=C-9" in shown and "COVERED" in shown
    assert "masked: claim.description" in shown and SECRET not in shown
    code, text = _run_cli("eval", str(claim), "--decision-log", url, "--label", "claim=C-9")
    assert code == 0 and "recorded in" in text
    second = _stored(url)
    assert [r["supersedes"] for r in second.values()] == [None, record["decision_id"]]
    code, text = _run_cli("eval", "--batch", str(claim), "--workers", "2",
                          "--decision-log", url)
    assert code == 2 and "--workers must be 1" in text
    code, text = _run_cli("eval", str(claim), "--decision-log", "ftp://x")
    assert code == 2 and "unknown kind 'ftp'" in text


def test_a_record_whose_masked_values_were_null_is_judged_from_its_facts() -> None:
    from ta_rules.decisionlog._record import restored_facts

    stored = {"facts": {"claim": {"x": 1}, "payments": [{"a": 1}, {"a": 2}]},
              "masked": {"claim.description": None, "payments[1].note": None}}
    assert restored_facts(stored) == {"claim": {"x": 1, "description": None},
                                      "payments": [{"a": 1}, {"a": 2, "note": None}]}
    assert restored_facts({**stored, "masked": {"claim.description": "hmac-sha256:00"}}) is None


def test_serve_batch_route_and_bad_labels(tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path}/log.db"
    with serving(tmp_path, url) as server:
        conn = server.connection()
        status, _, error = server.post(conn, {"facts": CLAIM, "labels": {"claim": 7}})
        assert status == 400 and error["error"]["message"].startswith("labels: expected")
        body = "".join(json.dumps(_claim(i)) + "\n" for i in range(3)) + "not json\n"
        conn.request("POST", "/v1/evaluate/batch", body)
        lines = [json.loads(x) for x in conn.getresponse().read().splitlines()]
        conn.close()
        server.stop()
    stored = _stored(url)
    assert [x["line"] for x in lines] == [1, 2, 3, 4] and "error" in lines[3]
    for x in lines[:3]:
        assert stored[x["decision_id"]]["verdict"] == x["verdict"]
    assert len(stored) == 3


def test_log_replay_with_other_facts_names_the_field(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TA_RULES_DECISION_LOG_KEY", KEY.decode())
    url = f"jsonl:{tmp_path}/d.jsonl"
    with DecisionLog(url) as log:
        first = log.evaluate(CLAIM, labels={"claim": "C-1"}).decision_id
    originals = tmp_path / "originals.jsonl"
    originals.write_text(json.dumps({"claim": "C-1", "facts": CLAIM}) + "\n")
    assert _run_cli("log", "replay", url, "--facts", str(originals)) == (
        0, "1 record(s): 1 reproduced exactly, 0 library drift, 0 cannot be replayed, "
        "0 differ\n")
    other = copy.deepcopy(CLAIM)
    other["claim"]["description"] = "Not what the buyer wrote."
    originals.write_text(json.dumps({"decision_id": first, "facts": other}) + "\n")
    code, text = _run_cli("log", "replay", url, "--facts", str(originals))
    assert code == 1
    assert f"{first}: cannot-replay\n  facts: the original facts given differ at " \
        "claim.description\n" in text
    code, text = _run_cli("log", "replay", url)
    assert code == 1 and "claim.description masked: give the original facts" in text


def test_postgresql_going_away_fails_the_verdicts_then_the_chain_continues(
        postgres: str) -> None:
    url = _fresh_pg(postgres)
    (pg_ctl,) = _PG_CTL
    with DecisionLog(url, mask_key=KEY) as log:
        first = log.evaluate(_claim(1)).record
        pg_ctl("-m", "immediate", "stop")
        try:
            with pytest.raises(DecisionLogError, match=r"cannot store 1 record\(s\).*"
                               "not recorded and their verdicts are refused"):
                log.evaluate(_claim(2))
        finally:
            pg_ctl("-o", _PG_OPTIONS[0], "start")
        again = log.evaluate(_claim(3)).record
        assert (again.seq, again.prev_hash) == (2, first.hash)
        assert log.verify() == []


def test_jsonl_rotates_by_day_and_the_chain_crosses_files(tmp_path: Path,
                                                          monkeypatch: Any) -> None:
    import ta_rules.decisionlog._log as log_module

    days = iter(["2026-03-01T23:59:59.000000+00:00", "2026-03-02T00:00:01.000000+00:00",
                 "2026-03-02T08:00:00.000000+00:00"])
    monkeypatch.setattr(log_module, "utc_now", lambda: next(days))
    url = f"jsonl:{tmp_path}/decisions.jsonl"
    with DecisionLog(url, mask_key=KEY) as log:
        first = log.evaluate(_claim(1)).record
        second = log.evaluate(_claim(2)).record
    with DecisionLog(url, mask_key=KEY) as log:  # reopened: the head is in the newest file
        third = log.evaluate(_claim(3)).record
        assert log.verify() == []
    assert sorted(p.name for p in tmp_path.glob("decisions.*.jsonl")) == [
        "decisions.2026-03-01.jsonl", "decisions.2026-03-02.jsonl"]
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert len((tmp_path / "decisions.2026-03-02.jsonl").read_text().splitlines()) == 2


def test_log_replay_on_a_dask_local_cluster(tmp_path: Path, monkeypatch: Any) -> None:
    pytest.importorskip("distributed")
    monkeypatch.chdir(ROOT)
    url = f"sqlite:{tmp_path}/log.db"
    with DecisionLog(url, registry=ta_rules.Registry.from_folder("rules")) as log:
        for i in range(30):
            log.evaluate(_plain(i), labels={"claim": f"C-{i}"})
    code, text = _run_cli("log", "replay", url, "--rules", "rules", "--dask", "local",
                          "--workers", "1")
    assert (code, text) == (0, "30 record(s): 30 reproduced exactly, 0 library drift, "
                               "0 cannot be replayed, 0 differ\n")


def test_an_answer_with_its_decision_id_replays(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TA_RULES_DECISION_LOG_KEY", KEY.decode())
    claim = ROOT / "examples" / "claims" / "late-shipment.json"
    code, text = _run_cli("eval", str(claim), "--decision-log", f"jsonl:{tmp_path}/d.jsonl",
                          "--format", "json")
    assert code == 0 and "decision_id" in json.loads(text)
    (tmp_path / "answer.json").write_text(text)
    code, text = _run_cli("replay", str(tmp_path / "answer.json"), str(claim))
    assert code == 0 and text.startswith("exact replay: reproduced"), text
