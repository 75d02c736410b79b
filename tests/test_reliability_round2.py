"""Round two of hostile inputs: wrong verdicts without an error, hostile files, batch data."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import ta_rules
from ta_rules.cli import main

from conftest import base_facts, rules_text

# --- date arithmetic out of the calendar --------------------------------------------------


LATE_DEADLINE = "late_deadline: effective_ship_by + late_shipment_grace_days"


def _far_deadline() -> str:
    # a rule that computes a date past 9999-12-31 from a claim of 2015
    text = rules_text().replace(LATE_DEADLINE, LATE_DEADLINE + " * 2 + 3000000")
    assert text != rules_text()
    return text


def test_date_overflow_is_a_located_error_not_a_null() -> None:
    ruleset = ta_rules.loads_ruleset(_far_deadline(), "far.yaml")
    with pytest.raises(ta_rules.TaRulesError) as info:
        ta_rules.evaluate(base_facts(), ruleset=ruleset)
    assert not isinstance(info.value, ta_rules.FactsError | ta_rules.EvaluationError)
    message = str(info.value)
    line = next(i for i, text in enumerate(_far_deadline().splitlines(), 1)
                if LATE_DEADLINE in text)
    assert message.startswith(f"value late_deadline (far.yaml:{line}:")
    assert "2015-03-01 + 3000000 days is outside the calendar" in message


@pytest.mark.parametrize("name,value", [("late_shipment_grace_days", 3_000_000),
                                        ("claim_window_days", -800_000),
                                        ("settlement_days", 693_596)])
def test_a_day_count_parameter_is_bounded(name: str, value: int) -> None:
    # a parameter added to or subtracted from a date is a day count: at most 693,595 days,
    # so that any date a claim may hold (1900 to 2999) plus or minus it stays in the calendar
    with pytest.raises(ta_rules.ParameterError, match=f"parameter '{name}'.*693595 days"):
        ta_rules.evaluate(base_facts(), parameters={name: value})
    assert ta_rules.evaluate(base_facts(), parameters={name: 693_595}).outcome


def test_date_overflow_on_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(base_facts()))
    assert main(["eval", str(path), "--set", "late_shipment_grace_days=3000000"]) == 2
    assert "693595 days" in capsys.readouterr().err
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "far.yaml").write_text(_far_deadline())
    assert main(["eval", str(path), "--rules", str(tmp_path / "rules")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: value late_deadline (") and "outside the calendar" in err
    assert "internal error" not in err


# --- verdicts must not depend on earlier claims -------------------------------------------


def _eur_claim(amount: str, rate: str) -> dict[str, Any]:
    f = base_facts()
    f["contract"]["order_amount"] = {"amount": amount, "currency": "EUR"}
    f["contract"]["fx_rate_to_usd"] = rate
    f["payments"][0]["amount"] = {"amount": amount, "currency": "EUR"}
    f["supplier"]["ta_limit"] = {"amount": "5000.00", "currency": "USD"}
    return f


def test_equal_money_printing_differently_is_not_shared_between_claims() -> None:
    params = {"currency_handling": "convert", "fx_rounding": "compare_unrounded",
              "limit_exceeded_handling": "deny"}
    first, second = _eur_claim("5000", "1.10"), _eur_claim("5000.00", "1.1")
    alone = ta_rules.evaluate(second, parameters=params,
                              ruleset=ta_rules.loads_ruleset(rules_text(), "fresh.yaml"))
    shared = ta_rules.loads_ruleset(rules_text(), "fresh.yaml")
    ta_rules.evaluate(first, parameters=params, ruleset=shared)
    after = ta_rules.evaluate(second, parameters=params, ruleset=shared)
    assert "ORDER_EXCEEDS_TA_LIMIT" in after.codes
    assert after.model_dump_json() == alone.model_dump_json()


def test_reasons_are_keyed_by_how_their_values_print() -> None:
    from decimal import Decimal

    from ta_rules.build import _reason
    from ta_rules.messages import resolve_locale
    from ta_rules.money import Money

    en = resolve_locale("en")

    def render(prior: str, ruleset: ta_rules.Ruleset) -> str:
        values = {"prior": Money(Decimal(prior), "USD"), "cap": Money(Decimal("1.00"), "USD")}
        return _reason(ruleset, "ALREADY_COMPENSATED", "gate.already-compensated", None,
                       values, en).model_dump_json()

    shared = ta_rules.loads_ruleset(rules_text(), "fresh.yaml")
    render("-0.00", shared)
    alone = render("0.00", ta_rules.loads_ruleset(rules_text(), "fresh.yaml"))
    assert render("0.00", shared) == alone
    assert '"amount":"0.00"' in alone and "$0.00" in alone


# --- negative zero ----------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["-0.00", "-0", "-0.0", 0])
def test_negative_zero_is_not_an_amount(amount: Any) -> None:
    f = base_facts()
    f["claim"]["prior_payouts"] = {"amount": amount, "currency": "USD"}
    if amount == 0:
        assert ta_rules.evaluate(f).outcome == "covered"
        return
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(f)
    assert info.value.paths == ("claim.prior_payouts.amount",)
    with pytest.raises(ta_rules.ParameterError, match="min_order_amount_usd"):
        ta_rules.evaluate(base_facts(), parameters={"min_order_amount_usd": amount})


def test_negative_zero_on_the_command_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps(base_facts()))
    assert main(["eval", str(path), "--set", "min_order_amount_usd=-0"]) == 2
    assert "negative zero" in capsys.readouterr().err


# --- numbers YAML and JSON would read as infinities or endless integers -------------------


@pytest.mark.parametrize("scalar,code", [(".inf", "yaml.non-finite"), ("-.inf", "yaml.non-finite"),
                                         (".nan", "yaml.non-finite"),
                                         ("9" * 4_301, "yaml.number-too-large")])
def test_non_finite_and_huge_numbers_in_rule_files(scalar: str, code: str) -> None:
    text = rules_text().replace("  late_shipment_grace_days:\n    type: integer\n    default: 0",
                                f"  late_shipment_grace_days:\n    type: integer\n"
                                f"    default: {scalar}")
    assert text != rules_text()
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(text, "hostile.yaml")
    first = info.value.diagnostics[0]
    assert first.code == code and first.location.source == "hostile.yaml"
    assert first.location.line > 1


@pytest.mark.parametrize("scalar", [".inf", ".nan", "9" * 4_301])
def test_non_finite_and_huge_numbers_in_facts_files(scalar: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(json.dumps(base_facts()).replace('"ship_by": "2015-03-01"',
                                                     f'"ship_within_days": {scalar}'))
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and f"{path}:1:" in err


@pytest.mark.parametrize("text,needle", [
    ('{"as_of": "2015-03-09", "as_of": "2015-03-10"}', "duplicate key 'as_of'"),
    ('{"contract": {"ship_within_days": NaN}}', "NaN"),
    ('{"contract": {"ship_within_days": Infinity}}', "Infinity"),
    ('{"contract": {"ship_within_days": ' + "9" * 5000 + "}}", "5000 digits"),
])
def test_batch_refuses_what_eval_file_refuses(text: str, needle: str) -> None:
    import io

    from ta_rules.batch import run_batch

    good = json.dumps(base_facts())
    out = io.StringIO()
    summary = run_batch([good + "\n", text + "\n", good + "\n"], out, report=io.StringIO())
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert summary.claims == 2 and summary.errors == 1
    assert records[1]["line"] == 2 and needle in records[1]["error"]["message"]


# --- batch: bad lines, the output file, interruptions ----------------------------------------


def _claims(n: int) -> list[str]:
    out = []
    for i in range(n):
        f = base_facts()
        f["contract"]["order_amount"]["amount"] = f"{1000 + i % 997}.00"
        f["payments"][0]["amount"]["amount"] = f"{1000 + i % 991}.00"
        f["shipment"]["shipped_on"] = ["2015-03-02", "2015-02-27", None][i % 3]
        out.append(json.dumps(f))
    return out


def _tiny_rate() -> str:
    f = base_facts()
    f["contract"]["order_amount"] = {"amount": "5000.00", "currency": "EUR"}
    f["payments"][0]["amount"] = {"amount": "5000.00", "currency": "EUR"}
    f["contract"]["fx_rate_to_usd"] = "0." + "0" * 53 + "1"
    return json.dumps(f)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_line_that_fails_to_judge_is_its_own_record(workers: int, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    claims = _claims(460)
    src.write_text("\n".join([*claims[:400], _tiny_rate(), *claims[400:]]) + "\n")
    dst = tmp_path / "out.jsonl"
    code = main(["eval", "--batch", str(src), "--out", str(dst), "--workers", str(workers),
                 "--set", "currency_handling=convert"])
    assert code in (0, 1)
    assert "internal error" not in capsys.readouterr().err
    records = [json.loads(x) for x in dst.read_text().splitlines()]
    assert [r["line"] for r in records[:-1]] == list(range(1, 462))
    assert sum("verdict" in r for r in records) >= 460
    assert records[-1]["summary"]["claims"] + records[-1]["summary"]["errors"] == 461


def test_error_records_are_bounded() -> None:
    import io

    from ta_rules.batch import run_batch

    f = base_facts()
    f["claim"].update({f"unknown_{i}": i for i in range(9_000)})
    out = io.StringIO()
    run_batch([json.dumps(f)], out, report=io.StringIO())
    record = json.loads(out.getvalue())
    assert record["error"]["kind"] == "facts"
    assert record["error"]["more_problems"] == 9_000 - 20
    assert len(out.getvalue()) < 20_000


def test_out_equal_to_the_input_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(_claims(3)) + "\n")
    before = src.read_bytes()
    (tmp_path / "link.jsonl").symlink_to(src)
    for out in (src, tmp_path / "link.jsonl", tmp_path / "." / "in.jsonl"):
        assert main(["eval", "--batch", str(src), "--out", str(out)]) == 2
        assert "is the input file" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "link.jsonl"]


def test_a_finished_run_is_renamed_into_place_with_a_summary(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text("\n".join(_claims(30)) + "\n")
    assert main(["eval", "--batch", str(src), "--out", str(dst)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl"]
    last = json.loads(dst.read_text().splitlines()[-1])
    assert last["summary"]["claims"] == 30 and "seconds" not in last["summary"]
    # a second run over a kept partial file without --resume is refused, not overwritten
    from ta_rules.batch import partial_path

    partial_path(dst).write_text(dst.read_text().splitlines()[0] + "\n")
    assert main(["eval", "--batch", str(src), "--out", str(dst)]) == 2
    assert partial_path(dst).exists()


PROBE_FSIZE = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from ta_rules.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run(args: list[str], *prefix: str) -> Any:
    import subprocess
    import sys

    return subprocess.run([sys.executable, *prefix, *args], capture_output=True, text=True,
                          check=False, timeout=300)


def test_a_full_disk_is_a_clear_error_and_resume_finishes_the_run(tmp_path: Path) -> None:
    from ta_rules.batch import partial_path

    src, dst, ref = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "ref.jsonl"
    src.write_text("\n".join(_claims(1000)) + "\n")
    assert main(["eval", "--batch", str(src), "--out", str(ref)]) == 0
    argv = ["eval", "--batch", str(src), "--out", str(dst)]
    # the file system refuses writes beyond half the output (RLIMIT_FSIZE: EFBIG, like a
    # full disk)
    limit = ref.stat().st_size // 2
    done = _run([str(limit), *argv], "-c", PROBE_FSIZE)
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "--resume" in done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    kept = partial_path(dst).read_bytes()
    assert 0 < len(kept) <= limit and kept.endswith(b"\n") and not dst.exists()
    assert main([*argv, "--resume"]) == 0
    assert dst.read_bytes() == ref.read_bytes()


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("batch")
    src, ref = folder / "in.jsonl", folder / "ref.jsonl"
    src.write_text("\n".join(_claims(10_000)) + "\n")
    assert main(["eval", "--batch", str(src), "--out", str(ref)]) == 0
    return src, ref.read_bytes()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_batch_leaves_no_process_and_resumes_exactly(
        how: str, tmp_path: Path, uninterrupted: tuple[Path, bytes]) -> None:
    import signal
    import subprocess
    import sys
    import time

    from ta_rules.batch import partial_path

    src, reference = uninterrupted
    dst = tmp_path / "out.jsonl"
    argv = ["-m", "ta_rules", "eval", "--batch", str(src), "--out", str(dst), "--workers", "2"]
    # SIGINT as a terminal's Ctrl-C finds it, whatever disposition this process inherited
    # (a script's background job starts with SIGINT ignored, and so would the child)
    proc = subprocess.Popen([sys.executable, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    partial = partial_path(dst)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
            not partial.exists() or partial.stat().st_size < 50_000):
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) == 2 and proc.poll() is None
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    if how != "SIGKILL":
        assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    assert partial.exists() and not dst.exists()
    kept = partial.read_bytes().count(b"\n")
    assert 0 < kept < 10_000
    resumed = _run([*argv, "--resume", "--format", "json"])
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_after"] >= kept - 1
    assert summary["resumed_after"] + summary["judged_now"] == 10_000
    assert dst.read_bytes() == reference


# --- exchange rates: bounded so that every computation is defined ---------------------------


@pytest.mark.parametrize("rate", ["0." + "0" * 53 + "1", "0.0000000000001", "0",
                                  "0.0000000000005000"])
def test_a_rate_out_of_bounds_is_bad_facts(rate: str) -> None:
    f = json.loads(_tiny_rate())
    f["contract"]["fx_rate_to_usd"] = rate
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(f, parameters={"currency_handling": "convert"})
    assert info.value.paths == ("contract.fx_rate_to_usd",)


@pytest.mark.parametrize("rate", ["0.000000000001", "999999.999999999999", "1"])
@pytest.mark.parametrize("amount", ["0.01", "999999999999999.99"])
def test_every_rate_within_bounds_gives_a_verdict(rate: str, amount: str) -> None:
    f = json.loads(_tiny_rate())
    f["contract"]["fx_rate_to_usd"] = rate
    f["contract"]["order_amount"]["amount"] = amount
    f["payments"][0]["amount"]["amount"] = amount
    f["supplier"]["ta_limit"]["amount"] = "999999999999999.99"
    for rounding in ("half_up_to_cents_then_compare", "compare_unrounded"):
        for limit in ("cap", "deny"):
            verdict = ta_rules.evaluate(f, parameters={
                "currency_handling": "convert", "fx_rounding": rounding,
                "limit_exceeded_handling": limit})
            assert verdict.max_refund.currency == "EUR"


# --- every engine orders strings the same way ------------------------------------------------


@pytest.mark.parametrize("text", ["é", "zz", "a", "m", "\u00ff\u0100", "😀", "Z", "ma"])
def test_engines_order_non_ascii_strings_alike(text: str) -> None:
    pytest.importorskip("durable_rules_engine")
    rules = rules_text().replace("when: contract.category in excluded_categories",
                                 'when: claim.description < "m"')
    assert rules != rules_text()
    ruleset = ta_rules.loads_ruleset(rules, "order.yaml")
    f = base_facts()
    f["claim"]["description"] = text
    expected = "denied" if text < "m" else "covered"
    for engine in ("compiled", "reference", "durable"):
        assert ta_rules.evaluate(f, ruleset=ruleset, engine=engine).outcome == expected, engine


# --- scenario documents given to eval ----------------------------------------------------------


@pytest.mark.parametrize("field,value", [("parameters", [1, 2]),
                                         ("parameters", [["claim_window_days", 2]]),
                                         ("parameters", "claim_window_days=2"),
                                         ("version", 2015.1), ("ruleset", ["x"])])
def test_a_scenario_with_bad_pins_is_a_located_error(field: str, value: Any, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"name": "n", "facts": base_facts(), field: value,
           "expect": {"outcome": "covered", "reasons": ["LATE_SHIPMENT"],
                      "max_refund": {"amount": "5000.00", "currency": "USD"}}}
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc, indent=1))
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1)
                if f'"{field}"' in text)
    assert f"{path}:{line}:" in err and "error[scenario." in err
    assert "internal error" not in err and "COVERED" not in err


# --- message templates and catalogs ---------------------------------------------------------

NOT_LATE = 'message: "The order shipped on {shipped_on}, on or before the ship-by date {ship_by}."'
HOSTILE_FIELDS = ["{ship_by:{zzz}}", "{ship_by!z}", "{}", "{ship_by:d}", "{ship_by:>1000000000}",
                  "{ship_by.zzz}", "{ship_by.__class__.__mro__}", "{ship_by[0]}", "{0}",
                  "{ship_by!r}"]


@pytest.mark.parametrize("field", HOSTILE_FIELDS)
def test_a_template_placeholder_is_a_name_only(field: str) -> None:
    text = rules_text().replace(NOT_LATE, NOT_LATE.replace("{ship_by}", field))
    assert text != rules_text()
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(text, "hostile.yaml")
    assert [d.code for d in info.value.diagnostics] == ["compile.bad-message"]


def _folder_with_catalog(tmp_path: Path, translation: str | None = None,
                         mo: bytes | None = None) -> Path:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    (tmp_path / "ta.yaml").write_text(rules_text().replace("catalog: ta_rules ", "catalog: ours "))
    folder = tmp_path / "locales" / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    if mo is None:
        from ta_rules.messages import catalog_entries

        catalog = Catalog(locale="es", domain="ours")
        template = NOT_LATE.removeprefix('message: "').removesuffix('"')
        for (code, msgid), text in catalog_entries("es").items():  # the shipped translations
            if code != "NOT_LATE":
                catalog.add(msgid, text, context=code)
        catalog.add(template, translation or template, context="NOT_LATE")
        with (folder / "ours.mo").open("wb") as fh:
            write_mo(fh, catalog)
    else:
        (folder / "ours.mo").write_bytes(mo)
    return tmp_path


def _not_late() -> dict[str, Any]:
    f = base_facts()
    f["shipment"]["shipped_on"] = "2015-02-27"
    return f


def test_a_good_catalog_beside_the_rules_is_used(tmp_path: Path) -> None:
    folder = _folder_with_catalog(tmp_path, "Enviado el {shipped_on}, antes de {ship_by}.")
    registry = ta_rules.Registry.from_folder(folder)
    verdict = ta_rules.evaluate(_not_late(), registry=registry, locale="es")
    assert verdict.reasons[0].message.startswith("Enviado el 27 feb 2015")


@pytest.mark.parametrize("field", HOSTILE_FIELDS)
def test_a_translation_placeholder_is_a_name_only(field: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder_with_catalog(tmp_path, f"Enviado el {{shipped_on}}, antes de {field}.")
    assert main(["check", str(folder / "ta.yaml")]) == 1
    out = capsys.readouterr()
    assert "messages.bad-placeholder" in out.err and "internal error" not in out.err
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(_not_late()))
    assert main(["eval", str(facts), "--rules", str(folder), "--locale", "es"]) == 1
    err = capsys.readouterr().err
    assert "messages.bad-placeholder" in err and "<class" not in err
    assert "internal error" not in err


@pytest.mark.parametrize("mo", [b"", b"\x00" * 100, b"\xde\x12\x04\x95" + b"\xff" * 24,
                                b"\xde\x12\x04\x95" + b"\x00" * 4 + b"\x01\x00\x00\x00"
                                + b"\x1c\x00\x00\x00" + b"\x24\x00\x00\x00" + b"\x00" * 8
                                + b"\xff\xff\xff\x7f\x00\x00\x00\x00" * 2])
def test_a_corrupt_catalog_is_a_diagnostic(mo: bytes, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder_with_catalog(tmp_path, mo=mo)
    assert main(["check", str(folder / "ta.yaml")]) == 1
    err = capsys.readouterr().err
    assert "messages.bad-catalog" in err and "ours.mo" in err and "internal error" not in err
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(_not_late()))
    assert main(["eval", str(facts), "--rules", str(folder), "--locale", "es"]) == 1
    err = capsys.readouterr().err
    assert "messages.bad-catalog" in err and "internal error" not in err


# --- what a folder of rules may hold ------------------------------------------------------------


def _rules_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text())
    return folder


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "outside", "folder"])
def test_a_rules_folder_reads_regular_files_inside_it_only(
        kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    folder = _rules_folder(tmp_path)
    odd = folder / "odd.yaml"
    if kind == "dev-zero":
        odd.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(odd)
    elif kind == "outside":
        secret = tmp_path / "secret.txt"
        secret.write_text("password: hunter2\n")
        odd.symlink_to(secret)
    else:
        odd.mkdir()
    code = {"dev-zero": "file.outside-folder", "fifo": "file.not-regular",
            "outside": "file.outside-folder", "folder": "file.not-regular"}[kind]
    assert main(["check", str(folder)]) == 1
    out = capsys.readouterr()
    assert f"{odd}: error[{code}]" in out.err and "hunter2" not in out.err + out.out
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.Registry.from_folder(folder)
    assert [d.code for d in info.value.diagnostics] == [code]
    assert "hunter2" not in info.value.render()
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(base_facts()))
    assert main(["eval", str(facts), "--rules", str(folder)]) == 1
    assert code in capsys.readouterr().err


def test_check_and_the_registry_read_the_same_files(tmp_path: Path) -> None:
    from ta_rules.tools.check import expand_rule_paths

    folder = _rules_folder(tmp_path)
    later = rules_text("2017.12")
    (folder / "later.yml").write_text(later)
    (folder / "notes.txt").write_text("not rules")
    files, problems = expand_rule_paths([folder])
    assert problems == [] and sorted(Path(f).name for f in files) == ["later.yml", "ta.yaml"]
    registry = ta_rules.Registry.from_folder(folder)
    assert sorted(r.version for r in registry.rulesets) == ["2015.1", "2017.12"]


def test_a_named_rule_file_is_read_bounded(tmp_path: Path) -> None:
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.load_ruleset("/dev/zero")
    assert [d.code for d in info.value.diagnostics] == ["file.not-regular"]


# --- text output never writes control characters from facts -----------------------------------


@pytest.mark.parametrize("trace", [False, True])
def test_text_output_escapes_control_characters(trace: bool, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # codes refuse control characters; free text does not, and a message may show it
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ta.yaml").write_text(rules_text().replace(
        "with: {category: contract.category}", "with: {category: claim.description}"))
    f = base_facts()
    f["contract"]["category"] = "vehicles"
    f["claim"]["description"] = "TT\u001b]0;owned\u0007\u001b[2J\u009b31m\u202e\r\u001b[1A"
    path = tmp_path / "f.json"
    path.write_text(json.dumps(f))
    assert main(["eval", str(path), "--rules", str(folder),
                 *(["--trace"] if trace else [])]) == 0
    out = capsys.readouterr().out
    assert not any(ch in out for ch in "\u001b\u0007\r\u009b\u202e")
    assert "\\x1b]0;owned\\x07" in out and "EXCLUDED_CATEGORY" in out


# --- replay notices edits of the record -------------------------------------------------------


def test_replay_notices_a_changed_source_or_a_removed_trace() -> None:
    from ta_rules.audit import replay

    recorded = ta_rules.evaluate(base_facts(), trace=True).model_dump(mode="json")
    assert replay(recorded, base_facts()).reproduced
    moved = copy.deepcopy(recorded)
    moved["ruleset"]["source"] = "rules/elsewhere.yaml"
    report = replay(moved, base_facts())
    assert not report.reproduced
    assert any(d.startswith("ruleset: recorded from rules/elsewhere.yaml") for d in
               report.differences)
    for field in ("trace", "coverage_cap", "parameters", "engine"):
        cut = copy.deepcopy(recorded)
        del cut[field]
        try:
            report = replay(cut, base_facts())
        except ta_rules.TaRulesError as exc:  # a field a verdict cannot be without
            assert f"{field}: Field required" in str(exc)
            continue
        assert not report.reproduced, field
        assert any(d.startswith(f"{field}: missing from the record") for d in report.differences)
    cut = copy.deepcopy(recorded)
    del cut["ruleset"]["source"]
    with pytest.raises(ta_rules.TaRulesError, match=r"ruleset\.source: Field required"):
        replay(cut, base_facts())
    batch_record = {"line": 1, "verdict": copy.deepcopy(recorded)}
    del batch_record["verdict"]["trace"]
    assert not replay(batch_record, base_facts()).reproduced


# --- engines free what a dropped ruleset used ----------------------------------------------------


@pytest.mark.parametrize("engine", ["compiled", "reference", "durable"])
def test_a_dropped_ruleset_is_freed_with_its_engine_program(engine: str) -> None:
    import gc
    import weakref

    if engine == "durable":
        pytest.importorskip("durable_rules_engine")
    import linecache

    ruleset = ta_rules.loads_ruleset(rules_text(), "dropped.yaml")
    assert ta_rules.evaluate(base_facts(), ruleset=ruleset, engine=engine).outcome == "covered"
    gone = weakref.ref(ruleset)
    generated = ruleset.program("plain").filename
    assert generated in linecache.cache  # tracebacks show the generated code meanwhile
    del ruleset
    gc.collect()
    assert gone() is None
    assert generated not in linecache.cache


def test_out_may_be_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(_claims(5)) + "\n")
    assert main(["eval", "--batch", str(src), "--out", "/dev/null", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["claims"] == 5
    assert not Path("/dev/.null.partial").exists()
    assert main(["eval", "--batch", str(src), "--out", "/dev/null", "--resume"]) == 2
