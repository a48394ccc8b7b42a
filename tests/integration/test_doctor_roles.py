"""The Moodle roles the enrolment specs give must exist on the site, as course roles.

An enrolment spec gives its people a role by shortname (``student``, ``editingteacher``).
A site without that role — renamed, deleted, or not assignable in a course — fails every
enrolment of the kind, one record at a time, in the middle of an apply. `mzi doctor`
reports each role; `plan` and `apply` refuse to start. Both read the roles from
``local_mzi_get_info``; a plugin too old to report them is a warning, not a failure.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import pytest

from cli_workspace import FIELDS, Workspace, moodle_functions, override_spec
from reconciler.preflight import role_checks, site_roles
from reconciler.providers.moodle import MoodleProvider
from reconciler.specs import load_specs

TEACHERX = ('role   = { const = "editingteacher", type = "string" }', 'role   = { const = "teacherx", type = "string" }')


def _lines(output: str, label: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"  {label}")]


def _zoho_reads(workspace: Workspace) -> Counter[str]:
    return Counter(r["path"] for r in workspace.sandbox.zoho_store().api_log()
                   if r["path"].startswith("/crm/") and r["path"] != FIELDS)


def _rename_role(workspace: Workspace, shortname: str) -> None:
    """The site's admin renamed the role (Define roles → short name)."""
    box = workspace.sandbox
    box.ensure()
    conn = sqlite3.connect(box.moodle_db)
    renamed = conn.execute("UPDATE mdl_role SET shortname = ? WHERE shortname = ?", (f"{shortname}_old", shortname)).rowcount
    conn.commit()
    conn.close()
    assert renamed, f"the sandbox has no role {shortname}"


# ---------------------------------------------------------------------- doctor

def test_doctor_on_the_sandbox_reports_both_enrolment_roles_ok(workspace: Workspace) -> None:
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 0, result.output
    [student] = _lines(result.output, "ok    moodle: role student ")
    [teacher] = _lines(result.output, "ok    moodle: role editingteacher ")
    assert "enrolment.toml" in student and "teacher_enrolment.toml" in teacher, result.output
    assert not _lines(result.output, "warn"), result.output


def test_a_spec_role_the_site_lacks_fails_doctor_naming_file_and_role(workspace: Workspace) -> None:
    override_spec(workspace, "teacher_enrolment.toml", *TEACHERX)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1, result.output
    [line] = _lines(result.output, "FAIL  moodle: role teacherx")
    assert "the site has no course role with shortname 'teacherx'" in line, line
    assert "teacher_enrolment.toml gives it" in line and "create the role or change the spec" in line, line
    assert _lines(result.output, "ok    moodle: role student"), "the other role is still checked"


def test_a_renamed_site_role_fails_doctor(workspace: Workspace) -> None:
    _rename_role(workspace, "editingteacher")
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 1, result.output
    [line] = _lines(result.output, "FAIL")
    assert "moodle: role editingteacher" in line and "teacher_enrolment.toml" in line, line


def test_an_older_plugin_that_does_not_report_roles_is_a_warning(workspace: Workspace,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = MoodleProvider.get_info

    async def without_roles(self: MoodleProvider) -> dict[str, Any]:
        return {k: v for k, v in (await real(self)).items() if k != "roles"}

    monkeypatch.setattr(MoodleProvider, "get_info", without_roles)
    result = workspace.run("doctor", "--no-color")
    assert result.exit_code == 0, result.output
    [line] = _lines(result.output, "warn")
    assert "moodle: roles" in line and "does not report the site's roles" in line, line
    assert "student" in line and "editingteacher" in line, line
    assert workspace.run("plan").exit_code == 0, "a plugin that cannot tell is no reason to refuse the plan"


# ---------------------------------------------------------------------- plan's preflight

def test_plan_refuses_a_spec_role_the_site_lacks_before_any_read(workspace: Workspace) -> None:
    override_spec(workspace, "teacher_enrolment.toml", *TEACHERX)
    result = workspace.run("plan", "--no-color")
    assert result.exit_code == 1, result.output
    assert "teacher_enrolment.toml" in result.output and "no course role with shortname 'teacherx'" in result.output, \
        result.output
    assert _zoho_reads(workspace) == Counter(), "Zoho records were read before the roles were checked"
    assert set(moodle_functions(workspace)) == {"local_mzi_get_info"}, moodle_functions(workspace)


def test_apply_on_a_site_without_the_teacher_role_is_one_error_line_and_writes_nothing(workspace: Workspace) -> None:
    _rename_role(workspace, "editingteacher")
    result = workspace.run("apply", "--auto-approve", "--no-color")
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.output.splitlines() if line.strip() and not line.startswith("Using configuration")]
    assert line.startswith("Error: ") and "teacher_enrolment.toml" in line and "'editingteacher'" in line, line
    assert workspace.sandbox.write_counts() == {"zoho": 0, "moodle": 0}


# ---------------------------------------------------------------------- the check itself

def test_roles_are_checked_per_role_with_every_spec_that_gives_it() -> None:
    specs = list(load_specs().values())
    checks = {c.name: c for c in role_checks(specs, site_roles({"roles": [{"id": 5, "shortname": "student"}]}))}
    assert checks["moodle: role student"].ok and "id 5" in checks["moodle: role student"].detail
    assert checks["moodle: role editingteacher"].blocking, checks
    assert set(checks) == {"moodle: role student", "moodle: role editingteacher"}, sorted(checks)


def test_no_enrolment_spec_means_no_role_check() -> None:
    specs = [s for s in load_specs().values() if s.moodle_resource != "enrolment"]
    assert role_checks(specs, None) == [] and role_checks(specs, {}) == []
