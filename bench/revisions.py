"""Two revisions of ta-rules side by side: load+compile, evaluate and evaluate with trace.

Each revision is checked out into a temporary git worktree; a child process per round
imports that revision's package (and nothing of the other), times it on the same generated
claims, and prints one JSON line. Rounds alternate between the revisions; the table shows
the median over rounds of each child's best pass, and the ratio of the medians.

    .venv/bin/python bench/revisions.py ec84cfb HEAD --rounds 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import ta_rules
import claims as gen
from importlib.resources import files
docs = gen.generate(int(sys.argv[3]), gen.DEFAULT_SEED)
path = str(files("ta_rules") / "rules" / "trade-assurance-2015.1.yaml")
def best(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); out.append(time.perf_counter() - t)
    return min(out)
load = best(lambda: ta_rules.load_ruleset(path), 5)
for d in docs:
    ta_rules.evaluate(d)
plain = best(lambda: [ta_rules.evaluate(d) for d in docs], 3) / len(docs)
traced = best(lambda: [ta_rules.evaluate(d, trace=True) for d in docs], 3) / len(docs)
print(json.dumps({"load+compile (ms)": load * 1e3, "evaluate (us)": plain * 1e6,
                  "evaluate, trace on (us)": traced * 1e6}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--claims", type=int, default=400)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for rev in (args.old, args.new):
            tree = Path(tmp) / rev.replace("/", "_")
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                            str(tree), rev], check=True)
            trees[rev] = tree
        samples: dict[str, list[dict[str, float]]] = {rev: [] for rev in trees}
        try:
            for _ in range(args.rounds):
                for rev, tree in trees.items():
                    done = subprocess.run(
                        [sys.executable, "-c", CHILD, str(tree), str(ROOT / "bench"),
                         str(args.claims)], capture_output=True, text=True, check=True)
                    samples[rev].append(json.loads(done.stdout.strip().splitlines()[-1]))
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                                str(tree)], check=False)
    keys = list(samples[args.old][0])
    print(f"{'':28}{args.old:>12}{args.new:>12}{'new/old':>10}")
    for key in keys:
        old = statistics.median(s[key] for s in samples[args.old])
        new = statistics.median(s[key] for s in samples[args.new])
        print(f"{key:28}{old:12.1f}{new:12.1f}{new / old:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
