"""The state store: run log, apply lock, read watermarks, the webhook queue.

SQLite under ``state/`` by default, or a PostgreSQL schema (``state_url``) when several
``mzi serve`` processes share one queue; ``statedb.py`` hides the difference.

Like ``terraform.tfstate``, but mzi keeps no copy of either system's data: both are
read fresh every run (level-triggered). What it keeps is operational: what ran, what it
did per address, who holds the apply lock, and how far incremental reads have got.

The run log of an apply is written ahead: the run is recorded (status ``running``, with
its targets and plan summary) before the first write, each batch's Results are appended
the moment the batch is answered, and the run is finished ``ok``, ``failed`` or
``interrupted`` at the end. A run killed outright (``kill -9``, a power cut) stays
``running``; since an apply holds the apply lock for as long as it runs, a ``running`` run
while the lock is free belongs to a dead process — :meth:`StateStore.reap_interrupted`
marks it ``interrupted``, and its results say exactly which writes landed. A plan is
recorded in one go (it writes nothing).

The apply lock dies with its holder (an ``flock`` the kernel drops; a PostgreSQL advisory
lock the server drops with the connection), so a crash never wedges the next apply; a row
records who holds it, for the message a second apply prints. A full apply takes it
exclusively; a targeted apply (``--target``, the webhook worker) takes it shared plus one
lock per address, so webhooks for different records reconcile side by side but never
during a full apply, and never two at once for one address.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .errors import LockHeld, StateError
from .model import Address, Result
from .statedb import Database, SqliteDatabase, open_database

RUNNING, OK, FAILED, INTERRUPTED = "running", "ok", "failed", "interrupted"
_RUN_COLUMNS = ("id, started, finished, command, targets, summary, ok, error, status, "
                "(SELECT COUNT(*) FROM run_results r WHERE r.run_id = runs.id AND r.ok = 1)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Run:
    """One plan or apply in the run log; ``writes`` counts the records it wrote."""

    id: int
    started: str
    finished: str
    command: str
    targets: list[str]
    summary: dict[str, Any]
    ok: bool
    error: str
    status: str = OK  # running | ok | failed | interrupted
    writes: int = 0

    @property
    def kind(self) -> str:
        """What started it: full, changed-only, target, saved-plan or webhook. Kept in the
        summary by the use cases (no column: any store has it); runs logged before that
        are told apart by their targets."""
        kind = self.summary.get("run_kind")
        return str(kind) if kind else "target" if self.targets else "full"

    @property
    def seconds(self) -> float | None:
        """How long it took; None while running (or for a run that never finished)."""
        try:
            return (datetime.fromisoformat(self.finished) - datetime.fromisoformat(self.started)).total_seconds()
        except ValueError:
            return None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> "Run":
        status = row[8] or (OK if row[6] else FAILED)  # rows from before the status column
        return cls(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), bool(row[6]), row[7],
                   status, int(row[9]))


def address_lock_name(address: Address | str) -> str:
    return f"address:{address}"


class StateStore:
    def __init__(self, location: Path | str) -> None:
        """Open (creating or migrating) the store at a path (SQLite) or a ``postgresql://`` URL."""
        self.db: Database = open_database(location)
        self.path = location if isinstance(location, Path) else Path(str(location))
        self.location = self.db.location

    def close(self) -> None:
        self.db.close()

    def _transaction(self) -> Any:
        return self.db.transaction()

    def ping(self) -> None:
        """Raise :class:`StateError` unless the database answers (``mzi serve``'s readiness)."""
        try:
            self.db.execute("SELECT 1").fetchone()
        except Exception as exc:  # noqa: BLE001 - any driver failure means "not ready"; it is reported, not hidden
            raise StateError(f"the state store {self.location} does not answer: {exc}") from exc

    # ------------------------------------------------------------------ lock
    @contextmanager
    def lock(self, name: str = "apply", holder: str = "mzi apply", *, shared: bool = False) -> Iterator[None]:
        """Hold the named lock for the duration; a second holder fails fast, naming the first.

        Exclusive by default (a full apply); ``shared`` lets several targeted applies hold it
        at once while still keeping any exclusive holder out. The lock dies with its holder
        however it dies (SIGKILL, OOM, a container torn down), so a crash never wedges the
        next apply. The row in ``locks`` only says who holds it exclusively.
        """
        token = self._take(name, shared)
        if token is None:
            raise LockHeld(self._held_message(name, shared))
        me = (socket.gethostname(), os.getpid())
        # release in layers, so a failing DELETE still unlocks and closes the file
        with ExitStack() as release:
            release.callback(self.db.unlock, token)
            if not shared:
                release.callback(self._forget_holder, name, *me)
                with self._transaction():
                    self.db.execute("INSERT INTO locks(name, holder, host, pid, acquired) VALUES (?, ?, ?, ?, ?) "
                                    "ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, host = excluded.host, "
                                    "pid = excluded.pid, acquired = excluded.acquired",
                                    (name, holder, me[0], me[1], _now()))
            yield

    def _take(self, name: str, shared: bool = False, attempts: int = 3) -> Any:
        if isinstance(self.db, SqliteDatabase):
            return self.db.try_lock(name, shared, handle=self._lock_file(name), attempts=attempts)
        return self.db.try_lock(name, shared)

    @contextmanager
    def address_locks(self, addresses: Sequence[Address]) -> Iterator[None]:
        """Hold one lock per address (in a stable order, so two holders never deadlock);
        fail fast with :class:`LockHeld` when another process is reconciling one of them."""
        with ExitStack() as release:
            for address in sorted(set(addresses)):
                token = self._take(address_lock_name(address), attempts=1)
                if token is None:
                    raise LockHeld(f"{address} is being reconciled by another mzi process (mzi serve, or an apply "
                                   "--target); try again in a moment")
                release.callback(self.db.unlock, token)
            yield

    def _forget_holder(self, name: str, host: str, pid: int) -> None:
        try:
            self.db.execute("DELETE FROM locks WHERE name = ? AND host = ? AND pid = ?", (name, host, pid))
        except (sqlite3.Error, StateError, OSError) as exc:
            raise StateError(f"the {name} lock is released, but its record could not be cleared ({exc}); "
                             "it is harmless, and `mzi state unlock` removes it") from exc
        except Exception as exc:  # noqa: BLE001 - the PostgreSQL driver's errors, named the same way
            if type(exc).__module__.startswith("psycopg"):
                raise StateError(f"the {name} lock is released, but its record could not be cleared ({exc}); "
                                 "it is harmless, and `mzi state unlock` removes it") from exc
            raise

    def lock_free(self, name: str = "apply") -> bool:
        """Whether nobody holds the named lock right now (taken and dropped at once to find out)."""
        token = self._take(name, attempts=1)
        if token is None:
            return False
        self.db.unlock(token)
        return True

    def address_free(self, address: Address | str) -> bool:
        """Whether no process holds the lock of ``address`` (taken and dropped at once)."""
        return self.lock_free(address_lock_name(address))

    def _lock_file(self, name: str) -> IO[bytes]:
        assert isinstance(self.db, SqliteDatabase)
        return self.db.lock_file(name)

    def _held_message(self, name: str, shared: bool = False) -> str:
        row = self.db.execute("SELECT holder, host, pid, acquired FROM locks WHERE name = ?", (name,)).fetchone()
        if row:
            who = f"another {row[0]} (pid {row[2]} on {row[1]}, since {row[3]})"
        elif not shared and name == "apply":
            who = "mzi serve (or an apply --target) reconciling single records"
        else:
            who = "another mzi process"
        return f"{who} holds the {name} lock; wait for it to finish (the lock is released when that process ends)."

    def force_unlock(self, name: str = "apply") -> bool:
        return self.db.execute("DELETE FROM locks WHERE name = ?", (name,)).rowcount > 0

    # ------------------------------------------------------------------ runs
    def begin_run(self, command: str, started: str, targets: list[str], summary: dict[str, Any]) -> int:
        """Record a run as ``running`` before it writes anything; its id for what follows."""
        with self._transaction():
            return self.db.insert_id(
                "INSERT INTO runs(started, finished, command, targets, summary, ok, error, status, host, pid) "
                "VALUES (?, '', ?, ?, ?, 0, '', ?, ?, ?)",
                (started, command, json.dumps(targets), json.dumps(summary), RUNNING, socket.gethostname(), os.getpid()),
            )

    def record_results(self, run_id: int, results: Sequence[Result]) -> None:
        """Append Results to a run — called per batch, as each one lands."""
        if not results:
            return
        with self._transaction():
            db = self.db
            db.executemany(
                "INSERT INTO run_results(run_id, address, action, ok, status, error) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, str(r.address), r.action.verb, int(r.ok), r.status, r.error) for r in results],
            )

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any] | None = None, error: str = "") -> None:
        with self._transaction():
            db = self.db
            db.execute("UPDATE runs SET finished = ?, status = ?, ok = ?, error = ? WHERE id = ?",
                       (_now(), status, int(status == OK), error, run_id))
            if summary is not None:
                db.execute("UPDATE runs SET summary = ? WHERE id = ?", (json.dumps(summary), run_id))

    def amend_summary(self, run_id: int, extra: dict[str, Any]) -> None:
        """Merge ``extra`` into a finished run's summary: what happened after it was recorded
        (the status report to Moodle, and the API call that cost)."""
        with self._transaction():
            db = self.db
            row = db.execute("SELECT summary FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE runs SET summary = ? WHERE id = ?", (json.dumps(json.loads(row[0]) | extra), run_id))

    def record_run(self, command: str, started: str, targets: list[str], summary: dict[str, Any],
                   results: list[Result], ok: bool, error: str = "") -> int:
        """Record a whole run at once (a plan, or an apply with nothing to do)."""
        run_id = self.begin_run(command, started, targets, summary)
        self.record_results(run_id, results)
        self.finish_run(run_id, OK if ok else FAILED, error=error)
        return run_id

    def runs(self, limit: int = 20, *, since: datetime | None = None, failed: bool = False) -> list[Run]:
        """Recent runs, newest first; a ``running`` run whose apply is dead shows as interrupted.

        ``since``: only runs started at or after it; ``failed``: only runs that did not end ``ok``
        (failed, interrupted, or still running).
        """
        where, args = [], []
        if since is not None:
            where.append("started >= ?")
            args.append(since.astimezone(timezone.utc).isoformat(timespec="seconds"))
        if failed:
            where.append("NOT (status = ? OR (status = '' AND ok = 1))")
            args.append(OK)
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self.db.execute(f"SELECT {_RUN_COLUMNS} FROM runs {clause}ORDER BY id DESC LIMIT ?",
                                (*args, limit)).fetchall()
        return self._with_dead_marked([Run.from_row(r) for r in rows])

    def run(self, run_id: int) -> Run | None:
        """One run by id (``mzi state show``), or None."""
        row = self.db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return self._with_dead_marked([Run.from_row(row)])[0] if row is not None else None

    def _with_dead_marked(self, runs: list[Run]) -> list[Run]:
        dead = {r.id for r in self._dead_runs()} if any(r.status == RUNNING for r in runs) else set()
        return [replace(r, status=INTERRUPTED) if r.id in dead else r for r in runs]

    def _dead_runs(self, lock: str = "apply") -> list[Run]:
        """``running`` runs whose process is gone.

        An apply holds the lock from before it records its run until after it finishes
        it. So a run seen ``running`` *before* the lock is found free has lost its process
        (a run begun after the look is not in the list).
        """
        rows = self.db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = ? ORDER BY id", (RUNNING,)).fetchall()
        if not rows or not self.lock_free(lock):
            return []
        return [Run.from_row(r) for r in rows]

    def reap_interrupted(self, lock: str = "apply") -> list[Run]:
        """Mark the runs of dead applies ``interrupted``, once; the ones marked now.

        The caller tells the operator (the warning is printed once, by whoever reaps).
        """
        reaped = []
        for run in self._dead_runs(lock):
            with self._transaction():
                db = self.db
                changed = db.execute(
                    "UPDATE runs SET status = ?, error = ? WHERE id = ? AND status = ?",
                    (INTERRUPTED, "the apply ended without finishing its run (killed, or its machine stopped)",
                     run.id, RUNNING),
                ).rowcount
            if changed:
                reaped.append(replace(run, status=INTERRUPTED))
        return reaped

    def results(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            f"SELECT address, action, ok, status, error FROM run_results WHERE run_id = ? ORDER BY {self.db.result_order}",
            (run_id,)
        ).fetchall()
        return [{"address": a, "action": b, "ok": bool(c), "status": d, "error": e} for a, b, c, d, e in rows]

    # ------------------------------------------------------------ watermarks
    def get_watermark(self, kind: str) -> datetime | None:
        row = self.db.execute("SELECT at FROM watermarks WHERE kind = ?", (kind,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def watermarks(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT kind, at FROM watermarks").fetchall())

    def restore_watermarks(self, snapshot: dict[str, str]) -> None:
        """Put the watermarks back as they were: reads of a plan, or of a failed apply,
        must not move the point incremental reads start from."""
        with self._transaction():
            db = self.db
            db.execute("DELETE FROM watermarks")
            db.executemany("INSERT INTO watermarks(kind, at) VALUES (?, ?)", sorted(snapshot.items()))

    def set_watermark(self, kind: str, when: datetime) -> None:
        self.db.execute("INSERT INTO watermarks(kind, at) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET at = excluded.at",
                         (kind, when.isoformat()))

    # -------------------------------------------------------- field metadata
    def field_metadata(self, module: str) -> tuple[datetime, list[dict[str, Any]]] | None:
        """Zoho's field metadata of ``module`` as last fetched, and when; ``None`` if never."""
        row = self.db.execute("SELECT fetched_at, body FROM field_metadata WHERE module = ?", (module,)).fetchone()
        return (datetime.fromisoformat(row[0]), json.loads(row[1])) if row else None

    def set_field_metadata(self, module: str, fields: list[dict[str, Any]], fetched_at: datetime) -> None:
        self.db.execute("INSERT INTO field_metadata(module, fetched_at, body) VALUES (?, ?, ?) "
                         "ON CONFLICT(module) DO UPDATE SET fetched_at = excluded.fetched_at, body = excluded.body",
                         (module, fetched_at.isoformat(), json.dumps(fields, sort_keys=True)))

    def clear_watermarks(self) -> None:
        """Forget every watermark: the next read is a full one (after `mzi sandbox reset`,
        the new school's data has nothing to do with where the old one's reads got to)."""
        self.db.execute("DELETE FROM watermarks")
