"""Hostile rule files and facts, concurrency, reloads and reproducible verdicts."""

from __future__ import annotations

import copy
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ta_rules
from ta_rules.audit import replay
from ta_rules.cli import main

from conftest import base_facts, rules_text
from strategies import facts_documents

# --- hostile rule files ---------------------------------------------------------------

BILLION_LAUGHS = """\
ruleset: lol
version: "1.0"
lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
lol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
lol3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
lol4: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
lol5: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


def hostile_rule_files() -> dict[str, tuple[str | bytes, str]]:
    text = rules_text()
    when = "when: contract.category in excluded_categories"
    return {
        "billion laughs": (BILLION_LAUGHS, "yaml.anchor"),
        "python object tag": ("ruleset: !!python/object/apply:os.system ['echo pwned']\n",
                              "yaml.tag"),
        "python name tag": ("ruleset: !!python/name:os.system\n", "yaml.tag"),
        "too large": (text + "#" + "x" * (3 * 1024 * 1024) + "\n", "yaml.too-large"),
        "nested too deep": ("a: " + "[" * 200 + "]" * 200 + "\n", "yaml.too-deep"),
        "long title": (text.replace("title: Trade Assurance (seed-era programme)",
                                    "title: " + "t" * 500_000), "schema.invalid"),
        "long expression": (text.replace(when, "when: " + " or ".join(["true"] * 5000)),
                            "schema.invalid"),
        "deep expression": (text.replace(when, "when: " + "(" * 500 + "true" + ")" * 500),
                            "compile.syntax"),
        "long number": (text.replace(when, "when: contract.order_amount.amount > "
                                     + "9" * 4_000), "compile.syntax"),
        "non utf-8": (text.encode("utf-8").replace(b"seed-era", b"seed\xff\xfeera"),
                      "yaml.encoding"),
        "division by zero": (text.replace(when, "when: contract.order_amount.amount > 1 / "
                                          "(2 - 2)"), "compile.division-by-zero"),
        "overflow": (text.replace(when, "when: contract.order_amount.amount > "
                                  "999999999999999999999999 * 999999999999"),
                     "compile.overflow"),
        "cycle": (text.replace("  zero: money(0, currency)", "  zero: money(0, currency) + cap"),
                  "compile.cycle"),
        "tab indentation": (text.replace("  LATE_SHIPMENT:\n    kind", "  LATE_SHIPMENT:\n\tkind"),
                            "yaml.syntax"),
    }


@pytest.mark.parametrize("name", sorted(hostile_rule_files()))
def test_hostile_rule_file_is_a_located_ruleset_error(name: str) -> None:
    content, code = hostile_rule_files()[name]
    with pytest.raises(ta_rules.RulesetError) as info:
        ta_rules.loads_ruleset(content, "hostile.yaml")
    codes = [d.code for d in info.value.diagnostics]
    assert code in codes, info.value.render()[:500]
    d = next(d for d in info.value.diagnostics if d.code == code)
    assert d.location.source == "hostile.yaml" and d.location.line >= 1
    assert len(info.value.render()) < 20_000  # never echoes the whole hostile input


# --- hostile facts --------------------------------------------------------------------

def deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cur = root
    for _ in range(levels):
        cur["a"] = {}
        cur = cur["a"]
    return root


HOSTILE_FACTS: dict[str, tuple[str, Any, str]] = {
    # name: (dotted path to replace, value, path expected in the error)
    "float amount": ("contract.order_amount.amount", 5000.0, "contract.order_amount.amount"),
    "nan": ("contract.order_amount.amount", float("nan"), "contract.order_amount.amount"),
    "infinity": ("contract.order_amount.amount", float("inf"), "contract.order_amount.amount"),
    "1e309": ("contract.order_amount.amount", 1e309, "contract.order_amount.amount"),
    "nan string": ("contract.order_amount.amount", "NaN", "contract.order_amount.amount"),
    "negative": ("payments.0.amount.amount", "-1.00", "payments[0].amount"),
    "30 digits": ("contract.order_amount.amount", "1" * 30 + ".00",
                  "contract.order_amount.amount"),
    "malformed": ("contract.order_amount.amount", "5,000.00", "contract.order_amount.amount"),
    "exponent": ("contract.order_amount.amount", "5e3", "contract.order_amount.amount"),
    "unknown currency": ("contract.order_amount.currency", "XYZ",
                         "contract.order_amount.currency"),
    "lowercase currency": ("contract.order_amount.currency", "usd",
                           "contract.order_amount.currency"),
    "mixed currencies": ("payments.0.amount.currency", "EUR", "payments[0].amount.currency"),
    "impossible date": ("contract.ship_by", "2015-02-29", "contract.ship_by"),
    "far future": ("as_of", "9999-12-31", "as_of"),
    "far past": ("as_of", "0001-01-01", "as_of"),
    "date with time": ("as_of", "2015-03-09T10:00:00", "as_of"),
    "10 MB string": ("claim.description", "x" * 10_000_000, "claim.description"),
    "10 MB category": ("contract.category", "x" * 10_000_000, "contract.category"),
    "10,000 levels": ("claim.description", deep(10_000), "claim.description"),
    "10,000 levels unknown": ("shipment.extra", deep(10_000), "shipment.extra"),
    "bool for number": ("contract.ship_within_days", True, "contract.ship_within_days"),
    "number for bool": ("supplier.participating", 1, "supplier.participating"),
    "string for bool": ("supplier.participating", "true", "supplier.participating"),
    "unknown field": ("contract.colour", "red", "contract.colour"),
    "list for mapping": ("shipment", [], "shipment"),
    "null for required": ("claim", None, "claim"),
    "huge list": ("contract.quality_requirements", ["x"] * 100_000,
                  "contract.quality_requirements"),
}


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    target: Any = doc
    for p in parts[:-1]:
        target = target[int(p)] if p.isdigit() else target[p]
    target[parts[-1]] = value


@pytest.mark.parametrize("name", sorted(HOSTILE_FACTS))
def test_hostile_facts_give_facts_error_naming_the_path(name: str) -> None:
    dotted, value, expected = HOSTILE_FACTS[name]
    doc = base_facts()
    put(doc, dotted, value)
    with pytest.raises(ta_rules.FactsError) as info:
        ta_rules.evaluate(doc)
    assert any(p.startswith(expected) for p in info.value.paths), info.value.paths
    assert len(str(info.value)) < 5_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.dates().map(lambda d: d.isoformat()),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)


def only_verdict_or_facts_error(doc: Any) -> None:
    try:
        verdict = ta_rules.evaluate(doc)
    except ta_rules.FactsError:
        return
    assert verdict.outcome in ("covered", "denied", "pending", "settled")


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_documents(doc: Any) -> None:
    only_verdict_or_facts_error(doc)


def paths_of(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths_of(v, (*prefix, i))
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(facts_documents(), st.data())
def test_mutations_of_valid_facts(doc: dict[str, Any], data: st.DataObject) -> None:
    mutated = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = paths_of(mutated)
        path = data.draw(st.sampled_from(paths))
        parent: Any = mutated
        for p in path[:-1]:
            parent = parent[p]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(json_values)
        else:
            parent[path[-1]] = data.draw(json_values)
    only_verdict_or_facts_error(mutated)


def test_bad_options_are_ta_rules_errors() -> None:
    doc = base_facts()
    for options in ({"parameters": "claim_window_days=3"}, {"parameters": {"nope": 1}},
                    {"parameters": {"claim_window_days": "3"}}, {"locale": 7},
                    {"locale": None}, {"version": 2015.1}, {"ruleset": 5},
                    {"engine": None}, {"engine": "turbo"}):
        with pytest.raises(ta_rules.TaRulesError):
            ta_rules.evaluate(doc, **options)


# --- concurrency ----------------------------------------------------------------------

def varied_claims(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    claims = []
    for _ in range(n):
        f = base_facts()
        amount = f"{rng.choice([999, 1000, 1500, 5000, 25000])}.{rng.randint(0, 99):02d}"
        f["contract"]["order_amount"]["amount"] = amount
        f["payments"][0]["amount"]["amount"] = rng.choice([amount, "1500.00"])
        f["shipment"]["shipped_on"] = rng.choice([None, "2015-02-27", "2015-03-01",
                                                  "2015-03-02", "2015-03-20"])
        f["claim"]["grounds"] = rng.sample(["late_shipment", "quality", "non_arrival",
                                            "other"], rng.randint(1, 2))
        f["claim"]["determination_requested_on"] = rng.choice(
            [None, "2015-03-05", "2015-03-09", "2015-03-30"])
        f["as_of"] = rng.choice(["2015-03-04", "2015-03-09", "2015-04-01"])
        f["contract"]["category"] = rng.choice(["consumer_electronics", "services"])
        f["claim"]["settled_on"] = rng.choice([None] * 6 + ["2015-03-08"])
        claims.append(f)
    return claims


def test_eight_threads_give_the_sequential_verdicts() -> None:
    claims = varied_claims(500)
    expected = [ta_rules.evaluate(c).model_dump_json() for c in claims]
    # A fresh copy of the ruleset (same text and name, so the same verdicts): the engine
    # program and the reason cache are built while eight threads race for them, the threads
    # start together, and the interpreter switches between them every 10 microseconds
    # instead of every 5 ms, so each evaluation is interleaved with the others many times.
    fresh = ta_rules.loads_ruleset(rules_text(), "rules/trade-assurance-2015.1.yaml")
    assert fresh.content_hash == ta_rules.default_registry().select(version="2015.1").content_hash
    start = threading.Barrier(8)
    mismatches: list[int] = []
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            start.wait()
            for i in range(1_500):  # every claim three times (31 is prime to 500)
                j = (i * 31 + offset) % len(claims)
                if ta_rules.evaluate(claims[j], ruleset=fresh).model_dump_json() != expected[j]:
                    mismatches.append(j)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == [] and mismatches == []


def test_reload_swaps_atomically_and_a_broken_reload_keeps_the_last_good(
        tmp_path: Path) -> None:
    path = tmp_path / "trade-assurance-2015.1.yaml"
    original = rules_text()
    lowered = original.replace('default: "1000.00"', 'default: "100.00"')
    path.write_text(original)
    registry = ta_rules.Registry.from_folder(tmp_path)
    small = base_facts()
    small["contract"]["order_amount"]["amount"] = "500.00"
    small["payments"][0]["amount"]["amount"] = "500.00"
    seen: list[tuple[str, str]] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            v = ta_rules.evaluate(small, registry=registry)
            seen.append((v.ruleset.content_hash, v.outcome))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for content in (lowered, original, lowered):
            time.sleep(0.05)
            path.write_text(content)
            assert registry.reload() == []
        time.sleep(0.05)
        path.write_text(lowered.replace("when: contract.category in excluded_categories",
                                        "when: contract.categry in excluded_categories"))
        problems = registry.reload()
        assert [d.code for d in problems] == ["compile.unknown-fact"]
        time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join()
    by_hash: dict[str, set[str]] = {}
    for content_hash, outcome in seen:
        by_hash.setdefault(content_hash, set()).add(outcome)
    assert len(by_hash) == 2  # only ever the old or the new ruleset, never a mixture
    assert all(len(outcomes) == 1 for outcomes in by_hash.values())
    assert set().union(*by_hash.values()) == {"covered", "denied"}
    # the broken file was not taken: the last good (lowered minimum) still serves
    assert ta_rules.evaluate(small, registry=registry).outcome == "covered"


# --- reproducibility ------------------------------------------------------------------

def test_byte_identical_verdicts_and_audit_fields() -> None:
    doc = base_facts()
    a = ta_rules.evaluate(doc, parameters={"claim_window_days": 20}, locale="es", trace=True)
    b = ta_rules.evaluate(copy.deepcopy(doc), parameters={"claim_window_days": 20},
                          locale="es", trace=True)
    assert a.model_dump_json() == b.model_dump_json()
    assert a.facts_hash.startswith("sha256:") and len(a.facts_hash) == 71
    assert a.ruleset.content_hash.startswith("sha256:")
    assert a.parameters == {"claim_window_days": 20}
    assert a.ta_rules_version == ta_rules.__version__
    same = base_facts()
    same["contract"]["order_amount"]["amount"] = "5000"
    assert ta_rules.evaluate(same).facts_hash == ta_rules.evaluate(doc).facts_hash


def test_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_facts()
    verdict = ta_rules.evaluate(doc, parameters={"claim_window_days": 20}, locale="zh_Hans")
    report = replay(verdict.model_dump(mode="json"), doc)
    assert report.reproduced and report.differences == ()
    other = base_facts()
    other["shipment"]["shipped_on"] = "2015-02-27"
    report = replay(verdict.model_dump(mode="json"), other)
    assert not report.reproduced
    assert report.differences[0].startswith("facts: these are not the facts")
    assert any(d.startswith("outcome: recorded 'covered', now 'denied'")
               for d in report.differences)
    v_file, f_file = tmp_path / "verdict.json", tmp_path / "facts.json"
    v_file.write_text(verdict.model_dump_json())
    f_file.write_text(json.dumps(doc))
    assert main(["replay", str(v_file), str(f_file)]) == 0
    assert capsys.readouterr().out.startswith("exact replay: reproduced")
    f_file.write_text(json.dumps(other))
    assert main(["replay", str(v_file), str(f_file)]) == 1
    assert main(["replay", str(f_file), str(f_file)]) == 2
    assert "not a ta-rules verdict" in capsys.readouterr().err
    assert main(["replay", str(tmp_path / "missing.json"), str(f_file)]) == 2


def test_replay_notices_a_changed_ruleset(tmp_path: Path) -> None:
    (tmp_path / "ta.yaml").write_text(rules_text())
    registry = ta_rules.Registry.from_folder(tmp_path)
    doc = base_facts()
    verdict = ta_rules.evaluate(doc, registry=registry)
    (tmp_path / "ta.yaml").write_text(rules_text().replace('default: "1000.00"',
                                                           'default: "6000.00"'))
    assert registry.reload() == []
    report = replay(verdict, doc, registry=registry)
    # the texts that decided are kept: the verdict is reproduced from them, and the change
    # is the version now in the folder deciding otherwise
    assert report.reproduced
    assert report.policy_drift is not None
    assert any(d.startswith("outcome:") for d in report.policy_drift)


def test_verdicts_do_not_depend_on_what_was_judged_before() -> None:
    # A rule giving a decimal in its message: 1.0 and 1.00 are equal, but print differently.
    text = rules_text().replace(
        "        with: {category: contract.category}\n",
        "        with: {category: contract.category, rate: contract.fx_rate_to_usd ?? 1.0}\n")
    text = text.replace('message: "Orders in the category {category} are not covered."',
                        'message: "Orders in the category {category} ({rate}) are not covered."')
    # the reworded message has no translation: show messages as written
    text = text.replace("\ncatalog: ta_rules", "\n# catalog: ta_rules", 1)
    ruleset = ta_rules.loads_ruleset(text, "rate.yaml")

    def claim(rate: str) -> dict[str, Any]:
        f = base_facts()
        f["contract"]["category"] = "services"
        f["contract"]["fx_rate_to_usd"] = rate
        return f

    first = ta_rules.evaluate(claim("1.0"), ruleset=ruleset).model_dump_json()
    second = ta_rules.evaluate(claim("1.00"), ruleset=ruleset).model_dump_json()
    fresh = ta_rules.loads_ruleset(text, "rate.yaml")
    assert ta_rules.evaluate(claim("1.00"), ruleset=fresh).model_dump_json() == second
    assert '"rate":"1.00"' in second and '"rate":"1.0"' in first
