"""Bugs the fault matrix found in mzi, each replayed on its own without faults so it
stays fixed even when the matrix's random draws stop reaching it."""

from __future__ import annotations

import json
from pathlib import Path

from fault_school import School


def test_deleting_a_moodle_born_request_in_zoho_neither_resends_it_nor_doubles_its_moodle_row(tmp_path: Path) -> None:
    school = School.create(tmp_path / "school", students=13, seed=2)
    assert school.run("apply", "--auto-approve").exit_code == 0
    with school.zoho() as conn:
        victim, name = conn.execute("SELECT id, json_extract(data, '$.Name') FROM records WHERE module = "
                                    "'BTEC_Student_Requests' AND json_extract(data, '$.Name') LIKE 'MDL-%' "
                                    "ORDER BY id LIMIT 1").fetchone()
    box = school.sandbox
    box.delete(f"request.{victim}")
    box._close_apps()
    assert school.run("apply", "--auto-approve").exit_code == 0
    assert school.duplicates() == {}, f"after deleting {name} in Zoho"
    assert name not in school.zoho_keys()["BTEC_Student_Requests.Name"], f"{name} was sent to Zoho again"
    with school.moodle() as conn:
        statuses = [s for (s,) in conn.execute("SELECT status FROM mdl_local_mzi_requests WHERE request_number = ?",
                                                (name,))]
    assert statuses == ["Cancelled"], f"Moodle rows of {name}: {statuses} (one, cancelled, expected)"
    again = school.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, f"a plan after the apply still has changes:\n{again.output}"


def test_a_request_of_a_student_deleted_in_zoho_in_the_same_apply_is_held_not_sent(tmp_path: Path) -> None:
    school = School.create(tmp_path / "school", students=13, seed=2)
    assert school.run("apply", "--auto-approve").exit_code == 0
    with school.moodle() as conn:
        user, student = conn.execute("SELECT moodle_user_id, zoho_student_id FROM mdl_local_mzi_students "
                                     "WHERE moodle_user_id IS NOT NULL AND status != 'Deleted' ORDER BY id").fetchone()
    box = school.sandbox
    box.delete(f"student.{student}")
    box.submit_request(user, "Student Card", "lost it")
    box._close_apps()
    plan = school.run("plan", "--format", "json")
    changes = [c for c in json.loads(plan.stdout)["changes"] if c["address"].startswith("outbound_request.")]
    assert [c["action"] for c in changes] == ["blocked"], changes
    assert f"student.{student}" in changes[0]["reason"], changes[0]
    applied = school.run("apply", "--auto-approve")
    assert applied.exit_code == 0 and "0 failed" in applied.output, applied.output[-2000:]
