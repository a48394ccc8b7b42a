"""Test doubles for the Zoho client: a small Zoho v8 fake and a minimal OAS checker.

``FakeZoho`` is an ``httpx.MockTransport`` handler holding records in memory. It keeps
Zoho's rules that shape the client (fields mandatory and ≤ 50, ≤ 200 a page, ``page``
only up to record 2,000 and never with ``page_token``, ≤ 100 ids/records a call,
If-Modified-Since → 304, per-record write answers, unique fields → DUPLICATE_DATA,
OAuth with expiring tokens) and injects faults (429 storms with Retry-After, a 5xx rate).
It exists so the client is tested without the sandbox emulator; when
``reconciler.sandbox.zoho`` is importable the traffic test runs against it too.

``OasChecker`` validates a request against Zoho's OpenAPI files: the path matches a
template (literal segments win), the method exists, every query parameter is declared
(with its type), required ones are present, headers declared as parameters parse, and
the JSON body validates against the request-body schema (jsonschema; OAS ``nullable``
translated; refs to OAS files absent from the folder — users.json, tags.json — are
left open). Two schema entries in notifications.json are sample values rather than
types; :data:`KNOWN_OAS_DEFECTS` replaces exactly those, and says why.

The OpenAPI files live in ``../shared/reference``, outside the repo; they are loaded on
first use, so a test that never checks against them runs on a fresh clone and one that
does skips (or fails under MZI_REQUIRE_SERVICES=1) — see ``needs.py``.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import jsonschema

from reconciler.sandbox.zoho.oas import OASViolation, OpenAPI
from reconciler.specs import Spec

from needs import oas_dir
from reconciler.sandbox.zoho.metadata import METADATA_PATH

#: the org's field export: the bundled copy, kept identical to shared/reference by a test
FIELDS_JSON = METADATA_PATH
API_DOMAIN = "https://www.zohoapis.com"
ACCOUNTS = "https://accounts.zoho.com"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "1000.TESTCLIENT", "test-secret", "1000.test-refresh"
BASE_ID = 5847596000000100000
T0 = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=3)))


#: a reverse-direction kind keyed by a unique non-id field (shape of DOMAIN.md's moodle_grade;
#: no such spec ships yet, so tests define it)
GRADE_SPEC = Spec.model_validate({
    "kind": "moodle_grade", "source": {"system": "moodle", "table": "local_mzi_grades"},
    "target": {"system": "zoho", "module": "BTEC_Grades"},
    "key": {"zoho": "Moodle_Grade_Composite_Key", "moodle": "composite_key"},
    "delete": {"policy": "soft", "field": "grade_status", "value": "Deleted"},
    "fields": {"grade": {"zoho": "Grade", "type": "picklist"},
               "attempt_number": {"zoho": "Attempt_Number", "type": "int"},
               "grade_status": {"zoho": "Grade_Status", "type": "picklist"}},
})


async def no_sleep(_: float) -> None:
    return None


class Sleeps:
    """A no-op sleep that remembers what it was asked to wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# ---------------------------------------------------------------------- records

def student(i: int, modified: datetime | None = None) -> dict[str, Any]:
    """One BTEC_Students record in Zoho's shape (fields from zoho_fields.json)."""
    when = (modified or T0 + timedelta(minutes=i)).isoformat()
    return {
        "id": str(BASE_ID + i), "Name": f"S-{i:05d}", "First_Name": f"First{i}", "Last_Name": f"Last{i}",
        "Display_Name": f"First{i} Last{i}", "Academic_Email": f"s{i}@horizon.edu", "Email": f"p{i}@mail.test",
        "Phone_Number": f"+9627{i:08d}", "Address": f"{i} Main St", "City": "Amman", "Nationality": "Jordan",
        "Birth_Date": "2004-05-06", "Gender": "Female" if i % 2 else "Male", "Status": "Active",
        "National_Number": f"99{i:08d}", "Emergency_Contact_Name": "Parent", "Emergency_Phone_Number": "+962700000000",
        "Major": "IT", "Sub_Major": "-None-", "Academic_Program": "BTEC HND", "Study_Language": "English",
        "Student_Moodle_ID": None, "Created_Time": when, "Modified_Time": when,
    }


def students(n: int) -> list[dict[str, Any]]:
    return [student(i) for i in range(1, n + 1)]


# ---------------------------------------------------------------------- the fake

