"""The three generic functions of every mirror table: upsert, delete, get.

They are driven by the table's columns in install.xml, as the contract says: ``int`` →
``PARAM_INT``, ``number``/``float`` → ``PARAM_RAW`` (decimals travel as text, never
float), ``char``/``text`` → ``PARAM_RAW``; every column except ``id``, ``timecreated``,
``timemodified`` is a parameter, optional except the key column(s).

"Unchanged" is decided the way the plugin decides it: stored and new values are
compared as text after Moodle-like formatting (``number(12,2)`` with two decimals, ints
as integers, empty string as NULL), so ``12.5`` and ``"12.50"`` are the same value and a
repeated upsert writes nothing.

Work per call is set-based: one ``WHERE key IN (…)`` to find existing rows, grouped
``executemany`` for inserts and updates, one transaction (the app's).

``local_mzi_upsert_requests`` adds the plugin's two request rules (``requests.py``): a
record with a new Zoho id adopts the submitted row with its request number, and an origin
``moodle`` row keeps the columns Moodle owns.
"""

from __future__ import annotations

import re

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from ...schema.xmldb import Column, Table
from .db import plugin_setting
from .external import (
    PARAM_BOOL, PARAM_INT, PARAM_RAW, VALUE_DEFAULT, VALUE_OPTIONAL, VALUE_REQUIRED, InvalidParameter, Multiple, Single,
    Value,
)
from . import requests
from .registry import CallContext, WsFunction

#: the mirror tables of the contract, without the ``local_mzi_`` prefix
MIRROR_NAMES = ("students", "teachers", "programs", "units", "registrations", "installments",
                "payments", "classes", "enrollments", "grades", "requests")

#: the contract's delete policy per table: (column, value), or ``None`` = row removed
DELETE_POLICY: dict[str, tuple[str, str] | None] = {
    "local_mzi_students": ("status", "Deleted"),
    "local_mzi_teachers": ("status", "Deleted"),
    "local_mzi_programs": ("status", "Disabled"),
    "local_mzi_units": ("status", "Deleted"),
    "local_mzi_registrations": ("registration_status", "Cancelled"),
    "local_mzi_installments": None,
    "local_mzi_payments": ("payment_status", "Voided"),
    "local_mzi_classes": ("class_status", "Cancelled"),
    "local_mzi_enrollments": ("status", "Withdrawn"),
    "local_mzi_grades": ("status", "Deleted"),
    "local_mzi_requests": ("status", "Cancelled"),
}

AUTOMATIC = ("id", "timecreated", "timemodified")
_IN_CHUNK = 500


@dataclass(frozen=True)
class MirrorTable:
    """A mirror table with the key the contract gives it.

    The key is the table's unique index; a table without one (``local_mzi_requests``,
    whose Moodle-originated rows have no Zoho id yet) falls back to its
    ``zoho_<singular>_id`` column, as the contract names it.
    """

    table: Table
    key_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns(self) -> tuple[Column, ...]:
        return tuple(self.table.columns)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(self.table.column_names)


def mirror_table(table: Table) -> MirrorTable | None:
    """The contract's view of ``table``; ``None`` when it has no usable key."""
    if table.key_columns:
        return MirrorTable(table, tuple(table.key_columns))
    fallback = f"zoho_{table.name.removeprefix('local_mzi_').removesuffix('s')}_id"
    return MirrorTable(table, (fallback,)) if fallback in table.column_names else None


class RecordError(Exception):
    """One record's problem: reported in ``results[]``, never raised out of the call."""

    def __init__(self, errorcode: str, message: str) -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.message = message


# ------------------------------------------------------------------ value formatting

_INTEGER = re.compile(r"-?\d{1,18}", re.ASCII)

#: the characters PHP's trim() removes (Python's strip() would remove any Unicode space)
PHP_TRIM = " \t\n\r\0\x0b"

#: what the plugin's ``mirror_table::decimal()`` reads: ASCII digits, an optional sign,
#: point and exponent of at most four digits (``12``, ``-0.5``, ``.5``, ``12.``, ``1e3``)
_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?", re.ASCII)


