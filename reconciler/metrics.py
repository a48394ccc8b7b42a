"""``mzi serve``'s Prometheus metrics (``GET /metrics``).

Counters and histograms live in the process (one registry per app, so tests and
several apps in one process never share numbers); the queue's gauges are read from the
state store at scrape time, so they are the queue's, not this process's — with several
``mzi serve`` processes on one PostgreSQL queue, every one of them reports the same depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .queue import QueueStats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class _QueueGauges(Collector):
    def __init__(self, stats: Callable[[], QueueStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        if stats is None:  # the state store does not answer: /readyz says so; no made-up zeros here
            return
        depth = GaugeMetricFamily("mzi_queue_depth", "Targets waiting, retrying or being reconciled", labels=["status"])
        for status, value in (("pending", stats.pending), ("running", stats.running), ("failed", stats.failed)):
            depth.add_metric([status], value)
        yield depth
        yield GaugeMetricFamily("mzi_dead_letters", "Targets given up on after the last attempt (mzi events retry)",
                                value=stats.dead)
        yield GaugeMetricFamily("mzi_queue_oldest_pending_seconds", "Age of the oldest target still to reconcile",
                                value=stats.oldest_pending_seconds or 0.0)


class Metrics:
    def __init__(self, stats: Callable[[], QueueStats | None]) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("mzi_events_accepted", "Webhook events recorded and queued", ["source"],
                                registry=self.registry)
        self.duplicates = Counter("mzi_events_duplicate", "Webhook events acknowledged and dropped as duplicates",
                                  ["source"], registry=self.registry)
        self.refused = Counter("mzi_events_refused", "Webhook requests refused, by reason", ["reason"],
                               registry=self.registry)
        self.reconciles = Counter("mzi_reconciles", "Reconciles of one queued target, by outcome", ["outcome"],
                                  registry=self.registry)
        self.duration = Histogram("mzi_reconcile_duration_seconds", "Time one targeted apply of the worker took",
                                  buckets=_SECONDS, registry=self.registry)
        self.latency = Histogram("mzi_event_to_reconcile_seconds",
                                 "From a target's first waiting event to its reconcile done",
                                 buckets=_SECONDS, registry=self.registry)
        self.registry.register(_QueueGauges(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)