def _error(status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "details": details or {}, "message": message, "status": "error"},
                          headers=headers)


@dataclass
class FakeZoho:
    """Zoho CRM v8 in memory, for ``httpx.MockTransport``."""

    modules: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    unique: dict[str, set[str]] = field(default_factory=dict)
    mandatory: dict[str, set[str]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    api_domain: str = API_DOMAIN
    token_lifetime: int = 3600
    storm_429: int = 0
    retry_after: str = "2"
    error_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    requests: list[httpx.Request] = field(default_factory=list)
    revoked: bool = False
    _tokens: set[str] = field(default_factory=set)
    _issued: int = 0
    _next_id: int = BASE_ID + 900_000

    # -- set-up helpers
    def load(self, module: str, rows: list[dict[str, Any]]) -> "FakeZoho":
        self.modules.setdefault(module, {}).update({r["id"]: dict(r) for r in rows})
        return self

    def delete(self, module: str, record_id: str, when: datetime) -> None:
        row = self.modules[module].pop(record_id)
        self.deleted.setdefault(module, []).append({
            "id": record_id, "display_name": row.get("Name", ""), "type": "recycle",
            "deleted_time": when.isoformat(), "deleted_by": {"id": "1", "name": "Admin"}})

    def expire_tokens(self) -> None:
        self._tokens.clear()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.startswith("/crm/")]

    # -- dispatch
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/v2/token":
            return self._token(request)
        if self.storm_429 > 0:
            self.storm_429 -= 1
            return _error(429, "TOO_MANY_REQUESTS", "too many requests", headers={"Retry-After": self.retry_after})
        if self.error_rate and self.rng.random() < self.error_rate:
            return _error(500, "INTERNAL_ERROR", "Internal server error occurred.")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Zoho-oauthtoken ") or auth.split(" ", 1)[1] not in self._tokens:
            return _error(401, "INVALID_TOKEN", "invalid oauth token")
        return self._route(request)

    def _route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")[3:]  # after /crm/v8
        method = request.method
        if parts == ["actions", "watch"]:
            return {"GET": self._watch_list, "POST": self._watch_enable, "DELETE": self._watch_disable}[method](request)
        if parts == ["settings", "fields"]:
            return self._fields(request)
        module = parts[0]
        if module not in self.modules:
            return _error(400, "INVALID_MODULE", "the module name given seems to be invalid", {})
        if len(parts) == 2 and parts[1] == "deleted":
            return self._deleted(request, module)
        if len(parts) == 2 and parts[1] == "upsert" and method == "POST":
            return self._write(request, module, upsert=True)
        if len(parts) == 1 and method == "PUT":
            return self._write(request, module, upsert=False)
        if len(parts) == 1 and method == "GET":
            return self._list(request, module)
        return _error(400, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")

    # -- OAuth
    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return httpx.Response(200, json={"error": "invalid_client"})
        if self.revoked or form.get("refresh_token") != REFRESH_TOKEN or form.get("grant_type") != "refresh_token":
            return httpx.Response(200, json={"error": "invalid_code"})
        self._issued += 1
        token = f"1000.access{self._issued}"
        self._tokens.add(token)
        return httpx.Response(200, json={"access_token": token, "api_domain": self.api_domain,
                                         "token_type": "Bearer", "expires_in": self.token_lifetime})

    # -- reads
    def _list(self, request: httpx.Request, module: str) -> httpx.Response:
        q = request.url.params
        names = [n for n in q.get("fields", "").split(",") if n]
        if not names:
            return _error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "fields"})
        if len(names) > 50:
            return _error(400, "LIMIT_EXCEEDED", "Record count exceeded", {"param": "fields", "limit": 50})
        rows = sorted(self.modules[module].values(), key=lambda r: int(r["id"]))
        if "ids" in q:
            ids = q["ids"].split(",")
            if len(ids) > 100:
                return _error(400, "LIMIT_EXCEEDED", "Record count exceeded", {"param": "ids", "limit": 100})
            rows = [r for r in rows if r["id"] in ids]
            return self._page(rows, names, 0, len(rows) or 1, None, 1)
        since = request.headers.get("If-Modified-Since")
        if since:
            cut = datetime.fromisoformat(since)
            rows = [r for r in rows if datetime.fromisoformat(r["Modified_Time"]) > cut]
            if not rows:
                return httpx.Response(304)
        per_page = int(q.get("per_page", 200))
        if per_page > 200:
            return _error(400, "INVALID_DATA", "Please check whether the input values are correct", {"param": "per_page"})
        if "page" in q and "page_token" in q:
            return _error(400, "INVALID_DATA", "page and page_token cannot be combined")
        if "page_token" in q:
            start = int(base64.urlsafe_b64decode(q["page_token"]).decode())
            page = start // per_page + 1
        else:
            page = int(q.get("page", 1))
            start = (page - 1) * per_page
            if start + per_page > 2000 and start >= 2000:
                return _error(400, "LIMIT_REACHED", "use page_token to fetch more than 2000 records",
                              {"limit": 2000})
        return self._page(rows, names, start, per_page, since, page)

    def _page(self, rows: list[dict[str, Any]], names: list[str], start: int, per_page: int,
              since: str | None, page: int) -> httpx.Response:
        chunk = rows[start:start + per_page]
        if not chunk:
            return httpx.Response(204)
        more = start + per_page < len(rows)
        info: dict[str, Any] = {"per_page": per_page, "count": len(chunk), "page": page, "sort_by": "id",
                                "sort_order": "asc", "more_records": more}
        if more:
            info["next_page_token"] = base64.urlsafe_b64encode(str(start + per_page).encode()).decode()
            info["page_token_expiry"] = (T0 + timedelta(days=1)).isoformat()
        data = [{"id": r["id"], **{n: r.get(n) for n in names}} for r in chunk]
        return httpx.Response(200, json={"data": data, "info": info})

    def _deleted(self, request: httpx.Request, module: str) -> httpx.Response:
        rows = list(self.deleted.get(module, []))
        since = request.headers.get("If-Modified-Since")
        if since:
            rows = [r for r in rows if datetime.fromisoformat(r["deleted_time"]) > datetime.fromisoformat(since)]
        page, per_page = int(request.url.params.get("page", 1)), int(request.url.params.get("per_page", 200))
        chunk = rows[(page - 1) * per_page: page * per_page]
        if not chunk:
            return httpx.Response(204)
        info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": page * per_page < len(rows)}
        return httpx.Response(200, json={"data": chunk, "info": info})

    def _fields(self, request: httpx.Request) -> httpx.Response:
        module = request.url.params.get("module", "")
        meta = json.loads(FIELDS_JSON.read_text())["modules"].get(module)
        if meta is None:
            return _error(400, "INVALID_MODULE", "the module name given seems to be invalid")
        checker = oas_checker()

        def picklist(values: list[str]) -> list[dict[str, Any]]:
            return [checker.complete("fields.json", "/components/schemas/pick_list_values",
                                     {"display_value": v, "actual_value": v, "sequence_number": i})
                    for i, v in enumerate(values, 1)]

        fields = [checker.complete("fields.json", "/components/schemas/fields", {
            **f, "id": str(5847596000000200000 + n), "field_label": f["api_name"].replace("_", " "),
            **({"pick_list_values": picklist(f["pick_list_values"])} if "pick_list_values" in f else {}),
            "unique": {"casesensitive": "false"} if f["api_name"] in self.unique.get(module, ()) else None,
        }) for n, f in enumerate(meta)]
        return httpx.Response(200, json={"fields": fields})

    # -- writes
    def _write(self, request: httpx.Request, module: str, *, upsert: bool) -> httpx.Response:
        body = json.loads(request.content)
        rows = body.get("data") or []
        if not rows:
            return _error(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", {"param": "data"})
        if len(rows) > 100:
            return _error(400, "LIMIT_EXCEEDED", "Record count exceeded", {"limit": 100})
        checks = body.get("duplicate_check_fields") or []
        answers = [self._write_one(module, row, checks, upsert) for row in rows]
        ok = sum(1 for a in answers if a["code"] == "SUCCESS")
        status = 200 if ok == len(answers) else (400 if ok == 0 else 207)
        return httpx.Response(status, json={"data": answers})

    def _write_one(self, module: str, row: dict[str, Any], checks: list[str], upsert: bool) -> dict[str, Any]:
        store = self.modules[module]
        target = store.get(str(row.get("id", "")))
        if upsert and target is None:
            for name in checks:
                target = next((r for r in store.values() if name in row and r.get(name) == row[name]), None)
                if target is not None:
                    break
        if target is None and not upsert:
            return {"code": "INVALID_DATA", "details": {"api_name": "id"}, "message": "the id given seems to be invalid.",
                    "status": "error"}
        missing = [m for m in self.mandatory.get(module, ()) if target is None and row.get(m) in (None, "")]
        if missing:
            return {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": missing[0]},
                    "message": "required field not found", "status": "error"}
        for name in self.unique.get(module, ()):
            clash = next((r for r in store.values() if r is not target and name in row and r.get(name) == row[name]), None)
            if clash is not None:
                return {"code": "DUPLICATE_DATA", "details": {"api_name": name, "id": clash["id"]},
                        "message": "duplicate data", "status": "error"}
        now = (T0 + timedelta(days=30)).isoformat()
        action = "update" if target is not None else "insert"
        if target is None:
            self._next_id += 1
            target = store.setdefault(str(self._next_id), {"id": str(self._next_id), "Created_Time": now})
        target.update({k: v for k, v in row.items() if k != "id"}, Modified_Time=now)
        answer = {"code": "SUCCESS", "status": "success",
                  "message": "record updated" if action == "update" else "record added",
                  "details": {"id": target["id"], "Modified_Time": now, "Created_Time": target.get("Created_Time", now)}}
        if upsert:
            answer["action"] = action
            if checks:
                answer["duplicate_field"] = checks[0]
        return answer

    # -- notifications
    def _watch_enable(self, request: httpx.Request) -> httpx.Response:
        out = []
        for item in json.loads(request.content)["watch"]:
            self.channels[int(item["channel_id"])] = item
            events = [{"channel_expiry": item.get("channel_expiry"), "resource_uri": f"{self.api_domain}/crm/v8/{e.split('.')[0]}",
                       "resource_id": "5847596000000002175", "resource_name": e.split(".")[0],
                       "channel_id": str(item["channel_id"]), "notification_condition": []} for e in item["events"]]
            out.append({"code": "SUCCESS", "status": "success", "message": "Successfully subscribed for actions-watch of the given module",
                        "details": {"events": events}})
        return httpx.Response(201, json={"watch": out})

    def _watch_list(self, request: httpx.Request) -> httpx.Response:
        if not self.channels:
            return httpx.Response(204)
        watch = [{**item, "resource_name": item["events"][0].split(".")[0]} for item in self.channels.values()]
        return httpx.Response(200, json={"watch": watch, "info": {"per_page": 200, "page": 1, "count": len(watch),
                                                                  "more_records": False}})

    def _watch_disable(self, request: httpx.Request) -> httpx.Response:
        ids = [int(i) for i in request.url.params["channel_ids"].split(",")]
        out = []
        for cid in ids:
            self.channels.pop(cid, None)
            out.append({"code": "SUCCESS", "status": "success", "message": "Successfully removed the subscribe details",
                        "details": {"channel_id": str(cid)}})
        return httpx.Response(200, json={"watch": out})


# ---------------------------------------------------------------------- OAS checker

#: Entries of Zoho's v8 OAS that are sample values where a type belongs; replaced by the
#: types Zoho's documentation gives (channel_id: a long; notify_url: any URL).
KNOWN_OAS_DEFECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("notifications.json", "Notification", "channel_id"): {"type": ["integer", "string"]},
    ("notifications.json", "Notification", "notify_url"): {"type": "string", "format": "uri"},
}
REMOTE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"