def decimal_text(value: str, scale: int) -> str | None:
    """``value`` rounded to ``scale`` places as canonical text; ``None`` when not a number.

    The emulator's twin of the plugin's ``mirror_table::decimal()``, kept identical on
    purpose (tests/contract/test_decimal_agreement.py runs both): ASCII spellings only
    (``Decimal`` alone would take ``1_000``, ``Infinity`` and Arabic-Indic digits, which
    PHP refuses), rounding half away from zero — ``ROUND_HALF_UP`` on the absolute value,
    as MySQL/PostgreSQL ``DECIMAL`` columns round and as ``normalize.to_decimal`` does
    with the same scale, so a value mzi normalized is stored unchanged. Negative zero is
    ``0``; the result always has exactly ``scale`` places (``12.50``), as Moodle returns it.
    """
    match = _DECIMAL.fullmatch(value.strip(PHP_TRIM))
    if match is None or (match.group(2) == "" and not match.group(3)):
        return None
    mantissa = f"{match.group(1)}{match.group(2) or '0'}.{match.group(3) or '0'}"
    with localcontext() as context:
        context.prec = len(mantissa) + 10000 + scale
        number = Decimal(mantissa).scaleb(int(match.group(4) or 0))
        rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    result = format(rounded, "f")
    return result.lstrip("-") if rounded.is_zero() else result


def canonical(column: Column, value: Any) -> str | None:
    """The text a value has once Moodle stored it; the unit of "unchanged"."""
    if value is None or value == "":
        return None
    if column.type == "int":
        return str(int(value))
    if column.type in ("number", "float"):  # as the plugin: meta types N and F alike
        return decimal_text(str(value), column.decimals or 0)
    return str(value)


def check_value(column: Column, value: Any) -> str | None:
    """Validate one incoming value against its column; canonical text or RecordError.

    Messages name the column and the rule, never the value: the plugin cannot know which
    columns hold sensitive data (birth dates, national ids), and results travel into
    mzi's logs (the plugin's ``mirror_table::check_value()`` words them the same).
    """
    if value is None or value == "":
        return None
    if column.type in ("number", "float"):
        text = decimal_text(str(value), column.decimals or 0)
        if text is None:
            raise RecordError("invalidvalue", f"{column.name}: the value is not a number "
                              "(ASCII digits, optional sign, decimal point and exponent)")
        digits = len(text.lstrip("-").split(".")[0].lstrip("0"))
        if column.type == "number" and column.length and digits > column.length - (column.decimals or 0):
            raise RecordError("invalidvalue",
                              f"{column.name}: the value does not fit number({column.length},{column.decimals})")
        return text
    if column.type == "int":
        text = str(value).strip(PHP_TRIM)
        if not _INTEGER.fullmatch(text):
            raise RecordError("invalidvalue", f"{column.name}: the value is not an integer (at most 18 digits)")
        return canonical(column, text)
    if column.type == "char" and column.length and len(str(value)) > column.length:
        raise RecordError("toolong", f"{column.name}: {len(str(value))} characters, the column holds {column.length}")
    return canonical(column, value)


def stored(column: Column, text: str | None) -> Any:
    """Canonical text → what goes into SQLite (NOT NULL columns get their default)."""
    if text is None:
        if not column.notnull:
            return None
        if column.default is not None:
            return column.default
        return 0 if column.type in ("int", "number", "float") else ""
    if column.type == "int":
        return int(text)
    if column.type == "float":
        return float(text)
    return text


def output(column: Column, value: Any) -> Any:
    """A stored value as ``local_mzi_get_*`` returns it (``null`` for NULL)."""
    if value is None:
        return None
    if column.type == "int":
        return int(value)
    return canonical(column, value) if column.type in ("number", "float") else str(value)


# ------------------------------------------------------------------ keys

def key_text(table: MirrorTable, row: sqlite3.Row | dict[str, Any]) -> str:
    return ":".join(str(row[c]) for c in table.key_columns)


def parse_key(table: MirrorTable, text: str) -> tuple[Any, ...] | None:
    """``"regid:3"`` → ``("regid", 3)`` for a composite key; ``None`` when malformed."""
    parts = text.rsplit(":", len(table.key_columns) - 1) if len(table.key_columns) > 1 else [text]
    if len(parts) != len(table.key_columns) or any(p == "" for p in parts):
        return None
    values: list[Any] = []
    for name, part in zip(table.key_columns, parts):
        column = _column(table, name)
        if column.type == "int":
            try:
                values.append(int(part))
            except ValueError:
                return None
        else:
            values.append(part)
    return tuple(values)


