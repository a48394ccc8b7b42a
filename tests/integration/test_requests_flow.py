"""Student requests, Moodle → Zoho and back (``outbound_request`` and ``request``).

A request a student submits in Moodle (``requests::create``, emulated in
``sandbox/moodle/requests.py``) is created in Zoho by ``mzi apply`` (upsert on Name =
its number), comes back through ``request`` with its Zoho id (the plugin's upsert adopts
the submitted row), and Zoho's decisions (Approved, …) reach the Moodle row; a send Zoho
refuses fails that request only, and the student's row says why. Every Zoho write of
these runs is validated against Zoho's OpenAPI files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from reconciler.config import load_config
from reconciler.sandbox import Sandbox, SandboxError
from reconciler.sandbox.moodle.requests import SITE_ZONE
from reconciler.sandbox.zoho.oas import OpenAPI
from reconciler.state import StateStore

from needs import oas_dir  # type: ignore[import-not-found]

if TYPE_CHECKING:
    from conftest import Workspace  # type: ignore[import-not-found]


class OasCheckedTransport(httpx.AsyncBaseTransport):
    """The Zoho emulator's transport, holding every write request and its answer to the OAS
    (COQL queries are POSTs too: checked against the OAS, not counted as writes)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, oas: OpenAPI, problems: list[str], writes: list[dict[str, Any]]) -> None:
        self.inner, self.oas, self.problems, self.writes = inner, oas, problems, writes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if request.method == "GET" or not path.startswith("/crm/"):
            return response
        content = await response.aread()
        body = json.loads(request.content) if request.content else None
        query = dict(httpx.QueryParams(request.url.query))
        self.problems += [f"{request.method} {path}: {p}" for p in self.oas.request_problems(request.method, path, query, body)]
        answer = json.loads(content) if content else None
        self.problems += [f"{request.method} {path} → {response.status_code}: {p}"
                          for p in self.oas.response_problems(request.method, path, response.status_code, answer)]
        if path != "/crm/v8/coql":  # a Query API read is a POST, not a write
            self.writes.append({"path": path, "body": body, "answer": answer})
        return httpx.Response(response.status_code, headers=response.headers, content=content)


@pytest.fixture
def zoho_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every Zoho write of the test; the test fails if one breaks Zoho's OpenAPI files."""
    oas = OpenAPI.load(oas_dir())
    problems: list[str] = []
    writes: list[dict[str, Any]] = []
    plain = Sandbox.zoho_transport

    def checked(self: Sandbox) -> httpx.AsyncBaseTransport:
        return OasCheckedTransport(plain(self), oas, problems, writes)

    monkeypatch.setattr(Sandbox, "zoho_transport", checked)
    yield writes
    assert not problems, "Zoho writes that break the OAS:\n" + "\n".join(problems[:20])


# ------------------------------------------------------------------ helpers

def _db(workspace: Workspace) -> sqlite3.Connection:
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    conn.row_factory = sqlite3.Row
    return conn


def _request_row(workspace: Workspace, number: str) -> sqlite3.Row:
    with _db(workspace) as conn:
        row = conn.execute("SELECT * FROM mdl_local_mzi_requests WHERE request_number = ?", (number,)).fetchone()
    assert row is not None, f"no Moodle request {number}"
    return row


def _a_student_user(workspace: Workspace, skip: int = 0) -> tuple[int, str, str]:
    """(Moodle user id, Zoho student id, academic email) of a student linked to a Moodle user."""
    with _db(workspace) as conn:
        row = conn.execute("SELECT moodle_user_id, zoho_student_id, academic_email FROM mdl_local_mzi_students "
                           "WHERE moodle_user_id IS NOT NULL AND (status IS NULL OR status <> 'Deleted') "
                           "ORDER BY id LIMIT 1 OFFSET ?", (skip,)).fetchone()
    return int(row[0]), str(row[1]), str(row[2])


def _zoho_request(workspace: Workspace, name: str) -> dict[str, Any]:
    store = workspace.sandbox.zoho_store()
    found = [r for r in store.all_records("BTEC_Student_Requests") if r.get("Name") == name]
    assert len(found) == 1, f"{len(found)} Zoho requests named {name}"
    return found[0]


