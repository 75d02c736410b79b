"""The ta-rules benchmark: engines, the hand-written floor and zen-engine, side by side.

    python bench/run.py [--claims N] [--rounds R] [--seed S] [--quick]
    python bench/run.py --check [--claims N]

Every throughput number is measured in this one process, on the same generated claims, in
interleaved rounds (each round runs every measurement once, in a rotated order); the table
shows the median over rounds, and ratios are taken between medians of the same run. The
machine is small and shared: numbers move from run to run, ratios much less. Nothing here
asserts on time.

``--check`` does not time anything: it verifies, on every benchmark claim, that the floor
and the zen graph give exactly the verdict ``ta_rules.evaluate`` gives - (outcome, reason
codes, max_refund, coverage_cap) - and that the scaled rulesets decide like the original.
It prints the first differences and exits 1 if there is any.

The table is also written as JSON to ``bench/results/latest.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.metadata
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(BENCH / "zen")]

import claims as claim_gen  # noqa: E402
import floor  # noqa: E402
import naive  # noqa: E402
import yaml  # noqa: E402

import ta_rules  # noqa: E402
from ta_rules import _fastfacts  # noqa: E402
from ta_rules.evaluate import decide, facts_hash  # noqa: E402

RESULTS = BENCH / "results" / "latest.json"
RULESET_VERSION = "2015.1"
SCALES = (1, 4, 16)

Decision = tuple[str, frozenset[str], ta_rules.Money, ta_rules.Money | None]


# === helpers =================================================================================

def machine() -> dict[str, Any]:
    """CPU model, cores, Python and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "ta_rules": ta_rules.__version__,
        "zen_engine": version("zen-engine"),
    }


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    for unit, scale in (("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.1f} {unit}"
    return f"{seconds / 1e-9:.0f} ns"


def fmt_rate(per_s: float | None) -> str:
    return "n/a" if per_s is None else f"{per_s:,.0f}/s"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (q in 0..100)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


@dataclass
class Measure:
    """One throughput measurement: a loop over ``items`` timed once per round."""

    key: str
    label: str
    run: Callable[[], None]
    items: int
    samples: list[float] = field(default_factory=list)  # seconds per item, one per round
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_rounds(measures: list[Measure], rounds: int, progress: bool) -> None:
    """Each round runs every measure once; the order rotates from round to round."""
    for r in range(rounds):
        shift = r % len(measures)
        for m in measures[shift:] + measures[:shift]:
            m.samples.append(timed(m.run) / m.items)
        if progress:
            print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)


# === what is measured ==========================================================================

@dataclass
class Setup:
    """The claims and everything prepared from them, shared by all measurements."""

    claims: list[dict[str, Any]]
    facts: list[ta_rules.Facts]
    ruleset: ta_rules.Ruleset
    params: Any

    @classmethod
    def make(cls, n: int, seed: int) -> Setup:
        claims = claim_gen.generate(n, seed)
        facts = [ta_rules.parse_facts(c) for c in claims]
        ruleset = ta_rules.default_registry().select(version=RULESET_VERSION)
        params, _ = ruleset.bind_parameters()
        return cls(claims, facts, ruleset, params)


def summary(v: ta_rules.Verdict) -> Decision:
    """A verdict as (outcome, reason codes, max_refund, coverage_cap)."""
    return v.outcome, frozenset(r.code for r in v.reasons), v.max_refund, v.coverage_cap


def naive_decision(claim: dict[str, Any]) -> Decision:
    """``bench/naive.py`` on a facts dict, its amounts as Money (for comparing)."""
    outcome, codes, max_refund, cap, currency = naive.decide(claim)
    return (outcome, codes, ta_rules.Money(max_refund, currency),
            None if cap is None else ta_rules.Money(cap, currency))


def reference(setup: Setup) -> list[Decision]:
    """``ta_rules.evaluate`` on every claim (the dicts, as a user passes them)."""
    return [summary(ta_rules.evaluate(c)) for c in setup.claims]


def import_zen_adapter() -> Any:
    """The zen adapter module; exits with a hint when zen-engine is not installed."""
    try:
        import zen_adapter
    except ImportError as exc:
        raise SystemExit(f"bench/run.py needs zen-engine ({exc}); "
                         "install it with `.venv/bin/pip install zen-engine`") from None
    return zen_adapter


def bundled_ruleset_path() -> Path:
    from importlib.resources import files

    return Path(str(files("ta_rules") / "rules" / f"trade-assurance-{RULESET_VERSION}.yaml"))


def count_rules(doc: dict[str, Any]) -> int:
    """Rules in a ruleset document: group rules, ground-table rows and outcome rules."""
    n = len(doc.get("outcome", []))
    for group in doc.get("groups", {}).values():
        n += len(group.get("rules", []))
        n += sum(len(rows) for rows in group.get("tables", {}).values())
    return n


def scaled_ruleset_text(text: str, factor: int) -> tuple[str, int]:
    """The 2015.1 ruleset with ``factor`` times its rules (the text, and the rule count).

    The added rules are gate rules that never fire (a category no claim has), each reading
    a value of its own (derived from the order amount) and giving a reason code of its own,
    declared under ``reasons:``: the compiled program evaluates every extra value and every
    extra condition on every claim, and decides exactly as the original does. Factor 1 is
    the original document passed through the same YAML round trip.
    """
    doc = yaml.safe_load(text)
    # the added reasons have no translations, and a ruleset whose messages lack one in a
    # shipped locale is refused; the scaled rulesets (1x too, to compare like with like)
    # render their messages from the rule file alone
    doc.pop("catalog", None)
    base = count_rules(doc)
    values, reasons = doc["values"], doc["reasons"]
    gates = doc["groups"]["gates"]["rules"]
    for k in range((factor - 1) * base):
        values[f"bench_extra_{k}"] = f"contract.order_amount.amount * {k + 2}"
        reasons[f"BENCH_EXTRA_{k}"] = {"kind": "denial", "message": f"Never given ({k})."}
        gates.append({
            "id": f"gate.bench-extra-{k}",
            "when": f'contract.category == "bench-never-{k}" and bench_extra_{k} > {k}',
            "reasons": [f"BENCH_EXTRA_{k}"],
        })
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), count_rules(doc)


