"""The durable webhook queue, kept in the state store (SQLite or PostgreSQL).

Two tables: ``events`` (every accepted event once, by its unique id: a duplicate is
acknowledged and dropped) and ``work`` (one row per target — an address or a lookup —
that waits to be reconciled). An event is recorded and its targets queued in one
transaction *before* the webhook is answered, so an acknowledged event survives
``kill -9`` and a restart; nothing is ever held only in memory.

Work coalesces: five events for one student leave one ``pending`` row, due
``debounce_seconds`` after the last of them (but never later than ``max_delay_seconds``
after the first), and one reconcile. An event for a row being reconciled right now bumps
its ``generation``; when that reconcile ends the row goes back to ``pending`` instead of
``done``, because the reconcile may have read the record before the change. So every
target is reconciled after its last accepted event — the promise the load test checks.

Claiming marks rows ``running`` in one statement (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so several processes drain one queue without taking the same row). A failed
reconcile is retried with exponential backoff and jitter (status ``failed`` until due
again) and becomes a dead letter (``dead``) after ``max_attempts``; ``mzi events retry``
revives it, and so does a new event for it. A row left ``running`` by a process that died
is taken back by :meth:`EventQueue.reap` once its holder is gone (its address lock is
free and its process dead, or its claim is older than ``reclaim_after_seconds``).
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .events import Event
from .state import StateStore

PENDING, RUNNING, FAILED, DEAD, DONE = "pending", "running", "failed", "dead", "done"
STATUSES = (PENDING, RUNNING, FAILED, DEAD, DONE)
_WORK_COLUMNS = ("target, status, due, enqueued, updated, attempts, events, generation, claimed_generation, "
                 "last_event, last_error, claimed_by, claimed_at, run_id")


@dataclass(frozen=True)
class QueuePolicy:
    """How long work waits and how it is retried (``[serve]`` in mzi.toml)."""

    debounce: float = 2.0
    max_delay: float = 30.0
    max_attempts: int = 8
    retry_base: float = 5.0
    retry_max: float = 900.0
    reclaim_after: float = 60.0
    keep_events: float = 30 * 86400.0

    def backoff(self, attempts: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry ``attempts`` + 1: exponential, capped, with "equal jitter"
        (half fixed, half random) so a burst of failures does not retry in lockstep."""
        delay = min(self.retry_max, self.retry_base * 2 ** max(attempts - 1, 0))
        return delay / 2 + rand() * delay / 2


@dataclass(frozen=True)
class WorkItem:
    """One queued target and where its reconcile stands."""

    target: str
    status: str
    due: float
    enqueued: float
    updated: float
    attempts: int
    events: int
    generation: int
    claimed_generation: int
    last_event: str
    last_error: str
    claimed_by: str
    claimed_at: float
    run_id: int | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> "WorkItem":
        return cls(str(row[0]), str(row[1]), float(row[2]), float(row[3]), float(row[4]), int(row[5]), int(row[6]),
                   int(row[7]), int(row[8]), str(row[9]), str(row[10]), str(row[11]), float(row[12]),
                   None if row[13] is None else int(row[13]))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class QueueStats:
    pending: int
    running: int
    failed: int
    dead: int
    oldest_pending_seconds: float | None

    @property
    def depth(self) -> int:
        """Targets still to reconcile (waiting, retrying or in progress): not dead, not done."""
        return self.pending + self.running + self.failed


