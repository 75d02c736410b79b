"""The command line, in process: results on stdout, diagnostics on stderr, exit codes."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ta_rules.cli import ExitCode, main

from conftest import EXAMPLES, rules_text

CLAIM = str(EXAMPLES / "claims" / "late-shipment.json")


def run(*argv: str, stdin: bytes | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_eval_text() -> None:
    code, out, err = run("eval", CLAIM)
    assert code == ExitCode.OK and not err
    assert out.startswith("COVERED  max refund 5000.00 USD")
    assert "LATE_SHIPMENT (basis) [late_shipment]: The order shipped on May 2, 2016" in out
    assert "rule late.covered at rules/trade-assurance-2015.1.yaml:" in out


def test_eval_text_with_trace() -> None:
    code, out, err = run("eval", CLAIM, "--trace")
    assert code == 0 and not err
    assert "trace:" in out
    assert 'late.not-late [late_shipment]: -  (shipped_on="2016-05-02", ' \
        'late_deadline="2016-05-01")' in out
    assert 'gate.payment-method-not-covered: -  (initial_missing=false' in out


def test_eval_json_is_the_lossless_verdict() -> None:
    _, out, _ = run("eval", CLAIM, "--format", "json", "--trace")
    data = json.loads(out)
    assert data["outcome"] == "covered"
    assert data["max_refund"] == {"amount": "5000.00", "currency": "USD"}
    assert data["ruleset"]["version"] == "2015.1"
    assert data["ruleset"]["content_hash"].startswith("sha256:")
    assert any(t["rule"] == "late.covered" and t["applied"] for t in data["trace"])


def test_eval_set_parameters_and_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    content = Path(CLAIM).read_bytes()
    code, out, _ = run("eval", "-", "--set", "claim_window_days=2", "--format", "json",
                       stdin=content, monkeypatch=monkeypatch)
    data = json.loads(out)
    assert code == 0
    assert data["outcome"] == "denied"
    assert data["parameters"] == {"claim_window_days": 2}
    code, out, _ = run("eval", CLAIM, "--set", "min_order_amount_usd=6000.00",
                       "--set", "excluded_categories=industrial_machinery,services")
    assert "BELOW_MINIMUM_ORDER_AMOUNT" in out and "EXCLUDED_CATEGORY" in out


def test_eval_a_scenario_file_uses_its_parameters(shared_examples: list[Path]) -> None:
    ta008 = next(p for p in shared_examples if p.name == "ta-008.yaml")
    code, out, _ = run("eval", str(ta008))
    assert code == 0 and out.startswith("COVERED  max refund 950.00 EUR")


def test_eval_pinned_version_and_locale() -> None:
    _, out, _ = run("eval", CLAIM, "--version", "2017.12", "--locale", "zh_Hans",
                       "--format", "json")
    data = json.loads(out)
    assert data["ruleset"]["version"] == "2017.12"
    assert "2016年5月2日" in data["reasons"][0]["message"]


@pytest.mark.parametrize("argv,needle", [
    (["eval", "missing.json"], "missing.json: no such file"),
    (["eval", "."], ".: is a folder, expected a file"),
    (["eval", CLAIM, "--set", "nope=1"], "unknown parameter 'nope'"),
    (["eval", CLAIM, "--set", "claim_windows_days=1"], "did you mean 'claim_window_days'"),
    (["eval", CLAIM, "--set", "claim_window_days=soon"], "expected an integer"),
    (["eval", CLAIM, "--set", "novalue"], "expected NAME=VALUE"),
    (["eval", CLAIM, "--version", "9.9"], "has no version '9.9'"),
    (["eval", CLAIM, "--ruleset", "other"], "no ruleset named 'other'"),
    (["eval", CLAIM, "--engine", "quantum"], "unknown engine 'quantum'"),
    (["eval", CLAIM, "--locale", "xx"], "unknown locale 'xx'"),
    (["eval"], "give a facts file (or - for stdin), or --batch FILE"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["eval", CLAIM, "--format", "xml"], "invalid choice: 'xml'"),
])
def test_bad_usage_is_one_clear_line_and_exit_2(argv: list[str], needle: str) -> None:
    code, out, err = run(*argv)
    assert code == ExitCode.USAGE
    assert needle in err
    assert "Traceback" not in err and not out


def test_invalid_facts_name_every_path(tmp_path: Path) -> None:
    data = json.loads(Path(CLAIM).read_text())
    data["contract"]["order_amount"]["amount"] = 12.5
    data["shipment"]["shipped"] = "yes"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    code, _, err = run("eval", str(bad))
    assert code == ExitCode.USAGE
    assert "contract.order_amount.amount" in err and "shipment.shipped: unknown field" in err


def test_invalid_utf8_and_yaml_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("eval", "-", stdin=b"as_of: \xff\xfe\n", monkeypatch=monkeypatch)
    assert code == ExitCode.USAGE and "yaml.encoding" in err and "<stdin>:1:" in err
    code, _, err = run("eval", "-", stdin=b"as_of: [\n", monkeypatch=monkeypatch)
    assert code == ExitCode.USAGE and "yaml.syntax" in err


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secret.json"
    f.write_text("{}")

    real_open = os.open

    def denied(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) == str(f):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    code, _, err = run("eval", str(f))
    assert code == ExitCode.USAGE
    assert err == f"{f}: cannot read the facts file: Permission denied\n"


def test_check_clean_and_broken(tmp_path: Path) -> None:
    code, out, err = run("check", "rules/")
    assert (code, err) == (0, "")
    assert out.startswith("3 file(s) checked: 0 error(s), 0 warning(s)\n"
                          "rules: rules/: trade-assurance-2015.1.yaml sha256:")
    broken = tmp_path / "broken.yaml"
    broken.write_text(rules_text().replace("contract.category in", "contract.categry in"))
    code, out, err = run("check", str(broken), "--format", "json")
    assert code == ExitCode.PROBLEMS
    (d,) = json.loads(out)["diagnostics"]
    assert d["code"] == "compile.unknown-fact" and d["line"] > 0 and d["column"] > 0
    code, _, err = run("check", str(tmp_path / "none.yaml"))
    assert code == ExitCode.PROBLEMS and "file.missing" in err


def test_test_command_summary_and_failure_diff(tmp_path: Path, shared_examples: list[Path]
                                               ) -> None:
    code, out, _ = run("test", str(shared_examples[0].parent))
    assert code == 0 and out.rstrip().endswith("15 passed, 0 failed")
    doc: dict[str, Any] = yaml.safe_load(shared_examples[0].read_text())
    doc["expect"]["outcome"] = "denied"
    doc["expect"]["reasons"] = ["NOT_LATE"]
    doc["expect"]["max_refund"] = {"amount": "0", "currency": "USD"}
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(doc))
    (tmp_path / "broken.yaml").write_text("name: x\nfacts: [\n")
    code, out, _ = run("test", str(tmp_path))
    assert code == ExitCode.PROBLEMS
    assert f"FAILED {wrong}:1: TA-001" in out
    assert "outcome: expected denied, got covered" in out
    assert "missing reason: NOT_LATE" in out
    assert "unexpected reason: LATE_SHIPMENT" in out
    assert "max_refund: expected 0 USD, got 5000.00 USD" in out
    assert "broken.yaml:3:1: error[yaml.syntax]" in out
    assert out.rstrip().endswith("0 passed, 1 failed, 1 error")
