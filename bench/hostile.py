"""Time and memory of the largest hostile inputs (each run in a fresh process).

    python bench/hostile.py

Every input must end in the documented error (RulesetError / FactsError) — never another
exception, never a verdict — and the table shows how long that took and the peak memory of
the process that read it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CASES = {
    # name: python code that builds `content` (rules) or `doc` (facts)
    "rule file 3 MiB (over the 2 MiB cap)":
        "content = RULES + '#' + 'x' * (3 * 1024 * 1024)",
    "rule file: billion laughs (9 levels of aliases)":
        "content = 'a: &a [x, x, x, x, x, x, x, x, x]\\n' + ''.join("
        "f'{c}: &{c} [' + ', '.join(['*' + p] * 9) + ']\\n' for p, c in zip('abcdefgh', "
        "'bcdefghi'))",
    "rule file: 1,000 nested lists": "content = 'a: ' + '[' * 1000 + ']' * 1000",
    "rule file: 1 MiB title": "content = RULES.replace('title: Trade Assurance (seed-era "
                              "programme)', 'title: ' + 't' * (1024 * 1024 - 200))",
    "rule file: 12,800-character expression": "content = RULES.replace('when: contract.category in "
                                        "excluded_categories', 'when: ' + ' or '.join(['true']"
                                        " * 1600))",
    "facts: 10 MB description": "doc = FACTS; doc['claim']['description'] = 'x' * 10_000_000",
    "facts: 10 MB category": "doc = FACTS; doc['contract']['category'] = 'x' * 10_000_000",
    "facts: 10,000 levels of nesting": "doc = FACTS; d = doc['claim']\n"
                                       "for _ in range(10_000):\n    d['description'] = {}; "
                                       "d = d['description']",
    "facts: 100,000 quality requirements":
        "doc = FACTS; doc['contract']['quality_requirements'] = ['x'] * 100_000",
    "facts: 100,000 payments": "doc = FACTS; doc['payments'] = doc['payments'] * 100_000",
    "facts: 1e309 amount": "doc = FACTS; doc['contract']['order_amount']['amount'] = 1e309",
}

PROBE = r"""
import json, resource, sys, time
from importlib.resources import files
sys.path.insert(0, {tests!r})
import ta_rules
from conftest import base_facts
RULES = (files("ta_rules") / "rules" / "trade-assurance-2015.1.yaml").read_text()
FACTS = base_facts()
content = doc = None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{build}
start = time.perf_counter()
try:
    if content is not None:
        ta_rules.loads_ruleset(content, "hostile.yaml")
    else:
        ta_rules.evaluate(doc)
    result = "ACCEPTED"
except (ta_rules.RulesetError, ta_rules.FactsError) as exc:
    result = type(exc).__name__ + ": " + (exc.diagnostics[0].code if hasattr(exc, "diagnostics")
                                          else exc.problems[0].path)
except BaseException as exc:
    result = "CRASH " + type(exc).__name__
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"result": result, "ms": elapsed * 1000, "peak_mib": peak / 1024,
                   "input_mib": before / 1024}}))
"""


def main() -> int:
    tests = str(HERE.parent / "tests")
    bad = 0
    print(f"{'input':<50} {'result':<44} {'time':>9} {'peak RSS':>9}")
    for name, build in CASES.items():
        code = PROBE.format(tests=tests, build=build)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=False)
        try:
            data = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print(f"{name:<50} FAILED TO RUN: {out.stderr[-300:]}")
            bad += 1
            continue
        if data["result"].startswith(("CRASH", "ACCEPTED")):
            bad += 1
        print(f"{name:<50} {data['result']:<44} {data['ms']:7.1f} ms {data['peak_mib']:6.0f} MiB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
