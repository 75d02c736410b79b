"""ta-rules messages extract|update|compile: catalogs change only where a message changed,
with no fuzzy guesses; check and eval see a translated .po before it is compiled."""

from __future__ import annotations

import difflib
import io
import json
import os
import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from ta_rules.cli import main

from conftest import EXAMPLES, ROOT, base_facts

OLD = 'message: "The supplier was not a Trade Assurance supplier."'
NEW = 'message: "The supplier did not take part in Trade Assurance."'
CLAIM = str(EXAMPLES / "claims" / "late-shipment.json")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The checkout's layout: rules/ -> ta_rules/rules, catalogs in ta_rules/locales."""
    shutil.copytree(ROOT / "ta_rules" / "rules", tmp_path / "ta_rules" / "rules")
    shutil.copytree(ROOT / "ta_rules" / "locales", tmp_path / "ta_rules" / "locales")
    os.symlink(Path("ta_rules") / "rules", tmp_path / "rules")
    (tmp_path / "pyproject.toml").write_text('[tool.ta-rules]\nrules = "rules"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def po(root: Path, locale: str) -> Path:
    return root / "ta_rules" / "locales" / locale / "LC_MESSAGES" / "ta_rules.po"


def test_the_shipped_catalogs_are_current(checkout: Path) -> None:
    before = {p: p.read_bytes() for p in (checkout / "ta_rules" / "locales").rglob("*.po*")}
    assert run("messages", "extract") == (0, "ta_rules/locales/ta_rules.pot: already current\n",
                                          "")
    assert run("messages", "update")[1] == "ta_rules/locales: every locale already current\n"
    assert {p: p.read_bytes() for p in before} == before


def test_rewording_one_message_changes_only_that_entry(checkout: Path) -> None:
    for version in ("2015.1", "2017.12"):
        path = checkout / "rules" / f"trade-assurance-{version}.yaml"
        path.write_text(path.read_text().replace(OLD, NEW))
    old_es = po(checkout, "es").read_text().splitlines()
    assert run("messages", "extract")[0] == 0
    code, out, _ = run("messages", "update")
    assert (code, out) == (0, "ta_rules/locales: updated en, es, zh_Hans\n")
    new_es = po(checkout, "es").read_text().splitlines()
    diff = [line for line in difflib.unified_diff(old_es, new_es, lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # the header's date, the new entry (no wrapping, in place), the old one kept as obsolete
    assert len(diff) <= 12, "\n".join(diff)
    assert '+msgid "The supplier did not take part in Trade Assurance."' in diff
    assert '+msgstr ""' in diff
    assert '+#~ msgid "The supplier was not a Trade Assurance supplier."' in diff
    assert "fuzzy" not in po(checkout, "es").read_text().split('msgid ""', 1)[1].split("\n\n", 1)[1]
    with po(checkout, "en").open("rb") as fh:
        en = read_po(fh)
    assert en.get(NEW[10:-1], context="SUPPLIER_NOT_PARTICIPATING").string == NEW[10:-1]
    # untranslated in es and zh_Hans: check and the library refuse the rules
    code, _, err = run("check")
    assert code == 1 and "has no translation in es, zh_Hans" in err
    code, _, err = run("eval", CLAIM)
    assert code == 1 and "messages.missing-translation" in err
    # translated in the .po, not compiled: check and eval see it
    for locale, text in (("es", "El proveedor no participaba en Trade Assurance."),
                         ("zh_Hans", "供应商未参加信保。")):
        path = po(checkout, locale)
        content = path.read_text()
        entry = f'msgctxt "SUPPLIER_NOT_PARTICIPATING"\nmsgid "{NEW[10:-1]}"\nmsgstr ""'
        assert entry in content
        path.write_text(content.replace(entry, entry[:-2] + f'"{text}"'))
    assert run("check")[0] == 0
    facts = base_facts()
    facts["supplier"]["participating"] = False
    claim = checkout / "claim.json"
    claim.write_text(json.dumps(facts))
    code, out, _ = run("eval", str(claim), "--locale", "es")
    assert code == 0
    assert "SUPPLIER_NOT_PARTICIPATING (denial): El proveedor no participaba en Trade " \
        "Assurance." in out
    code, out, _ = run("messages", "compile")
    assert (code, out) == (0, "ta_rules/locales: compiled en, es, zh_Hans\n")
    mo = po(checkout, "es").with_suffix(".mo")
    assert mo.stat().st_mtime_ns >= po(checkout, "es").stat().st_mtime_ns
    assert run("check")[0] == 0


def test_a_rules_folder_of_ones_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "my-rules"
    folder.mkdir()
    text = (ROOT / "tests" / "data" / "minimal.yaml").read_text().replace(
        'version: "1.0"\n', 'version: "1.0"\ncatalog: mini\n')
    (folder / "mini.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    code, _, err = run("check", "my-rules")
    assert code == 1 and "compile.unknown-catalog" in err
    code, out, _ = run("messages", "update", "--rules", "my-rules", "--locale", "es")
    assert (code, out) == (0, "my-rules/locales: updated es\n")
    assert (folder / "locales" / "mini.pot").is_file()
    code, out, _ = run("messages", "compile", "--rules", "my-rules")
    assert out == "my-rules/locales: compiled es (3 untranslated)\n"
    code, _, err = run("check", "my-rules")
    assert code == 1 and "has no translation in es" in err
    path = folder / "locales" / "es" / "LC_MESSAGES" / "mini.po"
    content = path.read_text()
    for english, spanish in (("The order of {amount} is below {minimum}.",
                              "El pedido de {amount} es inferior a {minimum}."),
                             ("Shipped late.", "Enviado tarde."),
                             ("Shipped on time.", "Enviado a tiempo.")):
        content = content.replace(f'msgid "{english}"\nmsgstr ""',
                                  f'msgid "{english}"\nmsgstr "{spanish}"')
    path.write_text(content)
    assert run("messages", "compile", "--rules", "my-rules")[1] == \
        "my-rules/locales: compiled es\n"
    assert run("check", "my-rules")[0] == 0


def test_messages_needs_a_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mini.yaml").write_text((ROOT / "tests" / "data" / "minimal.yaml").read_text())
    monkeypatch.chdir(tmp_path)
    code, _, err = run("messages", "extract", "--rules", ".")
    assert code == 1 and "no rule file here names a message catalog" in err
    code, _, err = run("messages", "compile", "--locale", "es", "--rules", ".")
    assert code == 2 and "--locale starts a catalog, with update" in err
