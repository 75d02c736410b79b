"""ta-rules impact: a history of claims judged under two rulesets, checked claim by claim."""

from __future__ import annotations

import collections
import csv
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main

from conftest import ROOT, base_facts, rules_text

N = 20_000
RAISED = "3000.00"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_claims", ROOT / "bench" / "claims.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["impact", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def report(*argv: str) -> dict[str, Any]:
    code, out, err = run(*argv, "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture(scope="module")
def claims() -> list[dict[str, Any]]:
    generated: list[dict[str, Any]] = _generator().generate(N)
    return generated


@pytest.fixture(scope="module")
def history(claims: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The claims as JSON Lines envelopes with ids, and a rule file that raises the minimum."""
    folder = tmp_path_factory.mktemp("history")
    with open(folder / "claims.jsonl", "w", encoding="utf-8") as fh:
        for i, c in enumerate(claims, 1):
            fh.write(json.dumps({"id": f"c{i:05d}", "facts": c}) + "\n")
    text = rules_text()
    raised = text.replace('default: "1000.00"\n    doc: Minimum order amount',
                          f'default: "{RAISED}"\n    doc: Minimum order amount')
    assert raised != text
    (folder / "raised.yaml").write_text(raised, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def raised_report(history: Path) -> dict[str, Any]:
    return report("--claims", str(history / "claims.jsonl"),
                  "--candidate", str(history / "raised.yaml"))


def test_impact_equals_judging_every_claim_under_both_rulesets(
        claims: list[dict[str, Any]], history: Path, raised_report: dict[str, Any]) -> None:
    candidate = ta_rules.load_ruleset(history / "raised.yaml")
    transitions: collections.Counter[str] = collections.Counter()
    refund: dict[str, Decimal] = collections.defaultdict(Decimal)
    gained: dict[str, list[Any]] = {}
    lost: dict[str, list[Any]] = {}
    changed = 0
    below_minimum_rule_gained = 0
    verdicts = {}
    for i, facts in enumerate(claims, 1):
        old = ta_rules.evaluate(facts)
        new = ta_rules.evaluate(facts, ruleset=candidate)
        verdicts[f"c{i:05d}"] = (old, new)
        transitions[f"{old.outcome}->{new.outcome}"] += 1
        assert old.max_refund.currency == new.max_refund.currency
        delta = new.max_refund.amount - old.max_refund.amount
        refund[new.max_refund.currency] += delta
        if (old.outcome, old.codes, old.max_refund) != (new.outcome, new.codes, new.max_refund):
            changed += 1
        for into, codes in ((gained, new.codes - old.codes), (lost, old.codes - new.codes)):
            for code in codes:
                entry = into.setdefault(code, [0, collections.defaultdict(Decimal)])
                entry[0] += 1
                entry[1][new.max_refund.currency] += delta
        rules_new = {r.rule for r in new.reasons}
        rules_old = {r.rule for r in old.reasons}
        below_minimum_rule_gained += ("gate.below-minimum" in rules_new - rules_old)

    r = raised_report
    assert r["claims"] == N and r["errors"]["count"] == 0
    assert r["transitions"] == dict(transitions)
    assert r["changed"] == changed
    assert r["refund_delta"] == {c: str(a) for c, a in refund.items()}
    for key, expected in (("reasons_gained", gained), ("reasons_lost", lost)):
        assert r[key] == {code: {"claims": n, "refund_delta": {c: str(a) for c, a in d.items()}}
                          for code, (n, d) in expected.items()}
    # raising the minimum only ever denies more: it must show up, and only in that direction
    assert r["reasons_gained"]["BELOW_MINIMUM_ORDER_AMOUNT"]["claims"] > 100
    assert "BELOW_MINIMUM_ORDER_AMOUNT" not in r["reasons_lost"]
    assert Decimal(r["refund_delta"]["USD"]) < 0
    assert all(key.endswith("->denied") or key.split("->")[0] == key.split("->")[1]
               for key in r["transitions"])
    assert r["by_rule"]["gate.below-minimum"] == {"gained": below_minimum_rule_gained, "lost": 0}
    # every example is what the claim's two verdicts say
    assert r["examples"]
    for key, items in r["examples"].items():
        assert 0 < len(items) <= 10
        for e in items:
            old, new = verdicts[e["id"]]
            assert key == f"{old.outcome}->{new.outcome}"
            assert e["line"] == int(e["id"][1:])
            for side, verdict in (("base", old), ("candidate", new)):
                assert e[side] == {"outcome": verdict.outcome,
                                   "reasons": sorted(verdict.codes),
                                   "max_refund": verdict.max_refund.to_json()}
    # without --base: the project's rules folder (rules/, the same files as the bundled ones)
    bundled = ta_rules.default_registry().select(None, "2015.1")
    assert r["base"]["kind"] == "folder" and r["base"]["version"] == "2015.1"
    assert r["base"]["content_hash"] == bundled.content_hash
    assert r["candidate"] == {
        "kind": "file", "label": str(history / "raised.yaml"), "name": "trade-assurance",
        "version": "2015.1", "content_hash": candidate.content_hash, "overrides": {},
        "rulesets": [{"name": "trade-assurance", "version": "2015.1",
                      "content_hash": candidate.content_hash, "claims": N}]}


def test_set_on_the_candidate_gives_the_same_counts_as_the_edited_file(
        history: Path, raised_report: dict[str, Any]) -> None:
    by_set = report("--claims", str(history / "claims.jsonl"), "--candidate", "2015.1",
                    "--set", f"min_order_amount_usd={RAISED}")
    assert by_set["candidate"]["overrides"] == {
        "min_order_amount_usd": {"amount": RAISED, "currency": "USD"}}
    for key in ("claims", "changed", "transitions", "refund_delta", "reasons_gained",
                "reasons_lost", "by_rule", "examples"):
        assert by_set[key] == raised_report[key], key


def test_csv_and_parquet_histories_give_identical_json(
        history: Path, raised_report: dict[str, Any]) -> None:
    duckdb = pytest.importorskip("duckdb")
    src = history / "claims.csv"
    with open(history / "claims.jsonl", encoding="utf-8") as fh, \
            open(src, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "facts"])
        for line in fh:
            doc = json.loads(line)
            writer.writerow([doc["id"], json.dumps(doc["facts"])])
    parquet = history / "claims.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{src}', all_varchar = true)) "
                             f"TO '{parquet}' (FORMAT parquet)")
    for path in (src, parquet):
        assert report("--claims", str(path), "--candidate",
                      str(history / "raised.yaml")) == raised_report, path


def test_dask_local_cluster_equals_two_workers(
        history: Path, raised_report: dict[str, Any]) -> None:
    pytest.importorskip("distributed")
    args = ("--claims", str(history / "claims.jsonl"), "--candidate",
            str(history / "raised.yaml"), "--workers", "2")
    assert report(*args) == raised_report
    assert report(*args, "--dask", "local") == raised_report


# --- bad records ---------------------------------------------------------------------


def _claim(amount: str = "5000.00") -> dict[str, Any]:
    f = base_facts()
    f["contract"]["order_amount"]["amount"] = amount
    f["payments"][0]["amount"]["amount"] = amount
    return f


def test_corrupt_lines_and_bad_facts_are_counted_with_line_numbers(tmp_path: Path) -> None:
    bad_facts = _claim()
    del bad_facts["claim"]
    lines = [
        json.dumps(_claim()).encode(),                      # 1 good, covered at 5000
        b"{not json",                                       # 2 corrupt
        json.dumps(bad_facts).encode(),                     # 3 bad facts
        b"",                                                # 4 blank: not a record
        json.dumps(_claim("1500.00")).encode(),             # 5 good, covered -> denied
        b'{"facts": "nope"}',                               # 6 envelope with bad facts
        b"\xff\xfe garbage",                                # 7 not UTF-8
        json.dumps({"id": "x", "facts": _claim()}).encode(),  # 8 good
        b"[1, 2]",                                          # 9 not a mapping
    ]
    src = tmp_path / "history.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run("--claims", str(src), "--candidate", "2015.1",
                         "--set", "min_order_amount_usd=2000", "--format", "json")
    assert code == 1
    r = json.loads(out)
    assert r["claims"] == 3 and r["transitions"] == {"covered->covered": 2,
                                                      "covered->denied": 1}
    errors = r["errors"]
    assert errors["count"] == 5
    assert errors["by_kind"] == {"encoding": 1, "facts": 3, "json": 1}
    assert [(e["line"], e["kind"]) for e in errors["first"]] == [
        (2, "json"), (3, "facts"), (6, "facts"), (7, "encoding"), (9, "facts")]
    assert errors["first"][1]["problems"][0]["path"] == "claim"
    # nothing lost: every non-blank line is a claim or an error
    assert r["claims"] + errors["count"] == 8
    assert [line.split(":")[1] for line in err.splitlines()] == ["2", "3", "6", "7", "9"]
    assert "Traceback" not in err
    assert r["examples"]["covered->denied"][0]["line"] == 5


def test_strict_stops_at_the_first_bad_record(tmp_path: Path) -> None:
    src = tmp_path / "history.jsonl"
    src.write_text("\n".join([json.dumps(_claim())] * 3 + ["{bad"] + [json.dumps(_claim())]))
    for workers in ("1", "2"):
        code, out, err = run("--claims", str(src), "--candidate", "2015.1", "--strict",
                             "--workers", workers)
        assert code == 1 and out == ""
        assert f"{src}:4: json:" in err and "stopped at line 4 (--strict)" in err


def test_empty_histories(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    code, out, err = run("--claims", str(empty), "--candidate", "2015.1", "--format", "json")
    assert code == 0 and "no claims" in err
    r = json.loads(out)
    assert (r["claims"], r["changed"], r["transitions"], r["errors"]["count"]) == (0, 0, {}, 0)
    pytest.importorskip("duckdb")
    for name, content in (("empty.csv", ""), ("header.csv", "id,facts\n")):
        (tmp_path / name).write_text(content)
        code, out, err = run("--claims", str(tmp_path / name), "--candidate", "2015.1",
                             "--format", "json")
        assert code == 0, err
        assert json.loads(out)["claims"] == 0


def test_bad_csv_rows_keep_their_row_numbers(tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    src = tmp_path / "history.csv"
    good = json.dumps(_claim()).replace('"', '""')
    src.write_text("id,facts\n"
                   f'a,"{good}"\n'
                   'b,"{""as_of"": 1}"\n'              # row 2: bad facts
                   f'c,"{good}",surplus,columns\n'     # row 3: a row DuckDB rejects
                   'd,{broken\n'                       # row 4: not JSON
                   f'e,"{good}"\n'
                   'f,\n')                             # row 6: no facts
    code, out, err = run("--claims", str(src), "--candidate", "2015.1", "--format", "json")
    assert code == 1, err
    r = json.loads(out)
    assert r["claims"] == 2
    assert [(e["line"], e["id"], e["kind"]) for e in r["errors"]["first"]] == [
        (2, "b", "facts"), (3, None, "csv"), (4, "d", "json"), (6, "f", "record")]


def test_recorded_verdicts_show_drift(tmp_path: Path) -> None:
    facts = [_claim(), _claim("1500.00"), _claim("800.00")]
    recorded = [ta_rules.evaluate(f).model_dump(mode="json") for f in facts]
    recorded[1]["outcome"] = "denied"  # decided differently back then
    recorded[1]["reasons"] = [{"code": "BELOW_MINIMUM_ORDER_AMOUNT",
                               "rule": "gate.below-minimum"}]
    recorded[1]["max_refund"] = {"amount": "0.00", "currency": "USD"}
    src = tmp_path / "history.jsonl"
    with open(src, "w") as fh:
        for i, (f, v) in enumerate(zip(facts, recorded, strict=True)):
            fh.write(json.dumps({"id": i, "facts": f, "verdict": v}) + "\n")
        fh.write(json.dumps({"id": "none", "facts": facts[0]}) + "\n")
    code, out, _ = run("--claims", str(src), "--base", "recorded", "--candidate", "2015.1",
                       "--format", "json")
    assert code == 1
    r = json.loads(out)
    assert r["claims"] == 3 and r["changed"] == 1
    assert r["transitions"] == {"covered->covered": 1, "denied->covered": 1, "denied->denied": 1}
    assert r["refund_delta"] == {"USD": "1500.00"}
    assert r["reasons_lost"]["BELOW_MINIMUM_ORDER_AMOUNT"]["claims"] == 1
    assert r["by_rule"]["gate.below-minimum"] == {"gained": 0, "lost": 1}
    assert r["examples"]["denied->covered"][0]["id"] == "1"
    assert [(e["line"], e["id"], e["kind"]) for e in r["errors"]["first"]] == [
        (4, "none", "verdict")]
    assert r["base"]["kind"] == "recorded" and r["base"]["rulesets"] == []
    pytest.importorskip("duckdb")
    table = tmp_path / "history.csv"
    with open(table, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "facts", "verdict"])
        for i, (f, v) in enumerate(zip(facts, recorded, strict=True)):
            writer.writerow([i, json.dumps(f), json.dumps(v)])
        writer.writerow(["none", json.dumps(facts[0]), ""])
    code, out, _ = run("--claims", str(table), "--base", "recorded", "--candidate", "2015.1",
                       "--format", "json")
    assert code == 1 and json.loads(out) == r


@pytest.mark.parametrize(("argv", "message"), [
    (["--candidate", "9.9"], "trade-assurance has no version '9.9'"),
    (["--candidate", "recorded", "--set", "claim_window_days=2"], "--set cannot change"),
    (["--candidate", "2015.1", "--set", "no_such=1"], "unknown parameter 'no_such'"),
    (["--candidate", "2015.1", "--workers", "0"], "--workers must be at least 1"),
])
def test_bad_arguments_are_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    src = tmp_path / "h.jsonl"
    src.write_text(json.dumps(_claim()) + "\n")
    code, out, err = run("--claims", str(src), *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_unreadable_histories_are_usage_errors(tmp_path: Path) -> None:
    code, _, err = run("--claims", str(tmp_path / "missing.jsonl"), "--candidate", "2015.1")
    assert code == 2 and "no such file" in err
    (tmp_path / "h.txt").write_text("")
    code, _, err = run("--claims", str(tmp_path / "h.txt"), "--candidate", "2015.1")
    assert code == 2 and "cannot tell the format" in err
    pytest.importorskip("duckdb")
    (tmp_path / "h.csv").write_text("a,b\n1,2\n")
    code, _, err = run("--claims", str(tmp_path / "h.csv"), "--candidate", "2015.1")
    assert code == 2 and "no 'facts' column" in err
    (tmp_path / "h.parquet").write_text("not parquet")
    code, _, err = run("--claims", str(tmp_path / "h.parquet"), "--candidate", "2015.1")
    assert code == 2 and "not a readable PARQUET file" in err


def test_text_and_html_carry_the_report(history: Path, raised_report: dict[str, Any]) -> None:
    code, text, _ = run("--claims", str(history / "claims.jsonl"), "--candidate",
                        str(history / "raised.yaml"))
    assert code == 0
    assert f"{N} claims judged, {raised_report['changed']} changed, 0 bad record(s)" in text
    assert f"{raised_report['refund_delta']['USD']} USD" in text.split("refund delta: ")[1]
    page = history / "report.html"
    code, out, _ = run("--claims", str(history / "claims.jsonl"), "--candidate",
                       str(history / "raised.yaml"), "--format", "html", "--out", str(page))
    assert code == 0 and out == ""
    html = page.read_text()
    assert "<script src" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


# --- Ctrl-C --------------------------------------------------------------------------


def _session_processes(sid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            found.append(int(entry))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("how", [["--workers", "2"], ["--workers", "2", "--dask", "local"]],
                         ids=["workers", "dask-local"])
def test_ctrl_c_leaves_no_process_behind(history: Path, how: list[str]) -> None:
    if "--dask" in how:
        pytest.importorskip("distributed")
    big = history / "big.jsonl"
    if not big.exists():
        with open(big, "wb") as out:
            chunk = (history / "claims.jsonl").read_bytes()
            for _ in range(5):
                out.write(chunk)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ta_rules", "impact", "--claims", str(big), "--candidate",
         str(history / "raised.yaml"), *how],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # SIGINT as a terminal's Ctrl-C finds it, whatever disposition this process
        # inherited (a script's background job starts with SIGINT ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while len(_session_processes(proc.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_session_processes(proc.pid)) >= 3, "the workers never started"
        time.sleep(0.5)  # the workers are busy judging
        while proc.poll() is None and time.monotonic() < deadline:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            time.sleep(0.5)  # an impatient user presses it again
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    deadline = time.monotonic() + 10
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session_processes(proc.pid) == []


# --- docs ----------------------------------------------------------------------------


def test_the_worked_example_in_docs_is_real_output(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "impact.md").read_text(encoding="utf-8")
    block = doc.split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    commands = [line[2:] for line in block if line.startswith("$ ")]
    shown = [line for line in block if not line.startswith("$ ")]
    assert commands[0] == "python bench/claims.py 1000 history.jsonl"
    _generator().write_jsonl(_generator().iter_claims(1000), tmp_path / "history.jsonl")
    argv = commands[1].split()
    assert argv[:2] == ["ta-rules", "impact"]
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        code, out, _ = run(*argv[2:])
    finally:
        os.chdir(cwd)
    assert code == 0

    def unhashed(lines: list[str]) -> list[str]:  # a comment in the rules is not drift
        return [re.sub(r"sha256:[0-9a-f]+", "sha256:...", line) for line in lines]

    assert unhashed(out.splitlines()) == unhashed(shown)


def test_a_progress_bar_on_a_terminal_and_none_when_piped(history: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    argv = [sys.executable, "-m", "ta_rules", "impact", "--claims",
            str(history / "claims.jsonl"), "--candidate", "2015.1", "--format", "json"]
    piped = subprocess.run(argv, capture_output=True, check=False)
    assert piped.returncode == 0 and piped.stderr == b""
    leader, follower = pty.openpty()
    # a terminal of 100 columns (a fresh pty has none, and a bar of no width is empty)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    shown = b""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        while True:  # read as it is written, or the terminal's buffer fills
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            shown += chunk
        stdout, _ = proc.communicate()
    finally:
        os.close(leader)
    assert proc.returncode == 0
    assert json.loads(stdout) == json.loads(piped.stdout)
    assert b"claims/s" in shown, shown[-300:]


def test_the_existing_cluster_recipe_in_docs_folds_to_the_same_counts(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from ta_rules.impact import (
        ImpactConfig,
        Tally,
        judge_partition,
        read_history,
        report_json,
        resolve_side,
    )

    claims = _generator().generate(400)
    paths = []
    for i in (0, 1):
        path = tmp_path / f"part{i}.jsonl"
        _generator().write_jsonl(claims[i * 200:(i + 1) * 200], path)
        paths.append(str(path))
    _generator().write_jsonl(claims, tmp_path / "all.jsonl")
    config = ImpactConfig(resolve_side("2015.1"),
                          resolve_side("2015.1", {"min_order_amount_usd": "3000"}))

    def judge_file(path: str, config: ImpactConfig) -> Tally:
        tally = Tally()
        partitions, _ = read_history(path)
        for records in partitions:
            tally.add(judge_partition(records, config))
        return tally

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        futures = client.map(judge_file, paths, config=config)
        total = Tally()
        for future in futures:
            total.add(future.result())
    folded = report_json(total, config)
    whole = report("--claims", str(tmp_path / "all.jsonl"), "--base", "2015.1",
                   "--candidate", "2015.1", "--set", "min_order_amount_usd=3000")
    for key in ("claims", "changed", "transitions", "refund_delta", "reasons_gained",
                "reasons_lost", "by_rule", "errors", "base", "candidate"):
        assert folded[key] == whole[key], key


def test_dask_address_of_a_running_scheduler(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    src = tmp_path / "claims.jsonl"
    _generator().write_jsonl(_generator().iter_claims(600), src)
    args = ("--claims", str(src), "--candidate", "2015.1", "--set", "min_order_amount_usd=3000")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        assert report(*args, "--dask", cluster.scheduler_address) == report(*args)


def test_a_candidate_folder_with_its_own_vocabulary(tmp_path: Path) -> None:
    folder = ROOT / "examples" / "extending" / "rules"
    if not folder.is_dir():
        pytest.skip("no examples/extending")
    registry = ta_rules.Registry.from_folder(folder)
    claims = _generator().generate(300)
    _generator().write_jsonl(claims, tmp_path / "h.jsonl")
    transitions: collections.Counter[str] = collections.Counter()
    for facts in claims:
        old, new = ta_rules.evaluate(facts), ta_rules.evaluate(facts, registry=registry)
        transitions[f"{old.outcome}->{new.outcome}"] += 1
    for workers in ("1", "2"):
        r = report("--claims", str(tmp_path / "h.jsonl"), "--candidate", str(folder),
                   "--workers", workers)
        assert r["claims"] == 300 and r["transitions"] == dict(transitions)
        assert r["candidate"]["kind"] == "folder"


def test_without_base_the_project_rules_folder_is_the_base(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    target = rules / "trade-assurance-2015.1.yaml"
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace('default: "1000.00"\n    doc: Minimum order amount',
                                   f'default: "{RAISED}"\n    doc: Minimum order amount'),
                      encoding="utf-8")
    (tmp_path / "ta-rules.toml").write_text('rules = "rules"\n', encoding="utf-8")
    history = tmp_path / "claims.jsonl"
    history.write_text(json.dumps(base_facts()) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    data = report("--claims", str(history), "--candidate", "bundled:2015.1")
    assert data["base"]["kind"] == "folder"
    assert data["base"]["content_hash"] == \
        ta_rules.Registry.from_folder(rules).select(version="2015.1").content_hash
    assert data["candidate"]["content_hash"] == \
        ta_rules.default_registry().select(version="2015.1").content_hash
    # the 5000 USD claim is covered under both (the raised minimum is 3000)
    assert data["claims"] == 1 and data["changed"] == 0
