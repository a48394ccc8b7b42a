"""`mzi doctor` on the sandbox: the preflight an admin runs before the first real apply.

Each failure it reports stands for a mistake that an apply would otherwise make
silently or half-way (a renamed Zoho field, a wrong type, a non-unique upsert key, PHP
truncating batches), so the tests break each one on purpose and read the advice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cli_workspace import FIELDS, Workspace, override_spec
from reconciler.doctor import (
    Check,
    column_checks,
    max_input_vars_check,
    moodle_checks,
    spec_field_checks,
    unique_checks,
    upsert_keys,
)
from reconciler.errors import MziError
from reconciler.providers.moodle import MoodleAuthError, MoodleProvider
from reconciler.providers.zoho_client import ZohoAuthError, ZohoClient
from reconciler.specs import Spec, bundled_specs_dir, load_spec, load_specs






def _lines(output: str, label: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"  {label}")]


# ---------------------------------------------------------------------- through the CLI

def test_every_check_passes_on_the_sandbox_and_doctor_exits_0(workspace: Workspace) -> None:
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 0, result.output
    assert not _lines(result.output, "FAIL") and not _lines(result.output, "warn")
    names = [line.split("—")[0].split(None, 1)[1].strip() for line in _lines(result.output, "ok")]
    assert names[:1] == ["zoho: credentials"]
    assert {"zoho: student fields", "zoho: unique BTEC_Grades.Moodle_Grade_Composite_Key", "moodle: site",
            "moodle: local_mzi", "moodle: max_input_vars", "moodle: canmanage", "moodle: student columns"} <= set(names)
    assert "0 failed" in result.output


def test_doctor_only_reads_and_asks_zoho_once_per_module(workspace: Workspace) -> None:
    assert workspace.run("doctor").exit_code == 0
    box = workspace.sandbox
    assert box.write_counts() == {"zoho": 0, "moodle": 0}
    log = box.zoho_store().api_log()
    modules = {s.zoho_module for s in load_specs().values()} | {"BTEC_Grades"}  # + the unique-key check's
    assert len([r for r in log if r["path"] == FIELDS]) == len(modules), f"once per module of {sorted(modules)}"
    assert all(r["credits"] == 1 for r in log if r["path"] == FIELDS)


def test_a_spec_naming_a_zoho_field_that_does_not_exist_fails_naming_file_and_field(workspace: Workspace) -> None:
    override_spec(workspace, "student.toml", 'zoho = "City"', 'zoho = "Town"')
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1
    [line] = _lines(result.output, "FAIL")
    assert "zoho: student.city" in line and "student.toml" in line
    assert "BTEC_Students.Town" in line and "does not exist" in line
    assert "1 failed" in result.output


def test_a_lookup_field_mapped_to_a_text_zoho_field_is_a_type_mismatch(workspace: Workspace) -> None:
    override_spec(workspace, "enrollment.toml", '{ zoho = "Enrolled_Students", type = "lookup_id" }',
                   '{ zoho = "Enrolled_Program", type = "lookup_id" }')
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1
    [line] = _lines(result.output, "FAIL")
    assert "enrollment.toml" in line and "zoho: enrollment.zoho_student_id" in line
    assert "type lookup_id" in line and "BTEC_Enrollments.Enrolled_Program" in line
    assert "data_type is text" in line and "needs lookup" in line


def test_max_input_vars_above_the_servers_limit_fails_with_the_number_to_set(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the sandbox's Moodle reports mzi.toml's own value, so the server's answer is stubbed
    real = MoodleProvider.get_info

    async def lower_limit(self: MoodleProvider) -> dict[str, Any]:
        return {**await real(self), "maxinputvars": 3000}

    monkeypatch.setattr(MoodleProvider, "get_info", lower_limit)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1
    [line] = _lines(result.output, "FAIL")
    assert "moodle: max_input_vars" in line and "truncated" in line
    assert "mzi.toml sets [moodle] max_input_vars = 5000" in line and "set max_input_vars = 3000" in line


def test_refused_zoho_credentials_fail_and_skip_the_field_checks(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    async def refused(self: ZohoClient) -> str:
        raise ZohoAuthError("the token refresh", 200, "invalid_code", "the refresh token is invalid or was revoked")

    monkeypatch.setattr(ZohoClient, "access_token", refused)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1
    [failed] = _lines(result.output, "FAIL")
    assert "zoho: credentials" in failed and "invalid_code" in failed
    [skipped] = _lines(result.output, "warn")
    assert "zoho: fields" in skipped and "skipped" in skipped
    assert _lines(result.output, "ok    moodle: site"), "Moodle is still checked"


def test_a_config_error_is_one_error_line_and_exit_1(workspace: Workspace) -> None:
    workspace.config.write_text(workspace.config.read_text(encoding="utf-8") + "\n[moodle]\nmax_input_vars = 1\n",
                                encoding="utf-8")
    result = workspace.run("doctor")
    assert result.exit_code == 1 and result.output.startswith("Error:")


# ---------------------------------------------------------------------- the check functions

class StubMoodle:
    """A Moodle whose answers are given: what a real server with other settings would say."""

    def __init__(self, info: dict[str, Any] | None = None, error: MziError | None = None) -> None:
        self.info = info or {}
        self.error = error

    async def site_info(self) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"sitename": "School", "release": "4.3", "username": "mzi_ws"}

    async def get_info(self) -> dict[str, Any]:
        return self.info


INFO = {"component": "local_mzi", "version": 2026112300, "release": "0.1.0", "maxinputvars": 5000, "canmanage": True}


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_server_limit_below_mzi_toml_is_an_error_naming_the_number() -> None:
    checks = _by_name(asyncio.run(moodle_checks(StubMoodle(INFO | {"maxinputvars": 2000}), 5000)))
    check = checks["moodle: max_input_vars"]
    assert check.blocking and "set max_input_vars = 2000" in check.detail and "truncated" in check.detail
    assert max_input_vars_check(server=5000, configured=4000).ok


def test_a_token_without_the_manage_capability_fails_canmanage() -> None:
    checks = _by_name(asyncio.run(moodle_checks(StubMoodle(INFO | {"canmanage": False}), 5000)))
    assert checks["moodle: canmanage"].blocking and "local/mzi:manage" in checks["moodle: canmanage"].detail
    assert checks["moodle: local_mzi"].ok and "2026112300" in checks["moodle: local_mzi"].detail


def test_a_refused_moodle_token_fails_site_and_skips_the_plugin_checks() -> None:
    error = MoodleAuthError("core_webservice_get_site_info", "moodle_exception", "invalidtoken", "Invalid token")
    checks = asyncio.run(moodle_checks(StubMoodle(error=error), 5000))
    assert [(c.name, c.ok, c.severity) for c in checks] == [("moodle: site", False, "error"),
                                                            ("moodle: local_mzi", False, "warning")]
    assert "MZI_MOODLE_TOKEN" in checks[0].detail


GRADE = Spec.model_validate({
    "kind": "moodle_grade", "source": {"system": "moodle", "table": "local_mzi_grades"},
    "target": {"system": "zoho", "module": "BTEC_Grades"},
    "key": {"zoho": "Moodle_Grade_Composite_Key", "moodle": "composite_key"},
    "fields": {"grade": {"zoho": "Grade", "type": "picklist"}, "zoho_student_id": {"zoho": "Student", "type": "lookup_id"}},
})


def _meta(**types: str) -> dict[str, dict[str, Any]]:
    return {name: {"api_name": name, "data_type": data_type, "unique": None} for name, data_type in types.items()}


def test_an_upsert_key_not_marked_unique_fails_with_the_zoho_setting_to_change() -> None:
    metadata = {"BTEC_Grades": _meta(Moodle_Grade_Composite_Key="text", Grade="picklist", Student="lookup")}
    [check] = unique_checks(upsert_keys([GRADE], {}), metadata)
    assert check.name == "zoho: unique BTEC_Grades.Moodle_Grade_Composite_Key" and check.blocking
    assert "kind moodle_grade upserts on it" in check.detail and "Do not allow duplicate values" in check.detail
    metadata["BTEC_Grades"]["Moodle_Grade_Composite_Key"]["unique"] = {"casesensitive": "false"}
    assert unique_checks(upsert_keys([GRADE], {}), metadata)[0].ok


def test_configured_duplicate_check_fields_replace_the_key_as_upsert_fields() -> None:
    assert upsert_keys([GRADE], {"moodle_grade": ["Moodle_Grade_ID"]}) == [
        ("BTEC_Grades", "Moodle_Grade_ID", "kind moodle_grade upserts on it")]


def test_a_missing_key_field_of_a_reverse_kind_is_reported() -> None:
    [check] = spec_field_checks(GRADE, _meta(Grade="picklist", Student="lookup"))
    assert check.name == "zoho: moodle_grade.composite_key" and "[key] zoho" in check.detail
    assert "BTEC_Grades.Moodle_Grade_Composite_Key" in check.detail


def test_a_date_field_mapped_to_a_datetime_is_a_mismatch_naming_both_types() -> None:
    spec = load_spec(bundled_specs_dir() / "class.toml")
    metadata = {name: {"api_name": name, "data_type": "lookup" if name in ("BTEC_Program", "Unit", "Teacher") else
                       "picklist" if name in ("Class_Status", "Term", "Class_Study_Mode") else
                       "datetime" if name in ("Created_Time", "Modified_Time", "Start_Date") else
                       "date" if name == "End_Date" else "text"}
                for f in spec.fields.values() for name in f.zoho_names}
    [check] = spec_field_checks(spec, metadata)
    assert check.name == "zoho: class.start_date"
    assert "(type date)" in check.detail and "data_type is datetime" in check.detail and "needs date" in check.detail


def test_a_spec_column_missing_from_install_xml_fails_naming_table_and_column(tmp_path: Path) -> None:
    spec = Spec.model_validate({
        "kind": "student", "source": {"system": "zoho", "module": "BTEC_Students"},
        "target": {"system": "moodle", "table": "local_mzi_students"}, "key": {"moodle": "zoho_student_id"},
        "fields": {"city": {"zoho": "City"}, "shoe_size": {"zoho": "Shoe_Size", "type": "int"}},
        "path": tmp_path / "student.toml",
    })
    [check] = column_checks([spec])
    assert check.blocking and "local_mzi_students" in check.detail and "shoe_size" in check.detail
    assert "city" not in check.detail.split("no column", 1)[1]


# ---------------------------------------------------------------------- the course category

def _set_category(workspace: Workspace, category: int) -> None:
    workspace.config.write_text(workspace.config.read_text(encoding="utf-8")
                                + f"[moodle]\ncourse_category_id = {category}\n", encoding="utf-8")


def test_doctor_fails_naming_a_course_category_that_does_not_exist(workspace: Workspace) -> None:
    _set_category(workspace, 987)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1, result.output
    failed = _lines(result.output, "FAIL")
    assert any("moodle: course category" in line and "course_category_id = 987" in line for line in failed), result.output


def test_doctor_passes_an_existing_course_category_and_names_it(workspace: Workspace) -> None:
    _set_category(workspace, 1)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 0, result.output
    assert any("moodle: course category" in line and "category 1 (" in line for line in _lines(result.output, "ok"))
