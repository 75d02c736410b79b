"""Time of the verification commands (needs the verify extra), medians of a few runs.

    python bench/verify.py [--runs 3]

Each row runs in this process after one warm-up: proving the bundled properties (both
versions, K=3 and K=5), the symbolic diff of 2015.1 and 2017.12, --why-not on every
denied or pending claim of the spec's examples (when ../shared is there, also with
--free all), the solver's part of ``ta-rules check`` (rules that never matter, both
versions), condition coverage of examples/scenarios, and suggesting scenarios for what
examples/scenarios/minimum.yaml leaves undecided.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import ta_rules
from ta_rules.testing.scenarios import load_scenarios
from ta_rules.verify.prove import prove_rulesets
from ta_rules.verify.symdiff import symbolic_diff

SPEC = Path(__file__).resolve().parent.parent / ".." / "shared" / "spec" / "examples"


def _median(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    reg = ta_rules.default_registry()
    old, new = reg.versions("trade-assurance")
    rows = [
        ("prove bundled properties, K=3", lambda: prove_rulesets(reg.rulesets, bound=3)),
        ("prove bundled properties, K=5", lambda: prove_rulesets(reg.rulesets, bound=5)),
        ("diff 2015.1 2017.12 --symbolic, K=3", lambda: symbolic_diff(old, new, bound=3)),
    ]
    if SPEC.is_dir():
        claims = [s for p in sorted(SPEC.glob("*.yaml")) for s in load_scenarios(p)[0]
                  if ta_rules.evaluate(s.facts).outcome in ("denied", "pending")]

        def why_not_all() -> None:
            for s in claims:
                ta_rules.counterfactual(s.facts)

        rows.append((f"--why-not on {len(claims)} spec claims", why_not_all))

        def why_not_free() -> None:
            for s in claims:
                ta_rules.counterfactual(s.facts, free=["all"])

        rows.append((f"--why-not --free all on {len(claims)} spec claims", why_not_free))
    rows += _qa_rows(reg)
    print(f"| what | median of {runs} (s) |\n|---|---|")
    for name, fn in rows:
        print(f"| {name} | {_median(fn, runs):.2f} |")


def _qa_rows(reg: object) -> list[tuple[str, Callable[[], object]]]:
    from ta_rules.testing.runner import run_paths
    from ta_rules.tools.never_matter import never_matter
    from ta_rules.verify.suggest import suggest

    root = Path(__file__).resolve().parent.parent
    rulesets = ta_rules.default_registry().rulesets

    def dead() -> None:
        for rs in rulesets:
            never_matter(rs)

    def coverage() -> None:
        run_paths([root / "examples" / "scenarios"], conditions=True)

    def suggested() -> None:
        report = run_paths([root / "examples" / "scenarios" / "minimum.yaml"],
                           conditions=True)
        suggest(report.conditions or {}, rulesets)

    return [("check: rules that never matter (2 versions)", dead),
            ("test --coverage --conditions examples/scenarios", coverage),
            ("scenarios suggest for minimum.yaml", suggested)]


if __name__ == "__main__":
    main()
