"""The course of a class, end to end on the sandbox through the CLI: created, adopted,
linked into local_mzi_classes, renamed, hidden when cancelled, never deleted."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from cli_workspace import moodle_sql, override_spec

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert lines, f"no summary line in:\n{output}"
    return lines[-1]


def _courses(workspace: Workspace, idnumber: str) -> list[sqlite3.Row]:
    return moodle_sql(workspace, "SELECT * FROM mdl_course WHERE idnumber = ? ORDER BY id", idnumber)


def _linked(workspace: Workspace, class_id: str) -> int | None:
    rows = moodle_sql(workspace, "SELECT moodle_class_id FROM mdl_local_mzi_classes WHERE zoho_class_id = ?", class_id)
    return rows[0]["moodle_class_id"] if rows else None


def _plan_json(workspace: Workspace) -> dict[str, Any]:
    result = workspace.run("plan", "--json")
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)


def _course_changes(plan: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["address"].startswith("course.") and c["action"] == action]


def _zoho_class_ids(workspace: Workspace) -> list[str]:
    store = workspace.sandbox.zoho_store()
    try:
        return sorted(str(r["id"]) for r in store.all_records("BTEC_Classes"))
    finally:
        store.close()


def test_the_first_plan_creates_missing_courses_adopts_hand_made_ones_and_names_the_renamed_one(
        workspace: Workspace) -> None:
    plan = _plan_json(workspace)
    creates, updates = _course_changes(plan, "create"), _course_changes(plan, "update")
    assert creates, "the demo school starts with classes that have no course"
    adopted = [c for c in updates if [d["name"] for d in c["deltas"]] == ["classlinked"]]
    renamed = [c for c in updates if "fullname" in [d["name"] for d in c["deltas"]]]
    assert adopted, f"no adopted (unlinked) course planned to be linked: {updates}"
    assert len(renamed) == 1 and renamed[0]["deltas"][0]["old"].endswith("(renamed in Moodle)"), renamed
    assert all(c["after"]["shortname"] and c["after"]["startdate"] for c in creates), creates


def test_apply_gives_every_class_one_course_linked_in_the_class_mirror(workspace: Workspace) -> None:
    adopted = [c["address"].split(".", 1)[1] for c in _course_changes(_plan_json(workspace), "update")
               if [d["name"] for d in c["deltas"]] == ["classlinked"]]
    adopted_ids = {k: _courses(workspace, k)[0]["id"] for k in adopted}
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0 and "0 failed" in applied.output, applied.output
    for key in _zoho_class_ids(workspace):
        courses = _courses(workspace, key)
        assert len(courses) == 1, f"class {key} has {len(courses)} courses"
        assert _linked(workspace, key) == courses[0]["id"], f"class {key}: moodle_class_id is not its course"
    for key, courseid in adopted_ids.items():
        assert _courses(workspace, key)[0]["id"] == courseid, f"the hand-made course of {key} was not adopted"


def test_after_apply_the_plan_is_empty_and_a_second_apply_writes_nothing(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    again = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert again.exit_code == 0 and _summary(again.output) == "No changes.", again.output
    writes = workspace.sandbox.write_counts()
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


def test_a_taken_shortname_gets_the_deterministic_suffix_and_plans_no_change_after(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    keys = _zoho_class_ids(workspace)
    taken = _courses(workspace, keys[0])[0]["shortname"]
    target = keys[1]
    workspace.run("sandbox", "edit", f"class.{target}", f"Class_Short_Name={taken}")
    # a new course is made only for a class without one: take the target's away
    _drop_course(workspace, target)
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "+", "course") == [f"course.{target}"], plan.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _courses(workspace, target)[0]["shortname"] == f"{taken} (2)"
    after = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 0 and _summary(after.output) == "No changes.", after.output


def _drop_course(workspace: Workspace, idnumber: str) -> None:
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    try:
        conn.execute("DELETE FROM mdl_course WHERE idnumber = ?", (idnumber,))
        conn.commit()
    finally:
        conn.close()


def test_a_class_renamed_in_zoho_plans_one_course_update_and_applies_it(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _zoho_class_ids(workspace)[0]
    workspace.run("sandbox", "edit", f"class.{key}", "Class_Name=Renamed in Zoho")
    plan = _plan_json(workspace)
    updates = _course_changes(plan, "update")
    assert [(c["address"], [(d["name"], d["new"]) for d in c["deltas"]]) for c in updates] == \
        [(f"course.{key}", [("fullname", "Renamed in Zoho")])], updates
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    course = _courses(workspace, key)[0]
    assert course["fullname"] == "Renamed in Zoho" and course["startdate"] > 0, dict(course)


def test_a_class_whose_status_is_listed_in_the_spec_hides_its_course(workspace: Workspace) -> None:
    """The org's Class_Status has no "Cancelled" (a cancelled class is deleted in Zoho, below);
    which statuses hide a course is the spec's `values`, so a school can name its own."""
    override_spec(workspace, "course.toml", 'values = ["Cancelled"]', 'values = ["Cancelled", "End"]')
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _zoho_class_ids(workspace)[0]
    edited = workspace.run("sandbox", "edit", f"class.{key}", "Class_Status=End")
    assert edited.exit_code == 0, edited.output
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "~", "course") == [f"course.{key}"], plan.output
    assert re.search(r"~ visible\s+= True -> False", plan.output), plan.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _courses(workspace, key)[0]["visible"] == 0
    assert _summary(workspace.run("plan", "--no-color").output) == "No changes."


