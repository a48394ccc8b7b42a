"""Plans you can trust (issue 7), replayed on the sandbox through the CLI as a user would."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.state import StateStore

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _city(workspace: Workspace, key: str) -> Any:
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        return db.execute("SELECT city FROM mdl_local_mzi_students WHERE zoho_student_id = ?", (key,)).fetchone()[0]


def test_a_saved_plan_is_refused_after_a_zoho_edit_of_a_record_it_touches(workspace: Workspace) -> None:
    workspace.run("apply", "--auto-approve")
    address = f"student.{_some_student(workspace)}"
    workspace.sandbox.edit(address, {"City": "Irbid"})
    saved = workspace.root / "plan.json"
    made = workspace.run("plan", "--no-color", "--out", str(saved))
    assert "Irbid" in made.output, made.output
    workspace.sandbox.edit(address, {"City": "Mafraq"})  # Zoho moves on after the plan
    applied = workspace.run("apply", str(saved))
    assert applied.exit_code == 1, applied.output
    assert "stale" in applied.output and "changed in Zoho" in applied.output, applied.output
    assert _city(workspace, address.split(".")[1]) != "Irbid", "the stale value must not be written"


def _some_student(workspace: Workspace) -> str:
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        return str(db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students WHERE status = 'Active' "
                              "ORDER BY zoho_student_id LIMIT 1").fetchone()[0])


def test_a_hand_edited_plan_is_refused_and_nothing_is_written(workspace: Workspace) -> None:
    workspace.run("apply", "--auto-approve")
    address = f"student.{_some_student(workspace)}"
    workspace.sandbox.edit(address, {"City": "Mafraq"})
    saved = workspace.root / "plan.json"
    workspace.run("plan", "--out", str(saved))
    text = saved.read_text(encoding="utf-8").replace('"Mafraq"', '"HACKED"')
    saved.write_text(text, encoding="utf-8")
    applied = workspace.run("apply", str(saved))
    assert applied.exit_code == 1, applied.output
    assert "modified after mzi wrote it" in applied.output, applied.output
    assert "Traceback" not in applied.output
    assert _city(workspace, address.split(".")[1]) != "HACKED"


def test_a_plan_is_bound_to_the_systems_it_was_made_against(workspace: Workspace, tmp_path: Path) -> None:
    saved = workspace.root / "plan.json"
    workspace.run("plan", "--out", str(saved))
    other = tmp_path / "other.toml"
    other.write_text(workspace.config.read_text(encoding="utf-8").replace('state_dir = "state"',
                                                                          'state_dir = "other-state"'),
                     encoding="utf-8")
    from click.testing import CliRunner

    from reconciler.cli import main

    applied = CliRunner().invoke(main, ["-c", str(other), "apply", str(saved)], catch_exceptions=False)
    assert applied.exit_code == 1, applied.output
    assert "the plan was made against moodle url" in applied.output and "other-state" in applied.output, applied.output
    written = json.loads(saved.read_text(encoding="utf-8"))
    assert set(written["endpoints"]) == {"zoho", "moodle"} and written["checksum"]


def test_a_plan_made_by_another_mzi_version_is_refused(workspace: Workspace) -> None:
    saved = workspace.root / "plan.json"
    workspace.run("plan", "--out", str(saved))
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["version"] = "0.0.1"
    saved.write_text(json.dumps(data), encoding="utf-8")
    applied = workspace.run("apply", str(saved))
    assert applied.exit_code == 1 and "made by mzi 0.0.1" in applied.output, applied.output


def test_the_plan_header_names_both_endpoints(workspace: Workspace) -> None:
    shown = workspace.run("plan", "--no-color").stdout
    first = shown.splitlines()[0]
    assert first.startswith("Zoho: embedded sandbox (") and "→ Moodle: embedded sandbox (" in first, first


def test_an_unreadable_moodle_value_blocks_its_record_only_and_fails_the_run(workspace: Workspace) -> None:
    workspace.run("apply", "--auto-approve")
    key = _some_student(workspace)
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        db.execute("UPDATE mdl_local_mzi_students SET date_of_birth = '01/02/2005' WHERE zoho_student_id = ?", (key,))
    address = f"student.{_some_student_after(workspace, key)}"
    workspace.sandbox.edit(address, {"City": "Jerash"})
    planned = workspace.run("plan", "--no-color")
    assert planned.exit_code == 1, planned.output
    assert f"# student.{key}" in planned.output and "is blocked: cannot be read in Moodle" in planned.output
    assert "01/02/2005" not in planned.output, "a sensitive value leaked into the plan"
    assert "Jerash" in planned.output, "the other records must still be planned"
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    assert "01/02/2005" not in applied.output
    runs = StateStore(workspace.root / "state" / "mzi.sqlite").runs(1)
    assert not runs[0].ok and f"student.{key}" in runs[0].error and "01/02/2005" not in runs[0].error


def _some_student_after(workspace: Workspace, key: str) -> str:
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        return str(db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students WHERE status = 'Active' "
                              "AND zoho_student_id > ? ORDER BY zoho_student_id LIMIT 1", (key,)).fetchone()[0])


def test_a_target_that_exists_nowhere_is_an_error(workspace: Workspace) -> None:
    result = workspace.run("plan", "--target", "student.999")
    assert result.exit_code == 1 and "student.999: no such record" in result.output, result.output