def probe_durable(claims: list[dict[str, Any]], budget_s: float = 20.0,
                  ) -> tuple[list[dict[str, Any]], str]:
    """The claims ``engine="durable"`` decides without raising, and a note on the others.

    Stops trying after ``budget_s`` seconds (a slow engine is then timed on fewer claims).
    """
    try:
        ta_rules.evaluate(claims[0], engine="durable")
    except ta_rules.EngineUnavailableError as exc:
        return [], f"n/a ({type(exc).__name__}: {str(exc)[:80]})"
    except Exception:  # judged claim by claim below
        pass
    ok: list[dict[str, Any]] = []
    errors: dict[str, int] = {}
    t0 = time.perf_counter()
    tried = 0
    for c in claims:
        tried += 1
        try:
            ta_rules.evaluate(c, engine="durable")
            ok.append(c)
        except Exception as exc:  # a broken engine is a finding, not a crash of the benchmark
            what = f"{type(exc).__name__}: {str(exc)[:70]}"
            errors[what] = errors.get(what, 0) + 1
        if time.perf_counter() - t0 > budget_s:
            break
    notes = []
    if tried < len(claims):
        notes.append(f"tried the first {tried} claims (time budget)")
    if errors:
        worst = max(errors, key=lambda k: errors[k])
        notes.append(f"{sum(errors.values())} of {tried} claims raised, e.g. {worst}")
    if not ok:
        return [], "n/a (" + "; ".join(notes) + ")"
    if len(ok) != len(claims):
        notes.append(f"timed on the {len(ok)} it decided")
    return ok, "; ".join(notes)


def core_with(ruleset: ta_rules.Ruleset, params: Any, facts: ta_rules.Facts) -> Any:
    return decide(ruleset, facts, params)


def evaluate_with(ruleset: ta_rules.Ruleset, claim: dict[str, Any]) -> ta_rules.Verdict:
    return ta_rules.evaluate(claim, ruleset=ruleset)


