"""The low-level Zoho CRM v8 client: OAuth, pagination, batching, error envelopes, credits.

Everything here is shaped by Zoho's published contract (the OpenAPI files in
``shared/reference/zoho-oas/v8.0``) and its documented limits, so that the provider above
it can think in records and never in pages, tokens or envelopes:

* **OAuth2 refresh-token flow** against ``{accounts_url}/oauth/v2/token``. The access token
  is cached with its expiry and refreshed 60 s early; a 401 (``INVALID_TOKEN``/
  ``AUTHENTICATION_FAILURE``) invalidates it and the request is retried exactly once with
  a fresh token, so an hour-long run survives expiry and a revoked grant fails fast. The
  token endpoint's ``api_domain`` answer wins over the configured one (Zoho moves orgs).
* **Reads**: ≤ 200 records a page; ``page`` 1…10 (Zoho serves ``page`` only up to record
  2,000), then ``info.next_page_token``; ``If-Modified-Since`` for incremental reads, 304
  and 204 meaning "nothing". ``fields`` is capped at 50 names a call, so a wider read is
  split into several listings merged by id (see :meth:`ZohoClient.list_records`).
  ``ids`` fetches ≤ 100 records a call.
* **Query API (COQL)**: ``POST /crm/v8/coql`` reads ≤ 2,000 records a call, keyed by id
  (``WHERE id > <last> ORDER BY id ASC LIMIT 2000``), so a full read costs ⌈N/2000⌉
  calls instead of ⌈N/200⌉ and never shifts when a record is deleted mid-read. Zoho
  charges it by ``LIMIT`` (1–200: 1 credit, 201–1000: 2, 1001–2000: 3). A SELECT takes
  ≤ 50 columns and ≤ 15 lookup joins; a lookup column answers only ``{"id"}``, so its
  name is read through a join column (``Unit.Name``) and the two put back together as
  the ``{"id", "name"}`` the list API gives (see :meth:`ZohoClient.query_records`).
* **Writes**: update and upsert ≤ 100 records a call; Zoho answers per record, and every
  answer is returned (:class:`WriteResult`) — one refused record never fails its batch.
* **Errors**: Zoho's ``{code, message, details, status}`` envelope becomes a
  :class:`ZohoError` (terminal) or :class:`ZohoAuthError`; 429 and 5xx never reach this
  module because :class:`~reconciler.http.RetryingClient` retries them, honouring
  ``Retry-After``.
* **Credits**: the OAS documents no credit header, so each call is charged by Zoho's
  credit table (:data:`CREDITS`): 1 a read page, 2 a deleted-records page, 1 per 10
  records written, 1 for metadata and notification calls. Token refreshes hit the
  accounts server and cost none. Only calls Zoho processed count; throttled and failed
  attempts show in ``stats.http`` (requests, retries, by status).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from ..batches import settle
from ..errors import AuthError, TerminalError
from ..http import CallStats, RetryingClient, RetryPolicy, Sleep

API = "/crm/v8"
TOKEN_PATH = "/oauth/v2/token"
#: Zoho's documented per-call ceilings
MAX_PER_PAGE = 200
PAGE_PARAM_RECORD_LIMIT = 2_000
MAX_IDS_PER_CALL = 100
MAX_FIELDS_PER_CALL = 50
MAX_WRITE_PER_CALL = 100
#: COQL's ceilings (Query API limitations page): records a call, columns and joins a SELECT
COQL_MAX_LIMIT = 2_000
COQL_MAX_COLUMNS = 50
COQL_MAX_JOINS = 15
COQL_PATH = f"{API}/coql"
#: the record-name field of Zoho's standard modules (what a lookup's ``name`` shows);
#: every custom module's is ``Name``
RECORD_NAME_FIELDS = {
    "Products": "Product_Name", "Accounts": "Account_Name", "Contacts": "Full_Name", "Leads": "Full_Name",
    "Deals": "Deal_Name", "Vendors": "Vendor_Name", "Campaigns": "Campaign_Name", "Price_Books": "Price_Book_Name",
    "Cases": "Subject", "Solutions": "Solution_Title", "Quotes": "Subject", "Sales_Orders": "Subject",
    "Purchase_Orders": "Subject", "Invoices": "Subject",
}
#: refresh the access token this many seconds before Zoho says it expires
TOKEN_EARLY_SECONDS = 60.0
#: codes on a 401 that a fresh access token cures; anything else on 401 is terminal
REFRESHABLE_CODES = frozenset({"INVALID_TOKEN", "AUTHENTICATION_FAILURE", ""})
#: OAuth errors of the token endpoint, with what the operator should do about each
OAUTH_HINTS = {
    "invalid_client": "the client id/secret are wrong or belong to another data centre",
    "invalid_code": "the refresh token is invalid or was revoked; generate a new one",
    "invalid_client_secret": "the client secret is wrong",
    "access_denied": "too many token requests or the grant was revoked; wait and retry",
}


def _per_ten(records: int) -> int:
    return max(1, math.ceil(records / 10))


def coql_credits(limit: int) -> int:
    """What Zoho charges for one COQL call, by its ``LIMIT``: 1–200 → 1, 201–1000 → 2, 1001–2000 → 3."""
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


#: Zoho's credit table (API limits page): credits charged per call of each operation,
#: as a function of the number of records the call carries.
CREDITS: dict[str, Callable[[int], int]] = {
    "list": lambda n: 1,
    "get_by_ids": lambda n: 1,
    "coql": coql_credits,  # charged by the query's LIMIT, passed as ``records``
    "deleted": lambda n: 2,
    "update": _per_ten,
    "upsert": _per_ten,
    "fields_metadata": lambda n: 1,
    "watch_enable": lambda n: 1,
    "watch_list": lambda n: 1,
    "watch_disable": lambda n: 1,
}


class ZohoError(TerminalError):
    """Zoho refused a call (a call-level envelope, not a per-record answer)."""

    def __init__(self, operation: str, status_code: int, code: str, message: str, details: Any = None) -> None:
        detail = f" {details}" if details else ""
        super().__init__(f"Zoho refused {operation} (HTTP {status_code}): {code}: {message}{detail}")
        self.operation = operation
        self.status_code = status_code
        self.code = code
        self.zoho_message = message
        self.details = details


class ZohoAuthError(AuthError, ZohoError):
    """Credentials were refused: bad client, revoked grant, or a token refresh did not help."""


@dataclass(frozen=True)
class WriteResult:
    """Zoho's answer for one record of an update/upsert batch, in input order."""

    code: str
    status: str
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    duplicate_field: str = ""

    @property
    def ok(self) -> bool:
        return self.code == "SUCCESS"

    @property
    def id(self) -> str | None:
        value = self.details.get("id") if isinstance(self.details, dict) else None
        return str(value) if value is not None else None


