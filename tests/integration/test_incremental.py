"""`--changed-only`: read what Zoho changed since the last successful apply, reconcile that.

The watermark moves only when an apply succeeds, so a plan (or a failed apply) never
consumes the window of changes; a full refresh happens when none is recorded or it is
older than ``[zoho] full_refresh_after_hours``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from reconciler import commands
from reconciler.config import Config, SandboxSettings
from reconciler.sandbox import Sandbox
from reconciler.state import StateStore


@pytest.fixture
def config(tmp_path: Path) -> Config:
    config = Config(state_dir=tmp_path / "state", sandbox=SandboxSettings(students=30, seed=5))
    asyncio.run(_apply(config))  # a first, full, successful apply sets the watermarks
    # its follow-ups wrote Moodle ids into Zoho after those reads started (Modified_Time moves):
    # incremental runs within the watermark overlap (5 minutes) read those records again,
    # and find nothing to do
    echo = asyncio.run(_apply(config, changed_only=True))
    assert not echo.plan.changes, [str(c.address) for c in echo.plan.changes]
    return config


def _echo(config: Config) -> int:
    """Zoho records an incremental plan reads with nothing changed: the apply's own writes
    still inside the watermark overlap."""
    return asyncio.run(_plan(config, changed_only=True)).usage["zoho"]["records"]


async def _apply(config: Config, **kwargs: Any) -> commands.Outcome:
    kwargs.setdefault("allow_mass_delete", True)
    async with commands.workspace(config=config) as ws:
        return await commands.apply(ws, **kwargs)


async def _plan(config: Config, **kwargs: Any) -> commands.Outcome:
    async with commands.workspace(config=config) as ws:
        return await commands.plan(ws, **kwargs)


def _a_student(config: Config) -> str:
    with sqlite3.connect(config.sandbox_dir / "moodle.sqlite") as db:
        return str(db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students WHERE status = 'Active' "
                              "ORDER BY zoho_student_id LIMIT 1").fetchone()[0])


def test_changed_only_plan_sees_exactly_the_zoho_edit_reading_few_records(config: Config) -> None:
    key = _a_student(config)
    echo = _echo(config)
    Sandbox.from_config(config).edit(f"student.{key}", {"City": "Jerash"})
    full = asyncio.run(_plan(config))
    changed = asyncio.run(_plan(config, changed_only=True))
    assert [str(c.address) for c in changed.plan.changes] == [f"student.{key}"]
    assert [str(c.address) for c in full.plan.changes] == [f"student.{key}"]
    assert changed.usage["zoho"]["records"] - echo <= 2, (echo, changed.usage)
    # a full plan reads each Zoho module once (kinds of one module share the read), so its
    # count is the school's records once; the changed-only one reads the echo and the edit
    assert changed.usage["zoho"]["records"] < full.usage["zoho"]["records"] / 2, (changed.usage, full.usage)


def test_a_plan_does_not_consume_the_window_of_changes(config: Config) -> None:
    key = _a_student(config)
    Sandbox.from_config(config).edit(f"student.{key}", {"City": "Madaba"})
    first = asyncio.run(_plan(config, changed_only=True))
    second = asyncio.run(_plan(config, changed_only=True))
    assert first.plan.summary.line == second.plan.summary.line == "Plan: 0 to create, 1 to update, 0 to delete, 0 blocked."
    applied = asyncio.run(_apply(config, changed_only=True))
    assert [r.ok for r in applied.results] == [True]
    assert asyncio.run(_plan(config, changed_only=True)).plan.summary.line == "No changes."


def test_a_record_deleted_in_zoho_is_soft_deleted_by_a_changed_only_apply(config: Config) -> None:
    key = _a_student(config)
    Sandbox.from_config(config).delete(f"student.{key}")
    outcome = asyncio.run(_apply(config, changed_only=True))
    assert [(r.action.verb, str(r.address), r.ok) for r in outcome.results] == [("delete", f"student.{key}", True)]


def test_without_a_watermark_changed_only_falls_back_to_a_full_refresh(tmp_path: Path) -> None:
    fresh = Config(state_dir=tmp_path / "fresh", sandbox=SandboxSettings(students=30, seed=5))
    full = asyncio.run(_plan(fresh))
    changed = asyncio.run(_plan(fresh, changed_only=True))
    assert changed.plan.summary == full.plan.summary and full.plan.summary.create > 0


def test_cli_changed_only_apply_reconciles_a_zoho_edit(make_workspace) -> None:
    workspace = make_workspace()
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    config = Config(state_dir=workspace.root / "state", sandbox=SandboxSettings(students=40, seed=11))
    key = _a_student(config)
    assert workspace.run("sandbox", "edit", f"student.{key}", "City=Salt").exit_code == 0
    applied = workspace.run("apply", "--changed-only", "--auto-approve", "--no-color")
    assert applied.exit_code == 0 and "1 succeeded" in applied.output, applied.output
    after = workspace.run("plan", "--changed-only", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 0, after.output


def test_changed_only_apply_is_held_to_the_mass_delete_guard(config: Config) -> None:
    from reconciler.errors import PlanError

    sandbox = Sandbox.from_config(config)
    with sqlite3.connect(config.sandbox_dir / "moodle.sqlite") as db:
        keys = [str(k) for (k,) in db.execute("SELECT zoho_student_id FROM mdl_local_mzi_students "
                                               "WHERE status = 'Active' ORDER BY zoho_student_id LIMIT 15")]
    for key in keys:
        sandbox.delete(f"student.{key}")
    with pytest.raises(PlanError, match="mass delete"):
        asyncio.run(_apply(config.model_copy(), changed_only=True, allow_mass_delete=False))


def test_a_blocked_record_does_not_force_every_changed_only_run_into_a_full_read(tmp_path: Path) -> None:
    """An apply with nothing to do but a blocked record still succeeds: it must move the
    watermarks, or every later --changed-only run falls back to a full read."""
    blocked = Config(state_dir=tmp_path / "b", sandbox=SandboxSettings(students=30, seed=5, blocked_example=True))
    first = asyncio.run(_apply(blocked))
    assert [r.status for r in first.results if not r.ok and r.address.kind == "enrollment"] == ["blocked"]
    store = StateStore(blocked.state_db)
    store.restore_watermarks({})  # a new state store beside a Moodle already in sync
    store.close()
    noop = asyncio.run(_apply(blocked))
    assert not noop.plan.applicable() and [c.address.kind for c in noop.plan.changes] == ["enrollment", "enrolment"]
    again = asyncio.run(_plan(blocked, changed_only=True))
    # what it reads is the first apply's own writes of Moodle ids to Zoho, still inside the
    # watermark overlap — a full read would be every record again (each kind reading its
    # module alone: more than the full plan, whose kinds of one module share one read)
    assert again.usage["zoho"]["records"] < noop.usage["zoho"]["records"] / 2, \
        f"changed-only fell back to a full read: {again.usage} (full: {noop.usage})"

def test_changed_only_carries_a_link_changed_in_moodle_to_zoho_reading_it_by_id(config: Config) -> None:
    """A reverse kind reads its Moodle rows modified since its watermark, and Zoho only by id."""
    key = _a_student(config)
    with sqlite3.connect(config.sandbox_dir / "moodle.sqlite") as db:
        db.execute("UPDATE mdl_local_mzi_students SET moodle_user_id = 4242, timemodified = strftime('%s','now') + 1 "
                   "WHERE zoho_student_id = ?", (key,))
    changed = asyncio.run(_plan(config, changed_only=True))
    links = [c for c in changed.plan.changes if c.address.kind == "student_link"]
    assert [(str(c.address), c.after) for c in links] == [(f"student_link.{key}", {"moodle_user_id": "4242"})]
