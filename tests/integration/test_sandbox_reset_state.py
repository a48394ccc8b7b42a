"""`mzi sandbox reset` starts the school afresh, watermarks included.

A reset left the Zoho watermarks of the old school behind, so `plan --changed-only`
answered "No changes." while a full plan found every record of the new school.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from reconciler.config import load_config
from reconciler.state import StateStore

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _summary(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("Plan:", "No changes."))]
    assert lines, f"no summary line in:\n{output}"
    return lines[-1]


def test_changed_only_after_a_reset_sees_the_whole_new_school(workspace: "Workspace") -> None:
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0, applied.output
    store = StateStore(load_config(workspace.config).state_db)
    assert store.watermarks(), "a successful apply records watermarks"
    store.close()
    reset = workspace.run("sandbox", "reset")
    assert reset.exit_code == 0, reset.output
    store = StateStore(load_config(workspace.config).state_db)
    assert store.watermarks() == {}, store.watermarks()
    store.close()
    full = workspace.run("plan", "--no-color")
    changed = workspace.run("plan", "--changed-only", "--no-color")
    assert _summary(full.stdout).startswith("Plan:"), full.stdout[-300:]
    assert _summary(changed.stdout) == _summary(full.stdout), (changed.stdout[-300:], full.stdout[-300:])


def test_plan_json_and_show_json_of_a_saved_plan_show_iso_datetimes(workspace: "Workspace") -> None:
    out = workspace.root / "saved.plan"
    planned = workspace.run("plan", "--json", "--out", str(out))
    assert planned.exit_code == 0, planned.output
    shown = workspace.run("show", "--json", str(out))
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.endswith("}\n"), shown.stdout[-50:]
    for text in (shown.stdout, planned.stdout):
        changes = json.loads(text)["changes"]
        stamps = [c["after"]["zoho_modified_time"] for c in changes if c["after"] and "zoho_modified_time" in c["after"]]
        assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps), stamps[:5]
