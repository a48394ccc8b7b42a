"""Assignment grades and BTEC grading forms: what ``local_mzi`` reads from and writes to mod_assign.

``local_mzi_get_assignment_grades`` pages the latest graded attempt of each student on each
assignment of a course that is a class (its idnumber is a ``local_mzi_classes`` row), with
what mzi needs to build a Zoho ``BTEC_Grades`` record: the student's and class's Zoho ids,
the raw grade and its scale item, the attempts, the deadline, the grader and whether they
hold the Internal Verifier role in the course, the feedback comment as text, and the
marking guide's fillings (one per criterion).

``local_mzi_get_grading_forms`` / ``local_mzi_ensure_grading_forms`` read and set the
marking guide of every assignment of a class's course from the unit's criteria, as the
plugin does through Moodle's grading manager (``get_grading_manager`` → the guide
controller's ``update_definition``): a criterion keeps its row when its shortname stays,
new ones are added, gone ones removed. An assignment graded by another method (a rubric,
or a guide the teacher made, i.e. not named :data:`FORM_NAME`) is left alone and named in
the result. Tables and columns are Moodle's own (``db.py``).
"""

from __future__ import annotations

import html
import re
from typing import Any

from .db import CONTEXT_COURSE, CONTEXT_MODULE, IV_ROLE, SITE_COURSE_ID, context_id, inserted_id
from .external import PARAM_BOOL, PARAM_INT, PARAM_RAW, VALUE_DEFAULT, InvalidParameter, Multiple, Single, Value
from .registry import MANAGE, CallContext, WsFunction

MAX_PAGE = 5000
#: the name of the marking guide mzi makes; a guide with another name is a teacher's own
FORM_NAME = "BTEC unit criteria (mzi)"
COMPONENT, AREA, METHOD = "mod_assign", "submissions", "guide"
#: gradingform_controller::DEFINITION_STATUS_READY; gradingform_instance statuses
DEFINITION_READY = 20
INSTANCE_ACTIVE, INSTANCE_NEEDUPDATE = 1, 2
_KEY = re.compile(r"^(\d+)_(\d+)$")
_TAG = re.compile(r"<[^>]+>")

GRADE_KEYS = ("compositekey", "gradeid", "userid", "assignmentid", "assignmentname", "courseid", "courseidnumber",
              "zohostudentid", "studentstatus", "studentname", "classname", "classstatus", "unitname", "rawgrade",
              "maxgrade", "scaleitem", "attemptnumber", "attemptdate", "duedate", "resubmittedat", "graderid",
              "gradername", "graderisiv", "feedback", "workflowstate", "markingworkflow", "timemodified")
GRADE_INTS = ("gradeid", "userid", "assignmentid", "courseid", "maxgrade", "attemptnumber", "attemptdate", "duedate",
              "resubmittedat", "graderid", "markingworkflow", "timemodified")
OUTCOME_KEYS = ("shortname", "description", "score", "maxscore", "remark")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidParameter(f"limit => Invalid parameter value detected: limit must be between 1 and {MAX_PAGE}, "
                               f"got {limit}")


def plain_text(text: str | None) -> str:
    """A feedback comment as text (the plugin's ``content_to_text``): tags dropped, entities read."""
    if not text:
        return ""
    spaced = re.sub(r"(?i)<br\s*/?>|</p>", "\n", text)
    return html.unescape(_TAG.sub("", spaced)).strip()


def _grade_number(value: Any) -> float:
    return float(value) if value not in (None, "") else -1.0


# ------------------------------------------------------------------ reading grades

def _parse_keys(keys: list[str]) -> set[tuple[int, int]]:
    pairs = set()
    for key in keys:
        match = _KEY.match(key)
        if match is None:
            raise InvalidParameter(f"keys => Invalid parameter value detected: {key!r} is not "
                                   "{moodle user id}_{assignment id}")
        pairs.add((int(match.group(1)), int(match.group(2))))
    return pairs