@dataclass(frozen=True)
class _Operation:
    file: str
    template: str
    regex: re.Pattern[str]
    literals: int
    method: str
    spec: dict[str, Any]


class OasChecker:
    """Validates requests against the OAS files of one folder; ``check`` returns problems."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or oas_dir()
        self.docs = {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
        for (doc, schema, prop), replacement in KNOWN_OAS_DEFECTS.items():
            self.docs[doc]["components"]["schemas"][schema]["properties"][prop] = replacement
        self.ops: list[_Operation] = []
        for name, doc in self.docs.items():
            for template, item in doc.get("paths", {}).items():
                pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
                literals = sum(1 for s in template.split("/") if s and not s.startswith("{"))
                for method, spec in item.items():
                    if isinstance(spec, dict) and method in ("get", "post", "put", "patch", "delete"):
                        self.ops.append(_Operation(name, template, re.compile(pattern), literals, method.upper(), spec))

    def operation(self, method: str, path: str) -> _Operation | None:
        found = [op for op in self.ops if op.method == method and op.regex.match(path)]
        return max(found, key=lambda op: op.literals) if found else None

    def check(self, request: httpx.Request) -> list[str]:
        """Problems with ``request`` (empty when it validates)."""
        path = urlsplit(str(request.url)).path
        op = self.operation(request.method, path)
        if op is None:
            return [f"{request.method} {path}: no such operation in the OAS"]
        problems: list[str] = []
        params = [self._resolve(op.file, p) for p in op.spec.get("parameters", [])]
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        query = {k: v for k, v in parse_qs(request.url.query.decode(), keep_blank_values=True).items()}
        for name, values in query.items():
            if name not in declared:
                problems.append(f"{op.method} {op.template}: query parameter {name!r} is not in the OAS")
                continue
            problems += self._check_value(f"query {name}", declared[name].get("schema", {}), values[0])
        for p in params:
            if p.get("required") and p["in"] == "query" and p["name"] not in query:
                problems.append(f"{op.method} {op.template}: required query parameter {p['name']!r} missing")
            if p["in"] == "header" and p["name"] in request.headers:
                problems += self._check_value(f"header {p['name']}", p.get("schema", {}), request.headers[p["name"]])
        body_spec = op.spec.get("requestBody")
        if body_spec is not None:
            body_spec = self._resolve(op.file, body_spec)
            schema = body_spec.get("content", {}).get("application/json", {}).get("schema")
            if not request.content:
                if body_spec.get("required"):
                    problems.append(f"{op.method} {op.template}: request body required")
            elif schema is not None:
                problems += self._validate(op.file, schema, json.loads(request.content), f"{op.method} {op.template} body")
        elif request.content:
            problems.append(f"{op.method} {op.template}: sends a body the OAS does not declare")
        return problems

    def check_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a JSON response ``body``: against the operation's response for
        ``status`` when the OAS documents one, else against the operation's 200 envelope
        (Zoho documents only 200 for most operations; 202/207/400 carry the same envelope)."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in the OAS"]
        responses = op.spec.get("responses", {})
        response = responses.get(str(status)) or responses.get("200")
        if response is None:
            return [f"{method} {op.template}: no response documented for {status}"]
        schema = self._resolve(op.file, response).get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return [] if body in (None, b"", "") else [f"{method} {op.template} {status}: the OAS documents no body"]
        return self._validate(op.file, schema, body, f"{method} {op.template} {status} response")

    def complete(self, file: str, pointer: str, partial: dict[str, Any]) -> dict[str, Any]:
        """``partial`` plus a type-correct placeholder for every property the schema at
        ``file#pointer`` requires and ``partial`` lacks (the fake's field metadata carries
        the facts of zoho_fields.json; the OAS requires ~40 more properties per field)."""
        schema = self._inline(file, {"$ref": f"#{pointer}"}, set())
        return _fill(schema, partial)

    def check_error(self, body: Any, schema: str = "record.json#/components/schemas/API_Exception") -> list[str]:
        """An error envelope against an OAS error schema (record.json's has enums of codes and messages;
        only bulk_read.json's ``Bulk_Read_API_Exception`` names ``TOO_MANY_REQUESTS``)."""
        file, _, pointer = schema.partition("#")
        return self._validate(file, {"$ref": f"#{pointer}"}, body, "error envelope")

    # -- helpers
    def _resolve(self, file: str, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            ref_file, _, pointer = node["$ref"].partition("#")
            ref_file = ref_file.replace(REMOTE, "") or file
            node = self._pointer(ref_file, pointer)
        return node

    def _pointer(self, file: str, pointer: str) -> dict[str, Any]:
        node: Any = self.docs[file]
        for part in pointer.strip("/").split("/"):
            node = node[part]
        return node

    def _check_value(self, where: str, schema: dict[str, Any], text: str) -> list[str]:
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "integer" and not re.fullmatch(r"-?\d+", text):
            return [f"{where}={text!r} is not an integer"]
        if kind == "boolean" and text not in ("true", "false"):
            return [f"{where}={text!r} is not a boolean"]
        if fmt == "date-time":
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return [f"{where}={text!r} is not an ISO date-time"]
            if parsed.tzinfo is None:
                return [f"{where}={text!r} has no zone offset"]
        return []

    def _validate(self, file: str, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        resolved = self._inline(file, schema, set())
        validator = jsonschema.Draft7Validator(resolved, format_checker=jsonschema.FormatChecker())
        return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(value)]

    def _inline(self, file: str, node: Any, seen: set[str]) -> Any:
        """Inline refs (recursive ones left open), translate OAS 3.0 ``nullable``, and read
        ``oneOf`` as "some alternative that the body is *about*": Zoho's alternatives
        (records vs. API_Exception) require no property, so a literal oneOf rejects every
        answer (valid under several) and a plain anyOf accepts anything (the error
        alternative matches any object). Each object alternative is therefore anchored to
        its declared properties: it applies only when the body has at least one of them."""
        if isinstance(node, list):
            return [self._inline(file, n, seen) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref_file, _, pointer = node["$ref"].partition("#")
            ref_file = ref_file.replace(REMOTE, "") or file
            key = f"{ref_file}#{pointer}"
            if ref_file not in self.docs or key in seen:
                return {}
            return self._inline(ref_file, self._pointer(ref_file, pointer), seen | {key})
        out = {k: self._inline(file, v, seen) for k, v in node.items() if k not in ("nullable", "example", "format")
               or k == "format" and v in ("uri", "date-time")}
        if "oneOf" in out:
            out["anyOf"] = [_anchored(alt) for alt in out.pop("oneOf")]
        if node.get("nullable") and "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        return copy.deepcopy(out)


def _placeholder(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    for key in ("allOf", "anyOf"):
        if key in schema:
            return _placeholder(schema[key][0])
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("format") == "date-time":
        return T0.isoformat()
    return {"string": "", "integer": 0, "number": 0, "boolean": False, "array": [],
            "object": _fill(schema, {})}.get(kind, None) if kind != "object" else _fill(schema, {})


def _fill(schema: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    out = dict(partial)
    for name in schema.get("required", []):
        if name not in out:
            out[name] = _placeholder(props.get(name, {}))
    return out


def _anchored(alternative: Any) -> Any:
    props = alternative.get("properties") if isinstance(alternative, dict) else None
    if not props:
        return alternative
    return {"allOf": [alternative, {"anyOf": [{"required": [name]} for name in props]}]}


def oauth_problems(request: httpx.Request) -> list[str]:
    """The token request against OAuth 2.0 (RFC 6749 §6) and the OAS securityScheme's tokenUrl."""
    scheme = json.loads((oas_dir() / "common.json").read_text())["components"]["securitySchemes"]["iam-oauth2-schema"]
    token_path = urlsplit(scheme["flows"]["authorizationCode"]["refreshUrl"]).path
    problems = []
    if request.method != "POST" or request.url.path != token_path:
        problems.append(f"{request.method} {request.url.path}: the refresh URL is POST {token_path}")
    form = parse_qs(request.content.decode())
    for name in ("grant_type", "refresh_token", "client_id", "client_secret"):
        if name not in form:
            problems.append(f"token request lacks {name}")
    if form.get("grant_type") != ["refresh_token"]:
        problems.append("grant_type must be refresh_token")
    if request.url.query:
        problems.append("secrets must not travel in the query string")
    return problems


Checker = Callable[[httpx.Request], list[str]]

_SHARED_OAS: list[OpenAPI] = []


def shared_oas() -> OpenAPI:
    """The product's OAS helper (the sandbox emulator's), loaded once; skips without the files."""
    if not _SHARED_OAS:
        _SHARED_OAS.append(OpenAPI.load(oas_dir()))
    return _SHARED_OAS[0]


def request_problems(request: httpx.Request) -> list[str]:
    """Every OAS problem of an API request, by the shared helper and by OasChecker."""
    problems = oas_checker().check(request)
    query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    body = json.loads(request.content) if request.content else None
    try:
        problems += shared_oas().request_problems(request.method, request.url.path, query, body, dict(request.headers))
    except OASViolation as exc:
        problems.append(str(exc))
    return problems


def response_problems(method: str, path: str, status: int, body: Any) -> list[str]:
    """Every OAS problem of a JSON API response (shared helper and OasChecker)."""
    if status == 401:
        problems = oas_checker().check_error(body)
    elif status == 429:
        problems = oas_checker().check_error(body, "bulk_read.json#/components/schemas/Bulk_Read_API_Exception")
    else:
        problems = oas_checker().check_response(method, path, status, body)
    return problems + shared_oas().response_problems(method, path, status, body)
_CHECKER: list[OasChecker] = []


def oas_checker() -> OasChecker:
    if not _CHECKER:
        _CHECKER.append(OasChecker())
    return _CHECKER[0]
