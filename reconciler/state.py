"""The state store: run log, apply lock, read watermarks — SQLite under ``state/``.

Like ``terraform.tfstate``, but mzi keeps no copy of either system's data: both are
read fresh every run (level-triggered). What it keeps is operational: what ran, what it
did per address, who holds the apply lock, and how far incremental reads have got.

Each run is written in one transaction when it finishes, so a run that dies (an
unreachable backend, Ctrl-C) leaves nothing half-written. The apply lock is an ``flock``
the kernel drops when its holder dies, so a crash never wedges the next apply; a row
records who holds it, for the message a second apply prints.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from .errors import LockHeld, StateError
from .model import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    command TEXT NOT NULL,
    targets TEXT NOT NULL,
    summary TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS run_results (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    ok INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_results_address ON run_results(address);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    kind TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Run:
    id: int
    started: str
    finished: str
    command: str
    targets: list[str]
    summary: dict[str, Any]
    ok: bool
    error: str


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=10, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state store {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------ lock
    @contextmanager
    def lock(self, name: str = "apply", holder: str = "mzi apply") -> Iterator[None]:
        """Hold the named lock for the duration; a second holder fails fast, naming the first.

        The lock itself is an ``flock`` on ``<state>/<name>.lock``: the kernel releases it
        when the holder dies however it dies (SIGKILL, OOM, a container torn down), so a
        crash never wedges the next apply. The row in ``locks`` only says who holds it.
        """
        handle = self._lock_file(name)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise LockHeld(self._held_message(name)) from None
        me = (socket.gethostname(), os.getpid())
        try:
            with self._transaction() as db:
                db.execute("INSERT OR REPLACE INTO locks(name, holder, host, pid, acquired) VALUES (?, ?, ?, ?, ?)",
                           (name, holder, me[0], me[1], _now()))
            yield
        finally:
            self._db.execute("DELETE FROM locks WHERE name = ? AND host = ? AND pid = ?", (name, *me))
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def _lock_file(self, name: str) -> IO[bytes]:
        try:
            return open(self.path.parent / f"{name}.lock", "ab")  # kept open for as long as the lock is held
        except OSError as exc:
            raise StateError(f"cannot open the lock file in {self.path.parent}: {exc.strerror}") from exc

    def _held_message(self, name: str) -> str:
        row = self._db.execute("SELECT holder, host, pid, acquired FROM locks WHERE name = ?", (name,)).fetchone()
        who = f"another {row[0]} (pid {row[2]} on {row[1]}, since {row[3]})" if row else "another mzi process"
        return f"{who} holds the {name} lock; wait for it to finish (the lock is released when that process ends)."

    def force_unlock(self, name: str = "apply") -> bool:
        return self._db.execute("DELETE FROM locks WHERE name = ?", (name,)).rowcount > 0

    # ------------------------------------------------------------------ runs
    def record_run(self, command: str, started: str, targets: list[str], summary: dict[str, Any],
                   results: list[Result], ok: bool, error: str = "") -> int:
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO runs(started, finished, command, targets, summary, ok, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (started, _now(), command, json.dumps(targets), json.dumps(summary), int(ok), error),
            )
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO run_results(run_id, address, action, ok, status, error) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, str(r.address), r.action.verb, int(r.ok), r.status, r.error) for r in results],
            )
        return run_id

    def runs(self, limit: int = 20) -> list[Run]:
        rows = self._db.execute(
            "SELECT id, started, finished, command, targets, summary, ok, error FROM runs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [Run(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), bool(r[6]), r[7]) for r in rows]

    def results(self, run_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT address, action, ok, status, error FROM run_results WHERE run_id = ? ORDER BY rowid", (run_id,)
        ).fetchall()
        return [{"address": a, "action": b, "ok": bool(c), "status": d, "error": e} for a, b, c, d, e in rows]

    # ------------------------------------------------------------ watermarks
    def get_watermark(self, kind: str) -> datetime | None:
        row = self._db.execute("SELECT at FROM watermarks WHERE kind = ?", (kind,)).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def watermarks(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT kind, at FROM watermarks").fetchall())

    def restore_watermarks(self, snapshot: dict[str, str]) -> None:
        """Put the watermarks back as they were: reads of a plan, or of a failed apply,
        must not move the point incremental reads start from."""
        with self._transaction() as db:
            db.execute("DELETE FROM watermarks")
            db.executemany("INSERT INTO watermarks(kind, at) VALUES (?, ?)", sorted(snapshot.items()))

    def set_watermark(self, kind: str, when: datetime) -> None:
        self._db.execute("INSERT INTO watermarks(kind, at) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET at = excluded.at",
                         (kind, when.isoformat()))

    # -------------------------------------------------------- field metadata
    # Kept apart from SCHEMA and created on first use, so the cache stays one self-contained block.
    _FIELD_METADATA = """CREATE TABLE IF NOT EXISTS field_metadata (
        module TEXT PRIMARY KEY,
        fetched_at TEXT NOT NULL,
        body TEXT NOT NULL
    )"""

    def field_metadata(self, module: str) -> tuple[datetime, list[dict[str, Any]]] | None:
        """Zoho's field metadata of ``module`` as last fetched, and when; ``None`` if never."""
        self._db.execute(self._FIELD_METADATA)
        row = self._db.execute("SELECT fetched_at, body FROM field_metadata WHERE module = ?", (module,)).fetchone()
        return (datetime.fromisoformat(row[0]), json.loads(row[1])) if row else None

    def set_field_metadata(self, module: str, fields: list[dict[str, Any]], fetched_at: datetime) -> None:
        self._db.execute(self._FIELD_METADATA)
        self._db.execute("INSERT INTO field_metadata(module, fetched_at, body) VALUES (?, ?, ?) "
                         "ON CONFLICT(module) DO UPDATE SET fetched_at = excluded.fetched_at, body = excluded.body",
                         (module, fetched_at.isoformat(), json.dumps(fields, sort_keys=True)))

    def clear_watermarks(self) -> None:
        """Forget every watermark: the next read is a full one (after `mzi sandbox reset`,
        the new school's data has nothing to do with where the old one's reads got to)."""
        self._db.execute("DELETE FROM watermarks")
