"""The demo school's course enrolments: some in place, some missing, one suspended by hand.

Like the mirror tables and courses, enrolments start partly in sync so the first plan shows
each case: enrollments whose student is already enrolled in the class's course (nothing to
do), ones not enrolled yet (a create), one suspended in Moodle by hand (drift: an update
that re-activates it), and classes whose teacher is already enrolled as editing teacher.
Only what Moodle can hold is made: a linked student or teacher and a course with the
class's idnumber. Enrolments are made as the plugin makes them (the emulator's own
``change_enrolment``), so the first apply and the plugin agree on every row.
"""

from __future__ import annotations

import random
import sqlite3

#: enrolled already, in turn: 2 in 3 of the enrollments (and teachers) Moodle can hold
PATTERN = (True, True, False)


def install_enrolments(conn: sqlite3.Connection, seed: int, now: int) -> dict[str, list[str]]:
    """Enrol some students and teachers; returns the keys of each case (``enrolled``,
    ``suspended``, ``teachers``) for the tests."""
    from .moodle.courses import change_enrolment
    from .moodle.db import WS_USER_ID, schema_for
    from .moodle.registry import CallContext

    ctx = CallContext(conn, WS_USER_ID, now, schema_for(), 5000)
    rng = random.Random(f"{seed}:enrolments")
    cases: dict[str, list[str]] = {"enrolled": [], "suspended": [], "teachers": []}
    students = conn.execute(
        "SELECT e.zoho_enrollment_id AS key, c.id AS courseid, s.moodle_user_id AS userid "
        "FROM mdl_local_mzi_enrollments e JOIN mdl_local_mzi_students s ON s.zoho_student_id = e.zoho_student_id "
        "JOIN mdl_course c ON c.idnumber = e.zoho_class_id "
        "WHERE s.moodle_user_id IS NOT NULL AND e.status = 'Active' ORDER BY e.zoho_enrollment_id").fetchall()
    for index, row in enumerate(students):
        if PATTERN[index % len(PATTERN)] and rng.random() < 0.9:
            change_enrolment(ctx, int(row["courseid"]), int(row["userid"]), "student", "enrol")
            cases["enrolled"].append(str(row["key"]))
    if cases["enrolled"]:
        key = rng.choice(cases["enrolled"])
        row = next(r for r in students if str(r["key"]) == key)
        change_enrolment(ctx, int(row["courseid"]), int(row["userid"]), "student", "suspend")
        cases["suspended"].append(key)
    teachers = conn.execute(
        "SELECT k.zoho_class_id AS key, c.id AS courseid, t.moodle_user_id AS userid "
        "FROM mdl_local_mzi_classes k JOIN mdl_local_mzi_teachers t ON t.zoho_teacher_id = k.teacher_zoho_id "
        "JOIN mdl_course c ON c.idnumber = k.zoho_class_id "
        "WHERE t.moodle_user_id IS NOT NULL ORDER BY k.zoho_class_id").fetchall()
    for index, row in enumerate(teachers):
        if PATTERN[index % len(PATTERN)]:
            change_enrolment(ctx, int(row["courseid"]), int(row["userid"]), "editingteacher", "enrol")
            cases["teachers"].append(str(row["key"]))
    return cases
