"""The Moodle provider: Moodle's REST web services through the ``local_mzi`` plugin.

Reads page ``local_mzi_get_<table>``; writes go in batches to
``local_mzi_upsert_<table>`` / ``local_mzi_delete_<table>``, each request kept under
PHP's ``max_input_vars`` because PHP silently drops what is over it (the plugin catches
that through ``count``, sent first so it is never the variable that gets dropped). One
Moodle call carries many records; batches run concurrently, bounded by the client's
concurrency, each to its own outcome (``reconciler.batches``). Per-record failures come
back as failed Results; a Moodle exception envelope fails its call (:class:`MoodleError`,
or :class:`MoodleAuthError` for a bad token), and so that batch's records.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import httpx

from .. import watermarks as marks
from ..batches import Batch, Gate, ResultSink, run_batches, settle
from ..errors import AuthError, TerminalError
from ..http import RetryingClient, RetryPolicy, Sleep
from ..mapping import MappingError, moodle_key, moodle_row, record_from_moodle
from ..model import Action, Change, Record, Result
from ..schema.xmldb import load_schema
from ..specs import Spec
from ..watermarks import WatermarkStore, utcnow
from .moodle_courses import CourseAdapter
from .moodle_enrolments import EnrolmentAdapter
from .moodle_forms import GradingFormAdapter
from .moodle_grades import GradeAdapter
from .moodle_users import UserLinkAdapter

ENDPOINT = "/webservice/rest/server.php"
#: the kinds a Moodle source reads incrementally (``read_changes``): mirror tables and these resources
INCREMENTAL_RESOURCES = (None, "assignment_grade")
#: form variables every request carries besides its parameters: wstoken, wsfunction,
#: moodlewsrestformat, count — and headroom
REQUEST_OVERHEAD = 10


class MoodleError(TerminalError):
    """Moodle answered with an exception envelope; not worth retrying."""

    def __init__(self, wsfunction: str, exception: str, errorcode: str, message: str, debuginfo: str = "") -> None:
        detail = f"{message} ({debuginfo})" if debuginfo else message
        super().__init__(f"Moodle refused {wsfunction}: {errorcode}: {detail}")
        self.wsfunction = wsfunction
        self.exception = exception
        self.errorcode = errorcode
        self.moodle_message = message
        self.debuginfo = debuginfo


class MoodleAuthError(AuthError, MoodleError):
    """The web-service token was refused (``invalidtoken``)."""

    def __init__(self, wsfunction: str, exception: str, errorcode: str, message: str, debuginfo: str = "") -> None:
        MoodleError.__init__(self, wsfunction, exception, errorcode, message, debuginfo)
        self.args = (f"Moodle refused the web-service token calling {wsfunction} ({message}); "
                     "check MZI_MOODLE_TOKEN and that the token's service is 'mzi'",)


# ------------------------------------------------------------------ PHP-style parameters

def _form_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _check_name(name: str, top: bool) -> str:
    if not name or "[" in name or "]" in name or (top and (" " in name or "." in name or name != name.lstrip())):
        raise ValueError(f"{name!r} cannot be sent as a PHP form variable name")
    return name


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{_check_name(str(key), False)}]", item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    else:
        out.append((prefix, _form_text(value)))


def encode_php_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Nested params → ``[("records[0][city]", "Irbid"), …]`` in PHP's array syntax.

    Order is kept (``count`` before ``records``); ``None`` is sent as ``""`` (the plugin
    stores NULL), booleans as ``1``/``0``; empty lists send nothing, as a form cannot
    carry an empty array (Moodle then uses the parameter's default).
    """
    out: list[tuple[str, str]] = []
    for name, value in params.items():
        _flatten(_check_name(str(name), True), value, out)
    return out


_FORM_SAFE = re.compile(r"[A-Za-z0-9_.\-~\[\]]*")


def _quote(text: str) -> str:
    return text if _FORM_SAFE.fullmatch(text) else quote_plus(text, safe="[]")