def _column(table: MirrorTable, name: str) -> Column:
    return next(c for c in table.columns if c.name == name)


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def key_filter(table: MirrorTable, count: int) -> str:
    """``col IN (?, …)`` or ``(a, b) IN (VALUES (?, ?), …)`` for ``count`` keys."""
    cols = table.key_columns
    if len(cols) == 1:
        return f"{cols[0]} IN ({', '.join('?' * count)})"
    one = "(" + ", ".join("?" * len(cols)) + ")"
    return f"({', '.join(cols)}) IN (VALUES {', '.join([one] * count)})"


def fetch_by_keys(conn: sqlite3.Connection, table: MirrorTable, keys: Sequence[tuple[Any, ...]]) -> dict[str, sqlite3.Row]:
    """Existing rows for ``keys`` by key text, in as few queries as SQLite allows."""
    found: dict[str, sqlite3.Row] = {}
    unique = list(dict.fromkeys(keys))
    for chunk in _chunks(unique):
        args = [v for key in chunk for v in key]
        sql = f"SELECT * FROM mdl_{table.name} WHERE {key_filter(table, len(chunk))}"
        for row in conn.execute(sql, args):
            found[key_text(table, row)] = row
    return found


# ------------------------------------------------------------------ descriptions

def _param_type(column: Column) -> str:
    return PARAM_INT if column.type == "int" else PARAM_RAW


def data_columns(table: MirrorTable) -> list[Column]:
    return [c for c in table.columns if c.name not in AUTOMATIC]


def _upsert_param_type(table: MirrorTable, column: Column) -> str:
    """Non-key int columns travel as PARAM_RAW, checked per record as "integer or empty".

    REST has no null, and Moodle's PARAM_INT refuses the empty string that stands for
    NULL — which would fail the whole batch for one record with an empty int. Checking
    per record keeps "one bad record never fails the batch" and lets an int be cleared.
    """
    if column.type == "int" and column.name not in table.key_columns:
        return PARAM_RAW
    return _param_type(column)


def upsert_params(table: MirrorTable) -> Single:
    fields = {
        c.name: Value(_upsert_param_type(table, c), c.name,
                      VALUE_OPTIONAL if c.name not in table.key_columns else VALUE_REQUIRED)
        for c in data_columns(table)
    }
    return Single({
        "count": Value(PARAM_INT, "number of records sent: detects PHP max_input_vars truncation"),
        "records": Multiple(Single(fields)),
    })


def results_desc(with_id: bool = True) -> Multiple:
    keys: dict[str, Value] = {"key": Value(PARAM_RAW, "key"), "status": Value(PARAM_RAW, "status")}
    if with_id:
        keys["id"] = Value(PARAM_INT, "row id, 0 on error")
    keys |= {"errorcode": Value(PARAM_RAW, "errorcode"), "message": Value(PARAM_RAW, "message")}
    return Multiple(Single(keys))


def get_params() -> Single:
    return Single({
        "afterid": Value(PARAM_INT, "rows with id > afterid", VALUE_DEFAULT, 0),
        "limit": Value(PARAM_INT, "page size 1..5000", VALUE_DEFAULT, 1000),
        "modifiedsince": Value(PARAM_INT, "unix time, 0 = all", VALUE_DEFAULT, 0),
        "keys": Multiple(Value(PARAM_RAW, "key"), "only these keys", VALUE_DEFAULT, {}),
    })


def get_returns(table: MirrorTable) -> Single:
    row = {"id": Value(PARAM_INT, "id")} | {
        c.name: Value(_param_type(c), c.name) for c in table.columns if c.name != "id"
    }
    return Single({
        "records": Multiple(Single(row)),
        "nextafterid": Value(PARAM_INT, "afterid of the next page"),
        "hasmore": Value(PARAM_BOOL, "more rows after this page"),
    })


# ------------------------------------------------------------------ upsert

def _prepare(table: MirrorTable, columns: dict[str, Column], record: dict[str, Any]) -> tuple[str, tuple[Any, ...], dict[str, str | None]]:
    key_values = tuple(record.get(c) for c in table.key_columns)
    if any(v is None or v == "" for v in key_values):
        raise RecordError("missingkey", f"key column(s) {', '.join(table.key_columns)} must not be empty")
    values = {name: check_value(columns[name], value) for name, value in record.items() if name not in table.key_columns}
    for name, value in zip(table.key_columns, key_values):
        check_value(columns[name], value)
    return ":".join(str(v) for v in key_values), key_values, values


