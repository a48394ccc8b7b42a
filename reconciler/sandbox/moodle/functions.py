"""Every web-service function the emulator offers, assembled into one registry.

Mirror functions come from install.xml (``mirror.py``), course and enrolment functions
from ``courses.py``; this module adds users, events (the observer's outbox), sync
status, request results, plugin info and core's site info, and builds the registry the
app dispatches on and the static contract test reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from ...schema.xmldb import Schema
from .courses import course_functions
from .db import CONTEXT_COURSE, CONTEXT_USER, SYSTEM_CONTEXT_ID, context_id, inserted_id, plugin_setting
from .grading import grading_functions
from .external import (
    PARAM_ALPHA, PARAM_BOOL, PARAM_INT, PARAM_RAW, PARAM_TEXT, VALUE_DEFAULT, VALUE_OPTIONAL, InvalidParameter, Multiple, Single, Value,
)
from .mirror import MIRROR_NAMES, mirror_functions, mirror_table
from . import requests
from .registry import MANAGE, CallContext, WsFunction

PLUGIN_DIR = Path(__file__).resolve().parents[3] / "moodle_plugin"
EVENT_STATUSES = ("", "pending", "delivered", "failed", "dead")
OUTBOX = "local_mzi_outbox"
SYNC_STATUS = "local_mzi_sync_status"


def plugin_version() -> tuple[int, str]:
    """(version, release) from ``moodle_plugin/version.php`` when it is there."""
    try:
        text = (PLUGIN_DIR / "version.php").read_text(encoding="utf-8")
    except OSError:
        return 2025010100, "sandbox"
    version = re.search(r"\$plugin->version\s*=\s*(\d+)", text)
    release = re.search(r"\$plugin->release\s*=\s*['\"]([^'\"]*)['\"]", text)
    return (int(version.group(1)) if version else 2025010100, release.group(1) if release else "sandbox")


def _v(ptype: str, desc: str = "", required: int = 1, default: Any = None) -> Value:
    return Value(ptype, desc or "", required, default)


def _columns(ctx: CallContext, table: str) -> set[str]:
    return set(ctx.schema.table(table).column_names) if table in ctx.schema.tables else set()


# ------------------------------------------------------------------ users and the observer

USER_FIELDS = ("createpassword", "username", "auth", "password", "firstname", "lastname", "email", "idnumber",
               "city", "country", "lang", "timezone", "institution", "department", "phone1", "phone2", "address",
               "description", "middlename", "alternatename", "firstnamephonetic", "lastnamephonetic", "maildisplay",
               "mailformat", "calendartype", "theme", "interests")
_USER_REQUIRED = ("username", "firstname", "lastname", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def sign(payload: str, secret: str) -> str:
    """HMAC-SHA256 hex of the payload text: what mzi's webhook checks."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def record_event(ctx: CallContext, eventname: str, *, objecttable: str, objectid: int, relateduserid: int = 0,
                 courseid: int = 0, contextid: int = SYSTEM_CONTEXT_ID, extra: dict[str, Any] | None = None) -> None:
    """What the plugin's observer does: one signed row in the outbox, status pending."""
    data = {"eventname": eventname, "component": "core", "objecttable": objecttable, "objectid": objectid,
            "userid": ctx.userid, "relateduserid": relateduserid, "courseid": courseid, "contextid": contextid,
            "timecreated": ctx.now} | (extra or {})
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row = data | {"payload": payload, "signature": sign(payload, plugin_setting(ctx.conn, "outboxsecret")),
                  "status": "pending", "attempts": 0, "nextattempt": ctx.now, "lasterror": "", "timemodified": ctx.now}
    names = [n for n in row if n in _columns(ctx, OUTBOX)]
    ctx.conn.execute(f"INSERT INTO mdl_{OUTBOX} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                     [row[n] for n in names])


def delivery(row: Any, secret: str, timestamp: int) -> tuple[dict[str, str], bytes]:
    """What the plugin's ``outbox::deliver_due`` POSTs for one outbox row (``delivery_headers``):
    the payload, signed with the time of sending so mzi can refuse a replay."""
    payload = str(row["payload"])
    headers = {"Content-Type": "application/json", "X-Mzi-Timestamp": str(timestamp),
               "X-Mzi-Signature": sign(f"{timestamp}.{payload}", secret), "X-Mzi-Event-Id": f"moodle-{row['id']}"}
    return headers, payload.encode()


def create_users(ctx: CallContext, args: dict[str, Any]) -> list[dict[str, Any]]:
    """``core_user_create_users``: all or nothing, like core (it validates, then inserts)."""
    users = args["users"]
    names = [u["username"] for u in users]
    for user in users:
        if user["username"] != user["username"].strip().lower() or not user["username"]:
            raise InvalidParameter(f"The username must be in lower case and without spaces: {user['username']}")
        if not _EMAIL.match(user["email"]):
            raise InvalidParameter(f"Email address is invalid: {user['email']}")
    taken = {r[0] for r in ctx.conn.execute(
        f"SELECT username FROM mdl_user WHERE username IN ({', '.join('?' * len(names)) or 'NULL'})", names)}
    if taken or len(set(names)) != len(names):
        raise InvalidParameter(f"Username already exists: {sorted(taken) or names}")
    emails = [u["email"].lower() for u in users]
    same = {r[0] for r in ctx.conn.execute(
        f"SELECT lower(email) FROM mdl_user WHERE deleted = 0 AND lower(email) IN ({', '.join('?' * len(emails)) or 'NULL'})", emails)}
    if (same or len(set(emails)) != len(emails)) and plugin_setting(ctx.conn, "allowaccountssameemail") != "1":
        raise InvalidParameter(f"Email address already exists: {sorted(same) or emails}")
    created = []
    for user in users:
        userid = inserted_id(ctx.conn.execute(
            "INSERT INTO mdl_user (username, email, firstname, lastname, auth, idnumber, timecreated, timemodified) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (user["username"], user["email"], user["firstname"], user["lastname"], user["auth"], user["idnumber"],
             ctx.now, ctx.now)))
        contextid = context_id(ctx.conn, CONTEXT_USER, userid)
        record_event(ctx, "\\core\\event\\user_created", objecttable="user", objectid=userid,
                     relateduserid=userid, contextid=contextid)
        created.append({"id": userid, "username": user["username"]})
    return created


