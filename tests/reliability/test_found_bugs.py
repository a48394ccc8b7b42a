"""Bugs the fault matrix found in mzi, each replayed on its own without faults so it
stays fixed even when the matrix's random draws stop reaching it."""

from __future__ import annotations

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
