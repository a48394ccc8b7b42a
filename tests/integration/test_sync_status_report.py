"""mzi reports each plan and apply to Moodle (local_mzi_push_sync_status), for the
plugin's sync status page: one row per kind and command, in the emulator's
``mdl_local_mzi_sync_status``, checked against mzi's own run log."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from reconciler.config import load_config
from reconciler.sandbox.moodle import functions
from reconciler.sandbox.moodle.external import WsException
from reconciler.specs import load_specs
from reconciler.state import StateStore

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

Row = dict[str, Any]


def _rows(workspace: Workspace, command: str) -> dict[str, Row]:
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM mdl_local_mzi_sync_status WHERE command = ?", (command,)).fetchall()
    return {r["kind"]: {k: r[k] for k in r.keys() if k not in ("id", "timemodified")} for r in rows}


def _state(workspace: Workspace) -> StateStore:
    return StateStore(load_config(workspace.config).state_db)


def _last_run(workspace: Workspace) -> tuple[int, str, dict[str, Any], list[dict[str, Any]]]:
    store = _state(workspace)
    try:
        run = store.runs(1)[0]
        return run.id, run.command, json.loads(json.dumps(run.summary)), store.results(run.id)
    finally:
        store.close()


def _kinds(workspace: Workspace) -> set[str]:
    return set(load_specs(load_config(workspace.config).specs_dir))


def _a_student(workspace: Workspace) -> str:
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        (key,) = db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students WHERE status <> 'Deleted' "
                            "OR status IS NULL ORDER BY zoho_student_id LIMIT 1").fetchone()
    return str(key)


def _counts_from_run_log(results: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    """Per kind, what the run log says the apply did: the numbers the page must show."""
    counts: dict[str, Counter[str]] = {}
    for r in results:
        kind = r["address"].split(".", 1)[0]
        counter = counts.setdefault(kind, Counter())
        if r["ok"]:
            counter[r["action"] + "s"] += 1
        elif r["status"] == "blocked":
            counter["blocked"] += 1
        else:
            counter["errors"] += 1
    return counts


def test_apply_reports_one_row_per_kind_with_the_run_logs_counts_status_and_run_id(workspace: Workspace) -> None:
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    run_id, command, _, results = _last_run(workspace)
    assert command == "apply"
    rows = _rows(workspace, "apply")
    assert set(rows) == _kinds(workspace), f"rows for {sorted(rows)}, specs are {sorted(_kinds(workspace))}"
    expected = _counts_from_run_log(results)
    assert sum(sum(c.values()) for c in expected.values()) > 0, "the demo's first apply should write something"
    for kind, row in rows.items():
        want = expected.get(kind, Counter())
        got = {n: row[n] for n in ("creates", "updates", "deletes", "blocked", "errors")}
        assert got == {n: want[n] for n in got}, f"{kind}: pushed {got}, run log says {dict(want)}"
        assert (row["status"], row["runid"]) == ("ok", run_id), f"{kind}: {row}"
        assert row["timefinished"] > 0, row
    assert _rows(workspace, "plan") == {}, "an apply must not pose as a plan"


def test_a_plan_changes_the_plan_rows_and_leaves_the_apply_rows(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    applied = _rows(workspace, "apply")
    assert workspace.run("sandbox", "edit", f"student.{_a_student(workspace)}", "City=Irbid").exit_code == 0
    planned = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    run_id, command, _, _ = _last_run(workspace)
    assert command == "plan"
    plans = _rows(workspace, "plan")
    assert set(plans) == _kinds(workspace), sorted(plans)
    assert {k: (r["updates"], r["status"], r["runid"]) for k, r in plans.items()} == {
        k: (1 if k == "student" else 0, "ok", run_id) for k in plans}, plans
    assert _rows(workspace, "apply") == applied, "a plan overwrote the last apply's row"


def test_a_targeted_plan_reports_only_the_kinds_it_looked_at(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    planned = workspace.run("plan", "--kind", "student", "--no-color")
    assert planned.exit_code == 0, planned.output
    assert set(_rows(workspace, "plan")) == {"student"}


def test_the_push_shows_in_the_api_usage_of_the_run_log(workspace: Workspace) -> None:
    planned = workspace.run("plan")
    assert planned.exit_code == 0, planned.output
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        calls = [r[0] for r in db.execute("SELECT wsfunction FROM mdl_mzi_api_log ORDER BY id")]
    _, _, summary, _ = _last_run(workspace)
    assert calls.count("local_mzi_push_sync_status") == 1, calls
    assert summary["api"]["moodle"]["requests"] == len(calls), (summary["api"], calls)


def _refuse(ctx: Any, args: dict[str, Any]) -> dict[str, Any]:
    raise WsException("Error writing to database", "the status table is read-only", "dmlwriteexception")


@pytest.mark.parametrize("args,exit_code", [(("apply", "--auto-approve"), 0), (("plan", "--detailed-exitcode"), 2)])
def test_a_refused_push_warns_once_and_keeps_the_runs_exit_code(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                                 args: tuple[str, ...], exit_code: int) -> None:
    monkeypatch.setattr(functions, "push_sync_status", _refuse)
    result = workspace.run(*args, "--no-color")
    assert result.exit_code == exit_code, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "dmlwriteexception" in warnings[0] and "sync status" in warnings[0], result.stderr
    _, _, summary, _ = _last_run(workspace)
    assert "dmlwriteexception" in summary.get("moodle_report", ""), summary
    assert _rows(workspace, args[0]) == {}


def test_an_apply_refused_after_it_began_is_reported_failed_with_its_run_id(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    key = _a_student(workspace)
    assert workspace.run("sandbox", "edit", f"student.{key}", "City=Irbid").exit_code == 0
    planfile = workspace.root / "plan.json"
    assert workspace.run("plan", "--out", str(planfile)).exit_code == 0
    assert workspace.run("sandbox", "edit", f"student.{key}", "City=Zarqa").exit_code == 0
    stale = workspace.run("apply", str(planfile), "--no-color")
    assert stale.exit_code == 1 and "stale" in stale.stderr, stale.output
    run_id, command, _, _ = _last_run(workspace)
    assert command == "apply"
    rows = _rows(workspace, "apply")
    assert {k: (r["status"], r["runid"], r["updates"]) for k, r in rows.items()} == {
        k: ("failed", run_id, 0) for k in _kinds(workspace)}, rows
