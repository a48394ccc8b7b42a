"""The Moodle REST web-service endpoint, as an ASGI app.

``/webservice/rest/server.php`` behaves like Moodle's ``webservice_rest_server``:
PHP decodes the form (``phpform``, with ``max_input_vars``), GET and POST variables
merge (POST wins), the token is checked, the function looked up, its parameters
validated like ``external_api::validate_parameters``, then capabilities, then the
handler runs in one transaction and its result is cleaned to the declared return types.
Every failure is HTTP 200 with ``{exception, errorcode, message, debuginfo}``.

Every request, good or bad, is written to ``mdl_mzi_api_log`` (time, function, whether
it writes, records, ok) so tests and benchmarks count calls without instrumenting the
client.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...schema.xmldb import Schema
from .db import open_db, schema_for, seed_core
from .external import InvalidParameter, InvalidToken, NoPermissions, UnknownFunction, WsException, clean_return, validate
from ..transport import ResponseLost
from .faults import MoodleFaults, count_injected, load_faults, next_request, save_faults, write_delay_seconds
from .functions import build_registry
from .phpform import PhpArray, count_leaves, decode_php_form
from .registry import CallContext, WsFunction

ENDPOINT = "/webservice/rest/server.php"
_PROTOCOL_KEYS = ("wstoken", "wsfunction", "moodlewsrestformat")


class MoodleServer:
    """The emulated site: one database connection, one registry, PHP's input limit."""

    def __init__(self, conn: sqlite3.Connection, registry: dict[str, WsFunction], max_input_vars: int,
                 schema: Schema) -> None:
        self.conn = conn
        self.registry = registry
        self.max_input_vars = max_input_vars
        self.schema = schema
        self._lock = threading.Lock()

    def handle(self, params: PhpArray, dropped: int = 0, input_vars: int = 0,
               failing_record: RecordFault | None = None) -> Any:
        """One request's PHP variables → the JSON Moodle would answer.

        ``dropped``: variables PHP cut off at ``max_input_vars``. Real PHP only logs a
        warning; the emulator adds it to ``debuginfo`` of a resulting
        ``invalidparameter`` so a developer sees why. ``failing_record`` (fault
        injection) picks the record of a write batch that throws, given the batch size.
        """
        with self._lock:
            started = time.time()
            fname = str(params.get("wsfunction", ""))
            fn = self.registry.get(fname)
            args: dict[str, Any] = {}
            result: Any = None
            ok = False
            try:
                result = self._run(params, fname, args, input_vars, failing_record)
                ok = True
                return result
            except WsException as exc:
                if dropped and isinstance(exc, InvalidParameter):
                    exc.debuginfo += (f" [PHP dropped {dropped} input variables over max_input_vars="
                                      f"{self.max_input_vars}]")
                return exc.envelope()
            finally:
                self._log(started, fname, fn, args, result, ok)

    def _run(self, params: PhpArray, fname: str, args: dict[str, Any], input_vars: int,
             failing_record: RecordFault | None = None) -> Any:
        userid = self._authenticate(params.get("wstoken"))
        fn = self.registry.get(fname)
        if fn is None:
            raise UnknownFunction(fname)
        given = {k: v for k, v in params.items()
                 if k not in _PROTOCOL_KEYS and not str(k).startswith("moodlewssetting")}
        args.update(validate(fn.params, given))
        capabilities = self._capabilities(userid)
        for capability in fn.capabilities:
            if capability not in capabilities:
                raise NoPermissions(capability)
        if failing_record is not None and fn.is_write:
            _throw_inside_batch(fn, args, failing_record)
        ctx = CallContext(self.conn, userid, int(time.time()), self.schema, self.max_input_vars, capabilities, input_vars)
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            raw = fn.handler(ctx, args)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return clean_return(fn.returns, raw)

    def _authenticate(self, token: Any) -> int:
        if not isinstance(token, str) or not token:
            raise InvalidToken()
        row = self.conn.execute(
            "SELECT t.userid, t.validuntil, u.deleted, u.suspended FROM mdl_external_tokens t "
            "JOIN mdl_user u ON u.id = t.userid WHERE t.token = ?", (token,)).fetchone()
        if row is None or (row["validuntil"] and row["validuntil"] < time.time()) or row["deleted"] or row["suspended"]:
            raise InvalidToken()
        return int(row["userid"])

    def _capabilities(self, userid: int) -> frozenset[str]:
        return frozenset(r[0] for r in self.conn.execute("SELECT capability FROM mdl_mzi_capabilities WHERE userid = ?", (userid,)))

    def faults(self) -> MoodleFaults:
        with self._lock:
            return load_faults(self.conn)

    def set_faults(self, faults: MoodleFaults) -> None:
        """Faults for every later call, in this process and any other serving the site."""
        with self._lock:
            save_faults(self.conn, faults)

    def next_request(self) -> int:
        with self._lock:
            return next_request(self.conn)

    def count_injected(self, kind: str) -> None:
        with self._lock:
            count_injected(self.conn, kind)

    def _log(self, started: float, fname: str, fn: WsFunction | None, args: dict[str, Any], result: Any, ok: bool) -> None:
        records = fn.record_count(args, result) if fn is not None and ok else 0
        is_write = int(bool(fn and fn.is_write))
        self.conn.execute("INSERT INTO mdl_mzi_api_log (time, wsfunction, is_write, records, ok) VALUES (?, ?, ?, ?, ?)",
                          (started, fname, is_write, records, int(ok)))


