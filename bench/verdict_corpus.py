"""Every verdict output of one revision, for comparing two revisions byte for byte.

Two steps, so both revisions judge exactly the same inputs::

    python bench/verdict_corpus.py inputs /tmp/inputs.pickle [--claims 2000]
    PYTHONPATH=OLD python bench/verdict_corpus.py outputs /tmp/inputs.pickle /tmp/old.txt
    PYTHONPATH=NEW python bench/verdict_corpus.py outputs /tmp/inputs.pickle /tmp/new.txt
    cmp /tmp/old.txt /tmp/new.txt

``inputs`` draws generated claims (half from ``bench/claims.py``, half from the hypothesis
strategies of ``tests/strategies.py``, derandomized, some with parameter overrides, some
made invalid). ``outputs`` judges each with every engine given (``--engines``), writing
``model_dump_json()``, ``model_dump(mode="json")`` and the traced verdict (or the error's
type and text), then the command line's outputs on the fixtures: ``ta-rules test --format
json`` of ``examples/scenarios`` and ``../shared/spec/examples`` (when present), the
``examples/extending`` project, ``ta-rules eval`` in both formats and ``--batch`` records.
Only the public API and the command line are used, so any revision can run it.

Verdicts recorded by one revision and replayed by another::

    PYTHONPATH=OLD python bench/verdict_corpus.py record /tmp/inputs.pickle /tmp/rec.pickle
    PYTHONPATH=NEW python bench/verdict_corpus.py replay /tmp/rec.pickle

``replay`` prints how many reproduce (``ta_rules.replay``) and exits 1 if any does not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import pickle
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _inputs(n: int) -> list[tuple[Any, dict[str, Any] | None]]:
    sys.path.insert(0, str(ROOT / "bench"))
    sys.path.insert(0, str(ROOT / "tests"))
    import claims as bench_claims
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from strategies import facts_documents, overrides

    rnd = random.Random(20261207)
    out: list[tuple[Any, dict[str, Any] | None]] = []
    for claim in bench_claims.generate(n // 2):
        out.append((claim, None))
    drawn: list[tuple[Any, dict[str, Any] | None]] = []

    @settings(max_examples=n - n // 2, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(facts_documents(), st.one_of(st.none(), overrides()))
    def collect(doc: dict[str, Any], params: dict[str, Any] | None) -> None:
        drawn.append((doc, params or None))

    collect()
    out.extend(drawn)
    # hostile variants: the error text must not change either
    for i in rnd.sample(range(len(out)), min(100, len(out))):
        doc = json.loads(json.dumps(out[i][0]))
        root = rnd.choice(sorted(doc))
        if isinstance(doc[root], dict) and doc[root]:
            key = rnd.choice(sorted(doc[root]))
            doc[root][key] = rnd.choice([["x"], "not a value", -1, {"a": 1}, None, 1e400])
        else:
            doc[root] = "broken"
        out.append((doc, None))
    return out


def _main(argv: list[str]) -> int:
    from ta_rules.cli import main

    code = 0
    buf = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, buf.getvalue(), err.getvalue()  # type: ignore[return-value]


def _outputs(inputs: list[tuple[Any, dict[str, Any] | None]], engines: list[str],
             shared: Path, write: Any) -> None:
    import ta_rules

    for engine in engines:
        for i, (doc, params) in enumerate(inputs):
            for trace in (False, True):
                try:
                    v = ta_rules.evaluate(doc, parameters=params, trace=trace, engine=engine)
                except ta_rules.TaRulesError as exc:
                    write(f"{engine} {i} {trace} error {type(exc).__name__}: {exc}")
                    continue
                write(f"{engine} {i} {trace} {v.model_dump_json()}")
                write(f"{engine} {i} {trace} " + json.dumps(v.model_dump(mode="json")))
    paths = [str(ROOT / "examples/scenarios")]
    if (shared / "spec/examples").is_dir():
        paths.append(str(shared / "spec/examples"))
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "claims.jsonl"
        batch.write_text("".join(json.dumps(d) + "\n" for d, _ in inputs[:300]) + "{bad\n")
        for engine in engines:
            for args in (["test", *paths, "--format", "json"],
                         ["test", "--rules", str(ROOT / "examples/extending/rules"),
                          str(ROOT / "examples/extending/scenarios"), "--format", "json"],
                         ["eval", str(ROOT / "examples/claims/late-shipment.json")],
                         ["eval", str(ROOT / "examples/claims/late-shipment.json"),
                          "--format", "json", "--trace"],
                         ["eval", "--batch", str(batch)]):
                rc, out, errtext = _main([*args, "--engine", engine])
                out = out.replace(str(ROOT), "ROOT")
                if "--batch" in args:  # its summary on stderr holds timings
                    errtext = ""
                write(f"{engine} cli {args[0]} rc={rc}\n{out}\n{errtext}")


def main() -> int:
    """Run the command line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("inputs")
    p.add_argument("out")
    p.add_argument("--claims", type=int, default=2000)
    p = sub.add_parser("outputs")
    p.add_argument("inputs")
    p.add_argument("out")
    p.add_argument("--engines", default="compiled,durable")
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    p = sub.add_parser("record")
    p.add_argument("inputs")
    p.add_argument("out")
    p = sub.add_parser("replay")
    p.add_argument("records")
    args = ap.parse_args()
    if args.cmd == "record":
        import ta_rules

        records = []
        for doc, params in pickle.loads(Path(args.inputs).read_bytes()):
            try:
                v = ta_rules.evaluate(doc, parameters=params, trace=len(records) % 2 == 1)
            except ta_rules.TaRulesError:
                continue
            records.append((json.loads(v.model_dump_json()), doc))
        Path(args.out).write_bytes(pickle.dumps(records))
        return 0
    if args.cmd == "replay":
        import ta_rules

        records = pickle.loads(Path(args.records).read_bytes())
        bad = [r for r in records if not ta_rules.replay(r[0], r[1]).reproduced]
        print(f"{len(records) - len(bad)} of {len(records)} recorded verdicts reproduce")
        return 1 if bad else 0
    if args.cmd == "inputs":
        Path(args.out).write_bytes(pickle.dumps(_inputs(args.claims)))
        return 0
    inputs = pickle.loads(Path(args.inputs).read_bytes())
    with open(args.out, "w", encoding="utf-8") as fh:
        _outputs(inputs, args.engines.split(","), Path(args.shared),
                 lambda line: fh.write(line + "\n"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
