"""The Zoho emulator behaves like Zoho CRM v8 and every answer fits Zoho's OpenAPI files.

Each call through the ``zoho``/``empty_zoho`` fixtures is checked against the OAS
(``conftest.ZohoCall``), so the tests below read as behaviour and are conformance
tests at the same time.
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.sandbox import Sandbox, SandboxError
from reconciler.sandbox.zoho import Faults, format_id, zoho_time
from reconciler.sandbox.zoho.store import parse_time

from sandbox_calls import ZohoCall

T0 = parse_time("2026-01-01T00:00:00+03:00")
STUDENTS = "/crm/v8/BTEC_Students"


def teachers(count: int) -> list[dict[str, Any]]:
    return [{"id": format_id(200_000 + i), "Name": f"Teacher {i}", "Email": f"t{i}@abchorizon.edu.jo",
             "Created_Time": zoho_time(T0 + i), "Modified_Time": zoho_time(T0 + i)} for i in range(1, count + 1)]


def first_id(box: Sandbox, module: str = "BTEC_Students") -> str:
    return box.zoho_store().query(module, limit=1)[0]["id"]


# ---------------------------------------------------------------------- OAuth

def test_the_refresh_grant_returns_a_bearer_token_for_the_sandbox_credentials(empty_zoho: ZohoCall) -> None:
    empty_zoho.login()
    answer = empty_zoho.raw("POST", "/oauth/v2/token", params={
        "grant_type": "refresh_token", "client_id": Sandbox.zoho_credentials[0],
        "client_secret": Sandbox.zoho_credentials[1], "refresh_token": Sandbox.zoho_credentials[2]})
    assert answer.status == 200
    assert set(answer.body) >= {"access_token", "api_domain", "token_type", "expires_in"}
    assert answer.body["token_type"] == "Bearer" and answer.body["expires_in"] == 3600
    assert answer.body["api_domain"] == "http://zoho.sandbox"


@pytest.mark.parametrize(("change", "error"), [
    ({"client_id": "1000.WRONG"}, "invalid_client"),
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"refresh_token": "1000.revoked"}, "invalid_code"),
])
def test_wrong_oauth_credentials_are_refused_like_zoho(empty_zoho: ZohoCall, change: dict[str, str], error: str) -> None:
    form = {"grant_type": "refresh_token", "client_id": Sandbox.zoho_credentials[0],
            "client_secret": Sandbox.zoho_credentials[1], "refresh_token": Sandbox.zoho_credentials[2], **change}
    answer = empty_zoho.raw("POST", "/oauth/v2/token", data=form)
    assert answer.body == {"error": error}


def test_a_missing_or_expired_token_is_refused_with_zoho_errors(empty_zoho: ZohoCall) -> None:
    anonymous = empty_zoho.raw("GET", STUDENTS, params={"fields": "Name"})
    assert anonymous.status == 401 and anonymous.body["code"] == "AUTHENTICATION_FAILURE"
    empty_zoho.login()
    empty_zoho.app.state.store.set_faults(Faults(expire_tokens=True))
    expired = empty_zoho("GET", STUDENTS, params={"fields": "Name"})
    assert expired.status == 401
    assert expired.body == {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token", "status": "error"}
    empty_zoho.app.state.store.set_faults(Faults())
    empty_zoho.login()
    assert empty_zoho("GET", STUDENTS, params={"fields": "Name"}).status == 204


def test_access_tokens_expire_after_their_lifetime(empty_zoho: ZohoCall) -> None:
    empty_zoho.app.state.store.set_faults(Faults(token_lifetime=0))
    empty_zoho.login()
    assert empty_zoho("GET", STUDENTS, params={"fields": "Name"}).status == 401


# ---------------------------------------------------------------------- reads

def test_listing_returns_only_the_requested_fields_and_lookups_as_id_and_name(zoho: ZohoCall, sandbox: Sandbox) -> None:
    answer = zoho("GET", "/crm/v8/BTEC_Enrollments", params={"fields": "Enrolled_Students,Classes", "per_page": "5"})
    assert answer.status == 200
    assert all(set(row) == {"id", "Enrolled_Students", "Classes"} for row in answer.body["data"])
    lookup = answer.body["data"][0]["Classes"]
    assert set(lookup) == {"id", "name"} and lookup["name"].startswith("CLS-")
    assert answer.body["info"]["count"] == 5 and answer.body["info"]["more_records"] is True


def test_a_lookup_shows_the_current_name_of_its_target(zoho: ZohoCall, sandbox: Sandbox) -> None:
    enrollment = zoho("GET", "/crm/v8/BTEC_Enrollments", params={"fields": "Classes", "per_page": "1"}).body["data"][0]
    product = sandbox.zoho_store().query("Products", limit=1)[0]
    sandbox.edit(f"program.{product['id']}", {"Product_Name": "Renamed programme"})
    klass = enrollment["Classes"]["id"]
    answer = zoho("GET", f"/crm/v8/BTEC_Classes/{klass}", params={"fields": "BTEC_Program"})
    program = answer.body["data"][0]["BTEC_Program"]
    if program["id"] == product["id"]:
        assert program["name"] == "Renamed programme"


def test_fields_are_mandatory_and_at_most_fifty(zoho: ZohoCall) -> None:
    missing = zoho("GET", STUDENTS)
    assert (missing.status, missing.body["code"]) == (400, "REQUIRED_PARAM_MISSING")
    too_many = zoho("GET", STUDENTS, params={"fields": ",".join(f"F{i}" for i in range(51))})
    assert (too_many.status, too_many.body["code"]) == (400, "LIMIT_EXCEEDED")


@pytest.mark.parametrize(("params", "code"), [
    ({"per_page": "201"}, "LIMIT_EXCEEDED"),
    ({"sort_by": "City"}, "INVALID_DATA"),
    ({"ids": ",".join(str(i) for i in range(101))}, "LIMIT_EXCEEDED"),
    ({"page": "1", "page_token": "abc"}, "INVALID_DATA"),
    ({"page_token": "not-a-token"}, "INVALID_DATA"),
])
def test_bad_list_parameters_are_refused_with_zoho_codes(zoho: ZohoCall, params: dict[str, str], code: str) -> None:
    answer = zoho("GET", STUDENTS, params={"fields": "Name", **params})
    assert (answer.status, answer.body["code"]) == (400, code), answer.body


def test_an_unknown_module_is_invalid_module(zoho: ZohoCall) -> None:
    answer = zoho("GET", "/crm/v8/Leads", params={"fields": "Name"})
    assert (answer.status, answer.body["code"]) == (400, "INVALID_MODULE")


def test_an_empty_module_answers_204_without_a_body(empty_zoho: ZohoCall) -> None:
    answer = empty_zoho("GET", STUDENTS, params={"fields": "Name"})
    assert (answer.status, answer.body) == (204, None)


def test_getting_one_record_and_a_missing_one(zoho: ZohoCall, sandbox: Sandbox) -> None:
    record_id = first_id(sandbox)
    found = zoho("GET", f"{STUDENTS}/{record_id}", params={"fields": "City,Program"})
    assert found.status == 200 and found.body["data"][0]["id"] == record_id
    absent = zoho("GET", f"{STUDENTS}/5847596000000000001")
    assert (absent.status, absent.body["code"]) == (404, "INVALID_DATA")


def test_pages_reach_2000_records_and_page_tokens_the_rest(empty_zoho: ZohoCall) -> None:
    empty_zoho.app.state.store.load("BTEC_Teachers", teachers(2500))
    seen: list[str] = []
    for page in range(1, 11):
        answer = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Name", "page": str(page), "per_page": "200"})
        assert answer.body["info"]["page"] == page and answer.body["info"]["more_records"] is True
        seen += [r["id"] for r in answer.body["data"]]
    token = answer.body["info"]["next_page_token"]
    refused = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Name", "page": "11", "per_page": "200"})
    assert refused.status == 400 and refused.body["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    assert "page_token" in refused.body["message"]
    while token:
        answer = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Name", "page_token": token})
        seen += [r["id"] for r in answer.body["data"]]
        token = answer.body["info"].get("next_page_token")
    assert seen == [t["id"] for t in teachers(2500)], "every record exactly once, in id order"


def test_sorting_by_modified_time_descending(empty_zoho: ZohoCall) -> None:
    empty_zoho.app.state.store.load("BTEC_Teachers", teachers(5))
    answer = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Modified_Time", "sort_by": "Modified_Time",
                                                               "sort_order": "desc"})
    times = [r["Modified_Time"] for r in answer.body["data"]]
    assert times == sorted(times, reverse=True)


def test_if_modified_since_returns_only_newer_records_or_304(empty_zoho: ZohoCall) -> None:
    empty_zoho.app.state.store.load("BTEC_Teachers", teachers(10))
    newer = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Name"}, since=zoho_time(T0 + 7))
    assert [r["Name"] for r in newer.body["data"]] == ["Teacher 8", "Teacher 9", "Teacher 10"]
    nothing = empty_zoho("GET", "/crm/v8/BTEC_Teachers", params={"fields": "Name"}, since=zoho_time(T0 + 10))
    assert (nothing.status, nothing.body) == (304, None)


def test_an_edit_moves_modified_time_so_incremental_reads_see_it(zoho: ZohoCall, sandbox: Sandbox) -> None:
    newest = sandbox.zoho_store().query("BTEC_Students", sort_by="Modified_Time", descending=True, limit=1)[0]
    mark = newest["Modified_Time"]
    assert zoho("GET", STUDENTS, params={"fields": "City"}, since=mark).status == 304
    record_id = first_id(sandbox)
    updated = sandbox.edit(f"student.{record_id}", {"City": "Irbid"})
    assert parse_time(updated["Modified_Time"]) > parse_time(mark)
    changed = zoho("GET", STUDENTS, params={"fields": "City"}, since=mark)
    assert changed.body["data"] == [{"City": "Irbid", "id": record_id}]


def test_deleted_records_are_listed_by_type(zoho: ZohoCall, sandbox: Sandbox) -> None:
    everything = zoho("GET", f"{STUDENTS}/deleted", params={"type": "all"})
    types = {row["type"] for row in everything.body["data"]}
    assert types == {"recycle", "permanent"}
    permanent = zoho("GET", f"{STUDENTS}/deleted", params={"type": "permanent"})
    assert len(permanent.body["data"]) == 1 and permanent.body["info"]["count"] == 1
    record_id = first_id(sandbox)
    sandbox.delete(f"student.{record_id}")
    recycled = zoho("GET", f"{STUDENTS}/deleted", params={"type": "recycle", "per_page": "1"})
    assert recycled.body["data"][0]["id"] == record_id, "newest deletion first"
    assert zoho("GET", f"{STUDENTS}/{record_id}").status == 404


def test_deleted_with_if_modified_since_and_nothing_new_is_304(zoho: ZohoCall) -> None:
    assert zoho("GET", f"{STUDENTS}/deleted", since="2030-01-01T00:00:00+03:00").status == 304


# ---------------------------------------------------------------------- writes

def test_update_answers_per_record_and_is_multi_status_when_mixed(zoho: ZohoCall, sandbox: Sandbox) -> None:
    record_id = first_id(sandbox)
    answer = zoho("PUT", STUDENTS, json={"data": [
        {"id": record_id, "City": "Aqaba"},
        {"id": "5847596000000000001", "City": "Irbid"},
        {"City": "no id"},
        {"id": record_id, "Gender": "Unknown"},
    ]})
    assert answer.status == 202
    assert [e["code"] for e in answer.body["data"]] == ["SUCCESS", "INVALID_DATA", "MANDATORY_NOT_FOUND", "INVALID_DATA"]
    assert answer.body["data"][0]["message"] == "record updated"
    assert answer.body["data"][3]["details"]["api_name"] == "Gender"
    assert sandbox.zoho_store().get("BTEC_Students", record_id)["City"] == "Aqaba"


def test_insert_assigns_ids_and_autonumbers_and_checks_mandatory_fields(zoho: ZohoCall, sandbox: Sandbox) -> None:
    student, klass = first_id(sandbox), first_id(sandbox, "BTEC_Classes")
    answer = zoho("POST", "/crm/v8/BTEC_Enrollments", json={"data": [
        {"Enrolled_Students": {"id": student}, "Classes": {"id": klass}, "Enrollment_Type": "Normal"},
        {"Enrolled_Students": {"id": student}},
    ]})
    assert answer.status == 202
    created, refused = answer.body["data"]
    assert created["code"] == "SUCCESS" and len(created["details"]["id"]) == 19
    assert refused["code"] == "MANDATORY_NOT_FOUND" and refused["details"]["api_name"] == "Classes"
    record = sandbox.zoho_store().get("BTEC_Enrollments", created["details"]["id"])
    assert record["Name"].startswith("ENR-") and record["Classes"]["id"] == klass


def test_upsert_matches_on_a_unique_field_and_reports_duplicates(zoho: ZohoCall, sandbox: Sandbox) -> None:
    student, klass = first_id(sandbox), first_id(sandbox, "BTEC_Classes")
    row = {"Student": {"id": student}, "Class": {"id": klass}, "Moodle_Grade_Composite_Key": "9001_77", "Grade": "P"}
    first = zoho("POST", "/crm/v8/BTEC_Grades/upsert", json={"data": [row], "duplicate_check_fields": ["Moodle_Grade_Composite_Key"]})
    assert first.status == 200 and first.body["data"][0]["action"] == "insert"
    mixed = zoho("POST", "/crm/v8/BTEC_Grades/upsert", json={"data": [
        {**row, "Grade": "M"}, {**row, "Moodle_Grade_Composite_Key": "9001_78", "Grade": "Excellent"}],
        "duplicate_check_fields": ["Moodle_Grade_Composite_Key"]})
    assert mixed.status == 202
    assert mixed.body["data"][0]["action"] == "update"
    assert mixed.body["data"][0]["duplicate_field"] == "Moodle_Grade_Composite_Key"
    assert mixed.body["data"][1]["code"] == "INVALID_DATA"
    duplicate = zoho("POST", "/crm/v8/BTEC_Grades", json={"data": [row]})
    assert duplicate.status == 400 and duplicate.body["data"][0]["code"] == "DUPLICATE_DATA"
    assert duplicate.body["data"][0]["details"]["duplicate_record"]["id"] == first.body["data"][0]["details"]["id"]


def test_upsert_refuses_duplicate_check_fields_that_are_not_unique(zoho: ZohoCall) -> None:
    answer = zoho("POST", "/crm/v8/BTEC_Grades/upsert", json={"data": [{"Grade": "P"}], "duplicate_check_fields": ["Grade"]})
    assert (answer.status, answer.body["code"]) == (400, "INVALID_DATA")


def test_a_write_carries_at_most_100_records(zoho: ZohoCall) -> None:
    answer = zoho("PUT", STUDENTS, json={"data": [{"id": str(i)} for i in range(101)]})
    assert (answer.status, answer.body["code"]) == (400, "LIMIT_EXCEEDED")


def test_delete_moves_records_to_the_deleted_list(zoho: ZohoCall, sandbox: Sandbox) -> None:
    record_id = first_id(sandbox, "BTEC_Payments")
    answer = zoho("DELETE", "/crm/v8/BTEC_Payments", params={"ids": f"{record_id},5847596000000000001"})
    assert answer.status == 202
    assert [e["code"] for e in answer.body["data"]] == ["SUCCESS", "INVALID_DATA"]
    assert sandbox.zoho_store().is_deleted("BTEC_Payments", record_id)


# ---------------------------------------------------------------------- notifications

def test_watch_channels_are_enabled_listed_narrowed_and_deleted(zoho: ZohoCall, sandbox: Sandbox) -> None:
    channel = {"channel_id": 1000000068001, "events": ["BTEC_Students.all", "BTEC_Classes.edit"],
               "notify_url": "https://mzi.school/zoho/notify", "token": "secret-token"}
    enabled = zoho("POST", "/crm/v8/actions/watch", json={"watch": [channel]})
    assert enabled.status == 201 and enabled.body["watch"][0]["code"] == "SUCCESS"
    listed = zoho("GET", "/crm/v8/actions/watch")
    assert listed.body["watch"][0]["events"] == ["BTEC_Classes.edit", "BTEC_Students.all"]
    sandbox.edit(f"student.{first_id(sandbox)}", {"City": "Madaba"})
    queued = sandbox.zoho_store().pending_notifications()
    assert queued[-1]["operation"] == "update" and queued[-1]["token"] == "secret-token"
    narrowed = zoho("PATCH", "/crm/v8/actions/watch", json={"watch": [
        {"channel_id": 1000000068001, "events": ["BTEC_Classes.edit"], "_delete_events": True}]})
    assert narrowed.status == 200
    assert zoho("GET", "/crm/v8/actions/watch").body["watch"][0]["events"] == ["BTEC_Students.all"]
    removed = zoho("DELETE", "/crm/v8/actions/watch", params={"channel_ids": "1000000068001"})
    assert removed.status == 200
    assert zoho("GET", "/crm/v8/actions/watch").status == 204


def test_a_watch_without_notify_url_is_a_wrapped_mandatory_error(zoho: ZohoCall) -> None:
    answer = zoho("POST", "/crm/v8/actions/watch", json={"watch": [{"channel_id": 5, "events": ["BTEC_Students.all"]}]})
    assert answer.status == 202 and answer.body["watch"][0]["code"] == "MANDATORY_NOT_FOUND"


# ---------------------------------------------------------------------- faults, credits, counts

def test_429_bursts_come_with_retry_after_and_are_deterministic(empty_zoho: ZohoCall) -> None:
    empty_zoho.login()
    empty_zoho.app.state.store.set_faults(Faults(burst_every=4, burst_length=2, retry_after=7))
    statuses = [empty_zoho("GET", STUDENTS, params={"fields": "Name"}) for _ in range(8)]
    assert [a.status for a in statuses] == [429, 429, 204, 204, 429, 429, 204, 204]
    assert statuses[0].headers["Retry-After"] == "7" and statuses[0].body["code"] == "TOO_MANY_REQUESTS"


def test_the_server_error_rate_is_seeded_and_repeatable(tmp_path: Any, oas: Any) -> None:
    from reconciler.sandbox.zoho import create_app

    runs = []
    for attempt in range(2):
        call = ZohoCall(create_app(tmp_path / f"z{attempt}.sqlite", faults=Faults(error_rate=0.3, seed=5)), oas)
        call.login()
        runs.append([call("GET", STUDENTS, params={"fields": "Name"}).status for _ in range(40)])
    assert runs[0] == runs[1], "same seed, same request sequence, same faults"
    assert 5 <= runs[0].count(500) <= 20, f"{runs[0].count(500)} of 40 failed at a 30 % rate"


def test_per_record_invalid_data_can_be_injected(zoho: ZohoCall, sandbox: Sandbox) -> None:
    record_id = first_id(sandbox)
    sandbox.set_zoho_faults(Faults(invalid_ids=(record_id,)))
    answer = zoho("PUT", STUDENTS, json={"data": [{"id": record_id, "City": "Irbid"}]})
    assert answer.status == 400 and answer.body["data"][0]["code"] == "INVALID_DATA"


def test_every_call_is_logged_with_credits_and_writes_are_counted(zoho: ZohoCall, sandbox: Sandbox) -> None:
    before = sandbox.write_counts()
    store = sandbox.zoho_store()
    credits = store.credits_used()
    zoho("GET", STUDENTS, params={"fields": "Name"})
    zoho("PUT", STUDENTS, json={"data": [{"id": first_id(sandbox), "City": "Salt"}]})
    assert store.credits_used() == credits + 2
    assert sandbox.write_counts() == {"zoho": before["zoho"] + 1, "moodle": before["moodle"]}
    assert store.api_log()[-1]["method"] == "PUT" and store.api_log()[-1]["status"] == 200


def test_faults_set_through_one_sandbox_object_reach_another(sandbox: Sandbox) -> None:
    sandbox.set_zoho_faults(Faults(latency_ms=1.5))
    other = Sandbox(sandbox.directory, students=30, seed=3, blocked_example=True)
    assert other.zoho_store().faults().latency_ms == 1.5


# ---------------------------------------------------------------------- sandbox editing

def test_edit_rejects_unknown_fields_records_and_picklist_values(sandbox: Sandbox) -> None:
    record_id = first_id(sandbox)
    with pytest.raises(SandboxError, match="no field 'Citty'"):
        sandbox.edit(f"student.{record_id}", {"Citty": "Irbid"})
    with pytest.raises(SandboxError, match="no BTEC_Students record"):
        sandbox.edit("student.5847596000000000001", {"City": "Irbid"})
    with pytest.raises(SandboxError, match="picklist Gender"):
        sandbox.edit(f"student.{record_id}", {"Gender": "Other"})
    with pytest.raises(SandboxError, match="unknown kind"):
        sandbox.edit("spaceship.1", {"City": "Irbid"})


def test_edit_works_for_kinds_without_a_spec(sandbox: Sandbox) -> None:
    teacher = first_id(sandbox, "BTEC_Teachers")
    assert sandbox.edit(f"teacher.{teacher}", {"Phone_Number": "+962791112223"})["Phone_Number"] == "+962791112223"


def test_reset_brings_back_the_same_school(sandbox: Sandbox) -> None:
    record_id = first_id(sandbox)
    original = sandbox.zoho_store().get("BTEC_Students", record_id)
    sandbox.edit(f"student.{record_id}", {"City": "Ma'an"})
    sandbox.reset()
    assert sandbox.zoho_store().get("BTEC_Students", record_id) == original


REQUESTS = "/crm/v8/BTEC_Student_Requests"


@pytest.mark.parametrize(("method", "path", "records", "credits"), [
    ("PUT", STUDENTS, 1, 1), ("PUT", STUDENTS, 10, 1), ("PUT", STUDENTS, 11, 2), ("PUT", STUDENTS, 100, 10),
    ("POST", f"{REQUESTS}/upsert", 25, 3), ("POST", REQUESTS, 21, 3),
])
def test_writes_cost_one_credit_per_ten_records_as_zoho_charges(zoho: ZohoCall, sandbox: Sandbox, method: str,
                                                               path: str, records: int, credits: int) -> None:
    ids = [r["id"] for r in sandbox.zoho_store().all_records("BTEC_Students")]
    if method == "PUT":
        rows = [{"id": ids[i % len(ids)], "City": "Salt"} for i in range(records)]
        extra = {}
    else:
        rows = [{"Name": f"CREDIT-{i}", "Request_Type": "Student Card"} for i in range(records)]
        extra = {"duplicate_check_fields": ["Name"]} if path.endswith("/upsert") else {}
    store = sandbox.zoho_store()
    before = store.credits_used()
    answer = zoho(method, path, json={"data": rows, **extra})
    assert sum(1 for entry in answer.body["data"] if entry["status"] == "success") == records
    assert (store.credits_used() - before, store.api_log()[-1]["credits"]) == (credits, credits)


def test_a_write_over_the_limit_is_refused_and_costs_one_credit(zoho: ZohoCall, sandbox: Sandbox) -> None:
    store = sandbox.zoho_store()
    before = store.credits_used()
    answer = zoho("PUT", STUDENTS, json={"data": [{"id": "1", "City": "Salt"}] * 101})
    assert answer.status == 400 and answer.body["code"] == "LIMIT_EXCEEDED"
    assert store.credits_used() - before == 1
