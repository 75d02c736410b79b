"""The HTTP application: routes, error statuses, the access log and the metrics.

Nothing here decides anything: ``/v1/evaluate`` reads the body the way ``ta-rules eval``
reads a file and answers with :func:`ta_rules.request.verdict_json`; the batch route
judges lines with :func:`ta_rules.batch.judge_lines`, the function behind ``eval --batch``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
import logging
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ta_rules import diagnostic_codes as dc
from ta_rules._version import __version__
from ta_rules.batch import MAX_MESSAGE, MAX_PROBLEMS, batch_options, judge_lines, numbered_chunks
from ta_rules.decisionlog import DecisionLog, DecisionLogError, DecisionLogFull
from ta_rules.errors import (
    Diagnostic,
    EngineError,
    FactsError,
    Location,
    ParameterError,
    RulesetError,
    TaRulesError,
    UnknownRulesetError,
)
from ta_rules.request import evaluate_request, judge_request, verdict_json
from ta_rules.rulesets.registry import Registry
from ta_rules.schema_export import json_schema
from ta_rules.serve._body import DocumentError, read_document
from ta_rules.serve._metrics import CONTENT_TYPE, Metrics
from ta_rules.serve._openapi import openapi_document

__all__ = ["Limits", "Service", "create_app"]

log = logging.getLogger("ta_rules.serve")
access_log = logging.getLogger("ta_rules.serve.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: How much of a body over the limit is still read (and dropped) so the client, which is
#: usually still sending, can read the 413 instead of a reset connection.
_DRAIN_BYTES = 64 * 1024 * 1024
#: Bodies up to this size are judged on the event loop (a fraction of a millisecond);
#: larger ones in a thread, so one costly request does not hold up every other.
_INLINE_BYTES = 64 * 1024
#: The status logged and counted for a request whose client went away before its answer
#: (nginx's "client closed request"): not an error of the service.
CLIENT_GONE = 499

ENVELOPE_KEYS = ("facts", "ruleset", "version", "parameters", "locale", "trace", "labels")
#: Keys of a scenario file besides the envelope's: accepted and ignored, so a scenario
#: file can be posted as it is (as ``ta-rules eval`` judges one).
SCENARIO_KEYS = ("name", "description", "tags", "expect")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Size limits of request bodies, in bytes."""

    body: int = 1024 * 1024
    batch: int = 64 * 1024 * 1024


class ApiError(Exception):
    """An answer other than 200: a status and the ``error`` object of the body."""

    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"kind": kind, "message": message, **extra}


def _error_response(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps({"error": body}, ensure_ascii=False) + "\n", status_code=status,
                    media_type="application/json")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _bounded(problems: list[dict[str, Any]]) -> dict[str, Any]:
    """At most MAX_PROBLEMS problems of clipped strings, and how many were left out.

    The answer to a request is then bounded whatever the request: an error per key of a
    1 MiB body, each naming a path of long keys, would otherwise cost 60 times its size.
    """
    out: dict[str, Any] = {"problems": [
        {k: _clip(v) if isinstance(v, str) else v for k, v in p.items()}
        for p in problems[:MAX_PROBLEMS]]}
    if len(problems) > MAX_PROBLEMS:
        out["more_problems"] = len(problems) - MAX_PROBLEMS
    return out


def _api_error(exc: TaRulesError) -> ApiError:
    """The status and body of a library error (the same records the library raises)."""
    if isinstance(exc, FactsError):
        problems = exc.problems
        message = str(exc)
        if len(message) > MAX_MESSAGE:
            message = _clip(f"invalid facts ({len(problems)} problem(s)): " + "; ".join(
                f"{_clip(p.path) or '<document>'}: {_clip(p.message)}" for p in problems[:3]))
        return ApiError(422, "facts", message, **_bounded(
            [{"path": p.path, "message": p.message, "code": p.code} for p in problems]))
    if isinstance(exc, ParameterError):
        return ApiError(422, "parameters", _clip(str(exc)))
    if isinstance(exc, UnknownRulesetError):
        return ApiError(404, "unknown-ruleset", str(exc))
    if isinstance(exc, DecisionLogError):  # not recorded, so not answered
        return ApiError(503, "decision-log", str(exc))
    if isinstance(exc, EngineError | RulesetError):
        raise exc  # not the caller's fault: a 500, logged
    return ApiError(400, "request", _clip(str(exc)))


