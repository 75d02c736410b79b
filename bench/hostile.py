"""Time and memory of the largest hostile inputs (each run in a fresh process).

    python bench/hostile.py            # every table
    python bench/hostile.py --quick    # the hostile inputs and the check cases
    python bench/hostile.py --checks   # the check cases only
    python bench/hostile.py --http     # the HTTP table only

Every input must end in the documented error (RulesetError / FactsError) — never another
exception, never a verdict — and the table shows how long that took and the peak memory of
the process that read it.

The check table measures the CPU of ``ta-rules check`` on a hostile input (misspellings,
a long chain, a large record) against a baseline of as much ordinary content: per unit of
input, at most ``CPU_RATIO`` times the baseline's, or the run fails.

The last table runs the resource cases end to end (the ``ta-rules`` command, batch runs
with ``--workers 2``, repeated ruleset reloads), each against a bound on its time and on
the peak RSS of the largest process involved; a case over a bound fails the run. The bounds
are those of docs/performance.md.

The third table runs hostile HTTP clients against ``ta-rules serve`` on 127.0.0.1 (a fresh
server per case): stalled connections, a request whose answer could cost many times its
size, and many distinct locales, each against a bound on its time and on the growth of
the server's peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
    "facts: rate 1e-54": "doc = FACTS; doc['contract']['fx_rate_to_usd'] = '0.' + '0' * 53 + '1'",
    "rule file: message {minimum:>1000000000}":
        "content = RULES.replace('{minimum}', '{minimum:>1000000000}')",
    "rule file: default .inf": "content = RULES.replace('default: \"1000.00\"', 'default: .inf')",
    "rule file: 2,000 misspelled names (did you mean)":
        "content = RULES.replace('values:\\n', 'values:\\n' + ''.join("
        "f'  value_number_{i}: misspelled_name_{i} + 1\\n' for i in range(2000)), 1)",
    "rule file: 199 terms joined by +":
        "content = RULES.replace('when: contract.category in excluded_categories', 'when: ' + "
        "' + '.join(['contract.order_amount'] * 199) + ' > contract.order_amount')",
}

# name: (python code run in a fresh process, seconds bound, MiB bound). What comes before a
# "# measure" line prepares the input and is not timed; the code sets `result` (what
# happened) and `ok` (it is the documented outcome). `run(argv, stdin)` runs the ta-rules
# command; the peak RSS is that of the largest ta-rules process it started (or of the probe
# itself when it starts none).
RESOURCE_CASES: dict[str, tuple[str, float, float]] = {
    "batch: one 15.8 MB line, 1.3 M unknown keys": ("""
with src.open('w') as fh:  # written in pieces: the probe itself stays small
    fh.write('{"claim": {"k0": 1')
    for start in range(1, 1_300_000, 10_000):
        fh.write(''.join(f', "k{i}": 1' for i in range(start, min(start + 10_000, 1_300_000))))
    fh.write('}}\\n')
# measure
code, summary = run(['--batch', str(src), '--out', str(out), '--format', 'json'])
record = json.loads(out.read_text().splitlines()[0])
result = f"exit {code}, {record['error']['kind']}, {out.stat().st_size} B written"
ok = code == 1 and record['error']['kind'] == 'too-large'
""", 10.0, 300.0),
    "batch: 200 lines of 15 MB (3 GB on stdin), 2 workers": ("""
line = b'{"claim": "' + b'x' * (15 * 1024 * 1024) + b'"}\\n'
code, summary = run(['--batch', '-', '--out', str(out), '--workers', '2', '--format', 'json'],
                    (line for _ in range(200)))
result = f"exit {code}, {summary['errors']} too-large records"
ok = code == 1 and summary['errors'] == 200
""", 60.0, 250.0),
    "batch: 400 lines of 1.9 MiB, 2 workers": ("""
