"""What `ta-rules impact` costs: two rulesets against one `eval --batch`, and its throughput.

    python bench/impact.py [--claims N] [--rounds R] [--workers W]
    python bench/impact.py --scale N [--workers 2]

The first form generates N claims (bench/claims.py) into a file, then runs, in interleaved
rounds (the order rotated each round), ``ta-rules eval --batch FILE`` and ``ta-rules impact
--claims FILE`` with a candidate that raises the minimum, each as a whole process; it prints
the median wall time of each and their ratio. ``--scale`` runs impact once over N claims
and prints claims/s and the peak RSS of the parent and of the largest worker. Nothing here
asserts on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _claims_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_claims", HERE / "claims.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _commands(path: Path, workers: int) -> dict[str, list[str]]:
    ta = [sys.executable, "-m", "ta_rules"]
    return {
        "eval --batch": [*ta, "eval", "--batch", str(path), "--out", "/dev/null",
                         "--workers", str(workers)],
        "impact": [*ta, "impact", "--claims", str(path), "--candidate", "2015.1",
                   "--set", "min_order_amount_usd=3000", "--format", "json",
                   "--out", "/dev/null", "--workers", str(workers)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scale", type=int, metavar="N", help="one impact run over N claims")
    args = parser.parse_args()
    claims = _claims_module()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claims.jsonl"
        n = args.scale or args.claims
        started = time.perf_counter()
        claims.write_jsonl(claims.iter_claims(n), path)
        print(f"{n:,} claims generated in {time.perf_counter() - started:.0f} s "
              f"({path.stat().st_size / 2**20:,.0f} MiB)")
        commands = _commands(path, args.workers)
        if args.scale:
            wall = _timed(commands["impact"])
            child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"impact --workers {args.workers}: {n:,} claims in {wall:.1f} s, "
                  f"{n / wall:,.0f} claims/s (whole process); largest process peak RSS "
                  f"{child:.0f} MiB")
            return 0
        names = list(commands)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # warm the page cache and the bytecode once
            _timed(commands[name])
        for r in range(args.rounds):
            for name in names[r % 2:] + names[:r % 2]:
                samples[name].append(_timed(commands[name]))
        medians = {name: statistics.median(s) for name, s in samples.items()}
        print(f"{n:,} claims, --workers {args.workers}, {args.rounds} interleaved rounds, "
              "whole processes (median wall time):")
        for name in names:
            print(f"  {name:<14} {medians[name]:6.2f} s  {n / medians[name]:9,.0f} claims/s  "
                  f"samples {', '.join(f'{s:.2f}' for s in samples[name])}")
        print(f"  impact / eval --batch: {medians['impact'] / medians['eval --batch']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
