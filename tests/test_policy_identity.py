"""One policy, one identity: what content_hash covers, the store of texts, exact replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import ta_rules
from ta_rules.audit import replay
from ta_rules.cli import main
from ta_rules.store import PolicyStore, StoreError
from ta_rules.texts import PolicyText, policy_identity

from conftest import ROOT, base_facts

BUNDLED = ROOT / "ta_rules"


def _project(tmp_path: Path) -> Path:
    """A project: a copy of the bundled rules folder and its catalogs, with a configuration."""
    shutil.copytree(BUNDLED / "rules", tmp_path / "rules",
                    ignore=shutil.ignore_patterns("properties"))
    shutil.copytree(BUNDLED / "locales", tmp_path / "locales")
    (tmp_path / "ta-rules.toml").write_text('rules = "rules"\n')
    return tmp_path


def _late_claim() -> dict:
    facts = base_facts()  # a covered late shipment of 5,000 USD, limit 20,000 USD
    return facts


def test_the_vocabulary_is_part_of_the_identity(tmp_path: Path) -> None:
    # problem 2: a vocabulary default changed the refund under the same content hash
    project = _project(tmp_path)
    facts = _late_claim()
    facts["supplier"].pop("limit_in_use", None)  # the vocabulary's default applies
    before = ta_rules.evaluate(facts, registry=ta_rules.Registry.from_folder(project / "rules"))
    voc = project / "rules" / "trade-assurance.vocabulary.yaml"
    text = voc.read_text()
    assert "limit_in_use" in text
    start = text.index("limit_in_use")
    line_end = text.index("\n", start)
    line = text[start:line_end]
    assert "default" in line, line
    changed = line.replace('amount: "0"', 'amount: "18000"')
    assert changed != line, line
    voc.write_text(text[:start] + changed + text[line_end:])
    after = ta_rules.evaluate(facts, registry=ta_rules.Registry.from_folder(project / "rules"))
    # spec: the cap is the limit less what is in use: 20,000 - 18,000 = 2,000 USD
    assert str(after.max_refund) == "2000.00 USD"
    assert str(before.max_refund) == "5000.00 USD"
    assert after.ruleset.version == before.ruleset.version
    assert after.ruleset.content_hash != before.ruleset.content_hash


def test_a_catalog_message_is_part_of_the_identity(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = ta_rules.Registry.from_folder(project / "rules").select(version="2015.1")
    po = project / "locales" / "es" / "LC_MESSAGES" / "ta_rules.po"
    text = po.read_text(encoding="utf-8")
    i = text.index('msgstr "', text.index("msgctxt"))
    po.write_text(text[:i] + 'msgstr "¡' + text[i + len('msgstr "'):], encoding="utf-8")
    (po.with_suffix(".mo")).unlink()
    second = ta_rules.Registry.from_folder(project / "rules").select(version="2015.1")
    assert second.content_hash != first.content_hash


def test_a_catalog_counts_by_its_messages_not_by_which_file_is_read(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = ta_rules.Registry.from_folder(project / "rules").select(version="2015.1")
    # a checkout sets file times anew: the .mo may now be the newer file, or the .po
    for mo in (project / "locales").glob("*/LC_MESSAGES/*.mo"):
        mo.touch()
    second = ta_rules.Registry.from_folder(project / "rules").select(version="2015.1")
    assert second.content_hash == first.content_hash


def test_identity_is_order_free_and_sees_every_text() -> None:
    a = PolicyText("rules", "rules/a.yaml", b"x")
    b = PolicyText("vocabulary", "rules/v.vocabulary.yaml", b"y")
    assert policy_identity([a, b]) == policy_identity([b, a])
    assert policy_identity([a, b]) != policy_identity([a, PolicyText(b.role, b.path, b"z")])
    with pytest.raises(ValueError, match="inside its folder"):
        PolicyText("rules", "../escape.yaml", b"")


def test_the_store_keeps_and_verifies_texts(tmp_path: Path) -> None:
    rs = ta_rules.default_registry().select(version="2017.12")
    store = PolicyStore(tmp_path / "store")
    store.keep(rs)
    again = store.load(rs.content_hash)
    assert again.content_hash == rs.content_hash
    doc = _late_claim()
    assert ta_rules.evaluate(doc, ruleset=again, version=None).outcome == \
        ta_rules.evaluate(doc, ruleset=rs).outcome
    # a damaged object is an error naming it, never another policy
    victim = next((tmp_path / "store" / "objects").rglob("*"))
    while victim.is_dir():
        victim = next(victim.iterdir())
    victim.write_bytes(victim.read_bytes() + b"#")
    fresh = PolicyStore(tmp_path / "store")
    shutil.rmtree(tmp_path / "store" / "trees")
    with pytest.raises(StoreError, match="damaged"):
        fresh.load(rs.content_hash)
    with pytest.raises(StoreError, match="not a content hash"):
        fresh.load("sha256:../../etc")


def test_exact_replay_from_the_store_after_the_folder_changed(tmp_path: Path) -> None:
    # Done when: replay of a verdict recorded before any edit reproduces it exactly from the
    # store, and reports the policy drift the edit causes
    project = _project(tmp_path)
    store = PolicyStore(tmp_path / "store")
    registry = ta_rules.Registry.from_folder(project / "rules")
    for rs in registry.rulesets:
        store.keep(rs)
    doc = _late_claim()
    doc["contract"]["order_amount"]["amount"] = "5000.00"
    recorded = ta_rules.evaluate(doc, registry=registry, locale="es")
    assert recorded.outcome == "covered"
    rules = project / "rules" / "trade-assurance-2015.1.yaml"
    text = rules.read_text()
    assert 'default: "1000.00"' in text
    rules.write_text(text.replace('default: "1000.00"', 'default: "6000.00"', 1)
                     .replace("title:", "title: Edited", 1))
    edited = ta_rules.Registry.from_folder(project / "rules")
    report = replay(recorded.model_dump(mode="json"), doc, registry=edited, store=store)
    assert report.reproduced, report.differences
    assert report.texts_from == str(store.root)
    assert report.library_drift == ()
    # spec: an order below the 6,000 USD minimum is not covered
    assert report.policy_drift and any(d.startswith("outcome: recorded 'covered', now "
                                                    "'denied'") for d in report.policy_drift)
    # a title edit alone is no policy drift
    rules.write_text(text.replace("title:", "title: Edited", 1))
    report = replay(recorded.model_dump(mode="json"), doc,
                    registry=ta_rules.Registry.from_folder(project / "rules"), store=store)
    assert report.reproduced and report.policy_drift == ()
    assert report.policy_now is not None and report.policy_now[1] != \
        recorded.ruleset.content_hash


def test_replay_says_when_the_texts_are_nowhere(tmp_path: Path) -> None:
    project = _project(tmp_path)
    registry = ta_rules.Registry.from_folder(project / "rules")
    doc = _late_claim()
    recorded = ta_rules.evaluate(doc, registry=registry)
    rules = project / "rules" / "trade-assurance-2015.1.yaml"
    rules.write_text(rules.read_text().replace("title:", "title: Edited", 1))
    report = replay(recorded, doc, registry=ta_rules.Registry.from_folder(project / "rules"),
                    store=PolicyStore(tmp_path / "empty"))
    assert not report.reproduced and report.verdict is None
    assert any("are neither in the rules folder nor in a store" in d and "--rules" in d
               for d in report.differences)


def test_replay_cli_reports_three_answers(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.setenv("TA_RULES_STORE", str(tmp_path / "store"))
    facts = project / "facts.json"
    facts.write_text(json.dumps(_late_claim()))
    assert main(["eval", str(facts), "--format", "json"]) == 0
    verdict = project / "verdict.json"
    verdict.write_text(capsys.readouterr().out)
    rules = project / "rules" / "trade-assurance-2015.1.yaml"
    rules.write_text(rules.read_text().replace('default: "1000.00"', 'default: "6000.00"', 1))
    assert main(["replay", str(verdict), str(facts)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("exact replay: reproduced (texts from the store ")
    assert "policy drift: rules/trade-assurance-2015.1.yaml" in out
    assert "decides otherwise" in out and "outcome: recorded 'covered', now 'denied'" in out
    assert "library drift: none" in out
    assert main(["replay", str(verdict), str(facts), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reproduced"] and data["policy_drift"] and data["library_drift"] == []


# --- one meaning per label (problem 1) --------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
                               "HOME": str(cwd), "PATH": "/usr/bin:/bin"})
    return done.stdout


def _git_project(tmp_path: Path) -> Path:
    project = _project(tmp_path / "p")
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "policy")
    return project


def _raise_minimum(project: Path, to: str = "6000.00") -> None:
    rules = project / "rules" / "trade-assurance-2015.1.yaml"
    text = rules.read_text()
    assert 'default: "1000.00"' in text
    rules.write_text(text.replace('default: "1000.00"', f'default: "{to}"', 1))


def test_diff_git_head_lists_an_uncommitted_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    project = _git_project(tmp_path)
    monkeypatch.chdir(project)
    _raise_minimum(project)
    # the documented command compared the edited file with itself: "no policy differences"
    assert main(["diff", "git:HEAD", "rules/"]) == 0
    out = capsys.readouterr().out
    assert "~ parameter min_order_amount_usd: 1000.00 USD (money[USD]) -> 6000.00 USD" in out
    assert "git:HEAD:rules/trade-assurance-2015.1.yaml" in out
    head = _git(project, "rev-parse", "HEAD").strip()
    assert f"old: git:HEAD: git:HEAD (commit {head[:12]})" in out
    # the label 2015.1 is the project's edited file; the working tree was not touched
    assert main(["diff", "git:HEAD@2015.1", "2015.1", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["changes"]] == ["min_order_amount_usd"]
    assert data["references"]["old"]["revision"] == head
    assert 'default: "6000.00"' in (project / "rules" / "trade-assurance-2015.1.yaml").read_text()


def test_a_version_label_means_the_project_copy_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _git_project(tmp_path)
    monkeypatch.chdir(project)
    _raise_minimum(project)
    history = project / "history.jsonl"
    claims = []
    for amount in ("500.00", "2000.00", "5000.00", "7000.00"):
        facts = _late_claim()
        facts["contract"]["order_amount"]["amount"] = amount
        facts["payments"][0]["amount"]["amount"] = amount
        claims.append(json.dumps(facts))
    history.write_text("\n".join(claims) + "\n")
    # impact: the candidate 2015.1 is the project's edited copy, as in diff
    assert main(["impact", "--claims", str(history), "--base", "git:HEAD",
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # spec: covered at or above the minimum; 2,000 and 5,000 USD fall below 6,000 now
    assert report["claims"] == 4 and report["changed"] == 2
    assert main(["impact", "--claims", str(history), "--base", "2015.1", "--candidate",
                 "bundled:2015.1", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed"] == 2
    assert main(["impact", "--claims", str(history), "--candidate", "2015.1",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] == 0


def test_git_references_fail_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    project = _git_project(tmp_path)
    monkeypatch.chdir(project)
    assert main(["diff", "git:no-such-rev", "rules/"]) == 2
    assert "git:no-such-rev: no-such-rev names no commit" in capsys.readouterr().err
    assert main(["diff", "git:--upload-pack=x", "rules/"]) == 2
    assert "expected git:REV" in capsys.readouterr().err
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert main(["diff", "git:HEAD", "bundled:"]) == 2
    assert "no project configuration" in capsys.readouterr().err


# --- facts do not depend on the order date (problem 4) ----------------------------------------


_SANCTIONS_VOCABULARY = """\
vocabulary: sanctions
extends: trade-assurance
records:
  shipment:
    fields:
      destination_country: {type: code?, default: null, doc: Where the goods were sent.}
