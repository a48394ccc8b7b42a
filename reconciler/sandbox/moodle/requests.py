"""Requests students submit in Moodle: the plugin's ``local\\requests`` class, emulated.

One path stores a request (``request.php``'s forms and ``local_mzi_submit_request`` both go
through ``requests::create``): a ``local_mzi_requests`` row with origin ``moodle``, status
Pending, no Zoho id, numbered ``MDL-<row id>`` at once — the number is the record's Name in
Zoho, the key mzi's ``outbound_request`` kind upserts on. It is refused outside its type's
window, when a Class Drop does not name one or two classes the student may drop
(``class_drop``: enrolled within the last calendar month, not ended) and when a reason the
type needs is empty. The web service sends no details (Change Information's proposed values),
so here Change Information needs its reason.

Two rules of the mirror's upsert (``upsert_requests``) live here too: a record whose Zoho id
no row has yet *adopts* the submitted row with its request number (the row takes the Zoho
id; nothing is duplicated), and the columns in :data:`MOODLE_OWNED` of an origin ``moodle``
row keep their value whatever is sent (``request.toml``'s ``target_owns`` says the same).
"""

from __future__ import annotations

import calendar
import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .db import SYSTEM_CONTEXT_ID, inserted_id
from .external import WsException
from .registry import CallContext

TABLE = "local_mzi_requests"
NUMBER_PREFIX = "MDL-"
ORIGIN_MOODLE = "moodle"
#: columns Moodle owns on an origin moodle row: what the student wrote (requests::MOODLE_OWNED)
MOODLE_OWNED = ("zoho_student_id", "request_type", "reason", "request_date", "requested_classes",
                "academic_email", "moodle_user_id")
#: request_windows::TYPES and ::WINDOWED
TYPES = ("Enroll Next Semester", "Class Drop", "Late Submission", "Student Card", "Change Information")
WINDOWED = ("Enroll Next Semester", "Class Drop")
#: requests::NEEDS_REASON (Change Information too when it proposes no values: always, here)
NEEDS_REASON = ("Late Submission", "Class Drop")
#: class_drop::MIN_CLASSES, ::MAX_CLASSES, ::ENDED
MIN_CLASSES, MAX_CLASSES = 1, 2
ENDED = ("Withdrawn", "Dropped", "Cancelled", "Completed")
#: the site's timezone, for ``date('Y-m-d')`` and ``student_data::today()`` (the sandbox school's)
SITE_ZONE = ZoneInfo("Asia/Amman")


def number(row_id: int) -> str:
    return f"{NUMBER_PREFIX}{row_id}"


def is_open(conn: sqlite3.Connection, request_type: str, now: int) -> bool:
    """``request_windows::is_open``: known type, and inside its window if it needs one."""
    if request_type not in TYPES:
        return False
    if request_type not in WINDOWED:
        return True
    window = conn.execute("SELECT * FROM mdl_local_mzi_request_windows WHERE request_type = ?", (request_type,)).fetchone()
    return bool(window and window["enabled"]
                and (not window["open_from"] or window["open_from"] <= now)
                and (not window["open_until"] or window["open_until"] >= now))


def _day(now: int) -> str:
    return datetime.fromtimestamp(now, SITE_ZONE).date().isoformat()


def cutoff(today: str) -> str:
    """``class_drop::cutoff``: the same day a month before, clamped to the end of a shorter month."""
    day = date.fromisoformat(today)
    year, month = (day.year - 1, 12) if day.month == 1 else (day.year, day.month - 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1])).isoformat()


def eligible_classes(conn: sqlite3.Connection, zoho_student_id: str, now: int) -> dict[str, str]:
    """``class_drop::eligible`` over ``requests::enrollments``: Zoho class id → name, oldest enrollment first."""
    today = _day(now)
    rows = conn.execute(
        "SELECT e.zoho_class_id, e.enrollment_date, e.status, COALESCE(c.class_name, e.class_name) AS class_name "
        "FROM mdl_local_mzi_enrollments e LEFT JOIN mdl_local_mzi_classes c ON c.zoho_class_id = e.zoho_class_id "
        "WHERE e.zoho_student_id = ? AND (e.status IS NULL OR e.status <> 'Withdrawn')", (zoho_student_id,)).fetchall()
    kept = sorted((str(r["enrollment_date"]), str(r["zoho_class_id"]), str(r["class_name"] or "").strip())
                  for r in rows
                  if r["zoho_class_id"] and r["enrollment_date"] and cutoff(today) <= str(r["enrollment_date"]) <= today
                  and str(r["status"] or "") not in ENDED)
    return {class_id: name or class_id for _, class_id, name in kept}


