"""The JSON view shows datetimes as the text view does (ISO UTC) and ends with a newline.

Only the view: the plan object, and a saved plan file, keep the Unix seconds apply writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.model import Action, Address, Change, FieldDelta
from reconciler.plan import Plan
from reconciler.render import render_json

MODIFIED = 1783480574  # 2026-07-08T03:16:14Z
CREATED = 1767225600   # 2026-01-01T00:00:00Z


def _plan() -> Plan:
    update = Change(
        Action.UPDATE, Address("student", "S1"),
        after={"city": "Irbid", "zoho_modified_time": MODIFIED},  # a compare = false rider: no delta of its own
        deltas=(FieldDelta("city", "Amman", "Irbid"),),
        actual_fingerprint="f",
    )
    create = Change(
        Action.CREATE, Address("class", "C1"),
        after={"name": "X", "zoho_created_time": CREATED, "national_id": "123"},
        deltas=(FieldDelta("name", None, "X"), FieldDelta("zoho_created_time", None, CREATED, type="datetime"),
                FieldDelta("national_id", None, "123", sensitive=True)),
    )
    return Plan([update, create], specs_hash="h")


def test_json_view_shows_datetimes_in_iso_utc_in_deltas_and_after() -> None:
    data = json.loads(render_json(_plan(), {"student": {"city": "string", "zoho_modified_time": "datetime"}}))
    update, create = data["changes"]
    assert update["after"]["zoho_modified_time"] == "2026-07-08T03:16:14Z", update["after"]
    assert create["deltas"][1]["new"] == "2026-01-01T00:00:00Z", create["deltas"]
    assert create["after"]["zoho_created_time"] == "2026-01-01T00:00:00Z", create["after"]
    assert create["after"]["national_id"] == "(sensitive)" and create["deltas"][2]["new"] == "(sensitive)"


def test_json_view_ends_with_a_newline() -> None:
    assert render_json(_plan()).endswith("}\n")


def test_the_plan_and_its_saved_file_keep_unix_seconds(tmp_path: Path) -> None:
    plan = _plan()
    render_json(plan, {"student": {"zoho_modified_time": "datetime"}})
    assert plan.changes[0].after == {"city": "Irbid", "zoho_modified_time": MODIFIED}
    plan.save(tmp_path / "p.json")
    saved = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert saved["changes"][0]["after"]["zoho_modified_time"] == MODIFIED
    assert saved["changes"][1]["deltas"][1]["new"] == CREATED
