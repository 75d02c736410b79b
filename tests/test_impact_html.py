"""The HTML impact report in a real headless Chromium: it renders, logs no error, fetches
nothing, and every number it shows is the JSON report's.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ta_rules.cli import main

from conftest import base_facts

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if os.environ.get("CI") and not Path(CHROMIUM).exists():  # .ci/run installs it: never skip there
    raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed it")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")


def _claim(amount: str, category: str = "consumer_electronics") -> dict[str, Any]:
    f = base_facts()
    f["contract"]["order_amount"]["amount"] = amount
    f["payments"][0]["amount"]["amount"] = amount
    f["contract"]["category"] = category
    return f


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("html")
    src = folder / "history.jsonl"
    with open(src, "w", encoding="utf-8") as fh:
        for i in range(60):
            amount = f"{1000 + 100 * i}.00"
            category = "vehicles" if i % 7 == 0 else "consumer_electronics"
            fh.write(json.dumps({"id": f"<c{i}>&", "facts": _claim(amount, category)}) + "\n")
        fh.write("{corrupt\n")
    argv = ["impact", "--claims", str(src), "--candidate", "2015.1",
            "--set", "min_order_amount_usd=3000", "--set", "excluded_categories=[]"]
    out = io.StringIO()
    assert main([*argv, "--format", "json"], stdout=out, stderr=io.StringIO()) == 1
    page = folder / "report.html"
    assert main([*argv, "--format", "html", "--out", str(page)], stdout=io.StringIO(),
                stderr=io.StringIO()) == 1
    return json.loads(out.getvalue()), page


def test_report_renders_in_chromium_with_the_json_numbers(
        reports: tuple[dict[str, Any], Path]) -> None:
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api  # installed by .ci/run: a failure, not a skip
    else:
        sync_api = pytest.importorskip("playwright.sync_api")
    data, page_file = reports
    assert data["reasons_gained"] and data["reasons_lost"] and data["errors"]["count"] == 1
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")

            def text(selector: str) -> str:
                return str(page.locator(selector).inner_text()).strip()

            assert int(text("#claims")) == data["claims"]
            assert int(text("#changed")) == data["changed"]
            assert int(text("#error-count")) == data["errors"]["count"]
            for currency, amount in data["refund_delta"].items():
                shown = text(f'[data-refund-currency="{currency}"]')
                assert Decimal(shown) == Decimal(amount)
            cells = page.locator("#matrix td[data-from]")
            assert cells.count() == 16
            for i in range(16):
                cell = cells.nth(i)
                key = f"{cell.get_attribute('data-from')}->{cell.get_attribute('data-to')}"
                assert int(cell.inner_text()) == data["transitions"].get(key, 0), key
            bars = page.locator("#chart g.bar")
            expected_bars = {(f"{sign}{code}", c, a)
                             for sign, key in (("+", "reasons_gained"), ("-", "reasons_lost"))
                             for code, v in data[key].items()
                             for c, a in v["refund_delta"].items()}
            assert {(bars.nth(i).get_attribute("data-reason"),
                     bars.nth(i).get_attribute("data-currency"),
                     bars.nth(i).get_attribute("data-amount"))
                    for i in range(bars.count())} == expected_bars
            assert page.locator("#chart").bounding_box()["height"] > 20  # laid out, visible
            for change, key in (("gained", "reasons_gained"), ("lost", "reasons_lost")):
                for code, v in data[key].items():
                    row = page.locator(f'#reasons tr[data-reason="{code}"]'
                                       f'[data-change="{change}"]')
                    assert int(row.locator("td.claims").inner_text()) == v["claims"]
            rule_rows = page.locator("#rules tbody tr")
            assert rule_rows.count() == len(data["by_rule"])
            for rule, v in data["by_rule"].items():
                row = page.locator(f'#rules tr[data-rule="{rule}"]')
                assert int(row.locator("td.gained").inner_text()) == v["gained"]
                assert int(row.locator("td.lost").inner_text()) == v["lost"]
            # searchable examples: ids are shown escaped, and the search box filters
            examples = [e for items in data["examples"].values() for e in items]
            rows = page.locator("#examples tbody tr")
            assert rows.count() == len(examples)
            assert int(text("#shown")) == len(examples)
            wanted = examples[0]["id"]
            page.fill("#search", wanted)
            visible = page.locator("#examples tbody tr:visible")
            assert visible.count() == sum(1 for e in examples if wanted in e["id"])
            assert wanted in visible.first.inner_text()
            assert int(text("#shown")) == visible.count()
            page.fill("#search", "covered->denied")
            assert page.locator("#examples tbody tr:visible").count() == len(
                data["examples"]["covered->denied"])
            page.fill("#search", "")
            assert page.locator("#examples tbody tr:visible").count() == len(examples)
        finally:
            browser.close()
    assert problems == []
    assert requests == [page_file.as_uri()]