RecordFault = Callable[[int], "int | None"]


class DmlWriteException(WsException):
    """What Moodle throws when one record of a batch cannot be written; the call's
    transaction rolls back whole."""

    exception = "dml_write_exception"
    errorcode = "dmlwriteexception"


def _throw_inside_batch(fn: WsFunction, args: dict[str, Any], failing_record: RecordFault) -> None:
    items = args.get(fn.records_param or "")
    index = failing_record(len(items)) if isinstance(items, list) else None
    if index is not None:
        raise DmlWriteException("Error writing to database", f"injected fault: record {index} of {fn.name} threw")


async def _under_faults(server: MoodleServer, faults: MoodleFaults, fn: WsFunction | None,
                        call: Callable[[RecordFault | None], Any]) -> Response:
    """One call under injected faults, decided by (seed, call number) — see faults.py."""
    sequence = server.next_request()
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.hangs(sequence):
        server.count_injected("timeout")
        await asyncio.sleep(faults.hang_seconds)  # the client gives up first (sandbox/transport.py)
    if faults.server_error(sequence):
        server.count_injected("server_error")
        return Response("503 Service Unavailable", status_code=503, media_type="text/plain")
    answer = call(lambda records: faults.failing_record(sequence, records))
    if isinstance(answer, dict) and answer.get("errorcode") == DmlWriteException.errorcode:
        server.count_injected("record_error")
    if fn is not None and fn.is_write and faults.loses_response(sequence):
        server.count_injected("lost_response")
        raise ResponseLost(f"{fn.name} committed; its answer is lost")
    return JSONResponse(answer)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


def create_app(db_path: Path, *, max_input_vars: int = 5000, schema_path: Path | None = None) -> Starlette:
    """The emulator over the database at ``db_path`` (created and seeded if needed)."""
    conn = open_db(db_path, schema_path=schema_path)
    seed_core(conn)
    server = MoodleServer(conn, build_registry(schema_for(schema_path)), max_input_vars, schema_for(schema_path))
    write_delay = write_delay_seconds()  # test-only, 0 unless the environment asks (faults.py)

    async def rest(request: Request) -> Response:
        query = decode_php_form(request.url.query, max_input_vars)
        params: PhpArray = dict(query.values)
        dropped, used = query.dropped, count_leaves(query.values)
        if request.method == "POST" and _is_form(request):
            body = decode_php_form((await request.body()).decode("utf-8", errors="replace"), max_input_vars)
            params.update(body.values)  # array_merge($_GET, $_POST): POST wins
            dropped, used = dropped + body.dropped, used + count_leaves(body.values)
        fn = server.registry.get(str(params.get("wsfunction", "")))
        if write_delay and fn is not None and fn.is_write:
            await asyncio.sleep(write_delay)
        faults = server.faults()
        if faults.active:
            return await _under_faults(server, faults, fn, lambda failing: server.handle(params, dropped, used, failing))
        return JSONResponse(server.handle(params, dropped, used))

    app = Starlette(routes=[Route(ENDPOINT, rest, methods=["GET", "POST"])])
    app.state.moodle = server
    app.state.db = conn
    return app
