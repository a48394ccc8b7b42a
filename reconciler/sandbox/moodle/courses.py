"""Courses and enrolments: the Moodle-side effects of classes and enrollments.

``local_mzi_ensure_courses`` and ``local_mzi_set_enrolments`` wrap what core's
``core_course_create_courses`` / ``enrol_manual_enrol_users`` do, for many records in
one call, and are idempotent: repeating a call reports ``unchanged`` and writes nothing.
Manual enrolment is one ``user_enrolments`` row per (instance, user) plus one role
assignment per role in the course context, as in Moodle.
"""

from __future__ import annotations

from typing import Any

from .db import CONTEXT_COURSE, DEFAULT_CATEGORY_ID, ROLES, SITE_COURSE_ID, context_id, inserted_id, plugin_setting
from .external import PARAM_BOOL, PARAM_INT, PARAM_RAW, VALUE_DEFAULT, InvalidParameter, Multiple, NoPermissions, Single, Value
from .registry import MANAGE, CallContext, WsFunction

ENROL_ACTIONS = ("enrol", "unenrol", "suspend")


def _result(key: str, status: str, errorcode: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    return {"key": key, "status": status, **extra, "errorcode": errorcode, "message": message}


# ------------------------------------------------------------------ ensure_courses

def _unique_shortname(ctx: CallContext, wanted: str) -> str:
    """``wanted``, or ``wanted (2)``, ``wanted (3)`` … — the first one not taken."""
    taken = {r[0] for r in ctx.conn.execute(
        "SELECT shortname FROM mdl_course WHERE shortname = ? OR shortname LIKE ?", (wanted, wanted + " (%)"))}
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted} ({n})"
    return candidate


def _create_course(ctx: CallContext, course: dict[str, Any], category: int) -> int:
    shortname = _unique_shortname(ctx, course["shortname"])
    courseid = inserted_id(ctx.conn.execute(
        "INSERT INTO mdl_course (category, fullname, shortname, idnumber, startdate, enddate, visible, timecreated, "
        "timemodified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (category, course["fullname"], shortname, course["idnumber"], course["startdate"], course["enddate"],
         course["visible"], ctx.now, ctx.now)))
    context_id(ctx.conn, CONTEXT_COURSE, courseid)
    ctx.conn.execute("INSERT INTO mdl_enrol (enrol, courseid, status, roleid) VALUES ('manual', ?, 0, ?)",
                     (courseid, ROLES["student"]))
    return courseid


def _update_course(ctx: CallContext, row: Any, course: dict[str, Any]) -> bool:
    wanted = {k: course[k] for k in ("fullname", "startdate", "enddate", "visible")}
    if all(str(row[k]) == str(v) for k, v in wanted.items()):
        return False
    ctx.conn.execute("UPDATE mdl_course SET fullname = ?, startdate = ?, enddate = ?, visible = ?, timemodified = ? "
                     "WHERE id = ?", (*wanted.values(), ctx.now, int(row["id"])))
    return True


def _link_class(ctx: CallContext, idnumber: str, courseid: int) -> None:
    """Write the course id into the class's mirror row (Moodle owns that column)."""
    ctx.conn.execute(
        "UPDATE mdl_local_mzi_classes SET moodle_class_id = ?, timemodified = ? "
        "WHERE zoho_class_id = ? AND (moodle_class_id IS NULL OR moodle_class_id <> ?)",
        (courseid, ctx.now, idnumber, courseid))


