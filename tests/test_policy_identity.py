"""One policy, one identity: what content_hash covers, the store of texts, exact replay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

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
