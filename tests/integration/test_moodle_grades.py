"""Moodle grades to Zoho end to end on the sandbox, through the CLI (kind moodle_grade).

Each scenario starts from the demo school applied to "No changes.", grades in Moodle the way
a teacher would (``reconciler.sandbox.moodle.teacher``: Moodle's own tables), applies, and
reads the Zoho grade back from the emulator's store by its composite key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from reconciler.sandbox.moodle import teacher

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

CRITERIA = [teacher.Criterion("P1", "Describe the stakeholders."), teacher.Criterion("M1", "Analyse them."),
            teacher.Criterion("D1", "Evaluate them.")]
#: a deadline every clock has passed
LONG_AGO = 1_600_000_000  # 2020-09-13


@contextmanager
def moodle(workspace: Workspace) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(workspace.sandbox.moodle_db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def zoho_grades(workspace: Workspace, key: str) -> list[dict[str, Any]]:
    store = workspace.sandbox.zoho_store()
    try:
        return [r for r in store.all_records("BTEC_Grades") if r.get("Moodle_Grade_Composite_Key") == key]
    finally:
        store.close()


def applied(workspace: Workspace, *args: str) -> str:
    result = workspace.run("apply", "--auto-approve", "--no-color", *args)
    assert result.exit_code == 0 and "0 failed" in result.output, result.output[-3000:]
    return result.output


def no_changes(workspace: Workspace) -> None:
    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 0 and "No changes." in plan.output, plan.output[-3000:]


@pytest.fixture
def school(workspace: Workspace) -> Workspace:
    applied(workspace)
    no_changes(workspace)
    return workspace


def a_class_and_students(conn: sqlite3.Connection, count: int = 1) -> tuple[int, str, list[dict[str, Any]]]:
    """A course of a live class and ``count`` live students linked to Moodle users."""
    course = conn.execute(
        "SELECT c.id, c.idnumber FROM mdl_course c JOIN mdl_local_mzi_classes k ON k.zoho_class_id = c.idnumber "
        "WHERE k.class_status <> 'Cancelled' ORDER BY c.id LIMIT 1").fetchone()
    students = conn.execute(
        "SELECT s.zoho_student_id, s.moodle_user_id AS userid, u.firstname || ' ' || u.lastname AS name "
        "FROM mdl_local_mzi_students s JOIN mdl_user u ON u.id = s.moodle_user_id "
        "WHERE s.status <> 'Deleted' ORDER BY s.id LIMIT ?", (count,)).fetchall()
    assert course is not None and len(students) == count
    return int(course["id"]), str(course["idnumber"]), [dict(s) for s in students]


def a_teacher(conn: sqlite3.Connection, first: str, last: str) -> int:
    return teacher_user(conn, first, last)


def teacher_user(conn: sqlite3.Connection, first: str, last: str) -> int:
    cursor = conn.execute("INSERT INTO mdl_user (username, email, firstname, lastname) VALUES (?, ?, ?, ?)",
                          (f"{first}.{last}".lower(), f"{first}.{last}@staff.invalid".lower(), first, last))
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def test_a_grade_with_learning_outcomes_becomes_one_zoho_grade_with_its_rows(school: Workspace) -> None:
    with moodle(school) as conn:
        courseid, classid, [student] = a_class_and_students(conn)
        grader = teacher_user(conn, "Rana", "Teacher")
        assign = teacher.add_assignment(conn, courseid, "Essay", grade=100)
        # the teacher's own guide (mzi's own would be replaced by the unit's criteria: grading_form)
        teacher.set_guide(conn, assign, CRITERIA, userid=2, now=1, name="Essay marking guide")
        teacher.submit(conn, assign, student["userid"], 0, 1_790_000_000)
        teacher.grade(conn, assign, student["userid"], "64.50000", grader=grader, when=1_790_100_000,
                      feedback="Good analysis.", fillings={"P1": ("1.00000", "Clear"), "M1": ("1.00000", ""),
                                                           "D1": ("0.00000", "Not yet")})
    key = f"{student['userid']}_{assign}"
    plan = school.run("plan", "--no-color")
    assert f"+ moodle_grade.{key}" in plan.output, plan.output[-3000:]
    applied(school)
    [grade] = zoho_grades(school, key)
    assert grade["Student"]["id"] == student["zoho_student_id"] and grade["Class"]["id"] == classid, grade
    assert (grade["Grade"], grade["Attempt_Number"], grade["Attempt_Date"], grade["Feedback"], grade["Grader_Name"],
            grade["IV_Name"]) == ("M", 1, "2026-09-21", "Good analysis.", "Rana Teacher", None), grade
    assert grade["BTEC_Grade_Name"].startswith(f"{student['name']} - ") and \
        grade["BTEC_Grade_Name"].endswith(" - M - 2026-09-21"), grade["BTEC_Grade_Name"]
    rows = [{k: r.get(k) for k in ("LO_Code", "LO_Title", "LO_Definition", "LO_Score", "LO_Feedback")}
            for r in grade["Learning_Outcomes_Assessm"]]
    assert rows == [
        {"LO_Code": "P1", "LO_Title": "Criterion P1", "LO_Definition": "Describe the stakeholders.",
         "LO_Score": "Achieved", "LO_Feedback": "Clear"},
        {"LO_Code": "M1", "LO_Title": "Criterion M1", "LO_Definition": "Analyse them.", "LO_Score": "Achieved",
         "LO_Feedback": None},
        {"LO_Code": "D1", "LO_Title": "Criterion D1", "LO_Definition": "Evaluate them.", "LO_Score": "Not Achieved",
         "LO_Feedback": "Not yet"}], rows
    no_changes(school)


def test_a_regrade_updates_the_same_zoho_record(school: Workspace) -> None:
    with moodle(school) as conn:
        courseid, _, [student] = a_class_and_students(conn)
        assign = teacher.add_assignment(conn, courseid, "Report")
        teacher.grade(conn, assign, student["userid"], "45.00000", grader=2, when=1_790_000_000)
    key = f"{student['userid']}_{assign}"
    applied(school, "--target", f"moodle_grade.{key}")
    [first] = zoho_grades(school, key)
    with moodle(school) as conn:
        teacher.grade(conn, assign, student["userid"], "72.00000", grader=2, when=1_790_500_000,
                      feedback="Regraded after moderation.")
    plan = school.run("plan", "--no-color")
    assert f"~ moodle_grade.{key}" in plan.output and '"P" -> "D"' in plan.output, plan.output[-3000:]
    applied(school)
    [second] = zoho_grades(school, key)
    assert second["id"] == first["id"], (first["id"], second["id"])
    assert (first["Grade"], second["Grade"], second["Feedback"]) == ("P", "D", "Regraded after moderation."), second
    no_changes(school)


def test_a_refer_with_no_resubmission_past_its_deadline_is_rr_on_attempt_2(school: Workspace) -> None:
    with moodle(school) as conn:
        courseid, _, students = a_class_and_students(conn, 2)
        assign = teacher.add_assignment(conn, courseid, "Project", duedate=LONG_AGO - 30 * 86400)
        for student in students:
            teacher.submit(conn, assign, student["userid"], 0, LONG_AGO - 40 * 86400)
            teacher.grade(conn, assign, student["userid"], "30.00000", grader=2, when=LONG_AGO - 20 * 86400)
            teacher.extend(conn, assign, student["userid"], LONG_AGO)  # resubmit by this deadline
        teacher.submit(conn, assign, students[1]["userid"], 1, LONG_AGO - 86400)  # in time: stays a refer
    applied(school)
    [late] = zoho_grades(school, f"{students[0]['userid']}_{assign}")
    [in_time] = zoho_grades(school, f"{students[1]['userid']}_{assign}")
    assert (late["Grade"], late["Attempt_Number"], late["Attempt_Date"]) == ("RR", 2, "2020-09-13"), late
    assert late["BTEC_Grade_Name"].endswith(" - RR - 2020-09-13"), late["BTEC_Grade_Name"]
    assert (in_time["Grade"], in_time["Attempt_Number"]) == ("R", 1), in_time


@pytest.mark.parametrize("points", ["70.00000", "69.99000", "60.00000", "40.00000", "39.99000", "104.00000", "-5.00000"])
def test_numeric_grades_reach_zoho_as_the_letter_of_their_band(school: Workspace, points: str) -> None:
    expected = {"70.00000": "D", "69.99000": "M", "60.00000": "M", "40.00000": "P", "39.99000": "R",
                "104.00000": "D", "-5.00000": "R"}[points]
    with moodle(school) as conn:
        courseid, _, [student] = a_class_and_students(conn)
        assign = teacher.add_assignment(conn, courseid, f"Quiz {points}", grade=100)
        teacher.grade(conn, assign, student["userid"], points, grader=2, when=1_790_000_000)
        if points.startswith("-"):  # Moodle stores no negative grade as graded; the clamp is for imports
            conn.execute("UPDATE mdl_assign_grades SET grade = '0.00000' WHERE assignment = ?", (assign,))
    applied(school)
    [grade] = zoho_grades(school, f"{student['userid']}_{assign}")
    assert grade["Grade"] == expected, (points, grade["Grade"])


def test_a_grade_by_the_internal_verifier_names_iv_name_not_grader_name(school: Workspace) -> None:
    with moodle(school) as conn:
        courseid, _, [student] = a_class_and_students(conn)
        iv = teacher_user(conn, "Omar", "Verifier")
        teacher.give_role(conn, iv, courseid, "internalverifier")
        assign = teacher.add_assignment(conn, courseid, "Verified essay")
        teacher.grade(conn, assign, student["userid"], "55.00000", grader=iv, when=1_790_000_000)
    applied(school)
    [grade] = zoho_grades(school, f"{student['userid']}_{assign}")
    assert (grade["IV_Name"], grade["Grader_Name"]) == ("Omar Verifier", None), grade


def test_a_grade_of_a_user_who_is_no_student_is_blocked_with_its_reason(school: Workspace) -> None:
    with moodle(school) as conn:
        courseid, _, _ = a_class_and_students(conn)
        stranger = teacher_user(conn, "Guest", "Auditor")
        assign = teacher.add_assignment(conn, courseid, "Essay")
        teacher.grade(conn, assign, stranger, "80.00000", grader=2, when=1_790_000_000)
    plan = school.run("plan", "--json", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    [change] = [c for c in json.loads(plan.stdout)["changes"] if c["address"] == f"moodle_grade.{stranger}_{assign}"]
    assert change["action"] == "blocked" and f"Moodle user {stranger} is no student mzi knows" in change["reason"], change
    assert zoho_grades(school, f"{stranger}_{assign}") == []


def test_the_demo_grades_apply_to_no_changes_and_a_second_apply_writes_nothing(workspace: Workspace) -> None:
    plan = workspace.run("plan", "--json")
    actions = {c["action"] for c in json.loads(plan.stdout)["changes"] if c["address"].startswith("moodle_grade.")}
    assert {"create", "update", "blocked"} <= actions, actions
    applied(workspace)
    no_changes(workspace)
    writes = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve", "--no-color")
    assert second.exit_code == 0 and "No changes." in second.output, second.output[-2000:]
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"