def cli_batch_supported() -> tuple[bool, bool, str]:
    """(``--batch`` in ``ta-rules eval --help``, ``--workers`` too, why not)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "ta_rules", "eval", "--help"],
                              capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, False, f"ta-rules eval --help failed: {exc}"
    text = proc.stdout + proc.stderr
    if "--batch" not in text:
        return False, False, "ta-rules eval --help does not mention --batch"
    return True, "--workers" in text, ""


def run_cli_batch(infile: Path, outfile: Path, workers: int | None) -> float:
    cmd = [sys.executable, "-m", "ta_rules", "eval", "--batch", str(infile), "--out", str(outfile)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # 1: some claims had problems, still a run
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[:300]}")
    return elapsed


def import_time(reps: int) -> tuple[float, float]:
    """Median (import ta_rules, whole fresh interpreter run) in seconds."""
    code = ("import time; t = time.perf_counter(); import ta_rules; "
            "print(time.perf_counter() - t)")
    imports, walls = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        walls.append(time.perf_counter() - t0)
        imports.append(float(out.strip()))
    return statistics.median(imports), statistics.median(walls)


# === the benchmark ===========================================================================

def benchmark(args: argparse.Namespace) -> int:
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores"
          f" ({info['affinity']} usable), {info['python']}, {info['platform']}")
    print(f"ta-rules {info['ta_rules']}, zen-engine {info['zen_engine']}")
    print(f"Claims: {args.claims} (seed {args.seed}); rounds: {args.rounds}; "
          "medians over rounds, one process, interleaved\n", flush=True)
    progress = not args.quiet

    setup = Setup.make(args.claims, args.seed)
    n = len(setup.claims)
    rs, params = setup.ruleset, setup.params
    claims, facts = setup.claims, setup.facts

    zen_adapter = import_zen_adapter()
    ZenDecider, to_input = zen_adapter.ZenDecider, zen_adapter.to_input
    zd = ZenDecider()

    def loop(fn: Callable[[Any], Any], items: Iterable[Any]) -> Callable[[], None]:
        def run() -> None:
            for x in items:
                fn(x)
        return run

    def many() -> None:
        for _ in ta_rules.evaluate_many(claims):
            pass

    latencies: list[float] = []

    def latency_pass() -> None:
        clock = time.perf_counter_ns
        evaluate = ta_rules.evaluate
        for c in claims:
            t0 = clock()
            evaluate(c)
            latencies.append((clock() - t0) * 1e-9)

    override = {"claim_window_days": 30}  # the default value, so every verdict stays the same
    fresh = iter(range(10**9))

    def new_override_set(c: dict[str, Any]) -> Any:
        # a set of overrides never seen before (a window of 31, 32, ... days) on every claim
        return ta_rules.evaluate(c, parameters={"claim_window_days": 31 + next(fresh)})

    def without_fast_path() -> None:
        # evaluate as it validates a document the fast path steps aside for: the full models
        fast = _fastfacts.parse
        _fastfacts.parse = lambda data, vocabulary=None: None  # type: ignore[assignment]
        try:
            for c in claims:
                ta_rules.evaluate(c)
        finally:
            _fastfacts.parse = fast  # type: ignore[assignment]

    measures = [
        Measure("naive", "naive evaluator over dicts (bench/naive.py)",
                loop(naive.decide, claims), n),
        Measure("evaluate", "evaluate(dict), trace off", loop(ta_rules.evaluate, claims), n),
        Measure("evaluate_full_validation", "evaluate(dict), the fast facts path off",
                without_fast_path, n),
        Measure("evaluate_override", "evaluate(dict), the same parameter override",
                loop(lambda c: ta_rules.evaluate(c, parameters=override), claims), n),
        Measure("evaluate_new_override", "evaluate(dict), a new override set each claim",
                loop(new_override_set, claims), n),
        Measure("facts_hash", "facts hash alone (on validated Facts)",
                loop(facts_hash, facts), n),
        Measure("evaluate_trace", "evaluate(dict), trace on",
                loop(lambda c: ta_rules.evaluate(c, trace=True), claims), n),
        Measure("parse_facts", "parse_facts(dict) alone (validation)",
                loop(ta_rules.parse_facts, claims), n),
        Measure("fast_facts", "fast facts path alone (what evaluate validates with)",
                loop(_fastfacts.parse, claims), n),
        Measure("core", "decide() core on validated Facts",
                loop(lambda f: decide(rs, f, params), facts), n),
        Measure("floor", "floor (hand-written) on validated Facts", loop(floor.decide, facts), n),
        Measure("zen", "zen-engine on validated Facts (+conversions)", loop(zd.decide, facts), n),
        Measure("zen_input", "zen input conversion alone (to_input)", loop(to_input, facts), n),
        Measure("zen_decision", "zen-engine via create_decision().evaluate",
                loop(zd.decide_via_decision, facts), n),
        Measure("zen_e2e", "zen-engine end to end: parse_facts + zen",
                loop(lambda c: zd.decide(ta_rules.parse_facts(c)), claims), n),
        Measure("evaluate_many", "evaluate_many(claims) stream", many, n),
        Measure("latency_pass", "evaluate, each call timed (for p50/p99)", latency_pass, n),
    ]

    # the durable engine, when it is installed and works: timed on the claims it decides
    durable_claims, durable_note = probe_durable(claims)
    if durable_claims:
        k = len(durable_claims)
        measures.append(Measure("durable", "evaluate(dict, engine='durable')",
                                loop(lambda c: ta_rules.evaluate(c, engine="durable"),
                                     durable_claims), k, note=durable_note))
        if k != n:
            measures.append(Measure("durable_baseline", "evaluate(dict), the durable claims",
                                    loop(ta_rules.evaluate, durable_claims), k))

    # scaled rulesets: 1x, 4x, 16x the rules
    text = bundled_ruleset_path().read_text(encoding="utf-8")
    scaling: list[dict[str, Any]] = []
    for factor in SCALES:
        scaled, n_rules = scaled_ruleset_text(text, factor)
        t0 = time.perf_counter()
        srs = ta_rules.loads_ruleset(scaled, f"bench-{factor}x")
        compile_s = time.perf_counter() - t0
        sparams, _ = srs.bind_parameters()
        scaling.append({"factor": factor, "rules": n_rules, "compiled_rules": len(srs.rules),
                        "load_compile_s": compile_s})
        measures.append(Measure(f"scale_core_{factor}x", f"decide() core, {factor}x rules",
                                loop(functools.partial(core_with, srs, sparams), facts), n))
        measures.append(Measure(f"scale_eval_{factor}x", f"evaluate(dict), {factor}x rules",
                                loop(functools.partial(evaluate_with, srs), claims), n))

    # warm-up: one untimed pass of everything (imports, caches, zen's compilation)
    for m in measures:
        m.run()
    latencies.clear()
    run_rounds(measures, args.rounds, progress)
    by_key = {m.key: m for m in measures}

    # subprocess measurements
    cli: dict[str, Any] = {}
    batch, workers_flag, why = cli_batch_supported()
    cli_rounds = max(1, min(args.rounds, 3))
    if batch:
        with tempfile.TemporaryDirectory() as tmp:
            infile, outfile = Path(tmp) / "claims.jsonl", Path(tmp) / "verdicts.jsonl"
            batch_n = args.batch_claims or n
            claim_gen.write_jsonl(claims if batch_n == n else
                                  claim_gen.iter_claims(batch_n, args.seed), infile)
            for w in (1, 2):
                key = f"workers_{w}"
                if not workers_flag and w == 2:
                    cli[key] = {"note": "n/a (no --workers in ta-rules eval --help)"}
                    continue
                try:
                    walls = [run_cli_batch(infile, outfile, w if workers_flag else None)
                             for _ in range(cli_rounds)]
                    wall = statistics.median(walls)
                    cli[key] = {"wall_s": wall, "claims_per_s": batch_n / wall, "runs": walls,
                                "claims": batch_n}
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    cli[key] = {"note": f"n/a (failed: {exc})"[:160]}
    else:
        cli = {"workers_1": {"note": f"n/a ({why})"}, "workers_2": {"note": f"n/a ({why})"}}

    path = bundled_ruleset_path()
    loads = [timed(lambda: ta_rules.load_ruleset(path)) for _ in range(args.load_reps)]
    imp, wall = import_time(args.import_reps)
    latencies.sort()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux

    def med(key: str) -> float | None:
        m = by_key.get(key)
        return m.median if m else None

    def ratio(a: str, b: str) -> float | None:
        x, y = med(a), med(b)
        return None if x is None or y is None or y == 0 else x / y

    ratios = {
        "trace_on_over_off": ratio("evaluate_trace", "evaluate"),
        "core_over_floor": ratio("core", "floor"),
        "evaluate_over_floor": ratio("evaluate", "floor"),
        "evaluate_over_naive": ratio("evaluate", "naive"),
        "override_over_default": ratio("evaluate_override", "evaluate"),
        "new_override_over_default": ratio("evaluate_new_override", "evaluate"),
        # throughput(evaluate) / throughput(zen) = time(zen) / time(evaluate)
        "evaluate_over_zen_throughput": ratio("zen", "evaluate"),
        "evaluate_over_zen_e2e_throughput": ratio("zen_e2e", "evaluate"),
        "core_over_zen_throughput": ratio("zen", "core"),
        "zen_over_floor_time": ratio("zen", "floor"),
        "evaluate_many_over_evaluate_time": ratio("evaluate_many", "evaluate"),
    }
    for s in scaling:
        s["core_per_claim_s"] = med(f"scale_core_{s['factor']}x")
        s["eval_per_claim_s"] = med(f"scale_eval_{s['factor']}x")
        s["core_per_rule_s"] = s["core_per_claim_s"] / s["rules"]
    first, last = scaling[0], scaling[-1]
    marginal = (last["core_per_claim_s"] - first["core_per_claim_s"]) / (
        last["rules"] - first["rules"])

    # --- print --------------------------------------------------------------------------------
    rows: list[tuple[str, str, str, str]] = []

    def row(key: str, extra: str = "") -> None:
        m = by_key[key]
        med_s = m.median
        note = "; ".join(x for x in (m.note, extra) if x)
        rows.append((m.label, fmt_time(med_s), fmt_rate(1 / med_s if med_s else None), note))

    def r(x: float | None, text: str) -> str:
        return "" if x is None else text.format(x)

    row("naive")
    row("evaluate", r(ratios["evaluate_over_naive"], "evaluate/naive = {:.2f}x time"))
    row("evaluate_full_validation", r(ratio("evaluate_full_validation", "evaluate"),
                                      "{:.2f}x the time of evaluate with it"))
    row("evaluate_trace", r(ratios["trace_on_over_off"], "trace on/off = {:.2f}x time"))
    row("evaluate_override", r(ratios["override_over_default"],
                               "same override set vs none = {:.2f}x time"))
    row("evaluate_new_override", r(ratios["new_override_over_default"],
                                   "first claim with a set vs none = {:.2f}x time"))
    row("parse_facts", r(ratio("parse_facts", "evaluate"), "{:.0%} of evaluate"))
    row("fast_facts", r(ratio("fast_facts", "evaluate"), "{:.0%} of evaluate")
        + r(ratio("parse_facts", "fast_facts"), "; parse_facts/fast = {:.2f}x time"))
    row("core", r(ratio("evaluate", "core"), "evaluate/core = {:.2f}x time")
        + r(ratio("core", "evaluate"), "; {:.0%} of evaluate"))
    row("facts_hash", r(ratio("facts_hash", "evaluate"), "{:.0%} of evaluate"))
    e, pf, co, fh = med("evaluate"), med("fast_facts"), med("core"), med("facts_hash")
    if e and pf and co and fh:
        rest = max(0.0, e - pf - co)
        ratios["verdict_share"] = rest / e
        rows.append(("  verdict (evaluate - validation - core)", fmt_time(rest), "",
                     f"{rest / e:.0%} of evaluate, of which the facts hash {fh / e:.0%}"))
    row("floor", r(ratios["core_over_floor"], "core/floor = {:.2f}x time")
        + r(ratios["evaluate_over_floor"], "; evaluate/floor = {:.1f}x"))
    row("zen", r(ratios["evaluate_over_zen_throughput"], "evaluate/zen throughput = {:.2f}")
        + r(ratios["core_over_zen_throughput"], "; core/zen throughput = {:.2f}")
        + r(ratios["zen_over_floor_time"], "; zen/floor = {:.1f}x time"))
    row("zen_input")
    row("zen_decision", r(ratio("zen_decision", "zen"), "{:.1f}x the time of engine.evaluate"))
    row("zen_e2e", r(ratios["evaluate_over_zen_e2e_throughput"],
                     "evaluate/zen-e2e throughput = {:.2f} (both validate)"))
    if "durable" in by_key:
        base = "durable_baseline" if "durable_baseline" in by_key else "evaluate"
        row("durable", r(ratio("durable", base), "durable/compiled = {:.1f}x time"))
        if base != "evaluate":
            row(base)
    else:
        rows.append(("evaluate(dict, engine='durable')", "n/a", "n/a", durable_note))
    row("evaluate_many", r(ratios["evaluate_many_over_evaluate_time"],
                           "many/evaluate = {:.2f}x time"))
    for w in (1, 2):
        c = cli[f"workers_{w}"]
        label = f"ta-rules eval --batch --workers {w}"
        if "wall_s" in c:
            speedup = ""
            if w == 2 and "wall_s" in cli["workers_1"]:
                speedup = f"; 2 workers vs 1 = {cli['workers_1']['wall_s'] / c['wall_s']:.2f}x"
            rows.append((label, fmt_time(c["wall_s"] / c["claims"]), fmt_rate(c["claims_per_s"]),
                         f"whole process, {fmt_time(c['wall_s'])} for {c['claims']} claims"
                         f"{speedup}"))
        else:
            rows.append((label, "n/a", "n/a", c["note"]))
    rows.append(("load_ruleset(2015.1) load+compile", fmt_time(statistics.median(loads)), "",
                 f"median of {len(loads)}"))
    rows.append(("import ta_rules (fresh process)", fmt_time(imp), "",
                 f"median of {args.import_reps}; whole `python -c` run {fmt_time(wall)}"))
    rows.append(("evaluate latency p50 / p99", f"{fmt_time(percentile(latencies, 50))} / "
                 f"{fmt_time(percentile(latencies, 99))}", "",
                 f"{len(latencies)} timed calls; max {fmt_time(latencies[-1])}"))
    rows.append(("peak RSS (ru_maxrss)", f"{rss_self:.0f} MiB", "",
                 "this process, after everything above (incl. the 16x ruleset)"))

    widths = [max(len(x[i]) for x in [*rows, ("measurement", "per claim", "throughput", "")])
              for i in range(3)]
    head = ("measurement", "per claim", "throughput", "notes")
    print(f"{head[0]:<{widths[0]}}  {head[1]:>{widths[1]}}  {head[2]:>{widths[2]}}  {head[3]}")
    print("-" * (sum(widths) + 30))
    for label, t, rate, note in rows:
        print(f"{label:<{widths[0]}}  {t:>{widths[1]}}  {rate:>{widths[2]}}  {note}")

    print("\nScaling (generated rulesets: extra never-firing gate rules, each with its own "
          "value and reason code)")
    print(f"{'rules':>6}  {'compile':>9}  {'core/claim':>11}  {'core/rule':>10}  "
          f"{'evaluate/claim':>14}  {'core vs 1x':>10}")
    for s in scaling:
        print(f"{s['rules']:>6}  {fmt_time(s['load_compile_s']):>9}  "
              f"{fmt_time(s['core_per_claim_s']):>11}  {fmt_time(s['core_per_rule_s']):>10}  "
              f"{fmt_time(s['eval_per_claim_s']):>14}  "
              f"{s['core_per_claim_s'] / first['core_per_claim_s']:>9.2f}x")
    print(f"marginal core cost per added rule: {fmt_time(marginal)} per claim")

    # --- JSON -----------------------------------------------------------------------------------
    result = {
        "machine": info,
        "config": {"claims": n, "seed": args.seed, "rounds": args.rounds,
                   "ruleset_version": RULESET_VERSION},
        "measures": {m.key: {"label": m.label, "items": m.items, "median_s_per_item": m.median,
                             "per_s": 1 / m.median if m.median else None,
                             "samples_s_per_item": m.samples, "note": m.note}
                     for m in measures},
        "durable": durable_note or "measured",
        "ratios": ratios,
        "cli_batch": cli,
        "load_ruleset_s": {"median": statistics.median(loads), "samples": loads},
        "import_ta_rules_s": {"median": imp, "interpreter_wall_median": wall},
        "evaluate_latency_s": {"p50": percentile(latencies, 50),
                               "p90": percentile(latencies, 90),
                               "p99": percentile(latencies, 99), "max": latencies[-1],
                               "samples": len(latencies)},
        "peak_rss_mib": rss_self,
        "scaling": {"levels": scaling, "marginal_core_s_per_rule": marginal},
        "table": [dict(zip(("measurement", "per_claim", "throughput", "notes"), x, strict=True))
                  for x in rows],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwritten: {RESULTS}")
    return 0


# === --check ===============================================================================

def describe(d: Decision) -> str:
    outcome, codes, max_refund, cap = d
    return f"{outcome} {sorted(codes)} max_refund={max_refund} coverage_cap={cap}"


def difference(want: Decision, got: Decision) -> str:
    """What differs between two decisions, in words."""
    parts = []
    if want[0] != got[0]:
        parts.append(f"outcome {want[0]} -> {got[0]}")
    if want[1] != got[1]:
        missing, extra = sorted(want[1] - got[1]), sorted(got[1] - want[1])
        parts.append("codes" + (f" missing {missing}" if missing else "")
                     + (f" extra {extra}" if extra else ""))
    for i, name in ((2, "max_refund"), (3, "coverage_cap")):
        if want[i] != got[i]:
            parts.append(f"{name} {want[i]} -> {got[i]}")
    return "; ".join(parts)


def check(args: argparse.Namespace) -> int:
    from jdm_build import GRAPH_PATH, render

    ZenDecider = import_zen_adapter().ZenDecider

    setup = Setup.make(args.claims, args.seed)
    n = len(setup.claims)
    print(f"check: {n} claims (seed {args.seed}), ruleset {RULESET_VERSION}, default parameters")
    failures = 0
    if GRAPH_PATH.read_text(encoding="utf-8") != render():
        print(f"  STALE: {GRAPH_PATH.name} differs from jdm_build.py; "
              "run `python bench/zen/jdm_build.py`")
        failures += 1

    ref = reference(setup)
    zd = ZenDecider()
    # each candidate gets (validated facts, the facts dict as a caller passes it)
    Candidate = Callable[[ta_rules.Facts, dict[str, Any]], Decision]
    candidates: dict[str, Candidate] = {
        "naive (over dicts)": lambda f, c: naive_decision(c),
        "floor": lambda f, c: floor.decide(f),
        "zen": lambda f, c: zd.decide(f),
        "zen (create_decision)": lambda f, c: zd.decide_via_decision(f),
    }
    try:
        ta_rules.evaluate(setup.claims[0], engine="durable")
    except Exception as exc:
        print(f"  durable engine: not checked ({type(exc).__name__}: {str(exc)[:80]})")
    else:
        candidates["durable engine (info)"] = lambda f, c: summary(
            ta_rules.evaluate(f, engine="durable"))
    text = bundled_ruleset_path().read_text(encoding="utf-8")
    for factor in SCALES:
        srs = ta_rules.loads_ruleset(scaled_ruleset_text(text, factor)[0], f"bench-{factor}x")
        sparams, _ = srs.bind_parameters()

        def scaled(f: ta_rules.Facts, c: Any, s: Any = srs, p: Any = sparams) -> Decision:
            d = decide(s, f, p)
            cap = d.amounts["coverage_cap"]
            return (d.outcome, frozenset(x[0] for x in d.reasons),
                    d.amount("max_refund").rounded(), None if cap is None else cap.rounded())
        candidates[f"ruleset {factor}x (core)"] = scaled

    shown = 0
    for name, fn in candidates.items():
        diffs = []
        for i, (f, c, want) in enumerate(zip(setup.facts, setup.claims, ref, strict=True)):
            try:
                got = fn(f, c)
            except Exception as exc:  # report, do not stop
                got = ("error", frozenset({f"{type(exc).__name__}: {exc}"[:200]}),
                       want[2], None)
            if got != want:
                diffs.append((i, got))
        status = "OK" if not diffs else "DIFFERENT"
        print(f"  {name:<24} {n - len(diffs):>6}/{n} agree with ta_rules.evaluate  {status}")
        if name.endswith("(info)"):
            # ta-rules' own second engine: reported, but not the benchmark's to pass or fail
            if diffs:
                print("    (informational: a difference here is ta-rules' own; "
                      "not counted in the exit status)")
        else:
            failures += len(diffs)
        for i, got in diffs[: max(0, args.show - shown)]:
            shown += 1
            print(f"\n  claim #{i} ({name}):")
            print(f"    ta_rules.evaluate: {describe(ref[i])}")
            print(f"    {name + ':':<18} {describe(got)}")
            print(f"    differs in:        {difference(ref[i], got)}")
            print(f"    facts: {json.dumps(setup.claims[i], separators=(',', ':'))}\n")

    outcomes: dict[str, int] = {}
    for d in ref:
        outcomes[d[0]] = outcomes.get(d[0], 0) + 1
    mix = ", ".join(f"{k} {v / n:.0%}" for k, v in sorted(outcomes.items(), key=lambda x: -x[1]))
    print(f"  outcome mix (ta_rules): {mix}")
    print("check: " + ("all agree" if not failures else f"{failures} difference(s)"))
    return 1 if failures else 0


# === --paired ==============================================================================

def paired(args: argparse.Namespace) -> int:
    """Per-call medians, the candidates timed one after another on the same claim.

    On a loaded machine a loop over all claims is often preempted, and two loops of the
    same work can differ by 2x; the median of single calls, taken in turn on each claim,
    is what preemption disturbs least. Each ratio is between two such medians.
    """
    setup = Setup.make(args.claims, args.seed)
    zd = import_zen_adapter().ZenDecider()
    override = {"claim_window_days": 30}
    fresh = iter(range(10**9))
    fast = _fastfacts.parse

    def without_fast_path(c: dict[str, Any]) -> Any:
        _fastfacts.parse = lambda data, vocabulary=None: None  # type: ignore[assignment]
        try:
            return ta_rules.evaluate(c)
        finally:
            _fastfacts.parse = fast  # type: ignore[assignment]

    candidates: dict[str, Callable[[dict[str, Any]], Any]] = {
        "naive": naive.decide,
        "evaluate": ta_rules.evaluate,
        "evaluate, fast facts path off": without_fast_path,
        "evaluate, trace on": lambda c: ta_rules.evaluate(c, trace=True),
        "evaluate, same override set": lambda c: ta_rules.evaluate(c, parameters=override),
        "evaluate, new override set": lambda c: ta_rules.evaluate(
            c, parameters={"claim_window_days": 31 + next(fresh)}),
        "zen end to end (parse_facts + zen)": lambda c: zd.decide(ta_rules.parse_facts(c)),
        "fast facts path": _fastfacts.parse,
        "parse_facts": ta_rules.parse_facts,
    }
    names = list(candidates)
    times: dict[str, list[int]] = {k: [] for k in names}
    clock = time.perf_counter_ns
    for c in setup.claims:  # warm-up
        for fn in candidates.values():
            fn(c)
    order = random.Random(args.seed)
    for _ in range(args.rounds):
        for c in setup.claims:
            # a fresh random order on every claim: no candidate always runs after the same one
            # (the one before warms or cools the caches the next one uses)
            order.shuffle(names)
            for name in names:
                fn = candidates[name]
                t0 = clock()
                fn(c)
                times[name].append(clock() - t0)
    med = {k: statistics.median(v) * 1e-9 for k, v in times.items()}
    print(f"paired per-call medians: {len(setup.claims)} claims x {args.rounds} rounds, "
          "each claim through every candidate in turn")
    for k in candidates:
        print(f"  {k:<36} {fmt_time(med[k]):>10}")
    e = med["evaluate"]
    print(f"  evaluate / naive                     {e / med['naive']:.2f}x time")
    print(f"  evaluate / zen end to end            "
          f"{med['zen end to end (parse_facts + zen)'] / e:.2f}x throughput")
    print(f"  trace on / off                       {med['evaluate, trace on'] / e:.2f}x time")
    print(f"  same override set / none             "
          f"{med['evaluate, same override set'] / e:.2f}x time")
    print(f"  new override set / none              "
          f"{med['evaluate, new override set'] / e:.2f}x time")
    print(f"  fast facts path off / on             "
          f"{med['evaluate, fast facts path off'] / e:.2f}x time")
    print(f"  parse_facts / fast facts path        "
          f"{med['parse_facts'] / med['fast facts path']:.2f}x time")
    return 0


def _fresh(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` claims drawn with their own seed: new to a process that has not drawn it."""
    return claim_gen.generate(n, seed)


