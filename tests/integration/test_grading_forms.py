"""Grading forms end to end on the sandbox: a unit's criteria become the marking guide of the
assignments of its class's course (kind grading_form: the criteria read from Zoho through the
class's Unit lookup)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.moodle import teacher
from reconciler.sandbox.moodle.grading import FORM_NAME

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

def with_forms(workspace: Workspace) -> Workspace:
    """The bundled specs plan grading forms: nothing to add (kept so each test says it needs them)."""
    return workspace


def query(workspace: Workspace, sql: str, *args: Any) -> list[sqlite3.Row]:
    workspace.sandbox.ensure()
    conn = sqlite3.connect(workspace.sandbox.moodle_db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def guides(workspace: Workspace, courseid: int) -> dict[str, list[tuple[str, str]]]:
    """Assignment name → (shortname, description) of mzi's guide on it."""
    rows = query(workspace, "SELECT a.name, c.shortname, c.description FROM mdl_assign a "
                 "JOIN mdl_course_modules cm ON cm.instance = a.id JOIN mdl_context x ON x.instanceid = cm.id "
                 "AND x.contextlevel = 70 JOIN mdl_grading_areas ga ON ga.contextid = x.id AND ga.activemethod = 'guide' "
                 "JOIN mdl_grading_definitions d ON d.areaid = ga.id AND d.name = ? "
                 "JOIN mdl_gradingform_guide_criteria c ON c.definitionid = d.id WHERE a.course = ? "
                 "ORDER BY a.id, c.sortorder", FORM_NAME, courseid)
    found: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        found.setdefault(row["name"], []).append((row["shortname"], row["description"]))
    return found


def applied(workspace: Workspace) -> str:
    result = workspace.run("apply", "--auto-approve", "--no-color")
    assert result.exit_code == 0 and "0 failed" in result.output, result.output[-3000:]
    return result.output


def test_a_units_criteria_become_the_grading_form_on_each_assignment_of_its_class(workspace: Workspace) -> None:
    with_forms(workspace)
    plan = json.loads(workspace.run("plan", "--json").stdout)
    planned = [c for c in plan["changes"] if c["address"].startswith("grading_form.")]
    assert any(c["action"] == "update" for c in planned), planned[:3]
    applied(workspace)
    after = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 0 and "No changes." in after.output, after.output[-3000:]
    courses = query(workspace, "SELECT c.id, k.unit_zoho_id, u.criteria FROM mdl_course c "
                    "JOIN mdl_local_mzi_classes k ON k.zoho_class_id = c.idnumber "
                    "JOIN mdl_local_mzi_units u ON u.zoho_unit_id = k.unit_zoho_id "
                    "WHERE EXISTS (SELECT 1 FROM mdl_assign a WHERE a.course = c.id) ORDER BY c.id")
    assert courses, "the demo has class courses with assignments"
    for course in courses:
        wanted = [(c["code"], c["description"]) for c in json.loads(course["criteria"])]
        names = [r["name"] for r in query(workspace, "SELECT name FROM mdl_assign WHERE course = ?", course["id"])]
        assert guides(workspace, int(course["id"])) == {name: wanted for name in names}, course["id"]
    writes = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve", "--no-color")
    assert second.exit_code == 0 and "No changes." in second.output, second.output[-2000:]
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


def test_a_teachers_rubric_is_left_alone_and_a_course_of_only_such_is_held(workspace: Workspace) -> None:
    with_forms(workspace)
    applied(workspace)
    [course] = query(workspace, "SELECT c.id, c.idnumber FROM mdl_course c JOIN mdl_local_mzi_classes k "
                     "ON k.zoho_class_id = c.idnumber WHERE EXISTS (SELECT 1 FROM mdl_assign a WHERE a.course = c.id) "
                     "ORDER BY c.id LIMIT 1")
    conn = sqlite3.connect(workspace.sandbox.moodle_db, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        for row in conn.execute("SELECT id FROM mdl_assign WHERE course = ?", (course["id"],)).fetchall():
            teacher.set_method(conn, int(row["id"]), "rubric")
    finally:
        conn.close()
    plan = workspace.run("plan", "--json", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output[-2000:]
    [change] = [c for c in json.loads(plan.stdout)["changes"] if c["address"] == f"grading_form.{course['idnumber']}"]
    assert change["action"] == "blocked" and "graded by the teacher's own method" in change["reason"], change
    held = workspace.run("apply", "--auto-approve", "--no-color")
    assert held.exit_code == 0 and "1 blocked" in held.output, held.output[-2000:]
    methods = {r[0] for r in query(workspace, "SELECT ga.activemethod FROM mdl_assign a JOIN mdl_course_modules cm "
                                   "ON cm.instance = a.id JOIN mdl_context x ON x.instanceid = cm.id AND x.contextlevel = 70 "
                                   "JOIN mdl_grading_areas ga ON ga.contextid = x.id WHERE a.course = ?", course["id"])}
    assert methods == {"rubric"}, methods