def _candidate_rows(ctx: CallContext, args: dict[str, Any], pairs: set[tuple[int, int]] | None) -> list[Any]:
    """Latest graded attempt per (assignment, user) in class courses, by grade id after ``afterid``."""
    where = ["ag.id > ?", "c.id <> ?", "c.idnumber <> ''",
             "CAST(ag.grade AS REAL) >= (CASE WHEN a.grade < 0 THEN 1 ELSE 0 END)",
             "ag.attemptnumber = (SELECT MAX(g2.attemptnumber) FROM mdl_assign_grades g2 WHERE g2.assignment = "
             "ag.assignment AND g2.userid = ag.userid AND CAST(g2.grade AS REAL) >= "
             "(CASE WHEN a.grade < 0 THEN 1 ELSE 0 END))"]
    values: list[Any] = [args["afterid"], SITE_COURSE_ID]
    if pairs is not None:
        users, assignments = sorted({u for u, _ in pairs}), sorted({a for _, a in pairs})
        where.append(f"ag.userid IN ({', '.join('?' * len(users))})")
        where.append(f"ag.assignment IN ({', '.join('?' * len(assignments))})")
        values += users + assignments
    since = args["modifiedsince"]
    if since > 0:
        # a grade, a submission after it, or a deadline passed since then (a refer becomes RR by time alone)
        where.append("(ag.timemodified > ? OR EXISTS (SELECT 1 FROM mdl_assign_submission s2 WHERE s2.assignment = "
                     "ag.assignment AND s2.userid = ag.userid AND s2.timemodified > ?) OR (COALESCE(NULLIF("
                     "uf.extensionduedate, 0), a.duedate) > ? AND COALESCE(NULLIF(uf.extensionduedate, 0), a.duedate) "
                     "<= ?))")
        values += [since, since, since, ctx.now]
    sql = ("SELECT ag.id AS gradeid, ag.assignment AS assignmentid, ag.userid, ag.grade AS rawgrade, ag.grader, "
           "ag.attemptnumber, ag.timemodified, a.name AS assignmentname, a.course AS courseid, a.grade AS maxgrade, "
           "a.duedate, a.markingworkflow, c.idnumber AS courseidnumber, c.fullname AS coursename, "
           "k.class_name, k.class_status, k.unit_name, u.firstname, u.lastname, "
           "COALESCE(uf.workflowstate, '') AS workflowstate, COALESCE(uf.extensionduedate, 0) AS extensionduedate "
           "FROM mdl_assign_grades ag JOIN mdl_assign a ON a.id = ag.assignment "
           "JOIN mdl_course c ON c.id = a.course JOIN mdl_local_mzi_classes k ON k.zoho_class_id = c.idnumber "
           "JOIN mdl_user u ON u.id = ag.userid "
           "LEFT JOIN mdl_assign_user_flags uf ON uf.assignment = ag.assignment AND uf.userid = ag.userid "
           f"WHERE {' AND '.join(where)} ORDER BY ag.id LIMIT ?")
    return ctx.conn.execute(sql, values + [args["limit"] + 1]).fetchall()


def _students(ctx: CallContext, userids: list[int]) -> dict[int, Any]:
    """The student mirror row of each user: a live row before a deleted one, then the newest."""
    if not userids:
        return {}
    rows = ctx.conn.execute(
        f"SELECT id, moodle_user_id, zoho_student_id, status FROM mdl_local_mzi_students WHERE moodle_user_id IN "
        f"({', '.join('?' * len(userids))}) ORDER BY CASE WHEN status = 'Deleted' THEN 1 ELSE 0 END DESC, id",
        userids).fetchall()
    return {int(r["moodle_user_id"]): r for r in rows}  # the last one wins: live, newest


def _holds_role(ctx: CallContext, userid: int, courseid: int, role: str) -> bool:
    return ctx.conn.execute(
        "SELECT 1 FROM mdl_role_assignments ra JOIN mdl_role r ON r.id = ra.roleid JOIN mdl_context cx "
        "ON cx.id = ra.contextid AND cx.contextlevel = ? AND cx.instanceid = ? WHERE ra.userid = ? AND r.shortname = ?",
        (CONTEXT_COURSE, courseid, userid, role)).fetchone() is not None


