"""Run :func:`judge_partition` over a history, here, on worker processes or on Dask.

The tallies are folded in partition order, so every way gives the same report.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from ta_rules._workers import Pending, WorkerLost, in_order, pool_alive, stop_pool, worker_pool
from ta_rules.impact._core import ImpactConfig, Tally, judge_partition
from ta_rules.impact._history import Record
from ta_rules.impact._sides import ImpactError

__all__ = ["run_impact"]

_CONFIG: list[ImpactConfig] = []


def _init_worker(config: ImpactConfig) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent alone handles it,
    # and stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _CONFIG[:] = [config]


def _ready() -> None:
    """Nothing: a first task makes the pool start its workers."""


def _judge_here(records: list[Record]) -> Tally:
    return judge_partition(records, _CONFIG[0])


class _Done:
    """A result already computed (work done in this process)."""

    def __init__(self, value: Tally) -> None:
        self.value = value

    def result(self) -> Tally:
        return self.value


def _progress(enabled: bool, total: int | None, stream: IO[str] | None) -> Any:
    if not enabled:
        return contextlib.nullcontext(None)
    from tqdm import tqdm

    return tqdm(total=total, unit=" claims", unit_scale=True, file=stream, leave=False,
                dynamic_ncols=True)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if not _main_thread():  # only the main thread sees Ctrl-C
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _dask(address: str, workers: int) -> Iterator[tuple[Any, int]]:
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise ImpactError("--dask needs Dask: pip install 'ta-rules[dask]'") from None
    Client, LocalCluster = distributed.Client, distributed.LocalCluster
    cluster = None
    try:
        if address == "local":
            # Ctrl-C reaches the whole process group: the cluster's processes start with
            # SIGINT ignored (they inherit it), so this process alone handles it and closes
            # them (a Ctrl-C during the start-up itself is not seen)
            with _sigint_ignored():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                       processes=True,
                                       # a free port on loopback: 8787 may be another's
                                       dashboard_address="127.0.0.1:0",
                                       silence_logs=logging.CRITICAL)
            client = Client(cluster)
        else:
            try:
                client = Client(address, timeout=30)
            except OSError as exc:
                raise ImpactError(f"--dask {address}: cannot connect: {exc}") from None
        try:
            n = len(client.scheduler_info().get("workers", {})) or workers
            yield client, n
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def run_impact(
    partitions: Iterable[list[Record]], config: ImpactConfig, *, workers: int = 1,
    dask: str | None = None, progress: bool = False, total: int | None = None,
    stream: IO[str] | None = None,
) -> Tally:
    """Judge every partition under both sides and fold the tallies, in order.

    Args:
        partitions: Lists of records (:func:`ta_rules.impact.read_history`).
        config: The two sides.
        workers: Local worker processes (1 = in this process); with ``dask="local"``, the
            workers of the LocalCluster started.
        dask: A Dask scheduler address, or ``local`` to start a LocalCluster.
        progress: Show a progress bar (tqdm) on ``stream``.
        total: The number of records, when known, for the bar.
        stream: Where the progress bar goes.

    Returns:
        The tally of the whole history (with ``strict``, up to the first bad record).

    Raises:
        ImpactError: A worker process died (naming the lines it had), or Dask is missing.
    """
    tally = Tally()
    interrupted = contextlib.ExitStack()
    with interrupted, contextlib.ExitStack() as stack:
        try:
            submit: Callable[[list[Record]], Pending[Tally]]
            alive: Callable[[], bool] | None = None
            if dask is not None:
                client, n = stack.enter_context(_dask(dask, max(workers, 1)))
                shared = client.scatter(config, broadcast=True)

                def submit(records: list[Record]) -> Pending[Tally]:
                    future: Pending[Tally] = client.submit(judge_partition, records, shared,
                                                           pure=False)
                    return future

                in_flight = n * 3
            elif workers > 1:
                pool = worker_pool(workers, _init_worker, (config,))
                stack.callback(stop_pool, pool)
                alive = pool_alive(pool)
                with _sigint_ignored():  # the workers start with SIGINT ignored
                    pool.submit(_ready).result()
                pool_submit = pool.submit

                def submit(records: list[Record]) -> Pending[Tally]:
                    return pool_submit(_judge_here, records)

                in_flight = workers * 3
            else:
                def submit(records: list[Record]) -> Pending[Tally]:
                    return _Done(judge_partition(records, config))

                in_flight = 1
            bar = stack.enter_context(_progress(progress, total, stream))
            for part in in_order(submit, partitions, in_flight, alive=alive,
                                 span=lambda records: (records[0][0], records[-1][0])):
                tally.add(part)
                if bar is not None:
                    bar.update(part.claims + part.errors)
                if tally.stopped_at is not None:
                    break
        except WorkerLost as exc:
            raise ImpactError(f"{exc}; no report is written (run again, or with fewer "
                              "--workers if memory ran out)") from None
        except KeyboardInterrupt:
            # stop the workers and the cluster to the end, whatever Ctrl-C follow
            interrupted.enter_context(_sigint_ignored())
            if dask is not None:
                # Dask's own tasks cut short by closing the cluster now fail, as expected:
                # their reports would only bury the one line that says what happened
                for name in ("asyncio", "distributed", "tornado"):
                    logging.getLogger(name).setLevel(logging.CRITICAL + 1)
            raise
    return tally
