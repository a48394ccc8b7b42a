"""`mzi serve` end to end on the sandbox: a signed webhook in, the Moodle emulator changed,
one targeted run in the run log — and every refusal answering its status code."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from serve_app import SECRET, STATIC, WATCH, Served, make_served
from reconciler.sandbox.moodle.functions import delivery
from reconciler.signatures import sign


def _students(served: Served, n: int = 3) -> list[str]:
    rows = served.sandbox.zoho_store().conn.execute(
        "SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT ?", (n,)).fetchall()
    return [str(r[0]) for r in rows]


def _mirror(served: Served, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(served.sandbox.moodle_db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _city(served: Served, student: str) -> str:
    rows = _mirror(served, "SELECT city FROM mdl_local_mzi_students WHERE zoho_student_id = ?", student)
    return str(rows[0]["city"])


def _workflow(record_id: str, event_id: str, event_type: str = "updated") -> dict[str, Any]:
    return {"event_id": event_id, "event_type": event_type, "module": "BTEC_Students", "record_id": record_id,
            "changed_fields": ["City"], "timestamp": "2026-11-20T10:00:00+03:00"}


def test_a_signed_workflow_webhook_reconciles_the_record_in_one_targeted_run(served: Served) -> None:
    student = _students(served, 1)[0]
    served.sandbox.edit(f"student.{student}", {"City": "Irbid"})
    answer = served.signed_zoho(_workflow(student, "evt-1"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["targets"] == [f"student.{student}", f"student_user.{student}"]
    assert _city(served, student) != "Irbid", "the webhook answered before any call to Moodle"
    runs = served.drain()
    assert _city(served, student) == "Irbid"
    assert [(r.command, r.status, sorted(r.targets)) for r in runs] == [
        ("apply", "ok", [f"student.{student}", f"student_user.{student}"])], runs
    assert served.queue.stats().depth == 0


def test_a_duplicate_event_id_is_acknowledged_and_dropped(served: Served) -> None:
    student = _students(served, 1)[0]
    assert served.signed_zoho(_workflow(student, "evt-dup")).status_code == 202
    again = served.signed_zoho(_workflow(student, "evt-dup"))
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert len(served.drain()) == 1


def test_five_events_for_one_student_coalesce_into_one_reconcile_after_the_last(served: Served) -> None:
    student = _students(served, 1)[0]
    for n, city in enumerate(["A", "B", "C", "D", "Zarqa"]):
        served.sandbox.edit(f"student.{student}", {"City": city})
        assert served.signed_zoho(_workflow(student, f"evt-c{n}")).status_code == 202
    item = served.queue.item(f"student.{student}")
    assert item is not None and item.events == 5 and item.status == "pending", item
    runs = served.drain()
    assert len(runs) == 1 and _city(served, student) == "Zarqa"


def test_an_event_for_a_record_edited_again_meanwhile_applies_the_newest_data(served: Served) -> None:
    student = _students(served, 1)[0]
    served.sandbox.edit(f"student.{student}", {"City": "Old"})
    assert served.signed_zoho(_workflow(student, "evt-n1")).status_code == 202
    served.sandbox.edit(f"student.{student}", {"City": "Newest"})  # no event for this edit yet
    served.drain()
    assert _city(served, student) == "Newest", "the worker reads Zoho fresh, not the event"


def test_a_notifications_callback_with_several_ids_reconciles_each(served: Served) -> None:
    from click.testing import CliRunner

    from reconciler.cli import main

    watch = CliRunner().invoke(main, ["-c", str(served.config.path), "zoho", "watch", "--notify-url",
                                      "https://mzi.example/webhooks/zoho"], catch_exceptions=False)
    assert watch.exit_code == 0, watch.output
    students = _students(served, 3)
    store = served.sandbox.zoho_store()
    store.pending_notifications(mark_delivered=True)
    for n, student in enumerate(students):
        served.sandbox.edit(f"student.{student}", {"City": f"Town{n}"})
    callbacks = [c for c in served.sandbox.zoho_store().pending_notifications() if c["module"] == "BTEC_Students"]
    merged = dict(callbacks[0], ids=sorted({i for c in callbacks for i in c["ids"]}))
    assert merged["token"] == WATCH and len(merged["ids"]) == 3, merged
    answer = served.post("/webhooks/zoho", json.dumps(merged).encode(), {"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text
    served.drain()
    assert [_city(served, s) for s in students] == ["Town0", "Town1", "Town2"]


def test_a_delete_event_is_confirmed_against_zoho_before_the_soft_delete(served: Served) -> None:
    student = _students(served, 1)[0]
    assert served.signed_zoho(_workflow(student, "evt-d1", "deleted")).status_code == 202
    served.drain()
    status = _mirror(served, "SELECT status FROM mdl_local_mzi_students WHERE zoho_student_id = ?", student)
    assert status[0]["status"] != "Deleted", "Zoho still has the record: the event alone deletes nothing"
    served.sandbox.delete(f"student.{student}")
    assert served.signed_zoho(_workflow(student, "evt-d2", "deleted")).status_code == 202
    served.drain()
    status = _mirror(served, "SELECT status FROM mdl_local_mzi_students WHERE zoho_student_id = ?", student)
    assert status[0]["status"] == "Deleted"


def test_a_registration_event_reconciles_its_installment_rows_by_parent(served: Served) -> None:
    reg = _mirror(served, "SELECT zoho_registration_id FROM mdl_local_mzi_installments LIMIT 1")[0][0]
    rows = _mirror(served, "SELECT installment_number FROM mdl_local_mzi_installments WHERE zoho_registration_id = ?", reg)
    _mirror_write(served, "DELETE FROM mdl_local_mzi_installments WHERE zoho_registration_id = ?", reg)
    answer = served.signed_zoho({"event_id": "evt-r1", "event_type": "updated", "module": "BTEC_Registrations",
                                 "record_id": reg})
    assert f"installment.{reg}" in answer.json()["targets"], answer.text
    served.drain()
    again = _mirror(served, "SELECT installment_number FROM mdl_local_mzi_installments WHERE zoho_registration_id = ?", reg)
    assert sorted(r[0] for r in again) == sorted(r[0] for r in rows) and rows


def _mirror_write(served: Served, sql: str, *args: Any) -> None:
    conn = sqlite3.connect(served.sandbox.moodle_db)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def test_a_moodle_outbox_event_signed_with_its_timestamp_links_the_student(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    served = make_served(tmp_path, monkeypatch, unmatched=True)
    unlinked = _mirror(served, "SELECT zoho_student_id, academic_email FROM mdl_local_mzi_students "
                               "WHERE (moodle_user_id IS NULL OR moodle_user_id = 0) AND academic_email <> '' "
                               "ORDER BY zoho_student_id")
    assert unlinked, "the unmatched_users demo leaves some students without a Moodle user"
    student, email = unlinked[0]["zoho_student_id"], unlinked[0]["academic_email"]
    taken = {r[0] for r in _mirror(served, "SELECT lower(email) FROM mdl_user")}
    if email.lower() in taken:
        pytest.skip("the first unlinked student's address is shared by two users (the blocked-for-ambiguity case)")
    _create_moodle_user(served, email)
    row = _mirror(served, "SELECT * FROM mdl_local_mzi_outbox WHERE eventname LIKE '%user_created' ORDER BY id DESC")[0]
    secret = _mirror(served, "SELECT value FROM mdl_config_plugins WHERE plugin = 'local_mzi' AND name = 'outboxsecret'")
    monkeypatch.setattr(served.webhook.secrets, "hmac_key", secret[0][0])
    headers, body = delivery(row, secret[0][0], int(time.time()))
    answer = served.post("/webhooks/moodle", body, headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["targets"][0].startswith("student_user?moodle_user=")
    served.drain()
    linked = _mirror(served, "SELECT moodle_user_id FROM mdl_local_mzi_students WHERE zoho_student_id = ?", student)
    assert linked[0][0] == row["objectid"]
    old_headers, _ = delivery(row, secret[0][0], int(time.time()) - 3600)
    replay = served.post("/webhooks/moodle", body, old_headers | {"X-Mzi-Event-Id": "moodle-replayed"})
    assert replay.status_code == 401 and replay.json()["error"] == "replayed", replay.text
    served.webhook.store.close()


def _create_moodle_user(served: Served, email: str) -> None:
    import asyncio

    from reconciler import commands

    async def go() -> None:
        async with commands.workspace(config=served.config) as ws:
            moodle: Any = ws.providers["moodle"]
            await moodle.call("core_user_create_users", {"users": [{
                "username": email.lower(), "email": email, "firstname": "New", "lastname": "Account", "auth": "manual",
                "createpassword": 1}]})

    asyncio.run(go())


# ---------------------------------------------------------------------- refusals

@pytest.mark.parametrize(("headers", "params", "code"), [
    ({}, None, "unauthenticated"),
    ({"X-Zoho-Signature": "00" * 32}, None, "bad_signature"),
    ({"X-Mzi-Token": "wrong"}, None, "bad_token"),
    ({}, {"token": "wrong"}, "bad_token"),
])
def test_an_unauthenticated_zoho_webhook_is_refused_401(served: Served, headers: dict[str, str],
                                                        params: dict[str, str] | None, code: str) -> None:
    answer = served.post("/webhooks/zoho", _workflow("1", "evt-x"), headers, params)
    assert answer.status_code == 401 and answer.json()["error"] == code, answer.text
    assert served.queue.event_count() == 0


def test_a_static_token_in_a_header_or_the_query_is_accepted_for_zoho_workflows(served: Served) -> None:
    student = _students(served, 1)[0]
    assert served.post("/webhooks/zoho", _workflow(student, "evt-t1"), {"X-Mzi-Token": STATIC}).status_code == 202
    assert served.post("/webhooks/zoho", _workflow(student, "evt-t2"), {}, {"token": STATIC}).status_code == 202


def test_a_notification_with_another_channel_token_is_refused_401(served: Served) -> None:
    body = {"module": "BTEC_Students", "ids": ["1"], "operation": "update", "channel_id": 1000000, "token": "guess"}
    answer = served.post("/webhooks/zoho", body)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_channel_token", answer.text


@pytest.mark.parametrize(("body", "path", "code"), [
    (b"not json", "/webhooks/zoho", "invalid_json"),
    (b"[1, 2]", "/webhooks/zoho", "invalid_json"),
    (json.dumps({"event_id": "e", "event_type": "updated", "module": "Leads", "record_id": "1"}).encode(),
     "/webhooks/zoho", "unknown_module"),
    (json.dumps({"event_id": "e", "event_type": "updated", "record_id": "1"}).encode(), "/webhooks/zoho/nosuchkind",
     "unknown_kind"),
    (json.dumps({"event_id": "e", "event_type": "renamed", "module": "BTEC_Students", "record_id": "1"}).encode(),
     "/webhooks/zoho", "invalid_field"),
    (json.dumps({"event_id": "e", "event_type": "updated", "module": "BTEC_Students", "record_id": "1; drop"}).encode(),
     "/webhooks/zoho", "invalid_field"),
])
def test_a_signed_body_mzi_does_not_know_is_refused_400(served: Served, body: bytes, path: str, code: str) -> None:
    answer = served.post(path, body, {"X-Zoho-Signature": sign(SECRET, body)})
    assert answer.status_code == 400 and answer.json()["error"] == code, answer.text


def test_a_body_over_the_limit_is_refused_413(served: Served) -> None:
    body = b"{" + b" " * (served.config.serve.max_body_bytes + 10) + b"}"
    answer = served.post("/webhooks/zoho", body, {"X-Zoho-Signature": sign(SECRET, body)})
    assert answer.status_code == 413 and answer.json()["error"] == "too_large", answer.text


def test_moodle_events_without_signature_or_with_an_unknown_name_are_refused(served: Served) -> None:
    body = json.dumps({"eventname": "\\core\\event\\course_viewed", "objectid": 1}).encode()
    assert served.post("/webhooks/moodle", body, {}).json()["error"] == "unsigned"
    now = str(int(time.time()))
    signed = {"X-Mzi-Timestamp": now, "X-Mzi-Signature": sign(SECRET, f"{now}.".encode() + body)}
    answer = served.post("/webhooks/moodle", body, signed)
    assert answer.status_code == 400 and answer.json()["error"] == "unknown_event", answer.text
    wrong = dict(signed, **{"X-Mzi-Signature": sign(SECRET, body)})  # signed without the timestamp
    assert served.post("/webhooks/moodle", body, wrong).json()["error"] == "bad_signature"


def test_health_readiness_and_metrics_answer(served: Served) -> None:
    student = _students(served, 1)[0]
    served.signed_zoho(_workflow(student, "evt-m1"))
    served.signed_zoho(_workflow(student, "evt-m1"))
    served.post("/webhooks/zoho", b"x", {})
    assert served.get("/healthz").json() == {"status": "ok"}
    assert served.get("/readyz").status_code == 200
    text = served.get("/metrics").text
    assert 'mzi_events_accepted_total{source="zoho"} 1.0' in text, text
    assert 'mzi_events_duplicate_total{source="zoho"} 1.0' in text
    assert 'mzi_events_refused_total{reason="unauthenticated"} 1.0' in text
    assert 'mzi_queue_depth{status="pending"} 2.0' in text
    served.drain()
    text = served.get("/metrics").text
    assert 'mzi_reconciles_total{outcome="done"} 2.0' in text and "mzi_reconcile_duration_seconds_count 1.0" in text
    assert served.get("/nope").status_code == 404 and served.get("/webhooks/zoho").status_code == 405


def test_a_plain_update_of_one_address_costs_at_most_four_remote_calls(served: Served) -> None:
    student = _students(served, 2)
    served.signed_zoho({"event_id": "warm", "event_type": "updated", "module": "BTEC_Students", "record_id": student[1]})
    served.sandbox.edit(f"student.{student[0]}", {"City": "Madaba"})
    body = {"event_id": "evt-cost", "event_type": "updated", "module": "BTEC_Students", "record_id": student[0]}
    raw = json.dumps(body).encode()
    # one address, as `POST /webhooks/zoho/student` could name it alone: the path's kind only
    served.post("/webhooks/zoho/student", raw, {"X-Zoho-Signature": sign(SECRET, raw)})
    served.queue.db.execute("DELETE FROM work WHERE target LIKE 'student_user%'")
    runs = served.drain(batch_size=1)  # the first run opens the session (OAuth token, plugin info), once per worker
    assert [r.targets for r in runs] == [[f"student.{student[1]}"], [f"student.{student[0]}"]]
    assert _city(served, student[0]) == "Madaba"
    cost = runs[-1].summary["api"]
    remote = cost["zoho"]["calls"] + cost["moodle"]["requests"]
    assert remote <= 4, cost