def _load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average n/a"


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def cold_start(reps: int) -> dict[str, float]:
    """Medians of fresh processes, run in turn: ``python -c pass``, ``import ta_rules``,
    ``ta-rules eval FILE`` with the compile cache warm and with it off."""
    claim = ROOT / "examples" / "claims" / "late-shipment.json"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TA_RULES_CACHE": "on", "TA_RULES_CACHE_DIR": tmp}
        off = {**env, "TA_RULES_CACHE": "off"}
        evaluate = [sys.executable, "-m", "ta_rules", "eval", str(claim)]
        _wall(evaluate, env)  # fills the cache
        runs: dict[str, tuple[list[str], dict[str, str]]] = {
            "python -c pass": ([sys.executable, "-c", "pass"], env),
            "import ta_rules": ([sys.executable, "-c", "import ta_rules"], env),
            "ta-rules eval FILE (cache warm)": (evaluate, env),
            "ta-rules eval FILE (cache off)": (evaluate, off),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(reps):
            for name, (cmd, e) in runs.items():
                times[name].append(_wall(cmd, e))
    return {k: statistics.median(v) for k, v in times.items()}


_BARE_APP = """
import json, sys
from fastapi import FastAPI, Request, Response
import uvicorn
app = FastAPI()
answer = open(sys.argv[2]).read()
@app.post("/v1/evaluate")
async def evaluate(request: Request) -> Response:
    json.loads(await request.body())
    return Response(answer, media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def serve_cpu(claims: list[dict[str, Any]]) -> tuple[float, float] | None:
    """Server CPU seconds per request: ``ta-rules serve``, and a bare FastAPI/uvicorn app
    that parses the same bodies and answers a verdict-sized body (the floor), in turn.

    Each server gets the same requests, one at a time over one connection; the figure is
    the server process's CPU time (Linux /proc) over the requests, after a warm-up.
    """
    try:
        import httpx
        import serve_load
    except ImportError:
        return None
    import socket

    bodies = [json.dumps(c).encode() for c in claims]
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules"
        shutil.copytree(ROOT / "ta_rules" / "rules", rules)
        answer = Path(tmp) / "answer.json"
        answer.write_text(ta_rules.evaluate(claims[0]).model_dump_json(indent=2))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            bare_port = sock.getsockname()[1]
        bare = subprocess.Popen([sys.executable, "-c", _BARE_APP, str(bare_port), str(answer)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        served, port = serve_load.start_server(rules, Path(tmp) / "log", 1)
        try:
            out = []
            for proc, p in ((served, port), (bare, bare_port)):
                url = f"http://127.0.0.1:{p}/v1/evaluate"
                with httpx.Client(timeout=30) as client:
                    for _ in range(100):
                        try:
                            client.post(url, content=bodies[0])
                            break
                        except httpx.TransportError:
                            time.sleep(0.1)
                    for b in bodies[:50]:
                        client.post(url, content=b)
                    cpu0 = serve_load.cpu_seconds(proc.pid)
                    for b in bodies:
                        client.post(url, content=b).raise_for_status()
                    out.append((serve_load.cpu_seconds(proc.pid) - cpu0) / len(bodies))
            return out[0], out[1]
        finally:
            for proc in (served, bare):
                proc.terminate()
                proc.wait(timeout=30)


def targets(args: argparse.Namespace) -> int:
    """The rows of the runtime issue's targets table, from one run, on claims new to it.

    Every candidate judges its own claims, drawn with a seed no other candidate and no
    earlier round used, so no figure is of caches warmed by the same claims. Per call:
    each step takes the next claim of every candidate, in a fresh random order, each call
    timed on its own (median over all calls). Hot loop: each round, every candidate loops
    over a fresh set of its own (median of the rounds' per-claim times), in turn.
    """
    print(f"targets: {args.claims} claims x {args.rounds} rounds per candidate, every claim "
          f"new to the process; {_load()} at the start", flush=True)
    zd = import_zen_adapter().ZenDecider()
    warm = _fresh(200, args.seed + 999_999)
    candidates: dict[str, Callable[[dict[str, Any]], Any]] = {
        "naive": naive.decide,
        "evaluate": ta_rules.evaluate,
        "evaluate, trace on": lambda c: ta_rules.evaluate(c, trace=True),
        "zen end to end": lambda c: zd.decide(ta_rules.parse_facts(c)),
    }
    for c in warm:  # imports, compiled programs, the zen graph: not the claims' caches
        for fn in candidates.values():
            fn(c)
    names = list(candidates)
    per_call: dict[str, list[int]] = {k: [] for k in names}
    clock = time.perf_counter_ns
    order = random.Random(args.seed)
    for r in range(args.rounds):
        pools = {k: _fresh(args.claims, args.seed + 1000 * (i + 1) + r)
                 for i, k in enumerate(names)}
        for j in range(args.claims):
            order.shuffle(names)
            for name in names:
                fn, c = candidates[name], pools[name][j]
                t0 = clock()
                fn(c)
                per_call[name].append(clock() - t0)
    call = {k: statistics.median(v) * 1e-9 for k, v in per_call.items()}
    loops: dict[str, list[float]] = {k: [] for k in names}
    for r in range(args.rounds):
        for i, name in enumerate(names):
            pool = _fresh(args.claims, args.seed + 500_000 + 1000 * (i + 1) + r)
            fn = candidates[name]
            t0 = time.perf_counter()
            for c in pool:
                fn(c)
            loops[name].append((time.perf_counter() - t0) / len(pool))
    loop = {k: statistics.median(v) for k, v in loops.items()}
    batch_rate = None
    batch, workers_flag, _ = cli_batch_supported()
    if batch:
        with tempfile.TemporaryDirectory() as tmp:
            infile, outfile = Path(tmp) / "claims.jsonl", Path(tmp) / "verdicts.jsonl"
            n = max(args.claims * 2, 2000)
            claim_gen.write_jsonl(claim_gen.iter_claims(n, args.seed + 77), infile)
            walls = [run_cli_batch(infile, outfile, 1 if workers_flag else None)
                     for _ in range(max(1, min(args.rounds, 3)))]
            batch_rate = n / statistics.median(walls)
    cold = cold_start(max(3, args.rounds))
    serve = serve_cpu(_fresh(max(500, args.claims), args.seed + 88))
    e = call["evaluate"]
    print("\nper call, interleaved (medians)")
    for k in candidates:
        print(f"  {k:<34} {fmt_time(call[k]):>10}")
    print("hot loop, fresh claims each round (medians of per-claim time)")
    for k in candidates:
        print(f"  {k:<34} {fmt_time(loop[k]):>10}")
    print("cold start (fresh processes, in turn, medians)")
    for k, v in cold.items():
        print(f"  {k:<34} {fmt_time(v):>10}")
    print("\n| measure | measured |\n|---|---|")
    print(f"| `evaluate(dict)` / `bench/naive.py`, per call, interleaved, distinct claims | "
          f"{e / call['naive']:.2f}x |")
    print(f"| same, hot loop | {loop['evaluate'] / loop['naive']:.2f}x |")
    print(f"| zen-engine end to end / `evaluate`, per call | "
          f"{call['zen end to end'] / e:.2f}x (hot loop "
          f"{loop['zen end to end'] / loop['evaluate']:.2f}x) |")
    if batch_rate is not None:
        print(f"| `eval --batch --workers 1` per-core throughput / `evaluate` loop | "
              f"{batch_rate * loop['evaluate']:.2f}x ({batch_rate:,.0f} claims/s, whole "
              "process) |")
    if serve is not None:
        print(f"| `serve` server CPU per request / bare FastAPI floor | "
              f"{serve[0] / serve[1]:.2f}x ({fmt_time(serve[0])} / {fmt_time(serve[1])}) |")
    base = cold["python -c pass"]
    print(f"| `ta-rules eval FILE` wall / `python -c pass` (warm cache) | "
          f"{cold['ta-rules eval FILE (cache warm)'] / base:.1f}x (cache off "
          f"{cold['ta-rules eval FILE (cache off)'] / base:.1f}x; `import ta_rules` "
          f"{cold['import ta_rules'] / base:.1f}x) |")
    print(f"| trace on / off, per call | {call['evaluate, trace on'] / e:.2f}x |")
    print(f"\n{_load()} at the end")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ta-rules benchmark (see bench/README.md)")
    ap.add_argument("--claims", type=int, default=None, help="claims to generate (2000)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds (7)")
    ap.add_argument("--seed", type=int, default=claim_gen.DEFAULT_SEED)
    ap.add_argument("--quick", action="store_true",
                    help="a fast smoke run: 300 claims, 3 rounds, fewer repetitions")
    ap.add_argument("--check", action="store_true",
                    help="verify floor and zen against ta_rules.evaluate on every claim")
    ap.add_argument("--paired", action="store_true",
                    help="per-call medians, candidates in turn on each claim (a loaded machine)")
    ap.add_argument("--targets", action="store_true",
                    help="the runtime targets table, on claims new to the process")
    ap.add_argument("--show", type=int, default=5, help="differences to print in --check")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--batch-claims", type=int, default=None,
                    help="claims in the file for the --batch rows (default: --claims; "
                         "the issue's figure is 200000, slow)")
    args = ap.parse_args(argv)
    args.claims = args.claims or (300 if args.quick else 2000)
    args.rounds = args.rounds or (3 if args.quick else 7)
    args.load_reps = 3 if args.quick else 7
    args.import_reps = 3 if args.quick else 7
    if args.claims < 1 or args.rounds < 1:
        ap.error("--claims and --rounds must be at least 1")
    if args.paired:
        return paired(args)
    if args.targets:
        return targets(args)
    return check(args) if args.check else benchmark(args)


if __name__ == "__main__":
    raise SystemExit(main())
