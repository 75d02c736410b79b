"""Round three of hostile inputs to the language side: money, vocabularies, rules, proofs.

Expected values come from the specification (../shared/spec/trade-assurance.md section 1 for
currencies, minor units and bounds), never from running the engine.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from babel import Locale

import ta_rules
from ta_rules.messages import format_value
from ta_rules.money import Money, minor_unit
from ta_rules.rulesets.vocabulary_load import loads_vocabulary

from conftest import base_facts

ENGINES = ("compiled", "reference", "durable")

# --- item 5: minor units and codes from ISO 4217, not from locale data ---------------------


@pytest.mark.parametrize("currency,places", [
    # spec 1: "HUF, IDR, COP and IQD have 2, 2, 2 and 3 places, CLF 4"
    ("HUF", 2), ("IDR", 2), ("COP", 2), ("IQD", 3), ("CLF", 4),
    ("USD", 2), ("JPY", 0), ("BHD", 3), ("EUR", 2),
])
def test_minor_units_are_those_of_iso_4217(currency: str, places: int) -> None:
    assert minor_unit(currency) == places


def _in(currency: str, amount: str, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    """A covered late-shipment claim whose order and payment are ``amount`` ``currency``."""
    f = copy.deepcopy(facts or base_facts())
    f["contract"]["order_amount"] = {"amount": amount, "currency": currency}
    f["payments"][0]["amount"] = {"amount": amount, "currency": currency}
    return f


@pytest.mark.parametrize("currency,amount", [
    ("HUF", "1785714.50"), ("IDR", "15000000.25"), ("COP", "19000000.99"),
    ("IQD", "6500000.125"), ("CLF", "120.4567"),
])
def test_amounts_to_the_iso_minor_unit_are_valid_facts(currency: str, amount: str) -> None:
    facts = ta_rules.parse_facts(_in(currency, amount))
    assert facts.contract.order_amount == Money(Decimal(amount), currency)
    assert facts.model_dump(mode="json")["payments"][0]["amount"] == {
        "amount": amount, "currency": currency}


@pytest.mark.parametrize("currency,amount", [("HUF", "1785714.505"), ("IQD", "1.2345")])
def test_digits_beyond_the_iso_minor_unit_are_bad_facts(currency: str, amount: str) -> None:
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(_in(currency, amount))
    assert set(info.value.paths) == {"contract.order_amount.amount", "payments[0].amount.amount"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("trace", [False, True])
def test_the_available_limit_in_huf_is_rounded_down_to_cents(engine: str, trace: bool) -> None:
    # spec 1: "The available limit converted back to the contract currency is USD / rate,
    # rounded down to cents": 5000.01 / 0.0028 = 1785717.857... -> 1785717.85 HUF. The order
    # (2,000,000.00 HUF = 5,600.00 USD) is above it, so the cap is the available limit.
    facts = _in("HUF", "2000000.00")
    facts["contract"]["fx_rate_to_usd"] = "0.0028"
    facts["supplier"]["ta_limit"] = {"amount": "5000.01", "currency": "USD"}
    verdict = ta_rules.evaluate(facts, parameters={"currency_handling": "convert"},
                                engine=engine, trace=trace)
    expected = Money(Decimal("1785717.85"), "HUF")
    assert (verdict.outcome, verdict.coverage_cap, verdict.max_refund) == (
        "covered", expected, expected)
    assert "CAPPED_AT_AVAILABLE_TA_LIMIT" in verdict.codes
    dumped = verdict.model_dump(mode="json")
    assert dumped["coverage_cap"] == {"amount": "1785717.85", "currency": "HUF"}
    limit = next(r for r in verdict.reasons if r.code == "CAPPED_AT_AVAILABLE_TA_LIMIT")
    assert "1,785,717.85" in limit.message


@pytest.mark.parametrize("code", ["CNH", "DEM", "FRF", "ITL", "XTS", "XXX", "XAU"])
def test_codes_outside_the_iso_list_are_unknown_currencies(code: str) -> None:
    with pytest.raises(ValueError, match="unknown currency"):
        Money.of("1.00", code)
    facts = base_facts()
    facts["supplier"]["ta_limit"] = {"amount": "1.00", "currency": code}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert info.value.paths == ("supplier.ta_limit.currency",)
    assert info.value.problems[0].code == "currency_unknown"
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(_in(code, "5000.00"))
    assert "contract.order_amount.currency" in info.value.paths


def test_messages_show_money_to_its_iso_minor_unit() -> None:
    # locale data would show whole forints and dinars
    en = Locale.parse("en")
    assert format_value(Money(Decimal("1785714.50"), "HUF"), en) == "HUF1,785,714.50"
    assert format_value(Money(Decimal("6.125"), "IQD"), en) == "IQD6.125"
    assert format_value(Money(Decimal("5000"), "USD"), en) == "$5,000.00"
    assert format_value(Money(Decimal("700000"), "JPY"), en) == "¥700,000"


def test_the_iso_table_states_its_source_and_date() -> None:
    from ta_rules import _iso4217 as iso4217

    assert iso4217.SOURCE.startswith("ISO 4217 List One")
    assert iso4217.PUBLISHED == "2026-01-01"
    assert iso4217.MINOR_UNITS["HUF"] == 2 and "CNH" not in iso4217.MINOR_UNITS
    assert all(len(c) == 3 and c.isupper() for c in iso4217.MINOR_UNITS)


# --- item 6: extreme but valid amounts and rates: a verdict, never decimal.InvalidOperation --


def _converted(amount: str, rate: str, limit: str) -> dict[str, Any]:
    facts = _in("EUR", amount)
    facts["contract"]["fx_rate_to_usd"] = rate
    facts["supplier"]["ta_limit"] = {"amount": limit, "currency": "USD"}
    return facts


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("trace", [False, True])
def test_extreme_amounts_and_rates_inside_the_bounds_get_a_verdict(engine: str,
                                                                    trace: bool) -> None:
    # spec 1, bounds: 15 digits before the point, rates up to 12 decimal places
    huge = _converted("1000000000000", "999999999999999", "20000.00")
    run = {"engine": engine, "trace": trace}
    # gate 7 under deny: 10^12 EUR is about 10^27 USD, above the 20,000.00 USD available
    v = ta_rules.evaluate(huge, parameters={"currency_handling": "convert",
                                            "limit_exceeded_handling": "deny"}, **run)
    assert (v.outcome, v.codes) == ("denied", {"ORDER_EXCEEDS_TA_LIMIT"})
    # the cap: 20000.00 / 999999999999999 EUR rounds down to 0.00 EUR, below order and paid
    v = ta_rules.evaluate(huge, parameters={"currency_handling": "convert"}, **run)
    assert (v.outcome, v.codes) == ("covered", {"LATE_SHIPMENT", "CAPPED_AT_AVAILABLE_TA_LIMIT"})
    assert v.coverage_cap == Money(Decimal("0.00"), "EUR")
    # 5000.00 EUR at 0.000000000001 is 0.000000005 USD, 0.00 rounded: below the minimum;
    # the available limit in EUR (about 10^27) is computed on the way (and traced)
    tiny = _converted("5000.00", "0.000000000001", "999999999999999.99")
    v = ta_rules.evaluate(tiny, parameters={"currency_handling": "convert"}, **run)
    assert (v.outcome, v.codes) == ("denied", {"BELOW_MINIMUM_ORDER_AMOUNT"})
    assert v.max_refund == Money(Decimal("0.00"), "EUR")
    if trace:
        assert v.model_dump_json()


def test_money_rounds_and_prints_whatever_the_callers_decimal_context() -> None:
    import decimal

    big = Money(Decimal("999999999999999.99") / Decimal("0.000000000001"), "EUR")
    with decimal.localcontext(decimal.Context(prec=28)):
        assert big.to_json() == {"amount": "999999999999999990000000000.00", "currency": "EUR"}
        assert big.rounded().amount == Decimal("999999999999999990000000000.00")


# --- item 8: a FactsError names every offending path, currency mismatches too --------------


def test_a_payment_in_another_currency_is_reported_beside_other_problems() -> None:
    # spec 2: bad facts are "rejected with an error that names every offending path"
    facts = base_facts()
    facts["payments"][0]["amount"] = {"amount": "5000.00", "currency": "EUR"}
    facts["shipment"]["shipped_on"] = "not a date"
    facts["supplier"]["ta_limit"] = {"amount": "100.00", "currency": "GBP"}
    facts["claim"]["prior_payouts"] = {"amount": "-1", "currency": "JPY"}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    paths = set(info.value.paths)
    assert paths == {"payments[0].amount.currency", "shipment.shipped_on",
                     "supplier.ta_limit.currency", "claim.prior_payouts"}
    codes = {p.path: p.code for p in info.value.problems}
    assert codes["payments[0].amount.currency"] == "currency_mismatch"
    assert codes["supplier.ta_limit.currency"] == "currency_mismatch"


def test_a_second_initial_payment_is_reported_beside_other_problems() -> None:
    facts = base_facts()
    facts["payments"].append(copy.deepcopy(facts["payments"][0]))
    facts["payments"][1]["amount"]["currency"] = "EUR"
    facts["as_of"] = "2015-02-30"
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert set(info.value.paths) == {"as_of", "payments[1].role",
                                     "payments[1].amount.currency"}


def test_a_bad_order_amount_leaves_the_contract_currency_known() -> None:
    facts = base_facts()
    facts["contract"]["order_amount"]["amount"] = "5000.001"
    facts["payments"][0]["amount"]["currency"] = "EUR"
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert set(info.value.paths) == {"contract.order_amount.amount",
                                     "payments[0].amount.currency"}


def test_a_payment_with_a_bad_amount_in_another_currency_is_named_at_both() -> None:
    facts = base_facts()
    facts["payments"][0]["amount"] = {"amount": "5000.005", "currency": "EUR"}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert set(info.value.paths) == {"payments[0].amount.amount",
                                     "payments[0].amount.currency"}


def test_a_list_refused_whole_is_not_walked_for_its_items() -> None:
    # spec 1: at most 1,000 payments; the list is the offending path, not each item
    facts = base_facts()
    payment = copy.deepcopy(facts["payments"][0])
    payment["amount"]["currency"] = "EUR"
    facts["payments"] = [payment] * 1001
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert info.value.paths == ("payments",)


def test_no_mismatch_is_claimed_against_a_contract_currency_that_is_itself_bad() -> None:
    facts = base_facts()
    facts["contract"]["order_amount"] = {"amount": "5000.00", "currency": "usd"}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    assert info.value.paths == ("contract.order_amount.currency",)


# --- item 3: a vocabulary default inside its field's own bounds; bounds that can be met ------


def _field_problems(field: str) -> list[tuple[str, int, int]]:
    """(code, line, column) of every problem of a vocabulary with the one field ``field``."""
    text = f"vocabulary: v\nroot: facts\nrecords:\n  facts:\n    fields:\n      x: {field}\n"
    try:
        loads_vocabulary(text, "v.vocabulary.yaml")
    except ta_rules.RulesetError as exc:
        return [(d.code, d.location.line, d.location.column) for d in exc.diagnostics]
    return []


def _only_problem(line: str, record: str = "facts",
                  extends: bool = False) -> tuple[str, int, int]:
    """(code, line, column) of the one problem of a vocabulary whose line 6 is ``line``."""
    head = "extends: trade-assurance" if extends else "root: facts"
    text = f"vocabulary: v\n{head}\nrecords:\n  {record}:\n    fields:\n      {line}\n"
    with pytest.raises(ta_rules.RulesetError) as info:
        loads_vocabulary(text, "v.vocabulary.yaml")
    (d,) = info.value.diagnostics
    return d.code, d.location.line, d.location.column


def _col(field: str, key: str) -> int:
    """The column of ``key``'s value in the field's flow mapping on line 6."""
    line = f"      x: {field}"
    return line.index(f"{key}: ") + len(key) + 3


@pytest.mark.parametrize("field,key", [
    ("{type: integer, minimum: 1, maximum: 30, default: 0}", "default"),
    ("{type: integer, minimum: 1, maximum: 30, default: 31}", "default"),
    ("{type: 'integer?', greater_than: 5, default: 5}", "default"),
    ("{type: text, max_length: 3, default: abcd}", "default"),
    ("{type: text, min_length: 2, default: a}", "default"),
    ("{type: 'list[text]', min_length: 1, default: []}", "default"),
])
def test_a_default_outside_its_fields_bounds_is_a_located_error(field: str, key: str) -> None:
    assert _field_problems(field) == [("vocabulary.bad-default", 6, _col(field, key))]


@pytest.mark.parametrize("field", [
    "{type: code, default: 'a b'}",                  # no document may give it (spec 1, codes)
    "{type: code, default: " + "a" * 101 + "}",
    "{type: 'code[ground]', default: Late_Shipment}",  # a case variant of a known code
    "{type: 'money[USD]', default: {amount: '-1', currency: USD}}",   # money is never negative
    "{type: 'money[JPY]', default: {amount: '1.5', currency: JPY}}",  # beyond the minor unit
    "{type: 'money[contract]', default: {amount: '0.5', currency: contract}}",  # JPY has none
])
def test_a_default_no_document_could_give_is_a_located_error(field: str) -> None:
    assert _only_problem(f"x: {field}", record="claim", extends=True) == (
        "vocabulary.bad-default", 6, _col(field, "default"))


@pytest.mark.parametrize("field,key", [
    ("{type: integer, minimum: 30, maximum: 1}", "minimum"),
    ("{type: integer, greater_than: 30, maximum: 30}", "greater_than"),
    ("{type: decimal, greater_than: 2, maximum: 1}", "greater_than"),
    ("{type: 'list[code]', min_length: 5, max_length: 2}", "min_length"),
    ("{type: text, minimum: 1}", "minimum"),
    ("{type: boolean, max_length: 1}", "max_length"),
    ("{type: integer, item_max_length: 1}", "item_max_length"),
])
def test_bounds_that_cannot_hold_or_do_not_apply_are_located_errors(field: str,
                                                                   key: str) -> None:
    assert _field_problems(field) == [("vocabulary.bad-constraint", 6, _col(field, key))]


@pytest.mark.parametrize("field", [
    "{type: integer, minimum: 1, maximum: 30, default: 30}",
    "{type: integer, minimum: 5, maximum: 5, default: 5}",
    "{type: 'integer?', greater_than: 5, default: null}",
    "{type: text, max_length: 4, min_length: 1, default: abcd}",
    "{type: 'list[integer]', minimum: 0, max_length: 3, default: []}",
    "{type: decimal, greater_than: 0, maximum: 10}",
])
def test_bounds_that_hold_are_accepted(field: str) -> None:
    assert _field_problems(field) == []


def test_a_decimal_maximum_is_enforced_in_documents(tmp_path: Any) -> None:
    from ta_rules.facts import parse_facts

    voc = loads_vocabulary(
        "vocabulary: v\nroot: facts\nrecords:\n  facts:\n    fields:\n"
        "      rate: {type: decimal, greater_than: 0, maximum: 10}\n"
        "      note: {type: text, min_length: 2}\n", "v.vocabulary.yaml")
    assert parse_facts({"rate": "10", "note": "ab"}, voc).rate == Decimal(10)
    with pytest.raises(ta_rules.FactsError) as info:
        parse_facts({"rate": "10.5", "note": "a"}, voc)
    assert set(info.value.paths) == {"rate", "note"}


# --- item 20: vocabulary names, recursive records, extends cycles, currency dimensions -------

KEYWORD_VOCABULARY = """\
vocabulary: kw
extends: trade-assurance
records:
  claim:
    fields:
      return: {type: boolean, default: false}
      class: {type: "integer?", default: null}
      from: {type: "list[text]", default: []}
