"""The Zoho emulator's persistence: one SQLite file (``zoho.sqlite``) per sandbox.

Why SQLite and not memory: the sandbox must behave across separate ``mzi`` commands
(``plan``, then ``apply``, then ``plan``), and tests and the run report count the calls
a command made — so records, the deleted list, channels, tokens, faults and the API log
all live in the file.

Record data is stored as the API returns it (lookups as ``{"id", "name"}``, subform rows
with ``id``); ``created_ts``/``modified_ts`` duplicate the two datetimes as unix seconds
for sorting and ``If-Modified-Since``. The store knows nothing about HTTP; ``writes.py``
holds Zoho's write semantics and ``app.py`` the protocol.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .faults import NO_FAULTS, Faults

#: the org's time zone (Jordan, UTC+03:00): every datetime the emulator writes uses it
ORG_ZONE = timezone(timedelta(hours=3))
#: the prefix of every id of the sandbox org; ids are 19 digits like Zoho's
ID_PREFIX = "5847596"
#: the user every record is owned, created and modified by
SYSTEM_USER = {"name": "ABC Horizon Admin", "id": "5847596000000012001", "email": "admin@abchorizon.edu.jo"}

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS records (
        module TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
        created_time TEXT NOT NULL, modified_time TEXT NOT NULL,
        created_ts REAL NOT NULL, modified_ts REAL NOT NULL, PRIMARY KEY (module, id))""",
    "CREATE INDEX IF NOT EXISTS records_modified ON records (module, modified_ts, id)",
    "CREATE INDEX IF NOT EXISTS records_created ON records (module, created_ts, id)",
    """CREATE TABLE IF NOT EXISTS deleted (
        module TEXT NOT NULL, id TEXT NOT NULL, display_name TEXT, deleted_time TEXT NOT NULL,
        deleted_ts REAL NOT NULL, type TEXT NOT NULL CHECK (type IN ('recycle', 'permanent')),
        deleted_by TEXT NOT NULL, created_by TEXT NOT NULL, data TEXT, PRIMARY KEY (module, id))""",
    """CREATE TABLE IF NOT EXISTS channels (
        channel_id TEXT PRIMARY KEY, data TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS notifications (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, channel_id TEXT NOT NULL, payload TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS tokens (
        token TEXT PRIMARY KEY, issued_at REAL NOT NULL, expires_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS api_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, method TEXT NOT NULL,
        path TEXT NOT NULL, status INTEGER NOT NULL, credits INTEGER NOT NULL, is_write INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
)


# ------------------------------------------------------------------ time

def zoho_time(ts: float) -> str:
    """Unix seconds → Zoho's datetime spelling (``2026-09-01T10:30:00+03:00``)."""
    return datetime.fromtimestamp(int(ts), ORG_ZONE).isoformat()


