"""Soak runs: long evaluations that must stay correct under threads and flat in memory.

    python bench/soak.py durable   # 8 threads x 5,000 on the durable engine == one thread;
                                   # RSS after 200,000 evaluations vs after 10,000
    python bench/soak.py batch     # ta-rules eval --batch over 1,000,000 generated claims,
                                   # --workers 2, RSS of every process sampled as it runs

Numbers are printed; nothing asserts on time. The batch run streams the claims through a
pipe, so no file of a million lines is written.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import claims as claim_gen  # noqa: E402

import ta_rules  # noqa: E402


def rss_mib(pid: int | None = None) -> float:
    """Resident set size now, from /proc (MiB)."""
    path = f"/proc/{pid or os.getpid()}/status"
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return 0.0
    return 0.0


def key(v: ta_rules.Verdict) -> str:
    return v.model_dump_json(exclude={"ta_rules_version"})


def durable(args: argparse.Namespace) -> int:
    claims = claim_gen.generate(args.claims, seed=args.seed)
    print(f"durable soak: {len(claims)} distinct claims, python {sys.version.split()[0]}")
    expected = [key(ta_rules.evaluate(c, engine="durable")) for c in claims]
    compiled = [key(ta_rules.evaluate(c)).replace('"engine":"compiled"', '"engine":"durable"')
                for c in claims]
    agree = sum(a == b for a, b in zip(expected, compiled, strict=True))
    print(f"durable == compiled on {agree}/{len(claims)} claims")
    mismatches: list[tuple[int, int]] = []
    per_thread = args.per_thread

    def work(t: int) -> None:
        for i in range(per_thread):
            j = (i * 7919 + t * 104729) % len(claims)
            if key(ta_rules.evaluate(claims[j], engine="durable")) != expected[j]:
                mismatches.append((t, j))

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - started
    total = args.threads * per_thread
    print(f"{args.threads} threads x {per_thread}: {total} evaluations in {elapsed:.1f} s, "
          f"{len(mismatches)} differ from the single-thread verdicts")
    samples: list[tuple[int, float]] = []
    done = 0
    started = time.perf_counter()
    while done < args.total:
        for c in claims:
            ta_rules.evaluate(c, engine="durable")
            done += 1
            if done in (10_000, 50_000, 100_000, 150_000, args.total):
                samples.append((done, rss_mib()))
            if done >= args.total:
                break
    elapsed = time.perf_counter() - started
    for n, rss in samples:
        print(f"  RSS after {n:>7,} evaluations: {rss:7.1f} MiB")
    first = next(r for n, r in samples if n == 10_000)
    print(f"RSS growth from 10,000 to {args.total:,}: {samples[-1][1] - first:+.1f} MiB "
          f"({args.total / elapsed:,.0f} evaluations/s)")
    return 1 if mismatches or agree != len(claims) else 0


def batch(args: argparse.Namespace) -> int:
    root = HERE.parent
    script = Path(sys.executable).parent / "ta-rules"
    gen = subprocess.Popen([sys.executable, str(HERE / "claims.py"), str(args.claims), "-",
                            "--seed", str(args.seed)], stdout=subprocess.PIPE)
    run = subprocess.Popen([str(script), "eval", "--batch", "-", "--out", os.devnull,
                            "--workers", str(args.workers), "--format", "json"],
                           stdin=gen.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd=root)
    assert gen.stdout is not None
    gen.stdout.close()
    samples: list[tuple[float, float, float]] = []
    started = time.perf_counter()

    def family(pid: int) -> list[int]:
        out = [pid]
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return out
        for child in children:
            out.extend(family(int(child)))
        return out

    while run.poll() is None:
        time.sleep(args.every)
        pids = family(run.pid)
        parent = rss_mib(run.pid)
        total = sum(rss_mib(p) for p in pids)
        samples.append((time.perf_counter() - started, parent, total))
    out, err = run.communicate()
    gen.wait()
    elapsed = time.perf_counter() - started
    print(f"batch: {args.claims:,} claims, --workers {args.workers}, {elapsed:.0f} s")
    print(out.decode()[:400])
    if run.returncode != 0:
        print(err.decode()[-2000:])
    for t, parent, total in samples[:: max(1, len(samples) // 12)]:
        print(f"  t={t:6.0f} s  parent RSS {parent:6.1f} MiB  all processes {total:6.1f} MiB")
    running = [s for s in samples if s[2] > s[1]]  # while the workers were up
    if running:
        half = running[len(running) // 2:]
        print(f"RSS of all processes while judging: first sample {running[0][2]:.1f} MiB, "
              f"second half {min(s[2] for s in half):.1f} to {max(s[2] for s in half):.1f} "
              f"MiB; parent {running[0][1]:.1f} -> {running[-1][1]:.1f} MiB")
    print(f"this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}"
          " MiB")
    return run.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="which", required=True)
    d = sub.add_parser("durable")
    d.add_argument("--claims", type=int, default=2000)
    d.add_argument("--threads", type=int, default=8)
    d.add_argument("--per-thread", type=int, default=5000)
    d.add_argument("--total", type=int, default=200_000)
    d.add_argument("--seed", type=int, default=claim_gen.DEFAULT_SEED)
    b = sub.add_parser("batch")
    b.add_argument("--claims", type=int, default=1_000_000)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--every", type=float, default=2.0)
    b.add_argument("--seed", type=int, default=claim_gen.DEFAULT_SEED)
    args = parser.parse_args(argv)
    result: Any = durable(args) if args.which == "durable" else batch(args)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