doc = FACTS; doc['claim']['description'] = 'x' * (19 * 1024 * 1024 // 10)
line = (json.dumps(doc) + '\\n').encode()
code, summary = run(['--batch', '-', '--out', str(out), '--workers', '2', '--format', 'json'],
                    (line for _ in range(400)))
result = f"exit {code}, {summary['errors']} facts errors"
ok = code == 1 and summary['errors'] == 400
""", 60.0, 400.0),
    "batch: 200 lines of 9,000 unknown keys, 2 workers": ("""
doc = FACTS; doc['claim'].update({f'k{i}': 1 for i in range(9_000)})
line = (json.dumps(doc) + '\\n').encode()
code, summary = run(['--batch', '-', '--out', str(out), '--workers', '2', '--format', 'json'],
                    (line for _ in range(200)))
size = out.stat().st_size
result = f"exit {code}, {summary['errors']} records, {size / 200 / 1024:.1f} KiB each"
ok = code == 1 and summary['errors'] == 200 and size < 200 * 20_000
""", 120.0, 300.0),
    "rules folder: a *.yaml linked to /dev/zero": ("""
folder = tmp / 'rules'; folder.mkdir(); (folder / 'ta.yaml').write_text(RULES)
(folder / 'z.yaml').symlink_to('/dev/zero')
# measure
code, _ = run(['--rules', str(folder), str(tmp / 'f.json')], cmd='eval')
result = f"exit {code}"; ok = code == 1
""", 10.0, 200.0),
    "rules folder: a *.yaml that is a FIFO": ("""
folder = tmp / 'rules'; folder.mkdir(); (folder / 'ta.yaml').write_text(RULES)
os.mkfifo(folder / 'f.yaml')
# measure
code, _ = run([str(folder)], cmd='check')
result = f"exit {code}"; ok = code == 1
""", 10.0, 200.0),
    "durable engine: 100 ruleset reloads": ("""
import gc
def once():
    rs = ta_rules.loads_ruleset(RULES, 'x.yaml')
    ta_rules.evaluate(FACTS, ruleset=rs, engine='durable')
for _ in range(10): once()
# measure
gc.collect(); first = rss()
for _ in range(100): once()
gc.collect(); per = (rss() - first) / 100
result = f"{per:.3f} MiB per reload"; ok = per < 0.2
""", 60.0, 200.0),
}

RESOURCE_PROBE = r"""
import json, os, resource, shutil, subprocess, sys, tempfile, time
from importlib.resources import files
from pathlib import Path
sys.path.insert(0, {tests!r})
import ta_rules
from conftest import base_facts
RULES = (files("ta_rules") / "rules" / "trade-assurance-2015.1.yaml").read_text()
FACTS = base_facts()
tmp = Path(tempfile.mkdtemp())
src, out = tmp / "in.jsonl", tmp / "out.jsonl"
(tmp / "f.json").write_text(json.dumps(FACTS))

def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) / 1024

started = []

def run(argv, stdin=None, cmd="eval"):
    started.append(argv)
    proc = subprocess.Popen([sys.executable, "-m", "ta_rules", cmd, *argv],
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if stdin is not None:
        for chunk in stdin:
            proc.stdin.write(chunk)
        proc.stdin.close()
    text = proc.stdout.read()
    code = proc.wait()
    try:
        return code, json.loads(text)
    except ValueError:
        return code, None

{setup}
start = time.perf_counter()
try:
{build}
except BaseException as exc:
    result, ok = "CRASH " + type(exc).__name__ + ": " + str(exc)[:100], False
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN if started else
                          resource.RUSAGE_SELF).ru_maxrss
shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps({{"result": result, "ok": ok, "s": elapsed, "peak_mib": peak / 1024}}))
"""

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


def resources(tests: str) -> int:
    """The resource cases, each against its bounds; the number over a bound."""
    bad = 0
    print(f"\n{'resource case':<52} {'result':<40} {'time':>14} {'peak RSS':>16}")
    for name, (build, seconds, mib) in RESOURCE_CASES.items():
        setup, _, measured = build.strip().rpartition("# measure")
        body = "\n".join("    " + line for line in measured.strip().splitlines())
        code = RESOURCE_PROBE.format(tests=tests, setup=setup, build=body)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=False)
        try:
            data = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print(f"{name:<52} FAILED TO RUN: {out.stderr[-300:]}")
            bad += 1
            continue
        over = not data["ok"] or data["s"] > seconds or data["peak_mib"] > mib
        bad += over
        print(f"{name:<52} {data['result']:<40} {data['s']:5.1f} s (<{seconds:3.0f}) "
              f"{data['peak_mib']:5.0f} MiB (<{mib:3.0f})" + ("  OVER" if over else ""))
    return bad


# --- the HTTP service ------------------------------------------------------------------

#: --client-timeout of the server the HTTP cases run against (seconds).
HTTP_CLIENT_TIMEOUT = 2.0


def _serve() -> tuple[subprocess.Popen[bytes], int]:
    import tempfile
    import time

    log = tempfile.TemporaryFile()  # noqa: SIM115 (it lives as long as the server)
    proc = subprocess.Popen([sys.executable, "-m", "ta_rules", "serve", "--port", "0",
                             "--client-timeout", str(HTTP_CLIENT_TIMEOUT)],
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log.seek(0)
        for line in log.read().splitlines():
            record = json.loads(line)
            if record.get("event") == "listening":
                port = int(record["port"])
                while _request(port, "GET", "/healthz")[0] != 200:
                    time.sleep(0.05)
                return proc, port
        time.sleep(0.05)
    raise RuntimeError("the server did not start")


def _request(port: int, method: str, path: str, body: bytes | None = None
             ) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body)
        answer = conn.getresponse()
        return answer.status, answer.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def _rss(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":")) / 1024


def _stalled(port: int) -> tuple[str, bool]:
    import socket
    import time

    head = b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
    socks = []
    for i in range(600):  # silent, mid-headers, mid-body
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall((b"", head, head + b"\r\n{")[i % 3])
        socks.append(sock)
    served = _request(port, "GET", "/healthz")[0] == 200  # still answering meanwhile
    open_ = set(range(len(socks)))
    deadline = time.monotonic() + HTTP_CLIENT_TIMEOUT + 10
    while open_ and time.monotonic() < deadline:
        for i in list(open_):
            socks[i].settimeout(0.01)
            try:
                if not socks[i].recv(65536):
                    open_.discard(i)
            except TimeoutError:
                pass
            except ConnectionResetError:
                open_.discard(i)
    for sock in socks:
        sock.close()
    return f"600 stalled: {600 - len(open_)} closed, served: {served}", not open_ and served


def _costly(port: int) -> tuple[str, bool]:
    import threading
    import time

    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import base_facts

    facts = base_facts()
    facts["claim"].update({f"unknown_{i}": 1 for i in range(50_000)})
    body = json.dumps(facts).encode()
    got: list[tuple[int, bytes]] = []
    costly = threading.Thread(target=lambda: got.append(
        _request(port, "POST", "/v1/evaluate", body)))
    costly.start()
    slowest = 0.0  # the other clients' wait meanwhile: the event loop is not held
    while costly.is_alive():
        start = time.perf_counter()
        _request(port, "GET", "/healthz")
        slowest = max(slowest, time.perf_counter() - start)
    costly.join()
    status, answer = got[0]
    ratio = len(answer) / len(body)
    return (f"{len(body) / 1024:.0f} KiB in, {status}, {len(answer) / 1024:.1f} KiB out, "
            f"healthz <={slowest * 1000:.0f} ms", status == 422 and ratio < 0.1
            and slowest < 0.5)


def _locales(port: int) -> tuple[str, bool]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import base_facts

    body = json.dumps(base_facts()).encode()
    names = ["en_US", "en_GB", "es_ES", "es_419", "zh_Hans_CN", "en_AU", "es_MX", "en_IN"]
    spellings = []
    for name in names:
        for i in range(2 ** len(name)):
            spelled = "".join(c.upper() if i >> k & 1 else c.lower() for k, c in enumerate(name))
            spellings += [spelled, spelled.replace("_", "-"), spelled + "@m" + str(i)]
    spellings = list(dict.fromkeys(spellings))
    codes: dict[int, int] = {}
    for name in spellings:
        status = _request(port, "POST", f"/v1/evaluate?locale={name}", body)[0]
        codes[status] = codes.get(status, 0) + 1
    return (f"{len(spellings)} spellings: " + ", ".join(f"{n}x{c}" for c, n in
                                                         sorted(codes.items())),
            set(codes) <= {200, 400})


# name: (probe, seconds bound, bound on the server's RSS growth in MiB)
HTTP_CASES = {
    "600 connections stalled (silent, mid-headers, mid-body)": (_stalled, 15.0, 40.0),
    # the answer under 0.1x the body, and other clients' requests answered meanwhile < 0.5 s
    "a 0.9 MiB body of 50,000 unknown keys": (_costly, 5.0, 100.0),
    "distinct locale spellings and modifiers": (_locales, 120.0, 20.0),
}


def http_cases() -> int:
    """The HTTP cases against a real server on 127.0.0.1; the number over a bound."""
    import time

    bad = 0
    print(f"\n{'HTTP case (serve --client-timeout ' + str(HTTP_CLIENT_TIMEOUT) + ')':<56} "
          f"{'result':<60} {'time':>14} {'server RSS growth':>20}")
    for name, (probe, seconds, mib) in HTTP_CASES.items():
        proc, port = _serve()
        try:
            before = _rss(proc.pid)
            start = time.perf_counter()
            result, ok = probe(port)
            elapsed = time.perf_counter() - start
            grown = _rss(proc.pid, "VmHWM") - before
        finally:
            proc.terminate()
            proc.wait()
        over = not ok or elapsed > seconds or grown > mib
        bad += over
        print(f"{name:<56} {result:<60} {elapsed:5.1f} s (<{seconds:3.0f}) "
              f"{grown:6.1f} MiB (<{mib:3.0f})" + ("  OVER" if over else ""))
    return bad


# name: python code that builds `files` (name -> text, written to one folder that
# `ta-rules check` then reads) from RULES; the CPU time of that check is measured. Each
# pair of a case and its "(baseline)" shows what the hostile part costs beyond the same
# amount of ordinary content: at most CPU_RATIO times as much.
CHECK_CASES: dict[str, str] = {
    "check: 300 valid names (baseline)":
        "files = {'r.yaml': with_values(f'  value_number_{i}: contract.order_amount + "
        "contract.order_amount\\n' for i in range(300))}",
    "check: 300 misspelled names (did you mean)":
        "files = {'r.yaml': with_values(f'  value_number_{i}: misspelled_name_{i} + "
        "contract.order_amount\\n' for i in range(300))}",
    "check: 2,000 valid names (baseline)":
        "files = {'r.yaml': with_values(f'  value_number_{i}: contract.order_amount + "
        "contract.order_amount\\n' for i in range(2000))}",
    "check: 2,000 misspelled names (did you mean)":
        "files = {'r.yaml': with_values(f'  value_number_{i}: misspelled_name_{i} + "
        "contract.order_amount\\n' for i in range(2000))}",
    "check: a 10-term and chain (baseline)":
        "files = {'r.yaml': with_when(' and '.join(f'a>{i}' for i in range(10)))}",
    "check: a 1,000-term and chain of bounds":
        "files = {'r.yaml': with_when(' and '.join(f'a>{i}' for i in range(1000)))}",
    "vocabulary: a record of 1,000 fields (baseline)":
        "files = {'v.vocabulary.yaml': vocabulary(1000)}",
    "vocabulary: a record of 8,000 fields":
        "files = {'v.vocabulary.yaml': vocabulary(8000)}",
}
#: How many times the CPU of its baseline a hostile check case may take (per unit of input).
CPU_RATIO = 2.0

CHECK_PROBE = r"""
import json, pathlib, sys, tempfile, time
from importlib.resources import files as package_files
from ta_rules.tools.check import check_paths
RULES = (package_files("ta_rules") / "rules" / "trade-assurance-2015.1.yaml").read_text()

