"""User links end to end on the sandbox through the CLI: students and teachers linked to
their Moodle users by address, unmatched ones blocked naming it, create_users, relinking."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli_workspace import moodle_sql

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]


def _plan(workspace: Workspace) -> list[dict[str, Any]]:
    result = workspace.run("plan", "--json")
    assert result.exit_code in (0, 2), result.output
    return [c for c in json.loads(result.stdout)["changes"] if c["address"].split(".")[0].endswith("_user")]


def _link(workspace: Workspace, table: str, key: str, zoho_id: str) -> int | None:
    rows = moodle_sql(workspace, f"SELECT moodle_user_id FROM mdl_{table} WHERE {key} = ?", zoho_id)
    return rows[0]["moodle_user_id"] if rows else None


def _user(workspace: Workspace, email: str) -> list[sqlite3.Row]:
    return moodle_sql(workspace, "SELECT * FROM mdl_user WHERE lower(email) = lower(?) AND deleted = 0", email)


def _students(workspace: Workspace) -> list[dict[str, Any]]:
    workspace.sandbox.ensure()
    store = workspace.sandbox.zoho_store()
    try:
        return sorted(store.all_records("BTEC_Students"), key=lambda r: str(r["id"]))
    finally:
        store.close()


def _blocked_links(output: str) -> int:
    """Blocked user links in a plan (the enrolments of their people are blocked with them)."""
    return sum(1 for line in output.splitlines() if line.lstrip().startswith("! ") and "_user." in line)


def _with(make_workspace: Callable[..., Workspace], extra: str) -> Workspace:
    workspace = make_workspace(unmatched=True) if "unmatched" in extra else make_workspace()
    with workspace.config.open("a", encoding="utf-8") as out:
        out.write(extra.replace("unmatched", ""))
    return workspace


def test_a_student_without_a_moodle_user_is_blocked_naming_the_email_and_the_shared_one_names_several(
        make_workspace: Callable[..., Workspace]) -> None:
    workspace = make_workspace(unmatched=True)
    plan = workspace.run("plan", "--no-color")
    blocked = [line for line in plan.output.splitlines() if "# student_user." in line and "is blocked" in line]
    nobody = [line for line in blocked if "no Moodle user has the academic email " in line]
    several = [line for line in blocked if "several Moodle users have the academic email " in line]
    assert len(nobody) == 3 and len(several) == 1, "\n".join(blocked)
    email = nobody[0].split("academic email ")[1].split()[0]
    assert "@" in email and not _user(workspace, email), nobody[0]


def test_links_are_made_case_insensitively_and_the_replan_after_apply_shows_only_the_blocked(
        make_workspace: Callable[..., Workspace]) -> None:
    workspace = make_workspace(unmatched=True)
    shouted = moodle_sql(workspace, "SELECT email FROM mdl_user u WHERE email <> lower(email) AND username NOT LIKE 'dup.%' "
                              "AND (SELECT COUNT(*) FROM mdl_user o WHERE lower(o.email) = lower(u.email)) = 1")
    assert shouted, "the demo has addresses spelt in another case"
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0 and "0 failed" in applied.output, applied.output
    for row in shouted:
        user = _user(workspace, row["email"])[0]
        linked = moodle_sql(workspace, "SELECT COUNT(*) AS n FROM mdl_local_mzi_students WHERE moodle_user_id = ?", user["id"])
        linked_t = moodle_sql(workspace, "SELECT COUNT(*) AS n FROM mdl_local_mzi_teachers WHERE moodle_user_id = ?", user["id"])
        assert linked[0]["n"] + linked_t[0]["n"] == 1, f"{row['email']} is not linked"
    after = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert after.exit_code == 2, "a blocked link is pending work for the drift check (exit 2), as any blocked record"
    assert _blocked_links(after.output) == 4 and "Plan: 0 to create, 0 to update, 0 to delete," in after.output, \
        after.output
    writes = workspace.sandbox.write_counts()
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert workspace.sandbox.write_counts() == writes, "a second apply must make zero write calls"


def test_the_default_demo_links_everyone_and_reaches_no_changes(workspace: Workspace) -> None:
    creates = [c for c in _plan(workspace) if c["action"] == "create"]
    assert creates and all(c["after"]["moodle_user_id"] for c in creates), creates
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    again = workspace.run("plan", "--no-color", "--detailed-exitcode")
    assert again.exit_code == 0 and "No changes." in again.output, again.output


def test_with_create_users_a_missing_user_is_created_with_the_configured_auth_and_linked(
        make_workspace: Callable[..., Workspace]) -> None:
    workspace = _with(make_workspace, 'unmatched\n[moodle]\ncreate_users = true\nnew_user_auth = "oauth2"\n')
    creates = [c for c in _plan(workspace) if c["after"] and c["after"].get("username")]
    assert len(creates) == 3, creates
    shown = creates[0]["after"]
    assert shown["auth"] == "oauth2" and shown["username"] == shown["academic_email"] and shown["firstname"], shown
    applied = workspace.run("apply", "--auto-approve", "--no-color")
    assert applied.exit_code == 0 and "0 failed" in applied.output, applied.output
    for change in creates:
        users = _user(workspace, change["after"]["academic_email"])
        assert len(users) == 1 and users[0]["auth"] == "oauth2", [dict(u) for u in users]
        key = change["address"].split(".", 1)[1]
        assert _link(workspace, "local_mzi_students", "zoho_student_id", key) == users[0]["id"]
    after = workspace.run("plan", "--no-color")
    assert _blocked_links(after.output) == 1 and "Plan: 0 to create, 0 to update, 0 to delete," in after.output, \
        after.output


def test_an_existing_user_is_adopted_not_duplicated_even_with_create_users(
        make_workspace: Callable[..., Workspace]) -> None:
    workspace = _with(make_workspace, "\n[moodle]\ncreate_users = true\n")
    users_before = moodle_sql(workspace, "SELECT COUNT(*) AS n FROM mdl_user")[0]["n"]
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert moodle_sql(workspace, "SELECT COUNT(*) AS n FROM mdl_user")[0]["n"] == users_before
    student = _students(workspace)[0]
    assert _link(workspace, "local_mzi_students", "zoho_student_id", str(student["id"])) == \
        _user(workspace, student["Academic_Email"])[0]["id"]


def test_a_teacher_is_matched_by_email_when_the_academic_email_matches_no_user(workspace: Workspace) -> None:
    workspace.sandbox.ensure()
    store = workspace.sandbox.zoho_store()
    try:
        teachers = store.all_records("BTEC_Teachers")
    finally:
        store.close()
    by_email = [t for t in teachers if not _user(workspace, t["Academic_Email"])]
    assert len(by_email) == 1, "the demo has one teacher whose account carries the personal Email"
    teacher = by_email[0]
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _link(workspace, "local_mzi_teachers", "zoho_teacher_id", str(teacher["id"])) == \
        _user(workspace, teacher["Email"])[0]["id"]


def test_an_academic_email_changed_to_another_users_relinks_and_a_deleted_user_blocks(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    first, second = _students(workspace)[:2]
    old = _link(workspace, "local_mzi_students", "zoho_student_id", str(first["id"]))
    other = _user(workspace, second["Academic_Email"])[0]["id"]
    # the other student's address moves to the first student in Zoho: the link follows it
    edited = workspace.run("sandbox", "edit", f"student.{first['id']}", f"Academic_Email={second['Academic_Email']}")
    assert edited.exit_code == 0, edited.output
    updates = [c for c in _plan(workspace) if c["address"] == f"student_user.{first['id']}"]
    assert [(d["name"], d["old"], d["new"]) for d in updates[0]["deltas"]] == [("moodle_user_id", old, other)], updates
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _link(workspace, "local_mzi_students", "zoho_student_id", str(first["id"])) == other
    # the second student's user is deleted in Moodle: its link is blocked, naming the address
    moodle_sql(workspace, "UPDATE mdl_user SET deleted = 1 WHERE id = ?", other)
    blocked = {c["address"]: c["reason"] for c in _plan(workspace) if c["action"] == "blocked"}
    assert f"no Moodle user has the academic email {second['Academic_Email'].lower()}" in \
        blocked.get(f"student_user.{second['id']}", ""), blocked


def test_planning_student_links_costs_one_zoho_query_per_2000_students_shared_with_the_student_kind(
        workspace: Workspace) -> None:
    """student_user reads BTEC_Students through COQL at ⌈N/2000⌉ queries; planned beside the
    student kind it shares that kind's read of the module (one read per module) and costs none."""
    assert workspace.run("plan").exit_code == 0  # the sandbox is made; its first calls are not counted

    def zoho_paths(*kinds: str) -> list[str]:
        store = workspace.sandbox.zoho_store()
        try:
            before = len(store.api_log())
            assert workspace.run("plan", *(a for k in kinds for a in ("--kind", k))).exit_code in (0, 2)
            return [r["path"] for r in store.api_log()[before:]]
        finally:
            store.close()

    queries = -(-len(_students(workspace)) // 2000)
    links, both = zoho_paths("student_user"), zoho_paths("student", "student_user")
    assert links.count("/crm/v8/coql") == queries, links
    assert both.count("/crm/v8/coql") == queries, both
