"""GET /crm/v8/settings/fields on the emulator: Zoho's shape, the org's facts, Zoho's errors.

`mzi doctor` trusts this answer to say which fields exist, their data types and which
are unique, so it must hold to Zoho's OpenAPI file (``fields.json``) and to the org's
metadata export it is built from.
"""

from __future__ import annotations

import json

from sandbox_calls import ZohoCall

from reconciler.sandbox.zoho.metadata import METADATA_PATH
from reconciler.sandbox.zoho.oas import OpenAPI, default_oas_dir

FIELDS = "/crm/v8/settings/fields"


def _export(module: str) -> dict[str, str]:
    raw = json.loads(METADATA_PATH.read_text(encoding="utf-8"))["modules"][module]
    return {f["api_name"]: f["data_type"] for f in raw}


def test_fields_of_a_module_validate_against_zohos_openapi_file(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS, params={"module": "BTEC_Grades"}, check=False)
    assert answer.status == 200
    OpenAPI.load(default_oas_dir()).validate_response("GET", FIELDS, 200, answer.body)


def test_every_module_of_the_org_answers_in_zohos_shape(zoho: ZohoCall) -> None:
    for module in json.loads(METADATA_PATH.read_text(encoding="utf-8"))["modules"]:
        answer = zoho("GET", FIELDS, params={"module": module})  # OAS-checked by ZohoCall
        assert answer.status == 200, module


def test_fields_carry_the_exported_data_types_plus_the_system_fields_the_export_omits(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS, params={"module": "BTEC_Enrollments"})
    served = {f["api_name"]: f["data_type"] for f in answer.body["fields"]}
    assert _export("BTEC_Enrollments").items() <= served.items()
    assert served["Modified_Time"] == "datetime" and served["Created_Time"] == "datetime"
    assert "id" not in served, "Zoho does not list the record id as a field"
    lookup = next(f for f in answer.body["fields"] if f["api_name"] == "Enrolled_Students")
    assert lookup["lookup"]["module"]["api_name"] == "BTEC_Students"


def test_moodle_grade_composite_key_is_the_unique_field_of_btec_grades(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS, params={"module": "BTEC_Grades"})
    unique = {f["api_name"] for f in answer.body["fields"] if f["unique"]}
    assert unique == {"Moodle_Grade_Composite_Key"}


def test_picklists_list_their_values_in_order(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS, params={"module": "BTEC_Grades"})
    grade = next(f for f in answer.body["fields"] if f["api_name"] == "Grade")
    assert [v["actual_value"] for v in grade["pick_list_values"]] == ["-None-", "D", "M", "P", "R", "RR", "F", "Mapped"]


def test_an_unknown_module_is_invalid_module_in_zohos_envelope(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS, params={"module": "Nope"})  # OAS-checked against the 400 schema
    assert answer.status == 400
    assert answer.body["code"] == "INVALID_MODULE" and answer.body["status"] == "error"


def test_a_missing_module_parameter_is_required_param_missing(zoho: ZohoCall) -> None:
    answer = zoho("GET", FIELDS)
    assert answer.status == 400 and answer.body["code"] == "REQUIRED_PARAM_MISSING"
    assert answer.body["details"] == {"param_name": "module"}


def test_the_call_costs_one_credit_and_is_logged(zoho: ZohoCall) -> None:
    zoho("GET", FIELDS, params={"module": "BTEC_Students"})
    zoho("GET", FIELDS, params={"module": "Nope"})
    rows = [r for r in zoho.app.state.store.api_log() if r["path"] == FIELDS]
    assert [(r["method"], r["status"], r["credits"]) for r in rows] == [("GET", 200, 1), ("GET", 400, 1)]