def _submission_time(ctx: CallContext, row: Any, attempt: int, *, later: bool) -> int:
    """When the student submitted ``attempt`` (``later``: the first attempt after it); 0 = not submitted."""
    op = ">" if later else "="
    found = ctx.conn.execute(
        f"SELECT MIN(timemodified) FROM mdl_assign_submission WHERE assignment = ? AND userid = ? AND attemptnumber "
        f"{op} ? AND status = 'submitted'", (row["assignmentid"], row["userid"], attempt)).fetchone()
    return int(found[0] or 0)


def _scale_item(ctx: CallContext, maxgrade: int, raw: Any) -> str:
    if maxgrade >= 0:
        return ""
    scale = ctx.conn.execute("SELECT scale FROM mdl_scale WHERE id = ?", (-maxgrade,)).fetchone()
    items = [i.strip() for i in str(scale[0]).split(",")] if scale else []
    index = int(_grade_number(raw))
    return items[index - 1] if 1 <= index <= len(items) else ""


def _module_context(ctx: CallContext, assignmentid: int) -> int | None:
    cm = ctx.conn.execute("SELECT cm.id FROM mdl_course_modules cm JOIN mdl_modules m ON m.id = cm.module "
                          "AND m.name = 'assign' WHERE cm.instance = ?", (assignmentid,)).fetchone()
    return context_id(ctx.conn, CONTEXT_MODULE, int(cm[0])) if cm else None


def _outcomes(ctx: CallContext, row: Any) -> list[dict[str, Any]]:
    """The marking guide filled for this grade: every criterion, with its filling if any."""
    contextid = _module_context(ctx, int(row["assignmentid"]))
    if contextid is None:
        return []
    instance = ctx.conn.execute(
        "SELECT gi.id, gi.definitionid FROM mdl_grading_instances gi JOIN mdl_grading_definitions gd "
        "ON gd.id = gi.definitionid AND gd.method = ? JOIN mdl_grading_areas ga ON ga.id = gd.areaid "
        "AND ga.contextid = ? AND ga.component = ? AND ga.areaname = ? WHERE gi.itemid = ? AND gi.status IN (?, ?) "
        "ORDER BY gi.timemodified DESC, gi.id DESC LIMIT 1",
        (METHOD, contextid, COMPONENT, AREA, row["gradeid"], INSTANCE_ACTIVE, INSTANCE_NEEDUPDATE)).fetchone()
    if instance is None:
        return []
    rows = ctx.conn.execute(
        "SELECT c.shortname, c.description, c.maxscore, f.score, f.remark FROM mdl_gradingform_guide_criteria c "
        "LEFT JOIN mdl_gradingform_guide_fillings f ON f.criterionid = c.id AND f.instanceid = ? "
        "WHERE c.definitionid = ? ORDER BY c.sortorder, c.id", (instance["id"], instance["definitionid"])).fetchall()
    return [{"shortname": r["shortname"], "description": plain_text(r["description"]),
             "score": "" if r["score"] is None else str(r["score"]), "maxscore": str(r["maxscore"]),
             "remark": plain_text(r["remark"])} for r in rows]


