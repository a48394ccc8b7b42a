"""Every plain Zoho → Moodle kind on the demo school, through the CLI: the whole school
reaches "No changes.", and the blueprint's flows land in the local_mzi_* tables."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from reconciler.sandbox.zoho.store import zoho_time

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

#: DOMAIN.md's Zoho → Moodle kinds that are plain mirrors of one Zoho module each
PLAIN_KINDS = ("teacher", "program", "unit", "student", "registration", "payment", "class", "enrollment",
               "grade", "request")


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert lines, f"no summary line in:\n{output}"
    return lines[-1]


def _rows(workspace: Workspace, table: str, where: str = "1 = 1", args: tuple[Any, ...] = (),
          limit: int = -1) -> list[dict[str, Any]]:
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    conn.row_factory = sqlite3.Row
    try:
        sql = f"SELECT * FROM mdl_{table} WHERE {where} ORDER BY id LIMIT {limit}"
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def _plan_json(workspace: Workspace) -> dict[str, Any]:
    result = workspace.run("plan", "--json")
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)


def _kinds(plan: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in plan["changes"]:
        kind = change["address"].split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _applied(workspace: Workspace) -> None:
    result = workspace.run("apply", "--auto-approve", "--no-color")
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output, result.output


def _no_changes(workspace: Workspace) -> None:
    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 0 and _summary(plan.output) == "No changes.", plan.output[-3000:]


# ---------------------------------------------------------------------- the whole school

def test_the_fresh_demo_plan_shows_addresses_of_every_plain_kind(workspace: Workspace) -> None:
    counts = _kinds(_plan_json(workspace))
    missing = [kind for kind in PLAIN_KINDS if not counts.get(kind)]
    assert not missing, f"no address of {missing} in the first plan; per kind: {counts}"


def test_the_demo_school_applies_to_no_changes_for_every_kind_and_a_second_apply_writes_nothing(
        make_workspace: Any) -> None:
    workspace = make_workspace(students=150)
    first = _plan_json(workspace)
    actions = {(c["address"].split(".")[0], c["action"]) for c in first["changes"]}
    lacking = [f"{kind} {action}" for kind in PLAIN_KINDS for action in ("create", "update", "delete")
               if (kind, action) not in actions]
    assert not lacking, f"the demo should start with creates, drift and deletes of every kind; lacking: {lacking}"
    _applied(workspace)
    after = _plan_json(workspace)
    assert after["changes"] == [], f"changes left after apply, per kind: {_kinds(after)}: {after['changes'][:3]}"
    _no_changes(workspace)
    writes = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve", "--no-color")
    assert second.exit_code == 0 and _summary(second.output) == "No changes.", second.output
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


# ---------------------------------------------------------------------- scenarios

def test_a_student_edited_in_zoho_reaches_local_mzi_students_with_city_and_national_id(workspace: Workspace) -> None:
    _applied(workspace)
    (student,) = _rows(workspace, "local_mzi_students", "status <> 'Deleted' AND national_id IS NOT NULL", limit=1)
    key = student["zoho_student_id"]
    new_city = "Irbid" if student["city"] != "Irbid" else "Aqaba"
    edited = workspace.run("sandbox", "edit", f"student.{key}", f"City={new_city}", "National_Number=2001987654")
    assert edited.exit_code == 0, edited.output
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "~", "student") == [f"student.{key}"], plan.output
    assert "2001987654" not in plan.output, "a national id must never be shown"
    _applied(workspace)
    (row,) = _rows(workspace, "local_mzi_students", "zoho_student_id = ?", (key,))
    assert (row["city"], row["national_id"]) == (new_city, "2001987654"), row
    _no_changes(workspace)


def test_a_payment_whose_registration_arrives_in_a_later_run_is_blocked_then_applied(workspace: Workspace) -> None:
    _applied(workspace)
    store = workspace.sandbox.zoho_store()
    student = store.query("BTEC_Students", limit=1)[0]
    program = store.query("Products", limit=1)[0]
    registration_id, payment_id = store.new_id(), store.new_id()
    now = zoho_time(store.now())
    with store.transaction():
        store.save("BTEC_Payments", {
            "id": payment_id, "Name": "PAY-900001", "Registration_ID": {"id": registration_id, "name": "REG-900001"},
            "Student_ID": {"id": student["id"], "name": student["Name"]}, "Payment_Amount": 1200.5,
            "Payment_Date": "2026-09-02", "Payment_Method": "Cash", "Payment_Type": "Study Fees",
            "Installment_No": 1, "Currency": "USD", "Note": None, "Created_Time": now, "Modified_Time": now})
    plan = workspace.run("plan", "--no-color")
    assert re.search(rf"payment\.{payment_id}.* is blocked: registration\.{registration_id} exists in neither",
                     plan.output), plan.output[-3000:]
    blocked = workspace.run("apply", "--auto-approve", "--no-color")
    assert blocked.exit_code == 0 and _summary(blocked.output).endswith(" 1 blocked."), blocked.output
    assert _rows(workspace, "local_mzi_payments", "zoho_payment_id = ?", (payment_id,)) == []

    later = zoho_time(store.now())
    with store.transaction():
        store.save("BTEC_Registrations", {
            "id": registration_id, "Name": "REG-900001", "Student_ID": {"id": student["id"], "name": student["Name"]},
            "Program": {"id": program["id"], "name": program["Product_Name"]}, "Registration_Date": "2026-09-01",
            "Registration_Status": "New", "Study_Mode": "Onsite", "Study_Language": "Arabic",
            "Program_Price": "4,800.00", "Remaining_Amount": "3,599.50", "Currency": "USD",
            "Discount_Percentage": None, "Intake": "September 2026", "BTEC_Reg_No": None, "Payment_Schedule": [],
            "First_Name": student["First_Name"], "Last_Name": student["Last_Name"], "Discount": False,
            "Created_Time": later, "Modified_Time": later})
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "+", "registration") == [f"registration.{registration_id}"], plan.output
    assert workspace.addresses(plan.output, "+", "payment") == [f"payment.{payment_id}"], plan.output
    _applied(workspace)
    (payment,) = _rows(workspace, "local_mzi_payments", "zoho_payment_id = ?", (payment_id,))
    assert (payment["zoho_registration_id"], payment["payment_status"], payment["payment_amount"]) == \
        (registration_id, "Paid", 1200.5), payment
    _no_changes(workspace)


def test_a_grades_learning_outcomes_are_canonical_json_and_subform_key_order_is_no_change(
        workspace: Workspace) -> None:
    _applied(workspace)
    store = workspace.sandbox.zoho_store()
    grade = next(g for g in store.query("BTEC_Grades", limit=200) if len(g["Learning_Outcomes_Assessm"]) >= 3)
    (row,) = _rows(workspace, "local_mzi_grades", "zoho_grade_id = ?", (grade["id"],))
    expected = [{k: v for k, v in sorted(r.items()) if k != "id" and v is not None}
                for r in grade["Learning_Outcomes_Assessm"]]
    assert row["learning_outcomes"] == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Zoho answers the same rows with new row ids and another key order: nothing to do
    shuffled = [dict(reversed(list({**r, "id": store.new_id()}.items()))) for r in grade["Learning_Outcomes_Assessm"]]
    now = zoho_time(store.now())
    with store.transaction():
        store.save("BTEC_Grades", {**grade, "Learning_Outcomes_Assessm": shuffled, "Modified_Time": now})
    _no_changes(workspace)
    # one score changed in Zoho is one update of that grade
    shuffled[0]["LO_Score"] = "Achieved" if shuffled[0]["LO_Score"] != "Achieved" else "Not Achieved"
    with store.transaction():
        store.save("BTEC_Grades", {**grade, "Learning_Outcomes_Assessm": shuffled,
                                   "Modified_Time": zoho_time(store.now())})
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "~", "grade") == [f"grade.{grade['id']}"], plan.output
    _applied(workspace)
    (row,) = _rows(workspace, "local_mzi_grades", "zoho_grade_id = ?", (grade["id"],))
    assert json.loads(row["learning_outcomes"])[0]["LO_Score"] == shuffled[0]["LO_Score"]


def test_a_units_criteria_become_one_list_in_zoho_order_without_the_empty_ones(workspace: Workspace) -> None:
    _applied(workspace)
    store = workspace.sandbox.zoho_store()
    for unit in store.query("BTEC", limit=50):
        (row,) = _rows(workspace, "local_mzi_units", "zoho_unit_id = ?", (unit["id"],))
        levels = {"P": "pass", "M": "merit", "D": "distinction"}
        expected = [{"code": f"{letter}{n}", "level": levels[letter], "description": unit[f"{letter}{n}_description"]}
                    for letter, slots in (("P", 10), ("M", 9), ("D", 6)) for n in range(1, slots + 1)
                    if unit.get(f"{letter}{n}_description")]
        assert expected and json.loads(row["criteria"]) == expected, (unit["id"], row["criteria"])
        assert len(expected) < 25, "the demo leaves some criteria slots empty"


def test_a_registrations_amounts_kept_as_text_in_zoho_become_decimals(workspace: Workspace) -> None:
    _applied(workspace)
    (row,) = _rows(workspace, "local_mzi_registrations", "registration_status <> 'Cancelled'", limit=1)
    key = row["zoho_registration_id"]
    edited = workspace.run("sandbox", "edit", f"registration.{key}", "Program_Price=5,250.5",
                           "Remaining_Amount=1,312.625", "Discount_Percentage=12.5")
    assert edited.exit_code == 0, edited.output
    _applied(workspace)
    (row,) = _rows(workspace, "local_mzi_registrations", "zoho_registration_id = ?", (key,))
    # number(12,2) columns: the plugin rounds half away from zero to two places
    assert (row["total_fees"], row["remaining_amount"], row["discount_percentage"]) == (5250.5, 1312.63, 12.5), row
    _no_changes(workspace)


DELETES = [("teacher", "local_mzi_teachers", "status", "Deleted"),
           ("program", "local_mzi_programs", "status", "Disabled"),
           ("unit", "local_mzi_units", "status", "Deleted"),
           ("registration", "local_mzi_registrations", "registration_status", "Cancelled"),
           ("payment", "local_mzi_payments", "payment_status", "Voided"),
           ("grade", "local_mzi_grades", "status", "Deleted"),
           ("request", "local_mzi_requests", "status", "Cancelled")]


@pytest.mark.parametrize(("kind", "table", "column", "value"), DELETES, ids=[d[0] for d in DELETES])
def test_a_record_deleted_in_zoho_is_soft_deleted_in_moodle_as_domain_says(
        workspace: Workspace, kind: str, table: str, column: str, value: str) -> None:
    _applied(workspace)
    spec_key = f"zoho_{kind}_id"
    (row,) = _rows(workspace, table, f"{column} IS NOT NULL AND {column} <> ?", (value,), limit=1)
    key = row[spec_key]
    assert workspace.run("sandbox", "delete", f"{kind}.{key}").exit_code == 0
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "-", kind) == [f"{kind}.{key}"], plan.output
    assert re.search(rf'- {column}\s+= "[^"]*" -> "{value}"', plan.output), plan.output
    _applied(workspace)
    (after,) = _rows(workspace, table, f"{spec_key} = ?", (key,))
    assert after[column] == value, after
    _no_changes(workspace)


def test_a_class_whose_teacher_exists_nowhere_is_blocked_naming_the_teacher(workspace: Workspace) -> None:
    """class depends on teacher, program and unit (DOMAIN.md), like enrollment on student."""
    _applied(workspace)
    store = workspace.sandbox.zoho_store()
    klass = store.query("BTEC_Classes", limit=1)[0]
    ghost = store.new_id()
    with store.transaction():
        store.save("BTEC_Classes", {**klass, "Teacher": {"id": ghost, "name": "Dr. Nobody"},
                                    "Modified_Time": zoho_time(store.now())})
    plan = workspace.run("plan", "--no-color")
    assert re.search(rf"# class\.{klass['id']} .* is blocked: teacher\.{ghost} exists in neither", plan.output), \
        plan.output[-3000:]


def test_a_request_submitted_in_moodle_and_not_yet_sent_is_no_mirror_row_but_an_outbound_request(
        workspace: Workspace) -> None:
    """Its zoho_request_id is empty until outbound_request sends it: not a record of the request
    kind (nothing deletes or rewrites it), but one of outbound_request, keyed by its number."""
    _applied(workspace)
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    with conn:
        conn.execute("INSERT INTO mdl_local_mzi_requests (zoho_request_id, request_number, request_type, status, origin, "
                     "timecreated, timemodified) VALUES (NULL, 'MDL-T1', 'Student Card', 'Pending', 'moodle', 1, 1)")
    conn.close()
    plan = workspace.run("plan", "--json")
    changes = [(c["action"], c["address"]) for c in json.loads(plan.stdout)["changes"]]
    assert changes == [("create", "outbound_request.MDL-T1")], changes
    (row,) = _rows(workspace, "local_mzi_requests", "zoho_request_id IS NULL")
    assert (row["status"], row["origin"]) == ("Pending", "moodle"), row
