"""Moodle ids back to Zoho on the sandbox: student_link, teacher_link, class_link.

Moodle owns the ids (user links, course ids); Zoho shows them. One apply carries them over
even when Moodle makes them in that same apply (follow-ups), a value edited in Zoho is put
back from Moodle, and Zoho records mzi cannot make are never planned as creates.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cli_workspace import moodle_sql

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _zoho(workspace: Workspace, module: str) -> dict[str, dict[str, Any]]:
    store = workspace.sandbox.zoho_store()
    try:
        return {str(r["id"]): r for r in store.all_records(module)}
    finally:
        store.close()


def _changes(workspace: Workspace, *kinds: str) -> list[dict[str, Any]]:
    result = workspace.run("plan", "--json")
    assert result.exit_code in (0, 2), result.output
    return [c for c in json.loads(result.stdout)["changes"] if c["address"].split(".")[0] in kinds]


def test_one_apply_writes_every_moodle_id_to_zoho_and_the_plan_after_it_is_empty(workspace: Workspace) -> None:
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    after = workspace.run("plan", "--detailed-exitcode", "--no-color")
    assert after.exit_code == 0, after.output

    students = moodle_sql(workspace, "SELECT zoho_student_id, moodle_user_id FROM mdl_local_mzi_students "
                                     "WHERE status IS NOT 'Deleted' AND moodle_user_id IS NOT NULL")
    zoho_students = _zoho(workspace, "BTEC_Students")
    assert students, "the demo school links students to Moodle users"
    wrong = {r["zoho_student_id"]: (r["moodle_user_id"], zoho_students[r["zoho_student_id"]].get("Student_Moodle_ID"))
             for r in students if zoho_students[r["zoho_student_id"]].get("Student_Moodle_ID") != str(r["moodle_user_id"])}
    assert not wrong, f"Student_Moodle_ID differs from the Moodle link (moodle, zoho): {wrong}"

    classes = moodle_sql(workspace, "SELECT zoho_class_id, moodle_class_id FROM mdl_local_mzi_classes "
                                    "WHERE moodle_class_id IS NOT NULL")
    zoho_classes = _zoho(workspace, "BTEC_Classes")
    assert classes, "courses made in this apply link their classes"
    assert all(zoho_classes[r["zoho_class_id"]].get("Moodle_Class_ID") == str(r["moodle_class_id"])
               for r in classes), "Moodle_Class_ID must be the course id of each class, in the same apply"

    teachers = moodle_sql(workspace, "SELECT zoho_teacher_id, moodle_user_id FROM mdl_local_mzi_teachers "
                                     "WHERE moodle_user_id IS NOT NULL")
    zoho_teachers = _zoho(workspace, "BTEC_Teachers")
    assert teachers and all(zoho_teachers[r["zoho_teacher_id"]].get("Teacher_Moodle_ID") == str(r["moodle_user_id"])
                            for r in teachers)

    again = workspace.run("apply", "--auto-approve", "--no-color")
    assert again.exit_code == 0 and "No changes." in again.output, again.output


def test_a_moodle_id_edited_in_zoho_is_planned_back_from_moodle(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    row = moodle_sql(workspace, "SELECT zoho_student_id, moodle_user_id FROM mdl_local_mzi_students "
                                "WHERE moodle_user_id IS NOT NULL ORDER BY zoho_student_id LIMIT 1")[0]
    edited = workspace.run("sandbox", "edit", f"student.{row['zoho_student_id']}", "Student_Moodle_ID=99999")
    assert edited.exit_code == 0, edited.output

    changes = _changes(workspace, "student_link", "student")
    assert [c["address"] for c in changes] == [f"student_link.{row['zoho_student_id']}"], changes
    delta = changes[0]["deltas"][0]
    assert (delta["name"], delta["old"], delta["new"]) == ("moodle_user_id", "99999", str(row["moodle_user_id"]))

    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _zoho(workspace, "BTEC_Students")[row["zoho_student_id"]]["Student_Moodle_ID"] == str(row["moodle_user_id"])
    assert workspace.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_student_deleted_in_zoho_plans_no_link_write_only_the_mirror_soft_delete(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = moodle_sql(workspace, "SELECT zoho_student_id FROM mdl_local_mzi_students WHERE moodle_user_id IS NOT NULL "
                                "ORDER BY zoho_student_id LIMIT 1")[0]["zoho_student_id"]
    assert workspace.run("sandbox", "delete", f"student.{key}").exit_code == 0
    changes = _changes(workspace, "student_link", "student")
    assert [(c["address"], c["action"]) for c in changes] == [(f"student.{key}", "delete")], changes


def test_a_class_course_created_in_this_apply_reaches_zoho_in_the_same_apply(workspace: Workspace) -> None:
    before = _changes(workspace, "class_link", "course")
    created = [c["address"].split(".", 1)[1] for c in before if c["address"].startswith("course.") and c["action"] == "create"]
    assert created, "the demo school has classes without a course yet"
    planned_links = {c["address"].split(".", 1)[1] for c in before if c["address"].startswith("class_link.")}
    assert not set(created) & planned_links, "a course not made yet has no id a plan could show"

    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    zoho_classes = _zoho(workspace, "BTEC_Classes")
    courses = {r["zoho_class_id"]: r["moodle_class_id"] for r in
               moodle_sql(workspace, "SELECT zoho_class_id, moodle_class_id FROM mdl_local_mzi_classes")}
    for key in created:
        assert courses[key] is not None
        assert zoho_classes[key]["Moodle_Class_ID"] == str(courses[key]), key
    assert f"class_link.{created[0]}" in applied.output, "the follow-up write is reported with the apply"


# ---------------------------------------------------------------- related-record fields

def _class_with_unit_criteria() -> Any:
    from reconciler.specs import Spec, load_specs

    unit = load_specs()["unit"]
    return Spec.model_validate({
        "kind": "class_criteria", "source": {"system": "zoho", "module": "BTEC_Classes"},
        "target": {"system": "moodle", "resource": "course"}, "key": {"zoho": "id", "moodle": "idnumber"},
        "fields": {"unit_zoho_id": {"zoho": "Unit", "type": "lookup_id"},
                   "criteria": {"zoho": unit.fields["criteria"].zoho, "type": "json", "transform": "btec_criteria",
                                "through": {"lookup": "Unit", "module": "BTEC"}}},
    })


def _read_zoho(workspace: Workspace, spec: Any, keys: Any = None) -> Any:
    import asyncio

    from reconciler import commands

    async def go() -> Any:
        async with commands.workspace(workspace.config) as ws:
            return await ws.providers["zoho"].read(spec, keys)

    return asyncio.run(go())


def test_a_through_field_reads_the_related_record_with_one_ids_call_per_page(workspace: Workspace) -> None:
    from reconciler.mapping import record_from_zoho
    from reconciler.specs import load_specs

    spec = _class_with_unit_criteria()
    workspace.sandbox.ensure()
    units = {k: record_from_zoho(load_specs()["unit"], v).fields["criteria"]
             for k, v in _zoho(workspace, "BTEC").items()}
    classes = _zoho(workspace, "BTEC_Classes")
    logged = len(workspace.sandbox.zoho_store().api_log())
    records = _read_zoho(workspace, spec)
    paths = [r["path"] for r in workspace.sandbox.zoho_store().api_log()[logged:]]

    with_unit = {k: c["Unit"]["id"] for k, c in classes.items() if c.get("Unit")}
    assert with_unit and all(records[k].fields["criteria"] == units[u] for k, u in with_unit.items())
    assert all(records[k].fields["criteria"] is None for k in classes if k not in with_unit)
    pages = sum(1 for p in paths if p in ("/crm/v8/BTEC_Classes", "/crm/v8/coql"))  # list pages or COQL queries
    assert sum(1 for p in paths if p == "/crm/v8/BTEC") == pages, f"one BTEC ids read per page of classes: {paths}"


def test_a_lookup_to_a_record_zoho_does_not_have_gives_no_record_so_the_target_keeps_its_own(
        workspace: Workspace) -> None:
    spec = _class_with_unit_criteria()
    workspace.sandbox.ensure()
    key, row = next((k, c) for k, c in sorted(_zoho(workspace, "BTEC_Classes").items()) if c.get("Unit"))
    store = workspace.sandbox.zoho_store()
    try:
        store.conn.execute("DELETE FROM records WHERE module = 'BTEC' AND id = ?", (row["Unit"]["id"],))
        store.conn.commit()
    finally:
        store.close()
    assert key not in _read_zoho(workspace, spec, [key])
    everything = _read_zoho(workspace, spec)
    assert key not in everything and len(everything) == len(_zoho(workspace, "BTEC_Classes")) - 1, \
        "only the class whose unit is gone gives no record; the others read as before"
