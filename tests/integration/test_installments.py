"""The installment kind on the sandbox, through the CLI: a registration's Payment_Schedule
rows become rows of local_mzi_installments, addressed ``installment.<registration>:<n>``.

The specs come from tests/fixtures/specs/installment (a minimal registration kind plus
the installment spec that is to ship in specs/).
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.sandbox import Faults
from reconciler.sandbox.zoho.metadata import load_metadata
from reconciler.sandbox.zoho.writes import RecordWriter

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "installment"


def _with_installments(workspace: Workspace) -> Workspace:
    specs = workspace.root / "myspecs"
    specs.mkdir(exist_ok=True)
    for path in SPECS.glob("*.toml"):
        shutil.copy(path, specs / path.name)
    workspace.config.write_text('specs_dir = "myspecs"\n' + workspace.config.read_text(encoding="utf-8"),
                                encoding="utf-8")
    return workspace


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert lines, f"no summary line in:\n{output}"
    return lines[-1]


def _mirror(workspace: Workspace, registration: str | None = None) -> dict[tuple[str, int], dict[str, Any]]:
    db = sqlite3.connect(workspace.root / "state" / "sandbox" / "moodle.sqlite")
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT * FROM mdl_local_mzi_installments").fetchall()
    finally:
        db.close()
    return {(r["zoho_registration_id"], r["installment_number"]): dict(r) for r in rows
            if registration is None or r["zoho_registration_id"] == registration}


def _schedules(workspace: Workspace) -> dict[str, list[dict[str, Any]]]:
    store = workspace.sandbox.zoho_store()
    return {str(r["id"]): list(r.get("Payment_Schedule") or []) for r in store.all_records("BTEC_Registrations")}


def _replace_schedule(workspace: Workspace, registration: str, rows: list[dict[str, Any]]) -> None:
    """What an administrator does in Zoho: save the registration with an edited subform
    (rows keep their ids; a row left out is removed, as Zoho does)."""
    store = workspace.sandbox.zoho_store()
    module = load_metadata()["BTEC_Registrations"]
    with store.transaction():
        entry = RecordWriter(store, load_metadata(), Faults()).update(
            module, [{"id": registration, "Payment_Schedule": rows}]).entries[0]
    assert entry["status"] == "success", entry


def _a_full_schedule(workspace: Workspace) -> tuple[str, list[dict[str, Any]]]:
    registration, rows = next((k, v) for k, v in sorted(_schedules(workspace).items()) if len(v) == 4)
    return registration, rows


def test_apply_mirrors_every_payment_schedule_row_then_plans_nothing_and_writes_nothing(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output[-3000:]
    expected = {(reg, int(row["Installment_Number"])): row for reg, rows in _schedules(workspace).items() for row in rows}
    mirror = _mirror(workspace)
    assert expected and set(mirror) == set(expected), sorted(set(mirror) ^ set(expected))[:5]
    (reg, number), row = next(iter(sorted(expected.items())))
    assert (mirror[(reg, number)]["due_date"], float(mirror[(reg, number)]["amount"])) == (row["Due_Date"], row["Amount"])
    again = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert again.exit_code == 0 and _summary(again.output) == "No changes.", again.output[-3000:]
    writes = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve", "--no-color")
    assert second.exit_code == 0, second.output
    assert workspace.sandbox.write_counts() == writes, "an in-sync apply must make zero write calls"


def test_a_row_removed_from_the_subform_is_deleted_and_a_changed_amount_is_one_update(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    registration, rows = _a_full_schedule(workspace)
    edited = [dict(r) for r in rows[:3]]
    edited[1]["Amount"] = round(float(edited[1]["Amount"]) + 10.25, 2)
    _replace_schedule(workspace, registration, edited)

    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 2, plan.output
    assert _summary(plan.output) == "Plan: 0 to create, 1 to update, 1 to delete, 0 blocked.", plan.output[-3000:]
    assert workspace.addresses(plan.output, "~", "installment") == [f"installment.{registration}:2"]
    assert workspace.addresses(plan.output, "-", "installment") == [f"installment.{registration}:4"]
    assert re.search(rf'~ amount\s+= "?{edited[1]["Amount"] - 10.25:g}"? -> "?{edited[1]["Amount"]:g}"?', plan.output), \
        plan.output[-3000:]

    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    mirror = _mirror(workspace, registration)
    assert sorted(mirror) == [(registration, 1), (registration, 2), (registration, 3)]
    assert float(mirror[(registration, 2)]["amount"]) == edited[1]["Amount"]
    assert _summary(workspace.run("plan", "--no-color").output) == "No changes."


def test_changed_only_replaces_the_schedule_of_an_edited_registration(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    registration, rows = _a_full_schedule(workspace)
    _replace_schedule(workspace, registration, [dict(r) for r in rows[:2]])
    plan = workspace.run("plan", "--changed-only", "--no-color")
    assert workspace.addresses(plan.output, "-", "installment") == [f"installment.{registration}:3",
                                                                     f"installment.{registration}:4"], plan.output
    assert workspace.run("apply", "--changed-only", "--auto-approve").exit_code == 0
    assert sorted(_mirror(workspace, registration)) == [(registration, 1), (registration, 2)]
    after = workspace.run("plan", "--changed-only", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 0, after.output


def test_a_registration_deleted_in_zoho_takes_its_installments_along_even_changed_only(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    registration, _ = _a_full_schedule(workspace)
    assert workspace.run("sandbox", "delete", f"registration.{registration}").exit_code == 0
    plan = workspace.run("plan", "--changed-only", "--no-color")
    assert workspace.addresses(plan.output, "-", "installment") == [f"installment.{registration}:{n}" for n in range(1, 5)]
    assert workspace.addresses(plan.output, "-", "registration") == [f"registration.{registration}"]
    applied = workspace.run("apply", "--changed-only", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    assert _mirror(workspace, registration) == {}


def test_a_row_without_its_number_is_an_unreadable_record_and_holds_the_rows_delete(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    registration, rows = _a_full_schedule(workspace)
    edited = [dict(r) for r in rows]
    edited[2]["Installment_Number"] = None
    _replace_schedule(workspace, registration, edited)
    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 1, plan.output[-3000:]
    assert re.search(rf"installment\.{registration}:\?3 is blocked: cannot be read in Zoho: row 3 of Payment_Schedule: key field "
                     r"installment_number \(Zoho Installment_Number\) is empty", plan.output), plan.output[-3000:]
    assert workspace.addresses(plan.output, "-", "installment") == [], "the row without a number may be row 3"
    assert f"installment.{registration}:3" in plan.output and "has a row that cannot be read" in plan.output
    assert "Traceback" not in plan.output


def test_two_rows_with_one_number_are_both_unreadable_and_named(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    registration, rows = _a_full_schedule(workspace)
    edited = [dict(r) for r in rows]
    edited[3]["Installment_Number"] = 2
    _replace_schedule(workspace, registration, edited)
    plan = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert plan.exit_code == 1, plan.output[-3000:]
    assert re.search(rf"installment\.{registration}:2 \(?.*is blocked: cannot be read in Zoho: rows 2 and 4 of Payment_Schedule have the same "
                     rf"key {registration}:2", plan.output), plan.output[-3000:]
    assert workspace.addresses(plan.output, "-", "installment") == []


def test_plan_json_and_show_name_the_composite_address(make_workspace) -> None:
    workspace = _with_installments(make_workspace())
    as_json = workspace.run("plan", "--json")
    assert as_json.exit_code == 0, as_json.output[-2000:]
    changes = [c for c in json.loads(as_json.stdout)["changes"] if c["address"].startswith("installment.")]
    assert changes, "the fresh demo plans installments"
    first = changes[0]
    registration, number = first["address"].removeprefix("installment.").split(":")
    assert first["after"]["zoho_registration_id"] == registration and first["after"]["installment_number"] == int(number)
    # the registration is named by its own label (label_refs), read in the same plan
    assert re.fullmatch(rf"installment {number} of REG-\d+.*, due {first['after']['due_date']}", first["label"]), \
        first["label"]
    saved = workspace.root / "plan.json"
    assert workspace.run("plan", "--out", str(saved)).exit_code == 0
    shown = workspace.run("show", str(saved), "--no-color")
    assert f"+ {first['address']}" in shown.output, shown.output[-2000:]
    before = set(_mirror(workspace))
    target = workspace.run("apply", "--target", first["address"], "--auto-approve", "--no-color")
    assert target.exit_code == 0, target.output
    assert set(_mirror(workspace)) - before == {(registration, int(number))}, "the target, and only it, was written"