def test_a_class_gone_from_zoho_plans_no_course_change_and_keeps_the_course(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _zoho_class_ids(workspace)[0]
    courseid = _courses(workspace, key)[0]["id"]
    assert workspace.run("sandbox", "delete", f"class.{key}").exit_code == 0
    plan = _plan_json(workspace)
    assert not [c for c in plan["changes"] if c["address"] == f"course.{key}"], plan["changes"]
    assert {c["address"] for c in plan["changes"]} - {f"teacher_enrolment.{key}"} == {f"class.{key}"}, \
        "only the class mirror row is soft-deleted (and its teacher's enrolment withdrawn)"
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    courses = _courses(workspace, key)
    assert [c["id"] for c in courses] == [courseid], "the course of a deleted class must stay"
    assert courses[0]["visible"] == 0, "the plugin hides the course of a cancelled class (hidecancelledcourses)"
    assert _summary(workspace.run("plan", "--no-color").output) == "No changes."


def _cost(workspace: Workspace, *kinds: str) -> tuple[list[str], int]:
    """(Zoho paths, local_mzi_get_courses calls) of one plan of ``kinds``."""
    count = "SELECT COUNT(*) AS n FROM mdl_mzi_api_log WHERE wsfunction = 'local_mzi_get_courses'"
    zoho_before, moodle_before = len(workspace.sandbox.zoho_store().api_log()), moodle_sql(workspace, count)[0]["n"]
    result = workspace.run("plan", *(a for k in kinds for a in ("--kind", k)))
    assert result.exit_code == 0, result.output
    zoho = [r["path"] for r in workspace.sandbox.zoho_store().api_log()[zoho_before:]]
    return zoho, moodle_sql(workspace, count)[0]["n"] - moodle_before


def test_planning_courses_shares_the_class_kinds_zoho_query_and_costs_one_moodle_read(workspace: Workspace) -> None:
    """The course kind reads BTEC_Classes through COQL at ⌈classes/2000⌉ queries; beside the
    class kind it shares that read (one read per module) and adds one local_mzi_get_courses page."""
    assert workspace.run("plan").exit_code == 0  # the sandbox is made; its first calls are not counted
    queries = -(-len(_zoho_class_ids(workspace)) // 2000)
    courses, _ = _cost(workspace, "course")
    both, get_courses = _cost(workspace, "class", "course")
    assert courses.count("/crm/v8/coql") == queries, courses
    assert both.count("/crm/v8/coql") == queries, both
    assert get_courses == 1
