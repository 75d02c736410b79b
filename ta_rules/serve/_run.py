"""Running the service: the listening socket, worker processes, signals, the JSON log.

One process (``--workers 1``) runs uvicorn on a socket bound here. With more workers the
socket is bound once and the process forks: each child runs its own server on the shared
socket (the kernel spreads connections), the parent forwards SIGHUP and SIGTERM to the
children and replaces a child that dies. Rulesets are loaded before the fork, so children
start with them compiled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType
from typing import IO, Any

import uvicorn

from ta_rules import diagnostic_codes as dc
from ta_rules.errors import Diagnostic, Location, RulesetError, TaRulesError
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.serve._app import Limits, Service, create_app

__all__ = ["JsonFormatter", "serve"]

log = logging.getLogger("ta_rules.serve")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Format a record."""
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(), "pid": record.process,
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def _setup_logging(stream: IO[str]) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for name in ("ta_rules.serve", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
        # proto must be IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on such sockets,
        # and without it a keep-alive response waits ~40 ms for the client's delayed ACK
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise TaRulesError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise TaRulesError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _run_worker(service: Service, sock: socket.socket, *, reload_signal: bool,
                shutdown_timeout: float) -> int:
    config = uvicorn.Config(create_app(service), log_config=None, access_log=False,
                            timeout_graceful_shutdown=int(shutdown_timeout), lifespan="off",
                            server_header=False)
    server = uvicorn.Server(config)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if reload_signal:
            pending: set[asyncio.Task[bool]] = set()

            def on_hup() -> None:
                task = loop.create_task(service.reload())
                pending.add(task)
                task.add_done_callback(pending.discard)

            loop.add_signal_handler(signal.SIGHUP, on_hup)
        await server.serve(sockets=[sock])

    # uvicorn raises the signal it stopped on again once it has finished: let that one
    # be a no-op, so a graceful stop on SIGTERM exits 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    if reload_signal:  # until the event loop takes SIGHUP over, it must not stop the process
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    asyncio.run(main())
    return 0


def _supervise(workers: int, run_child: Any) -> int:
    """Fork ``workers`` children running ``run_child()``; forward signals; wait for them."""
    children: set[int] = set()
    stopping = False
    starts: list[float] = []

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the child
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                code = run_child()
            finally:
                os._exit(code)
        children.add(pid)
        starts.append(time.monotonic())

    def forward(sig: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if sig != signal.SIGHUP:
            stopping = True
            sig = signal.SIGTERM
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for _ in range(workers):
        spawn()
    status = 0
    while children:
        pid, code = os.wait()
        children.discard(pid)
        if stopping:
            continue
        log.error("a worker process exited; starting another", extra={"fields": {
            "event": "worker-exit", "worker": pid, "status": os.waitstatus_to_exitcode(code)}})
        recent = [t for t in starts if time.monotonic() - t < 10]
        if len(recent) > 3 * workers:  # crashing as it starts: give up rather than spin
            log.error("workers keep exiting; stopping", extra={"fields": {"event": "stop"}})
            forward(signal.SIGTERM, None)
            status = 1
            continue
        spawn()
    return status


def serve(*, rules: str | None = None, host: str = "127.0.0.1", port: int = 8080,
          workers: int = 1, reload_signal: bool = False, limits: Limits | None = None,
          shutdown_timeout: float = 30.0, log_stream: IO[str] | None = None) -> int:
    """Serve verdicts over HTTP until SIGTERM or SIGINT; returns the exit status.

    Args:
        rules: A folder of rulesets (default: the bundled rulesets).
        host: The address to bind (loopback unless told otherwise).
        port: The port; 0 picks a free one (the ``listening`` log line names it).
        workers: Server processes sharing the socket.
        reload_signal: Reload the rules folder on SIGHUP.
        limits: Body size limits.
        shutdown_timeout: Seconds in-flight requests get to finish after SIGTERM.
        log_stream: Where the JSON log lines go (default stderr).

    Raises:
        RulesetError: The rules folder cannot be loaded (nothing is served).
        TaRulesError: Bad options, or the address cannot be bound.
    """
    if workers < 1:
        raise TaRulesError("--workers must be at least 1")
    if reload_signal and rules is None:
        raise TaRulesError("--reload-signal reloads a rules folder: give --rules DIR")
    if rules is None:
        registry = default_registry()
    else:
        registry = Registry.from_folder(rules)
        if not registry.rulesets:
            raise RulesetError([Diagnostic(dc.SERVE_NO_RULESETS, "the folder holds no ruleset "
                                           "file (*.yaml)", Location(rules))])
    service = Service(registry, folder=rules, limits=limits)
    sock = _listen(host, port)
    _setup_logging(log_stream or sys.stderr)
    bound = sock.getsockname()
    log.info("listening", extra={"fields": {
        "event": "listening", "host": bound[0], "port": bound[1], "workers": workers,
        "rules": rules or "<bundled>", "reload_signal": reload_signal,
        "serving": service.rulesets()}})

    def child() -> int:
        return _run_worker(service, sock, reload_signal=reload_signal,
                           shutdown_timeout=shutdown_timeout)

    try:
        if workers == 1:
            return child()
        return _supervise(workers, child)
    finally:
        sock.close()
        log.info("stopped", extra={"fields": {"event": "stopped"}})
