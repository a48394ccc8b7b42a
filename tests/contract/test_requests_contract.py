"""Requests submitted in Moodle, as the plugin's functions treat them (emulator and real Moodle).

``local_mzi_submit_request`` stores a request for the caller's student row and numbers it
``MDL-<id>``; ``local_mzi_upsert_requests`` *adopts* that row when the request comes back
from Zoho with its id (same number, no Zoho id yet) and keeps what the student wrote;
``local_mzi_record_request_results`` finds it by its number. Only web-service calls.
"""

from __future__ import annotations

from typing import Any

from moodle_client import MoodleClient  # type: ignore[import-not-found]
from test_functions import is_exception, make_key, mirror, submitting_student, upsert  # type: ignore[import-not-found]

REQUESTS = mirror("local_mzi_requests")


def _submit(moodle: MoodleClient, reason: str = "My card was stolen", kind: str = "Student Card") -> dict[str, Any]:
    submitting_student(moodle)
    answer: dict[str, Any] = moodle.ok("local_mzi_submit_request", request_type=kind, reason=reason)
    return answer


def _row(moodle: MoodleClient, zoho_id: str) -> dict[str, Any]:
    (row,) = moodle.ok("local_mzi_get_requests", keys=[zoho_id])["records"]
    return dict(row)


def _from_zoho(zoho_id: str, number: str, **fields: Any) -> dict[str, Any]:
    return {"zoho_request_id": zoho_id, "request_number": number, "request_type": "Student Card", "status": "Pending",
            "reason": "My card was stolen", "zoho_modified_time": 1_800_000_000} | fields


def test_a_submitted_request_is_numbered_by_its_row_id_and_pending(moodle: MoodleClient) -> None:
    submitted = _submit(moodle)
    assert (submitted["request_number"], submitted["status"]) == (f"MDL-{submitted['id']}", "Pending")


def test_a_request_back_from_zoho_adopts_the_submitted_row_instead_of_adding_one(moodle: MoodleClient) -> None:
    submitted = _submit(moodle)
    zoho_id, _ = make_key(REQUESTS, moodle)
    first = upsert(moodle, REQUESTS, [_from_zoho(zoho_id["zoho_request_id"], submitted["request_number"])])
    assert [(r["status"], r["id"]) for r in first] == [("updated", submitted["id"])], first
    row = _row(moodle, zoho_id["zoho_request_id"])
    assert (row["id"], row["origin"], row["request_number"], row["zoho_modified_time"]) == \
        (submitted["id"], "moodle", submitted["request_number"], 1_800_000_000)
    again = upsert(moodle, REQUESTS, [_from_zoho(zoho_id["zoho_request_id"], submitted["request_number"])])
    assert [r["status"] for r in again] == ["unchanged"], again


def test_a_number_already_adopted_is_not_adopted_twice(moodle: MoodleClient) -> None:
    submitted = _submit(moodle)
    first, _ = make_key(REQUESTS, moodle)
    second, _ = make_key(REQUESTS, moodle)
    upsert(moodle, REQUESTS, [_from_zoho(first["zoho_request_id"], submitted["request_number"])])
    other = upsert(moodle, REQUESTS, [_from_zoho(second["zoho_request_id"], submitted["request_number"])])
    assert other[0]["status"] == "created" and other[0]["id"] != submitted["id"], other


def test_zoho_decides_the_status_but_never_rewrites_what_the_student_wrote(moodle: MoodleClient) -> None:
    submitted = _submit(moodle, reason="Lost it on the bus")
    key, _ = make_key(REQUESTS, moodle)
    zoho_id = key["zoho_request_id"]
    upsert(moodle, REQUESTS, [_from_zoho(zoho_id, submitted["request_number"], reason="edited in Zoho",
                                         request_type="Late Submission", fees_amount="5")])
    row = _row(moodle, zoho_id)
    assert (row["reason"], row["request_type"], row["fees_amount"]) == ("Lost it on the bus", "Student Card", "5.00"), row
    decided = upsert(moodle, REQUESTS, [_from_zoho(zoho_id, submitted["request_number"], status="Approved",
                                                   reason="edited again")])
    assert decided[0]["status"] == "updated", decided
    row = _row(moodle, zoho_id)
    assert (row["status"], row["reason"]) == ("Approved", "Lost it on the bus"), row


def test_a_request_made_in_zoho_is_mirrored_whole(moodle: MoodleClient) -> None:
    key, _ = make_key(REQUESTS, moodle)
    zoho_id = key["zoho_request_id"]
    upsert(moodle, REQUESTS, [_from_zoho(zoho_id, moodle.unique("REQ-"))])
    upsert(moodle, REQUESTS, [_from_zoho(zoho_id, moodle.unique("REQ-"), reason="edited in Zoho")])
    assert _row(moodle, zoho_id)["reason"] == "edited in Zoho"


def test_record_request_results_finds_a_submitted_request_by_its_number(moodle: MoodleClient) -> None:
    submitted = _submit(moodle)
    failed = {"request_number": submitted["request_number"], "status": "failed",
              "message": "INVALID_DATA: invalid data {\"api_name\":\"Request_Type\"}"}
    answer = moodle.ok("local_mzi_record_request_results", results=[failed])["results"]
    assert [(r["key"], r["status"]) for r in answer] == [(submitted["request_number"], "updated")], answer
    key, _ = make_key(REQUESTS, moodle)
    sent = {"request_number": submitted["request_number"], "zoho_request_id": key["zoho_request_id"], "status": "sent"}
    assert moodle.ok("local_mzi_record_request_results", results=[sent])["results"][0]["status"] == "updated"
    row = _row(moodle, key["zoho_request_id"])
    assert (row["id"], row["sync_status"], row["sync_message"]) == (submitted["id"], "sent", ""), row
    unknown = moodle.ok("local_mzi_record_request_results",
                        results=[{"request_number": moodle.unique("MDL-none"), "status": "sent"}])["results"]
    assert [(r["status"], r["errorcode"]) for r in unknown] == [("error", "notfound")], unknown


def test_a_request_needing_a_reason_is_refused_without_one(moodle: MoodleClient) -> None:
    submitting_student(moodle)
    answer = moodle.call("local_mzi_submit_request", request_type="Late Submission", reason="  ")
    assert is_exception(answer, "error:reasonrequired"), answer


def test_a_type_the_plugin_does_not_know_is_refused(moodle: MoodleClient) -> None:
    submitting_student(moodle)
    answer = moodle.call("local_mzi_submit_request", request_type="Transcript", reason="please")
    assert is_exception(answer, "error:windowclosed"), answer
