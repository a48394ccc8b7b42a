"""What teachers and students do in mod_assign, for the demo school and the tests.

Moodle has no web service that adds an activity or grades through a marking guide, so the
emulator's assignments, submissions, grades and guide fillings are made here, in Moodle's
own tables and the way Moodle fills them: an assignment is an ``assign`` row plus its
course module; a grade is an ``assign_grades`` row per attempt; grading through the guide
writes a ``grading_instances`` row (``itemid`` = the grade id) with one filling per
criterion; the feedback comment is an ``assignfeedback_comments`` row of the grade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from .db import CONTEXT_COURSE, CONTEXT_MODULE, ROLES, context_id, inserted_id
from .grading import DEFINITION_READY, FORM_NAME, INSTANCE_ACTIVE, METHOD, _area, _definition, _save_guide
from .registry import CallContext


@dataclass(frozen=True)
class Criterion:
    shortname: str
    description: str
    maxscore: str = "1"


def add_assignment(conn: sqlite3.Connection, courseid: int, name: str, *, duedate: int = 0, grade: int = 100,
                   markingworkflow: int = 0, now: int = 0, assignid: int | None = None) -> int:
    """An assignment in a course (``grade`` > 0: points out of it; < 0: ``-scale id``); ``assignid``
    chooses its id (the demo's, which Zoho's grades already name)."""
    assignid = inserted_id(conn.execute(
        "INSERT INTO mdl_assign (id, course, name, duedate, grade, attemptreopenmethod, markingworkflow, timemodified) "
        "VALUES (?, ?, ?, ?, ?, 'manual', ?, ?)", (assignid, courseid, name, duedate, grade, markingworkflow, now)))
    module = conn.execute("SELECT id FROM mdl_modules WHERE name = 'assign'").fetchone()
    cmid = inserted_id(conn.execute("INSERT INTO mdl_course_modules (course, module, instance) VALUES (?, ?, ?)",
                                    (courseid, int(module[0]), assignid)))
    context_id(conn, CONTEXT_MODULE, cmid)
    return assignid


def add_scale(conn: sqlite3.Connection, name: str, items: str, courseid: int = 0) -> int:
    return inserted_id(conn.execute("INSERT INTO mdl_scale (courseid, name, scale) VALUES (?, ?, ?)",
                                    (courseid, name, items)))


def set_guide(conn: sqlite3.Connection, assignid: int, criteria: list[Criterion], *, userid: int, now: int,
              name: str = FORM_NAME) -> int:
    """Make the assignment graded by a marking guide with these criteria; its definition id."""
    ctx = CallContext(conn, userid, now, None, 5000)  # type: ignore[arg-type]  # the schema is not used here
    area = _area(ctx, _cmid(conn, assignid), create=True)
    conn.execute("UPDATE mdl_grading_areas SET activemethod = ? WHERE id = ?", (METHOD, area["id"]))
    _save_guide(ctx, int(area["id"]), [{"shortname": c.shortname, "description": c.description,
                                        "descriptionmarkers": "", "maxscore": c.maxscore} for c in criteria])
    definition = _definition(ctx, int(area["id"]))
    if name != FORM_NAME:  # a teacher's own guide
        conn.execute("UPDATE mdl_grading_definitions SET name = ?, status = ? WHERE id = ?",
                     (name, DEFINITION_READY, definition["id"]))
    return int(definition["id"])


def set_method(conn: sqlite3.Connection, assignid: int, method: str) -> None:
    """A teacher switches the assignment to another grading method (``rubric``)."""
    ctx = CallContext(conn, 0, 0, None, 5000)  # type: ignore[arg-type]
    area = _area(ctx, _cmid(conn, assignid), create=True)
    conn.execute("UPDATE mdl_grading_areas SET activemethod = ? WHERE id = ?", (method, area["id"]))


def _cmid(conn: sqlite3.Connection, assignid: int) -> int:
    row = conn.execute("SELECT cm.id FROM mdl_course_modules cm JOIN mdl_modules m ON m.id = cm.module "
                       "AND m.name = 'assign' WHERE cm.instance = ?", (assignid,)).fetchone()
    return int(row[0])


def submit(conn: sqlite3.Connection, assignid: int, userid: int, attempt: int, when: int) -> None:
    """The student submits ``attempt`` (0 = the first); earlier attempts stop being the latest."""
    conn.execute("UPDATE mdl_assign_submission SET latest = 0 WHERE assignment = ? AND userid = ?", (assignid, userid))
    conn.execute("INSERT INTO mdl_assign_submission (assignment, userid, timecreated, timemodified, status, "
                 "attemptnumber, latest) VALUES (?, ?, ?, ?, 'submitted', ?, 1)", (assignid, userid, when, when, attempt))


def grade(conn: sqlite3.Connection, assignid: int, userid: int, value: str, *, grader: int, when: int,
          attempt: int = 0, feedback: str = "", fillings: Mapping[str, tuple[str, str]] | None = None) -> int:
    """Grade one attempt (a regrade of the same attempt updates its row); its grade id.

    ``fillings``: criterion shortname → (score, remark), written as a new active guide
    instance, the previous one archived — what gradingform_instance does on submit.
    """
    row = conn.execute("SELECT id FROM mdl_assign_grades WHERE assignment = ? AND userid = ? AND attemptnumber = ?",
                       (assignid, userid, attempt)).fetchone()
    if row is None:
        gradeid = inserted_id(conn.execute(
            "INSERT INTO mdl_assign_grades (assignment, userid, timecreated, timemodified, grader, grade, attemptnumber) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (assignid, userid, when, when, grader, value, attempt)))
    else:
        gradeid = int(row[0])
        conn.execute("UPDATE mdl_assign_grades SET grade = ?, grader = ?, timemodified = ? WHERE id = ?",
                     (value, grader, when, gradeid))
    conn.execute("DELETE FROM mdl_assignfeedback_comments WHERE grade = ?", (gradeid,))
    if feedback:
        conn.execute("INSERT INTO mdl_assignfeedback_comments (assignment, grade, commenttext, commentformat) "
                     "VALUES (?, ?, ?, 1)", (assignid, gradeid, feedback))
    if fillings is not None:
        _fill_guide(conn, assignid, gradeid, grader, when, fillings)
    return gradeid


def _fill_guide(conn: sqlite3.Connection, assignid: int, gradeid: int, rater: int, when: int,
                fillings: Mapping[str, tuple[str, str]]) -> None:
    ctx = CallContext(conn, rater, when, None, 5000)  # type: ignore[arg-type]
    area = _area(ctx, _cmid(conn, assignid), create=False)
    definition = _definition(ctx, int(area["id"])) if area is not None else None
    if definition is None:
        raise ValueError(f"assignment {assignid} has no marking guide to fill")
    conn.execute("UPDATE mdl_grading_instances SET status = 3 WHERE itemid = ? AND definitionid = ?",
                 (gradeid, definition["id"]))  # INSTANCE_STATUS_ARCHIVE
    instanceid = inserted_id(conn.execute(
        "INSERT INTO mdl_grading_instances (definitionid, raterid, itemid, status, timemodified) VALUES (?, ?, ?, ?, ?)",
        (definition["id"], rater, gradeid, INSTANCE_ACTIVE, when)))
    criteria = {r["shortname"]: int(r["id"]) for r in conn.execute(
        "SELECT id, shortname FROM mdl_gradingform_guide_criteria WHERE definitionid = ?", (definition["id"],))}
    for shortname, (score, remark) in fillings.items():
        conn.execute("INSERT INTO mdl_gradingform_guide_fillings (instanceid, criterionid, remark, remarkformat, score) "
                     "VALUES (?, ?, ?, 1, ?)", (instanceid, criteria[shortname], remark, score))


def give_role(conn: sqlite3.Connection, userid: int, courseid: int, role: str, now: int = 0) -> None:
    """A role in the course context (the Internal Verifier's, say), without an enrolment."""
    conn.execute("INSERT OR IGNORE INTO mdl_role_assignments (roleid, contextid, userid, timemodified) "
                 "VALUES (?, ?, ?, ?)", (ROLES[role], context_id(conn, CONTEXT_COURSE, courseid), userid, now))


def extend(conn: sqlite3.Connection, assignid: int, userid: int, until: int, workflowstate: str = "") -> None:
    """A per-student deadline (the resubmission's after a refer) and/or marking workflow state."""
    conn.execute("INSERT INTO mdl_assign_user_flags (userid, assignment, workflowstate, extensionduedate) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT (userid, assignment) DO UPDATE SET "
                 "extensionduedate = excluded.extensionduedate, workflowstate = excluded.workflowstate",
                 (userid, assignid, workflowstate, until))
