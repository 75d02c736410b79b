"""Running the service: the listening socket, worker processes, signals, the JSON log.

One process (``--workers 1``) runs uvicorn on a socket bound here. With more workers the
socket is bound once and the process forks: each child runs its own server on the shared
socket (the kernel spreads connections), the parent forwards SIGHUP and SIGTERM to the
children and replaces a child that dies. Rulesets are loaded before the fork, so children
start with them compiled. A child ends when the parent does, however the parent ended
(SIGKILL included), so no worker is left serving the port.
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
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import IO, Any

import uvicorn

from ta_rules import diagnostic_codes as dc
from ta_rules.decisionlog import DecisionLog
from ta_rules.errors import Diagnostic, Location, RulesetError, TaRulesError
from ta_rules.rulesets.registry import Registry, default_registry
from ta_rules.serve._app import Limits, Service, create_app
from ta_rules.serve._protocol import guarded_protocol

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
                shutdown_timeout: float, client_timeout: float) -> int:
    config = uvicorn.Config(create_app(service), log_config=None, access_log=False,
                            timeout_graceful_shutdown=int(shutdown_timeout), lifespan="off",
                            server_header=False, http=guarded_protocol(client_timeout))
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


def end_with_parent(parent: int, grace: float) -> None:
    """Stop this worker process once ``parent`` (the process that forked it) is gone.

    On Linux the kernel sends SIGTERM when the parent dies (``PR_SET_PDEATHSIG``); everywhere
    a thread also checks every half second that the parent is still the one that started
    us, and then sends SIGTERM itself (again each second, in case the first came before the
    server took the signal over). SIGTERM is the graceful stop: the listening socket is
    closed at once and in-flight requests get ``grace`` seconds, after which the process
    exits whatever it is doing.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        log.warning("the parent process is gone; stopping", extra={"fields": {
            "event": "parent-gone", "parent": parent}})
        deadline = time.monotonic() + grace + 5
        while time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="ta-rules-parent-watch", daemon=True).start()


def _supervise(workers: int, run_child: Any, *, grace: float = 30.0) -> int:
    """Fork ``workers`` children running ``run_child()``; forward signals; wait for them."""
    children: set[int] = set()
    stopping = False
    starts: list[float] = []
    parent = os.getpid()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the child
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            end_with_parent(parent, grace)
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
          shutdown_timeout: float = 30.0, client_timeout: float = 10.0,
          log_stream: IO[str] | None = None,
          decision_log: Callable[[Registry], DecisionLog] | None = None) -> int:
    """Serve verdicts over HTTP until SIGTERM or SIGINT; returns the exit status.

    Args:
        rules: A folder of rulesets (default: the bundled rulesets).
        host: The address to bind (loopback unless told otherwise).
        port: The port; 0 picks a free one (the ``listening`` log line names it).
        workers: Server processes sharing the socket.
        reload_signal: Reload the rules folder on SIGHUP.
        limits: Body size limits.
        shutdown_timeout: Seconds in-flight requests get to finish after SIGTERM.
        client_timeout: Seconds a client gets to send a request head, and to start a body
            (which must then keep arriving at 16 KiB/s on average); past it, the
            connection is closed.
        log_stream: Where the JSON log lines go (default stderr).
        decision_log: Opens the decision log every answered verdict is recorded in
            (given the registry served); one process writes it, so ``workers`` must be 1.

    Raises:
        RulesetError: The rules folder cannot be loaded (nothing is served).
        TaRulesError: Bad options, or the address cannot be bound.
    """
    if workers < 1:
        raise TaRulesError("--workers must be at least 1")
    if not client_timeout > 0:
        raise TaRulesError("--client-timeout must be more than 0 seconds")
    if decision_log is not None and workers > 1:
        raise TaRulesError("--decision-log is written by one process: --workers must be 1")
    if reload_signal and rules is None:
        raise TaRulesError("--reload-signal reloads a rules folder: give --rules DIR")
    if rules is None:
        registry = default_registry()
    else:
        registry = Registry.from_folder(rules)
        if not registry.rulesets:
            raise RulesetError([Diagnostic(dc.SERVE_NO_RULESETS, "the folder holds no ruleset "
                                           "file (*.yaml)", Location(rules))])
    opened = decision_log(registry) if decision_log is not None else None
    service = Service(registry, folder=rules, limits=limits, decision_log=opened)
    try:
        sock = _listen(host, port)
    except BaseException:
        if opened is not None:
            opened.close()
        raise
    _setup_logging(log_stream or sys.stderr)
    bound = sock.getsockname()
    log.info("listening", extra={"fields": {
        "event": "listening", "host": bound[0], "port": bound[1], "workers": workers,
        "rules": rules or "<bundled>", "reload_signal": reload_signal,
        "serving": service.rulesets()}})

    def child() -> int:
        return _run_worker(service, sock, reload_signal=reload_signal,
                           shutdown_timeout=shutdown_timeout, client_timeout=client_timeout)

    try:
        if workers == 1:
            return child()
        return _supervise(workers, child, grace=shutdown_timeout)
    finally:
        sock.close()
        if opened is not None:
            opened.close()
        log.info("stopped", extra={"fields": {"event": "stopped"}})
