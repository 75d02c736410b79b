"""The studio's HTTP application: the page, its files, and one route per action.

Each route calls the library function the matching command calls: ``check`` (with the
editor's unsaved text), ``eval --trace``, ``eval --why-not``, ``diff``, ``test`` and
``impact --format html``. Nothing is decided here.

Only the page the studio served may use it: every request must name the bound address in
``Host`` (a DNS-rebinding page names its own host), a request carrying an ``Origin`` must
come from that address, and every ``/api/`` call must carry the per-run token that only
the served page holds (another origin cannot read the page, and cannot send the header
without a CORS preflight, which is never granted).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ta_rules.errors import FactsError, RulesetError, TaRulesError
from ta_rules.rulesets.load import RULE_SUFFIXES
from ta_rules.rulesets.registry import Registry

__all__ = ["StudioError", "Workbench", "create_app"]

log = logging.getLogger("ta_rules.studio")

#: Largest text the page may check or save (a rule file is refused over this anyway).
MAX_TEXT = 8 * 1024 * 1024
TOKEN_HEADER = "x-studio-token"
_STATIC = ("index.html", "studio.js", "studio.css", "editor.js")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
#: The page runs only its own script; CodeMirror writes its styles into <style> elements.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'self'")
#: The impact report is one self-contained page with inline style and script.
_REPORT_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
               "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


class StudioError(TaRulesError):
    """A request the studio refuses: a status and a message naming what and why."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


@dataclasses.dataclass
class Workbench:
    """What the studio works on.

    Attributes:
        rules: The rules folder (absolute, links resolved): the only place it writes.
        root: The project folder (git references, scenarios and histories are read from
            here).
        scenarios: The project's scenario files and folders.
        examples: A folder of example claims (facts files), if any.
        locales: The locales messages can be shown in.
        base: The diff base the page starts with.
        token: The per-run secret every API call must carry.
        hosts: The ``Host`` values that name the bound address (set once bound).
    """

    rules: Path
    root: Path
    scenarios: list[str]
    examples: Path | None = None
    locales: list[str] = dataclasses.field(default_factory=lambda: ["en"])
    base: str = "bundled:"
    token: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(32))
    hosts: set[str] = dataclasses.field(default_factory=set)
    reports: dict[str, str] = dataclasses.field(default_factory=dict)
    _write_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock,
                                                    repr=False)

    def bind(self, host: str, port: int) -> None:
        """Accept the ``Host`` values naming ``host:port`` (and ``localhost`` for loopback)."""
        shown = f"[{host}]" if ":" in host else host
        self.hosts = {f"{shown}:{port}"}
        if host in ("127.0.0.1", "::1"):
            self.hosts.add(f"localhost:{port}")

    # --- the rules folder: the only files read or written by name -----------------------

    def rule_names(self) -> list[str]:
        """The rule files (rulesets and vocabularies) of the rules folder that can be edited."""
        out = []
        for entry in sorted(os.scandir(self.rules), key=lambda e: e.name):
            with contextlib.suppress(StudioError):
                self.rule_path(entry.name)
                out.append(entry.name)
        return out

    def rule_path(self, name: Any) -> Path:
        """The file ``name`` names in the rules folder, or a refusal.

        Only a plain file name of a rule file directly in the folder is taken: no folder
        part, no ``..``, no hidden file, no link (it could lead out of the folder), and
        only files that are there (the studio never creates one).

        Raises:
            StudioError: The name is refused (403) or there is no such rule file (404).
        """
        if not isinstance(name, str) or not name or "\x00" in name:
            raise StudioError(400, "expected the name of a rule file")
        if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
            raise StudioError(403, f"{name!r}: only a rule file of the rules folder can be "
                              "read or written, named without a folder")
        if not name.endswith(RULE_SUFFIXES):
            raise StudioError(403, f"{name!r}: not a rule file (*.yaml, *.yml)")
        path = self.rules / name
        if path.is_symlink():
            raise StudioError(403, f"{name}: is a link; the studio only writes files that are "
                              "in the rules folder itself")
        if not path.is_file():
            raise StudioError(404, f"{name}: no such rule file in {self.rules}")
        if path.resolve().parent != self.rules:
            raise StudioError(403, f"{name}: is not in the rules folder")
        return path

    def save(self, name: Any, text: Any, expected: Any) -> dict[str, Any]:
        """Write a rule file whole, atomically (a reader sees the old text or the new).

        ``expected`` is the :func:`digest` of the file as the page read it: a file changed
        on disk since (by another editor, by git) is not overwritten.
        """
        path = self.rule_path(name)
        body = _text(text).encode("utf-8")
        if not isinstance(expected, str):
            raise StudioError(400, "save: expected the digest of the text the page read")
        with self._write_lock:
            now = digest(path.read_bytes())
            if not hmac.compare_digest(now, expected):
                raise StudioError(409, f"{path.name} changed on disk since it was opened; "
                                  "nothing was written (open it again to see the file's "
                                  "text)", digest=now)
            self._replace(path, body)
        return {"file": path.name, "bytes": len(body), "digest": digest(body)}

    def _replace(self, path: Path, body: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=self.rules)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(OSError):
                os.chmod(tmp, path.stat().st_mode & 0o7777)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StudioError(500, f"{path.name}: cannot write: {exc.strerror or exc}") from None

    def registry(self) -> Registry:
        """The rulesets of the rules folder as saved."""
        return Registry.from_folder(self.rules)

    def scenario_file(self, name: Any) -> str:
        """A scenario file of the project, by the name :meth:`scenario_files` gives it."""
        for shown, path in self.scenario_files():
            if shown == name:
                return path
        raise StudioError(404, f"{name!r}: not a scenario file of the project")

    def scenario_files(self) -> list[tuple[str, str]]:
        """(name relative to the project, path) of every scenario file of the project."""
        from ta_rules.testing.scenarios import find_scenario_files

        out = []
        for path, problem in find_scenario_files(self.scenarios):
            if problem is None:
                out.append((self.shown(path), path))
        return out

    def shown(self, path: str) -> str:
        """A path as the page shows it: relative to the project when inside it."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path

    def example_names(self) -> list[str]:
        """The example claims (facts files) offered to run."""
        if self.examples is None or not self.examples.is_dir():
            return []
        return sorted(p.name for p in self.examples.iterdir()
                      if p.suffix in (".json", ".yaml", ".yml") and p.is_file()
                      and not p.is_symlink())


def digest(content: bytes) -> str:
    """``sha256:`` of a file's bytes: which text of it the page holds."""
    return "sha256:" + hashlib.sha256(content).hexdigest()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise StudioError(400, "expected the file's text as a string")
    if len(value) > MAX_TEXT:
        raise StudioError(413, f"the text is over {MAX_TEXT} characters")
    return value