def _synced(workspace: Workspace) -> None:
    """The demo school applied, so what follows is the only change."""
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    again = workspace.run("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def _last_results(workspace: Workspace) -> list[dict[str, Any]]:
    store = StateStore(load_config(workspace.config).state_db)
    try:
        return store.results(store.runs(1)[0].id)
    finally:
        store.close()


# ------------------------------------------------------------------ scenarios

def test_a_request_submitted_in_moodle_is_created_in_zoho_and_linked_back(workspace: Workspace,
                                                                          zoho_writes: list[dict[str, Any]]) -> None:
    _synced(workspace)
    user, student, email = _a_student_user(workspace)
    submitted = workspace.sandbox.submit_request(user, "Late Submission", "I was in hospital that week")
    number = submitted["request_number"]
    assert number == f"MDL-{submitted['id']}"

    plan = workspace.run("plan")
    assert workspace.addresses(plan.stdout, "+", "outbound_request") == [f"outbound_request.{number}"], plan.stdout
    before, start = workspace.sandbox.write_counts(), len(zoho_writes)
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output

    record = _zoho_request(workspace, number)
    row = _request_row(workspace, number)
    expected = {"Request_Type": "Late Submission", "Status": "Pending", "Reason": "I was in hospital that week",
                "Academic_Email": email, "Moodle_User_ID": str(user), "Student": student}
    got = {k: (record[k]["id"] if k == "Student" else record[k]) for k in expected}
    assert got == expected
    assert str(record["Request_Date"])[:10] == row["request_date"], "the day must survive the datetime field"
    assert (row["zoho_request_id"], row["sync_status"], row["status"], row["origin"]) == \
        (record["id"], "sent", "Pending", "moodle")
    with _db(workspace) as conn:
        copies = conn.execute("SELECT COUNT(*) FROM mdl_local_mzi_requests WHERE zoho_request_id = ? OR request_number = ?",
                              (record["id"], number)).fetchone()[0]
    assert copies == 1, "the row coming back from Zoho must be the submitted row, not a second one"
    mine = zoho_writes[start:]
    assert [w["path"] for w in mine] == ["/crm/v8/BTEC_Student_Requests/upsert"]
    assert mine[0]["body"]["duplicate_check_fields"] == ["Name"]
    assert workspace.sandbox.write_counts()["zoho"] == before["zoho"] + 1

    assert workspace.run("plan", "--detailed-exitcode").exit_code == 0
    after = workspace.sandbox.write_counts()
    second = workspace.run("apply", "--auto-approve")
    assert second.exit_code == 0 and "No changes." in second.stdout, second.output
    assert workspace.sandbox.write_counts() == after


def test_a_request_approved_in_zoho_shows_approved_in_moodle_and_nothing_else_moves(
        workspace: Workspace, zoho_writes: list[dict[str, Any]]) -> None:
    _synced(workspace)
    user, _, _ = _a_student_user(workspace)
    number = workspace.sandbox.submit_request(user, "Student Card", "My card was stolen")["request_number"]
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    zoho_id = _zoho_request(workspace, number)["id"]

    workspace.sandbox.edit(f"request.{zoho_id}", {"Status": "Approved"})
    plan = workspace.run("plan", "--json")
    changes = json.loads(plan.stdout)["changes"]
    assert [(c["action"], c["address"]) for c in changes] == [("update", f"request.{zoho_id}")]
    assert [d["name"] for d in changes[0]["deltas"]] == ["status"]

    writes_before = len(zoho_writes)
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert [r["address"] for r in _last_results(workspace)] == [f"request.{zoho_id}"]
    assert len(zoho_writes) == writes_before, "Zoho's decision must not be written back to Zoho"
    row = _request_row(workspace, number)
    assert (row["status"], row["zoho_request_id"], row["reason"]) == ("Approved", zoho_id, "My card was stolen")
    assert workspace.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_reason_edited_in_zoho_is_drift_repaired_from_moodle(workspace: Workspace,
                                                               zoho_writes: list[dict[str, Any]]) -> None:
    _synced(workspace)
    user, _, _ = _a_student_user(workspace)
    number = workspace.sandbox.submit_request(user, "Change Information", "New phone number")["request_number"]
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    zoho_id = _zoho_request(workspace, number)["id"]

    workspace.sandbox.edit(f"request.{zoho_id}", {"Reason": "edited in Zoho"})
    changes = json.loads(workspace.run("plan", "--json").stdout)["changes"]
    assert [(c["action"], c["address"], [d["name"] for d in c["deltas"]]) for c in changes] == \
        [("update", f"outbound_request.{number}", ["reason"])], "Moodle owns what the student wrote; the mirror must not take Zoho's edit"
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert _zoho_request(workspace, number)["Reason"] == "New phone number"
    assert _request_row(workspace, number)["reason"] == "New phone number"
    assert workspace.run("plan", "--detailed-exitcode").exit_code == 0


def test_a_send_zoho_refuses_fails_that_request_only_and_the_row_says_why(workspace: Workspace,
                                                                         zoho_writes: list[dict[str, Any]]) -> None:
    _synced(workspace)
    start = len(zoho_writes)
    first_user, _, _ = _a_student_user(workspace, 0)
    second_user, _, _ = _a_student_user(workspace, 1)
    good = workspace.sandbox.submit_request(first_user, "Student Card", "Lost card")["request_number"]
    bad = workspace.sandbox.submit_request(second_user, "Student Card", "Lost card")["request_number"]
    with _db(workspace) as conn:  # a type the Zoho org's picklist does not have
        conn.execute("UPDATE mdl_local_mzi_requests SET request_type = 'Transcript' WHERE request_number = ?", (bad,))

    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 1, applied.output
    results = {r["address"]: r for r in _last_results(workspace) if r["address"].startswith("outbound_request.")}
    assert (results[f"outbound_request.{good}"]["ok"], results[f"outbound_request.{bad}"]["status"]) == (True, "INVALID_DATA")
    assert "Request_Type" in results[f"outbound_request.{bad}"]["error"]
    upserts = [w for w in zoho_writes[start:] if w["path"].endswith("/upsert")]
    assert len(upserts) == 1 and len(upserts[0]["body"]["data"]) == 2, "both went in one call; one refusal fails one record"

    refused, landed = _request_row(workspace, bad), _request_row(workspace, good)
    assert (refused["sync_status"], refused["zoho_request_id"]) == ("failed", None)
    assert refused["sync_message"].startswith("INVALID_DATA") and "Request_Type" in refused["sync_message"]
    assert (landed["sync_status"], landed["zoho_request_id"]) == ("sent", _zoho_request(workspace, good)["id"])


def test_the_demo_schools_moodle_requests_all_reach_zoho_and_a_second_apply_writes_nothing(
        make_workspace: Any, zoho_writes: list[dict[str, Any]]) -> None:
    workspace = make_workspace(students=150)
    workspace.sandbox.ensure()
    with _db(workspace) as conn:
        waiting = [r[0] for r in conn.execute("SELECT request_number FROM mdl_local_mzi_requests WHERE origin = 'moodle' "
                                              "AND zoho_request_id IS NULL")]
        types = {r[0] for r in conn.execute("SELECT request_type FROM mdl_local_mzi_requests WHERE origin = 'moodle'")}
    assert len(waiting) >= 5 and len(types) >= 3, (waiting, types)
    _synced(workspace)
    with _db(workspace) as conn:
        rows = conn.execute("SELECT request_number, zoho_request_id, sync_status FROM mdl_local_mzi_requests "
                            "WHERE origin = 'moodle' ORDER BY id").fetchall()
    assert [(r[0], r[2]) for r in rows] == [(n, "sent") for n in waiting]
    assert all(r[1] == _zoho_request(workspace, r[0])["id"] for r in rows)
    after = workspace.sandbox.write_counts()
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert workspace.sandbox.write_counts() == after


def _open_window(workspace: Workspace, request_type: str) -> None:
    """An admin opens a request window (Request windows page): enabled, no bounds."""
    with _db(workspace) as conn:
        conn.execute("DELETE FROM mdl_local_mzi_request_windows WHERE request_type = ?", (request_type,))
        conn.execute("INSERT INTO mdl_local_mzi_request_windows (request_type, enabled, open_from, open_until, timecreated, "
                     "timemodified, usermodified) VALUES (?, 1, NULL, NULL, 0, 0, 2)", (request_type,))


def _enrolled_today(workspace: Workspace, user: int) -> tuple[str, str, str]:
    """One of the user's enrollments, started today in Zoho and mirrored:
    (enrollment address, Zoho class id, class name)."""
    with _db(workspace) as conn:
        row = conn.execute(
            "SELECT e.zoho_enrollment_id, e.zoho_class_id, COALESCE(c.class_name, e.class_name) AS name "
            "FROM mdl_local_mzi_enrollments e JOIN mdl_local_mzi_students s ON s.zoho_student_id = e.zoho_student_id "
            "LEFT JOIN mdl_local_mzi_classes c ON c.zoho_class_id = e.zoho_class_id "
            "WHERE s.moodle_user_id = ? AND (e.status IS NULL OR e.status <> 'Withdrawn') ORDER BY e.id LIMIT 1",
            (user,)).fetchone()
    assert row is not None, f"user {user} has no enrollment"
    today = datetime.now(SITE_ZONE).date().isoformat()
    workspace.sandbox.edit(f"enrollment.{row['zoho_enrollment_id']}", {"Start_Date": today})
    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    return f"enrollment.{row['zoho_enrollment_id']}", str(row["zoho_class_id"]), str(row["name"])


def _request_count(workspace: Workspace) -> int:
    with _db(workspace) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM mdl_local_mzi_requests").fetchone()[0])


def _users_with_enrollments(workspace: Workspace) -> list[int]:
    with _db(workspace) as conn:
        rows = conn.execute(
            "SELECT DISTINCT s.moodle_user_id FROM mdl_local_mzi_students s JOIN mdl_local_mzi_enrollments e "
            "ON e.zoho_student_id = s.zoho_student_id WHERE s.moodle_user_id IS NOT NULL "
            "AND (s.status IS NULL OR s.status <> 'Deleted') AND (e.status IS NULL OR e.status <> 'Withdrawn') "
            "ORDER BY s.moodle_user_id LIMIT 2").fetchall()
    assert len(rows) == 2, "the demo school needs two enrolled students with Moodle accounts"
    return [int(r[0]) for r in rows]


def test_a_class_drop_goes_to_zoho_as_its_requested_classes_subform_and_the_plan_stays_empty(
        workspace: Workspace, zoho_writes: list[dict[str, Any]]) -> None:
    _synced(workspace)
    user, _ = _users_with_enrollments(workspace)
    _, class_id, class_name = _enrolled_today(workspace, user)
    _open_window(workspace, "Class Drop")
    number = workspace.sandbox.submit_request(user, "Class Drop", "Timetable clash", (class_id,))["request_number"]
    assert json.loads(_request_row(workspace, number)["requested_classes"]) == [{"Class_ID": class_id, "Class_Name": class_name}]

    applied = workspace.run("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    sent = [{k: v for k, v in r.items() if k in ("Class_ID", "Class_Name")}
            for r in _zoho_request(workspace, number)["Requested_Classes"]]
    assert sent == [{"Class_ID": class_id, "Class_Name": class_name}], sent
    assert workspace.run("plan", "--detailed-exitcode").exit_code == 0, workspace.run("plan").stdout
    assert json.loads(_request_row(workspace, number)["requested_classes"]) == [{"Class_ID": class_id, "Class_Name": class_name}]


def test_a_class_drop_is_refused_outside_its_window_and_unless_it_names_one_or_two_recent_classes(
        workspace: Workspace) -> None:
    _synced(workspace)
    user, _ = _users_with_enrollments(workspace)
    with _db(workspace) as conn:
        enrollment = conn.execute(
            "SELECT e.id, e.zoho_class_id FROM mdl_local_mzi_enrollments e JOIN mdl_local_mzi_students s "
            "ON s.zoho_student_id = e.zoho_student_id WHERE s.moodle_user_id = ? "
            "AND (e.status IS NULL OR e.status <> 'Withdrawn') ORDER BY e.id LIMIT 1", (user,)).fetchone()
        conn.execute("UPDATE mdl_local_mzi_enrollments SET enrollment_date = ? WHERE id = ?",
                     (datetime.now(SITE_ZONE).date().isoformat(), enrollment["id"]))
    class_id = str(enrollment["zoho_class_id"])
    before = _request_count(workspace)

    def refused(errorcode: str, classes: tuple[str, ...], reason: str = "Timetable clash") -> None:
        with pytest.raises(SandboxError, match=errorcode):
            workspace.sandbox.submit_request(user, "Class Drop", reason, classes)

    refused("error:windowclosed", (class_id,))
    _open_window(workspace, "Class Drop")
    refused("error:classdropnoteligible", (class_id, "not-my-class"))
    refused("error:classdropcount", ())
    refused("error:classdropcount", (class_id, "a", "b"))
    refused("error:reasonrequired", (class_id,), reason="  ")
    with _db(workspace) as conn:
        conn.execute("UPDATE mdl_local_mzi_enrollments SET enrollment_date = '2000-01-01' WHERE id = ?", (enrollment["id"],))
    refused("error:classdropnoteligible", (class_id,))
    assert _request_count(workspace) == before, "a refused request must leave no row"