class Service:
    """What the routes share: the registry in force, the reload status, metrics, limits.

    The registry is replaced whole by :meth:`reload`; a request reads it once, so it is
    judged by one set of rulesets from start to end.
    """

    def __init__(self, registry: Registry, *, folder: str | None = None,
                 limits: Limits | None = None, decision_log: DecisionLog | None = None,
                 ) -> None:
        self.registry = registry
        self.decision_log = decision_log
        self.folder = folder
        self.limits = limits or Limits()
        self.metrics = Metrics()
        self.started = time.time()
        self.reload_problems: tuple[Diagnostic, ...] = ()
        self.last_reload: dict[str, Any] | None = None
        self._reload_lock = asyncio.Lock()

    def rulesets(self) -> list[dict[str, Any]]:
        """The rulesets being served: name, version, effective dates, content hash."""
        return [{"name": r.name, "version": r.version,
                 "effective_from": r.effective_from.isoformat() if r.effective_from else None,
                 "effective_until": r.effective_until.isoformat() if r.effective_until
                 else None,
                 "content_hash": r.content_hash}
                for name in self.registry.names() for r in self.registry.versions(name)]

    def load_fresh(self) -> tuple[Registry | None, list[Diagnostic]]:
        """Load the rules folder anew; (registry, []) or (None, problems)."""
        if self.folder is None:
            return None, [Diagnostic(dc.SERVE_NO_FOLDER, "the bundled rulesets cannot be "
                                     "reloaded; start with --rules DIR", Location("<serve>"))]
        try:
            fresh = Registry.from_folder(self.folder)
        except RulesetError as exc:
            return None, list(exc.diagnostics)
        if not fresh.rulesets:
            return None, [Diagnostic(dc.SERVE_NO_RULESETS, "the folder holds no ruleset file "
                                     "(*.yaml)", Location(self.folder))]
        return fresh, []

    async def reload(self) -> bool:
        """Reload the rules folder; on any problem the current rulesets keep serving."""
        async with self._reload_lock:
            fresh, problems = await asyncio.to_thread(self.load_fresh)
            at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            if fresh is None:
                self.reload_problems = tuple(problems)
                self.last_reload = {"at": at, "ok": False}
                self.metrics.count_reload(False)
                log.error("reload failed; the previous rulesets keep serving", extra={
                    "fields": {"event": "reload-failed", "folder": self.folder,
                               "problems": [d.to_json() for d in problems],
                               "serving": self.rulesets()}})
                return False
            self.registry = fresh
            self.reload_problems = ()
            self.last_reload = {"at": at, "ok": True}
            self.metrics.count_reload(True)
            log.info("reloaded the rules folder", extra={"fields": {
                "event": "reload", "folder": self.folder, "serving": self.rulesets()}})
            return True


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body; over ``limit`` bytes it is a 413 (the header is checked first)."""
    declared = request.headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            too_large = True
        if too_large:
            if size > limit + _DRAIN_BYTES:
                break
            continue
        chunks.append(chunk)
    if too_large:
        raise ApiError(413, "too-large", f"the body is over the limit of {limit} bytes",
                       limit=limit)
    return b"".join(chunks)


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ApiError(400, "request", f"set={item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


_OPTION_TYPES: dict[str, tuple[str, type]] = {
    "ruleset": ("a string", str), "version": ("a string", str),
    "parameters": ("a mapping", dict), "locale": ("a string", str),
    "trace": ("true or false", bool), "labels": ("a mapping of text", dict)}


def _envelope(data: Any) -> tuple[Any, dict[str, Any]]:
    """Split a body into (facts, options given in it)."""
    if not (isinstance(data, dict) and "facts" in data):
        return data, {}
    unknown = sorted(str(k) for k in data if k not in ENVELOPE_KEYS + SCENARIO_KEYS)
    if unknown:
        raise ApiError(400, "request", "unknown key(s) in the request: " + ", ".join(unknown)
                       + "; a request holds facts and any of " + ", ".join(ENVELOPE_KEYS[1:]))
    options = {k: data[k] for k in ENVELOPE_KEYS[1:] if data.get(k) is not None}
    for key, value in options.items():
        kind, wanted = _OPTION_TYPES[key]
        if not isinstance(value, wanted) or (isinstance(value, dict) and key == "labels" and
                                             not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in value.items())):
            raise ApiError(400, "request", f"{key}: expected {kind}, found {value!r}")
    return data["facts"], options


#: Methods counted under their own name; any other is counted as ``other``, so a client
#: cannot grow the metrics without bound.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Observe:
    """Access log, metrics and the last line of defence (a 500, logged) around the app."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "started": False, "bytes": 0}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except ClientDisconnect:  # gone before its answer: nobody to answer, nothing broken
            state["status"] = CLIENT_GONE
        except Exception as exc:
            log.error("internal error", extra={"fields": {
                "event": "internal-error", "path": scope.get("path"),
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc))}})
            if not state["started"]:
                response = _error_response(500, _internal(exc))
                await response(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - start
            route = scope.get("route")
            label = getattr(route, "path", None) or "<unmatched>"
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.service.metrics.observe_request(label, method, state["status"], seconds)
            client = scope.get("client")
            access_log.info("request", extra={"fields": {
                "event": "request", "method": scope["method"], "path": scope["path"],
                "query": scope.get("query_string", b"").decode("latin-1"),
                "route": label, "status": state["status"], "bytes": state["bytes"],
                "duration_ms": round(seconds * 1000, 3),
                "client": f"{client[0]}:{client[1]}" if client else None}})


def _internal(exc: BaseException) -> dict[str, Any]:
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return {"kind": "internal", "message": f"internal error: {text} (logged)"}


async def _known_query(request: Request) -> None:
    """Refuse a query parameter the route does not take, as unknown body keys are refused.

    A typo (``verison=``) would otherwise be judged by the defaults, without a word.
    """
    route = request.scope.get("route")
    known = {p.alias for p in getattr(getattr(route, "dependant", None), "query_params", ())}
    unknown = sorted({k for k in request.query_params if k not in known})
    if unknown:
        raise ApiError(400, "request", "unknown query parameter(s): " + ", ".join(
            _clip(k) for k in unknown[:MAX_PROBLEMS]) + "; this route takes " + ", ".join(
            sorted(known)), unknown=[_clip(k) for k in unknown[:MAX_PROBLEMS]])


TRACE = Query(None, description="Record every rule evaluated and the values it read.")
RULESET = Query(None, description="Ruleset name (default: trade-assurance).")
VERSION = Query(None, description="Pin a version instead of the one in force on the order "
                "date.")
LOCALE = Query(None, description="Language of the messages (en, zh_Hans, es...).")
SETS = Query([], alias="set", description="Override a parameter, NAME=VALUE (repeatable).")


def create_app(service: Service) -> FastAPI:
    """The FastAPI application over ``service``.

    Example:
        >>> from ta_rules.rulesets.registry import default_registry
        >>> app = create_app(Service(default_registry()))
        >>> sorted(app.openapi()["paths"])[:2]
        ['/healthz', '/metrics']
    """
    app = FastAPI(title="ta-rules", version=__version__, docs_url=None, redoc_url=None,
                  description=_description(service.registry))
    _add_error_handlers(app)
    _add_evaluate_routes(app, service)
    _add_info_routes(app, service)

    def openapi() -> dict[str, Any]:
        # the document describes the rules served now: made anew after a reload
        registry = service.registry
        if app.openapi_schema is None or app.openapi_schema.get("x-registry") != id(registry):
            app.description = _description(registry)
            doc = openapi_document(app, _served_vocabulary(registry))
            doc["x-registry"] = id(registry)
            app.openapi_schema = doc
        return {k: v for k, v in app.openapi_schema.items() if k != "x-registry"}

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(_Observe, service=service)
    return app


def _description(registry: Registry) -> str:
    titles = sorted({rs.title or rs.name for rs in registry.rulesets})
    return (f"Verdicts on claims under {', '.join(titles) or 'no ruleset'}, from versioned "
            "rulesets, the same as `ta-rules eval --format json`. No endpoint accepts rules.")


def _served_vocabulary(registry: Registry) -> Any:
    """The facts vocabulary of the default ruleset's newest version (every version reads it)."""
    try:
        return registry.versions(registry.resolve_name(None))[-1].vocabulary
    except (UnknownRulesetError, IndexError):
        return None


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _on_api_error(request: Request, exc: ApiError) -> Response:
        return _error_response(exc.status, exc.body)

    @app.exception_handler(TaRulesError)
    async def _on_library_error(request: Request, exc: TaRulesError) -> Response:
        error = _api_error(exc)
        return _error_response(error.status, error.body)

    @app.exception_handler(RequestValidationError)
    async def _on_bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                    for e in exc.errors()]
        return _error_response(400, {"kind": "request", "message": "; ".join(
            f"{p['path']}: {p['message']}" for p in problems), "problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
        response = _error_response(exc.status_code, {"kind": kind, "message": str(exc.detail)})
        if exc.headers:
            response.headers.update(exc.headers)
        return response


def _add_evaluate_routes(app: FastAPI, service: Service) -> None:
    def judge(body: bytes, ruleset: str | None, version: str | None, locale: str | None,
              trace: bool | None, sets: list[str]) -> tuple[Any, Any, Any, dict[str, Any]]:
        """The verdict, and (with a decision log) the facts and ruleset that judged."""
        try:
            data = read_document(body, max_bytes=service.limits.body)
        except DocumentError as exc:
            raise ApiError(400, "document", _clip(str(exc)), **_bounded(
                [d.to_json() for d in exc.problems])) from None
        facts, given = _envelope(data)
        parameters = given.get("parameters")
        options: dict[str, Any] = {
            "ruleset": ruleset or given.get("ruleset"),
            "version": version or given.get("version"), "parameters": parameters,
            "text_parameters": _parse_sets(sets),
            "trace": trace if trace is not None else given.get("trace", False),
            "locale": locale or given.get("locale", "en"), "registry": service.registry}
        if service.decision_log is None:
            return evaluate_request(facts, **options), None, None, given
        verdict, valid, chosen = judge_request(facts, **options)
        return verdict, valid, chosen, given

    async def answer(judged: tuple[Any, Any, Any, dict[str, Any]]) -> Response:
        verdict, valid, chosen, given = judged
        if service.decision_log is None or chosen is None:
            service.metrics.count_verdicts({verdict.outcome: 1})
            return Response(verdict_json(verdict), media_type="application/json")
        decision_id = await _recorded(service.decision_log, valid, verdict, chosen,
                                      given.get("labels"))
        service.metrics.count_verdicts({verdict.outcome: 1})
        answer = {"decision_id": decision_id, **verdict.model_dump(mode="json")}
        return Response(json.dumps(answer, indent=2, ensure_ascii=False) + "\n",
                        media_type="application/json", headers={"X-Decision-Id": decision_id})

    @app.post("/v1/evaluate", summary="Judge one claim", dependencies=[Depends(_known_query)])
    async def evaluate_one(
        request: Request, ruleset: str | None = RULESET, version: str | None = VERSION,
        locale: str | None = LOCALE, trace: bool | None = TRACE, sets: list[str] = SETS,
    ) -> Response:
        body = await _read_body(request, service.limits.body)
        if len(body) <= _INLINE_BYTES:
            return await answer(judge(body, ruleset, version, locale, trace, sets))
        return await answer(await run_in_threadpool(judge, body, ruleset, version, locale,
                                                    trace, sets))

    @app.post("/v1/evaluate/batch", summary="Judge JSON Lines of claims, streamed in order",
              dependencies=[Depends(_known_query)])
    async def evaluate_batch(
        request: Request, ruleset: str | None = RULESET, version: str | None = VERSION,
        locale: str | None = LOCALE, trace: bool | None = TRACE, sets: list[str] = SETS,
        strict: bool = Query(False, description="Stop at the first line that cannot be "
                             "judged."),
    ) -> Response:
        body = await _read_body(request, service.limits.batch)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "document", f"not UTF-8 text ({exc.reason} at byte "
                           f"{exc.start})") from None
        # one registry for the whole batch, even when a reload lands in the middle
        registry = Registry(service.registry.rulesets)
        options = batch_options(registry, ruleset=ruleset, version=version,
                                text_parameters=_parse_sets(sets), locale=locale or "en",
                                trace=bool(trace))
        return StreamingResponse(_stream(service, text, options, strict),
                                 media_type="application/x-ndjson")


async def _recorded(log: DecisionLog, valid: Any, verdict: Any, chosen: Any,
                    labels: Any) -> str:
    """The decision id of the verdict's record, once stored (acknowledged)."""
    try:
        future = log.submit(valid, verdict, labels=labels, vocabulary=chosen.vocabulary,
                            block=False)
    except DecisionLogFull:
        if log.when_full == "refuse":
            raise
        future = await asyncio.to_thread(log.submit, valid, verdict, labels=labels,
                                         vocabulary=chosen.vocabulary, block=True)
    record = await asyncio.wrap_future(future)
    return record.decision_id


def _add_info_routes(app: FastAPI, service: Service) -> None:
    @app.get("/v1/rulesets", summary="The rulesets being served")
    async def rulesets() -> dict[str, Any]:
        return {"rulesets": service.rulesets()}

    @app.get("/v1/rulesets/{name}/{version}/facts-schema",
             summary="JSON Schema of the facts a ruleset version judges")
    async def facts_schema(name: str, version: str) -> dict[str, Any]:
        ruleset = service.registry.select(name, version)
        return json_schema("facts", ruleset.vocabulary)

    @app.get("/healthz", summary="The process is up and answering")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Ready: the rules in force are the folder's (503 after a "
             "failed reload; the previous rulesets keep serving)")
    async def readyz() -> Response:
        ok = not service.reload_problems
        body = {"status": "ready" if ok else "reload-failed", "rulesets": service.rulesets(),
                "last_reload": service.last_reload,
                "problems": [d.to_json() for d in service.reload_problems]}
        return Response(json.dumps(body, ensure_ascii=False) + "\n",
                        status_code=200 if ok else 503, media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)")
    async def metrics() -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)


