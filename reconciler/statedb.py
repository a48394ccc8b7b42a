"""The SQL engines under the state store: SQLite (embedded, the default) and PostgreSQL.

The state store (run log, lock records, watermarks, the webhook queue) speaks one small
SQL dialect — ``?`` placeholders, ``ON CONFLICT … DO UPDATE``, ``RETURNING`` — and this
module makes each engine accept it, so ``state.py`` and ``queue.py`` hold every query
once. What differs is said here and nowhere else: how a connection opens, how a write
transaction begins, how the schema is created and migrated, and how a lock that dies
with its holder is taken (an ``flock`` on a file beside the SQLite database; a
session-level advisory lock in PostgreSQL, which the server drops when the holder's
connection ends, however it ends).

Why PostgreSQL at all: several ``mzi serve`` processes on several machines can share one
queue and one apply lock only through a database server; SQLite is one file on one disk.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import sqlite3
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from .errors import StateError

#: tables of the state store, in the shared dialect; ``{serial}`` and ``{real}`` differ per engine
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id {serial} PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    command TEXT NOT NULL,
    targets TEXT NOT NULL,
    summary TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS run_results (
    {result_seq}
    run_id INTEGER NOT NULL REFERENCES runs(id),
    address TEXT NOT NULL,
    action TEXT NOT NULL,
    ok INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_results_address ON run_results(address);
CREATE INDEX IF NOT EXISTS run_results_run ON run_results(run_id);
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
CREATE TABLE IF NOT EXISTS field_metadata (
    module TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    event_type TEXT NOT NULL,
    received {real} NOT NULL,
    targets TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_received ON events(received);
CREATE TABLE IF NOT EXISTS work (
    target TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    due {real} NOT NULL,
    enqueued {real} NOT NULL,
    updated {real} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 0,
    claimed_generation INTEGER NOT NULL DEFAULT 0,
    last_event TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    claimed_by TEXT NOT NULL DEFAULT '',
    claimed_at {real} NOT NULL DEFAULT 0,
    run_id INTEGER
);
CREATE INDEX IF NOT EXISTS work_status_due ON work(status, due);
"""

#: columns added to ``runs`` after the first release, for stores created before them
ADDED_RUN_COLUMNS = {"status": "TEXT NOT NULL DEFAULT ''", "host": "TEXT NOT NULL DEFAULT ''",
                     "pid": "INTEGER NOT NULL DEFAULT 0"}

#: address locks of the SQLite store are this many files (``locks/NNNN.lock``): an address
#: shares its file with 1/1024 of the others, which at worst makes one of them wait a turn
ADDRESS_LOCK_STRIPES = 1024


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """One connection to the state store's database, in the shared dialect."""

    dialect: str
    location: str
    #: the expression that orders run results as they were written
    result_order: str
    #: what a claim query appends to lock the rows it picks (PostgreSQL: ``FOR UPDATE SKIP LOCKED``)
    skip_locked: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> Any: ...

    def insert_id(self, sql: str, params: Sequence[Any]) -> int: ...

    def close(self) -> None: ...

    def try_lock(self, name: str, shared: bool = False) -> Any: ...

    def unlock(self, token: Any) -> None: ...


# ---------------------------------------------------------------------- SQLite