def process_id() -> str:
    """``host:pid`` — who claimed a row; a worker adds its own number."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive_here(owner: str) -> bool | None:
    """Whether the process that claimed a row still runs (None: another host, cannot tell)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EventQueue:
    """The queue over one state store connection (one per worker, one for the HTTP side)."""

    def __init__(self, store: StateStore, policy: QueuePolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.db = store.db
        self.policy = policy or QueuePolicy()
        self.clock = clock

    # -------------------------------------------------------------- accepting
    def accept(self, event: Event) -> bool:
        """Record ``event`` and queue its targets in one transaction; False for a duplicate id
        (nothing queued: the first delivery already was)."""
        now = self.clock()
        with self.db.transaction():
            inserted = self.db.execute(
                "INSERT INTO events(event_id, source, event_type, received, targets, payload) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(event_id) DO NOTHING",
                (event.event_id, event.source, event.event_type, now, json.dumps([str(t) for t in event.targets]),
                 json.dumps(event.payload, sort_keys=True)),
            ).rowcount
            if not inserted:
                return False
            for target in dict.fromkeys(str(t) for t in event.targets):
                self._enqueue(target, event.event_id, now)
        return True

    def _enqueue(self, target: str, event_id: str, now: float) -> None:
        """Queue a target, or fold this event into its queued row (see the module doc)."""
        p = self.policy
        due = now + p.debounce
        self.db.execute(
            f"INSERT INTO work({_WORK_COLUMNS}) VALUES (?, 'pending', ?, ?, ?, 0, 1, 1, 0, ?, '', '', 0, NULL) "
            "ON CONFLICT(target) DO UPDATE SET "
            "generation = work.generation + 1, "
            "events = CASE WHEN work.status IN ('done', 'dead') THEN 1 ELSE work.events + 1 END, "
            "last_event = excluded.last_event, updated = excluded.updated, "
            "enqueued = CASE WHEN work.status IN ('done', 'dead') THEN excluded.enqueued ELSE work.enqueued END, "
            "attempts = CASE WHEN work.status IN ('done', 'dead') THEN 0 ELSE work.attempts END, "
            "due = CASE WHEN work.status IN ('done', 'dead') THEN excluded.due "
            "           WHEN work.status = 'failed' THEN work.due "  # keep the backoff of a failing target
            "           WHEN work.status = 'running' THEN work.due "
            "           WHEN excluded.due < work.enqueued + ? THEN excluded.due ELSE work.enqueued + ? END, "
            "status = CASE WHEN work.status IN ('done', 'dead') THEN 'pending' ELSE work.status END",
            (target, due, now, now, event_id, p.max_delay, p.max_delay),
        )

    # -------------------------------------------------------------- working
    def claim(self, owner: str, limit: int) -> list[WorkItem]:
        """Up to ``limit`` due targets, marked ``running`` for ``owner`` (oldest due first)."""
        now = self.clock()
        with self.db.transaction():
            rows = self.db.execute(
                f"SELECT target FROM work WHERE status IN ('pending', 'failed') AND due <= ? "
                f"ORDER BY due LIMIT ?{self.db.skip_locked}", (now, limit)).fetchall()
            targets = [r[0] for r in rows]
            if not targets:
                return []
            marks = ", ".join("?" * len(targets))
            self.db.execute(
                f"UPDATE work SET status = 'running', claimed_by = ?, claimed_at = ?, updated = ?, "
                f"attempts = attempts + 1, claimed_generation = generation WHERE target IN ({marks})",
                (owner, now, now, *targets))
            claimed = self.db.execute(f"SELECT {_WORK_COLUMNS} FROM work WHERE target IN ({marks})", targets).fetchall()
        return sorted((WorkItem.from_row(r) for r in claimed), key=lambda i: (i.due, i.target))

    def done(self, item: WorkItem, owner: str, run_id: int | None) -> None:
        """The reconcile succeeded: ``done`` — or ``pending`` again if an event came meanwhile."""
        now = self.clock()
        self.db.execute(
            "UPDATE work SET status = CASE WHEN generation = claimed_generation THEN 'done' ELSE 'pending' END, "
            "due = CASE WHEN generation = claimed_generation THEN due ELSE ? END, "
            "enqueued = CASE WHEN generation = claimed_generation THEN enqueued ELSE ? END, "
            "events = CASE WHEN generation = claimed_generation THEN 0 ELSE generation - claimed_generation END, "
            "attempts = 0, last_error = '', claimed_by = '', updated = ?, run_id = ? "
            "WHERE target = ? AND claimed_by = ?",
            (now + self.policy.debounce, now, now, run_id, item.target, owner))

    def fail(self, item: WorkItem, owner: str, error: str, run_id: int | None = None) -> str:
        """The reconcile failed: retry later (``failed``), or a dead letter after the last attempt."""
        now = self.clock()
        status = DEAD if item.attempts >= self.policy.max_attempts else FAILED
        due = now + self.policy.backoff(item.attempts)
        self.db.execute(
            "UPDATE work SET status = ?, due = ?, last_error = ?, claimed_by = '', updated = ?, run_id = ? "
            "WHERE target = ? AND claimed_by = ?",
            (status, due, error[:2000], now, run_id, item.target, owner))
        return status

    def defer(self, item: WorkItem, owner: str, delay: float, reason: str) -> None:
        """Not attempted (the address or apply lock is busy): back to ``pending``, attempt not counted."""
        now = self.clock()
        self.db.execute(
            "UPDATE work SET status = CASE WHEN status = 'running' THEN 'pending' ELSE status END, "
            "due = ?, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, last_error = ?, "
            "claimed_by = '', updated = ? WHERE target = ? AND claimed_by = ?",
            (now + delay, reason[:2000], now, item.target, owner))

    def reap(self, me: str, is_address: Callable[[str], bool]) -> list[str]:
        """Take back rows left ``running`` by a process that is gone; the targets taken back.

        A holder keeps the address lock for as long as it reconciles, so a free lock plus
        a dead process (same host) or an old claim (another host) means nobody works on it.
        """
        now = self.clock()
        rows = self.db.execute("SELECT target, claimed_by, claimed_at FROM work WHERE status = 'running'").fetchall()
        taken = []
        for target, owner, claimed_at in rows:
            if owner.startswith(me + ":") or owner == me:
                continue
            alive = _alive_here(owner)
            old = now - float(claimed_at) > self.policy.reclaim_after
            if alive or (alive is None and not old):
                continue
            if is_address(target) and not self.store.address_free(target):
                continue
            changed = self.db.execute(
                "UPDATE work SET status = 'pending', due = ?, claimed_by = '', updated = ?, "
                "last_error = 'taken back: the process reconciling it stopped' WHERE target = ? AND claimed_by = ? "
                "AND status = 'running'", (now, now, target, owner)).rowcount
            if changed:
                taken.append(str(target))
        return taken

    def release_mine(self, owner: str) -> int:
        """At shutdown: this worker's unfinished rows back to ``pending`` (attempt not counted)."""
        now = self.clock()
        return self.db.execute(
            "UPDATE work SET status = 'pending', due = ?, claimed_by = '', updated = ?, "
            "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
            "WHERE status = 'running' AND claimed_by = ?", (now, now, owner)).rowcount

    # -------------------------------------------------------------- looking
    def next_due(self) -> float | None:
        row = self.db.execute("SELECT MIN(due) FROM work WHERE status IN ('pending', 'failed')").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def stats(self) -> QueueStats:
        counts = dict(self.db.execute("SELECT status, COUNT(*) FROM work GROUP BY status").fetchall())
        row = self.db.execute("SELECT MIN(enqueued) FROM work WHERE status IN ('pending', 'running', 'failed')").fetchone()
        oldest = None if row is None or row[0] is None else max(0.0, self.clock() - float(row[0]))
        return QueueStats(int(counts.get(PENDING, 0)), int(counts.get(RUNNING, 0)), int(counts.get(FAILED, 0)),
                          int(counts.get(DEAD, 0)), oldest)

    def items(self, status: str | None = None, limit: int = 100) -> list[WorkItem]:
        """Queued targets, oldest first (``status``: only those); done ones only when asked for."""
        where, params = ("status = ?", [status]) if status else ("status <> 'done'", [])
        rows = self.db.execute(f"SELECT {_WORK_COLUMNS} FROM work WHERE {where} ORDER BY enqueued, target LIMIT ?",
                               (*params, limit)).fetchall()
        return [WorkItem.from_row(r) for r in rows]

    def item(self, target: str) -> WorkItem | None:
        row = self.db.execute(f"SELECT {_WORK_COLUMNS} FROM work WHERE target = ?", (target,)).fetchone()
        return WorkItem.from_row(row) if row else None

    def event_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    # -------------------------------------------------------------- operator
    def retry(self, target: str) -> bool:
        """A failed or dead target (or the one an event id queued last) due again now, attempts reset."""
        now = self.clock()
        return self.db.execute(
            "UPDATE work SET status = 'pending', due = ?, attempts = 0, updated = ? "
            "WHERE (target = ? OR last_event = ?) AND status IN ('failed', 'dead')", (now, now, target, target)).rowcount > 0

    def retry_dead(self) -> int:
        now = self.clock()
        return int(self.db.execute("UPDATE work SET status = 'pending', due = ?, attempts = 0, updated = ? "
                                   "WHERE status = 'dead'", (now, now)).rowcount)

    def prune(self) -> int:
        """Forget accepted events older than ``keep_events`` and done work as old: the event log
        is for looking back, not a second copy of anything; dead letters stay until retried."""
        cutoff = self.clock() - self.policy.keep_events
        with self.db.transaction():
            events = self.db.execute("DELETE FROM events WHERE received < ?", (cutoff,)).rowcount
            self.db.execute("DELETE FROM work WHERE status = 'done' AND updated < ?", (cutoff,))
        return int(events)