@dataclass(frozen=True)
class Channel:
    """One Notifications API channel: who is told (``notify_url``) about which ``events``."""

    channel_id: int
    events: tuple[str, ...]
    notify_url: str
    token: str | None = None
    expiry: datetime | None = None

    def body(self) -> dict[str, Any]:
        """The channel as the ``watch[]`` item of an Enable Notifications request."""
        item: dict[str, Any] = {"channel_id": self.channel_id, "events": list(self.events), "notify_url": self.notify_url}
        if self.token is not None:
            item["token"] = self.token
        if self.expiry is not None:
            item["channel_expiry"] = zoho_datetime(self.expiry)
        return item

    @classmethod
    def from_zoho(cls, item: dict[str, Any]) -> "Channel":
        expiry = item.get("channel_expiry")
        return cls(
            channel_id=int(item["channel_id"]),
            events=tuple(item.get("events") or ()),
            notify_url=str(item.get("notify_url") or ""),
            token=item.get("token"),
            expiry=datetime.fromisoformat(expiry) if expiry else None,
        )


@dataclass
class ZohoStats:
    """What one run cost: calls Zoho processed, credits charged, records moved.

    ``http`` is the transport's view (every request including retries, by status), so a
    429 storm shows there without inflating ``calls`` or ``credits``.
    """

    calls: int = 0
    credits: int = 0
    token_refreshes: int = 0
    records_read: int = 0
    records_written: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    http: CallStats = field(default_factory=CallStats)

    def charge(self, operation: str, records: int = 0) -> None:
        self.calls += 1
        self.credits += CREDITS[operation](records)
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls, "credits": self.credits, "token_refreshes": self.token_refreshes,
            "records_read": self.records_read, "records_written": self.records_written,
            "by_operation": dict(self.by_operation), "requests": self.http.requests, "retries": self.http.retries,
        }


