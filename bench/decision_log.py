"""What a decision log costs: ``evaluate`` with each sink against none, and ``serve``.

    python bench/decision_log.py [--claims N] [--serve-requests N] [--clients N]
        [--postgres URL] [--only evaluate|serve]

*evaluate*: N claims judged one after another by one caller (wall time, and the CPU time of
this process, which includes the log's writer thread but not a PostgreSQL server's work,
so the figures can be compared on a shared machine); with a log each verdict is
submitted to it (the caller goes on; the writer stores waiting records together, fsync or
commit per batch) and the run ends when every record is stored and acknowledged. A
second figure, *sync*, waits for each record before judging the next (one fsync or commit
per verdict): the latency one sequential caller sees.

*serve*: ``ta-rules serve`` on 127.0.0.1 (a free port) answering N requests from
``--clients`` concurrent keep-alive clients; every answer is acknowledged only once its
record is stored.

PostgreSQL is measured when ``--postgres URL`` is given, or when the PostgreSQL binaries
are installed (a cluster is started in a temporary folder on a Unix socket).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ta_rules  # noqa: E402
from ta_rules.decisionlog import DecisionLog  # noqa: E402

CLAIM = json.loads((ROOT / "examples" / "claims" / "late-shipment.json").read_text())
KEY = b"bench key"


def claims(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        facts = copy.deepcopy(CLAIM)
        amount = f"{1000 + i % 9000}.00"
        facts["contract"]["order_amount"]["amount"] = amount
        facts["payments"][0]["amount"]["amount"] = amount
        out.append(facts)
    return out


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str | None]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        yield None
        return
    bindir = Path(found[-1]).parent
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="ta-pg-", dir="/tmp"))
    sock = base / "sock"
    sock.mkdir()
    if prefix:
        import pwd

        user = pwd.getpwnam("postgres")
        for p in (base, sock):
            os.chown(p, user.pw_uid, user.pw_gid)
    data = base / "data"
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "postgres", "-E", "UTF8"], check=True, env=env, capture_output=True, cwd=base)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
                    "-w", "-o", f"-k {sock} -c listen_addresses='' -p 5432", "start"],
                   check=True, env=env, capture_output=True, cwd=base)
    try:
        yield f"postgresql:///postgres?host={sock}&port=5432&user=postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                        "stop"], env=env, capture_output=True, cwd=base)
        shutil.rmtree(base, ignore_errors=True)


def drop_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS ta_rules_decisions")


def sink_urls(tmp: Path, pg: str | None) -> dict[str, str]:
    urls = {"jsonl": f"jsonl:{tmp}/jsonl/decisions.jsonl", "sqlite": f"sqlite:{tmp}/log.db",
            "parquet": f"parquet:{tmp}/parquet"}
    if pg:
        urls["postgresql"] = pg
    return urls


def fresh(url: str) -> None:
    if url.startswith("postgres"):
        drop_pg(url)


def bench_evaluate(docs: list[dict[str, Any]], urls: dict[str, str]) -> dict[str, Any]:
    registry = ta_rules.default_registry()
    for facts in docs[:50]:
        ta_rules.evaluate(facts)

    def plain() -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        for facts in docs:
            ta_rules.evaluate(facts, registry=registry)
        return time.perf_counter() - t, time.process_time() - c

    def logged(url: str) -> tuple[float, float]:
        fresh(url)
        t, c = time.perf_counter(), time.process_time()
        with DecisionLog(url, mask_key=KEY, registry=registry) as log:
            futures = [log.submit_evaluation(facts)[1] for facts in docs]
            for f in futures:
                f.result()
        return time.perf_counter() - t, time.process_time() - c

    def synced(url: str, n: int) -> float:
        fresh(url)
        with DecisionLog(url, mask_key=KEY, registry=registry) as log:
            t = time.perf_counter()
            for facts in docs[:n]:
                log.evaluate(facts)
            return (time.perf_counter() - t) / n

    base, base_cpu = min(plain() for _ in range(3))
    rows: dict[str, Any] = {"none": {"seconds": base, "per_claim_us": base / len(docs) * 1e6,
                                     "ratio": 1.0, "cpu_us": base_cpu / len(docs) * 1e6,
                                     "cpu_ratio": 1.0}}
    for name, url in urls.items():
        seconds, cpu = min(logged(url) for _ in range(2))
        rows[name] = {"seconds": seconds, "per_claim_us": seconds / len(docs) * 1e6,
                      "ratio": seconds / base, "cpu_us": cpu / len(docs) * 1e6,
                      "cpu_ratio": cpu / base_cpu,
                      "sync_per_claim_us": synced(url, 200) * 1e6}
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_serve(docs: list[dict[str, Any]], urls: dict[str, str | None], clients: int,
                tmp: Path) -> dict[str, Any]:
    bodies = [json.dumps({"facts": f, "labels": {"claim": f"C-{i}"}}).encode()
              for i, f in enumerate(docs)]
    rows: dict[str, Any] = {}
    for name, url in urls.items():
        if url:
            fresh(url)
        port = free_port()
        args = [sys.executable, "-m", "ta_rules", "serve", "--port", str(port)]
        if url:
            args += ["--decision-log", url]
        env = {**os.environ, "TA_RULES_DECISION_LOG_KEY": KEY.decode(),
               "PYTHONPATH": str(ROOT)}
        log = open(tmp / f"serve-{name}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/healthz")
                    if c.getresponse().status == 200:
                        c.close()
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"serve ({name}) did not start")
                time.sleep(0.1)

            def work(k: int, port: int = port) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                for i in range(k, len(bodies), clients):
                    conn.request("POST", "/v1/evaluate", bodies[i],
                                 {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    assert r.status == 200, r.status
                conn.close()

            t = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                for f in [pool.submit(work, k) for k in range(clients)]:
                    f.result()
            seconds = time.perf_counter() - t
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            log.close()
        rows[name] = {"seconds": seconds, "requests_per_s": len(bodies) / seconds}
    base = rows["none"]["seconds"]
    for row in rows.values():
        row["ratio"] = row["seconds"] / base
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=5000)
    ap.add_argument("--serve-requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--postgres", metavar="URL")
    ap.add_argument("--only", choices=["evaluate", "serve"])
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmpdir, \
            (contextlib.nullcontext(args.postgres) if args.postgres
             else postgres_cluster()) as pg:
        tmp = Path(tmpdir)
        if args.only in (None, "evaluate"):
            rows = bench_evaluate(claims(args.claims), sink_urls(tmp / "eval", pg))
            print(f"\nevaluate, {args.claims} claims, one caller (best of runs):")
            print(f"  {'sink':<11} {'total s':>8} {'us/claim':>9} {'x none':>7} "
                  f"{'cpu us/claim':>13} {'cpu x none':>11} {'sync us/claim':>14}")
            for name, r in rows.items():
                sync = f"{r['sync_per_claim_us']:>14.0f}" if "sync_per_claim_us" in r else ""
                print(f"  {name:<11} {r['seconds']:>8.3f} {r['per_claim_us']:>9.0f} "
                      f"{r['ratio']:>7.2f} {r['cpu_us']:>13.0f} {r['cpu_ratio']:>11.2f} {sync}")
        if args.only in (None, "serve"):
            urls: dict[str, str | None] = {"none": None, **sink_urls(tmp / "serve", pg)}
            rows = bench_serve(claims(args.serve_requests), urls, args.clients, tmp)
            print(f"\nserve, {args.serve_requests} requests, {args.clients} clients:")
            print(f"  {'sink':<11} {'total s':>8} {'req/s':>8} {'x none':>7}")
            for name, r in rows.items():
                print(f"  {name:<11} {r['seconds']:>8.2f} {r['requests_per_s']:>8.0f} "
                      f"{r['ratio']:>7.2f}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