def with_values(lines):
    return RULES.replace("\nvalues:\n", "\nvalues:\n" + "".join(lines), 1)

def with_when(condition):
    text = RULES.replace("when: contract.category in excluded_categories",
                         "when: " + condition, 1)
    return text.replace("\nvalues:\n", "\nvalues:\n  a: contract.order_amount.amount\n", 1)

def vocabulary(n):
    return ("vocabulary: v\nroot: facts\nrecords:\n  facts:\n    fields:\n" + "".join(
        f"      field_{{i}}: {{{{type: integer, minimum: 0, default: 0}}}}\n" for i in range(n)))

{build}
folder = pathlib.Path(tempfile.mkdtemp())
for name, text in files.items():
    (folder / name).write_text(text)
warm = folder / "warm"; warm.mkdir(); (warm / "w.yaml").write_text(RULES)
check_paths([warm])
start = time.process_time()
try:
    found, _, _ = check_paths([folder / name for name in files])
    result = f"{{len(found)}} diagnostics"
except BaseException as exc:
    result = "CRASH " + type(exc).__name__
print(json.dumps({{"result": result, "cpu_ms": (time.process_time() - start) * 1000}}))
"""


def checks() -> int:
    """The check cases: CPU time, and each hostile case against its baseline's."""
    bad = 0
    print(f"\n{'check case':<52} {'result':<20} {'CPU':>10} {'vs baseline':>12}")
    baseline: float | None = None
    previous = ""
    for name, build in CHECK_CASES.items():
        data, error = _probe(CHECK_PROBE.format(build=build))
        if data is None:
            print(f"{name:<52} FAILED TO RUN: {error}")
            bad += 1
            continue
        ms = data["cpu_ms"]
        ratio = ""
        if name.endswith("(baseline)"):
            baseline = ms
        elif baseline is not None:
            units = _units(name) / _units(previous)
            per_unit = ms / baseline / units
            over = per_unit > CPU_RATIO or data["result"].startswith("CRASH")
            bad += over
            ratio = f"{per_unit:5.2f}x/unit" + ("  OVER" if over else "")
        previous = name
        print(f"{name:<52} {data['result']:<20} {ms:7.0f} ms {ratio:>12}")
    return bad


def _probe(code: str) -> tuple[dict[str, Any] | None, str]:
    """The JSON line a probe prints last, or None and the end of what it wrote to stderr."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    lines = out.stdout.strip().splitlines()
    try:
        return (json.loads(lines[-1]), "") if lines else (None, out.stderr[-300:])
    except json.JSONDecodeError:
        return None, out.stderr[-300:]


def _units(name: str) -> float:
    """The size a case name states (300 names, 1,000 terms): what the CPU is divided by."""
    import re

    m = re.search(r"(\d[\d,]*)", name)
    return float(m.group(1).replace(",", "")) if m else 1.0


def main() -> int:
    if "--checks" in sys.argv:
        return 1 if checks() else 0
    tests = str(HERE.parent / "tests")
    if "--http" in sys.argv:
        return 1 if http_cases() else 0
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
    bad += checks()
    if "--quick" not in sys.argv:
        bad += resources(tests)
        bad += http_cases()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
