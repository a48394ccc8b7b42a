"""The Zoho CRM v8 emulator as an ASGI app: the API subset mzi uses, Zoho's way.

Every request passes the same gate, in Zoho's order: injected faults (latency, 429
bursts with ``Retry-After``, 5xx), then OAuth (``Authorization: Zoho-oauthtoken …``),
then the operation; every request is logged with its status and API credits so tests
and the run report can count calls (1 a call; an insert, update or upsert 1 per 10 records;
a COQL query by its LIMIT, see ``coql.py``). Errors use Zoho's envelope
``{"code", "details", "message", "status": "error"}``; write calls answer one ``data[]``
entry per record. Response shapes are held to Zoho's OpenAPI files by the tests
(``oas.py``).

Behaviours copied from Zoho that a client must cope with:

- listing needs ``fields`` (≤ 50 names); ``per_page`` ≤ 200; ``page`` reaches only the
  first 2,000 records, ``page_token`` (from ``info.next_page_token``) the rest; ``page``
  and ``page_token`` do not mix; sort only by ``id``, ``Created_Time``, ``Modified_Time``;
- an empty result is ``204 No Content``; with ``If-Modified-Since`` and nothing newer,
  ``304 Not Modified``; both without a body;
- lookups come back as ``{"id", "name"}`` with the target's *current* name.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from ..transport import ResponseLost
from .coql import CoqlEndpoint, subform_modules
from .faults import Faults
from .fields_api import FIELD_TYPES, field_metadata, known_module
from .metadata import ModuleMeta, load_metadata
from .store import SYSTEM_USER, ZohoStore, parse_time, zoho_time
from .writes import MAX_RECORDS_PER_CALL, RecordWriter

SANDBOX_CLIENT_ID = "1000.MZISANDBOXCLIENT0000000000000"
SANDBOX_CLIENT_SECRET = "mzi-sandbox-client-secret"
SANDBOX_REFRESH_TOKEN = "1000.mzi-sandbox-refresh-token.0000000000000000"

MAX_FIELDS = 50
MAX_PER_PAGE = 200
MAX_IDS = 100
#: records reachable with ``page``; beyond, only ``page_token``
PAGE_LIMIT = 2000
#: how long a page token stays usable (Zoho: one day)
PAGE_TOKEN_LIFETIME = 86400
SORTABLE = ("id", "Created_Time", "Modified_Time")
DELETED_TYPES = ("all", "recycle", "permanent")
WATCH_OPERATIONS = ("all", "create", "edit", "delete")
MAX_CHANNEL_LIFETIME = 7 * 86400
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: a stand-in for the module ids Zoho reports in watch events
MODULE_ID = "5847596000000002175"


class ZohoHttpError(Exception):
    """An error answered with Zoho's envelope; raised anywhere below the gate."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"code": self.code, "details": self.details, "message": self.message, "status": "error"}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def _no_content(status: int) -> Response:
    return Response(status_code=status)


def _param_error(param: str, code: str = "INVALID_DATA", message: str = "invalid data", **extra: Any) -> ZohoHttpError:
    return ZohoHttpError(400, code, message, {"param": param, "param_name": param, **extra})


