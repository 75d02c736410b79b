"""uvicorn's HTTP/1.1 protocol with deadlines on what a client sends.

uvicorn closes a keep-alive connection that stays idle between requests, but a connection
that never sends a whole request head, or stops in the middle of a body, is kept forever:
a few thousand such connections use up the process's file descriptors. Here:

- a request head (request line and headers) must arrive whole within ``client_timeout``
  seconds of the connection opening, or of its first byte on a kept-alive connection,
  however the bytes are spread (a byte a second does not extend it);
- a body must keep arriving: by ``client_timeout`` seconds after its head plus one second
  per :data:`MIN_BODY_RATE` bytes received so far.

Past either, the connection is closed and a ``client-timeout`` line is logged; a request
whose body was cut short is logged and counted as 499 (its client is gone). While the
service itself has stopped reading (flow control), the clock does not run against the
client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Final

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["MIN_BODY_RATE", "guarded_protocol"]

log = logging.getLogger("ta_rules.serve")

#: The slowest average a body may arrive at, after the first ``client_timeout`` seconds.
MIN_BODY_RATE: Final = 16 * 1024


class _GuardedH11Protocol(H11Protocol):
    client_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock of the first request head."""
        self._guard: asyncio.TimerHandle | None = None
        self._stage: str | None = None
        self._body_start = 0.0
        self._body_bytes = 0
        super().connection_made(transport)
        self._arm("head", self.client_timeout)

    def data_received(self, data: bytes) -> None:
        """Hand the bytes to uvicorn, then set the deadline of what is still to come."""
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:  # a request head is (or may be) under way
            if self._stage != "head":
                self._arm("head", self.client_timeout)
        elif state is h11.SEND_BODY:
            if self._stage != "body":
                self._body_start, self._body_bytes = time.monotonic(), 0
            self._body_bytes += len(data)
            deadline = self._body_start + self.client_timeout \
                + self._body_bytes / MIN_BODY_RATE
            self._arm("body", deadline - time.monotonic())
        else:  # the request is in: the service is answering
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """Between requests uvicorn's keep-alive timeout applies."""
        self._disarm()
        super().on_response_complete()

    def _arm(self, stage: str, seconds: float) -> None:
        self._disarm()
        self._stage = stage
        self._guard = self.loop.call_later(max(seconds, 0.0), self._expired)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None
        self._stage = None

    def _expired(self) -> None:
        stage, self._guard = self._stage, None
        if self.transport.is_closing() or stage is None:
            return
        if self.flow is not None and self.flow.read_paused:  # we are not reading: wait
            self._arm(stage, self.client_timeout)
            return
        client = self.client
        log.info("a client was too slow sending its request; connection closed", extra={
            "fields": {"event": "client-timeout", "stage": stage,
                       "client": f"{client[0]}:{client[1]}" if client else None}})
        self._stage = None
        self.transport.close()


def guarded_protocol(client_timeout: float) -> Any:
    """The protocol class for ``uvicorn.Config(http=...)`` with ``client_timeout`` seconds."""
    return type("GuardedH11Protocol", (_GuardedH11Protocol,),
                {"client_timeout": client_timeout})