"""


def _sanctions_project(tmp_path: Path) -> Path:
    """A new version 2025.1 adding a fact through an extension vocabulary."""
    project = _project(tmp_path)
    rules = project / "rules"
    old = (rules / "trade-assurance-2017.12.yaml").read_text()
    assert "  from: 2017-12-08\n" in old
    (rules / "trade-assurance-2017.12.yaml").write_text(
        old.replace("  from: 2017-12-08\n", "  from: 2017-12-08\n  until: 2025-01-01\n", 1))
    new = old.replace('version: "2017.12"', 'version: "2025.1"', 1)
    new = new.replace("  from: 2017-12-08\n", "  from: 2025-01-01\n", 1)
    new = new.replace("vocabulary: trade-assurance ", "vocabulary: sanctions ", 1)
    new = new.replace("\ncatalog: ta_rules", "\n# catalog: ta_rules", 1)
    new = new.replace("\nparameters:\n", "\nparameters:\n  sanctioned_destinations:\n"
                      "    type: list[string]\n    default: [KP, IR]\n", 1)
    new = new.replace("\nreasons:\n", "\nreasons:\n  SANCTIONED_DESTINATION:\n"
                      "    kind: denial\n    message: Goods sent to {country} are not "
                      "covered.\n", 1)
    new = new.replace("    rules:\n      - id: gate.supplier-not-participating\n",
                      "    rules:\n      - id: gate.sanctioned-destination\n"
                      "        when: shipment.destination_country in sanctioned_destinations\n"
                      "        reasons: [SANCTIONED_DESTINATION]\n"
                      "        with: {country: shipment.destination_country}\n"
                      "      - id: gate.supplier-not-participating\n", 1)
    assert "gate.sanctioned-destination" in new and "sanctions" in new
    (rules / "trade-assurance-2025.1.yaml").write_text(new)
    (rules / "sanctions.vocabulary.yaml").write_text(_SANCTIONS_VOCABULARY)
    return project


def _claim_2017(day: str, destination: str | None) -> dict:
    """A covered late-shipment claim of an order placed on ``day`` (2017 programme)."""
    facts = _late_claim()
    y = day[:4]
    facts["contract"]["placed_on"] = day
    facts["contract"]["confirmed_on"] = day
    facts["contract"]["ship_by"] = f"{int(y) + 1}-03-01"
    facts["payments"][0]["received_on"] = day
    facts["shipment"]["shipped_on"] = f"{int(y) + 1}-03-02"
    facts["claim"]["submitted_on"] = f"{int(y) + 1}-03-03"
    facts["claim"]["determination_requested_on"] = f"{int(y) + 1}-03-09"
    facts["as_of"] = f"{int(y) + 1}-03-09"
    if destination is not None:
        facts["shipment"]["destination_country"] = destination
    return facts


def test_a_fact_added_by_a_new_version_is_ignored_by_older_ones(tmp_path: Path) -> None:
    project = _sanctions_project(tmp_path)
    registry = ta_rules.Registry.from_folder(project / "rules")
    plain = ta_rules.evaluate(_claim_2017("2024-12-31", None), registry=registry)
    assert plain.ruleset.version == "2017.12" and plain.outcome == "covered"
    # an order of 2024-12-31 carrying the new fact: judged by 2017.12, which ignores it
    carried = ta_rules.evaluate(_claim_2017("2024-12-31", "KP"), registry=registry, trace=True)
    assert carried.ruleset.version == "2017.12"
    assert (carried.outcome, carried.codes) == (plain.outcome, plain.codes)
    assert carried.trace is not None
    ignored = [e for e in carried.trace if e.group == "facts"]
    assert [e.subject for e in ignored] == ["shipment.destination_country"]
    assert "2017.12" in ignored[0].values["ignored"]
    # the same fact on an order of 2025: the new version denies it
    later = ta_rules.evaluate(_claim_2017("2025-01-02", "KP"), registry=registry)
    assert later.ruleset.version == "2025.1" and later.outcome == "denied"
    assert later.codes == {"SANCTIONED_DESTINATION"}
    # a fact no version knows is refused, naming the version and vocabulary that refused it
    bad = _claim_2017("2024-12-31", None)
    bad["shipment"]["destination_planet"] = "Mars"
    with pytest.raises(ta_rules.FactsError, match=r"unknown field \(for trade-assurance "
                       r"2017\.12, vocabulary trade-assurance"):
        ta_rules.evaluate(bad, registry=registry)


def test_impact_diff_and_scenarios_work_across_the_vocabulary_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _sanctions_project(tmp_path)
    monkeypatch.chdir(project)
    history = project / "history.jsonl"
    lines = [json.dumps(_claim_2017("2024-06-01", country))
             for country in ("KP", "FR", None, "IR", "DE")] * 20
    history.write_text("\n".join(lines) + "\n")
    assert main(["impact", "--claims", str(history), "--base", "2017.12",
                 "--candidate", "2025.1", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # every record judged; KP and IR (40 of 100) go from covered to denied
    assert report["claims"] == 100 and report["errors"]["count"] == 0
    assert report["changed"] == 40
    scenarios = project / "s.yaml"
    scenarios.write_text(yaml.safe_dump({"scenarios": [{
        "name": "sent to a sanctioned country", "facts": _claim_2017("2024-06-01", "KP"),
        "expect": {"outcome": "covered", "reasons": ["LATE_SHIPMENT"],
                   "max_refund": {"amount": "5000.00", "currency": "USD"}}}]}))
    assert main(["diff", "2017.12", "2025.1", "--scenarios", str(scenarios)]) == 0
    out = capsys.readouterr().out
    assert "+ vocabulary shipment.destination_country: code?, default null" in out
    assert "scenarios whose verdict changes: 1" in out and "error" not in out
    scenarios.write_text("scenarios:\n  - name: broken\n")
    assert main(["diff", "2017.12", "2025.1", "--scenarios", str(scenarios)]) == 1
    assert "scenario.missing" in capsys.readouterr().err
    assert ("covered ['LATE_SHIPMENT'] 5000.00 USD -> denied ['SANCTIONED_DESTINATION']"
            in out)


# --- why-not reads facts as eval does (problem 3) -----------------------------------------------


def test_why_not_reads_facts_with_the_project_vocabulary(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("z3")
    extending = ROOT / "examples" / "extending"
    monkeypatch.chdir(extending)
    docs = yaml.safe_load((extending / "scenarios" / "counterfeit.yaml").read_text())
    scenario = next(s for s in docs["scenarios"]
                    if "counterfeit_confirmed" in json.dumps(s["facts"], default=str))
    facts = extending / "facts.json"
    try:
        facts.write_text(json.dumps(scenario["facts"], default=str))
        assert main(["eval", str(facts)]) == 0
        capsys.readouterr()
        code = main(["eval", str(facts), "--why-not"])
        captured = capsys.readouterr()
        assert "unknown field" not in captured.err
        assert code in (0, 1), captured.err
    finally:
        facts.unlink()


# --- prove and diff --symbolic across the vocabulary change -----------------------------------


def test_prove_and_symbolic_diff_work_across_the_vocabulary_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("z3")
    project = _sanctions_project(tmp_path)
    shutil.copytree(BUNDLED / "rules" / "properties", project / "rules" / "properties")
    monkeypatch.chdir(project)
    assert main(["prove", "rules/"]) == 0
    out = capsys.readouterr().out
    assert "0 violated, 0 unknown, 0 unsupported, 0 error" in out and "2025.1" in out
    assert main(["diff", "2017.12", "2025.1", "--symbolic", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    text = json.dumps(data)
    # covered -> denied by the new exclusion, with a witness carrying the new fact
    assert "SANCTIONED_DESTINATION" in text and "destination_country" in text


# --- point 8: every command reads the project's rules -----------------------------------------


EXTENDING = ROOT / "examples" / "extending"


def test_the_facts_schema_is_the_project_vocabulary(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(EXTENDING)
    assert main(["schema", "facts"]) == 0
    assert "counterfeit_confirmed" in capsys.readouterr().out


def test_every_locale_is_the_project_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "x"
    shutil.copytree(EXTENDING, project)
    shutil.rmtree(project / "rules" / "locales" / "zh_Hans")
    monkeypatch.chdir(project)
    # zh_Hans is a locale of the package's catalogs, not of this project's
    assert main(["test", "--locale", "all"]) == 0, capsys.readouterr()


def test_the_pytest_plugin_judges_a_scenario_with_its_own_project(
        pytester: pytest.Pytester) -> None:
    shutil.copytree(EXTENDING, pytester.path / "extending")
    (pytester.path / "ta-rules.toml").write_text('rules = "rules"\n')
    shutil.copytree(BUNDLED / "rules", pytester.path / "rules")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--ta-rules-scenarios",
                                          "extending/scenarios")
    result.assert_outcomes(passed=10)
    result.stdout.no_fnmatch_line("*cannot be loaded*")
    (pytester.path / "ta-rules.toml").write_text('rules = 7\n')
    broken = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--ta-rules-scenarios",
                                          "extending/scenarios", "../x.yaml")
    broken.stdout.no_fnmatch_line("*rules None*")


def test_the_served_openapi_describes_the_served_vocabulary() -> None:
    pytest.importorskip("fastapi")
    from ta_rules.serve._app import Service, create_app

    registry = ta_rules.Registry.from_folder(EXTENDING / "rules")
    doc = create_app(Service(registry)).openapi()
    assert "counterfeit_confirmed" in json.dumps(doc["components"]["schemas"])
    assert "counterfeit-goods exclusion" in doc["info"]["description"]
    assert "x-registry" not in doc


def test_a_broken_vocabulary_is_one_problem(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(EXTENDING / "rules", rules)
    voc = rules / "counterfeit.vocabulary.yaml"
    voc.write_text(voc.read_text().replace("type: boolean", "type: boolen", 1))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "rules/"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("unknown type 'boolen'") == 1
    assert "1 error(s)" in captured.out


def test_eval_and_serve_judge_a_newer_fact_with_the_older_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = _sanctions_project(tmp_path)
    monkeypatch.chdir(project)
    facts = project / "facts.json"
    facts.write_text(json.dumps(_claim_2017("2024-12-31", "KP")))
    assert main(["eval", str(facts), "--format", "json", "--set",
                 "claim_window_days=30"]) == 0, capsys.readouterr().err
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ruleset"]["version"] == "2017.12" and verdict["outcome"] == "covered"
    # serve judges through the same function (ta_rules.request.evaluate_request)
    from ta_rules.request import evaluate_request

    judged = evaluate_request(_claim_2017("2024-12-31", "KP"),
                              registry=ta_rules.Registry.from_folder(project / "rules"))
    assert judged.ruleset.version == "2017.12" and judged.outcome == "covered"