def get_assignment_grades(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """One page of grades (see the module docstring); ``keys`` limits it to those composite keys."""
    _check_limit(args["limit"])
    pairs = _parse_keys(args["keys"]) if args["keys"] else None
    rows = _candidate_rows(ctx, args, pairs)
    cut = rows[:args["limit"]]
    # the exact pairs are kept after the page is cut, so the next page starts after this one
    page = [r for r in cut if pairs is None or (int(r["userid"]), int(r["assignmentid"])) in pairs]
    students = _students(ctx, sorted({int(r["userid"]) for r in page}))
    graders = {int(r["grader"]) for r in page if int(r["grader"] or 0) > 0}
    names = {int(u["id"]): f"{u['firstname']} {u['lastname']}".strip() for u in ctx.conn.execute(
        f"SELECT id, firstname, lastname FROM mdl_user WHERE id IN ({', '.join('?' * len(graders)) or 'NULL'})",
        sorted(graders))}
    role = args["ivrole"] or IV_ROLE
    grades = []
    for row in page:
        student = students.get(int(row["userid"]))
        grader = int(row["grader"] or 0)
        attempt = int(row["attemptnumber"])
        feedback = ctx.conn.execute("SELECT commenttext FROM mdl_assignfeedback_comments WHERE grade = ? "
                                    "ORDER BY id DESC LIMIT 1", (row["gradeid"],)).fetchone()
        grades.append({
            "compositekey": f"{row['userid']}_{row['assignmentid']}", "gradeid": int(row["gradeid"]),
            "userid": int(row["userid"]), "assignmentid": int(row["assignmentid"]),
            "assignmentname": row["assignmentname"], "courseid": int(row["courseid"]),
            "courseidnumber": row["courseidnumber"],
            "zohostudentid": str(student["zoho_student_id"]) if student else "",
            "studentstatus": str(student["status"] or "") if student else "",
            "studentname": f"{row['firstname']} {row['lastname']}".strip(),
            "classname": row["class_name"] or row["coursename"], "classstatus": row["class_status"] or "",
            "unitname": row["unit_name"] or "", "rawgrade": str(row["rawgrade"]), "maxgrade": int(row["maxgrade"]),
            "scaleitem": _scale_item(ctx, int(row["maxgrade"]), row["rawgrade"]), "attemptnumber": attempt,
            "attemptdate": _submission_time(ctx, row, attempt, later=False) or int(row["timemodified"]),
            "duedate": int(row["extensionduedate"] or 0) or int(row["duedate"] or 0),
            "resubmittedat": _submission_time(ctx, row, attempt, later=True),
            "graderid": grader, "gradername": names.get(grader, ""),
            "graderisiv": grader > 0 and _holds_role(ctx, grader, int(row["courseid"]), role),
            "feedback": plain_text(feedback[0] if feedback else ""), "workflowstate": row["workflowstate"],
            "markingworkflow": int(row["markingworkflow"]), "timemodified": int(row["timemodified"]),
            "outcomes": _outcomes(ctx, row),
        })
    return {"grades": grades, "nextafterid": int(cut[-1]["gradeid"]) if cut else args["afterid"],
            "hasmore": len(rows) > args["limit"]}


# ------------------------------------------------------------------ grading forms

def _assignments(ctx: CallContext, courseid: int) -> list[Any]:
    return ctx.conn.execute(
        "SELECT a.id, a.name, cm.id AS cmid FROM mdl_assign a JOIN mdl_course_modules cm ON cm.instance = a.id "
        "AND cm.deletioninprogress = 0 JOIN mdl_modules m ON m.id = cm.module AND m.name = 'assign' "
        "WHERE a.course = ? ORDER BY a.id", (courseid,)).fetchall()


def _area(ctx: CallContext, cmid: int, *, create: bool) -> Any:
    """The assignment's grading area (``get_grading_manager($context, 'mod_assign', 'submissions')``)."""
    contextid = context_id(ctx.conn, CONTEXT_MODULE, cmid)
    area = ctx.conn.execute("SELECT * FROM mdl_grading_areas WHERE contextid = ? AND component = ? AND areaname = ?",
                            (contextid, COMPONENT, AREA)).fetchone()
    if area is None and create:
        ctx.conn.execute("INSERT INTO mdl_grading_areas (contextid, component, areaname, activemethod) "
                         "VALUES (?, ?, ?, NULL)", (contextid, COMPONENT, AREA))
        return _area(ctx, cmid, create=False)
    return area


def _definition(ctx: CallContext, areaid: int) -> Any:
    return ctx.conn.execute("SELECT * FROM mdl_grading_definitions WHERE areaid = ? AND method = ?",
                            (areaid, METHOD)).fetchone()


def _criteria(ctx: CallContext, definitionid: int) -> list[Any]:
    return ctx.conn.execute("SELECT * FROM mdl_gradingform_guide_criteria WHERE definitionid = ? "
                            "ORDER BY sortorder, id", (definitionid,)).fetchall()


def _form_of(ctx: CallContext, assignment: Any) -> dict[str, Any]:
    """One assignment's grading method as get_grading_forms reports it."""
    area = _area(ctx, int(assignment["cmid"]), create=False)
    method = str(area["activemethod"] or "") if area is not None else ""
    definition = _definition(ctx, int(area["id"])) if area is not None and method == METHOD else None
    name = str(definition["name"]) if definition is not None else ""
    managed = method == "" or (method == METHOD and (definition is None or name == FORM_NAME))
    criteria = [{"shortname": c["shortname"], "description": c["description"] or "",
                 "maxscore": str(c["maxscore"])} for c in _criteria(ctx, int(definition["id"]))] \
        if definition is not None else []
    return {"assignmentid": int(assignment["id"]), "name": assignment["name"], "activemethod": method,
            "formname": name, "managed": managed, "criteria": criteria}


def _class_courses(ctx: CallContext, afterid: int, idnumbers: list[str], limit: int) -> list[Any]:
    where = ["c.id > ?", "c.id <> ?", "c.idnumber <> ''"]
    values: list[Any] = [afterid, SITE_COURSE_ID]
    if idnumbers:
        where.append(f"c.idnumber IN ({', '.join('?' * len(idnumbers))})")
        values += idnumbers
    return ctx.conn.execute(
        "SELECT c.id, c.idnumber FROM mdl_course c JOIN mdl_local_mzi_classes k ON k.zoho_class_id = c.idnumber "
        f"WHERE {' AND '.join(where)} ORDER BY c.id LIMIT ?", values + [limit + 1]).fetchall()


def get_grading_forms(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    """Class courses by id after ``afterid``, each with the grading method of each assignment."""
    _check_limit(args["limit"])
    wanted = [i for i in args["idnumbers"] if i != ""]
    if args["idnumbers"] and not wanted:
        return {"courses": [], "nextafterid": args["afterid"], "hasmore": False}
    rows = _class_courses(ctx, args["afterid"], wanted, args["limit"])
    page = rows[:args["limit"]]
    courses = [{"idnumber": r["idnumber"], "courseid": int(r["id"]),
                "assignments": [_form_of(ctx, a) for a in _assignments(ctx, int(r["id"]))]} for r in page]
    return {"courses": courses, "nextafterid": int(page[-1]["id"]) if page else args["afterid"],
            "hasmore": len(rows) > args["limit"]}


def _save_guide(ctx: CallContext, areaid: int, criteria: list[dict[str, Any]]) -> bool:
    """``update_definition`` of the guide controller: rows kept by shortname; True when anything changed."""
    changed = False
    definition = _definition(ctx, areaid)
    if definition is None:
        definitionid = inserted_id(ctx.conn.execute(
            "INSERT INTO mdl_grading_definitions (areaid, method, name, description, descriptionformat, status, "
            "timecreated, usercreated, timemodified, usermodified, options) VALUES (?, ?, ?, '', 1, ?, ?, ?, ?, ?, ?)",
            (areaid, METHOD, FORM_NAME, DEFINITION_READY, ctx.now, ctx.userid, ctx.now, ctx.userid,
             '{"alwaysshowdefinition":1,"showmarkspercriterionstudents":1}')))
        changed = True
    else:
        definitionid = int(definition["id"])
        if definition["name"] != FORM_NAME or int(definition["status"]) != DEFINITION_READY:
            ctx.conn.execute("UPDATE mdl_grading_definitions SET name = ?, status = ? WHERE id = ?",
                             (FORM_NAME, DEFINITION_READY, definitionid))
            changed = True
    current = {c["shortname"]: c for c in _criteria(ctx, definitionid)}
    for order, criterion in enumerate(criteria, start=1):
        wanted = {"sortorder": order, "shortname": criterion["shortname"], "description": criterion["description"],
                  "descriptionmarkers": criterion["descriptionmarkers"], "maxscore": criterion["maxscore"]}
        have = current.pop(criterion["shortname"], None)
        if have is None:
            ctx.conn.execute(
                "INSERT INTO mdl_gradingform_guide_criteria (definitionid, sortorder, shortname, description, "
                "descriptionformat, descriptionmarkers, descriptionmarkersformat, maxscore) VALUES (?, ?, ?, ?, 1, ?, 1, ?)",
                (definitionid, order, wanted["shortname"], wanted["description"], wanted["descriptionmarkers"],
                 wanted["maxscore"]))
            changed = True
        elif any(str(have[k] if have[k] is not None else "") != str(v) for k, v in wanted.items()
                 if k != "maxscore") or float(have["maxscore"]) != float(wanted["maxscore"]):
            ctx.conn.execute("UPDATE mdl_gradingform_guide_criteria SET sortorder = ?, description = ?, "
                             "descriptionmarkers = ?, maxscore = ? WHERE id = ?",
                             (order, wanted["description"], wanted["descriptionmarkers"], wanted["maxscore"], have["id"]))
            changed = True
    for gone in current.values():
        ctx.conn.execute("DELETE FROM mdl_gradingform_guide_criteria WHERE id = ?", (gone["id"],))
        changed = True
    if changed:
        ctx.conn.execute("UPDATE mdl_grading_definitions SET timemodified = ?, usermodified = ? WHERE id = ?",
                         (ctx.now, ctx.userid, definitionid))
    return changed


def _ensure_form(ctx: CallContext, form: dict[str, Any]) -> dict[str, Any]:
    key = form["idnumber"]
    course = ctx.conn.execute("SELECT c.id FROM mdl_course c JOIN mdl_local_mzi_classes k ON k.zoho_class_id = "
                              "c.idnumber WHERE c.idnumber = ? AND c.id <> ? ORDER BY c.id DESC LIMIT 1",
                              (key, SITE_COURSE_ID)).fetchone()
    if course is None:
        return _result(key, "error", "coursenotfound", f"no course of a class has idnumber {key!r}")
    problem = _criteria_problem(form["criteria"])
    if problem:
        return _result(key, "error", "invalidcriteria", problem)
    assignments = _assignments(ctx, int(course["id"]))
    if not assignments:
        return _result(key, "error", "noassignments", "the course has no assignment to put a grading form on")
    changed, left = 0, []
    for assignment in assignments:
        state = _form_of(ctx, assignment)
        if not state["managed"]:
            left.append(f"{assignment['name']} ({state['activemethod']}"
                        + (f" {state['formname']!r}" if state["formname"] else "") + ")")
            continue
        area = _area(ctx, int(assignment["cmid"]), create=True)
        moved = area["activemethod"] != METHOD
        if moved:
            ctx.conn.execute("UPDATE mdl_grading_areas SET activemethod = ? WHERE id = ?", (METHOD, area["id"]))
        changed += int(_save_guide(ctx, int(area["id"]), form["criteria"]) or moved)
    message = f"left alone, graded by the teacher's own method: {'; '.join(left)}" if left else ""
    if len(left) == len(assignments):
        return _result(key, "error", "othermethod", message)
    return _result(key, "updated" if changed else "unchanged", "", message)


def _criteria_problem(criteria: list[dict[str, Any]]) -> str:
    names = [c["shortname"] for c in criteria]
    if not criteria:
        return "criteria must not be empty"
    if any(not n.strip() for n in names) or len(set(names)) != len(names):
        return "each criterion needs its own non-empty shortname"
    bad = [c["maxscore"] for c in criteria if not _positive(c["maxscore"])]
    return f"maxscore must be a positive number, not {bad[0]!r}" if bad else ""


def _positive(value: str) -> bool:
    try:
        return float(value) > 0
    except ValueError:
        return False


def _result(key: str, status: str, errorcode: str = "", message: str = "") -> dict[str, Any]:
    return {"key": key, "status": status, "errorcode": errorcode, "message": message}


def ensure_grading_forms(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"results": [_ensure_form(ctx, form) for form in args["forms"]]}


# ------------------------------------------------------------------ registry

def grading_functions() -> list[WsFunction]:
    outcome = Single({k: Value(PARAM_RAW, k) for k in OUTCOME_KEYS})
    grade = Single({**{k: Value(PARAM_INT if k in GRADE_INTS else PARAM_BOOL if k == "graderisiv" else PARAM_RAW, k)
                       for k in GRADE_KEYS}, "outcomes": Multiple(outcome)})
    criterion = Single({"shortname": Value(PARAM_RAW, "shortname"), "description": Value(PARAM_RAW, "description"),
                        "maxscore": Value(PARAM_RAW, "maxscore")})
    form = Single({"assignmentid": Value(PARAM_INT, "assignment id"), "name": Value(PARAM_RAW, "assignment name"),
                   "activemethod": Value(PARAM_RAW, "active grading method, empty = simple direct grading"),
                   "formname": Value(PARAM_RAW, "name of the guide definition"),
                   "managed": Value(PARAM_BOOL, "mzi may set this assignment's form"),
                   "criteria": Multiple(criterion)})
    page = {"afterid": Value(PARAM_INT, "after this id", VALUE_DEFAULT, 0),
            "limit": Value(PARAM_INT, "page size 1..5000", VALUE_DEFAULT, 1000)}
    return [
        WsFunction(
            "local_mzi_get_assignment_grades",
            Single({**page,
                    "keys": Multiple(Value(PARAM_RAW, "composite key"), "only these; empty = all", VALUE_DEFAULT, []),
                    "modifiedsince": Value(PARAM_INT, "only grades changed after it; 0 = all", VALUE_DEFAULT, 0),
                    "ivrole": Value(PARAM_RAW, "shortname of the Internal Verifier role", VALUE_DEFAULT, "")}),
            Single({"grades": Multiple(grade), "nextafterid": Value(PARAM_INT, "afterid of the next page"),
                    "hasmore": Value(PARAM_BOOL, "more after this page")}),
            get_assignment_grades, capabilities=(MANAGE,), records_result="grades"),
        WsFunction(
            "local_mzi_get_grading_forms",
            Single({**page, "idnumbers": Multiple(Value(PARAM_RAW, "course idnumber"), "only these; empty = all",
                                                  VALUE_DEFAULT, [])}),
            Single({"courses": Multiple(Single({"idnumber": Value(PARAM_RAW, "course idnumber"),
                                                "courseid": Value(PARAM_INT, "course id"),
                                                "assignments": Multiple(form)})),
                    "nextafterid": Value(PARAM_INT, "afterid of the next page"),
                    "hasmore": Value(PARAM_BOOL, "more after this page")}),
            get_grading_forms, capabilities=(MANAGE,), records_result="courses"),
        WsFunction(
            "local_mzi_ensure_grading_forms",
            Single({"forms": Multiple(Single({
                "idnumber": Value(PARAM_RAW, "course idnumber (Zoho class id)"),
                "criteria": Multiple(Single({"shortname": Value(PARAM_RAW, "shortname"),
                                             "description": Value(PARAM_RAW, "description for students"),
                                             "descriptionmarkers": Value(PARAM_RAW, "description for markers",
                                                                         VALUE_DEFAULT, ""),
                                             "maxscore": Value(PARAM_RAW, "maximum score")}))}))}),
            Single({"results": Multiple(Single({"key": Value(PARAM_RAW, "idnumber"), "status": Value(PARAM_RAW, "status"),
                                                "errorcode": Value(PARAM_RAW, "errorcode"),
                                                "message": Value(PARAM_RAW, "message")}))}),
            ensure_grading_forms, capabilities=(MANAGE, "moodle/grade:managegradingforms"), is_write=True,
            records_param="forms"),
    ]
