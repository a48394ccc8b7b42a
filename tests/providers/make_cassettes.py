"""Writes the Zoho vcrpy cassettes under ``cassettes/`` — deterministically, from the contract.

Zoho's v8 OAS files carry no examples, so each response is built from the OAS *schemas*
(envelopes: ``data``/``info`` with the Info fields, Success_Response and API_Exception
with their enum codes and messages) and from the org's field metadata
(``shared/reference/zoho_fields.json``: values of each field's data type, picklist
values from the picklist), and each body is validated against the OAS response schema
before it is written. The requests are what the client must send; replay matches
method, URL, query, the JSON/form body, and the ``Authorization``/``If-Modified-Since``
headers (see ``test_zoho_cassettes.py``), so a cassette pins the client's behaviour.

Credentials in the cassettes are the fake ones of ``zoho_fixtures``. A cassette recorded
from a real org must be filtered (``filter_headers=["authorization"]``,
``filter_post_data_parameters=["client_secret", "refresh_token"]``).

Run ``python tests/providers/make_cassettes.py`` to rewrite them; the test suite checks
the committed files equal what this script writes.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parents[1])]

from vcr.request import Request as VcrRequest  # noqa: E402
from vcr.serialize import serialize  # noqa: E402
from vcr.serializers import yamlserializer  # noqa: E402

from reconciler.providers.zoho import zoho_fields  # noqa: E402
from reconciler.specs import Spec, load_specs  # noqa: E402
from zoho_fixtures import (  # noqa: E402
    ACCOUNTS, API_DOMAIN, CLIENT_ID, CLIENT_SECRET, FIELDS_JSON, REFRESH_TOKEN, oas_checker,
)

CASSETTES = HERE / "cassettes"
ZONE = timezone(timedelta(hours=3))
BASE = 5847596000000300000
STUDENT: Spec = load_specs()["student"]
IMS = datetime(2026, 2, 1, 9, 30, tzinfo=ZONE)
JSON_HEADERS = {"Content-Type": ["application/json;charset=UTF-8"]}
Interaction = tuple[VcrRequest, dict[str, Any]]


# ---------------------------------------------------------------------- values from the metadata

def _metadata(module: str) -> dict[str, dict[str, Any]]:
    return {f["api_name"]: f for f in json.loads(FIELDS_JSON.read_text())["modules"][module]}


def field_value(meta: dict[str, Any], i: int) -> Any:
    """A value of the field's Zoho data type, as Get Records returns it."""
    kind, name = meta["data_type"], meta["api_name"]
    if name == "Name" and kind == "autonumber":
        return f"S-{i:05d}"
    picks = [v for v in meta.get("pick_list_values", []) if v != "-None-"]
    by_type: dict[str, Any] = {
        "email": f"s{i}@abchorizon.edu.jo", "phone": f"+96279{i:07d}", "date": f"2004-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "datetime": (datetime(2026, 1, 5, 8, 0, tzinfo=ZONE) + timedelta(hours=i)).isoformat(),
        "picklist": picks[i % len(picks)] if picks else "-None-", "boolean": False, "integer": i, "double": 12.5,
        "currency": 1250.0, "lookup": {"id": str(BASE + 50_000 + i), "name": f"{meta.get('lookup_module', name)} {i}"},
        "ownerlookup": {"id": "5847596000000012001", "name": "ABC Horizon Admin", "email": "admin@abchorizon.edu.jo"},
        "subform": [],
    }
    return by_type.get(kind, f"{name.replace('_', ' ')} {i}")


def zoho_record(module: str, names: list[str], i: int) -> dict[str, Any]:
    meta = _metadata(module)
    return {"id": str(BASE + i), **{n: field_value(meta[n], i) for n in names}}


# ---------------------------------------------------------------------- requests and responses

def request(method: str, path: str, *, params: dict[str, Any] | None = None, token: str | None = "1000.cassette-a",
            body: Any = None, headers: dict[str, str] | None = None, base: str = API_DOMAIN) -> VcrRequest:
    url = str(httpx.Request(method, f"{base}{path}", params=params).url)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Zoho-oauthtoken {token}"
    raw = None
    if isinstance(body, dict):
        raw = json.dumps(body, separators=(",", ":"))
        sent["Content-Type"] = "application/json"
    elif isinstance(body, str):
        raw = body
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    return VcrRequest(method, url, raw, sent)


