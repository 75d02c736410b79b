"""A bounded load test of `ta-rules serve` on loopback, with a reload in the middle.

    python bench/serve_load.py                  # 5,000 requests, 16 concurrent, one SIGHUP
    python bench/serve_load.py --requests 20000 --concurrency 32 --workers 2
    python bench/serve_load.py --no-reload

A real server (`python -m ta_rules serve --port 0 --rules COPY --reload-signal`) is started
on 127.0.0.1 over a copy of the bundled rules. An async httpx client sends each generated
claim (bench/claims.py) to POST /v1/evaluate, `--concurrency` requests at a time. When half
of them have been answered, the copy's 2015.1 file is changed (the claim window's default
shortened from 30 to 20 days, so its content hash and some verdicts change) and the server
gets SIGHUP.

Every response must be byte for byte the library's verdict (`ta_rules.request.verdict_json`)
under the version it names: the original file's or the changed file's, both computed
beforehand with `ta_rules.Registry.from_folder` on the same folder. A response that matches
neither, a missing one or a non-200 one is counted and fails the run (exit 1). Then the same
claims go once through POST /v1/evaluate/batch, whose bytes must equal `run_batch`'s.

Printed: requests/s, client-side latency p50/p99/max, how many answers came from each
version. Numbers come from one machine shared by the client and the server; nothing
asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import claims as claim_gen  # noqa: E402
import httpx  # noqa: E402

import ta_rules  # noqa: E402
from ta_rules.batch import run_batch  # noqa: E402
from ta_rules.request import verdict_json  # noqa: E402

OLD = "  claim_window_days:\n    type: integer?\n    default: 30\n"
NEW = OLD.replace("30", "20")


def start_server(rules: Path, log: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    handle = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "ta_rules", "serve", "--port", "0",
                             "--rules", str(rules), "--reload-signal", "--workers",
                             str(workers)], stdout=subprocess.DEVNULL, stderr=handle)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            record = json.loads(line)
            if record.get("event") == "listening":
                return proc, int(record["port"])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"the server did not start:\n{log.read_text()}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def load(args: argparse.Namespace, port: int, bodies: list[bytes],
               expected: dict[str, list[str]], on_half: Any) -> dict[str, Any]:
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=args.concurrency),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    latencies: list[float] = [0.0] * len(bodies)
    answers: list[str | None] = [None] * len(bodies)
    statuses: list[int] = [0] * len(bodies)
    next_index = 0
    done = 0
    half = asyncio.Event()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport,
                                 timeout=60) as client:
        await client.get("/healthz")

        async def worker() -> None:
            nonlocal next_index, done
            while next_index < len(bodies):
                i = next_index
                next_index += 1
                t = time.perf_counter()
                response = await client.post("/v1/evaluate", content=bodies[i],
                                             headers={"content-type": "application/json"})
                latencies[i] = time.perf_counter() - t
                statuses[i] = response.status_code
                answers[i] = response.text
                done += 1
                if done == len(bodies) // 2:
                    half.set()

        async def reloader() -> None:
            await half.wait()
            if on_half is not None:
                await asyncio.to_thread(on_half)

        started = time.perf_counter()
        await asyncio.gather(reloader(), *(worker() for _ in range(args.concurrency)))
        seconds = time.perf_counter() - started
    by_version = {name: 0 for name in expected}
    wrong: list[int] = []
    for i, text in enumerate(answers):
        match = [name for name, verdicts in expected.items() if verdicts[i] == text]
        if statuses[i] != 200 or not match:
            wrong.append(i)
        else:
            by_version[match[0]] += 1
    return {"seconds": seconds, "latencies": latencies, "statuses": statuses,
            "wrong": wrong, "by_version": by_version, "answers": answers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--seed", type=int, default=claim_gen.DEFAULT_SEED)
    parser.add_argument("--no-reload", action="store_true")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    facts = claim_gen.generate(args.requests, seed=args.seed)
    bodies = [json.dumps(f).encode() for f in facts]
    work = Path(tempfile.mkdtemp(prefix="serve-load-"))
    try:
        rules = work / "rules"
        shutil.copytree(ROOT / "ta_rules" / "rules", rules)
        target = rules / "trade-assurance-2015.1.yaml"
        original = target.read_text(encoding="utf-8")
        assert OLD in original, "the claim window's default is not in the 2015.1 file"
        changed = original.replace(OLD, NEW)

        expected: dict[str, list[str]] = {}
        for name, text in (("original", original), ("changed", changed)):
            target.write_text(text, encoding="utf-8")
            registry = ta_rules.Registry.from_folder(rules)
            expected[name] = [verdict_json(ta_rules.evaluate(f, registry=registry))
                              for f in facts]
        target.write_text(original, encoding="utf-8")
        differ = sum(a != b for a, b in zip(*expected.values(), strict=True))

        log = work / "serve.log"
        proc, port = start_server(rules, log, args.workers)

        def reload() -> None:
            target.write_text(changed, encoding="utf-8")
            proc.send_signal(signal.SIGHUP)

        try:
            cpu_before = cpu_seconds(proc.pid)
            result = asyncio.run(load(args, port, bodies, expected,
                                      None if args.no_reload else reload))
            server_cpu = cpu_seconds(proc.pid) - cpu_before
            # the batch route, once, on the same claims, against run_batch in this process
            registry = ta_rules.Registry.from_folder(rules)
            reference = io.StringIO()
            run_batch((b.decode() for b in bodies), reference,
                      options={"registry": registry}, report=io.StringIO())
            started = time.perf_counter()
            with httpx.Client(timeout=120) as client:
                batch = client.post(f"http://127.0.0.1:{port}/v1/evaluate/batch",
                                    content=b"\n".join(bodies) + b"\n")
            batch_seconds = time.perf_counter() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        records = [json.loads(line) for line in log.read_text().splitlines()]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    latencies = result["latencies"]
    n = len(latencies)
    ms = [x * 1000 for x in latencies]
    reloads = sum(1 for r in records if r.get("event") == "reload")
    print(f"Machine: {platform.processor() or platform.machine()}, "
          f"CPython {platform.python_version()}, {platform.platform()}")
    print(f"ta-rules {ta_rules.__version__}, httpx {httpx.__version__}; server workers "
          f"{args.workers}; the client runs on the same machine; load average at start "
          f"{load_before[0]:.1f}, at end {os.getloadavg()[0]:.1f}")
    print(f"requests: {n}, concurrency {args.concurrency}, {len(set(bodies))} distinct claims "
          f"(seed {args.seed}); the two versions' verdicts differ on {differ} of them")
    print(f"answered 200: {sum(s == 200 for s in result['statuses'])}/{n}; "
          f"wrong, mixed or missing: {len(result['wrong'])}")
    print(f"answers by version: {result['by_version']}; reloads logged by the server: "
          f"{reloads}")
    print(f"throughput: {n / result['seconds']:,.0f} requests/s ({result['seconds']:.2f} s)")
    if args.workers == 1:
        print(f"server CPU time: {server_cpu / n * 1000:.2f} ms per request (the reload "
              f"included); the machine's other load inflates every figure here")
    print(f"latency (client side): p50 {percentile(ms, 50):.2f} ms, p99 "
          f"{percentile(ms, 99):.2f} ms, max {max(ms):.2f} ms, mean "
          f"{statistics.fmean(ms):.2f} ms")
    batch_ok = batch.status_code == 200 and batch.text == reference.getvalue()
    print(f"batch: {n} claims in one POST /v1/evaluate/batch in {batch_seconds:.2f} s "
          f"({n / batch_seconds:,.0f} claims/s); identical to run_batch: {batch_ok}")
    print(f"server exit status after SIGTERM: {code}")
    for i in result["wrong"][:3]:
        print(f"  request {i}: status {result['statuses'][i]}: "
              f"{(result['answers'][i] or '')[:300]}")
    failed = bool(result["wrong"]) or not batch_ok or code != 0 or (
        not args.no_reload and (reloads == 0 or min(result["by_version"].values()) == 0))
    print("FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