def _result(key: str, status: str, rowid: int = 0, errorcode: str = "", message: str = "") -> dict[str, Any]:
    return {"key": key, "status": status, "id": rowid, "errorcode": errorcode, "message": message}


def guard_input(ctx: CallContext, declared: int, received: int) -> None:
    """The plugin's ``input_guard::check``: refuse a batch PHP may have truncated.

    A declared ``count`` that differs from the records received means PHP dropped
    variables; a request that used every allowed variable may have lost some of its last
    record's fields without losing the record, so it is refused too.
    """
    if declared != received:
        raise InvalidParameter(
            f"count is {declared} but {received} records arrived: the request exceeded PHP "
            f"max_input_vars ({ctx.max_input_vars}) and was truncated; send smaller batches")
    if ctx.input_vars >= ctx.max_input_vars:
        raise InvalidParameter(
            f"the request carries {ctx.input_vars} input variables, PHP max_input_vars is {ctx.max_input_vars}: "
            "it may have been truncated; send smaller batches")


def upsert(ctx: CallContext, table: MirrorTable, args: dict[str, Any]) -> dict[str, Any]:
    records: list[dict[str, Any]] = args["records"]
    guard_input(ctx, args["count"], len(records))
    columns = {c.name: c for c in table.columns}
    prepared: list[tuple[str, tuple[Any, ...], dict[str, str | None]] | RecordError] = []
    for record in records:
        try:
            prepared.append(_prepare(table, columns, record))
        except RecordError as exc:
            prepared.append(exc)
    existing = fetch_by_keys(ctx.conn, table, [p[1] for p in prepared if not isinstance(p, RecordError)])
    adoptable = _adoptable(ctx, table, prepared, existing)
    results: list[dict[str, Any]] = []
    inserts: list[tuple[tuple[Any, ...], dict[str, str | None]]] = []
    updates: list[tuple[int, dict[str, str | None]]] = []
    seen: set[str] = set()
    for item in prepared:
        if isinstance(item, RecordError):
            results.append(_result("", "error", 0, item.errorcode, item.message))
            continue
        key, key_values, values = item
        if key in seen:
            results.append(_result(key, "error", 0, "duplicatekey", f"key {key} appears more than once in this batch"))
            continue
        seen.add(key)
        row = existing.get(key)
        adopted = row is None and table.name == requests.TABLE and values.get("request_number") in adoptable
        if adopted:  # a request submitted in Moodle, back from Zoho with its id: it takes the id
            row = adoptable.pop(str(values["request_number"]))
            ids: dict[str, str | None] = {c: str(v) for c, v in zip(table.key_columns, key_values)}
            values = ids | values
        if row is None:
            inserts.append((key_values, values))
            results.append(_result(key, "created"))
            continue
        if table.name == requests.TABLE:
            values = requests.moodle_values(row, values)
        changed = {n: v for n, v in values.items() if canonical(columns[n], row[n]) != v}
        if changed:
            updates.append((int(row["id"]), changed))
        results.append(_result(key, "updated" if changed else "unchanged", int(row["id"])))
    failed_inserts = _write_inserts(ctx, table, columns, inserts)
    failed_updates = _write_updates(ctx, table, columns, updates)
    _finish_results(ctx, table, results, failed_inserts, failed_updates)
    return {"results": results}


def _adoptable(ctx: CallContext, table: MirrorTable, prepared: Sequence[Any],
               existing: dict[str, sqlite3.Row]) -> dict[str, sqlite3.Row]:
    """For ``local_mzi_requests``: submitted rows the records of this call without a row may adopt."""
    if table.name != requests.TABLE:
        return {}
    numbers = [p[2].get("request_number") for p in prepared if not isinstance(p, RecordError) and p[0] not in existing]
    return requests.adoptable(ctx.conn, [str(n) for n in numbers if n])