"""


def _keyword_rules(tmp_path: Any) -> Any:
    from conftest import rules_text

    (tmp_path / "kw.vocabulary.yaml").write_text(KEYWORD_VOCABULARY)
    text = rules_text().replace("vocabulary: trade-assurance ", "vocabulary: kw ")
    text = text.replace("\nvalues:\n", "\nvalues:\n  returned:\n    expr: claim.return and "
                        "claim.class == 3 and not empty(claim.from)\n", 1)
    before = "when: claim.chargeback_filed"
    assert before in text
    text = text.replace(before, "when: (claim.chargeback_filed or returned)", 1)
    (tmp_path / "trade-assurance-2015.1.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize("engine", ENGINES)
def test_fields_named_as_python_keywords_compile_and_are_read(tmp_path: Any,
                                                             engine: str) -> None:
    from ta_rules.rulesets.registry import Registry

    reg = Registry.from_folder(_keyword_rules(tmp_path))
    facts = base_facts()
    facts["claim"].update({"return": True, "class": 3, "from": ["x"]})
    params = {"deny_if_chargeback_filed": True}
    v = ta_rules.evaluate(facts, registry=reg, engine=engine, parameters=params)
    assert v.codes == {"OTHER_REMEDY_PURSUED"}
    facts["claim"]["class"] = 2
    v = ta_rules.evaluate(facts, registry=reg, engine=engine, parameters=params)
    assert v.codes == {"LATE_SHIPMENT"}
    facts["claim"]["return"] = "yes"
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts, registry=reg, engine=engine)
    assert info.value.paths == ("claim.return",)


@pytest.mark.parametrize("name", ["__init__", "_private", "json", "model_config", "copy"])
def test_field_names_every_record_already_has_are_located_errors(name: str) -> None:
    assert _only_problem(f"{name}: {{type: boolean, default: false}}") == (
        "vocabulary.reserved-name", 6, 7)


RECURSIVE_VOCABULARY = """\
vocabulary: rec
extends: trade-assurance
records:
  part:
    fields:
      name: {type: text}
      parts: {type: "list[part]", default: []}
  claim:
    fields:
      parts: {type: "list[part]", default: []}
