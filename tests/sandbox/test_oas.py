"""The OpenAPI checker itself: it must reject what Zoho's files reject, not only accept."""

from __future__ import annotations

import pytest

from reconciler.sandbox.zoho.oas import KNOWN_DEFECTS, OASViolation, OpenAPI

LIST = "/crm/v8/BTEC_Students"


def test_operations_are_found_with_literal_segments_beating_parameters(oas: OpenAPI) -> None:
    assert oas.operation("GET", f"{LIST}/deleted").operation_id == "Get Deleted Records"
    assert oas.operation("GET", f"{LIST}/5847596000000100001").operation_id == "Get Record"
    assert oas.operation("POST", f"{LIST}/upsert").operation_id == "Upsert Records"
    assert oas.operation("GET", "/crm/v8/actions/watch").operation_id == "Get Notifications"


def test_a_request_with_an_undeclared_or_mistyped_parameter_is_refused(oas: OpenAPI) -> None:
    oas.validate_request("GET", LIST, query={"fields": "City", "per_page": "200", "page_token": "abc"},
                         headers={"If-Modified-Since": "2026-09-01T10:00:00+03:00"})
    with pytest.raises(OASViolation, match="'perpage' is not declared"):
        oas.validate_request("GET", LIST, query={"fields": "City", "perpage": "200"})
    with pytest.raises(OASViolation, match="'page'.*not an integer"):
        oas.validate_request("GET", LIST, query={"fields": "City", "page": "two"})


def test_a_write_body_must_fit_the_body_wrapper(oas: OpenAPI) -> None:
    oas.validate_request("POST", f"{LIST}/upsert", body={"data": [{"City": "Irbid"}], "duplicate_check_fields": ["Name"]})
    with pytest.raises(OASViolation, match="duplicate_check_fields"):
        oas.validate_request("POST", f"{LIST}/upsert", body={"data": [{}], "duplicate_check_fields": "Name"})
    with pytest.raises(OASViolation, match="request body is required"):
        oas.validate_request("PUT", LIST)


def test_responses_with_wrong_shapes_are_refused(oas: OpenAPI) -> None:
    assert oas.response_problems("GET", LIST, 200, {"data": [{"id": 5847596000000100001}]}), "id must be a string"
    assert oas.response_problems("GET", LIST, 200, {"data": [], "info": {"more_records": "yes"}})
    assert oas.response_problems("GET", LIST, 200, {"data": [{"id": "1", "Modified_Time": "2026-09-01 10:00"}]}), \
        "datetimes need the RFC 3339 shape with a zone"
    assert oas.response_problems("GET", LIST, 304, {"data": []}), "a 304 has no body"
    assert oas.response_problems("GET", LIST, 401, {"code": "INVALID_TOKEN", "message": "invalid oauth token",
                                                    "status": "error"}), "an error envelope has details"


def test_an_error_envelope_is_held_to_the_error_schema_not_the_lenient_wrapper(oas: OpenAPI) -> None:
    good = {"code": "INVALID_MODULE", "details": {}, "message": "The module name given seems to be invalid", "status": "error"}
    assert oas.response_problems("GET", LIST, 200, good) == []
    invented = {**good, "code": "SOMETHING_ELSE"}
    assert oas.response_problems("GET", LIST, 200, invented), "codes outside Zoho's enum are refused"


def test_per_record_write_results_must_use_zoho_codes_and_messages(oas: OpenAPI) -> None:
    ok = {"data": [{"code": "SUCCESS", "details": {"id": "1"}, "message": "record updated", "status": "success"}]}
    assert oas.response_problems("PUT", LIST, 200, ok) == []
    wrong = {"data": [{"code": "SUCCESS", "details": {"id": "1"}, "message": "updated!", "status": "success"}]}
    assert oas.response_problems("PUT", LIST, 200, wrong)


def test_references_outside_the_folder_and_patched_defects_are_reported(oas: OpenAPI) -> None:
    assert any(ref.endswith("users.json#/components/schemas/Minified_User") for ref in oas.unresolved)
    assert all(why for _file, _pointer, _fix, why in KNOWN_DEFECTS)
    watch = {"watch": [{"channel_id": 1000000068001, "events": ["BTEC_Students.all"], "notify_url": "https://mzi.school/hook",
                        "channel_expiry": "2026-09-01T10:00:00+03:00", "token": "t"}],
             "info": {"per_page": 200, "page": 1, "count": 1, "more_records": False}}
    assert oas.response_problems("GET", "/crm/v8/actions/watch", 200, watch) == []