def _grouped(items: Iterable[tuple[Any, dict[str, Any]]]) -> dict[tuple[str, ...], list[tuple[Any, dict[str, Any]]]]:
    groups: dict[tuple[str, ...], list[tuple[Any, dict[str, Any]]]] = {}
    for ident, values in items:
        groups.setdefault(tuple(values), []).append((ident, values))
    return groups


def _run_many(conn: sqlite3.Connection, sql: str, rows: list[tuple[str, list[Any]]]) -> dict[str, str]:
    """executemany in a savepoint; on a database error, row by row so only bad rows fail."""
    conn.execute("SAVEPOINT mzi_batch")
    try:
        conn.executemany(sql, [args for _, args in rows])
        conn.execute("RELEASE mzi_batch")
        return {}
    except sqlite3.DatabaseError:
        conn.execute("ROLLBACK TO mzi_batch")
        conn.execute("RELEASE mzi_batch")
    failed: dict[str, str] = {}
    for key, args in rows:
        try:
            conn.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            failed[key] = str(exc)
    return failed


def _write_inserts(ctx: CallContext, table: MirrorTable, columns: dict[str, Column],
                   inserts: list[tuple[tuple[Any, ...], dict[str, str | None]]]) -> dict[str, str]:
    stamps = [n for n in ("timecreated", "timemodified") if n in columns]
    required = [c.name for c in data_columns(table) if c.notnull and c.name not in table.key_columns]
    failed: dict[str, str] = {}
    blanks: dict[str, str | None] = {n: None for n in required}
    full = [(k, blanks | v) for k, v in inserts]
    for names, group in _grouped(full).items():
        cols = list(table.key_columns) + list(names) + stamps
        sql = f"INSERT INTO mdl_{table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        rows = [(":".join(map(str, key_values)),
                 list(key_values) + [stored(columns[n], values[n]) for n in names] + [ctx.now] * len(stamps))
                for key_values, values in group]
        failed |= _run_many(ctx.conn, sql, rows)
    return failed


def _write_updates(ctx: CallContext, table: MirrorTable, columns: dict[str, Column],
                   updates: list[tuple[int, dict[str, str | None]]]) -> dict[str, str]:
    stamp = ["timemodified"] if "timemodified" in columns else []
    failed: dict[str, str] = {}
    for names, group in _grouped(updates).items():
        sets = ", ".join(f"{n} = ?" for n in list(names) + stamp)
        sql = f"UPDATE mdl_{table.name} SET {sets} WHERE id = ?"
        rows = [(str(rowid), [stored(columns[n], values[n]) for n in names] + [ctx.now] * len(stamp) + [rowid])
                for rowid, values in group]
        failed |= _run_many(ctx.conn, sql, rows)
    return failed


def _finish_results(ctx: CallContext, table: MirrorTable, results: list[dict[str, Any]],
                    failed_inserts: dict[str, str], failed_updates: dict[str, str]) -> None:
    """Fill ids of created rows (one query) and turn database refusals into errors."""
    created = [r["key"] for r in results if r["status"] == "created" and r["key"] not in failed_inserts]
    keys = [k for k in (parse_key(table, key) for key in created) if k is not None]
    ids = {key: int(row["id"]) for key, row in fetch_by_keys(ctx.conn, table, keys).items()}
    for result in results:
        refusal = (failed_inserts.get(result["key"]) if result["status"] == "created"
                   else failed_updates.get(str(result["id"])) if result["status"] == "updated" else None)
        if refusal is not None:
            result.update(status="error", id=0, errorcode="dberror", message=refusal)
        elif result["status"] == "created":
            result["id"] = ids.get(result["key"], 0)


# ------------------------------------------------------------------ delete

SideEffect = Callable[[CallContext, sqlite3.Row], None]


def _hide_course(ctx: CallContext, row: sqlite3.Row) -> None:
    """A cancelled class hides its course (plugin setting), never deletes it."""
    if plugin_setting(ctx.conn, "hidecancelledcourses") == "1" and row["moodle_class_id"]:
        ctx.conn.execute("UPDATE mdl_course SET visible = 0, timemodified = ? WHERE id = ? AND visible = 1",
                         (ctx.now, int(row["moodle_class_id"])))


#: a withdrawn enrollment's course enrolment is mzi's ``enrolment`` kind (planned, suspended or
#: unenrolled per [moodle] withdrawn_enrolment), not a side effect of the mirror row
SIDE_EFFECTS: dict[str, SideEffect] = {"local_mzi_classes": _hide_course}


