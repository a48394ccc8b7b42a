"""The walking skeleton end to end on the embedded sandbox, through the CLI."""

from __future__ import annotations

import os
import re

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]
from reconciler.state import StateStore


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert lines, f"no summary line in:\n{output}"
    return lines[-1]


def test_first_plan_of_the_demo_school_shows_creates_updates_and_deletes(workspace: Workspace) -> None:
    result = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    numbers = re.match(r"Plan: (\d+) to create, (\d+) to update, (\d+) to delete", _summary(result.output))
    assert numbers, result.output
    create, update, delete = map(int, numbers.groups())
    assert create > 0 and update > 0 and delete > 0, _summary(result.output)
    assert "(sensitive)" in result.output


def test_apply_then_plan_is_empty_and_a_second_apply_writes_nothing(workspace: Workspace) -> None:
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    assert "Apply complete!" in applied.output and "0 failed" in applied.output
    again = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert _summary(again.output) == "No changes."
    writes = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve", "--no-color")
    assert second.exit_code == 0, second.output
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


def test_editing_one_zoho_student_plans_exactly_that_update(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _a_student_key(workspace)
    edited = workspace.run("sandbox", "edit", f"student.{key}", "City=Ma'an")
    assert edited.exit_code == 0, edited.output
    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert _summary(plan.output) == "Plan: 0 to create, 1 to update, 0 to delete, 0 blocked."
    assert workspace.addresses(plan.output, "~", "student") == [f"student.{key}"]
    assert re.search(r'~ city\s+= "[^"]*" -> "Ma\'an"', plan.output), plan.output


def test_deleting_a_zoho_student_plans_a_soft_delete(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _a_student_key(workspace)
    assert workspace.run("sandbox", "delete", f"student.{key}").exit_code == 0
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.output, "-", "student") == [f"student.{key}"], plan.output
    assert re.search(r'- status\s+= "[^"]*" -> "Deleted"', plan.output), plan.output
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _summary(workspace.run("plan", "--no-color").output) == "No changes."


def test_saved_plan_applies_and_show_prints_it(workspace: Workspace) -> None:
    path = workspace.root / "plan.json"
    planned = workspace.run("plan", "--no-color", "--out", str(path))
    assert planned.exit_code == 0 and path.exists()
    shown = workspace.run("show", str(path), "--no-color")
    assert _summary(shown.output) == _summary(planned.output)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    applied = workspace.run("apply", str(path), "--no-color")
    assert applied.exit_code == 0, applied.output
    assert _summary(workspace.run("plan", "--no-color").output) == "No changes."


def test_targeted_apply_touches_only_the_target(workspace: Workspace) -> None:
    plan = workspace.run("plan", "--no-color")
    target = workspace.addresses(plan.output, "+", "student")[0]
    applied = workspace.run("apply", "--target", target, "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    after = workspace.run("plan", "--no-color")
    assert target not in workspace.addresses(after.output, "+", "student")
    assert len(workspace.addresses(after.output, "+", "student")) == len(workspace.addresses(plan.output, "+", "student")) - 1


def test_malformed_config_exits_1_naming_file_and_field(workspace: Workspace) -> None:
    workspace.config.write_text('[moodle]\nmax_input_vars = "many"\n', encoding="utf-8")
    result = workspace.run("plan")
    assert result.exit_code == 1
    assert str(workspace.config) in result.output and "moodle.max_input_vars" in result.output


def test_broken_spec_exits_1_naming_file_kind_and_field(workspace: Workspace) -> None:
    specs = workspace.root / "myspecs"
    specs.mkdir()
    (specs / "student.toml").write_text(
        'kind = "student"\nsource = { system = "zoho", module = "BTEC_Students" }\n'
        'target = { system = "moodle", table = "local_mzi_students" }\nkey = { moodle = "zoho_student_id" }\n'
        '[fields]\ncity = { zoho = "City", type = "town" }\n', encoding="utf-8")
    workspace.config.write_text('specs_dir = "myspecs"\n' + workspace.config.read_text(), encoding="utf-8")
    result = workspace.run("plan")
    assert result.exit_code == 1
    assert "student.toml" in result.output and "'student'" in result.output and "fields.city.type" in result.output


def test_unreachable_moodle_exits_1_and_records_nothing(workspace: Workspace, monkeypatch) -> None:
    monkeypatch.setenv("MZI_MOODLE_TOKEN", "x")
    workspace.config.write_text("allow_mixed_backends = true\n" + workspace.config.read_text()
                                + '\n[moodle]\nbackend = "live"\nurl = "http://127.0.0.1:9"\nmax_retries = 1\ntimeout_seconds = 2\n',
                                encoding="utf-8")
    result = workspace.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "did not answer" in result.output, result.output
    store = StateStore(workspace.root / "state" / "mzi.sqlite")
    assert [r.command for r in store.runs()] == [], "a failed read must leave no run behind"
    with store.lock():  # and no lock behind either
        pass


def test_concurrent_apply_fails_fast_with_a_clear_message(workspace: Workspace) -> None:
    workspace.run("plan")  # creates the state store
    store = StateStore(workspace.root / "state" / "mzi.sqlite")
    with store.lock("apply", "mzi apply (other)"):
        result = workspace.run("apply", "--auto-approve")
    assert result.exit_code == 1
    assert f"pid {os.getpid()}" in result.output and "holds the apply lock" in result.output


def test_enrollment_of_a_student_missing_everywhere_plans_blocked_and_never_fails_the_run(make_workspace) -> None:
    workspace = make_workspace(blocked=True)
    plan = workspace.run("plan", "--no-color")
    blocked = re.findall(r"# (enrollment\.\S+).* is blocked: (student\.\S+) exists in neither Zoho nor Moodle", plan.output)
    assert len(blocked) == 1, plan.output[-2000:]
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    assert "0 failed, 2 blocked" in applied.output, "the enrollment, and the course enrolment it would give"
    after = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 2, "a blocked record is pending work for the drift check"
    assert _summary(after.output) == "Plan: 0 to create, 0 to update, 0 to delete, 2 blocked."


def _a_student_key(workspace: Workspace) -> str:
    """A student present on both sides after apply, read through Moodle's mirror."""
    import sqlite3

    db = sqlite3.connect(workspace.root / "state" / "sandbox" / "moodle.sqlite")
    (key,) = db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students WHERE status <> 'Deleted' "
                        "OR status IS NULL ORDER BY zoho_student_id LIMIT 1").fetchone()
    return str(key)
