"""Batch evaluation: JSON Lines in and out, in order, bad lines reported and never fatal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.batch import run_batch
from ta_rules.cli import main

from conftest import base_facts


def lines(n: int) -> list[str]:
    out = []
    for i in range(n):
        f = base_facts()
        f["contract"]["order_amount"]["amount"] = f"{1000 + i}.00"
        f["payments"][0]["amount"]["amount"] = f"{1000 + i}.00"
        out.append(json.dumps(f))
    return out


def test_evaluate_many_streams_in_order() -> None:
    docs = [json.loads(x) for x in lines(5)]
    verdicts = list(ta_rules.evaluate_many(iter(docs)))
    assert [str(v.max_refund) for v in verdicts] == [f"{1000 + i}.00 USD" for i in range(5)]


@pytest.mark.parametrize("workers", [1, 2])
def test_bad_lines_are_reported_and_skipped(workers: int) -> None:
    good = lines(450)
    data = [*good[:10], "{not json", *good[10:300], '{"as_of": "2015-01-01"}', "", *good[300:]]
    out, report = io.StringIO(), io.StringIO()
    summary = run_batch(data, out, workers=workers, report=report, source="in.jsonl")
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["line"] for r in records] == [n for n in range(1, len(data) + 1) if n != 303]
    assert summary.claims == 450 and summary.errors == 2
    assert records[10]["error"]["kind"] == "json"
    assert records[301]["error"]["kind"] == "facts"
    assert "in.jsonl:11: not a JSON document" in report.getvalue()
    assert "in.jsonl:302: invalid facts" in report.getvalue()
    assert summary.outcomes["covered"] == 450
    total = sum(1000 + i for i in range(450))
    assert summary.refunds == {"USD": total}
    assert records[0]["verdict"]["max_refund"] == {"amount": "1000.00", "currency": "USD"}


def test_strict_stops_at_the_first_bad_line() -> None:
    data = [*lines(3), "[]", *lines(3)]
    out = io.StringIO()
    summary = run_batch(data, out, strict=True, report=io.StringIO())
    assert summary.stopped_at == 4
    assert len(out.getvalue().splitlines()) == 4


def test_cli_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "claims.jsonl"
    src.write_text("\n".join(lines(20)) + "\n")
    dst = tmp_path / "verdicts.jsonl"
    code = main(["eval", "--batch", str(src), "--out", str(dst), "--workers", "2",
                 "--set", "min_order_amount_usd=1010.00", "--format", "json"])
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["claims"] == 20 and summary["outcomes"] == {"denied": 10, "covered": 10}
    assert summary["reasons"]["BELOW_MINIMUM_ORDER_AMOUNT"] == 10
    records = dst.read_text().splitlines()
    assert len(records) == 21
    assert json.loads(records[-1])["summary"]["claims"] == 20


def test_cli_batch_override_is_judged_by_each_line_s_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # allow_post_delivery_quality is a 2015.1 parameter: the 2015 orders take it, the
    # 2018 order (2017.12) is a bad line naming the parameter and the version
    later = base_facts()
    later["contract"].update(placed_on="2018-01-10", confirmed_on="2018-01-12")
    src = tmp_path / "claims.jsonl"
    src.write_text("\n".join([*lines(2), json.dumps(later)]) + "\n")
    dst = tmp_path / "verdicts.jsonl"
    code = main(["eval", "--batch", str(src), "--out", str(dst),
                 "--set", "allow_post_delivery_quality=true", "--format", "json"])
    captured = capsys.readouterr()
    summary: dict[str, Any] = json.loads(captured.out)
    assert summary["claims"] == 2 and summary["errors"] == 1, captured
    records = [json.loads(x) for x in dst.read_text().splitlines()]
    assert records[0]["verdict"]["parameters"] == {"allow_post_delivery_quality": True}
    assert records[2]["error"]["kind"] == "ParameterError"
    assert records[2]["error"]["message"].startswith(
        "parameter 'allow_post_delivery_quality' is not declared by trade-assurance 2017.12")
    assert ":3: parameter 'allow_post_delivery_quality' is not declared" in captured.err
    assert code == 1


@pytest.mark.parametrize("argv,needle", [
    (["eval", "--batch", "nope.jsonl"], "nope.jsonl: cannot read"),
    (["eval", "--batch", "."], "is a folder"),
    (["eval", "x.json", "--batch", "y.jsonl"], "not both"),
    (["eval", "--batch", "-", "--workers", "0"], "--workers must be at least 1"),
    (["eval"], "give a facts file"),
])
def test_cli_batch_usage_errors(argv: list[str], needle: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_cli_batch_bad_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a line of invalid UTF-8 is that line's error record, at its line; the rest are judged
    src = tmp_path / "claims.jsonl"
    good = lines(1)[0].encode()
    src.write_bytes(b"\n".join([good] * 499 + [b'{"as_of": "\xff\xfe"}'] + [good] * 100)
                    + b"\n")
    assert main(["eval", "--batch", str(src), "--out", str(tmp_path / "o.jsonl")]) == 1
    assert f"{src}:500: not UTF-8 text: byte 0xff at byte 12 of the line" in \
        capsys.readouterr().err
    records = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(records) == 601 and records[499] == {"line": 500, "error": {
        "kind": "encoding", "message": "not UTF-8 text: byte 0xff at byte 12 of the line "
        "cannot start a character"}}
    assert records[-1]["summary"]["claims"] == 599
