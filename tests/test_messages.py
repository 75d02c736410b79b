"""Localised messages: catalogs complete, values formatted per locale, every scenario renders."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

import ta_rules
from ta_rules.messages import placeholders, shipped_locales
from ta_rules.testing.scenarios import find_scenario_files, load_scenarios
from ta_rules.tools.check import catalog_diagnostics

from conftest import EXAMPLES

LOCALES = files("ta_rules") / "locales"


def test_shipped_locales() -> None:
    assert {"en", "es", "zh_Hans"} <= set(shipped_locales())


def test_every_reason_code_has_a_message_in_every_locale() -> None:
    for ruleset in ta_rules.default_registry().rulesets:
        assert catalog_diagnostics(ruleset) == []
        for locale in shipped_locales():
            with (LOCALES / locale / "LC_MESSAGES" / "ta_rules.po").open("rb") as fh:
                catalog = read_po(fh)
            for code, reason in ruleset.reasons.items():
                entry = catalog.get(reason.message, context=code)
                assert entry is not None and entry.string, (locale, code)
                assert placeholders(entry.string) == set(reason.placeholders), (locale, code)


@pytest.mark.parametrize("locale", ["en", "es", "zh_Hans"])
def test_compiled_catalogs_match_their_sources(locale: str) -> None:
    folder = LOCALES / locale / "LC_MESSAGES"
    with (folder / "ta_rules.po").open("rb") as fh:
        po = {(m.context, m.id): m.string for m in read_po(fh) if m.id}
    with (folder / "ta_rules.mo").open("rb") as fh:
        mo = {(m.context, m.id): m.string for m in read_mo(fh) if m.id}
    assert po == mo, "run: ta-rules messages compile"


def test_chinese_and_spanish_messages_with_formatted_values(make_facts: Any) -> None:
    facts = make_facts(contract__order_amount={"amount": "999.99", "currency": "USD"},
                       payments__0__amount={"amount": "999.99", "currency": "USD"})
    zh = ta_rules.evaluate(facts, locale="zh_Hans_CN")
    (reason,) = zh.reasons
    assert reason.message == "订单金额 US$999.99 低于最低金额 US$1,000.00。"
    assert zh.locale == "zh_Hans_CN"
    es = ta_rules.evaluate(facts, locale="es")
    assert es.reasons[0].message == \
        "El importe del pedido, 999,99\xa0US$, es inferior al mínimo de 1.000,00\xa0US$."
    en = ta_rules.evaluate(facts)
    assert en.reasons[0].message == \
        "The order amount of $999.99 is below the minimum of $1,000.00."
    late = ta_rules.evaluate(make_facts(), locale="zh_Hans")
    assert "2015年3月2日" in late.reasons[0].message


def test_unknown_locale_is_a_clear_error(facts: dict[str, Any]) -> None:
    with pytest.raises(ta_rules.TaRulesError, match="unknown locale 'xx_YY'"):
        ta_rules.evaluate(facts, locale="xx_YY")


def test_a_locale_without_catalog_is_an_error_naming_the_shipped_ones(
        facts: dict[str, Any]) -> None:
    # an English sentence with French dates is not a French message
    for name in ("fr", "de_DE"):
        with pytest.raises(ta_rules.TaRulesError,
                           match=rf"no {name} translation of the messages \(catalog "
                           r"'ta_rules'\); the locales shipped are: en, es, zh_Hans"):
            ta_rules.evaluate(facts, locale=name)
    assert ta_rules.evaluate(facts, locale="en_GB").reasons[0].message.startswith(
        "The order shipped on 2 Mar 2015")
    assert ta_rules.evaluate(facts, locale="es_MX").locale == "es_MX"


def test_every_example_scenario_renders_in_every_locale() -> None:
    paths = [p for p, problem in find_scenario_files([EXAMPLES / "scenarios"]) if problem is None]
    count = 0
    for path in paths:
        scenarios, problems = load_scenarios(Path(path))
        assert not problems, problems
        for s in scenarios:
            for locale in shipped_locales():
                v = ta_rules.evaluate(s.facts, ruleset=s.ruleset, version=s.version,
                                      parameters=s.parameters or None, locale=locale)
                for r in v.reasons:
                    assert r.message and "{" not in r.message, (s.name, locale, r.code)
            count += 1
    assert count >= 100


BAD = Path(__file__).parent / "data" / "bad_rules"


def test_the_library_refuses_what_check_calls_an_error(tmp_path: Path) -> None:
    from ta_rules.tools.check import check_paths

    path = BAD / "messages.missing-translation.yaml"
    checked, _, _ = check_paths([path])
    assert [d.code for d in checked] == ["messages.missing-translation"]
    with pytest.raises(ta_rules.RulesetError) as loaded:
        ta_rules.load_ruleset(path)
    assert list(loaded.value.diagnostics) == checked
    assert "SUPPLIER_NOT_PARTICIPATING" in loaded.value.diagnostics[0].message
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "trade-assurance-2015.1.yaml").write_bytes(path.read_bytes())
    with pytest.raises(ta_rules.RulesetError, match=r"messages\.missing-translation"):
        ta_rules.Registry.from_folder(folder)
    with pytest.raises(ta_rules.RulesetError, match=r"messages\.missing-translation"):
        ta_rules.loads_ruleset(path.read_text(), "edited.yaml")
    mismatch = BAD / "messages.placeholder-mismatch" / "mini.yaml"
    with pytest.raises(ta_rules.RulesetError, match=r"messages\.placeholder-mismatch"):
        ta_rules.load_ruleset(mismatch)