def parse_time(text: str) -> float:
    """A Zoho datetime (with zone; ``Z`` accepted) → unix seconds; ValueError if not one."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no zone offset")
    return moment.timestamp()


def format_id(number: int) -> str:
    """A sequence number → a 19-digit Zoho-like id (``5847596000000100001``)."""
    return f"{ID_PREFIX}{number:012d}"


# ------------------------------------------------------------------ the store

class ZohoStore:
    """All state of one emulated Zoho org, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        for statement in SCHEMA:
            self.conn.execute(statement)

    def close(self) -> None:
        self.conn.close()

    def transaction(self) -> "_Transaction":
        return _Transaction(self.conn)

    # -------------------------------------------------------------- settings

    def setting(self, name: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else default

    def set_setting(self, name: str, value: str) -> None:
        self.conn.execute("INSERT INTO settings (name, value) VALUES (?, ?) "
                          "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))

    def next_counter(self, name: str, start: int = 1) -> int:
        """Atomically take the next number of a named counter (ids, autonumbers, requests)."""
        row = self.conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value",
            (f"counter:{name}", str(start))).fetchone()
        return int(row[0])

    def injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (``count_injected``): what a test reports."""
        rows = self.conn.execute("SELECT name, value FROM settings WHERE name LIKE 'counter:injected:%'").fetchall()
        return {str(name).removeprefix("counter:injected:"): int(value) for name, value in rows}

    def count_injected(self, kind: str) -> None:
        self.next_counter(f"injected:{kind}")

    def new_id(self) -> str:
        """A fresh record id, above every id the demo school used."""
        return format_id(self.next_counter("id", start=900_000_001))

    # -------------------------------------------------------------- clock

    def now(self) -> float:
        """The emulator's clock: real time, but never behind the newest record.

        The demo school is dated from a fixed base date; should the machine's clock be
        earlier, an edit must still look newer than everything before it, or
        ``If-Modified-Since`` reads would miss it.
        """
        row = self.conn.execute("SELECT MAX(modified_ts) FROM records").fetchone()
        newest = row[0] or 0.0
        return float(max(int(time.time()), int(newest) + 1))

    # -------------------------------------------------------------- faults

    def faults(self) -> Faults:
        text = self.setting("faults")
        return Faults.from_json(text) if text else NO_FAULTS

    def set_faults(self, faults: Faults) -> None:
        """Persist faults; ``expire_tokens`` takes effect for tokens issued up to now."""
        self.set_setting("faults", faults.to_json())
        if faults.expire_tokens:
            self.expire_tokens()

    # -------------------------------------------------------------- tokens

    def issue_token(self, lifetime: int) -> str:
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        now = time.time()
        self.conn.execute("INSERT INTO tokens (token, issued_at, expires_at) VALUES (?, ?, ?)", (token, now, now + lifetime))
        return token

    def token_valid(self, token: str) -> bool:
        row = self.conn.execute("SELECT expires_at FROM tokens WHERE token = ?", (token,)).fetchone()
        return bool(row) and float(row[0]) > time.time()

    def expire_tokens(self, issued_before: float | None = None) -> None:
        """Every access token issued so far (or before ``issued_before``) stops working."""
        if issued_before is None:
            self.conn.execute("UPDATE tokens SET expires_at = 0")
        else:
            self.conn.execute("UPDATE tokens SET expires_at = 0 WHERE issued_at < ?", (issued_before,))

    # -------------------------------------------------------------- records

    def load(self, module: str, records: Iterable[dict[str, Any]]) -> None:
        """Bulk-insert records as the generator made them (ids and times included)."""
        rows = []
        for record in records:
            created, modified = record["Created_Time"], record["Modified_Time"]
            rows.append((module, str(record["id"]), json.dumps(record, ensure_ascii=False, sort_keys=True),
                         created, modified, parse_time(created), parse_time(modified)))
        self.conn.executemany(
            "INSERT OR REPLACE INTO records (module, id, data, created_time, modified_time, created_ts, modified_ts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def save(self, module: str, record: dict[str, Any]) -> None:
        """Write one record back (after an insert or update made it)."""
        self.load(module, [record])

    def get(self, module: str, record_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM records WHERE module = ? AND id = ?", (module, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, module: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for row in self.conn.execute(f"SELECT id, data FROM records WHERE module = ? AND id IN ({marks})", (module, *chunk)):
                found[row[0]] = json.loads(row[1])
        return found

    def names(self, module: str, ids: Sequence[str], name_field: str) -> dict[str, str]:
        """The current record name of each id that exists (what a lookup shows)."""
        return {rid: str(data.get(name_field) or "") for rid, data in self.get_many(module, ids).items()}

    def find_by(self, module: str, api_name: str, value: Any) -> dict[str, Any] | None:
        """The first record whose field equals ``value`` (duplicate checks)."""
        row = self.conn.execute(
            "SELECT data FROM records WHERE module = ? AND json_extract(data, '$.' || ?) = ? ORDER BY id LIMIT 1",
            (module, api_name, value)).fetchone()
        return json.loads(row[0]) if row else None

    def _where(self, module: str, ids: Sequence[str] | None, since: float | None) -> tuple[str, list[Any]]:
        clauses: list[str] = ["module = ?"]
        params: list[Any] = [module]
        if ids is not None:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if since is not None:
            clauses.append("modified_ts > ?")
            params.append(since)
        return " AND ".join(clauses), params

    def count(self, module: str, *, ids: Sequence[str] | None = None, since: float | None = None) -> int:
        where, params = self._where(module, ids, since)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM records WHERE {where}", params).fetchone()[0])

    def query(self, module: str, *, ids: Sequence[str] | None = None, since: float | None = None,
              sort_by: str = "id", descending: bool = False, offset: int = 0, limit: int = 200) -> list[dict[str, Any]]:
        """One page of records in a stable order (ties broken by id)."""
        column = {"id": "id", "Created_Time": "created_ts", "Modified_Time": "modified_ts"}[sort_by]
        direction = "DESC" if descending else "ASC"
        where, params = self._where(module, ids, since)
        sql = (f"SELECT data FROM records WHERE {where} ORDER BY {column} {direction}, id {direction} "
               "LIMIT ? OFFSET ?")
        return [json.loads(row[0]) for row in self.conn.execute(sql, (*params, limit, offset))]

    def all_records(self, module: str) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.conn.execute("SELECT data FROM records WHERE module = ? ORDER BY id", (module,))]

    def modules_with_records(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.conn.execute("SELECT module, COUNT(*) FROM records GROUP BY module")}

    # -------------------------------------------------------------- deleted

    def remove(self, module: str, record_id: str, *, display_name: str | None, kind: str = "recycle",
               when: float | None = None) -> None:
        """Move a record to the deleted list (``recycle``) or erase it (``permanent``)."""
        record = self.get(module, record_id)
        when = self.now() if when is None else when
        self.conn.execute("DELETE FROM records WHERE module = ? AND id = ?", (module, record_id))
        self.add_deleted(module, [{
            "id": record_id, "display_name": display_name, "deleted_time": zoho_time(when), "type": kind,
            "data": record if kind == "recycle" else None,
        }])

    def add_deleted(self, module: str, entries: Iterable[dict[str, Any]]) -> None:
        """Entries of the deleted list: ``id, display_name, deleted_time, type`` (+ ``data``)."""
        user = json.dumps(SYSTEM_USER, sort_keys=True)
        rows = [(module, str(e["id"]), e.get("display_name"), e["deleted_time"], parse_time(e["deleted_time"]),
                 e.get("type", "recycle"), user, user,
                 json.dumps(e["data"], ensure_ascii=False, sort_keys=True) if e.get("data") else None)
                for e in entries]
        self.conn.executemany(
            "INSERT OR REPLACE INTO deleted (module, id, display_name, deleted_time, deleted_ts, type, deleted_by, "
            "created_by, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def deleted(self, module: str, *, kind: str = "all", since: float | None = None,
                offset: int = 0, limit: int = 200) -> tuple[list[dict[str, Any]], int]:
        """A page of the deleted list (newest first, as Zoho lists it) and the total."""
        clauses: list[str] = ["module = ?"]
        params: list[Any] = [module]
        if kind != "all":
            clauses.append("type = ?")
            params.append(kind)
        if since is not None:
            clauses.append("deleted_ts > ?")
            params.append(since)
        where = " AND ".join(clauses)
        total = int(self.conn.execute(f"SELECT COUNT(*) FROM deleted WHERE {where}", params).fetchone()[0])
        rows = self.conn.execute(
            f"SELECT id, display_name, deleted_time, type, deleted_by, created_by FROM deleted WHERE {where} "
            "ORDER BY deleted_ts DESC, id DESC LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
        return [{
            "deleted_by": json.loads(r["deleted_by"]), "id": r["id"], "display_name": r["display_name"],
            "type": r["type"], "created_by": json.loads(r["created_by"]), "deleted_time": r["deleted_time"],
        } for r in rows], total

    def is_deleted(self, module: str, record_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM deleted WHERE module = ? AND id = ?", (module, record_id)).fetchone() is not None

    # -------------------------------------------------------------- notification channels

    def channels(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self.conn.execute("SELECT data FROM channels ORDER BY channel_id")]

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM channels WHERE channel_id = ?", (channel_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_channel(self, channel: dict[str, Any]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO channels (channel_id, data) VALUES (?, ?)",
                          (str(channel["channel_id"]), json.dumps(channel, sort_keys=True)))

    def drop_channel(self, channel_id: str) -> bool:
        return self.conn.execute("DELETE FROM channels WHERE channel_id = ?", (channel_id,)).rowcount > 0

    def notify(self, module: str, ids: Sequence[str], operation: str) -> None:
        """Queue the Notifications-API callback each watching channel would receive."""
        if not ids:
            return
        now = self.now()
        for channel in self.channels():
            events = channel.get("events", [])
            if f"{module}.all" not in events and f"{module}.{_EVENT_OF[operation]}" not in events:
                continue
            payload = {
                "server_time": int(now * 1000), "query_params": {}, "module": module, "resource_uri":
                f"/crm/v8/{module}", "ids": list(ids), "affected_fields": [], "operation": operation,
                "channel_id": channel["channel_id"], "token": channel.get("token"),
            }
            self.conn.execute("INSERT INTO notifications (channel_id, payload) VALUES (?, ?)",
                              (str(channel["channel_id"]), json.dumps(payload, sort_keys=True)))

    def pending_notifications(self, *, mark_delivered: bool = False) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT seq, payload FROM notifications WHERE delivered = 0 ORDER BY seq").fetchall()
        if mark_delivered and rows:
            self.conn.execute("UPDATE notifications SET delivered = 1 WHERE seq <= ?", (rows[-1][0],))
        return [json.loads(r[1]) for r in rows]

    # -------------------------------------------------------------- API log

    def log(self, method: str, path: str, status: int, credits: int) -> None:
        # a COQL query is POSTed but reads
        is_write = int(method != "GET" and path.startswith("/crm/") and path != "/crm/v8/coql")
        self.conn.execute("INSERT INTO api_log (time, method, path, status, credits, is_write) VALUES (?, ?, ?, ?, ?, ?)",
                          (time.time(), method, path, status, credits, is_write))

    def api_log(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM api_log ORDER BY seq")]

    def call_count(self, *, writes_only: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM api_log WHERE path LIKE '/crm/%'" + (" AND is_write = 1" if writes_only else "")
        return int(self.conn.execute(sql).fetchone()[0])

    def credits_used(self) -> int:
        return int(self.conn.execute("SELECT COALESCE(SUM(credits), 0) FROM api_log").fetchone()[0])


_EVENT_OF = {"insert": "create", "update": "edit", "delete": "delete"}


class _Transaction:
    """``with store.transaction():`` — BEGIN IMMEDIATE … COMMIT, ROLLBACK on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