def zoho_datetime(when: datetime) -> str:
    """ISO 8601 with an explicit offset and no fraction, as Zoho writes and expects it."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.replace(microsecond=0).isoformat()


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def field_chunks(fields: Iterable[str]) -> list[list[str]]:
    """Field names in calls of ≤ 50 (Zoho's cap); ``id`` is dropped since Zoho always sends it."""
    names = [f for f in dict.fromkeys(fields) if f != "id"]
    if not names:
        raise ValueError("Zoho's Get Records needs at least one field name besides id")
    return [list(c) for c in chunked(names, MAX_FIELDS_PER_CALL)]


def record_name_field(module: str) -> str:
    """The field holding a record's name in ``module`` (a lookup to it shows this value)."""
    return RECORD_NAME_FIELDS.get(module, "Name")


@dataclass(frozen=True)
class CoqlSelect:
    """One SELECT's columns: plain fields, and lookups with the join column giving their name.

    ``lookups`` maps a lookup field to its target's record-name field; the query selects
    both ``<lookup>`` and ``<lookup>.<name field>``, so each lookup costs two columns and
    one join.
    """

    fields: tuple[str, ...]
    lookups: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> list[str]:
        return [*self.fields, *(c for lookup, name in self.lookups for c in (lookup, f"{lookup}.{name}"))]

    def query(self, module: str, after: str, since: datetime | None, limit: int) -> str:
        """``SELECT … FROM module WHERE id > after [AND Modified_Time > 'since'] ORDER BY id ASC LIMIT n``."""
        where = f"id > {_coql_id(after)}"
        if since is not None:
            where = f"({where} and Modified_Time > '{zoho_datetime(since)}')"
        return f"select {', '.join(self.columns)} from {module} where {where} order by id asc limit {limit}"

    def shape(self, row: dict[str, Any]) -> dict[str, Any]:
        """A COQL row as the list API gives it: each lookup ``{"id", "name"}`` (or ``None``)."""
        out = dict(row)
        for lookup, name in self.lookups:
            joined = out.pop(f"{lookup}.{name}", None)
            value = out.get(lookup)
            if isinstance(value, dict) and value.get("id") is not None:
                out[lookup] = {"id": str(value["id"]), "name": joined}
        return out


def coql_selects(fields: Iterable[str], lookups: Mapping[str, str] | None = None) -> list[CoqlSelect]:
    """The SELECTs reading ``fields`` within Zoho's caps: ≤ 50 columns and ≤ 15 joins each.

    ``lookups`` (lookup field → its target's name field) are the fields among ``fields``
    that are lookups; each goes with its join column into the same SELECT. ``id`` is
    dropped: Zoho always returns it.
    """
    lookups = dict(lookups or {})
    names = [f for f in dict.fromkeys(fields) if f != "id"]
    if not names:
        raise ValueError("a COQL read needs at least one field name besides id")
    selects: list[CoqlSelect] = []
    plain: list[str] = []
    joined: list[tuple[str, str]] = []
    for name in names:
        cost = 2 if name in lookups else 1
        if len(plain) + 2 * len(joined) + cost > COQL_MAX_COLUMNS or (name in lookups and len(joined) == COQL_MAX_JOINS):
            selects.append(CoqlSelect(tuple(plain), tuple(joined)))
            plain, joined = [], []
        if name in lookups:
            joined.append((name, lookups[name]))
        else:
            plain.append(name)
    selects.append(CoqlSelect(tuple(plain), tuple(joined)))
    return selects


def _coql_id(value: str) -> str:
    """A record id as a COQL literal; ids are numbers, anything else is refused, never quoted in."""
    if not value.isdigit():
        raise ValueError(f"not a Zoho record id: {value!r}")
    return value


@dataclass
class _Token:
    value: str
    expires_at: float  # on the client's monotonic clock


class ZohoClient:
    """Zoho CRM v8 over one :class:`RetryingClient` (bounded, timed, retried, counted)."""

    def __init__(
        self,
        api_domain: str,
        accounts_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        policy: RetryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_domain = api_domain.rstrip("/")
        self.accounts_url = accounts_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._clock = clock
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()
        self._http = RetryingClient("Zoho CRM", self.api_domain, policy, transport=transport, sleep=sleep)
        self.stats = ZohoStats(http=self._http.stats)

    @property
    def credits_used(self) -> int:
        return self.stats.credits

    @property
    def concurrency(self) -> int:
        """Calls this client runs at once: how many write batches may be in flight."""
        return self._http.policy.concurrency

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ OAuth

    async def access_token(self) -> str:
        """A valid access token, refreshed when missing or within 60 s of expiry."""
        token = self._token
        if token is not None and self._clock() < token.expires_at - TOKEN_EARLY_SECONDS:
            return token.value
        async with self._token_lock:  # concurrent callers wait for one refresh
            token = self._token
            if token is not None and self._clock() < token.expires_at - TOKEN_EARLY_SECONDS:
                return token.value
            return await self._refresh()

    def _invalidate(self, used: str) -> None:
        """Forget ``used`` unless a concurrent request already replaced it."""
        if self._token is not None and self._token.value == used:
            self._token = None

    async def _refresh(self) -> str:
        form = {"grant_type": "refresh_token", "client_id": self._client_id,
                "client_secret": self._client_secret, "refresh_token": self._refresh_token}
        response = await self._http.request("POST", f"{self.accounts_url}{TOKEN_PATH}", data=form)
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else "not JSON"
        if response.status_code >= 400 or error or not body.get("access_token"):
            error = str(error or f"HTTP {response.status_code}")
            hint = OAUTH_HINTS.get(error, "check the Zoho client id, secret and refresh token")
            raise ZohoAuthError("the token refresh", response.status_code, error,
                                f"{hint} (accounts server {self.accounts_url})")
        self.stats.token_refreshes += 1
        if body.get("api_domain"):
            self.api_domain = str(body["api_domain"]).rstrip("/")
        lifetime = float(body.get("expires_in") or 3600)
        self._token = _Token(str(body["access_token"]), self._clock() + lifetime)
        return self._token.value

    # ------------------------------------------------------------------ one call

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        records: int = 0,
    ) -> httpx.Response:
        """Send one API call with a valid token; refresh once on 401; charge credits.

        Returns the response when Zoho processed the call (2xx/304, or an error status
        whose body carries per-record answers); raises :class:`ZohoError` otherwise.
        """
        for attempt in (1, 2):
            token = await self.access_token()
            response = await self._http.request(
                method, f"{self.api_domain}{path}", params=params, json=json,
                headers={"Authorization": f"Zoho-oauthtoken {token}", **(headers or {})},
            )
            if response.status_code != 401:
                break
            code, message, details = _envelope(_json(response))
            if code not in REFRESHABLE_CODES or attempt == 2:
                raise ZohoAuthError(operation, 401, code or "UNAUTHORIZED",
                                    f"{message or 'access refused'}; check the OAuth scopes and the grant", details)
            self._invalidate(token)
        self.stats.charge(operation, records)
        _raise_for_envelope(operation, response)
        return response

    # ------------------------------------------------------------------ reads

    async def list_records(
        self,
        module: str,
        fields: Sequence[str],
        *,
        modified_since: datetime | None = None,
        per_page: int = MAX_PER_PAGE,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of records of ``module`` with ``fields`` (sorted by id), as Zoho serves them.

        Up to 50 field names go in one listing. A wider request is split into one listing
        per 50 names, each listing paged to the end, and the parts merged by id; a record
        that one listing missed (created or deleted mid-read) is completed with a fetch by
        id or dropped when it is gone. That costs one extra listing per 50 fields, which
        is the minimum Zoho allows.
        """
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        chunks = field_chunks(fields)
        if len(chunks) == 1:
            async for page in self._pages(module, chunks[0], modified_since, per_page):
                yield page
            return
        merged = await self._list_wide(module, chunks, modified_since, per_page)
        for start in range(0, len(merged), per_page):
            yield merged[start:start + per_page]

    async def _pages(
        self, module: str, names: list[str], modified_since: datetime | None, per_page: int,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        headers = {"If-Modified-Since": zoho_datetime(modified_since)} if modified_since else None
        page, page_token = 1, None
        while True:
            params: dict[str, Any] = {"fields": ",".join(names), "per_page": per_page, "sort_by": "id", "sort_order": "asc"}
            if page_token is None:
                params["page"] = page
            else:
                params["page_token"] = page_token
            response = await self._call("list", "GET", f"{API}/{module}", params=params, headers=headers)
            if response.status_code in (204, 304):
                return
            body = _json(response)
            data, info = body.get("data") or [], body.get("info") or {}
            self.stats.records_read += len(data)
            if data:
                yield data
            if not info.get("more_records"):
                return
            if page_token is None and page * per_page < PAGE_PARAM_RECORD_LIMIT:
                page += 1
                continue
            page_token = info.get("next_page_token")
            if not page_token:
                raise ZohoError("list", response.status_code, "MISSING_PAGE_TOKEN",
                                f"{module} has more than {PAGE_PARAM_RECORD_LIMIT} records but Zoho sent no next_page_token")

    async def _list_wide(
        self, module: str, chunks: list[list[str]], modified_since: datetime | None, per_page: int,
    ) -> list[dict[str, Any]]:
        async def collect(names: list[str]) -> dict[str, dict[str, Any]]:
            return {str(r["id"]): r async for page in self._pages(module, names, modified_since, per_page) for r in page}

        parts = await asyncio.gather(*(collect(names) for names in chunks))
        return await self._merge_parts(module, list(parts), [n for c in chunks for n in c])

    async def query_records(
        self,
        module: str,
        fields: Sequence[str],
        *,
        lookups: Mapping[str, str] | None = None,
        modified_since: datetime | None = None,
        limit: int = COQL_MAX_LIMIT,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of records of ``module`` through COQL, sorted by id, shaped as the list API's.

        Paging is by id (``id > <last id read>``), not ``OFFSET``: no 100,000-record cap,
        and a record deleted mid-read does not shift the next page. ``lookups`` names the
        lookup fields among ``fields`` with their target's name field (see
        :func:`coql_selects`). More columns than one SELECT takes are read by several
        queries, each to its end, merged by id as :meth:`list_records` merges listings.
        """
        if not 1 <= limit <= COQL_MAX_LIMIT:
            raise ValueError(f"limit must be 1..{COQL_MAX_LIMIT}")
        selects = coql_selects(fields, lookups)
        if len(selects) == 1:
            async for page in self._coql_pages(module, selects[0], modified_since, limit):
                yield page
            return
        merged = await self._query_wide(module, selects, modified_since, limit, [n for n in fields if n != "id"])
        for start in range(0, len(merged), limit):
            yield merged[start:start + limit]

    async def _coql_pages(
        self, module: str, select: CoqlSelect, since: datetime | None, limit: int,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        after = "0"
        while True:
            body = {"select_query": select.query(module, after, since, limit)}
            try:
                response = await self._call("coql", "POST", COQL_PATH, json=body, records=limit)
            except ZohoAuthError as exc:
                if exc.code != "OAUTH_SCOPE_MISMATCH":
                    raise
                raise ZohoAuthError("coql", exc.status_code, exc.code,
                                    "the grant lacks the ZohoCRM.coql.READ scope: add it to the Self Client's grant, "
                                    "or set [zoho] read_api = \"list\"", exc.details) from exc
            if response.status_code == 204:
                return
            answer = _json(response)
            data, info = answer.get("data") or [], answer.get("info") or {}
            self.stats.records_read += len(data)
            if data:
                yield [select.shape(row) for row in data]
            if not info.get("more_records") or not data:
                return
            after = str(data[-1]["id"])

    async def _query_wide(
        self, module: str, selects: list[CoqlSelect], since: datetime | None, limit: int, names: list[str],
    ) -> list[dict[str, Any]]:
        async def collect(select: CoqlSelect) -> dict[str, dict[str, Any]]:
            return {str(r["id"]): r async for page in self._coql_pages(module, select, since, limit) for r in page}

        parts = await asyncio.gather(*(collect(select) for select in selects))
        return await self._merge_parts(module, list(parts), names)

    async def _merge_parts(
        self, module: str, parts: list[dict[str, dict[str, Any]]], names: list[str],
    ) -> list[dict[str, Any]]:
        """Parts of one read (each a subset of the columns) merged by id; a record one part
        missed (created or deleted mid-read) is fetched by id, or dropped when it is gone."""
        ids = sorted(set().union(*parts), key=_id_order)
        incomplete = [i for i in ids if any(i not in part for part in parts)]
        if incomplete:
            fetched = {str(r["id"]): r for r in await self.get_by_ids(module, incomplete, names)}
            for part in parts:
                for rid in incomplete:
                    part.pop(rid, None)
            ids = [i for i in ids if i not in incomplete or i in fetched]
            parts.append(fetched)
        return [_merge(rid, parts) for rid in ids]

    async def get_by_ids(self, module: str, ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Records by id, ≤ 100 ids a call (and ≤ 50 fields, merged by id); missing ids are absent."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        if not wanted:
            return []
        chunks = field_chunks(fields)
        calls = [(batch, names) for batch in chunked(wanted, MAX_IDS_PER_CALL) for names in chunks]
        answers = await asyncio.gather(*(self._get_ids(module, list(b), n) for b, n in calls))
        parts: dict[str, dict[str, Any]] = {}
        for rows in answers:
            for row in rows:
                parts.setdefault(str(row["id"]), {}).update(row)
        return [parts[i] for i in wanted if i in parts]

    async def _get_ids(self, module: str, ids: list[str], names: list[str]) -> list[dict[str, Any]]:
        params = {"ids": ",".join(ids), "fields": ",".join(names)}
        response = await self._call("get_by_ids", "GET", f"{API}/{module}", params=params)
        if response.status_code in (204, 304):
            return []
        data = _json(response).get("data") or []
        self.stats.records_read += len(data)
        return data

    async def deleted(self, module: str, *, since: datetime | None = None, type: str = "all") -> list[dict[str, Any]]:
        """Deleted records (``id``, ``deleted_time``, ``type``…), all pages; 204/304 → none."""
        if type not in ("all", "recycle", "permanent"):
            raise ValueError("type must be all, recycle or permanent")
        headers = {"If-Modified-Since": zoho_datetime(since)} if since else None
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            params = {"type": type, "page": page, "per_page": MAX_PER_PAGE}
            response = await self._call("deleted", "GET", f"{API}/{module}/deleted", params=params, headers=headers)
            if response.status_code in (204, 304):
                return out
            body = _json(response)
            out += body.get("data") or []
            if not (body.get("info") or {}).get("more_records"):
                return out
            page += 1

    async def fields_metadata(self, module: str) -> list[dict[str, Any]]:
        """The module's field metadata (api names, types, ``unique``…), e.g. for `mzi doctor`."""
        response = await self._call("fields_metadata", "GET", f"{API}/settings/fields", params={"module": module})
        return [] if response.status_code == 204 else list(_json(response).get("fields") or [])

    # ------------------------------------------------------------------ writes

    async def update(self, module: str, rows: Sequence[dict[str, Any]]) -> list[WriteResult]:
        """Update records (each row carries ``id``), ≤ 100 a call; one answer per row, in order."""
        return await self._write("update", "PUT", f"{API}/{module}", rows, {})

    async def upsert(
        self, module: str, rows: Sequence[dict[str, Any]], duplicate_check_fields: Sequence[str],
    ) -> list[WriteResult]:
        """Insert or update by ``duplicate_check_fields`` (unique fields), ≤ 100 a call."""
        if not duplicate_check_fields:
            raise ValueError("upsert needs duplicate_check_fields (fields unique in the Zoho org)")
        extra = {"duplicate_check_fields": list(duplicate_check_fields)}
        return await self._write("upsert", "POST", f"{API}/{module}/upsert", rows, extra)

    async def _write(
        self, operation: str, method: str, path: str, rows: Sequence[dict[str, Any]], extra: dict[str, Any],
    ) -> list[WriteResult]:
        batches = chunked(list(rows), MAX_WRITE_PER_CALL)
        # every batch runs to its end (no request cut off mid-write); the first error is raised after
        answers = await settle([self._write_batch(operation, method, path, b, extra) for b in batches])
        return [result for batch in answers for result in batch]

    async def _write_batch(
        self, operation: str, method: str, path: str, batch: Sequence[dict[str, Any]], extra: dict[str, Any],
    ) -> list[WriteResult]:
        response = await self._call(operation, method, path, json={"data": list(batch), **extra}, records=len(batch))
        data = _json(response).get("data") or []
        results = [_write_result(item) for item in data]
        self.stats.records_written += sum(1 for r in results if r.ok)
        missing = len(batch) - len(results)
        return results + [WriteResult("NO_ANSWER", "error", "Zoho returned no result for this record")] * max(0, missing)

    # ------------------------------------------------------------------ notifications

    async def watch_enable(self, channels: Sequence[Channel]) -> list[WriteResult]:
        """Enable (or re-subscribe, which renews) channels; one answer per channel."""
        response = await self._call("watch_enable", "POST", f"{API}/actions/watch",
                                    json={"watch": [c.body() for c in channels]})
        return _watch_results(response, len(channels))

    async def watch_list(self) -> list[Channel]:
        """Every channel this grant has enabled (all pages); 204 → none."""
        out: list[Channel] = []
        page = 1
        while True:
            response = await self._call("watch_list", "GET", f"{API}/actions/watch",
                                        params={"page": page, "per_page": MAX_PER_PAGE})
            if response.status_code == 204:
                return out
            body = _json(response)
            out += [Channel.from_zoho(item) for item in body.get("watch") or []]
            if not (body.get("info") or {}).get("more_records"):
                return out
            page += 1

    async def watch_disable(self, channel_ids: Sequence[int]) -> list[WriteResult]:
        """Stop channels entirely (Delete Notification)."""
        if not channel_ids:
            return []
        response = await self._call("watch_disable", "DELETE", f"{API}/actions/watch",
                                    params={"channel_ids": ",".join(str(i) for i in channel_ids)})
        return _watch_results(response, len(channel_ids))


# ---------------------------------------------------------------------- envelopes

def _json(response: httpx.Response) -> Any:
    """The body as JSON; ``{}`` for an empty or non-JSON body (204, 304, HTML error pages)."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {}


def _envelope(body: Any) -> tuple[str, str, Any]:
    if isinstance(body, dict):
        return str(body.get("code") or ""), str(body.get("message") or ""), body.get("details")
    return "", "", None


def _raise_for_envelope(operation: str, response: httpx.Response) -> None:
    """Call-level refusals → :class:`ZohoError`; per-record answers pass through."""
    status = response.status_code
    if status < 400:
        return  # 2xx, 304; a 202's per-record/per-channel errors are read by the caller
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        return  # a write batch: Zoho answers per record even when all of them failed
    if isinstance(body, dict) and isinstance(body.get("watch"), list) and body["watch"]:
        return  # notifications answer per channel
    code, message, details = _envelope(body)
    if code in ("OAUTH_SCOPE_MISMATCH", "NO_PERMISSION") or status == 403:
        raise ZohoAuthError(operation, status, code or "FORBIDDEN", message or "permission denied", details)
    raise ZohoError(operation, status, code or f"HTTP_{status}", message or response.reason_phrase, details)


def _write_result(item: dict[str, Any]) -> WriteResult:
    details = item.get("details")
    return WriteResult(
        code=str(item.get("code") or ""),
        status=str(item.get("status") or ""),
        message=str(item.get("message") or ""),
        details=details if isinstance(details, dict) else {},
        action=str(item.get("action") or ""),
        duplicate_field=str(item.get("duplicate_field") or ""),
    )


def _watch_results(response: httpx.Response, expected: int) -> list[WriteResult]:
    body = _json(response)
    items = body.get("watch") if isinstance(body, dict) else None
    if not isinstance(items, list):
        code, message, details = _envelope(body)
        return [WriteResult(code or "NO_ANSWER", "error", message, details if isinstance(details, dict) else {})] * expected
    return [_write_result(item) for item in items]


def _id_order(record_id: str) -> tuple[int, str]:
    """Zoho ids are numeric strings; order them numerically, anything else after."""
    return (int(record_id), "") if record_id.isdigit() else (1 << 64, record_id)


def _merge(record_id: str, parts: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part.get(record_id, {}))
    return merged
