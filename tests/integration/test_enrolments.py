"""Course enrolments end to end on the sandbox through the CLI: an enrollment enrols its
student in the class's course, its removal in Zoho suspends (or unenrols) it, a class enrols
its teacher as editing teacher and a teacher change moves that enrolment, a student without a
Moodle user blocks their enrolments naming why, and the demo settles in one apply."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cli_workspace import moodle_sql

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _enrolment(workspace: Workspace, idnumber: str, userid: int) -> tuple[str, list[str]] | None:
    """(active|suspended, role shortnames) of a user's manual enrolment in the course, or None."""
    rows = moodle_sql(workspace, "SELECT ue.status FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid "
                           "JOIN mdl_course c ON c.id = e.courseid WHERE c.idnumber = ? AND ue.userid = ?", idnumber, userid)
    if not rows:
        return None
    roles = moodle_sql(workspace, "SELECT r.shortname FROM mdl_role_assignments ra JOIN mdl_role r ON r.id = ra.roleid "
                            "JOIN mdl_context x ON x.id = ra.contextid JOIN mdl_course c ON c.id = x.instanceid "
                            "AND x.contextlevel = 50 WHERE c.idnumber = ? AND ra.userid = ? ORDER BY r.shortname",
                 idnumber, userid)
    return ("active" if rows[0]["status"] == 0 else "suspended"), [r["shortname"] for r in roles]


def _user_of(workspace: Workspace, table: str, column: str, zoho_id: str) -> int:
    rows = moodle_sql(workspace, f"SELECT moodle_user_id FROM mdl_{table} WHERE {column} = ?", zoho_id)
    assert rows and rows[0]["moodle_user_id"], f"{zoho_id} has no Moodle user linked in {table}"
    return int(rows[0]["moodle_user_id"])


def _plan(workspace: Workspace) -> list[dict[str, Any]]:
    result = workspace.run("plan", "--json")
    assert result.exit_code in (0, 2), result.output
    return list(json.loads(result.stdout)["changes"])


def _apply(workspace: Workspace) -> str:
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0 and (" 0 failed" in applied.output or "No changes." in applied.output), \
        applied.output[-3000:]
    return applied.output


def _in_sync(workspace: Workspace) -> None:
    replan = workspace.run("plan", "--detailed-exitcode", "--no-color")
    assert replan.exit_code == 0 and "No changes." in replan.output, replan.output[-3000:]


def _zoho(workspace: Workspace, module: str, record_id: str) -> dict[str, Any]:
    store = workspace.sandbox.zoho_store()
    try:
        record = store.get(module, record_id)
        assert record is not None, f"{module} {record_id} is not in the sandbox's Zoho"
        return record
    finally:
        store.close()


def _save(workspace: Workspace, module: str, record: dict[str, Any]) -> None:
    store = workspace.sandbox.zoho_store()
    try:
        store.save(module, record)
    finally:
        store.close()


def _remove(workspace: Workspace, module: str, record_id: str) -> None:
    store = workspace.sandbox.zoho_store()
    try:
        store.remove(module, record_id, display_name=record_id)
    finally:
        store.close()