async def _stream(service: Service, text: str, options: dict[str, Any],
                  strict: bool) -> AsyncIterator[bytes]:
    """Result lines of a batch, chunk by chunk, in input order (as ``eval --batch``)."""
    record = None
    if service.decision_log is not None:
        decision_log, registry = service.decision_log, options["registry"]

        def record(doc: Any, verdict: Any) -> Any:  # facts read as the batch's rules read them
            return decision_log.submit(doc, verdict, vocabulary=registry.select(
                verdict.ruleset.name, verdict.ruleset.version).vocabulary)

    # newline="" splits lines exactly as eval --batch reads its file
    for chunk in numbered_chunks(io.StringIO(text, newline="")):
        try:
            lines, summary, bad = await run_in_threadpool(
                judge_lines, chunk, options, strict=strict, record=record)
        except Exception as exc:
            log.error("internal error in a batch", extra={"fields": {
                "event": "internal-error", "path": "/v1/evaluate/batch",
                "line": chunk[0][0], "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc))}})
            yield (json.dumps({"line": chunk[0][0], "error": _internal(exc)},
                              ensure_ascii=False) + "\n").encode()
            return
        service.metrics.count_verdicts(summary.outcomes, summary.errors)
        yield "".join(line + "\n" for line in lines).encode()
        if strict and bad:
            return