def response(status: int, body: Any = None, headers: dict[str, list[str]] | None = None) -> dict[str, Any]:
    text = "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return {"status": {"code": status, "message": httpx.codes.get_reason_phrase(status)},
            "headers": {k: list(v) for k, v in {**(JSON_HEADERS if body is not None else {}), **(headers or {})}.items()},
            "body": {"string": text}}


def token_exchange(access: str) -> Interaction:
    form = urlencode({"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                      "refresh_token": REFRESH_TOKEN})
    answer = {"access_token": access, "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.fields.READ ZohoCRM.notifications.ALL",
              "api_domain": API_DOMAIN, "token_type": "Bearer", "expires_in": 3600}
    return request("POST", "/oauth/v2/token", token=None, body=form, base=ACCOUNTS), response(200, answer)


def list_params(names: list[str], *, page: int | None = None, page_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"fields": ",".join(names), "per_page": 200, "sort_by": "id", "sort_order": "asc"}
    if page_token is None:
        params["page"] = page
    else:
        params["page_token"] = page_token
    return params


def info(count: int, page: int, more: bool, next_token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"per_page": 200, "count": count, "sort_by": "id", "page": page, "sort_order": "asc",
                           "more_records": more, "call": False, "email": False}
    if next_token:
        out["next_page_token"] = next_token
        out["page_token_expiry"] = "2026-02-02T09:30:00+03:00"
    return out


def error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


# ---------------------------------------------------------------------- the cassettes

def pagination() -> list[Interaction]:
    """12 pages: page 1..10, then page_token. Two records a page keep the file small;
    ``info`` says 200 a page with more records, so the client must move to page_token
    after page 10 exactly as it would past record 2,000."""
    names = zoho_fields(STUDENT)
    out = [token_exchange("1000.cassette-a")]
    n = 0
    for page in range(1, 13):
        token_in = None if page <= 10 else f"pt-{page - 1:02d}"
        rows = [zoho_record("BTEC_Students", names, n + 1), zoho_record("BTEC_Students", names, n + 2)]
        n += 2
        more = page < 12
        out.append((request("GET", "/crm/v8/BTEC_Students", params=list_params(names, page=page, page_token=token_in)),
                    response(200, {"data": rows, "info": info(2, page, more, f"pt-{page:02d}" if more else None)})))
    return out


def not_modified() -> list[Interaction]:
    """Get Records and Get Deleted Records with If-Modified-Since, both answering 304."""
    names = zoho_fields(STUDENT)
    ims = {"If-Modified-Since": IMS.isoformat()}
    return [
        token_exchange("1000.cassette-a"),
        (request("GET", "/crm/v8/BTEC_Students", params=list_params(names, page=1), headers=ims), response(304)),
        (request("GET", "/crm/v8/BTEC_Students/deleted", params={"type": "all", "page": 1, "per_page": 200}, headers=ims),
         response(304)),
    ]


def too_many_requests() -> list[Interaction]:
    """A 429 with Retry-After: 3, then the same request succeeds."""
    names = ["Name", "Academic_Email", "Modified_Time"]
    get = request("GET", "/crm/v8/BTEC_Students", params=list_params(names, page=1))
    rows = [zoho_record("BTEC_Students", names, i) for i in (1, 2, 3)]
    throttled = error("TOO_MANY_REQUESTS", "You have made too many requests. Please try again after some time.")
    return [
        token_exchange("1000.cassette-a"),
        (get, response(429, throttled, {"Retry-After": ["3"]})),
        (request("GET", "/crm/v8/BTEC_Students", params=list_params(names, page=1)),
         response(200, {"data": rows, "info": info(3, 1, False, None)})),
    ]


def invalid_token() -> list[Interaction]:
    """The access token dies early: 401 INVALID_TOKEN, one refresh, the retry succeeds."""
    names = ["Name", "Academic_Email", "Modified_Time"]
    rows = [zoho_record("BTEC_Students", names, 7)]
    params = {"ids": rows[0]["id"], "fields": ",".join(names)}
    return [
        token_exchange("1000.cassette-a"),
        (request("GET", "/crm/v8/BTEC_Students", params=params, token="1000.cassette-a"),
         response(401, error("INVALID_TOKEN", "invalid oauth token"))),
        token_exchange("1000.cassette-b"),
        (request("GET", "/crm/v8/BTEC_Students", params=params, token="1000.cassette-b"),
         response(200, {"data": rows, "info": info(1, 1, False, None)})),
    ]


def upsert_duplicate() -> list[Interaction]:
    """Three grades upserted on Moodle_Grade_Composite_Key; the second clashes on a unique field."""
    rows = [
        {"Moodle_Grade_Composite_Key": "412_77", "Grade": "M", "Attempt_Number": 1},
        {"Moodle_Grade_Composite_Key": "413_77", "Grade": "P", "Attempt_Number": 1},
        {"Moodle_Grade_Composite_Key": "414_77", "Grade": "R", "Attempt_Number": 2},
    ]
    body = {"data": rows, "duplicate_check_fields": ["Moodle_Grade_Composite_Key"]}
    when = "2026-02-01T10:00:00+03:00"
    user = {"id": "5847596000000012001", "name": "ABC Horizon Admin"}

    def ok(i: int, action: str) -> dict[str, Any]:
        return {"code": "SUCCESS", "duplicate_field": "Moodle_Grade_Composite_Key" if action == "update" else None,
                "action": action, "details": {"Modified_Time": when, "Modified_By": user, "Created_Time": when,
                                              "id": str(BASE + 80_000 + i), "Created_By": user},
                "message": "record updated" if action == "update" else "record added", "status": "success"}

    dup = error("DUPLICATE_DATA", "duplicate data",
                {"api_name": "Moodle_Grade_ID", "json_path": "$.data[1].Moodle_Grade_ID",
                 "duplicate_record": {"id": str(BASE + 80_009), "module": {"api_name": "BTEC_Grades", "id": "5847596000000002179"}}})
    answer = {"data": [ok(1, "insert"), dup, ok(3, "update")]}
    answer["data"][0].pop("duplicate_field")
    return [token_exchange("1000.cassette-a"),
            (request("POST", "/crm/v8/BTEC_Grades/upsert", body=body), response(202, answer))]


CASSETTE_BUILDERS = {
    "zoho_pagination_page_token": pagination,
    "zoho_if_modified_since_304": not_modified,
    "zoho_429_retry_after": too_many_requests,
    "zoho_invalid_token_refresh": invalid_token,
    "zoho_upsert_duplicate_data": upsert_duplicate,
}


def response_problems(name: str, interactions: list[Interaction]) -> list[str]:
    """Each JSON response of an API call against the OAS (errors against the OAS error schemas)."""
    problems = []
    for req, resp in interactions:
        path = httpx.URL(req.uri).path
        text = resp["body"]["string"]
        if not path.startswith("/crm/") or not text:
            continue
        body, status = json.loads(text), resp["status"]["code"]
        if status == 429:
            problems += oas_checker().check_error(body, "bulk_read.json#/components/schemas/Bulk_Read_API_Exception")
        elif status == 401:
            problems += oas_checker().check_error(body)
        else:
            problems += oas_checker().check_response(req.method, path, status, body)
    return [f"{name}: {p}" for p in problems]


def render(name: str) -> str:
    interactions = CASSETTE_BUILDERS[name]()
    problems = response_problems(name, interactions)
    if problems:
        raise SystemExit("\n".join(problems))
    return serialize({"requests": [r for r, _ in interactions], "responses": [r for _, r in interactions]},
                     yamlserializer)


def main() -> None:
    CASSETTES.mkdir(exist_ok=True)
    for name in CASSETTE_BUILDERS:
        (CASSETTES / f"{name}.yaml").write_text(render(name), encoding="utf-8")
        print(f"wrote {CASSETTES / name}.yaml")


if __name__ == "__main__":
    main()