def resolve_users(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    emails: list[str] = args["emails"]
    wanted = sorted({e.strip().lower() for e in emails if e.strip()})
    matches: dict[str, list[int]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        sql = (f"SELECT id, lower(email) FROM mdl_user WHERE deleted = 0 AND username <> 'guest' "
               f"AND lower(email) IN ({', '.join('?' * len(chunk))})")
        for userid, email in ctx.conn.execute(sql, chunk):
            matches.setdefault(email, []).append(int(userid))
    users = []
    for email in emails:
        found = matches.get(email.strip().lower(), [])
        users.append({"email": email, "userid": found[0] if len(found) == 1 else 0,
                      "found": len(found) == 1, "multiple": len(found) > 1})
    return {"users": users}


# ------------------------------------------------------------------ events

EVENT_KEYS = ("id", "eventname", "component", "objecttable", "objectid", "userid", "relateduserid", "courseid",
              "contextid", "timecreated", "status", "attempts", "nextattempt", "lasterror", "signature")


def get_events(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    if not 1 <= args["limit"] <= 1000:
        raise InvalidParameter(f"limit => Invalid parameter value detected: limit must be between 1 and 1000, got {args['limit']}")
    if args["status"] not in EVENT_STATUSES:
        raise InvalidParameter(f"status => Invalid parameter value detected: status must be one of {EVENT_STATUSES}")
    where, values = "id > ?", [args["afterid"]]
    if args["status"]:
        where += " AND status = ?"
        values.append(args["status"])
    rows = ctx.conn.execute(f"SELECT * FROM mdl_{OUTBOX} WHERE {where} ORDER BY id LIMIT ?", values + [args["limit"] + 1]).fetchall()
    page = rows[:args["limit"]]
    events = [{k: (row[k] if k in row.keys() else None) for k in EVENT_KEYS} for row in page]
    return {"events": events, "nextafterid": int(page[-1]["id"]) if page else args["afterid"], "hasmore": len(rows) > args["limit"]}


def retry_events(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    ids: list[int] = args["ids"]
    found = {}
    if ids:
        found = {int(r["id"]): r["status"] for r in ctx.conn.execute(
            f"SELECT id, status FROM mdl_{OUTBOX} WHERE id IN ({', '.join('?' * len(ids))})", ids)}
    results = []
    for eventid in ids:
        status = found.get(eventid)
        if status is None:
            results.append({"id": eventid, "status": "error", "errorcode": "notfound", "message": f"no event has id {eventid}"})
        elif status in ("failed", "dead"):
            ctx.conn.execute(f"UPDATE mdl_{OUTBOX} SET status = 'pending', attempts = 0, nextattempt = ? WHERE id = ?",
                             (ctx.now, eventid))
            found[eventid] = "pending"
            results.append({"id": eventid, "status": "requeued", "errorcode": "", "message": ""})
        else:
            results.append({"id": eventid, "status": "unchanged", "errorcode": "", "message": ""})
    return {"results": results}


# ------------------------------------------------------------------ sync status, requests, info

STATUS_NUMBERS = ("runid", "timefinished", "creates", "updates", "deletes", "blocked", "errors", "drift")
#: how a run can end, as mzi's run log says (push_sync_status::OUTCOMES)
RUN_OUTCOMES = ("ok", "failed", "interrupted")


def push_sync_status(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    columns = _columns(ctx, SYNC_STATUS)
    results = []
    for item in args["statuses"]:
        key = f"{item['kind']}:{item['command']}"
        if item["command"] not in ("plan", "apply") or not item["kind"]:
            results.append({"key": key, "status": "error", "errorcode": "invalidvalue",
                            "message": "kind must be set and command be plan or apply"})
            continue
        if item["status"] not in RUN_OUTCOMES:
            results.append({"key": key, "status": "error", "errorcode": "invalidvalue",
                            "message": "status must be ok, failed or interrupted"})
            continue
        values = {n: item[n] for n in ("status", *STATUS_NUMBERS) if n in columns}
        row = ctx.conn.execute(f"SELECT * FROM mdl_{SYNC_STATUS} WHERE kind = ? AND command = ?",
                               (item["kind"], item["command"])).fetchone()
        if row is None:
            stamp = {"timemodified": ctx.now} if "timemodified" in columns else {}
            data = {"kind": item["kind"], "command": item["command"]} | values | stamp
            ctx.conn.execute(f"INSERT INTO mdl_{SYNC_STATUS} ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
                             list(data.values()))
            status = "created"
        elif any(str(row[n]) != str(v) for n, v in values.items()):
            stamp = {"timemodified": ctx.now} if "timemodified" in columns else {}
            sets = values | stamp
            ctx.conn.execute(f"UPDATE mdl_{SYNC_STATUS} SET {', '.join(f'{n} = ?' for n in sets)} WHERE id = ?",
                             [*sets.values(), row["id"]])
            status = "updated"
        else:
            status = "unchanged"
        results.append({"key": key, "status": status, "errorcode": "", "message": ""})
    return {"results": results}


def record_request_results(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Write back what happened to requests made in Moodle: the Zoho id once sent, the
    failure message otherwise (``sync_status``/``sync_message`` of local_mzi_requests). A
    request is named by its row id, or (``requestid`` 0) by its number among those made in Moodle."""
    results = []
    for item in args["results"]:
        key = str(item["requestid"]) if item["requestid"] else str(item["request_number"])
        if item["status"] not in ("sent", "failed"):
            results.append({"key": key, "status": "error", "errorcode": "invalidvalue", "message": "status must be sent or failed"})
            continue
        if item["requestid"]:
            row = ctx.conn.execute("SELECT * FROM mdl_local_mzi_requests WHERE id = ?", (item["requestid"],)).fetchone()
        elif item["request_number"]:
            row = ctx.conn.execute("SELECT * FROM mdl_local_mzi_requests WHERE request_number = ? AND origin = ? "
                                   "ORDER BY id LIMIT 1", (item["request_number"], requests.ORIGIN_MOODLE)).fetchone()
        else:
            results.append({"key": key, "status": "error", "errorcode": "missingkey",
                            "message": "name the request by requestid or request_number"})
            continue
        if row is None:
            results.append({"key": key, "status": "error", "errorcode": "notfound", "message": f"no request has id or number {key}"})
            continue
        wanted: dict[str, Any] = {}
        if item["status"] == "sent" and item["zoho_request_id"]:
            wanted["zoho_request_id"] = item["zoho_request_id"]
        wanted["sync_status"] = item["status"]
        wanted["sync_message"] = item["message"]
        changed = {n: v for n, v in wanted.items() if str(row[n] if row[n] is not None else "") != str(v)}
        if changed:
            changed["timemodified"] = ctx.now
            ctx.conn.execute(f"UPDATE mdl_local_mzi_requests SET {', '.join(f'{n} = ?' for n in changed)} WHERE id = ?",
                             [*changed.values(), row["id"]])
        results.append({"key": key, "status": "updated" if changed else "unchanged", "errorcode": "", "message": ""})
    return {"results": results}


def submit_request(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """``local_mzi_submit_request``: the calling user submits a request (``requests::create``)."""
    return requests.submit(ctx, args["request_type"], args["reason"], args["classes"])


SITE_URL = "http://moodle.sandbox"


def site_identifier(conn: sqlite3.Connection) -> str:
    """``get_site_identifier()``: random, made once per site (Moodle at install, the emulator
    on first ask), so a reset sandbox is a different site."""
    conn.execute("INSERT OR IGNORE INTO mdl_config_plugins (plugin, name, value) VALUES ('core', 'siteidentifier', ?)",
                 (secrets.token_hex(16) + "moodle.sandbox",))
    row = conn.execute("SELECT value FROM mdl_config_plugins WHERE plugin = 'core' AND name = 'siteidentifier'").fetchone()
    return str(row[0])


def site_tables(ctx: CallContext) -> list[dict[str, Any]]:
    """Each install.xml table the database has, with the columns it has (``$DB->get_columns``):
    a site whose upgrade has not run lacks newer columns, and that is what mzi must see."""
    tables = []
    for name in sorted(ctx.schema.tables):
        columns = [str(row[1]) for row in ctx.conn.execute(f"PRAGMA table_info(mdl_{name})")]
        if columns:
            tables.append({"name": name, "columns": columns})
    return tables


def course_roles(ctx: CallContext) -> list[dict[str, Any]]:
    """The roles assignable in a course context (``role_context_levels``): the roles an
    enrolment can give, so mzi can refuse a spec role the site lacks before it plans."""
    rows = ctx.conn.execute("SELECT r.id, r.shortname FROM mdl_role r JOIN mdl_role_context_levels rcl "
                            "ON rcl.roleid = r.id AND rcl.contextlevel = ? ORDER BY r.id", (CONTEXT_COURSE,))
    return [{"id": int(row[0]), "shortname": str(row[1])} for row in rows]


def get_info(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    version, release = plugin_version()
    return {"component": "local_mzi", "version": version, "release": release,
            "maxinputvars": ctx.max_input_vars, "canmanage": ctx.can(MANAGE),
            "siteurl": SITE_URL, "siteidentifier": site_identifier(ctx.conn), "tables": site_tables(ctx),
            "roles": course_roles(ctx)}


def site_info(registry: dict[str, WsFunction]) -> Any:
    def handler(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
        user = ctx.conn.execute("SELECT * FROM mdl_user WHERE id = ?", (ctx.userid,)).fetchone()
        version, _ = plugin_version()
        return {
            "sitename": "ABC Horizon (sandbox)", "username": user["username"], "firstname": user["firstname"],
            "lastname": user["lastname"], "fullname": f"{user['firstname']} {user['lastname']}", "lang": "en",
            "userid": ctx.userid, "siteurl": SITE_URL, "userpictureurl": "",
            "functions": [{"name": n, "version": str(version) if n.startswith("local_mzi_") else "2022112800"}
                          for n in sorted(registry)],
            "downloadfiles": 0, "uploadfiles": 0, "release": "4.1 (Build: sandbox)", "version": "2022112800",
            "siteid": 1,
        }
    return handler


# ------------------------------------------------------------------ registry

SITE_INFO_RETURNS = Single({
    **{k: Value(PARAM_RAW, k) for k in ("sitename", "username", "firstname", "lastname", "fullname", "lang",
                                         "siteurl", "userpictureurl", "release", "version")},
    "userid": Value(PARAM_INT, "userid"), "siteid": Value(PARAM_INT, "siteid"),
    "downloadfiles": Value(PARAM_INT, "downloadfiles"), "uploadfiles": Value(PARAM_INT, "uploadfiles"),
    "functions": Multiple(Single({"name": Value(PARAM_RAW, "name"), "version": Value(PARAM_RAW, "version")})),
})

def _result_desc(keyname: str = "key", keytype: str = PARAM_RAW) -> Multiple:
    return Multiple(Single({keyname: Value(keytype, keyname), "status": Value(PARAM_RAW, "status"),
                            "errorcode": Value(PARAM_RAW, "errorcode"), "message": Value(PARAM_RAW, "message")}))


def _other_functions() -> list[WsFunction]:
    event = Single({k: Value(PARAM_INT if k in ("id", "objectid", "userid", "relateduserid", "courseid", "contextid",
                                                  "timecreated", "attempts", "nextattempt") else PARAM_RAW, k)
                    for k in EVENT_KEYS})
    user_params = Single({
        name: Value(PARAM_INT if name in ("createpassword", "maildisplay", "mailformat") else PARAM_RAW, name,
                    1 if name in _USER_REQUIRED else VALUE_DEFAULT if name in ("auth", "idnumber") else VALUE_OPTIONAL,
                    "manual" if name == "auth" else "" if name == "idnumber" else None)
        for name in USER_FIELDS
    })
    return [
        WsFunction("local_mzi_resolve_users", Single({"emails": Multiple(Value(PARAM_RAW, "email"))}),
                   Single({"users": Multiple(Single({"email": _v(PARAM_RAW, "email"), "userid": _v(PARAM_INT, "userid"),
                                                      "found": _v(PARAM_BOOL, "found"), "multiple": _v(PARAM_BOOL, "multiple")}))}),
                   resolve_users, records_param="emails"),
        WsFunction("local_mzi_get_events",
                   Single({"afterid": _v(PARAM_INT, "afterid", VALUE_DEFAULT, 0), "limit": _v(PARAM_INT, "limit", VALUE_DEFAULT, 100),
                           "status": _v(PARAM_RAW, "status", VALUE_DEFAULT, "")}),
                   Single({"events": Multiple(event), "nextafterid": _v(PARAM_INT), "hasmore": _v(PARAM_BOOL)}),
                   get_events, records_result="events"),
        WsFunction("local_mzi_retry_events", Single({"ids": Multiple(Value(PARAM_INT, "event id"))}),
                   Single({"results": _result_desc("id", PARAM_INT)}), retry_events, is_write=True, records_param="ids"),
        WsFunction("local_mzi_push_sync_status",
                   Single({"statuses": Multiple(Single({"kind": _v(PARAM_RAW, "kind"), "command": _v(PARAM_RAW, "command"),
                                                        "status": _v(PARAM_ALPHA, "status")}
                                                       | {n: _v(PARAM_INT, n) for n in STATUS_NUMBERS}))}),
                   # not counted as a write: the status report is each run's receipt, not the school's data, so
                   # "a second apply writes nothing" (write_counts) and the write-delay fault leave it out
                   Single({"results": _result_desc()}), push_sync_status, is_write=False, records_param="statuses"),
        WsFunction("local_mzi_record_request_results",
                   Single({"results": Multiple(Single({"requestid": _v(PARAM_INT, "", VALUE_DEFAULT, 0),
                                                       "request_number": _v(PARAM_RAW, "", VALUE_DEFAULT, ""),
                                                       "zoho_request_id": _v(PARAM_RAW, "", VALUE_DEFAULT, ""),
                                                       "status": _v(PARAM_RAW), "message": _v(PARAM_RAW, "", VALUE_DEFAULT, "")}))}),
                   Single({"results": _result_desc()}), record_request_results, is_write=True, records_param="results"),
        WsFunction("local_mzi_submit_request",
                   Single({"request_type": _v(PARAM_RAW), "reason": _v(PARAM_TEXT, "", VALUE_DEFAULT, ""),
                           "classes": Multiple(Value(PARAM_RAW, "Zoho class id"), "", VALUE_DEFAULT, [])}),
                   Single({"id": _v(PARAM_INT), "request_number": _v(PARAM_RAW), "status": _v(PARAM_RAW)}),
                   submit_request, capabilities=("local/mzi:submitrequest",), is_write=True),
        WsFunction("local_mzi_get_info", Single({}),
                   Single({"component": _v(PARAM_RAW), "version": _v(PARAM_INT), "release": _v(PARAM_RAW),
                           "maxinputvars": _v(PARAM_INT), "canmanage": _v(PARAM_BOOL),
                           "siteurl": _v(PARAM_RAW), "siteidentifier": _v(PARAM_RAW),
                           "tables": Multiple(Single({"name": _v(PARAM_RAW, "table name, without prefix"),
                                                      "columns": Multiple(_v(PARAM_RAW, "column name"))})),
                           "roles": Multiple(Single({"id": _v(PARAM_INT, "role id"),
                                                     "shortname": _v(PARAM_RAW, "role shortname")}))}),
                   get_info, capabilities=()),
        WsFunction("core_user_create_users", Single({"users": Multiple(user_params)}),
                   Multiple(Single({"id": _v(PARAM_INT), "username": _v(PARAM_RAW)})),
                   create_users, capabilities=("moodle/user:create",), is_write=True, records_param="users"),
    ]


def build_registry(schema: Schema) -> dict[str, WsFunction]:
    """Every function by name: mirror functions of install.xml's mirror tables + the rest."""
    functions: list[WsFunction] = []
    for short in MIRROR_NAMES:
        name = f"local_mzi_{short}"
        mirror = mirror_table(schema.table(name)) if name in schema.tables else None
        if mirror is not None:
            functions += mirror_functions(mirror)
    functions += course_functions() + grading_functions() + _other_functions()
    registry = {fn.name: fn for fn in functions}
    site = WsFunction(
        "core_webservice_get_site_info", Single({"serviceshortnames": Multiple(Value(PARAM_RAW, "service"), "", VALUE_DEFAULT, {})}),
        SITE_INFO_RETURNS, site_info(registry), capabilities=())
    registry[site.name] = site
    return registry
