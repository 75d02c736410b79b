"""ta-rules studio: a real server on 127.0.0.1 driven through Debian's chromium.

A project (rules folder, scenarios, a history, a git commit) is laid out in a temporary
folder and ``ta-rules studio --port 0`` is started in it as a process; the browser edits,
checks, saves, judges, asks why-not, diffs against ``git:HEAD``, runs the scenarios and
shows the impact report, logging no console error and requesting nothing but 127.0.0.1.
The screenshots of docs/editors.md are taken here.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from conftest import EXAMPLES, ROOT, base_facts

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
#: The screenshots of docs/editors.md are written there when TA_RULES_SCREENSHOTS is set
#: (``TA_RULES_SCREENSHOTS=1 pytest tests/test_studio.py``); otherwise they are still taken,
#: into the test's own folder, so a run leaves the working tree as it was.
IMAGES = ROOT / "docs" / "images"
RULE_FILE = "trade-assurance-2015.1.yaml"
EDITORS = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _history_line(i: int, submitted: str) -> str:
    facts = base_facts()
    facts["claim"]["submitted_on"] = submitted
    facts["claim"]["determination_requested_on"] = "2015-04-08"
    facts["as_of"] = "2015-04-08"
    return json.dumps({"id": f"c{i}", "facts": facts}) + "\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("studio") / "policy"
    shutil.copytree(ROOT / "ta_rules" / "rules", root / "rules")
    (root / "scenarios").mkdir()
    for name in ("late_shipment.yaml", "process.yaml"):
        shutil.copy(EXAMPLES / "scenarios" / name, root / "scenarios" / name)
    (root / "pyproject.toml").write_text(
        '[tool.ta-rules]\nrules = "rules"\nscenarios = ["scenarios"]\n'
        'locales = ["en", "es", "zh_Hans"]\n', encoding="utf-8")
    (root / ".gitignore").write_text(".ta-rules/\n", encoding="utf-8")
    with open(root / "history.jsonl", "w", encoding="utf-8") as fh:
        # ship-by 2015-03-01: filed on day 2, day 29 and day 30 of the claim window
        for i, day in enumerate(["2015-03-03", "2015-03-30", "2015-03-31"]):
            fh.write(_history_line(i, day))
    (root / "examples" / "claims").mkdir(parents=True)
    (root / "examples" / "claims" / "late.json").write_text(json.dumps(base_facts()),
                                                            encoding="utf-8")
    (root / "outside.yaml").write_text("not: a rule file\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "policy as published")
    return root


class Studio:
    """A running ``ta-rules studio`` process and its address."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ta_rules", "studio", "--port", "0"], cwd=root, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stderr is not None
        stream = self.proc.stderr
        self.reader = threading.Thread(target=lambda: [lines.put(line) for line in stream],
                                       daemon=True)
        self.reader.start()
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            self.stop()
            raise AssertionError("the studio did not say where it listens") from None
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert m, first
        self.port = int(m[1])
        self.url = m[0]

    def stop(self) -> int:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)  # at the end of the stream once the process is gone
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return self.proc.returncode

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, path, body=data, headers={
                "Content-Type": "application/json", **(headers or {})})
            res = conn.getresponse()
            raw = res.read()
        finally:
            conn.close()
        if res.getheader("Content-Type", "").startswith("application/json"):
            return res.status, json.loads(raw)
        return res.status, raw.decode("utf-8")

    def token(self) -> str:
        status, page = self.request("GET", "/", headers={"Host": f"127.0.0.1:{self.port}"})
        assert status == 200
        m = re.search(r'name="studio-token" content="([^"]+)"', page)
        assert m
        return m[1]


@pytest.fixture(scope="module")
def studio(project: Path) -> Iterator[Studio]:
    server = Studio(project)
    try:
        yield server
    finally:
        assert server.stop() == 0  # SIGTERM: a clean stop


def _line_of(text: str, needle: str) -> int:
    [line] = [i for i, s in enumerate(text.splitlines(), 1) if needle in s]
    return line


