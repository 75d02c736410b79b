"""The service's metrics, written in the Prometheus text exposition format (version 0.0.4).

A handful of counters and one histogram do not need a client library: this keeps the
``serve`` extra to FastAPI and uvicorn, and each worker process reports its own figures
(Prometheus adds them up across scrape targets) with no shared files to set up.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterable, Mapping

__all__ = ["BUCKETS", "Metrics"]

#: Upper bounds (seconds) of the request latency histogram.
BUCKETS: tuple[float, ...] = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                              1.0, 2.5, 5.0, 10.0)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


class Metrics:
    """Counters of one process; safe to update from the event loop and worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self._latency: dict[str, list[int]] = {}
        self._latency_sum: dict[str, float] = collections.defaultdict(float)
        self._latency_count: collections.Counter[str] = collections.Counter()
        self._verdicts: collections.Counter[str] = collections.Counter()
        self._bad_lines = 0
        self._reloads: collections.Counter[str] = collections.Counter()
        self._ready = 1

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count a finished request and record its latency."""
        with self._lock:
            self._requests[(route, method, str(status))] += 1
            buckets = self._latency.setdefault(route, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
                    break
            else:
                buckets[-1] += 1
            self._latency_sum[route] += seconds
            self._latency_count[route] += 1

    def count_verdicts(self, outcomes: Mapping[str, int], bad_lines: int = 0) -> None:
        """Count verdicts by outcome (and batch lines that could not be judged)."""
        with self._lock:
            self._verdicts.update(outcomes)
            self._bad_lines += bad_lines

    def count_reload(self, ok: bool) -> None:
        """Count a reload of the rules folder and remember whether it took effect."""
        with self._lock:
            self._reloads["ok" if ok else "failed"] += 1
            self._ready = 1 if ok else 0

    def render(self) -> str:
        """Every metric in the text exposition format."""
        with self._lock:
            out: list[str] = []

            def family(name: str, kind: str, text: str) -> None:
                out.append(f"# HELP {name} {text}")
                out.append(f"# TYPE {name} {kind}")

            family("ta_rules_http_requests_total", "counter",
                   "HTTP requests answered, by route, method and status.")
            for (route, method, status), n in sorted(self._requests.items()):
                out.append("ta_rules_http_requests_total" + _labels(
                    [("route", route), ("method", method), ("status", status)]) + f" {n}")
            family("ta_rules_http_request_duration_seconds", "histogram",
                   "Time from the request's arrival to the last byte of its response.")
            for route in sorted(self._latency):
                cumulative = 0
                for bound, n in zip((*BUCKETS, float("inf")), self._latency[route],
                                    strict=True):
                    cumulative += n
                    le = "+Inf" if bound == float("inf") else _number(bound)
                    out.append("ta_rules_http_request_duration_seconds_bucket" + _labels(
                        [("route", route), ("le", le)]) + f" {cumulative}")
                labels = _labels([("route", route)])
                out.append(f"ta_rules_http_request_duration_seconds_sum{labels} "
                           f"{_number(self._latency_sum[route])}")
                out.append(f"ta_rules_http_request_duration_seconds_count{labels} "
                           f"{self._latency_count[route]}")
            family("ta_rules_verdicts_total", "counter", "Verdicts given, by outcome.")
            for outcome in ("covered", "denied", "pending", "settled"):
                out.append(f'ta_rules_verdicts_total{{outcome="{outcome}"}} '
                           f"{self._verdicts[outcome]}")
            family("ta_rules_batch_bad_lines_total", "counter",
                   "Batch lines that could not be judged (each got an error record).")
            out.append(f"ta_rules_batch_bad_lines_total {self._bad_lines}")
            family("ta_rules_reloads_total", "counter",
                   "Reloads of the rules folder, by result.")
            for result in ("ok", "failed"):
                out.append(f'ta_rules_reloads_total{{result="{result}"}} '
                           f"{self._reloads[result]}")
            family("ta_rules_ready", "gauge",
                   "1 when the last reload (or the start) took effect, 0 after a failed one.")
            out.append(f"ta_rules_ready {self._ready}")
            return "\n".join(out) + "\n"
