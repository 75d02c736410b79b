"""ta-rules serve: a real server on a loopback port, compared with the library and the CLI."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import ta_rules  # noqa: E402
from ta_rules.batch import run_batch  # noqa: E402
from ta_rules.cli import main  # noqa: E402
from ta_rules.request import verdict_json  # noqa: E402
from ta_rules.schema_export import json_schema  # noqa: E402
from ta_rules.testing.scenarios import Scenario, load_scenarios  # noqa: E402

from conftest import EXAMPLES, ROOT, base_facts  # noqa: E402

CLAIM = EXAMPLES / "claims" / "late-shipment.json"


def client(url: str, timeout: float = 30) -> Any:
    """An httpx client that sends a request's headers and body without Nagle's delay."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                                     1)])
    return httpx.Client(base_url=url, timeout=timeout, transport=transport)


class Server:
    """``python -m ta_rules serve --port 0 ...`` in a subprocess, its JSON log in a file."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log_path = tmp / f"serve-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ta_rules", "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL, stderr=self._log, cwd=ROOT)
        self.listening = self._wait_for("listening")
        self.url = f"http://127.0.0.1:{self.listening['port']}"
        self.client = client(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"the server did not start:\n{self.log_text()}")
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log_path.read_text()

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_text().splitlines()]

    def _wait_for(self, event: str, after: int = 0) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for record in self.log_records()[after:]:
                if record.get("event") == event:
                    return record
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {event!r} in the log:\n{self.log_text()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@contextlib.contextmanager
def running(tmp: Path, *args: str) -> Iterator[Server]:
    server = Server(tmp, *args)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("serve"), "--max-body-bytes", "200000",
                 "--max-batch-bytes", "3000000") as srv:
        yield srv


def scenarios() -> list[Scenario]:
    out = []
    for path in sorted((EXAMPLES / "scenarios").glob("*.yaml")):
        found, problems = load_scenarios(path)
        assert not problems
        out.extend(found)
    assert len(out) > 50
    return out


def as_json(data: Any) -> str:
    """JSON of data read from YAML (whose dates are date objects)."""
    return json.dumps(data, default=str)


def scenario_doc(s: Scenario) -> dict[str, Any]:
    e = s.expect
    expect = {"outcome": e.outcome, "reasons": sorted(e.reasons),
              "max_refund": e.max_refund.to_json()}
    doc: dict[str, Any] = {"name": s.name, "facts": json.loads(as_json(s.facts)),
                           "expect": expect}
    doc.update({k: v for k, v in (("ruleset", s.ruleset), ("version", s.version),
                                  ("parameters", dict(s.parameters) or None)) if v})
    return doc


def cli_json(*argv: str) -> str:
    out = io.StringIO()
    assert main(["eval", *argv, "--format", "json"], stdout=out, stderr=io.StringIO()) == 0
    return out.getvalue()


# --- verdicts --------------------------------------------------------------------------


def test_binds_loopback_by_default(server: Server) -> None:
    assert server.listening["host"] == "127.0.0.1"


def test_every_fixture_verdict_is_the_library_s_and_the_cli_s(server: Server,
                                                                tmp_path: Path) -> None:
    for s in scenarios():
        facts = json.loads(as_json(s.facts))
        expected = verdict_json(ta_rules.evaluate(
            facts, ruleset=s.ruleset, version=s.version, parameters=s.parameters or None))
        envelope = {"facts": facts, "ruleset": s.ruleset, "version": s.version,
                    "parameters": dict(s.parameters) or None}
        got = server.client.post("/v1/evaluate", content=as_json(envelope))
        assert got.status_code == 200, (s.location, got.text)
        assert got.text == expected, s.location
        # a scenario file as the CLI judges it, posted as it is
        path = tmp_path / "scenario.json"
        path.write_text(json.dumps(scenario_doc(s)))
        posted = server.client.post("/v1/evaluate", content=path.read_bytes())
        assert posted.content == cli_json(str(path)).encode("utf-8"), s.location


def test_query_options_act_as_the_cli_options(server: Server) -> None:
    query = [("locale", "zh_Hans"), ("trace", "true"), ("set", "claim_window_days=2"),
             ("version", "2015.1")]
    got = server.client.post("/v1/evaluate", params=query, content=CLAIM.read_bytes())
    assert got.status_code == 200
    assert got.content == cli_json(str(CLAIM), "--locale", "zh_Hans", "--trace", "--set",
                                   "claim_window_days=2", "--version", "2015.1").encode()
    verdict = got.json()
    assert verdict["outcome"] == "denied" and verdict["trace"]
    # the query wins over the same option in the body, as a flag wins over a scenario file
    body = {"facts": json.loads(CLAIM.read_text()), "locale": "es", "trace": False,
            "parameters": {"claim_window_days": 30}}
    assert server.client.post("/v1/evaluate", params=query, json=body).content \
        == got.content


def test_a_yaml_body_is_read_as_eval_reads_a_file(server: Server, tmp_path: Path) -> None:
    text = "# a claim\n" + yaml.safe_dump(base_facts(), sort_keys=False)
    path = tmp_path / "facts.yaml"
    path.write_text(text)
    got = server.client.post("/v1/evaluate", content=text.encode(),
                             headers={"content-type": "application/yaml"})
    assert got.status_code == 200, got.text
    assert got.content == cli_json(str(path)).encode()


def batch_lines() -> list[str]:
    lines = [as_json(s.facts) for s in scenarios() if s.version is None][:120]
    return [*lines[:5], "{not json", "", "[]", '{"as_of": "2015-13-01"}\r', *lines[5:]]


def test_batch_records_are_eval_batch_s(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "claims.jsonl"
    source.write_text("\n".join(batch_lines()) + "\n", newline="")
    for options in ([], ["--set", "min_order_amount_usd=1010.00", "--locale", "es"]):
        out = tmp_path / "verdicts.jsonl"
        assert main(["eval", "--batch", str(source), "--out", str(out), *options],
                    stdout=io.StringIO(), stderr=io.StringIO()) == 1  # bad lines
        query = [(options[i].lstrip("-"), options[i + 1]) for i in range(0, len(options), 2)]
        got = server.client.post("/v1/evaluate/batch", params=query,
                                 content=source.read_bytes())
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("application/x-ndjson")
        # the file ends with eval --batch's summary record; the records before it are the same
        records_part, _, summary_line = out.read_bytes().rstrip(b"\n").rpartition(b"\n")
        assert got.content == records_part + b"\n"
        assert json.loads(summary_line)["summary"]["errors"] == 3
    records = [json.loads(line) for line in got.text.splitlines()]
    assert [r["error"]["kind"] for r in records if "error" in r] == ["json", "facts", "facts"]
    assert [r["line"] for r in records][:8] == [1, 2, 3, 4, 5, 6, 8, 9]


def test_batch_strict_stops_at_the_first_bad_line(server: Server) -> None:
    good = json.dumps(base_facts())
    got = server.client.post("/v1/evaluate/batch", params={"strict": "true"},
                             content="\n".join([good, good, "[]", good]).encode())
    assert [json.loads(x)["line"] for x in got.text.splitlines()] == [1, 2, 3]


# --- errors ----------------------------------------------------------------------------


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()["error"]
    assert "Traceback" not in response.text
    return body


def test_malformed_documents_are_400(server: Server) -> None:
    c = server.client
    error = error_of(c.post("/v1/evaluate", content=b'{"as_of": "2015-01-01",'), 400)
    assert error["kind"] == "document" and error["problems"][0]["code"] == "yaml.syntax"
    error = error_of(c.post("/v1/evaluate", content=b'{"a": 1, "a": 2}'), 400)
    assert error["problems"][0]["code"] == "yaml.duplicate-key"
    assert error_of(c.post("/v1/evaluate", content=b"\xff\xfe"), 400)["kind"] == "document"
    deep = b"[" * 1000 + b"]" * 1000
    assert error_of(c.post("/v1/evaluate", content=deep), 400)["problems"][0]["code"] \
        == "yaml.too-deep"
    assert error_of(c.post("/v1/evaluate", content=b"[" * 50_000 + b"]" * 50_000), 400)
    reference = io.StringIO()  # a batch line that deep is an error record, as in eval --batch
    run_batch([deep.decode()], reference, report=io.StringIO())
    got = c.post("/v1/evaluate/batch", content=deep + b"\n").text
    assert got == reference.getvalue() and '"error"' in got
    assert error_of(c.post("/v1/evaluate/batch", content=b'{"x": "\xff"}\n'), 400)[
        "message"].startswith("not UTF-8 text")
    error = error_of(c.post("/v1/evaluate", json={"facts": {}, "engine": "durable"}), 400)
    assert "unknown key(s) in the request: engine" in error["message"]
    error = error_of(c.post("/v1/evaluate", json={"facts": {}, "trace": "yes"}), 400)
    assert error["message"].startswith("trace: expected true or false")
    error = error_of(c.post("/v1/evaluate", params={"trace": "maybe"}, json={}), 400)
    assert error["problems"][0]["path"] == "query.trace"
    assert "NAME=VALUE" in error_of(
        c.post("/v1/evaluate", params={"set": "oops"}, json=base_facts()), 400)["message"]
    assert "unknown locale" in error_of(
        c.post("/v1/evaluate", params={"locale": "xx_NOPE"}, json=base_facts()), 400)[
            "message"]


def test_bad_facts_are_422_with_every_path(server: Server) -> None:
    facts = base_facts()
    facts["as_of"] = "not a date"
    facts["payments"][0]["amount"]["amount"] = "-5"
    del facts["claim"]
    with pytest.raises(ta_rules.FactsError) as raised:
        ta_rules.parse_facts(facts)
    expected = [{"path": p.path, "message": p.message, "code": p.code}
                for p in raised.value.problems]
    assert len(expected) == 3
    error = error_of(server.client.post("/v1/evaluate", json=facts), 422)
    assert error["kind"] == "facts" and error["problems"] == expected
    assert error["message"] == str(raised.value)
    assert error_of(server.client.post("/v1/evaluate", json=[1, 2]), 422)["kind"] == "facts"
    error = error_of(server.client.post("/v1/evaluate", params={"set": "nope=1"},
                                        json=base_facts()), 422)
    assert error["kind"] == "parameters" and "nope" in error["message"]
    error = error_of(server.client.post("/v1/evaluate/batch", params={"set": "nope=1"},
                                        content=b"{}\n"), 422)
    assert error["kind"] == "parameters"


def test_unknown_ruleset_version_or_route_is_404(server: Server) -> None:
    c = server.client
    error = error_of(c.post("/v1/evaluate", params={"version": "1999.1"}, json=base_facts()),
                     404)
    assert error == {"kind": "unknown-ruleset", "message": "trade-assurance has no version "
                     "'1999.1'; known: 2015.1, 2017.12"}
    assert error_of(c.post("/v1/evaluate", json={"facts": base_facts(), "ruleset": "nope"}),
                    404)["kind"] == "unknown-ruleset"
    assert error_of(c.post("/v1/evaluate/batch", params={"ruleset": "nope",
                                                         "set": "claim_window_days=3"},
                           content=b"{}\n"), 404)["kind"] == "unknown-ruleset"
    assert error_of(c.get("/v1/rulesets/trade-assurance/1999.1/facts-schema"), 404)[
        "kind"] == "unknown-ruleset"
    assert error_of(c.get("/v1/nothing"), 404)["kind"] == "not-found"
    assert error_of(c.get("/v1/evaluate"), 405)["kind"] == "method-not-allowed"


def test_bodies_over_the_limit_are_413(server: Server) -> None:
    big = {"facts": base_facts(), "name": "x" * 200_001}
    error = error_of(server.client.post("/v1/evaluate", json=big), 413)
    assert error["kind"] == "too-large" and error["limit"] == 200_000

    def chunked() -> Iterator[bytes]:  # no content-length: counted as it arrives
        for _ in range(40):
            yield b" " * 10_000

    assert error_of(server.client.post("/v1/evaluate", content=chunked()), 413)["limit"] \
        == 200_000
    line = json.dumps(base_facts()).encode() + b"\n"
    error = error_of(server.client.post("/v1/evaluate/batch",
                                        content=line * (3_000_000 // len(line) + 1)), 413)
    assert error["limit"] == 3_000_000


# --- the other routes ------------------------------------------------------------------


def test_rulesets_and_facts_schema(server: Server) -> None:
    listed = server.client.get("/v1/rulesets").json()["rulesets"]
    bundled = ta_rules.default_registry().versions("trade-assurance")
    assert listed == [{"name": r.name, "version": r.version,
                       "effective_from": r.effective_from and r.effective_from.isoformat(),
                       "effective_until": r.effective_until and r.effective_until.isoformat(),
                       "content_hash": r.content_hash} for r in bundled]
    got = server.client.get("/v1/rulesets/trade-assurance/2017.12/facts-schema")
    assert got.json() == json_schema("facts")


def test_the_facts_schema_of_a_ruleset_is_that_of_its_vocabulary(tmp_path: Path) -> None:
    rules = ROOT / "examples" / "extending" / "rules"
    (ruleset,) = ta_rules.Registry.from_folder(rules).rulesets
    with running(tmp_path, "--rules", str(rules)) as srv:
        got = srv.client.get(f"/v1/rulesets/{ruleset.name}/{ruleset.version}/facts-schema")
    assert got.status_code == 200
    assert got.json() == json_schema("facts", ruleset.vocabulary)
    assert got.json() != json_schema("facts")  # the extension adds a fact and a ground


def test_openapi_facts_schema_is_the_exported_one(server: Server) -> None:
    doc = server.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    schemas = doc["components"]["schemas"]
    exported = json.loads(json.dumps(json_schema("facts")).replace(
        '"#/$defs/', '"#/components/schemas/'))
    defs = exported.pop("$defs")
    assert {k: v for k, v in exported.items() if k not in ("$schema", "$id")} \
        == schemas["Facts"]
    assert all(schemas[name] == value for name, value in defs.items())
    body = doc["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]["application/json"]
    assert {"$ref": "#/components/schemas/Facts"} in body["schema"]["oneOf"]
    assert set(doc["paths"]) == {
        "/v1/evaluate", "/v1/evaluate/batch", "/v1/rulesets",
        "/v1/rulesets/{name}/{version}/facts-schema", "/healthz", "/readyz", "/metrics"}
    # the document is what a client generator reads: every $ref resolves
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs <= set(schemas)


def metric_values(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def test_metrics_count_requests_latency_and_outcomes(server: Server) -> None:
    page = server.client.get("/metrics")
    assert page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    before = metric_values(page.text)
    denied = base_facts()
    denied["supplier"]["participating"] = False
    for facts in (base_facts(), base_facts(), denied):
        assert server.client.post("/v1/evaluate", json=facts).status_code == 200
    server.client.post("/v1/evaluate", json={"as_of": 1})
    after = metric_values(server.client.get("/metrics").text)

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    ok = 'ta_rules_http_requests_total{route="/v1/evaluate",method="POST",status="200"}'
    assert delta(ok) == 3
    assert delta(ok.replace("200", "422")) == 1
    assert delta('ta_rules_verdicts_total{outcome="covered"}') == 2
    assert delta('ta_rules_verdicts_total{outcome="denied"}') == 1
    histogram = 'ta_rules_http_request_duration_seconds_{}{{route="/v1/evaluate"}}'
    assert delta(histogram.format("count")) == 4
    assert after['ta_rules_http_request_duration_seconds_bucket{route="/v1/evaluate",'
                 'le="+Inf"}'] == after[histogram.format("count")]
    assert after["ta_rules_ready"] == 1
    # neither an unknown route nor an invented method adds a series of its own
    server.client.request("BREW", "/coffee/pot")
    text = server.client.get("/metrics").text
    assert 'route="<unmatched>",method="other",status="404"' in text
    assert "BREW" not in text and "coffee" not in text


def test_access_log_is_one_json_object_a_request(server: Server) -> None:
    server.client.get("/healthz", params={"probe": "1"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [r for r in server.log_records() if r.get("event") == "request"
                   and r["query"] == "probe=1"]
        if records:
            break
        time.sleep(0.05)
    record = records[-1]
    assert record["method"] == "GET" and record["path"] == "/healthz"
    assert record["status"] == 200 and record["route"] == "/healthz"
    assert record["duration_ms"] >= 0 and record["client"].startswith("127.0.0.1:")


# --- reload, internal errors, shutdown -------------------------------------------------


def test_reload_keeps_the_last_good_version_and_readyz_says_so(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    facts = json.loads(CLAIM.read_text())
    with running(tmp_path, "--rules", str(rules), "--reload-signal") as srv:
        first = srv.client.post("/v1/evaluate", json=facts)
        original = ta_rules.Registry.from_folder(rules)
        assert first.text == verdict_json(ta_rules.evaluate(facts, registry=original))

        # break a file: the reload fails, the old version keeps serving
        target = rules / "trade-assurance-2015.1.yaml"
        good = target.read_text()
        target.write_text(good + "\nreasons: [unclosed\n")
        seen = len(srv.log_records())
        srv.proc.send_signal(signal.SIGHUP)
        failed = srv._wait_for("reload-failed", after=seen)
        assert failed["problems"][0]["file"] == str(target)
        ready = srv.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "reload-failed"
        assert ready.json()["problems"][0]["file"] == str(target)
        assert srv.client.post("/v1/evaluate", json=facts).content == first.content
        assert metric_values(srv.client.get("/metrics").text)["ta_rules_ready"] == 0
        assert srv.client.get("/healthz").status_code == 200

        # fix it with a change: the new version serves
        window = "  claim_window_days:\n    type: integer?\n    default: 30\n"
        assert window in good
        target.write_text(good.replace(window, window.replace("30", "2")))
        seen = len(srv.log_records())
        srv.proc.send_signal(signal.SIGHUP)
        srv._wait_for("reload", after=seen)
        assert srv.client.get("/readyz").status_code == 200
        changed = srv.client.post("/v1/evaluate", json=facts)
        fresh = ta_rules.Registry.from_folder(rules)
        assert changed.text == verdict_json(ta_rules.evaluate(facts, registry=fresh))
        assert changed.json()["ruleset"]["content_hash"] \
            != first.json()["ruleset"]["content_hash"]
        assert first.json()["outcome"] == "covered"
        assert changed.json()["outcome"] == "denied"  # the claim window is now 2 days
        assert srv.stop() == 0


def test_sigterm_lets_an_in_flight_batch_finish(tmp_path: Path) -> None:
    line = json.dumps(base_facts())
    count = 4000
    with running(tmp_path) as srv, client(srv.url, timeout=60) as http:
        with http.stream("POST", "/v1/evaluate/batch",
                           content=("\n".join([line] * count) + "\n").encode()) as response:
            parts = response.iter_bytes()
            received = next(parts)
            srv.proc.send_signal(signal.SIGTERM)
            received += b"".join(parts)
        assert srv.proc.wait(timeout=30) == 0
        assert [json.loads(x)["line"] for x in received.splitlines()] \
            == list(range(1, count + 1))
        assert srv._wait_for("stopped")
        messages = [r.get("path") if r.get("event") == "request" else r["message"]
                    for r in srv.log_records()]
        # the batch was still being answered when the shutdown began
        assert messages.index("Shutting down") < messages.index("/v1/evaluate/batch")


def test_workers_share_the_port_and_stop_together(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    with running(tmp_path, "--workers", "2", "--rules", str(rules), "--reload-signal") as srv:
        pids = set()
        expected = verdict_json(ta_rules.evaluate(
            base_facts(), registry=ta_rules.Registry.from_folder(rules)))
        for _ in range(40):
            with client(srv.url) as fresh:  # a new connection each time
                assert fresh.post("/v1/evaluate", json=base_facts()).text == expected
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # both workers listen for SIGHUP once started
            started = {r["pid"] for r in srv.log_records()
                       if r["message"].startswith("Started server process")}
            if len(started) == 2:
                break
            time.sleep(0.05)
        seen = len(srv.log_records())
        srv.proc.send_signal(signal.SIGHUP)
        while time.monotonic() < deadline:
            pids = {r["pid"] for r in srv.log_records()[seen:] if r.get("event") == "reload"}
            if len(pids) == 2:
                break
            time.sleep(0.05)
        assert len(pids) == 2 and srv.proc.pid not in pids
        assert srv.stop() == 0
        assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- the command line ------------------------------------------------------------------


def test_serve_refuses_bad_options_before_listening(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    outside = tmp_path / "outside"  # no project: the bundled rulesets, nothing to reload
    outside.mkdir()
    monkeypatch.chdir(outside)
    assert main(["serve", "--reload-signal"], stderr=err) == 2
    assert "give --rules DIR" in err.getvalue()
    assert main(["serve", "--rules", str(tmp_path)], stderr=(err := io.StringIO())) == 1
    assert "serve.no-rulesets" in err.getvalue()
    (tmp_path / "bad.yaml").write_text("ruleset: [\n")
    assert main(["serve", "--rules", str(tmp_path)], stderr=(err := io.StringIO())) == 1
    assert "bad.yaml:" in err.getvalue()
    assert main(["serve", "--workers", "0"], stderr=(err := io.StringIO())) == 2


def test_the_curl_example_of_the_docs(server: Server) -> None:
    text = (ROOT / "docs" / "serve.md").read_text()
    found = re.search(r"curl -s -X POST --data-binary @(\S+) \\\n\s+'http://127\.0\.0\.1:8080"
                      r"(/v1/evaluate)\?locale=(\w+)'", text)
    assert found, "the curl example of docs/serve.md changed shape"
    path, route, locale = found.groups()
    got = server.client.post(f"{route}?locale={locale}", content=(ROOT / path).read_bytes())
    expected = cli_json(str(ROOT / path), "--locale", locale)
    assert got.text == expected
    block = text[found.end():].split("```")[0]
    shown = [line for line in block.splitlines()[1:] if line.strip() != "..."]
    assert shown and expected.splitlines()[:len(shown)] == shown


def test_an_unexpected_error_is_a_500_with_one_line_and_the_traceback_logged(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # No input reaches a library bug on purpose, so one is planted where the service calls
    # the library; the server, its sockets and its error handling are the real ones.
    import threading

    import uvicorn

    from ta_rules.serve import _app

    def bug(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted bug\nsecond line")

    monkeypatch.setattr(_app, "evaluate_request", bug)
    monkeypatch.setattr(_app, "judge_lines", bug)
    app = _app.create_app(_app.Service(ta_rules.default_registry()))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            facts = json.loads(CLAIM.read_text())
            with caplog.at_level(logging.ERROR, logger="ta_rules.serve"):
                error = error_of(http.post("/v1/evaluate", json=facts), 500)
                assert error["kind"] == "internal" and "\n" not in error["message"]
                assert "planted bug" in error["message"]
                batch = http.post("/v1/evaluate/batch",
                                  content=CLAIM.read_bytes().replace(b"\n", b"") + b"\n")
                assert batch.status_code in (200, 500)
                assert "Traceback" not in batch.text and "planted bug" in batch.text
            assert any(r.exc_info or "Traceback" in r.getMessage() or
                       "Traceback" in str(getattr(r, "fields", {}))
                       for r in caplog.records)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
