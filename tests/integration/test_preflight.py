"""`plan` and `apply` refuse specs that do not fit the systems, before reading a record.

A spec naming a Zoho field that does not exist reads as empty values and plans a blanking
of every row; a spec naming a Moodle column the site lacks gives a half-done apply. Both
are caught by the preflight from Zoho's field metadata (cached in the state store) and
from the columns ``local_mzi_get_info`` reports for the site's own database.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from click.testing import Result

from cli_workspace import FIELDS, Workspace, moodle_functions, override_spec
from reconciler.sandbox import Sandbox
from reconciler.specs import load_specs
from reconciler.state import StateStore


#: the Zoho modules the bundled specs read
SPEC_MODULES = len({s.zoho_module for s in load_specs().values() if "zoho" in (s.source.system, s.target.system)})




def _zoho_paths(workspace: Workspace) -> Counter[str]:
    """API paths the Zoho emulator has served (``/crm/…`` only: token refreshes are free)."""
    return Counter(r["path"] for r in workspace.sandbox.zoho_store().api_log() if r["path"].startswith("/crm/"))


def _students(workspace: Workspace) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    try:
        return conn.execute("SELECT * FROM mdl_local_mzi_students ORDER BY id").fetchall()
    finally:
        conn.close()


def _state(workspace: Workspace) -> Path:
    return workspace.root / "state" / "mzi.sqlite"


def _error(result: Result) -> str:
    """stdout and stderr as a terminal shows them (click ≥ 8.2 interleaves both in ``output``)."""
    return result.output


# ---------------------------------------------------------------------- a Zoho field typo

def test_a_zoho_field_typo_stops_plan_with_exit_1_naming_file_and_field_before_any_read(workspace: Workspace) -> None:
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Cityy"')
    result = workspace.run("plan", "--no-color")
    assert result.exit_code == 1, result.output
    message = _error(result)
    assert "Error: " in message and "student.toml: field city names BTEC_Students.Cityy, which does not exist in Zoho" \
        in message, message
    assert "mzi doctor" in message, message
    reads = {path: n for path, n in _zoho_paths(workspace).items() if path != FIELDS}
    assert reads == {}, f"Zoho records were read before the spec was checked: {reads}"
    moodle = set(moodle_functions(workspace)) - {"local_mzi_get_info"}
    assert moodle == set(), f"Moodle was called before the spec was checked: {moodle}"


def test_every_problem_is_listed_not_only_the_first(workspace: Workspace) -> None:
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Cityy"')
    override_spec(workspace, "class.toml", 'zoho = "Term"', 'zoho = "Termm"')
    message = _error(workspace.run("plan", "--no-color"))
    assert "BTEC_Students.Cityy" in message and "BTEC_Classes.Termm" in message, message


def test_a_zoho_field_typo_stops_apply_and_writes_nothing(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    box = workspace.sandbox
    before, writes = _students(workspace), box.write_counts()
    box.edit(_first_student(box), {"City": "Irbid"})
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Cityy"')
    result = workspace.run("apply", "--auto-approve", "--no-color")
    assert result.exit_code == 1, result.output
    assert "BTEC_Students.Cityy" in _error(result)
    assert box.write_counts() == writes, "apply wrote although its spec names a Zoho field that does not exist"
    assert _students(workspace) == before


def test_a_saved_plan_is_not_applied_when_a_spec_names_a_missing_zoho_field(workspace: Workspace) -> None:
    box = workspace.sandbox
    box.ensure()
    before = _students(workspace)
    planfile = workspace.root / "plan.json"
    assert workspace.run("plan", "--out", str(planfile)).exit_code == 0
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Cityy"')
    result = workspace.run("apply", str(planfile), "--no-color")
    assert result.exit_code == 1, result.output
    assert "BTEC_Students.Cityy" in _error(result)
    assert box.write_counts()["moodle"] == 0 and _students(workspace) == before


def _first_student(box: Sandbox) -> str:
    store = box.zoho_store()
    row = store.conn.execute("SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT 1").fetchone()
    return f"student.{row[0]}"


# ---------------------------------------------------------------------- a Moodle column the site lacks

def test_a_spec_column_the_site_does_not_have_stops_plan_naming_file_table_and_column(workspace: Workspace) -> None:
    override_spec(workspace, "student.toml", "\ncity ", "\ncityy ")
    result = workspace.run("plan", "--no-color")
    assert result.exit_code == 1, result.output
    message = _error(result)
    assert "student.toml" in message and "local_mzi_students" in message and "cityy" in message, message
    assert workspace.sandbox.write_counts() == {"zoho": 0, "moodle": 0}
    moodle = set(moodle_functions(workspace)) - {"local_mzi_get_info"}
    assert moodle == set(), f"Moodle was read before the columns were checked: {moodle}"


def test_a_site_whose_table_lacks_a_spec_column_stops_apply_before_any_write(workspace: Workspace) -> None:
    box = workspace.sandbox
    box.ensure()
    conn = sqlite3.connect(box.moodle_db)
    conn.execute("ALTER TABLE mdl_local_mzi_students DROP COLUMN city")  # a site whose plugin lags install.xml
    conn.commit()
    conn.close()
    before = _students(workspace)
    result = workspace.run("apply", "--auto-approve", "--no-color")
    assert result.exit_code == 1, result.output
    message = _error(result)
    assert "student.toml" in message and "local_mzi_students" in message and "city" in message, message
    assert box.write_counts() == {"zoho": 0, "moodle": 0}
    assert _students(workspace) == before


# ---------------------------------------------------------------------- the metadata cache

def _metadata_calls(workspace: Workspace) -> int:
    store = StateStore(_state(workspace))
    try:
        return int(store.runs(1)[0].summary["api"]["zoho"]["metadata_calls"])
    finally:
        store.close()


def test_two_plans_ask_zoho_for_field_metadata_once_per_module(workspace: Workspace) -> None:
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == SPEC_MODULES
    assert _metadata_calls(workspace) == SPEC_MODULES
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == SPEC_MODULES, "the second plan did not use the cached metadata"
    assert _metadata_calls(workspace) == 0
    assert moodle_functions(workspace)["local_mzi_get_info"] == 2, "one get_info per plan"


def _edit_cache(workspace: Workspace, sql: str, *params: Any) -> None:
    conn = sqlite3.connect(_state(workspace))
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_stale_metadata_is_fetched_again_once_per_module(workspace: Workspace) -> None:
    assert workspace.run("plan").exit_code == 0
    _edit_cache(workspace, "UPDATE field_metadata SET fetched_at = ?", "2001-01-01T00:00:00+00:00")
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == 2 * SPEC_MODULES
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == 2 * SPEC_MODULES, "the refetched metadata was not cached"


def test_a_field_added_in_zoho_since_the_cache_is_refetched_once_and_the_plan_passes(workspace: Workspace) -> None:
    assert workspace.run("plan").exit_code == 0
    conn = sqlite3.connect(_state(workspace))
    [body] = conn.execute("SELECT body FROM field_metadata WHERE module = 'BTEC_Students'").fetchone()
    conn.close()
    older = [f for f in json.loads(body) if f["api_name"] != "City"]  # cached before City existed
    _edit_cache(workspace, "UPDATE field_metadata SET body = ? WHERE module = 'BTEC_Students'", json.dumps(older))
    result = workspace.run("plan", "--no-color")
    assert result.exit_code == 0, _error(result)
    assert _zoho_paths(workspace)[FIELDS] == SPEC_MODULES + 1, "only BTEC_Students should be asked again"
    assert _metadata_calls(workspace) == 1


def test_a_typo_on_warm_metadata_asks_zoho_once_more_then_fails(workspace: Workspace) -> None:
    assert workspace.run("plan").exit_code == 0
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Cityy"')
    assert workspace.run("plan").exit_code == 1
    assert _zoho_paths(workspace)[FIELDS] == SPEC_MODULES + 1


def test_metadata_max_age_must_not_be_negative(workspace: Workspace) -> None:
    workspace.config.write_text(workspace.config.read_text(encoding="utf-8") + "\n[zoho]\nmetadata_max_age_hours = -1\n",
                                encoding="utf-8")
    result = workspace.run("plan")
    assert result.exit_code == 1, result.output
    assert "zoho.metadata_max_age_hours: Input should be greater than or equal to 0" in _error(result), _error(result)


def test_a_zero_max_age_asks_zoho_every_run(workspace: Workspace) -> None:
    workspace.config.write_text(workspace.config.read_text(encoding="utf-8") + "\n[zoho]\nmetadata_max_age_hours = 0\n",
                                encoding="utf-8")
    assert workspace.run("plan").exit_code == 0
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == 2 * SPEC_MODULES


# ---------------------------------------------------------------------- doctor shares the checks

def test_doctor_checks_spec_columns_against_the_site_not_install_xml(workspace: Workspace) -> None:
    box = workspace.sandbox
    box.ensure()
    conn = sqlite3.connect(box.moodle_db)
    conn.execute("ALTER TABLE mdl_local_mzi_students DROP COLUMN city")
    conn.commit()
    conn.close()
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("  FAIL")]
    assert "moodle: student columns" in line and "local_mzi_students on the Moodle site has no column city" in line, line
    assert moodle_functions(workspace)["local_mzi_get_info"] == 1, "get_info is asked once per command"


def test_doctor_refreshes_the_metadata_cache_a_plan_then_uses(workspace: Workspace) -> None:
    assert workspace.run("doctor").exit_code == 0
    asked = _zoho_paths(workspace)[FIELDS]
    assert workspace.run("plan").exit_code == 0
    assert _zoho_paths(workspace)[FIELDS] == asked, "the plan after doctor asked Zoho for metadata again"