def delete(ctx: CallContext, table: MirrorTable, args: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = args["keys"]
    parsed = {text: parse_key(table, text) for text in texts}
    existing = fetch_by_keys(ctx.conn, table, [k for k in parsed.values() if k is not None])
    policy = DELETE_POLICY.get(table.name)
    results: list[dict[str, Any]] = []
    done: set[str] = set()
    for text in texts:
        key = parsed[text]
        canonical_key = ":".join(map(str, key)) if key is not None else text
        row = existing.get(canonical_key)
        if row is None:
            results.append(_result(text, "error", 0, "notfound", f"no {table.name} row has key {text}"))
            continue
        rowid = int(row["id"])
        if canonical_key in done or (policy is not None and row[policy[0]] == policy[1]):
            results.append(_result(text, "unchanged", rowid))
            continue
        done.add(canonical_key)
        _delete_row(ctx, table, row, policy)
        results.append(_result(text, "deleted", rowid))
    return {"results": results}


def _delete_row(ctx: CallContext, table: MirrorTable, row: sqlite3.Row, policy: tuple[str, str] | None) -> None:
    if policy is None:
        ctx.conn.execute(f"DELETE FROM mdl_{table.name} WHERE id = ?", (int(row["id"]),))
        return
    stamp = ", timemodified = ?" if "timemodified" in table.column_names else ""
    args = [policy[1]] + ([ctx.now] if stamp else []) + [int(row["id"])]
    ctx.conn.execute(f"UPDATE mdl_{table.name} SET {policy[0]} = ?{stamp} WHERE id = ?", args)
    effect = SIDE_EFFECTS.get(table.name)
    if effect is not None:
        effect(ctx, row)


# ------------------------------------------------------------------ get

def get(ctx: CallContext, table: MirrorTable, args: dict[str, Any]) -> dict[str, Any]:
    limit = args["limit"]
    if not 1 <= limit <= 5000:
        raise InvalidParameter(f"limit => Invalid parameter value detected: limit must be between 1 and 5000, got {limit}")
    where, values = ["id > ?"], [args["afterid"]]
    if args["modifiedsince"]:
        stamp = "COALESCE(timemodified, timecreated, 0)" if "timemodified" in table.column_names else "0"
        where.append(f"{stamp} >= ?")
        values.append(args["modifiedsince"])
    keys = [k for k in (parse_key(table, t) for t in args["keys"]) if k is not None]
    if args["keys"]:
        if not keys:
            return {"records": [], "nextafterid": args["afterid"], "hasmore": False}
        where.append(key_filter(table, len(keys)))
        values += [v for key in keys for v in key]
    sql = f"SELECT * FROM mdl_{table.name} WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
    rows = ctx.conn.execute(sql, values + [limit + 1]).fetchall()
    page = rows[:limit]
    records = [{"id": int(r["id"])} | {c.name: output(c, r[c.name]) for c in table.columns if c.name != "id"} for r in page]
    return {
        "records": records,
        "nextafterid": int(page[-1]["id"]) if page else args["afterid"],
        "hasmore": len(rows) > limit,
    }


# ------------------------------------------------------------------ registry

def mirror_functions(table: MirrorTable) -> list[WsFunction]:
    """The three functions of one mirror table."""
    short = table.name.removeprefix("local_mzi_")

    def bound(fn: Callable[[CallContext, MirrorTable, dict[str, Any]], Any]) -> Callable[[CallContext, dict[str, Any]], Any]:
        return lambda ctx, args: fn(ctx, table, args)

    return [
        WsFunction(f"local_mzi_upsert_{short}", upsert_params(table), Single({"results": results_desc()}),
                   bound(upsert), is_write=True, records_param="records", mirror_table=table.name,
                   key_columns=table.key_columns),
        WsFunction(f"local_mzi_delete_{short}", Single({"keys": Multiple(Value(PARAM_RAW, "key"))}),
                   Single({"results": results_desc()}), bound(delete), is_write=True, records_param="keys",
                   mirror_table=table.name, key_columns=table.key_columns),
        WsFunction(f"local_mzi_get_{short}", get_params(), get_returns(table), bound(get),
                   records_result="records", mirror_table=table.name, key_columns=table.key_columns),
    ]