def ensure_courses(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    if not ctx.can("moodle/course:create"):
        raise NoPermissions("moodle/course:create")
    default_category = int(plugin_setting(ctx.conn, "defaultcategory") or DEFAULT_CATEGORY_ID)
    categories = {int(r[0]) for r in ctx.conn.execute("SELECT id FROM mdl_course_categories")}
    results = []
    for course in args["courses"]:
        key = course["idnumber"]
        if not key or not course["shortname"] or not course["fullname"]:
            results.append(_result(key, "error", "missingvalue", "idnumber, fullname and shortname must not be empty", courseid=0))
            continue
        category = course["categoryid"] or default_category
        if category not in categories:
            results.append(_result(key, "error", "invalidcategory", f"no course category has id {category}", courseid=0))
            continue
        row = ctx.conn.execute("SELECT * FROM mdl_course WHERE idnumber = ? AND id <> ? ORDER BY id DESC LIMIT 1",
                               (key, SITE_COURSE_ID)).fetchone()
        if row is None:
            courseid, status = _create_course(ctx, course, category), "created"
        else:
            courseid = int(row["id"])
            status = "updated" if _update_course(ctx, row, course) else "unchanged"
        _link_class(ctx, key, courseid)
        results.append(_result(key, status, courseid=courseid))
    return {"results": results}


# ------------------------------------------------------------------ enrolments

def _manual_instance(ctx: CallContext, courseid: int) -> int:
    row = ctx.conn.execute("SELECT id FROM mdl_enrol WHERE courseid = ? AND enrol = 'manual' ORDER BY id LIMIT 1",
                           (courseid,)).fetchone()
    if row:
        return int(row[0])
    return inserted_id(ctx.conn.execute("INSERT INTO mdl_enrol (enrol, courseid, status, roleid) VALUES ('manual', ?, 0, ?)",
                                        (courseid, ROLES["student"])))


def change_enrolment(ctx: CallContext, courseid: int, userid: int, role: str, action: str) -> str:
    """Enrol, unenrol or suspend one user in one course; the status word it results in."""
    conn = ctx.conn
    enrolid = _manual_instance(ctx, courseid)
    contextid = context_id(conn, CONTEXT_COURSE, courseid)
    roleid = ROLES[role]
    ue = conn.execute("SELECT id, status FROM mdl_user_enrolments WHERE enrolid = ? AND userid = ?", (enrolid, userid)).fetchone()
    has_role = conn.execute("SELECT 1 FROM mdl_role_assignments WHERE roleid = ? AND contextid = ? AND userid = ?",
                            (roleid, contextid, userid)).fetchone() is not None
    if action == "enrol":
        changed = False
        if ue is None:
            conn.execute("INSERT INTO mdl_user_enrolments (enrolid, userid, status, timestart, timecreated, timemodified) "
                         "VALUES (?, ?, 0, ?, ?, ?)", (enrolid, userid, ctx.now, ctx.now, ctx.now))
            changed = True
        elif ue["status"] != 0:
            conn.execute("UPDATE mdl_user_enrolments SET status = 0, timemodified = ? WHERE id = ?", (ctx.now, ue["id"]))
            changed = True
        if not has_role:
            conn.execute("INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified) VALUES (?, ?, ?, ?)",
                         (roleid, contextid, userid, ctx.now))
            changed = True
        return "enrolled" if changed else "unchanged"
    if action == "suspend":
        if ue is None or ue["status"] == 1:
            return "unchanged"
        conn.execute("UPDATE mdl_user_enrolments SET status = 1, timemodified = ? WHERE id = ?", (ctx.now, ue["id"]))
        return "suspended"
    # unenrol: drop this role; drop the enrolment when no role is left in the course
    removed = False
    if has_role:
        conn.execute("DELETE FROM mdl_role_assignments WHERE roleid = ? AND contextid = ? AND userid = ?", (roleid, contextid, userid))
        removed = True
    others = conn.execute("SELECT 1 FROM mdl_role_assignments WHERE contextid = ? AND userid = ?", (contextid, userid)).fetchone()
    if ue is not None and others is None:
        conn.execute("DELETE FROM mdl_user_enrolments WHERE id = ?", (ue["id"],))
        removed = True
    return "unenrolled" if removed else "unchanged"


def set_enrolments(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    items = args["enrolments"]
    idnumbers = sorted({e["courseidnumber"] for e in items})
    courses: dict[str, int] = {}
    if idnumbers:
        marks = ", ".join("?" * len(idnumbers))
        for row in ctx.conn.execute(f"SELECT id, idnumber FROM mdl_course WHERE idnumber IN ({marks}) AND id <> ? ORDER BY id DESC",
                                    (*idnumbers, SITE_COURSE_ID)):
            courses[row["idnumber"]] = int(row["id"])
    userids = sorted({e["userid"] for e in items})
    users: set[int] = set()
    if userids:
        marks = ", ".join("?" * len(userids))
        users = {int(r[0]) for r in ctx.conn.execute(f"SELECT id FROM mdl_user WHERE deleted = 0 AND id IN ({marks})", userids)}
    results = []
    for item in items:
        key = f"{item['courseidnumber']}:{item['userid']}:{item['role']}"
        problem = _enrolment_problem(item, courses, users)
        if problem:
            results.append(_result(key, "error", *problem))
            continue
        status = change_enrolment(ctx, courses[item["courseidnumber"]], item["userid"], item["role"], item["action"])
        results.append(_result(key, status))
    return {"results": results}


def _enrolment_problem(item: dict[str, Any], courses: dict[str, int], users: set[int]) -> tuple[str, str] | None:
    if item["role"] not in ("student", "editingteacher"):
        return "invalidrole", f"role must be student or editingteacher, not {item['role']!r}"
    if item["action"] not in ENROL_ACTIONS:
        return "invalidaction", f"action must be one of {', '.join(ENROL_ACTIONS)}, not {item['action']!r}"
    if item["courseidnumber"] not in courses:
        return "coursenotfound", f"no course has idnumber {item['courseidnumber']!r}"
    if item["userid"] not in users:
        return "usernotfound", f"no active user has id {item['userid']}"
    return None


# ------------------------------------------------------------------ core_course_get_courses_by_field

COURSE_FIELDS = ("id", "ids", "shortname", "idnumber", "category", "")


def get_courses_by_field(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    field, value = args["field"], args["value"]
    if field not in COURSE_FIELDS:
        raise InvalidParameter(f"field => Invalid parameter value detected: unknown field {field!r}")
    sql = "SELECT c.*, cc.name AS categoryname FROM mdl_course c LEFT JOIN mdl_course_categories cc ON cc.id = c.category WHERE c.id <> ?"
    params: list[Any] = [SITE_COURSE_ID]
    if field == "ids":
        ids = [int(v) for v in str(value).split(",") if v.strip().isdigit()]
        sql += f" AND c.id IN ({', '.join('?' * len(ids)) or 'NULL'})"
        params += ids
    elif field:
        column = {"category": "category"}.get(field, field)
        sql += f" AND c.{column} = ?"
        params.append(value)
    courses = []
    for row in ctx.conn.execute(sql + " ORDER BY c.id", params):
        courses.append({
            "id": row["id"], "fullname": row["fullname"], "displayname": row["fullname"], "shortname": row["shortname"],
            "categoryid": row["category"], "categoryname": row["categoryname"] or "", "idnumber": row["idnumber"],
            "startdate": row["startdate"], "enddate": row["enddate"], "visible": row["visible"],
            "timecreated": row["timecreated"], "timemodified": row["timemodified"], "format": "topics",
            "summary": "", "summaryformat": 1,
        })
    return {"courses": courses, "warnings": []}


# ------------------------------------------------------------------ local_mzi_get_courses

#: what local_mzi_get_courses returns per course (the fields mzi's course resource reads)
GET_COURSE_KEYS = ("id", "idnumber", "fullname", "shortname", "category", "startdate", "enddate", "visible", "classlinked")
MAX_COURSE_PAGE = 5000


def get_courses(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Courses with an idnumber, by id after ``afterid``; only ``idnumbers`` when given."""
    limit = args["limit"]
    if not 1 <= limit <= MAX_COURSE_PAGE:
        raise InvalidParameter(f"limit => Invalid parameter value detected: limit must be between 1 and "
                               f"{MAX_COURSE_PAGE}, got {limit}")
    where, values = ["c.id > ?", "c.id <> ?", "c.idnumber <> ''"], [args["afterid"], SITE_COURSE_ID]
    wanted = [i for i in args["idnumbers"] if i != ""]
    if args["idnumbers"]:
        if not wanted:
            return {"courses": [], "nextafterid": args["afterid"], "hasmore": False}
        where.append(f"c.idnumber IN ({', '.join('?' * len(wanted))})")
        values += wanted
    columns = ", ".join(f"c.{k}" for k in GET_COURSE_KEYS if k != "classlinked")
    rows = ctx.conn.execute(
        f"SELECT {columns}, CASE WHEN mc.moodle_class_id = c.id THEN 1 ELSE 0 END AS classlinked "
        f"FROM mdl_course c LEFT JOIN mdl_local_mzi_classes mc ON mc.zoho_class_id = c.idnumber "
        f"WHERE {' AND '.join(where)} ORDER BY c.id LIMIT ?", values + [limit + 1]).fetchall()
    page = rows[:limit]
    return {"courses": [{k: row[k] for k in GET_COURSE_KEYS} for row in page],
            "nextafterid": int(page[-1]["id"]) if page else args["afterid"], "hasmore": len(rows) > limit}


# ------------------------------------------------------------------ local_mzi_get_enrolments

#: what local_mzi_get_enrolments returns per user enrolment (mzi's enrolment resources read it)
GET_ENROLMENT_KEYS = ("id", "courseidnumber", "userid", "status", "roles")
ENROL_STATUS = {0: "active", 1: "suspended"}


def get_enrolments(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Manual enrolments in courses with an idnumber, by user enrolment id after ``afterid``;
    each with its status and the roles its user holds in the course (only ``idnumbers`` when given)."""
    limit = args["limit"]
    if not 1 <= limit <= MAX_COURSE_PAGE:
        raise InvalidParameter(f"limit => Invalid parameter value detected: limit must be between 1 and "
                               f"{MAX_COURSE_PAGE}, got {limit}")
    where = ["ue.id > ?", "e.enrol = 'manual'", "c.id <> ?", "c.idnumber <> ''"]
    values: list[Any] = [args["afterid"], SITE_COURSE_ID]
    wanted = [i for i in args["idnumbers"] if i != ""]
    if args["idnumbers"]:
        if not wanted:
            return {"enrolments": [], "nextafterid": args["afterid"], "hasmore": False}
        where.append(f"c.idnumber IN ({', '.join('?' * len(wanted))})")
        values += wanted
    rows = ctx.conn.execute(
        "SELECT ue.id, c.id AS courseid, c.idnumber AS courseidnumber, ue.userid, ue.status FROM mdl_user_enrolments ue "
        "JOIN mdl_enrol e ON e.id = ue.enrolid JOIN mdl_course c ON c.id = e.courseid "
        f"WHERE {' AND '.join(where)} ORDER BY ue.id LIMIT ?", values + [limit + 1]).fetchall()
    page = rows[:limit]
    enrolments = []
    for row in page:
        roles = [r[0] for r in ctx.conn.execute(
            "SELECT r.shortname FROM mdl_role_assignments ra JOIN mdl_role r ON r.id = ra.roleid "
            "JOIN mdl_context cx ON cx.id = ra.contextid AND cx.contextlevel = ? AND cx.instanceid = ? "
            "WHERE ra.userid = ? ORDER BY r.shortname", (CONTEXT_COURSE, row["courseid"], row["userid"]))]
        enrolments.append({"id": int(row["id"]), "courseidnumber": row["courseidnumber"], "userid": int(row["userid"]),
                           "status": ENROL_STATUS.get(int(row["status"]), "suspended"), "roles": roles})
    return {"enrolments": enrolments, "nextafterid": int(page[-1]["id"]) if page else args["afterid"],
            "hasmore": len(rows) > limit}


# ------------------------------------------------------------------ core_course_get_categories

CATEGORY_CRITERIA = ("id", "ids", "name")


def get_categories(ctx: CallContext, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Core's category list, filtered by id, ids or name (what mzi doctor asks)."""
    where, values = ["1 = 1"], []
    for criterion in args["criteria"]:
        key, value = criterion["key"], criterion["value"]
        if key not in CATEGORY_CRITERIA:
            raise InvalidParameter(f"criteria => Invalid parameter value detected: unknown criterion {key!r}")
        if key == "ids":
            ids = [int(v) for v in str(value).split(",") if v.strip().isdigit()]
            where.append(f"id IN ({', '.join('?' * len(ids)) or 'NULL'})")
            values += ids
        else:
            where.append(f"{key} = ?")
            values.append(int(value) if key == "id" and str(value).strip().isdigit() else value)
    rows = ctx.conn.execute(f"SELECT id, name FROM mdl_course_categories WHERE {' AND '.join(where)} ORDER BY id",
                            values).fetchall()
    return [{"id": int(r["id"]), "name": r["name"], "idnumber": "", "description": "", "descriptionformat": 1,
             "parent": 0, "sortorder": int(r["id"]) * 10000, "coursecount": _course_count(ctx, int(r["id"])),
             "visible": 1, "visibleold": 1, "timemodified": 0, "depth": 1, "path": f"/{r['id']}", "theme": ""}
            for r in rows]


def _course_count(ctx: CallContext, category: int) -> int:
    return int(ctx.conn.execute("SELECT COUNT(*) FROM mdl_course WHERE category = ?", (category,)).fetchone()[0])


# ------------------------------------------------------------------ registry

CATEGORY_KEYS = ("id", "name", "idnumber", "description", "descriptionformat", "parent", "sortorder", "coursecount",
                 "visible", "visibleold", "timemodified", "depth", "path", "theme")
CATEGORY_INTS = ("id", "descriptionformat", "parent", "sortorder", "coursecount", "visible", "visibleold",
                 "timemodified", "depth")

def course_functions() -> list[WsFunction]:
    result_keys = {"key": Value(PARAM_RAW, "idnumber"), "status": Value(PARAM_RAW, "status"),
                   "courseid": Value(PARAM_INT, "course id, 0 on error"),
                   "errorcode": Value(PARAM_RAW, "errorcode"), "message": Value(PARAM_RAW, "message")}
    enrol_keys = {k: v for k, v in result_keys.items() if k != "courseid"}
    course_desc = Single({
        "id": Value(PARAM_INT, "id"), "fullname": Value(PARAM_RAW, "fullname"), "displayname": Value(PARAM_RAW, "displayname"),
        "shortname": Value(PARAM_RAW, "shortname"), "categoryid": Value(PARAM_INT, "categoryid"),
        "categoryname": Value(PARAM_RAW, "categoryname"), "idnumber": Value(PARAM_RAW, "idnumber"),
        "startdate": Value(PARAM_INT, "startdate"), "enddate": Value(PARAM_INT, "enddate"),
        "visible": Value(PARAM_INT, "visible"), "timecreated": Value(PARAM_INT, "timecreated"),
        "timemodified": Value(PARAM_INT, "timemodified"), "format": Value(PARAM_RAW, "format"),
        "summary": Value(PARAM_RAW, "summary"), "summaryformat": Value(PARAM_INT, "summaryformat"),
    })
    warning = Single({"item": Value(PARAM_RAW, "item"), "itemid": Value(PARAM_INT, "itemid"),
                      "warningcode": Value(PARAM_RAW, "warningcode"), "message": Value(PARAM_RAW, "message")})
    category = Single({k: Value(PARAM_INT if k in CATEGORY_INTS else PARAM_RAW, k) for k in CATEGORY_KEYS})
    return [
        WsFunction(
            "local_mzi_get_courses",
            Single({"afterid": Value(PARAM_INT, "courses with id > afterid", VALUE_DEFAULT, 0),
                    "limit": Value(PARAM_INT, "page size 1..5000", VALUE_DEFAULT, 1000),
                    "idnumbers": Multiple(Value(PARAM_RAW, "idnumber"), "only these; empty = all", VALUE_DEFAULT, [])}),
            Single({"courses": Multiple(Single({k: Value(PARAM_RAW if k in ("idnumber", "fullname", "shortname")
                                                         else PARAM_INT, k) for k in GET_COURSE_KEYS})),
                    "nextafterid": Value(PARAM_INT, "afterid of the next page"),
                    "hasmore": Value(PARAM_BOOL, "more courses after this page")}),
            get_courses, capabilities=(MANAGE,), records_result="courses"),
        WsFunction(
            "local_mzi_get_enrolments",
            Single({"afterid": Value(PARAM_INT, "user enrolments with id > afterid", VALUE_DEFAULT, 0),
                    "limit": Value(PARAM_INT, "page size 1..5000", VALUE_DEFAULT, 1000),
                    "idnumbers": Multiple(Value(PARAM_RAW, "course idnumber"), "only these courses; empty = all",
                                          VALUE_DEFAULT, [])}),
            Single({"enrolments": Multiple(Single({
                        "id": Value(PARAM_INT, "user enrolment id"), "courseidnumber": Value(PARAM_RAW, "course idnumber"),
                        "userid": Value(PARAM_INT, "user id"), "status": Value(PARAM_RAW, "active|suspended"),
                        "roles": Multiple(Value(PARAM_RAW, "role shortname"))})),
                    "nextafterid": Value(PARAM_INT, "afterid of the next page"),
                    "hasmore": Value(PARAM_BOOL, "more enrolments after this page")}),
            get_enrolments, capabilities=(MANAGE,), records_result="enrolments"),
        WsFunction(
            "core_course_get_categories",
            Single({"criteria": Multiple(Single({"key": Value(PARAM_RAW, "key"), "value": Value(PARAM_RAW, "value")}),
                                         "criteria", VALUE_DEFAULT, []),
                    "addsubcategories": Value(PARAM_INT, "include subcategories", VALUE_DEFAULT, 1)}),
            Multiple(category), get_categories, capabilities=()),
        WsFunction(
            "local_mzi_ensure_courses",
            Single({"courses": Multiple(Single({
                "idnumber": Value(PARAM_RAW, "Zoho class id"), "fullname": Value(PARAM_RAW, "fullname"),
                "shortname": Value(PARAM_RAW, "shortname"),
                "categoryid": Value(PARAM_INT, "category, 0 = plugin setting", VALUE_DEFAULT, 0),
                "startdate": Value(PARAM_INT, "startdate", VALUE_DEFAULT, 0),
                "enddate": Value(PARAM_INT, "enddate", VALUE_DEFAULT, 0),
                "visible": Value(PARAM_INT, "visible 0|1", VALUE_DEFAULT, 1),
            }))}),
            Single({"results": Multiple(Single(result_keys))}),
            ensure_courses, capabilities=(MANAGE,), is_write=True, records_param="courses"),
        WsFunction(
            "local_mzi_set_enrolments",
            Single({"enrolments": Multiple(Single({
                "courseidnumber": Value(PARAM_RAW, "course idnumber (Zoho class id)"),
                "userid": Value(PARAM_INT, "Moodle user id"),
                "role": Value(PARAM_RAW, "student|editingteacher"),
                "action": Value(PARAM_RAW, "enrol|unenrol|suspend"),
            }))}),
            Single({"results": Multiple(Single(enrol_keys))}),
            set_enrolments, capabilities=(MANAGE, "enrol/manual:enrol"), is_write=True, records_param="enrolments"),
        WsFunction(
            "core_course_get_courses_by_field",
            Single({"field": Value(PARAM_RAW, "field", VALUE_DEFAULT, ""), "value": Value(PARAM_RAW, "value", VALUE_DEFAULT, "")}),
            Single({"courses": Multiple(course_desc), "warnings": Multiple(warning)}),
            get_courses_by_field, capabilities=(), records_result="courses"),
    ]
