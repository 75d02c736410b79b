"""Worker processes of ``eval --batch`` and ``impact``: started, tied to their parent, watched.

:func:`worker_pool` starts a pool of processes; :func:`die_with_parent` (run in each
worker) makes a worker end when its parent ends, however it ends; :func:`in_order` gives
the results of pieces of work in input order with a bounded number in flight, and turns
the death of a worker (SIGKILL, the kernel's out-of-memory killer, a crash of the
interpreter) into :class:`WorkerLost`, which names the pieces of work that got no result,
instead of the pool's ``BrokenProcessPool``.
"""

from __future__ import annotations

import collections
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from ta_rules.errors import TaRulesError

__all__ = ["Pending", "WorkerLost", "die_with_parent", "in_order", "pool_alive", "stop_pool",
           "worker_pool"]

#: Seconds between checks that every worker is alive, while a result is awaited.
_POLL = 0.5
#: Seconds a dead worker is given for the pool to notice it before the run says so itself.
_GRACE = 3.0

_T = TypeVar("_T")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class WorkerLost(TaRulesError):
    """A worker process ended while work was given to it; no result came for that work.

    Attributes:
        first: The first unit (line, record) of the work that got no result.
        last: The last unit of the work submitted so far that got no result.
        done: Pieces of work whose results were given before it.
    """

    def __init__(self, first: int | None, last: int | None, done: int) -> None:
        span = f"lines {first}-{last}" if first is not None else "the work in hand"
        super().__init__(
            f"a worker process ended abruptly (killed, perhaps by the system for want of "
            f"memory) while {span} were being judged; they got no result")
        self.first = first
        self.last = last
        self.done = done


def die_with_parent(parent: int) -> None:
    """Make this worker process end when its parent ends, however it ends.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere
    a thread also checks every half second that the parent is still the one that started
    us. Ctrl-C reaches the whole process group: the parent handles it, so workers ignore it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="ta-rules-parent-watch", daemon=True).start()


def worker_pool(workers: int, initializer: Callable[..., None],
                initargs: tuple[Any, ...]) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, each set up by ``initializer(*initargs)``."""
    methods = multiprocessing.get_all_start_methods()
    # fork shares the loaded rulesets with the workers; spawn re-imports where fork is absent
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer,
                               initargs=initargs)


class Pending(Protocol[_R_co]):
    """A submitted piece of work (a concurrent.futures or a Dask future)."""

    def result(self) -> _R_co:
        """Wait for the result."""


class _Stalled(Exception):
    """A worker is dead and the pool has not noticed."""


def _watched(future: Any, alive: Callable[[], bool]) -> Any:
    dead_since: float | None = None
    while True:
        try:
            return future.result(timeout=_POLL)
        except TimeoutError:
            if alive():
                dead_since = None
                continue
            now = time.monotonic()
            dead_since = dead_since or now
            if now - dead_since >= _GRACE:
                raise _Stalled from None


def pool_alive(pool: ProcessPoolExecutor) -> Callable[[], bool]:
    """A check that every process of ``pool`` is alive (for :func:`in_order`)."""
    def alive() -> bool:
        processes: Any = getattr(pool, "_processes", None) or {}
        return all(p.is_alive() for p in list(processes.values()))

    return alive


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down: work not started is cancelled, the work in hand is finished.

    When a worker died while it was sending a result, the pool's reader waits forever for
    the rest of that message: the other workers are then killed and this process's end of
    their pipe closed, so the reader sees the pipe's end and the pool stops.
    """
    if not pool_alive(pool)():
        processes: Any = getattr(pool, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                process.kill()
        writer: Any = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            with contextlib.suppress(OSError):
                writer.close()
    pool.shutdown(wait=True, cancel_futures=True)


def in_order(submit: Callable[[_T], Pending[_R]], chunks: Iterable[_T], in_flight: int, *,
             span: Callable[[_T], tuple[int, int]] | None = None,
             alive: Callable[[], bool] | None = None) -> Iterator[_R]:
    """Results of ``submit(chunk)`` in input order, with at most ``in_flight`` pending.

    Args:
        submit: Starts the work of a chunk.
        chunks: The pieces of work.
        in_flight: Most pieces submitted and not yet given back.
        span: The first and last unit (line number) of a chunk, for :class:`WorkerLost`.
        alive: Whether every worker is alive (:func:`pool_alive`): a worker dead for
            :data:`_GRACE` seconds while a result is awaited is :class:`WorkerLost`, even
            when the pool itself does not notice (a worker killed while it sent a result).

    Raises:
        WorkerLost: A worker process died; the results before it were all given.
    """
    pending: collections.deque[tuple[Pending[_R], _T]] = collections.deque()
    done = 0

    def lost(chunk: _T) -> WorkerLost:
        if span is None:
            return WorkerLost(None, None, done)
        last = span(pending[-1][1])[1] if pending else span(chunk)[1]
        return WorkerLost(span(chunk)[0], last, done)

    def take() -> _R:
        nonlocal done
        future, chunk = pending[0]
        try:
            result = future.result() if alive is None else _watched(future, alive)
        except BrokenProcessPool:
            raise lost(chunk) from None
        except _Stalled:
            raise lost(chunk) from None
        pending.popleft()
        done += 1
        return result

    for chunk in chunks:
        try:
            pending.append((submit(chunk), chunk))
        except BrokenProcessPool:
            raise lost(pending[0][1] if pending else chunk) from None
        if len(pending) >= in_flight:
            yield take()
    while pending:
        yield take()