def _created(changes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [c for c in changes if c["address"].startswith(kind + ".") and c["action"] == "create"]


def _applied_enrollment(workspace: Workspace) -> tuple[str, str, int]:
    """An enrollment the fresh plan enrols, after apply: (enrollment id, class id, student's Moodle user)."""
    change = _created(_plan(workspace), "enrolment")[0]
    _apply(workspace)
    enrollment = _zoho(workspace, "BTEC_Enrollments", change["address"].split(".", 1)[1])
    student = str(enrollment["Enrolled_Students"]["id"])
    return str(enrollment["id"]), str(enrollment["Classes"]["id"]), _user_of(workspace, "local_mzi_students",
                                                                           "zoho_student_id", student)


def test_an_enrollment_gives_its_student_a_student_enrolment_in_the_class_course(workspace: Workspace) -> None:
    _, klass, user = _applied_enrollment(workspace)
    assert _enrolment(workspace, klass, user) == ("active", ["student"])


def test_an_enrollment_removed_in_zoho_suspends_the_enrolment_once(workspace: Workspace) -> None:
    enrollment, klass, user = _applied_enrollment(workspace)
    _remove(workspace, "BTEC_Enrollments", enrollment)
    planned = workspace.run("plan", "--no-color")
    line = next((l for l in planned.output.splitlines() if f"# enrolment.{enrollment} " in l), "")
    assert "will be deleted" in line and "suspend the enrolment" in line and "grades stay" in line, planned.output[-3000:]
    _apply(workspace)
    assert _enrolment(workspace, klass, user) == ("suspended", ["student"]), "suspended, role kept (grades stay)"
    _in_sync(workspace)


def test_with_withdrawn_enrolment_unenrol_a_removed_enrollment_unenrols(workspace: Workspace) -> None:
    with workspace.config.open("a", encoding="utf-8") as out:
        out.write('[moodle]\nwithdrawn_enrolment = "unenrol"\n')
    enrollment, klass, user = _applied_enrollment(workspace)
    _remove(workspace, "BTEC_Enrollments", enrollment)
    planned = workspace.run("plan", "--no-color")
    line = next((l for l in planned.output.splitlines() if f"# enrolment.{enrollment} " in l), "")
    assert "will be deleted" in line and "unenrol the enrolment" in line, planned.output[-3000:]
    _apply(workspace)
    assert _enrolment(workspace, klass, user) is None
    _in_sync(workspace)


def test_an_enrollment_back_in_zoho_reactivates_its_suspended_enrolment(workspace: Workspace) -> None:
    enrollment, klass, user = _applied_enrollment(workspace)
    record = _zoho(workspace, "BTEC_Enrollments", enrollment)
    _remove(workspace, "BTEC_Enrollments", enrollment)
    _apply(workspace)
    _save(workspace, "BTEC_Enrollments", record)
    changes = [c for c in _plan(workspace) if c["address"] == f"enrolment.{enrollment}"]
    assert [c["action"] for c in changes] == ["update"], changes
    _apply(workspace)
    assert _enrolment(workspace, klass, user) == ("active", ["student"])


def test_a_class_enrols_its_teacher_and_a_teacher_change_moves_the_enrolment(workspace: Workspace) -> None:
    change = _created(_plan(workspace), "teacher_enrolment")[0]
    _apply(workspace)
    klass = _zoho(workspace, "BTEC_Classes", change["address"].split(".", 1)[1])
    old = str(klass["Teacher"]["id"])
    old_user = _user_of(workspace, "local_mzi_teachers", "zoho_teacher_id", old)
    assert _enrolment(workspace, str(klass["id"]), old_user) == ("active", ["editingteacher"])
    store = workspace.sandbox.zoho_store()
    try:
        other = next(t for t in sorted(store.all_records("BTEC_Teachers"), key=lambda t: str(t["id"]))
                     if str(t["id"]) != old)
    finally:
        store.close()
    klass["Teacher"] = {"id": other["id"], "name": other["Name"]}
    _save(workspace, "BTEC_Classes", klass)
    moves = [c for c in _plan(workspace) if c["address"] == f"teacher_enrolment.{klass['id']}"]
    assert [c["action"] for c in moves] == ["update"], moves
    _apply(workspace)
    new_user = _user_of(workspace, "local_mzi_teachers", "zoho_teacher_id", str(other["id"]))
    assert _enrolment(workspace, str(klass["id"]), new_user) == ("active", ["editingteacher"])
    assert _enrolment(workspace, str(klass["id"]), old_user) == ("suspended", ["editingteacher"]), \
        "the old teacher is withdrawn (suspended by default)"
    _in_sync(workspace)


def test_a_student_without_a_moodle_user_has_their_enrolments_blocked_naming_why(
        make_workspace: Callable[..., Workspace]) -> None:
    workspace = make_workspace(unmatched=True)
    plan = workspace.run("plan", "--no-color")
    blocked = [l for l in plan.output.splitlines() if "# enrolment." in l and "is blocked" in l]
    assert blocked, plan.output[-3000:]
    assert all("student_user." in l and ("no Moodle user has the academic email" in l or
                                         "several Moodle users have the academic email" in l) for l in blocked), \
        "\n".join(blocked)
    assert any("no Moodle user has the academic email" in l for l in blocked), "\n".join(blocked)
    assert not any("exists in neither Zoho nor Moodle" in l for l in blocked), "\n".join(blocked)


def test_the_fresh_demo_plans_enrolments_and_settles_in_one_apply(workspace: Workspace) -> None:
    changes = _plan(workspace)
    enrolments = [c for c in changes if c["address"].split(".")[0] in ("enrolment", "teacher_enrolment")]
    kinds_actions = {(c["address"].split(".")[0], c["action"]) for c in enrolments}
    assert {("enrolment", "create"), ("enrolment", "update"), ("teacher_enrolment", "create")} <= kinds_actions, \
        sorted(kinds_actions)
    suspended = [c for c in enrolments if c["action"] == "update"]
    assert any(d["name"] == "status" and d["old"] == "suspended" and d["new"] == "active"
               for c in suspended for d in c["deltas"]), suspended
    _apply(workspace)
    _in_sync(workspace)
    writes = workspace.sandbox.write_counts()
    _apply(workspace)
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


def _classes_of(workspace: Workspace, student: str) -> set[str]:
    store = workspace.sandbox.zoho_store()
    try:
        return {str(e["Classes"]["id"]) for e in store.all_records("BTEC_Enrollments")
                if e.get("Enrolled_Students") and str(e["Enrolled_Students"]["id"]) == student and e.get("Classes")}
    finally:
        store.close()


def test_an_enrollment_moved_to_another_class_withdraws_the_old_course_enrolment(workspace: Workspace) -> None:
    """By apply time the enrollment's mirror row already names the new class: what the
    enrolment moves away from must come from the plan, or the old course keeps the student."""
    enrollment_id, old_class, user = _applied_enrollment(workspace)
    enrollment = _zoho(workspace, "BTEC_Enrollments", enrollment_id)
    taken = _classes_of(workspace, str(enrollment["Enrolled_Students"]["id"]))
    store = workspace.sandbox.zoho_store()
    try:
        other = next(c for c in sorted(store.all_records("BTEC_Classes"), key=lambda c: str(c["id"]))
                     if str(c["id"]) not in taken)
    finally:
        store.close()
    enrollment["Classes"] = {"id": other["id"], "name": other["Class_Name"]}
    _save(workspace, "BTEC_Enrollments", enrollment)
    moves = [c for c in _plan(workspace) if c["address"] == f"enrolment.{enrollment_id}"]
    assert [c["action"] for c in moves] == ["update"], moves
    _apply(workspace)
    assert _enrolment(workspace, str(other["id"]), user) == ("active", ["student"])
    assert _enrolment(workspace, old_class, user) == ("suspended", ["student"]), \
        "the student must not stay active in the course of the class they left"
    _in_sync(workspace)


def test_a_second_live_enrollment_of_a_student_in_the_same_class_is_held_not_created_every_run(
        workspace: Workspace) -> None:
    enrollment_id, klass, user = _applied_enrollment(workspace)
    store = workspace.sandbox.zoho_store()
    try:
        twin = dict(store.get("BTEC_Enrollments", enrollment_id) or {})
        twin["id"] = str(int(max(str(e["id"]) for e in store.all_records("BTEC_Enrollments"))) + 1)
        store.save("BTEC_Enrollments", twin)
    finally:
        store.close()
    for _ in range(2):  # the same answer run after run: held, never a create that apply cannot settle
        changes = {c["address"]: c for c in _plan(workspace) if c["address"].startswith("enrolment.")}
        assert list(changes) == [f"enrolment.{twin['id']}"], changes
        held = changes[f"enrolment.{twin['id']}"]
        assert held["action"] == "blocked" and f"enrolment.{enrollment_id} in Zoho" in held["reason"], held
        applied = workspace.run("apply", "--auto-approve", "--no-color")
        assert applied.exit_code == 0 and "1 blocked" in applied.output, applied.output[-2000:]
    assert _enrolment(workspace, klass, user) == ("active", ["student"])