def _expected(project: Path, file: str, name: str) -> dict[str, Any]:
    """A scenario's expectation as its file writes it (the verdict the spec derives)."""
    doc = yaml.safe_load((project / "scenarios" / file).read_text(encoding="utf-8"))
    [scenario] = [s for s in doc["scenarios"] if s["name"].startswith(name)]
    return {"name": scenario["name"], **scenario["expect"]}


def _find(page: Any, text: str) -> None:
    """Select the next occurrence of ``text`` with the editor's own search (Ctrl-F)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Control+f")
    field = page.locator(".cm-search input[name=search]")
    field.fill("")
    field.type(text)  # the search panel reads its field on key up
    field.press("Enter")
    field.press("Escape")


def _sync_api() -> Any:
    if os.environ.get("CI"):
        import playwright.sync_api as sync_api  # installed by .ci/run: a failure, not a skip
        return sync_api
    return pytest.importorskip("playwright.sync_api")


def test_studio_in_chromium(project: Path, studio: Studio, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run should have installed it")
        pytest.skip("chromium is not installed")
    sync_api = _sync_api()
    rule_path = project / "rules" / RULE_FILE
    original = rule_path.read_text(encoding="utf-8")
    typo_line = _line_of(original, "when: rate is null")
    window_line = original.splitlines().index("  claim_window_days:") + 3
    assert original.splitlines()[window_line - 1].strip() == "default: 30"
    problems: list[str] = []
    requests: list[str] = []
    images = IMAGES if os.environ.get("TA_RULES_SCREENSHOTS") else tmp_path
    images.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(studio.url)
            page.wait_for_selector("body[data-ready=true]")
            assert page.locator("#files a").all_inner_texts() == [
                RULE_FILE, "trade-assurance-2017.12.yaml", "trade-assurance.vocabulary.yaml"]

            # --- open a rule file, introduce a typo: the diagnostic is at its line -------
            page.click(f'#files a[data-file="{RULE_FILE}"]')
            page.wait_for_selector("#check-status:has-text('no problems')")
            # the outline of the file: each name where it is declared, a click goes there
            param = page.locator('#outline a[data-kind="parameter"]'
                                 '[data-name="claim_window_days"]')
            assert param.get_attribute("data-line") == str(window_line - 2)
            param.click()
            assert page.inner_text(".cm-activeLine").strip() == "claim_window_days:"
            _find(page, "when: rate is")
            page.keyboard.press("ArrowLeft")
            for _ in "when: ":
                page.keyboard.press("ArrowRight")
            page.keyboard.type("x")  # when: xrate is null
            error = page.locator(f'#diagnostics li.error[data-file="{RULE_FILE}"]')
            error.first.wait_for()
            assert error.count() == 1
            assert error.get_attribute("data-line") == str(typo_line)
            assert "xrate" in error.inner_text()
            assert page.locator(".cm-lint-marker-error").count() == 1  # in the gutter
            page.wait_for_selector(".cm-lintRange-error")  # and under the text
            assert page.get_attribute("#dirty", "data-state") == "unsaved"
            assert rule_path.read_text(encoding="utf-8") == original  # not saved yet
            page.screenshot(path=str(images / "studio-diagnostics.png"))
            # another file opened meanwhile: the unsaved text is kept, and still checked
            page.click('#files a[data-file="trade-assurance.vocabulary.yaml"]')
            page.wait_for_selector("#filename:has-text('vocabulary')")
            page.wait_for_selector(f'#diagnostics li.error[data-file="{RULE_FILE}"]'
                                   f'[data-line="{typo_line}"]')
            assert page.get_attribute(f'#files a[data-file="{RULE_FILE}"]', "class") \
                == "dirty"
            page.click(f'#files a[data-file="{RULE_FILE}"]')
            page.wait_for_selector(f'#diagnostics li.error[data-line="{typo_line}"]')
            assert page.get_attribute("#dirty", "data-state") == "unsaved"

            # --- fix it, make a real change, save: the file on disk changed -------------
            page.locator(".cm-content").click()
            _find(page, "when: xrate is")
            page.keyboard.press("ArrowLeft")
            for _ in "when: x":
                page.keyboard.press("ArrowRight")
            page.keyboard.press("Backspace")
            page.wait_for_selector("#check-status:has-text('no problems')")
            _find(page, "default: 30")
            page.keyboard.press("ArrowRight")
            page.keyboard.press("Backspace")
            page.keyboard.press("Backspace")
            page.keyboard.type("29")
            page.wait_for_selector("#check-status:has-text('no problems')")
            page.click("#save")
            page.wait_for_selector("#dirty[data-state=saved]")
            assert page.get_attribute(f'#files a[data-file="{RULE_FILE}"]', "class") == "on"
            saved = rule_path.read_text(encoding="utf-8")
            assert saved.splitlines()[window_line - 1].strip() == "default: 29"
            assert saved.replace("default: 29", "default: 30", 1) == original
            assert not list((project / "rules").glob(".*.tmp"))  # the atomic write's file

            # --- run a scenario in a chosen locale: verdict, reasons, trace highlight ----
            late = _expected(project, "late_shipment.yaml", "LATE-01")
            page.select_option("#locale", "es")
            page.select_option("#claim", "scenario:" + json.dumps(
                ["scenarios/late_shipment.yaml", late["name"]], separators=(",", ":")))
            page.click("#run")
            page.wait_for_selector("#outcome")
            assert page.inner_text("#outcome").lower() == late["outcome"]
            codes = page.locator("#reasons tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.code)")
            assert sorted(codes) == sorted(late["reasons"])
            message = page.inner_text('#reasons tr[data-code="LATE_SHIPMENT"] td.message')
            assert "después de la fecha límite de envío" in message  # the es catalog's text
            applied = page.locator('#trace tr[data-applied="true"]').evaluate_all(
                "rows => rows.map(r => r.dataset.rule)")
            assert "late.covered" in applied
            # the values each rule read: the window rule read the saved parameter
            seen = page.inner_text('#trace tr[data-rule="late.window-expired"] td.mono')
            assert "claim_window_days = 29" in seen, seen
            # the rules that applied are highlighted where the file writes them
            rule_lines = {_line_of(saved, f"- id: {rule}") for rule in applied
                          if f"- id: {rule}\n" in saved}
            highlighted = page.locator(".cm-line.ta-applied")
            highlighted.first.wait_for()
            shown_ids = {m[1] for m in (re.search(r"- id: (\S+)", t) for t in
                                        highlighted.all_inner_texts()) if m}
            assert shown_ids and shown_ids <= set(applied)
            assert rule_lines  # every applied rule has its line in the file
            page.screenshot(path=str(images / "studio-trace.png"))

            # --- why-not on a pending claim proposes a change that makes it covered -----
            proc = _expected(project, "process.yaml", "PROC-03")
            assert proc["outcome"] == "pending"
            page.select_option("#locale", "en")
            page.select_option("#claim", "scenario:" + json.dumps(
                ["scenarios/process.yaml", proc["name"]], separators=(",", ":")))
            page.click("#run")
            page.wait_for_selector("#outcome.pending")
            page.click("#why-not")
            page.locator("#changes li").first.wait_for(timeout=120_000)
            paths = page.locator("#changes li").evaluate_all(
                "items => items.map(i => i.dataset.path)")
            # the buyer can still ask for a determination (spec: after the response period)
            assert "claim.determination_requested_on" in paths
            page.screenshot(path=str(images / "studio-why-not.png"))
            page.click("#apply-changes")
            page.wait_for_selector("#outcome.covered")
            facts = json.loads(page.input_value("#facts"))
            assert facts["claim"]["determination_requested_on"] is not None

            # --- the diff against git:HEAD shows the edit and the scenarios it moves ----
            page.click('.tabs button[data-tab="diff"]')
            assert page.input_value("#base") == "git:HEAD"
            page.click("#run-diff")
            change = page.locator('#diff li[data-section="parameter"]'
                                  '[data-name="claim_window_days"]')
            change.wait_for()
            assert re.search(r"30 .*-> 29", change.inner_text()), change.inner_text()
            moved = page.locator("#diff ul.moved li").evaluate_all(
                "items => items.map(i => i.dataset.name)")
            # LATE-09 claims on window day 30: covered under a 30-day window, not under 29
            assert any(n.startswith("LATE-09") for n in moved), moved
            assert "(scenarios/late_shipment.yaml:" in page.inner_text("#diff ul.moved")
            page.screenshot(path=str(images / "studio-diff.png"))

            # --- the project's scenarios: run all, filter failures, open one -------------
            page.click('.tabs button[data-tab="scenarios"]')
            page.click("#run-all")
            page.wait_for_selector("#scenario-summary:has-text('passed')")
            rows = page.locator("#scenario-table tbody tr")
            total = rows.count()
            failing = page.locator('#scenario-table tbody tr[data-passed="false"]')
            assert failing.count() >= 1
            failed_names = failing.evaluate_all("rows => rows.map(r => r.dataset.name)")
            assert set(failed_names) == set(moved)  # what the diff said would move
            page.check("#failures-only")
            assert rows.count() == len(failed_names) < total
            page.screenshot(path=str(images / "studio-scenarios.png"))
            rows.first.locator("button.open").click()
            page.wait_for_selector("#expectation.fail")

            # --- impact over a history: the HTML report inside the page -------------------
            page.click('.tabs button[data-tab="impact"]')
            page.fill("#history", "history.jsonl")
            page.click("#run-impact")
            frame = page.frame_locator("#impact")
            frame.locator("#claims").wait_for(timeout=120_000)
            assert frame.locator("#claims").inner_text().strip() == "3"
            # filed on day 30: covered under the committed 30 days, late under 29
            assert frame.locator("#changed").inner_text().strip() == "1"
            page.screenshot(path=str(images / "studio-impact.png"))
        finally:
            browser.close()
    shots = sorted(p.name for p in images.glob("studio-*.png") if p.stat().st_size > 10_000)
    assert shots == sorted(re.findall(r"images/(studio-[a-z-]+\.png)", EDITORS))
    assert problems == []
    hosts = {urlparse(u).hostname for u in requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, hosts
    assert all(urlparse(u).scheme in ("http", "data", "about") for u in requests), requests


def test_foreign_origin_host_and_missing_token_are_refused(project: Path,
                                                           studio: Studio) -> None:
    token = studio.token()
    own = {"Host": f"127.0.0.1:{studio.port}", "X-Studio-Token": token}
    assert studio.request("POST", "/api/state", {}, own)[0] == 200
    # a page of another origin posting to the studio
    status, body = studio.request("POST", "/api/state", {},
                                  {**own, "Origin": "http://evil.example"})
    assert status == 403 and "another origin" in body["error"]["message"]
    status, _ = studio.request("POST", "/api/save", {"file": RULE_FILE, "text": "x"},
                               {**own, "Origin": "http://evil.example"})
    assert status == 403
    # DNS rebinding: the right address under a foreign name
    for path in ("/", "/static/editor.js"):
        status, body = studio.request("GET", path,
                                      headers={"Host": f"evil.example:{studio.port}"})
        assert status == 403 and "Host" in body["error"]["message"]
    status, _ = studio.request("POST", "/api/state", {},
                               {**own, "Host": f"evil.example:{studio.port}"})
    assert status == 403
    # no token, a wrong token, a cross-site fetch
    assert studio.request("POST", "/api/state", {}, {"Host": own["Host"]})[0] == 403
    assert studio.request("POST", "/api/state", {}, {**own, "X-Studio-Token": "no"})[0] == 403
    assert studio.request("POST", "/api/state", {},
                          {**own, "Sec-Fetch-Site": "cross-site"})[0] == 403
    assert (project / "rules" / RULE_FILE).read_text(encoding="utf-8") != "x"


def test_save_refuses_to_overwrite_a_file_changed_on_disk(project: Path,
                                                          studio: Studio) -> None:
    own = {"Host": f"127.0.0.1:{studio.port}", "X-Studio-Token": studio.token()}
    name = "trade-assurance-2017.12.yaml"
    path = project / "rules" / name
    status, opened = studio.request("POST", "/api/file", {"file": name}, own)
    assert status == 200 and opened["text"] == path.read_text(encoding="utf-8")
    changed = opened["text"] + "# written by another editor\n"
    path.write_text(changed, encoding="utf-8")
    status, body = studio.request("POST", "/api/save", {
        "file": name, "text": opened["text"] + "# from the page\n",
        "digest": opened["digest"]}, own)
    assert status == 409 and "changed on disk" in body["error"]["message"]
    assert path.read_text(encoding="utf-8") == changed
    status, body = studio.request("POST", "/api/save", {"file": name, "text": opened["text"]},
                                  own)
    assert status == 400 and path.read_text(encoding="utf-8") == changed
    # opened again, it saves
    status, fresh = studio.request("POST", "/api/file", {"file": name}, own)
    status, body = studio.request("POST", "/api/save", {
        "file": name, "text": opened["text"], "digest": fresh["digest"]}, own)
    assert status == 200, body
    assert path.read_text(encoding="utf-8") == opened["text"]
    assert body["diagnostics"] == []


def test_a_claim_from_an_example_or_pasted_and_its_errors(studio: Studio) -> None:
    own = {"Host": f"127.0.0.1:{studio.port}", "X-Studio-Token": studio.token()}
    state = studio.request("POST", "/api/state", {}, own)[1]
    assert state["examples"] == ["late.json"]
    assert {"en", "es", "zh_Hans"} <= set(state["locales"])
    # base_facts: shipped 2015-03-02, one day after the ship-by date 2015-03-01: covered
    status, example = studio.request("POST", "/api/run", {"example": "late.json"}, own)
    assert status == 200, example
    assert example["verdict"]["outcome"] == "covered"
    assert [r["code"] for r in example["verdict"]["reasons"]] == ["LATE_SHIPMENT"]
    assert example["differences"] is None
    pasted = yaml.safe_dump(base_facts())
    status, same = studio.request("POST", "/api/run", {"facts_text": pasted,
                                                       "locale": "zh_Hans"}, own)
    assert status == 200 and same["verdict"]["outcome"] == "covered"
    assert same["verdict"]["locale"] == "zh_Hans"
    assert same["verdict"]["reasons"][0]["message"] != example["verdict"]["reasons"][0][
        "message"]
    # where each rule that gave a reason is written
    rule = example["verdict"]["reasons"][0]["rule"]
    assert example["rules"][rule]["file"] == RULE_FILE and example["rules"][rule]["line"] > 0
    # bad input: named, never a traceback
    bad = base_facts()
    bad["contract"]["order_amount"] = "lots"
    status, body = studio.request("POST", "/api/run", {"facts_text": json.dumps(bad)}, own)
    assert status == 422 and body["error"]["problems"][0]["path"].startswith(
        "contract.order_amount")
    status, body = studio.request("POST", "/api/run", {"facts_text": "a: [unclosed"}, own)
    assert status == 422 and "facts:" in body["error"]["message"] and "yaml.syntax" in body[
        "error"]["message"]
    assert studio.request("POST", "/api/run", {"example": "../pyproject.toml"}, own)[0] == 404
    assert studio.request("POST", "/api/run", {"scenario": {"file": "../pyproject.toml",
                                                            "name": "x"}}, own)[0] == 404
    assert studio.request("POST", "/api/run", {}, own)[0] == 400
    assert studio.request("POST", "/api/nothing", {}, own)[0] == 404
    status, body = studio.request("POST", "/api/diff", {"base": "git:no-such-rev"}, own)
    assert status == 400 and "no-such-rev" in body["error"]["message"]
    status, body = studio.request("POST", "/api/impact", {"history": "missing.jsonl"}, own)
    assert status == 404 and "missing.jsonl" in body["error"]["message"]


def test_the_bundled_editor_carries_its_licences_and_stays_small() -> None:
    bundle = (ROOT / "ta_rules" / "studio" / "static" / "editor.js").read_text(encoding="utf-8")
    head = bundle[:bundle.index("*/")]
    assert head.startswith("/*! ta-rules studio editor")
    package = json.loads((ROOT / "studio-src" / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "studio-src" / "package-lock.json").read_text(encoding="utf-8"))
    for name in package["devDependencies"]:
        if name.startswith("@codemirror/"):
            # the version the lockfile pins is the one bundled, with its licence
            version = lock["packages"][f"node_modules/{name}"]["version"]
            assert f"{name} {version} (MIT)" in head, name
    assert head.count("Permission is hereby granted") >= 10
    assert len(bundle.encode()) < 600 * 1024  # 381 KiB when written
    # nothing it loads comes from elsewhere: no URL is fetched or imported
    assert not re.search(r"""(?:import\(|fetch\(|src=)["']https?:""", bundle)


def test_the_studio_section_shows_the_committed_screenshots() -> None:
    section = EDITORS[EDITORS.index("## Studio"):]
    names = re.findall(r"\]\(images/(studio-[a-z-]+\.png)\)", section)
    assert len(names) == 6
    for name in names:
        assert (IMAGES / name).read_bytes().startswith(b"\x89PNG"), name
    assert "docs/editors.md#studio" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_studio_needs_a_rules_folder_on_disk(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from ta_rules.cli import main

    monkeypatch.chdir(tmp_path)
    err = io.StringIO()
    assert main(["studio", "--port", "0"], stdout=io.StringIO(), stderr=err) == 2
    assert "edits a rules folder" in err.getvalue()
    assert main(["studio", "--rules", "bundled:", "--port", "0"], stdout=io.StringIO(),
                stderr=err) == 2
    # a folder whose rules do not compile is opened all the same: it is where they are fixed
    shutil.copytree(ROOT / "ta_rules" / "rules", tmp_path / "rules")
    broken = tmp_path / "rules" / RULE_FILE
    broken.write_text(broken.read_text(encoding="utf-8").replace(
        "when: rate is null", "when: xrate is null"), encoding="utf-8")
    from ta_rules.studio import workbench

    wb = workbench("rules")
    assert wb.rules == (tmp_path / "rules").resolve() and RULE_FILE in wb.rule_names()
    from ta_rules.studio._actions import check, read_file

    text = read_file(wb, {"file": RULE_FILE})["text"]
    [problem] = check(wb, {"file": RULE_FILE, "text": text})["diagnostics"]
    assert problem["code"] == "compile.unknown-name" and problem["file"] == RULE_FILE
    err = io.StringIO()
    assert main(["studio", "--rules", "rules", "--host", "0.0.0.0", "--port", "0"],
                stdout=io.StringIO(), stderr=err) == 2
    assert "--host 0.0.0.0" in err.getvalue()


def test_save_writes_only_rule_files_of_the_rules_folder(project: Path, studio: Studio,
                                                         tmp_path: Path) -> None:
    own = {"Host": f"127.0.0.1:{studio.port}", "X-Studio-Token": studio.token()}
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()
              and ".git" not in p.parts and ".ta-rules" not in p.parts}
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("kept: true\n", encoding="utf-8")
    link = project / "rules" / "link.yaml"
    link.symlink_to(outside)
    try:
        for name, status in (("../pyproject.toml", 403), ("../outside.yaml", 403),
                             ("..", 403), ("rules/../../x.yaml", 403),
                             (str(outside), 403), ("properties/x.yaml", 403),
                             ("link.yaml", 403), ("ruleset.schema.json", 403),
                             (".hidden.yaml", 403), ("new.yaml", 404), ("", 400)):
            got, body = studio.request("POST", "/api/save", {"file": name, "text": "x: 1\n"},
                                       own)
            assert got == status, (name, got, body)
            assert body["error"]["message"]
        assert outside.read_text(encoding="utf-8") == "kept: true\n"
        assert {p: p.read_bytes() for p in before} == before
        assert not (project / "rules" / "new.yaml").exists()
        # reading is held to the same rule
        assert studio.request("POST", "/api/file", {"file": "../pyproject.toml"}, own)[0] == 403
        listed = studio.request("POST", "/api/state", {}, own)[1]["files"]
        assert "link.yaml" not in listed
    finally:
        link.unlink()