class SqliteDatabase:
    """The embedded default: one file, WAL, every write in a ``BEGIN IMMEDIATE`` transaction.

    WAL with ``synchronous=NORMAL`` keeps every committed transaction through a crash of
    the process (``kill -9``); only a power loss may drop the last ones.
    """

    dialect = "sqlite"
    result_order = "rowid"
    skip_locked = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA.format(serial="INTEGER", real="REAL", result_seq=""))
        self._migrate()

    def _migrate(self) -> None:
        with self.transaction():
            have = {row[1] for row in self.conn.execute("PRAGMA table_info(runs)")}
            for name, ddl in ADDED_RUN_COLUMNS.items():
                if name not in have:
                    self.conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {ddl}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.conn.execute(sql, tuple(params)).lastrowid or 0)

    def close(self) -> None:
        self.conn.close()

    # -------------------------------------------------------------- locks (flock)
    def lock_file(self, name: str) -> IO[bytes]:
        """The file whose flock is the lock ``name``: ``<dir>/<name>.lock`` for a named lock,
        one of :data:`ADDRESS_LOCK_STRIPES` files under ``<dir>/locks/`` for an address."""
        if name.startswith("address:"):
            stripe = zlib.crc32(name.encode()) % ADDRESS_LOCK_STRIPES
            folder = self.path.parent / "locks"
            target = folder / f"{stripe:04d}.lock"
        else:
            folder = self.path.parent
            target = folder / f"{name}.lock"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return open(target, "ab")  # kept open for as long as the lock is held
        except OSError as exc:
            raise StateError(f"cannot open the lock file in {folder}: {exc.strerror}") from exc

    def try_lock(self, name: str, shared: bool = False, handle: IO[bytes] | None = None,
                 attempts: int = 3) -> IO[bytes] | None:
        """The open file holding the flock, or None when someone else holds it.

        A few short tries, so a plan that looks at the lock for a moment (to find dead
        runs) never fails an apply that starts.
        """
        handle = handle if handle is not None else self.lock_file(name)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        for attempt in range(attempts):
            try:
                fcntl.flock(handle, mode)
                return handle
            except BlockingIOError:
                if attempt + 1 < attempts:
                    time.sleep(0.05)
        handle.close()
        return None

    def unlock(self, token: Any) -> None:
        try:
            fcntl.flock(token, fcntl.LOCK_UN)
        finally:
            token.close()


# ---------------------------------------------------------------------- PostgreSQL

_PLACEHOLDER = re.compile(r"\?")


def _pg_sql(sql: str) -> str:
    """The shared dialect in psycopg's paramstyle: ``%`` doubled, ``?`` → ``%s``."""
    return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))


def _lock_key(namespace: str, name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` within this store's schema."""
    digest = hashlib.sha256(f"mzi:{namespace}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def redact_url(url: str) -> str:
    """A database URL fit for a message: any password replaced by ``***``."""
    return re.sub(r"(://[^/:@]+:)[^@/]*@", r"\1***@", url)


class PostgresDatabase:
    """A PostgreSQL schema as the state store: the queue is claimed with ``FOR UPDATE SKIP
    LOCKED``, locks are session advisory locks (shared for targeted applies, exclusive for
    a full apply; one per address), released by the server when the connection drops."""

    dialect = "postgresql"
    result_order = "seq"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise StateError("state_url names PostgreSQL but psycopg is not installed: pip install 'psycopg[binary]'") from exc
        self.location = redact_url(url)
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StateError(f"cannot connect to the state store {self.location}: {str(exc).strip()}") from exc
        row: Any = self.conn.execute("SELECT current_database() || '.' || current_schema()").fetchone()
        self.namespace = str(row[0])
        self._migrate()

    def _migrate(self) -> None:
        """Create or complete the schema; safe to run again and from several processes at
        once (a transaction-scoped advisory lock serialises concurrent migrations)."""
        ddl = SCHEMA.format(serial="BIGSERIAL", real="DOUBLE PRECISION", result_seq="seq BIGSERIAL,")
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(self.namespace, "migrate"),))
            for statement in (s.strip() for s in ddl.split(";")):
                if statement:
                    self.conn.execute(statement)
            for name, column in ADDED_RUN_COLUMNS.items():
                self.conn.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {name} {column}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Any = self.conn.execute(_pg_sql(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_pg_sql(sql), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        row = self.execute(sql + " RETURNING id", params).fetchone()
        return int(row[0])

    def close(self) -> None:
        self.conn.close()

    def try_lock(self, name: str, shared: bool = False) -> tuple[int, bool] | None:
        key = _lock_key(self.namespace, name)
        function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        row: Any = self.conn.execute(f"SELECT {function}(%s)", (key,)).fetchone()
        taken = bool(row[0])
        return (key, shared) if taken else None

    def unlock(self, token: Any) -> None:
        key, shared = token
        function = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
        self.conn.execute(f"SELECT {function}(%s)", (key,))


def open_database(location: Path | str) -> SqliteDatabase | PostgresDatabase:
    """The state store's database: a path (SQLite) or a ``postgresql://`` URL."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(text)
    try:
        return SqliteDatabase(Path(location))
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"cannot open the state store {location}: {exc}") from exc