def _refusal(chosen: list[str], eligible: dict[str, str]) -> WsException | None:
    """``class_drop::refusal``: one or two classes, each one the student may drop."""
    if not MIN_CLASSES <= len(chosen) <= MAX_CLASSES:
        return WsException("Choose one or two classes to drop.", errorcode="error:classdropcount")
    if any(class_id not in eligible for class_id in chosen):
        return WsException("Only classes you enrolled in within the last month can be dropped.",
                           errorcode="error:classdropnoteligible")
    return None


def submit(ctx: CallContext, request_type: str, reason: str, classes: Sequence[str]) -> dict[str, Any]:
    """``requests::create`` for the calling user's student row; WsException when refused."""
    student = ctx.conn.execute("SELECT * FROM mdl_local_mzi_students WHERE moodle_user_id = ? ORDER BY id LIMIT 1",
                               (ctx.userid,)).fetchone()
    if student is None:
        raise WsException("No student record is linked to this account yet.", errorcode="nostudentrecord")
    if not is_open(ctx.conn, request_type, ctx.now):
        raise WsException("This request type is not open now.", errorcode="error:windowclosed")
    requested: list[dict[str, str]] = []
    if request_type == "Class Drop":
        chosen = list(dict.fromkeys(str(c) for c in classes))
        eligible = eligible_classes(ctx.conn, student["zoho_student_id"], ctx.now)
        refusal = _refusal(chosen, eligible)
        if refusal is not None:
            raise refusal
        # rows in the shape of Zoho's Requested_Classes subform, which mzi sends them to
        requested = [{"Class_ID": class_id, "Class_Name": eligible[class_id]} for class_id in chosen]
    reason = reason.strip()
    if not reason and request_type in (*NEEDS_REASON, "Change Information"):
        raise WsException("Give a reason for this request.", errorcode="error:reasonrequired")
    row = {"zoho_student_id": student["zoho_student_id"], "request_type": request_type, "status": "Pending",
           "reason": reason or None, "request_date": _day(ctx.now),
           "requested_classes": json.dumps(requested, ensure_ascii=False, separators=(",", ":")) if requested else None,
           "academic_email": student["academic_email"], "moodle_user_id": ctx.userid, "origin": ORIGIN_MOODLE,
           "timecreated": ctx.now, "timemodified": ctx.now}
    row_id = inserted_id(ctx.conn.execute(
        f"INSERT INTO mdl_{TABLE} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values())))
    ctx.conn.execute(f"UPDATE mdl_{TABLE} SET request_number = ? WHERE id = ?", (number(row_id), row_id))
    from .functions import record_event  # the observer; functions imports this module

    record_event(ctx, "\\local_mzi\\event\\request_submitted", objecttable=TABLE, objectid=row_id,
                 relateduserid=ctx.userid, contextid=SYSTEM_CONTEXT_ID, extra={"request_type": request_type, "request_number": number(row_id)})
    return {"id": row_id, "request_number": number(row_id), "status": "Pending"}


def adoptable(conn: sqlite3.Connection, numbers: Iterable[str]) -> dict[str, sqlite3.Row]:
    """Submitted rows not yet linked to Zoho, by request number (the first of each number)."""
    wanted = sorted({n for n in numbers if n})
    found: dict[str, sqlite3.Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = conn.execute(
            f"SELECT * FROM mdl_{TABLE} WHERE request_number IN ({', '.join('?' * len(chunk))}) AND origin = ? "
            "AND (zoho_request_id IS NULL OR zoho_request_id = '') ORDER BY id", [*chunk, ORIGIN_MOODLE])
        for row in rows:
            found.setdefault(str(row["request_number"]), row)
    return found


def moodle_values(row: sqlite3.Row | None, values: dict[str, str | None]) -> dict[str, str | None]:
    """The values an upsert may write into ``row``: all, less Moodle's own on a submitted row."""
    if row is None or row["origin"] != ORIGIN_MOODLE:
        return values
    return {n: v for n, v in values.items() if n not in MOODLE_OWNED}