"""


def _folder(tmp_path: Any, vocabulary: str, rules: str | None = None) -> Any:
    from conftest import rules_text

    name = vocabulary.split("\n", 1)[0].split(": ")[1]
    (tmp_path / f"{name}.vocabulary.yaml").write_text(vocabulary)
    text = rules or rules_text().replace("vocabulary: trade-assurance ", f"vocabulary: {name} ")
    (tmp_path / "trade-assurance-2015.1.yaml").write_text(text)
    return tmp_path


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from ta_rules.cli import main

    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_recursive_record_is_a_located_error_everywhere(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    folder = _folder(tmp_path, RECURSIVE_VOCABULARY)
    where = f"{folder / 'rec.vocabulary.yaml'}:7:21: error[vocabulary.recursive-record]"
    facts = tmp_path / "f.json"
    facts.write_text(json.dumps(base_facts()))
    for args in (["check", str(folder)], ["eval", str(facts), "--rules", str(folder)],
                 ["schema", "facts", "--rules", str(folder)]):
        code, out = _cli(args, capsys)
        assert code != 0 and where in out, (args, out)
        assert "part -> part" in out and "internal error" not in out


def test_an_extends_cycle_is_a_located_error_naming_the_cycle(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.vocabulary.yaml").write_text("vocabulary: va\nextends: vb\n")
    (tmp_path / "b.vocabulary.yaml").write_text("vocabulary: vb\nextends: vc\n")
    (tmp_path / "c.vocabulary.yaml").write_text("vocabulary: vc\nextends: va\n")
    code, out = _cli(["check", str(tmp_path)], capsys)
    assert code != 0 and "internal error" not in out
    # one diagnostic, whichever file is read first
    assert out.count("error[") == 1, out
    assert (f"{tmp_path / 'a.vocabulary.yaml'}:2:10: error[vocabulary.extends-cycle]: "
            "vocabularies extend each other in a circle: va -> vb -> vc -> va") in out


DIMENSION_VOCABULARY = """\
vocabulary: d
root: facts
currencies:
  contract:
    from: deal.terms.price
    label: the deal currency