def form_body(pairs: list[tuple[str, str]]) -> bytes:
    """``application/x-www-form-urlencoded`` of ``pairs`` (brackets left readable, as curl sends them)."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs).encode("ascii")


def count_vars(value: Any) -> int:
    """How many form variables ``value`` becomes (what ``max_input_vars`` counts)."""
    if isinstance(value, dict):
        return sum(count_vars(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(count_vars(v) for v in value)
    return 1


def pack(items: Sequence[Any], budget: int) -> list[list[Any]]:
    """Consecutive batches whose variable counts each stay within ``budget``."""
    batches: list[list[Any]] = []
    current: list[Any] = []
    used = 0
    for item in items:
        size = count_vars(item)
        if size > budget:
            raise TerminalError(f"one record needs {size} form variables, more than max_input_vars allows ({budget}); "
                                "raise max_input_vars in php.ini and mzi.toml")
        if current and used + size > budget:
            batches.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        batches.append(current)
    return batches


def function_names(table: str) -> dict[str, str]:
    """``local_mzi_students`` → its upsert, get and delete function names."""
    short = table.removeprefix("local_mzi_")
    return {verb: f"local_mzi_{verb}_{short}" for verb in ("upsert", "get", "delete")}


# ------------------------------------------------------------------ the provider

class MoodleProvider:
    """Provider for ``system = "moodle"``; also the engine's door to courses and users."""

    system = "moodle"

    def __init__(
        self,
        url: str,
        token: str,
        policy: RetryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_input_vars: int = 5000,
        page_size: int = 1000,
        sleep: Sleep = asyncio.sleep,
        timezone: str = "Asia/Amman",
        course_category_id: int = 0,
        create_users: bool = False,
        new_user_auth: str = "manual",
        withdrawn_enrolment: str = "suspend",
        watermarks: WatermarkStore | None = None,
        full_refresh_after: timedelta = timedelta(hours=24),
        watermark_overlap: timedelta = timedelta(minutes=5),
        now: Callable[[], datetime] = utcnow,
        iv_role: str = "internalverifier",
    ) -> None:
        """``watermarks`` and ``full_refresh_after``: incremental reads of the kinds Moodle is
        the source of (the reverse direction), as the Zoho provider does for the others."""
        if max_input_vars <= REQUEST_OVERHEAD + 1:
            raise ValueError(f"max_input_vars {max_input_vars} leaves no room for records")
        self._token = token
        self.max_input_vars = max_input_vars
        self.page_size = max(1, min(page_size, 5000))
        self.client = RetryingClient("Moodle", url.rstrip("/"), policy, transport=transport, sleep=sleep)
        self.courses = CourseAdapter(self, ZoneInfo(timezone), course_category_id)
        self.users = UserLinkAdapter(self, create_users, new_user_auth)
        self.enrolments = EnrolmentAdapter(self, withdrawn_enrolment)
        self.watermarks = watermarks
        self.full_refresh_after = full_refresh_after
        self.watermark_overlap = watermark_overlap
        self._now = now
        self.grades = GradeAdapter(self, ZoneInfo(timezone), iv_role)
        self.forms = GradingFormAdapter(self)

    @property
    def budget(self) -> int:
        """Form variables one request may spend on records."""
        return self.max_input_vars - REQUEST_OVERHEAD

    # -------------------------------------------------------------- the wire

    async def call(self, wsfunction: str, params: dict[str, Any] | None = None) -> Any:
        """Call one web-service function; its decoded JSON, or MoodleError."""
        form = [("wstoken", self._token), ("wsfunction", wsfunction), ("moodlewsrestformat", "json")]
        form += encode_php_params(params or {})
        response = await self.client.request("POST", ENDPOINT, content=form_body(form),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code != 200:
            raise TerminalError(f"Moodle answered HTTP {response.status_code} to {wsfunction}; check the Moodle URL "
                                f"and that web services and the REST protocol are enabled")
        try:
            body = response.json()
        except json.JSONDecodeError:
            raise TerminalError(f"Moodle answered {wsfunction} with something that is not JSON "
                                f"({response.text[:120]!r}); is moodlewsrestformat=json supported?") from None
        if isinstance(body, dict) and "exception" in body and "errorcode" in body:
            _raise_envelope(wsfunction, body)
        return body

    async def _send(self, wsfunction: str, name: str, batch: list[Any], *, with_count: bool = False,
                    result_key: str = "results") -> list[Any]:
        """One batch, one call; the answer aligned to the batch (a short answer padded with
        ``None``), so one short batch can never shift results onto other records."""
        params: dict[str, Any] = {"count": len(batch)} if with_count else {}
        params[name] = batch
        answer = await self.call(wsfunction, params)
        got = list(answer.get(result_key, [])) if isinstance(answer, dict) else list(answer or [])
        return got[:len(batch)] + [None] * (len(batch) - len(got))

    async def _batched(self, wsfunction: str, name: str, items: Sequence[Any], *, with_count: bool = False,
                       result_key: str = "results") -> list[Any]:
        """Send ``items`` as ``name`` in batches (concurrently); results in input order.

        Every batch runs to its end even when another fails (the first error is raised
        after), so no request is cut off while Moodle may be committing it.
        """
        answers = await settle([self._send(wsfunction, name, b, with_count=with_count, result_key=result_key)
                                for b in pack(items, self.budget)])
        return [result for answer in answers for result in answer]

    def _write_batches(self, wsfunction: str, name: str, changes: Sequence[Change], items: Sequence[Any]) -> list[Batch]:
        """``changes`` and their wire form ``items`` cut into batches, each turning its answer into Results."""
        batches = []
        start = 0
        for part in pack(items, self.budget):  # consecutive, in order: batch n is the next len(part) changes
            mine = list(changes[start:start + len(part)])
            start += len(part)

            async def send(part: list[Any] = part, mine: list[Change] = mine) -> list[Result]:
                return _results(mine, await self._send(wsfunction, name, part, with_count=name == "records"))

            batches.append(Batch(mine, send))
        return batches

    # -------------------------------------------------------------- Provider protocol

    async def read(self, spec: Spec, keys: Collection[str] | None = None, since: datetime | None = None) -> dict[str, Record]:
        """Records of ``spec``'s table: all, only ``keys``, or modified since ``since``.

        Keys travel as the address keys: a composite key's parts joined with ``:``
        (``5847596000000101234:2``), which the plugin splits from the right.

        A resource kind (``course``, ``user_link``, ``enrolment``) is read by its adapter, always in full or by key.
        """
        if spec.moodle_resource == "course":
            return await self.courses.read(spec, keys)
        if spec.moodle_resource == "user_link":
            return await self.users.read(spec, keys)
        if spec.moodle_resource == "enrolment":
            return await self.enrolments.read(spec, keys)
        if spec.moodle_resource == "assignment_grade":
            started = self._now()
            grades = await self.grades.read(spec, keys, since)
            if keys is None and since is None:
                marks.mark(self.watermarks, spec.kind, started, self.watermark_overlap, full=True)
            return grades
        if spec.moodle_resource == "grading_form":
            return await self.forms.read(spec, keys)
        extra = {"modifiedsince": int(since.timestamp())} if since is not None else {}
        started = self._now()
        by_key = keys is None or _keyed_like_table(spec)
        rows = await self.paged(function_names(spec.moodle_table)["get"], keys if by_key else None, params=extra)
        if not by_key:  # the plugin looks keys up in the table's key column, not in this kind's
            wanted = {str(k) for k in keys or ()}
            rows = [row for row in rows if moodle_key(spec, row) in wanted]
        if keys is None and since is None and spec.source.system == "moodle":
            marks.mark(self.watermarks, spec.kind, started, self.watermark_overlap, full=True)
        records: dict[str, Record] = {}
        for row in rows:
            if spec.source.system == "zoho" and any(row.get(c) in (None, "") for c in spec.key.columns):
                continue  # made in Moodle, not yet in Zoho (a request awaiting outbound_request): no mirror row
            if spec.source.system == "moodle" and not spec.source.keeps(row):
                continue  # not a row of this kind (the spec's source.only / source.skip)
            try:
                record = record_from_moodle(spec, row)
            except MappingError as exc:  # a bad value fails its record only, never the read
                record = Record.unreadable(exc.address, str(exc))
            if spec.source.system == "moodle" and spec.source.acknowledged(row):
                record = replace(record, acknowledged=True)
            records[record.address.key] = record
        return records

    async def read_changes(self, spec: Spec, since: datetime | None = None) -> tuple[dict[str, Record], set[str]]:
        """Rows of a Moodle source table modified since ``since`` (default: the kind's
        watermark); no deleted keys, as the mirror rows a reverse kind reads are never
        removed (a soft-deleted row is a changed row, which its ``skip`` filter drops).

        Of the Moodle resources, grades read incrementally (the plugin's ``modifiedsince``
        also names grades whose deadline passed since, which the RR rule changes); the
        others are read in full.
        """
        if spec.moodle_resource not in INCREMENTAL_RESOURCES:
            return await self.read(spec), set()
        start = since or marks.since(self.watermarks, spec.kind)
        started = self._now()
        records = await self.read(spec, since=start) if start is not None else await self.read(spec)
        if since is None:
            marks.mark(self.watermarks, spec.kind, started, self.watermark_overlap, full=start is None)
        return records, set()

    def full_refresh_due(self, spec: Spec) -> bool:
        """A Moodle source kind is read in full when its last full read is older than
        ``full_refresh_after`` — that is when a value edited in Zoho (drift) is seen."""
        if spec.moodle_resource not in INCREMENTAL_RESOURCES:
            return True
        return marks.full_refresh_due(self.watermarks, spec.kind, self._now(), self.full_refresh_after)

    async def paged(self, wsfunction: str, keys: Collection[str] | None, *, key_param: str = "keys",
                    result_key: str = "records", params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Rows of one of the plugin's paged reads: all, or those of ``keys``.

        Keys go in chunks that fit ``max_input_vars`` (one page of keys per chunk), the
        chunks concurrently under the client's bound; the mirror tables and the course,
        user-link and enrolment adapters all read through here.
        """
        base: dict[str, Any] = {"limit": self.page_size, **(params or {})}
        if keys is None:
            return await self._pages(wsfunction, base, result_key=result_key)
        wanted = sorted(set(keys))
        size = min(self.page_size, self.budget)
        chunks = [wanted[i:i + size] for i in range(0, len(wanted), size)]
        pages = await asyncio.gather(*(self._pages(wsfunction, base | {key_param: chunk}, result_key=result_key)
                                       for chunk in chunks))
        return [row for page in pages for row in page]

    async def _pages(self, wsfunction: str, params: dict[str, Any], *, result_key: str = "records") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        afterid = 0
        while True:
            answer = await self.call(wsfunction, {"afterid": afterid, **params})
            rows += answer[result_key]
            if not answer["hasmore"] or answer["nextafterid"] <= afterid:
                return rows
            afterid = answer["nextafterid"]

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Creates and updates as upserts, deletes as deletes; one Result per change.

        Each batch's Results go to ``on_results`` as it is answered (see
        :func:`~reconciler.batches.run_batches` for what a failed or unstarted batch gives).
        A resource kind (``course``, ``user_link``, ``enrolment``) is written by its adapter.
        """
        if spec.moodle_resource == "course":
            return await self.courses.apply(spec, changes, on_results=on_results, gate=gate)
        if spec.moodle_resource == "user_link":
            return await self.users.apply(spec, changes, on_results=on_results, gate=gate)
        if spec.moodle_resource == "enrolment":
            return await self.enrolments.apply(spec, changes, on_results=on_results, gate=gate)
        if spec.moodle_resource == "assignment_grade":
            return await self.grades.apply(spec, changes, on_results=on_results, gate=gate)
        if spec.moodle_resource == "grading_form":
            return await self.forms.apply(spec, changes, on_results=on_results, gate=gate)
        names = function_names(spec.moodle_table)
        writes = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)]
        deletes = [c for c in changes if c.action is Action.DELETE]
        rows = [moodle_row(spec, c.address.key, c.after or {}) for c in writes]
        keys = [c.address.key for c in deletes]
        batches = self._write_batches(names["upsert"], "records", writes, rows)
        batches += self._write_batches(names["delete"], "keys", deletes, keys)
        unsupported = [Result(c.address, c.action, False, "skipped",
                              f"the Moodle provider does not carry out {c.action.verb!r} changes")
                       for c in changes if c.action is Action.BLOCKED]
        if unsupported and on_results is not None:
            on_results(unsupported)
        done = await run_batches(batches, limit=self.client.policy.concurrency, gate=gate, on_results=on_results)
        sent = (c for b in batches for c in b.changes)  # run_batches keeps batch order
        by_change = {id(c): r for c, r in zip(sent, done)}
        by_change |= {id(c): r for c, r in zip((c for c in changes if c.action is Action.BLOCKED), unsupported)}
        return [by_change[id(c)] for c in changes]

    async def resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        """The engine's Resolver hook: user links learn their Moodle user; enrolments drop the
        records that want nobody enrolled; grading forms drop classes without assignments;
        other kinds pass."""
        if spec.moodle_resource == "user_link":
            return await self.users.resolve(spec, desired)
        if spec.moodle_resource == "enrolment":
            return await self.enrolments.resolve(spec, desired)
        if spec.moodle_resource == "grading_form":
            return await self.forms.resolve(spec, desired)
        return desired

    # -------------------------------------------------------------- the engine's extras

    async def resolve_users(self, emails: Iterable[str]) -> dict[str, int | None]:
        """Email → Moodle user id; ``None`` when no user or more than one has it."""
        wanted = list(dict.fromkeys(emails))
        if not wanted:
            return {}
        users = await self._batched("local_mzi_resolve_users", "emails", wanted, result_key="users")
        return {u["email"]: (int(u["userid"]) if u["found"] and not u["multiple"] else None) for u in users}

    async def ensure_courses(self, courses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self._batched("local_mzi_ensure_courses", "courses", courses) if courses else []

    async def set_enrolments(self, enrolments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self._batched("local_mzi_set_enrolments", "enrolments", enrolments) if enrolments else []

    async def push_sync_status(self, statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self._batched("local_mzi_push_sync_status", "statuses", statuses) if statuses else []

    async def record_request_results(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What became of requests submitted in Moodle (``sent`` + Zoho id, or ``failed`` + reason)."""
        return await self._batched("local_mzi_record_request_results", "results", results) if results else []

    async def course_categories(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """The course categories with these ids that exist and the token's user can see."""
        wanted = ",".join(str(i) for i in sorted(set(ids)))
        answer = await self.call("core_course_get_categories", {"criteria": [{"key": "ids", "value": wanted}],
                                                                "addsubcategories": 0})
        return list(answer or [])

    async def site_info(self) -> dict[str, Any]:
        return await self.call("core_webservice_get_site_info")

    #: ``local_mzi_get_info``'s answer, asked once per provider (one command): the preflight
    #: and the saved-plan binding both read it, and it does not change within a command
    _info: dict[str, Any] | None = None

    async def get_info(self) -> dict[str, Any]:
        if self._info is None:
            self._info = await self.call("local_mzi_get_info")
        return self._info

    async def site_identity(self) -> str:
        """What tells this Moodle site from another behind the same URL: ``$CFG->wwwroot``
        and ``$CFG->siteidentifier`` as ``local_mzi_get_info`` reports them (one cached call)."""
        info = await self.get_info()
        return f"{info.get('siteurl', '')} {info.get('siteidentifier', '')}".strip()

    def usage(self) -> dict[str, int]:
        """This run's cost for the run log: web-service requests, including retries."""
        return {"requests": self.client.stats.requests, "retries": self.client.stats.retries}

    async def aclose(self) -> None:
        await self.client.aclose()


def _keyed_like_table(spec: Spec) -> bool:
    """Whether ``spec``'s key is its table's key, the column(s) ``local_mzi_get_*`` looks
    ``keys`` up in. A kind keyed otherwise (``outbound_request`` by ``request_number``: a
    request made in Moodle has no Zoho id yet) reads the table and picks its rows."""
    table = load_schema().tables.get(spec.moodle_table)
    return table is None or tuple(table.key_columns) == spec.key.columns


def _raise_envelope(wsfunction: str, body: dict[str, Any]) -> None:
    args = (wsfunction, str(body.get("exception", "")), str(body.get("errorcode", "")),
            str(body.get("message", "")), str(body.get("debuginfo", "") or ""))
    if body.get("errorcode") == "invalidtoken":
        raise MoodleAuthError(*args)
    raise MoodleError(*args)


def _results(changes: Sequence[Change], answers: list[dict[str, Any] | None]) -> list[Result]:
    """Moodle's per-record results → Results, in order; a missing answer is a failure."""
    results = []
    for index, change in enumerate(changes):
        if index >= len(answers) or answers[index] is None:
            results.append(Result(change.address, change.action, False, "error",
                                  "Moodle returned no result for this record"))
            continue
        answer = answers[index]
        assert answer is not None
        status = str(answer.get("status", ""))
        if status == "error":
            error = f"{answer.get('errorcode', '')}: {answer.get('message', '')}".strip(": ")
            results.append(Result(change.address, change.action, False, status, error))
        else:
            results.append(Result(change.address, change.action, True, status))
    return results
