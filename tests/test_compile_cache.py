"""The compile cache: rulesets kept between processes, never at the cost of a verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ta_rules
import ta_rules.rulesets.load as load_module
from ta_rules.rulesets import cache

from conftest import EXAMPLES, ROOT, base_facts, rules_text


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TA_RULES_CACHE", "on")
    monkeypatch.setenv("TA_RULES_CACHE_DIR", str(folder))
    return folder


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled instead of read from the cache")

    monkeypatch.setattr(load_module, "compile_ruleset", refuse)


def _verdicts(rs: ta_rules.Ruleset) -> list[str]:
    facts = base_facts()
    late = json.loads(json.dumps(facts))
    late["contract"]["ship_by"] = "2015-03-10"
    return [ta_rules.evaluate(f, ruleset=rs, trace=t, engine=e).model_dump_json()
            for f in (facts, late) for t in (False, True) for e in ("compiled", "reference")]


def test_a_ruleset_read_from_the_cache_decides_the_same(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert len(list(cache_dir.glob("*.entry"))) == 1
    _no_compiling(monkeypatch)
    again = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert again is not first and again.content_hash == first.content_hash
    assert _verdicts(again) == _verdicts(first)
    assert again.python_source == first.python_source
    assert again.warnings == first.warnings


def test_a_corrupt_entry_is_ignored_and_rebuilt(cache_dir: Path) -> None:
    ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    (entry,) = cache_dir.glob("*.entry")
    good = entry.read_bytes()
    for bad in (b"", b"garbage", good[: len(good) // 2], good[:-10] + b"\0" * 10):
        entry.write_bytes(bad)
        rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
        assert ta_rules.evaluate(base_facts(), ruleset=rs).outcome == "covered"
        assert entry.read_bytes() == good  # rebuilt
    assert [p.name for p in cache_dir.iterdir()] == [entry.name]  # no temporary left


def test_an_edited_file_is_compiled_again(cache_dir: Path) -> None:
    text = rules_text()
    ta_rules.loads_ruleset(text, "rules.yaml")
    edited = text.replace("title:", "title: edited", 1)
    assert edited != text
    rs = ta_rules.loads_ruleset(edited, "rules.yaml")
    assert rs.title.startswith("edited")
    assert len(list(cache_dir.glob("*.entry"))) == 2


def test_a_file_with_problems_is_never_cached(cache_dir: Path) -> None:
    bad = rules_text().replace("outcome ==", "outcome_typo ==", 1)
    for _ in range(2):
        with pytest.raises(ta_rules.RulesetError):
            ta_rules.loads_ruleset(bad, "bad.yaml")
    assert not cache_dir.exists() or not list(cache_dir.glob("*.entry"))


def test_a_changed_vocabulary_is_not_read_from_an_old_entry(
        cache_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(EXAMPLES / "extending" / "rules", rules)
    (rule_file,) = rules.glob("counterfeit-cover-*.yaml")
    ta_rules.load_ruleset(rule_file)
    vocabulary = rules / "counterfeit.vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8")
    # the fact the rules read is gone: the entry must not be used, the load must fail
    changed = text.replace("counterfeit_confirmed:", "counterfeit_found:", 1)
    assert changed != text
    vocabulary.write_text(changed, encoding="utf-8")
    with pytest.raises(ta_rules.RulesetError):
        ta_rules.load_ruleset(rule_file)


def test_off_writes_nothing_and_an_unwritable_folder_is_harmless(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TA_RULES_CACHE", "off")
    ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert not cache_dir.exists()
    monkeypatch.setenv("TA_RULES_CACHE", "on")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TA_RULES_CACHE_DIR", str(blocker / "cache"))
    rs = ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert ta_rules.evaluate(base_facts(), ruleset=rs).outcome == "covered"


def test_the_command_line_reads_the_cache_in_a_new_process(cache_dir: Path) -> None:
    claim = EXAMPLES / "claims" / "late-shipment.json"
    env = {"TA_RULES_CACHE": "on", "TA_RULES_CACHE_DIR": str(cache_dir),
           "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    outs = [subprocess.run([sys.executable, "-m", "ta_rules", "eval", str(claim), "--format",
                            "json"], capture_output=True, text=True, env=env, cwd=ROOT,
                           check=True).stdout for _ in range(2)]
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["outcome"] == "covered"
    assert list(cache_dir.glob("*.entry"))
    assert cache.cache_dir() == cache_dir


@pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_into_is_not_read(
        cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ta_rules.loads_ruleset(rules_text(), "rules.yaml")
    assert (cache_dir.stat().st_mode & 0o777) == 0o700
    cache_dir.chmod(0o777)
    _no_compiling(monkeypatch)
    with pytest.raises(AssertionError, match="compiled instead of read from the cache"):
        ta_rules.loads_ruleset(rules_text(), "rules.yaml")
