"""The webhook worker: claim queued targets, reconcile them exactly as ``mzi apply --target``.

Each worker owns a :class:`~reconciler.commands.Workspace` (its own providers and state
store connection) and loops: claim up to ``batch_size`` due targets, resolve the lookups
among them (:mod:`reconciler.lookups`), and hand the addresses to
:func:`reconciler.commands.apply` — the very function ``mzi apply --target`` calls, so a
webhook gets the same reads (fresh from both sides, by key), the same plan, the same
safety rules and the same run log. A delete event is never trusted: the reconcile reads
Zoho by id and plans a delete only when Zoho no longer has the record.

Outcome per target: done (its addresses applied, or nothing to do, or blocked waiting
for a parent), failed (retried with backoff, dead after the last attempt), or deferred
(another process holds the record's lock, or a full apply runs: tried again shortly,
not counted as an attempt).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import commands
from .batches import Gate
from .config import Config
from .errors import LockHeld, MziError
from .events import Lookup, parse_target
from .lookups import resolve
from .metrics import Metrics
from .model import Address
from .queue import DEAD, EventQueue, QueuePolicy, WorkItem, process_id

log = logging.getLogger("mzi.serve")

#: seconds a target waits when its lock is busy (plus up to as much again, at random)
DEFER_SECONDS = 1.0
#: how often a worker looks for work left by a process that stopped
REAP_EVERY = 5.0
#: a passed preflight holds this long in a worker (the specs cannot change under a running server)
PREFLIGHT_TTL = 600.0


def policy_of(config: Config) -> QueuePolicy:
    s = config.serve
    return QueuePolicy(debounce=s.debounce_seconds, max_delay=s.max_delay_seconds, max_attempts=s.max_attempts,
                       retry_base=s.retry_base_seconds, retry_max=s.retry_max_seconds,
                       reclaim_after=s.reclaim_after_seconds, keep_events=s.keep_events_days * 86400)


@dataclass
class Signals:
    """What the HTTP side and the workers of one process share."""

    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    gate: Gate = field(default_factory=Gate)


class Worker:
    def __init__(self, config: Config, number: int, signals: Signals, metrics: Metrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.owner = f"{process_id()}:{number}"
        self.signals = signals
        self.metrics = metrics
        self.clock = clock
        self.policy = policy_of(config)
        self._last_reap = 0.0

    async def run(self) -> None:
        """Work until ``signals.stopping`` is set; unfinished claims go back to the queue."""
        async with commands.workspace(config=self.config) as ws:
            ws.preflight_ttl = PREFLIGHT_TTL
            queue = EventQueue(ws.state, self.policy, self.clock)
            try:
                while not self.signals.stopping.is_set():
                    self._reap(queue)
                    items = queue.claim(self.owner, self.config.serve.batch_size)
                    if items:
                        await self.reconcile(ws, queue, items)
                    else:
                        await self._idle(queue)
            finally:
                queue.release_mine(self.owner)

    def _reap(self, queue: EventQueue) -> None:
        now = time.monotonic()
        if now - self._last_reap < REAP_EVERY:
            return
        self._last_reap = now
        taken = queue.reap(process_id(), lambda t: not isinstance(parse_target(t), Lookup))
        if taken:
            log.warning("took back %d target(s) left running by a stopped process", len(taken))
            queue.prune()

    async def _idle(self, queue: EventQueue) -> None:
        """Sleep until the next target is due, an event arrives, or the poll interval passes
        (another process may have queued work)."""
        wait = self.config.serve.poll_seconds
        due = queue.next_due()
        if due is not None:
            wait = max(0.0, min(wait, due - self.clock()))
        self.signals.wake.clear()
        waiters = [asyncio.ensure_future(self.signals.wake.wait()), asyncio.ensure_future(self.signals.stopping.wait())]
        try:
            await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _addresses(self, ws: commands.Workspace, queue: EventQueue,
                         items: list[WorkItem]) -> dict[str, list[Address]]:
        """Each claimed target's addresses; a lookup that cannot be resolved fails its item."""
        named: dict[str, list[Address]] = {}
        for item in items:
            target = parse_target(item.target)
            if isinstance(target, Address):
                named[item.target] = [target]
                continue
            try:
                named[item.target] = await resolve(ws, target)
            except MziError as exc:
                self._failed(queue, item, f"cannot resolve {item.target}: {exc}", None)
        return named

    async def reconcile(self, ws: commands.Workspace, queue: EventQueue, items: list[WorkItem]) -> None:
        started = time.monotonic()
        named = await self._addresses(ws, queue, items)
        items = [i for i in items if i.target in named]
        addresses = sorted({a for found in named.values() for a in found if a.kind in ws.specs})
        if not addresses:
            for item in items:
                self._done(queue, item, None)
            return
        try:
            outcome = await commands.apply(ws, targets=addresses, gate=self.signals.gate, targets_must_exist=False,
                                           kind="webhook")
        except LockHeld as exc:
            for item in items:
                queue.defer(item, self.owner, DEFER_SECONDS * (1 + random.random()), str(exc))
                self._count("deferred")
            return
        except MziError as exc:
            log.warning("reconcile of %d address(es) failed: %s", len(addresses), exc)
            for item in items:
                self._failed(queue, item, str(exc), None)
            return
        finally:
            ws.warnings.clear()
            if self.metrics is not None:
                self.metrics.duration.observe(time.monotonic() - started)
        errors: dict[Address, str] = {r.address: f"{r.status}: {r.error}" for r in outcome.failed}
        for item in items:
            problems = [f"{a}: {errors[a]}" for a in named[item.target] if a in errors]
            if outcome.interrupted and problems:
                queue.defer(item, self.owner, 0.0, "interrupted: mzi serve was stopping")
            elif problems:
                self._failed(queue, item, "; ".join(problems), outcome.run_id)
            else:
                self._done(queue, item, outcome.run_id)

    def _done(self, queue: EventQueue, item: WorkItem, run_id: int | None) -> None:
        queue.done(item, self.owner, run_id)
        self._count("done")
        if self.metrics is not None:
            self.metrics.latency.observe(max(0.0, self.clock() - item.enqueued))

    def _failed(self, queue: EventQueue, item: WorkItem, error: str, run_id: int | None) -> None:
        status = queue.fail(item, self.owner, error, run_id)
        self._count("dead" if status == DEAD else "failed")
        if status == DEAD:
            log.error("%s is a dead letter after %d attempts: %s", item.target, item.attempts, error[:300])

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reconciles.labels(outcome).inc()