records:
  facts:
    fields:
      deal: {type: deal}
      paid: {type: "money[contract]"}
      fees: {type: "list[fee]", default: []}
  deal:
    fields:
      terms: {type: terms}
  terms:
    fields:
      price: {type: "money[contract]"}
  fee:
    fields:
      name: {type: text}
      amount: {type: "money[contract]", default: {amount: "0", currency: contract}}
"""


def test_a_currency_dimension_must_be_given_by_every_document() -> None:
    # read from a field with a default in its own currency: no document need give it
    text = DIMENSION_VOCABULARY.replace(
        '      price: {type: "money[contract]"}',
        '      price: {type: "money[contract]", default: {amount: "1", currency: contract}}')
    with pytest.raises(ta_rules.RulesetError) as info:
        loads_vocabulary(text, "d.vocabulary.yaml")
    (d,) = info.value.diagnostics
    assert (d.code, d.location.line, d.location.column) == ("vocabulary.bad-dimension", 5, 11)
    assert "'deal.terms.price' may be left out or null" in d.message
    text = DIMENSION_VOCABULARY.replace("      deal: {type: deal}",
                                        "      deal: {type: deal?, default: null}")
    with pytest.raises(ta_rules.RulesetError) as info:
        loads_vocabulary(text, "d.vocabulary.yaml")
    assert "'deal' may be left out or null" in info.value.diagnostics[0].message


def test_a_money_default_in_a_currency_dimension_is_filled_in_list_items() -> None:
    from ta_rules.facts import parse_facts

    voc = loads_vocabulary(DIMENSION_VOCABULARY, "d.vocabulary.yaml")
    doc = {"deal": {"terms": {"price": {"amount": "5", "currency": "EUR"}}},
           "paid": {"amount": "6", "currency": "EUR"},
           "fees": [{"name": "a"}, {"name": "b", "amount": {"amount": "2", "currency": "EUR"}}]}
    facts = parse_facts(doc, voc)
    assert [f.amount for f in facts.fees] == [Money(Decimal(0), "EUR"), Money(Decimal(2), "EUR")]
    assert doc["fees"][0] == {"name": "a"}  # the caller's document is not changed
    doc["fees"][1]["amount"]["currency"] = "USD"
    with pytest.raises(ta_rules.FactsError) as info:
        parse_facts(doc, voc)
    assert info.value.paths == ("fees[1].amount.currency",)


def test_a_money_default_in_payments_reaches_the_rules(tmp_path: Any) -> None:
    from ta_rules.rulesets.registry import Registry

    from conftest import rules_text

    vocabulary = ("vocabulary: fee\nextends: trade-assurance\nrecords:\n  payment:\n"
                  "    fields:\n      fee: {type: \"money[contract]\", "
                  "default: {amount: \"0\", currency: contract}}\n")
    paid = "qualifying_paid: sum(p.amount for p in payments if qualifies(p), zero)"
    text = rules_text().replace("vocabulary: trade-assurance ", "vocabulary: fee ")
    assert paid in text
    text = text.replace(paid, paid.replace("p.amount for", "p.amount - p.fee for"))
    reg = Registry.from_folder(_folder(tmp_path, vocabulary, text))
    facts = base_facts()
    assert ta_rules.evaluate(facts, registry=reg).coverage_cap == Money(Decimal(5000), "USD")
    facts["payments"][0]["fee"] = {"amount": "100.00", "currency": "USD"}
    # spec 4: the cap is limited by the qualifying amount paid, here 4,900.00 USD
    v = ta_rules.evaluate(facts, registry=reg)
    assert (v.coverage_cap, v.codes) == (Money(Decimal("4900.00"), "USD"),
                                         {"LATE_SHIPMENT", "CAPPED_AT_AMOUNT_PAID"})


# --- item 21: a cap that is always null; solver time limits under a millisecond --------------


def test_an_amount_that_is_always_null_is_a_located_check_error(tmp_path: Any) -> None:
    from ta_rules.tools.check import check_paths

    from conftest import rules_text

    cap = '  coverage_cap: if outcome == "covered" or outcome == "pending" then cap\n'
    text = rules_text()
    assert cap in text
    path = tmp_path / "trade-assurance-2015.1.yaml"
    path.write_text(text.replace(cap, '  coverage_cap: "null"\n'))
    line = text[:text.index(cap)].count("\n") + 1
    found, _, _ = check_paths([path])
    errors = [d for d in found if d.severity == "error"]
    assert [(d.code, d.location.line, d.location.column) for d in errors] == [
        ("compile.type-mismatch", line, 18)]
    assert "always null" in errors[0].message


@pytest.mark.parametrize("timeout", ["0.0001", "0.0009", "0", "-1", "nan"])
def test_a_solver_time_limit_under_a_millisecond_is_refused(
        timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("z3")
    code, out = _cli(["prove", "--timeout", timeout], capsys)
    assert code == 2, out
    assert "--timeout must be at least 0.001 seconds" in out and "internal error" not in out


def test_the_solver_limit_is_never_switched_off_through_the_api() -> None:
    pytest.importorskip("z3")
    from ta_rules.rulesets.registry import default_registry
    from ta_rules.verify import BoundError
    from ta_rules.verify.prove import prove_rulesets

    with pytest.raises(BoundError, match=r"at least 0\.001 seconds"):
        prove_rulesets(list(default_registry().rulesets)[:1], timeout=0.0004)


# --- item 24: the subject of a reason is always a string --------------------------------------


def test_for_each_over_a_list_of_records_is_a_located_check_error(tmp_path: Any) -> None:
    from ta_rules.tools.check import check_paths

    from conftest import rules_text

    grounds = "for_each: ground in claim.grounds"
    text = rules_text()
    assert grounds in text
    line = text[:text.index(grounds)].count("\n") + 1
    column = text.splitlines()[line - 1].index(grounds) + len("for_each: ground in ") + 1
    path = tmp_path / "trade-assurance-2015.1.yaml"
    path.write_text(text.replace(grounds, "for_each: ground in payments"))
    found, _, _ = check_paths([path])
    errors = [d for d in found if d.severity == "error"]
    assert [(d.code, d.location.line, d.location.column) for d in errors] == [
        ("compile.type-mismatch", line, column)]
    assert "list of payment" in errors[0].message and "codes or text" in errors[0].message


# --- item 23: long chains, many misspellings, large records --------------------------------


def _with_condition(condition: str, values: str = "") -> str:
    from conftest import rules_text

    gate = "when: contract.category in excluded_categories"
    text = rules_text()
    assert gate in text
    text = text.replace(gate, f"when: {condition}", 1)
    return text.replace("\nvalues:\n", "\nvalues:\n" + values, 1)


@pytest.mark.parametrize("op", ["and", "or"])
def test_a_thousand_term_chain_checks_and_decides(op: str) -> None:
    # q is true for the base claim (no quality safeguard): the gate denies EXCLUDED_CATEGORY
    text = _with_condition(f" {op} ".join(["q"] * 1000),
                           "  q: not contract.quality_safeguard\n")
    rs = ta_rules.loads_ruleset(text, "chain.yaml")
    for engine in ("compiled", "reference"):
        v = ta_rules.evaluate(base_facts(), ruleset=rs, engine=engine)
        assert v.codes == {"EXCLUDED_CATEGORY"}


def test_a_contradiction_is_found_at_the_end_of_a_long_chain(tmp_path: Any) -> None:
    from ta_rules.tools.check import check_paths

    terms = [f"a>{i}" for i in range(998)] + ["a<5"]
    path = tmp_path / "chain.yaml"
    path.write_text(_with_condition(" and ".join(terms),
                                    "  a: contract.order_amount.amount\n"))
    found, _, _ = check_paths([path])
    never = [d for d in found if d.code == "compile.never-applies"]
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "a<5" in text)
    column = path.read_text().splitlines()[line - 1].index("a<5") + 1
    assert [(d.location.line, d.location.column) for d in never] == [(line, column)]


def test_did_you_mean_among_many_names_still_finds_the_name() -> None:
    values = "".join(f"  value_number_{i}: contract.order_amount.amount\n" for i in range(400))
    uses = "".join(f"  use_{i}: valeu_number_{i} + contract.order_amount\n"
                   for i in range(0, 400, 7))
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(_with_condition("contract.category in excluded_categories",
                                               values + uses), "many.yaml")
    unknown = [d for d in info.value.diagnostics if d.code == "compile.unknown-name"]
    assert len(unknown) == len(range(0, 400, 7))
    for d in unknown:
        wrong = d.message.split("'")[1]
        assert d.hint == f"did you mean {wrong.replace('valeu', 'value')!r}?", d.render()


def test_a_currency_code_in_lower_case_is_bad_facts_with_the_code_suggested() -> None:
    facts = base_facts()
    facts["supplier"]["ta_limit"] = {"amount": "1.00", "currency": "usd"}
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(facts)
    (problem,) = info.value.problems
    assert (problem.path, problem.code) == ("supplier.ta_limit.currency", "currency_code")
    assert problem.message.endswith("did you mean 'USD'?")


# --- one table of bounds ---------------------------------------------------------------------


def test_the_bounds_are_one_table_that_states_the_constants() -> None:
    from pathlib import Path

    from ta_rules import _iso4217, facts, money
    from ta_rules.rulesets import _yaml, passes

    text = (Path(__file__).parent.parent / "docs" / "limits.md").read_text("utf-8")
    header = "| resource | bound | where enforced | what happens beyond it |"
    assert text.count(header) == 1
    table = text[text.index(header):].split("\n\n")[0]
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()[2:]}
    assert f"{money.MAX_INTEGER_DIGITS} (`money.MAX_INTEGER_DIGITS`)" in rows[
        "digits of an amount before the point"]
    assert f"{money.MAX_DECIMAL_PLACES} (`money.MAX_DECIMAL_PLACES`)" in rows[
        "decimal places of a rate or other decimal fact"]
    assert f"{facts.MIN_DATE} to {facts.MAX_DATE}" in rows["dates"]
    assert f"{passes.MAX_DAY_COUNT:,} days" in rows[
        "day-count parameters (added to or subtracted from a date)"]
    assert f"{facts.TEXT_MAX_LENGTH:,}" in rows["characters of a text field"]
    assert f"{_yaml.MAX_BYTES // 1024 // 1024} MiB" in rows["size of a rule or vocabulary file"]
    assert f"published\n{_iso4217.PUBLISHED}" in text or f"published {_iso4217.PUBLISHED}" in text


def _chain_vocabulary(levels: int, fields: tuple[str, ...] = ("a",)) -> str:
    """Records r0 (the root) .. r{levels-1}, each holding the next in each of ``fields``."""
    out = "vocabulary: v\nroot: r0\nrecords:\n"
    for i in range(levels - 1):
        out += f"  r{i}:\n    fields:\n" + "".join(
            f"      {f}: {{type: 'r{i + 1}?', default: null}}\n" for f in fields)
    return out + f"  r{levels - 1}:\n    fields:\n      z: {{type: 'integer?', default: null}}\n"


def test_records_nest_at_most_32_levels() -> None:
    from ta_rules.facts import parse_facts

    voc = loads_vocabulary(_chain_vocabulary(32), "v.vocabulary.yaml")
    doc: dict[str, Any] = {}
    inner = doc
    for _ in range(31):
        inner["a"] = {}
        inner = inner["a"]
    inner["z"] = 3
    assert parse_facts(doc, voc) is not None
    with pytest.raises(ta_rules.RulesetError) as info:
        loads_vocabulary(_chain_vocabulary(1000), "v.vocabulary.yaml")
    (d,) = info.value.diagnostics
    # r31.a is on line 3 + 31 * 3 + 3: the field that makes the 33rd level
    assert (d.code, d.location.line, d.location.column) == ("vocabulary.too-deep", 99, 17)


def test_records_shared_by_many_fields_are_bounded_in_places() -> None:
    # two fields of the next record at each of 14 levels: 2^14 - 1 places for records
    from ta_rules.facts import parse_facts

    voc = loads_vocabulary(_chain_vocabulary(13, ("a", "b")), "v.vocabulary.yaml")
    assert parse_facts({"a": {"b": {}}}, voc) is not None
    with pytest.raises(ta_rules.RulesetError) as info:
        loads_vocabulary(_chain_vocabulary(14, ("a", "b")), "v.vocabulary.yaml")
    (d,) = info.value.diagnostics
    assert (d.code, d.location.line, d.location.column) == ("vocabulary.too-large", 6, 17)