Handler = Callable[[Workbench, dict[str, Any]], Any]


def create_app(wb: Workbench) -> FastAPI:
    """The studio's application over a workbench."""
    from ta_rules.studio import _actions as act

    app = FastAPI(title="ta-rules studio", docs_url=None, redoc_url=None, openapi_url=None)
    static = files("ta_rules.studio") / "static"

    @app.middleware("http")
    async def guard(request: Request,
                    call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        refusal = _refusal(wb, request)
        if refusal is not None:
            return _json({"error": {"message": refusal}}, 403)
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    async def index() -> Response:
        page = (static / "index.html").read_text(encoding="utf-8")
        return Response(page.replace("{{token}}", wb.token), media_type=_TYPES[".html"])

    @app.get("/static/{name}")
    async def asset(name: str) -> Response:
        if name not in _STATIC:
            return _json({"error": {"message": f"{name}: no such file"}}, 404)
        return Response((static / name).read_bytes(), media_type=_TYPES[Path(name).suffix])

    @app.get("/impact/{key}")
    async def impact_page(key: str) -> Response:
        html = wb.reports.get(key)
        if html is None:
            return _json({"error": {"message": "no such report"}}, 404)
        return Response(html, media_type=_TYPES[".html"],
                        headers={"Content-Security-Policy": _REPORT_CSP})

    routes: dict[str, Handler] = {
        "state": act.state, "file": act.read_file, "check": act.check, "save": act.save,
        "run": act.run, "why-not": act.why_not, "diff": act.diff,
        "scenarios": act.scenarios, "impact": act.impact,
    }

    @app.post("/api/{action}")
    async def api(action: str, request: Request) -> Response:
        handler = routes.get(action)
        if handler is None:
            return _json({"error": {"message": f"{action}: no such action"}}, 404)
        return await _answer(handler, wb, await request.body())

    return app


async def _answer(handler: Handler, wb: Workbench, raw: bytes) -> Response:
    """Run an action on the request's JSON object; every failure is an answer naming it."""
    if len(raw) > MAX_TEXT * 2:
        return _json({"error": {"message": "the request is too large"}}, 413)
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        return _json({"error": {"message": f"the request is not JSON: {exc}"}}, 400)
    if not isinstance(body, dict):
        return _json({"error": {"message": "the request must be a JSON object"}}, 400)
    try:
        return _json(await run_in_threadpool(handler, wb, body), 200)
    except StudioError as exc:
        return _json({"error": {"message": str(exc), **exc.extra}}, exc.status)
    except FactsError as exc:
        return _json({"error": {"message": str(exc), "problems": [
            {"path": p.path, "message": p.message} for p in exc.problems]}}, 422)
    except RulesetError as exc:
        return _json({"error": {"message": "the rules have problems",
                                "diagnostics": [d.to_json() for d in exc.diagnostics]}}, 422)
    except TaRulesError as exc:
        return _json({"error": {"message": str(exc)}}, 400)
    except Exception as exc:  # a bug in ta-rules: said in one line, logged with its traceback
        log.exception("internal error")
        return _json({"error": {"message": f"internal error: {type(exc).__name__}: {exc} "
                                "(this is a bug in ta-rules; please report it with what "
                                "was done)"}}, 500)


def _refusal(wb: Workbench, request: Request) -> str | None:
    """Why a request is refused, or None: foreign Host, foreign Origin, no token."""
    host = request.headers.get("host", "")
    if host not in wb.hosts:
        return (f"refused: Host {host!r} is not the studio's address "
                f"({', '.join(sorted(wb.hosts))})")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return f"refused: a request from another origin ({origin})"
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return "refused: a request from another site"
    if request.url.path.startswith("/api/"):
        if request.method != "POST":
            return "refused: API calls are POST requests"
        if not hmac.compare_digest(request.headers.get(TOKEN_HEADER, ""), wb.token):
            return "refused: the request does not carry this studio's token"
    return None


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json")