def _int_param(request: Request, name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < low:
        raise _param_error(name, expected_data_type="integer")
    value = int(raw)
    if high is not None and value > high:
        raise _param_error(name, "LIMIT_EXCEEDED", "Record count exceeded", limit=high)
    return value


def _since(request: Request) -> float | None:
    raw = request.headers.get("if-modified-since")
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise _param_error("If-Modified-Since", expected_data_type="datetime") from None


#: records written per API credit (Zoho's credit table: insert, update, upsert)
WRITE_RECORDS_PER_CREDIT = 10


@dataclass
class _Page:
    """Where one list call starts and how far it may go."""

    offset: int
    per_page: int
    sort_by: str
    sort_order: str
    since: float | None
    by_token: bool
    limit: int = field(default=0)


def write_credits(records: int) -> int:
    """What Zoho charges for one insert, update or upsert call: 1 credit per 10 records
    (rounded up), whatever each record's outcome — the client counts the same (``_per_ten``)."""
    return max(1, -(-records // WRITE_RECORDS_PER_CREDIT))


class ZohoServer:
    """The emulator's state and handlers; ``create_app`` wires it into Starlette."""

    def __init__(self, store: ZohoStore) -> None:
        self.store = store
        self.modules = load_metadata()
        self.subform_modules = subform_modules(self.modules)

    # -------------------------------------------------------------- the gate

    async def gate(self, request: Request, handler: Callable[[Request], Awaitable[Response]], *,
                   api: bool = True) -> Response:
        """Faults, auth, the handler, the log — for every request."""
        status, credits, lose = 500, 0, False
        try:
            if api:
                lose = await self._inflict_faults(request)
                self._authenticate(request)
            response = await handler(request)
            status, credits = response.status_code, (getattr(request.state, "credits", 1) if api else 0)
        except ZohoHttpError as error:
            response = error.response()
            status = error.status
            # a refused token, a 429 or a server fault costs nothing; a bad request costs like any call
            credits = 1 if api and error.status < 500 and error.status not in (401, 429) else 0
        self.store.log(request.method, request.url.path, status, credits)
        if lose:
            raise ResponseLost(f"{request.method} {request.url.path} answered {status}; the answer is lost")
        return response

    async def _inflict_faults(self, request: Request) -> bool:
        """Latency, hangs, token expiry, 429s, 5xx and page shifts before the request is
        handled; whether its answer is to be lost after the handler committed."""
        faults = self.store.faults()
        sequence = self.store.next_counter("requests")
        if faults.latency_ms > 0:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.hangs(sequence):
            self.store.count_injected("timeout")
            await asyncio.sleep(faults.hang_seconds)  # the client gives up first (transport.py)
        if faults.expires_tokens_at(sequence):
            self._expire_tokens()
        self._rate_limit_or_fail(faults, sequence)
        if request.method == "GET" and faults.shifts_page(sequence):
            self._shift_page(request)
        lose = request.method in WRITE_METHODS and faults.loses_response(sequence)
        if lose:
            self.store.count_injected("lost_response")
        return lose

    def _expire_tokens(self) -> None:
        """Expire the tokens issued before the previous expiry (all, the first time): as
        with Zoho's hour-long tokens, one just refreshed outlives the next expiry point."""
        previous = self.store.setting("faults.last_expiry")
        self.store.set_setting("faults.last_expiry", repr(time.time()))
        self.store.count_injected("token_expiry")
        self.store.expire_tokens(None if previous is None else float(previous))

    def _shift_page(self, request: Request) -> None:
        """Delete the first record of a listing read past its first page, as a user might
        between two of the client's page reads: the next page starts one record later."""
        module = self.modules.get(request.path_params.get("module", ""))
        paged = request.query_params.get("page_token") or request.query_params.get("page", "1") not in ("", "1")
        if module is None or not paged or "record_id" in request.path_params:
            return
        first = self.store.query(module.api_name, ids=None, since=None, sort_by="id", descending=False, offset=0, limit=1)
        if first:
            self.store.count_injected("page_shift")
            with self.store.transaction():
                RecordWriter(self.store, self.modules, self.store.faults()).delete(module, [first[0]["id"]])

    def _rate_limit_or_fail(self, faults: Faults, sequence: int) -> None:
        if faults.rate_limited(sequence):
            self.store.count_injected("rate_limit")
            raise ZohoHttpError(429, "TOO_MANY_REQUESTS", "too many requests", {"retry_after": faults.retry_after},
                                headers={"Retry-After": str(faults.retry_after)})
        if faults.server_error(sequence):
            self.store.count_injected("server_error")
            raise ZohoHttpError(500, "INTERNAL_ERROR", "Internal server error occurred.")

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            raise ZohoHttpError(401, "AUTHENTICATION_FAILURE", "Authentication failed")
        if not self.store.token_valid(token.strip()):
            raise ZohoHttpError(401, "INVALID_TOKEN", "invalid oauth token")

    # -------------------------------------------------------------- OAuth

    async def token(self, request: Request) -> Response:
        """``POST /oauth/v2/token`` — refresh grant only; errors as 200 + ``error`` like Zoho."""
        params = dict(request.query_params)
        if "form" in request.headers.get("content-type", ""):  # no python-multipart: parse by hand
            params.update(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
        if params.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type"})
        if params.get("client_id") != SANDBOX_CLIENT_ID or params.get("client_secret") != SANDBOX_CLIENT_SECRET:
            return JSONResponse({"error": "invalid_client"})
        if params.get("refresh_token") != SANDBOX_REFRESH_TOKEN:
            return JSONResponse({"error": "invalid_code"})
        lifetime = self.store.faults().token_lifetime
        return JSONResponse({
            "access_token": self.store.issue_token(lifetime),
            "scope": "ZohoCRM.modules.ALL ZohoCRM.settings.ALL ZohoCRM.notifications.ALL",
            "api_domain": f"{request.url.scheme}://{request.url.netloc}",
            "token_type": "Bearer",
            "expires_in": lifetime,
        })

    # -------------------------------------------------------------- helpers

    def _module(self, request: Request) -> ModuleMeta:
        name = request.path_params["module"]
        module = self.modules.get(name)
        if module is None:
            raise ZohoHttpError(400, "INVALID_MODULE", "The module name given seems to be invalid",
                                {"resource_path_index": 0})
        return module

    def _project(self, module: ModuleMeta, records: list[dict[str, Any]], fields: list[str] | None) -> list[dict[str, Any]]:
        """Only the requested fields (all when ``None``) plus ``id``; lookups with current names."""
        self._refresh_lookup_names(module, records)
        out = []
        for record in records:
            names = fields if fields is not None else [n for n in module.fields if n in record or n in ("Owner",)]
            row: dict[str, Any] = {}
            for name in names:
                if name not in module.fields:
                    continue
                if module.fields[name].data_type == "ownerlookup":
                    row[name] = dict(SYSTEM_USER)
                else:
                    row[name] = record.get(name)
            row["id"] = record["id"]
            out.append(row)
        return out

    def _refresh_lookup_names(self, module: ModuleMeta, records: list[dict[str, Any]]) -> None:
        for meta in module.fields.values():
            target = self.modules.get(meta.lookup_module or "") if meta.data_type == "lookup" else None
            if target is None:
                continue
            ids = sorted({r[meta.api_name]["id"] for r in records if isinstance(r.get(meta.api_name), dict)})
            if not ids:
                continue
            names = self.store.names(target.api_name, ids, target.name_field)
            for record in records:
                value = record.get(meta.api_name)
                if isinstance(value, dict) and value.get("id") in names:
                    record[meta.api_name] = {"id": value["id"], "name": names[value["id"]]}

    def _fields_param(self, request: Request, *, required: bool) -> list[str] | None:
        raw = request.query_params.get("fields")
        if not raw:
            if required:
                raise ZohoHttpError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                                    {"param": "fields", "param_name": "fields"})
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_FIELDS:
            raise _param_error("fields", "LIMIT_EXCEEDED", "Max field limit exceeded", limit=MAX_FIELDS)
        return names

    def _ids_param(self, request: Request, name: str = "ids") -> list[str] | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise _param_error(name)
        if len(ids) > MAX_IDS:
            raise _param_error(name, "LIMIT_EXCEEDED", "Record count exceeded", limit=MAX_IDS)
        return ids

    # -------------------------------------------------------------- page tokens

    @staticmethod
    def _encode_token(module: str, page: _Page, offset: int, expiry: float) -> str:
        data = {"m": module, "o": offset, "s": page.sort_by, "d": page.sort_order, "i": page.since, "x": int(expiry)}
        return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode().rstrip("=")

    def _decode_token(self, module: str, token: str) -> dict[str, Any]:
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            valid = isinstance(data, dict) and data.get("m") == module and int(data["o"]) >= 0
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise _param_error("page_token")
        if data["x"] < self.store.now():
            raise _param_error("page_token", reason="the page token has expired")
        return data

    def _page(self, request: Request, module: str, since: float | None) -> _Page:
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        token = request.query_params.get("page_token")
        if token:
            if request.query_params.get("page"):
                raise _param_error("page_token", reason="page and page_token cannot be used together")
            data = self._decode_token(module, token)
            page = _Page(int(data["o"]), per_page, data["s"], data["d"], data["i"], True)
            page.limit = per_page
            return page
        sort_by = request.query_params.get("sort_by", "id")
        sort_order = request.query_params.get("sort_order", "asc")
        if sort_by not in SORTABLE:
            raise _param_error("sort_by", supported_values=list(SORTABLE))
        if sort_order not in ("asc", "desc"):
            raise _param_error("sort_order", supported_values=["asc", "desc"])
        number = _int_param(request, "page", 1, 1)
        offset = (number - 1) * per_page
        if offset >= PAGE_LIMIT:
            raise ZohoHttpError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                                "you can fetch only the first 2000 records with page; use page_token to fetch more",
                                {"param": "page", "limit": PAGE_LIMIT, "reason": "use page_token (info.next_page_token)"})
        page = _Page(offset, per_page, sort_by, sort_order, since, False)
        page.limit = min(per_page, PAGE_LIMIT - offset)
        return page

    # -------------------------------------------------------------- reads

    async def list_records(self, request: Request) -> Response:
        module = self._module(request)
        fields = self._fields_param(request, required=True)
        ids = self._ids_param(request)
        page = self._page(request, module.api_name, _since(request))
        total = self.store.count(module.api_name, ids=ids, since=page.since)
        if total == 0:
            return _no_content(304 if page.since is not None else 204)
        records = self.store.query(module.api_name, ids=ids, since=page.since, sort_by=page.sort_by,
                                   descending=page.sort_order == "desc", offset=page.offset, limit=page.limit)
        if not records:
            return _no_content(204)
        more = page.offset + len(records) < total
        return JSONResponse({"data": self._project(module, records, fields),
                             "info": self._info(module.api_name, page, len(records), more)})

    def _info(self, module: str, page: _Page, count: int, more: bool) -> dict[str, Any]:
        expiry = self.store.now() + PAGE_TOKEN_LIFETIME
        info: dict[str, Any] = {
            "call": False, "per_page": page.per_page, "count": count, "page": page.offset // page.per_page + 1,
            "sort_by": page.sort_by, "sort_order": page.sort_order, "email": False, "more_records": more,
            "next_page_token": None, "previous_page_token": None, "page_token_expiry": None,
        }
        if more:
            info["next_page_token"] = self._encode_token(module, page, page.offset + count, expiry)
            info["page_token_expiry"] = zoho_time(expiry)
        if page.offset > 0:
            info["previous_page_token"] = self._encode_token(module, page, max(0, page.offset - page.per_page), expiry)
            info["page_token_expiry"] = zoho_time(expiry)
        return {k: v for k, v in info.items() if v is not None}

    async def get_record(self, request: Request) -> Response:
        module = self._module(request)
        record_id = request.path_params["record_id"]
        fields = self._fields_param(request, required=False)
        record = self.store.get(module.api_name, record_id)
        if record is None:
            raise ZohoHttpError(404, "INVALID_DATA", "the id given seems to be invalid", {"id": record_id})
        since = _since(request)
        if since is not None and parse_time(record["Modified_Time"]) <= since:
            return _no_content(304)
        return JSONResponse({"data": self._project(module, [record], fields)})

    async def deleted_records(self, request: Request) -> Response:
        module = self._module(request)
        kind = request.query_params.get("type", "all")
        if kind not in DELETED_TYPES:
            raise _param_error("type", supported_values=list(DELETED_TYPES))
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        number = _int_param(request, "page", 1, 1)
        since = _since(request)
        rows, total = self.store.deleted(module.api_name, kind=kind, since=since,
                                         offset=(number - 1) * per_page, limit=per_page)
        if not rows:
            return _no_content(304 if since is not None and total == 0 else 204)
        more = (number - 1) * per_page + len(rows) < total
        info = {"per_page": per_page, "count": len(rows), "page": number, "more_records": more}
        return JSONResponse({"data": rows, "info": info})

    async def fields(self, request: Request) -> Response:
        """``GET /crm/v8/settings/fields?module=…``: the module's field metadata (see ``fields_api``).

        Errors as Zoho's fields API words them: no ``module`` → ``REQUIRED_PARAM_MISSING``,
        an unknown one → ``INVALID_MODULE`` naming the parameter.
        """
        name = request.query_params.get("module", "")
        if not name:
            raise ZohoHttpError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                                {"param_name": "module"})
        if not known_module(name):
            raise ZohoHttpError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                                {"api_name": "module"})
        kind = request.query_params.get("type", "all")
        if kind not in FIELD_TYPES:
            raise ZohoHttpError(400, "INVALID_DATA", "invalid data", {"api_name": "type", "json_path": "$.type"})
        fields = field_metadata(name, kind)
        return JSONResponse({"fields": fields}) if fields else _no_content(204)

    # -------------------------------------------------------------- writes

    async def _body_rows(self, request: Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ZohoHttpError(400, "INVALID_DATA", "body", {"api_name": "data", "json_path": "$"}) from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
            raise ZohoHttpError(400, "MANDATORY_NOT_FOUND", "required field not found",
                                {"api_name": "data", "json_path": "$.data"})
        rows = body["data"]
        if len(rows) > MAX_RECORDS_PER_CALL:
            raise ZohoHttpError(400, "LIMIT_EXCEEDED", "Record count exceeded",
                                {"api_name": "data", "json_path": "$.data", "limit": MAX_RECORDS_PER_CALL})
        if not all(isinstance(r, dict) for r in rows):
            raise ZohoHttpError(400, "INVALID_DATA", "invalid data", {"api_name": "data", "json_path": "$.data",
                                                                        "expected_data_type": "jsonobject"})
        request.state.credits = write_credits(len(rows))
        return rows, body

    def _writer(self) -> RecordWriter:
        return RecordWriter(self.store, self.modules, self.store.faults())

    async def insert_records(self, request: Request) -> Response:
        module = self._module(request)
        rows, _ = await self._body_rows(request)
        with self.store.transaction():
            result = self._writer().insert(module, rows)
        return JSONResponse({"data": result.entries}, status_code=result.http_status(201))

    async def update_records(self, request: Request) -> Response:
        module = self._module(request)
        rows, _ = await self._body_rows(request)
        if "record_id" in request.path_params:
            rows = [{**rows[0], "id": request.path_params["record_id"]}]
        with self.store.transaction():
            result = self._writer().update(module, rows)
        return JSONResponse({"data": result.entries}, status_code=result.http_status(200))

    async def upsert_records(self, request: Request) -> Response:
        module = self._module(request)
        rows, body = await self._body_rows(request)
        writer = self._writer()
        checks = body.get("duplicate_check_fields")
        allowed = writer.allowed_duplicate_checks(module)
        if checks is None:
            checks = sorted(allowed)
        if not isinstance(checks, list) or any(c not in allowed for c in checks):
            bad = next((c for c in (checks if isinstance(checks, list) else [checks]) if c not in allowed), checks)
            raise ZohoHttpError(400, "INVALID_DATA", "invalid data",
                                {"api_name": str(bad), "json_path": "$.duplicate_check_fields",
                                 "reason": "only unique fields can be duplicate check fields",
                                 "supported_values": sorted(allowed)})
        with self.store.transaction():
            result = writer.upsert(module, rows, checks)
        return JSONResponse({"data": result.entries}, status_code=result.http_status(200))

    async def delete_records(self, request: Request) -> Response:
        module = self._module(request)
        if "record_id" in request.path_params:
            ids = [request.path_params["record_id"]]
        else:
            ids = self._ids_param(request) or []
            if not ids:
                raise ZohoHttpError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                                    {"param": "ids", "param_name": "ids"})
        with self.store.transaction():
            result = self._writer().delete(module, ids)
        return JSONResponse({"data": result.entries}, status_code=result.http_status(200))

    # -------------------------------------------------------------- notifications (actions/watch)

    def _watch_error(self, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
        return {"code": code, "details": details, "message": message, "status": "error"}

    def _check_events(self, events: Any, index: int) -> dict[str, Any] | None:
        path = f"$.watch[{index}].events"
        if not isinstance(events, list) or not events:
            return self._watch_error("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "events", "json_path": path})
        for event in events:
            module, _, operation = str(event).partition(".")
            if module not in self.modules or operation not in WATCH_OPERATIONS:
                return self._watch_error("INVALID_DATA", "invalid data", {"api_name": "events", "json_path": path})
        return None

    def _channel_problem(self, item: Any, index: int, *, new: bool) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            return self._watch_error("INVALID_DATA", "invalid data", {"api_name": "watch", "json_path": f"$.watch[{index}]"})
        needed = ("channel_id", "events", "notify_url") if new else ("channel_id", "events")
        for name in needed:
            if item.get(name) in (None, "", []):
                return self._watch_error("MANDATORY_NOT_FOUND", "required field not found",
                                         {"api_name": name, "json_path": f"$.watch[{index}].{name}"})
        if not new and self.store.channel(str(item["channel_id"])) is None:
            return self._watch_error("NOT_SUBSCRIBED", "the channel is not subscribed", {"channel_id": str(item["channel_id"])})
        problem = self._check_events(item["events"], index)
        if problem is None and item.get("channel_expiry") is not None:
            try:
                expiry = parse_time(str(item["channel_expiry"]))
            except ValueError:
                expiry = -1.0
            if not self.store.now() < expiry <= self.store.now() + MAX_CHANNEL_LIFETIME:
                problem = self._watch_error("INVALID_DATA", "invalid data",
                                            {"api_name": "channel_expiry", "json_path": f"$.watch[{index}].channel_expiry"})
        return problem

    def _event_details(self, request: Request, channel: dict[str, Any]) -> list[dict[str, Any]]:
        base = f"{request.url.scheme}://{request.url.netloc}"
        modules = sorted({e.partition(".")[0] for e in channel["events"]})
        return [{"channel_expiry": channel["channel_expiry"], "resource_uri": f"{base}/crm/v8/{m}",
                 "resource_id": MODULE_ID, "resource_name": m, "channel_id": str(channel["channel_id"]),
                 "notification_condition": []} for m in modules]

    async def _watch_items(self, request: Request) -> list[Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("watch"), list) or not body["watch"]:
            raise ZohoHttpError(400, "MANDATORY_NOT_FOUND", "required field not found",
                                {"api_name": "watch", "json_path": "$.watch"})
        return body["watch"]

    def _save_channel(self, item: dict[str, Any], events: list[str]) -> dict[str, Any]:
        expiry = item.get("channel_expiry") or zoho_time(self.store.now() + 3600)
        channel = {
            "channel_id": item["channel_id"], "events": events, "channel_expiry": zoho_time(parse_time(str(expiry))),
            "token": item.get("token"), "notify_url": item.get("notify_url"),
            "notify_on_related_action": bool(item.get("notify_on_related_action", False)),
            "return_affected_field_values": bool(item.get("return_affected_field_values", False)),
        }
        self.store.save_channel(channel)
        return channel

    async def watch_enable(self, request: Request) -> Response:
        return await self._watch_change(request, new=True)

    async def watch_update(self, request: Request) -> Response:
        return await self._watch_change(request, new=False)

    async def _watch_change(self, request: Request, *, new: bool) -> Response:
        items = await self._watch_items(request)
        results, ok = [], True
        with self.store.transaction():
            for index, item in enumerate(items):
                problem = self._channel_problem(item, index, new=new)
                if problem is not None:
                    results.append(problem)
                    ok = False
                    continue
                old = self.store.channel(str(item["channel_id"])) if new else None
                events = sorted(set(item["events"]) | set(old["events"] if old else []))
                merged = {**(old or {}), **{k: v for k, v in item.items() if v is not None}}
                channel = self._save_channel(merged, events)
                message = ("Successfully subscribed for actions-watch of the given module" if new
                           else "Successfully updated the subscribe details")
                results.append({"code": "SUCCESS", "details": {"events": self._event_details(request, channel)},
                                "message": message, "status": "success"})
        status = (201 if new else 200) if ok else 202
        return JSONResponse({"watch": results}, status_code=status)

    async def watch_disable(self, request: Request) -> Response:
        """PATCH with ``_delete_events: true``: stop the named events of a channel."""
        items = await self._watch_items(request)
        results, ok = [], True
        with self.store.transaction():
            for index, item in enumerate(items):
                problem = self._channel_problem(item, index, new=False)
                if problem is None and not (isinstance(item, dict) and item.get("_delete_events") is True):
                    problem = self._watch_error("MANDATORY_NOT_FOUND", "required field not found",
                                                {"api_name": "_delete_events", "json_path": f"$.watch[{index}]._delete_events"})
                if problem is not None:
                    results.append(problem)
                    ok = False
                    continue
                channel = self.store.channel(str(item["channel_id"]))
                assert channel is not None
                remaining = [e for e in channel["events"] if e not in item["events"]]
                if remaining:
                    self._save_channel(channel, remaining)
                else:
                    self.store.drop_channel(str(item["channel_id"]))
                results.append({"code": "SUCCESS", "details": {"channel_id": str(item["channel_id"]),
                                                               "events": self._event_details(request, {**channel, "events": item["events"]})},
                                "message": "Successfully removed the subscribe details", "status": "success"})
        return JSONResponse({"watch": results}, status_code=200 if ok else 202)

    async def watch_delete(self, request: Request) -> Response:
        raw = request.query_params.get("channel_ids", "")
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise ZohoHttpError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                                {"param": "channel_ids", "param_name": "channel_ids"})
        results, ok = [], True
        with self.store.transaction():
            for channel_id in ids:
                if self.store.drop_channel(channel_id):
                    results.append({"code": "SUCCESS", "details": {"channel_id": channel_id},
                                    "message": "Successfully un-subscribed from actions-watch", "status": "success"})
                else:
                    ok = False
                    results.append(self._watch_error("NOT_SUBSCRIBED", "the channel is not subscribed", {"channel_id": channel_id}))
        return JSONResponse({"watch": results}, status_code=200 if ok else 202)

    async def watch_list(self, request: Request) -> Response:
        per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        number = _int_param(request, "page", 1, 1)
        channel_id, module = request.query_params.get("channel_id"), request.query_params.get("module")
        now = self.store.now()
        channels = [c for c in self.store.channels()
                    if parse_time(c["channel_expiry"]) > now
                    and (channel_id is None or str(c["channel_id"]) == channel_id)
                    and (module is None or any(e.startswith(f"{module}.") for e in c["events"]))]
        page = channels[(number - 1) * per_page: number * per_page]
        if not page:
            return _no_content(204)
        base = f"{request.url.scheme}://{request.url.netloc}"
        watch = [{**c, "resource_uri": f"{base}/crm/v8/{c['events'][0].partition('.')[0]}", "resource_id": MODULE_ID,
                  "resource_name": c["events"][0].partition(".")[0]} for c in page]
        info = {"per_page": per_page, "page": number, "count": len(page), "more_records": number * per_page < len(channels)}
        return JSONResponse({"watch": watch, "info": info})

    # -------------------------------------------------------------- the rest

    async def unknown(self, request: Request) -> Response:
        app: Starlette = request.app
        for route in app.router.routes:
            match, _ = route.matches(request.scope)
            if match == Match.PARTIAL:
                raise ZohoHttpError(405, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one")
        raise ZohoHttpError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


def create_app(db_path: Path, *, faults: Faults | None = None) -> Starlette:
    """The emulator over the store at ``db_path``; ``faults``, when given, are persisted."""
    store = ZohoStore(db_path)
    if faults is not None:
        store.set_faults(faults)
    server = ZohoServer(store)

    def api(handler: Callable[[Request], Awaitable[Response]], *, auth: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await server.gate(request, handler, api=auth)
        return endpoint

    routes = [
        Route("/oauth/v2/token", api(server.token, auth=False), methods=["POST"]),
        Route("/crm/v8/actions/watch", api(server.watch_list), methods=["GET"]),
        Route("/crm/v8/actions/watch", api(server.watch_enable), methods=["POST"]),
        Route("/crm/v8/actions/watch", api(server.watch_update), methods=["PUT"]),
        Route("/crm/v8/actions/watch", api(server.watch_disable), methods=["PATCH"]),
        Route("/crm/v8/actions/watch", api(server.watch_delete), methods=["DELETE"]),
        Route("/crm/v8/settings/fields", api(server.fields), methods=["GET"]),
        Route("/crm/v8/coql", api(CoqlEndpoint(server)), methods=["POST"]),
        Route("/crm/v8/{module}/deleted", api(server.deleted_records), methods=["GET"]),
        Route("/crm/v8/{module}/upsert", api(server.upsert_records), methods=["POST"]),
        Route("/crm/v8/{module}/{record_id}", api(server.get_record), methods=["GET"]),
        Route("/crm/v8/{module}/{record_id}", api(server.update_records), methods=["PUT"]),
        Route("/crm/v8/{module}/{record_id}", api(server.delete_records), methods=["DELETE"]),
        Route("/crm/v8/{module}", api(server.list_records), methods=["GET"]),
        Route("/crm/v8/{module}", api(server.insert_records), methods=["POST"]),
        Route("/crm/v8/{module}", api(server.update_records), methods=["PUT"]),
        Route("/crm/v8/{module}", api(server.delete_records), methods=["DELETE"]),
        Route("/{path:path}", api(server.unknown, auth=False),
              methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    ]
    app = Starlette(routes=routes)
    app.state.zoho = server
    app.state.store = store
    return app
