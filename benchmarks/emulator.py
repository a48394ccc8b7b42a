"""One sandbox emulator served on a loopback port, behind a latency profile.

``bench.py`` starts one of these per system as a subprocess, so mzi talks to Zoho and
Moodle over real sockets and the emulators' CPU is their own process's, not mzi's:

    python benchmarks/emulator.py zoho   SANDBOX_DIR PORT --latency-ms 150 --limit 10 --when-full reject
    python benchmarks/emulator.py moodle SANDBOX_DIR PORT --latency-ms 100 --limit 4  --when-full wait

The latency profile is an ASGI middleware around the unchanged emulator app
(:class:`Throttle`): every request holds one of ``limit`` slots for ``latency`` seconds
plus its own handling time. What happens to a request beyond the limit is the system's
own behaviour:

* Zoho refuses it at once with ``429 TOO_MANY_REQUESTS`` (its concurrency limit; the
  client backs off and retries, which costs wall time, not credits);
* Moodle makes it wait: a PHP-FPM pool of ``limit`` workers queues the rest.

``GET /__bench/stats`` (answered by the middleware, never logged by the emulator) gives
the requests seen, the ones refused, the most in flight at once and the time slots were
held, so the benchmark can show that the profile was respected. With ``count_form_vars``
(Moodle) it also sums, per ``wsfunction``, the array form variables the requests carried
(``records[0][city]=…``): what ``max_input_vars`` rations, so the benchmark's lower bound
of write calls is ⌈variables sent / budget⌉, not a guess of each record's size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATS_PATH = "/__bench/stats"
WhenFull = Literal["wait", "reject"]


@dataclass
class ThrottleStats:
    """What the middleware saw since the server started."""

    requests: int = 0
    rejected: int = 0
    max_in_flight: int = 0
    busy_seconds: float = 0.0
    #: array form variables sent per web-service function (``count_form_vars`` only)
    form_vars: dict[str, int] = field(default_factory=dict)


class Throttle:
    """Latency and a concurrency limit in front of an ASGI app, enforced server-side.

    The slot is given back when the last body chunk is handed to the server, before
    the send completes: a client that reuses its connection at once must not find its
    own finished request still counted (a spurious 429).
    """

    def __init__(self, app: ASGIApp, *, latency: float, limit: int, when_full: WhenFull,
                 count_form_vars: bool = False) -> None:
        if limit < 1:
            raise ValueError("a concurrency limit must be at least 1")
        self.app = app
        self.latency = latency
        self.limit = limit
        self.when_full = when_full
        self.count_form_vars = count_form_vars
        self.stats = ThrottleStats()
        self._in_flight = 0
        self._free = asyncio.Condition()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == STATS_PATH:
            await _send_json(send, 200, asdict(self.stats))
            return
        self.stats.requests += 1
        if not await self._acquire():
            self.stats.rejected += 1
            await _send_json(send, 429, {"code": "TOO_MANY_REQUESTS", "status": "error", "details": {},
                                         "message": f"concurrency limit of {self.limit} exceeded"})
            return
        started = time.perf_counter()
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.stats.busy_seconds += time.perf_counter() - started
                await self._release()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await release()
            await send(message)

        body: list[bytes] = []

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            await self.app(scope, receiving if self.count_form_vars else receive, sending)
        finally:
            await release()
            if self.count_form_vars:
                self._count(scope.get("query_string", b"") + b"&" + b"".join(body))

    def _count(self, form: bytes) -> None:
        """Tally the array variables of one form-encoded request under its wsfunction."""
        function, arrays = "?", 0
        for pair in form.split(b"&"):
            name, _, value = pair.partition(b"=")
            if name == b"wsfunction":
                function = unquote_plus(value.decode("ascii", errors="replace"))
            elif b"[" in name or b"%5B" in name.upper():
                arrays += 1
        self.stats.form_vars[function] = self.stats.form_vars.get(function, 0) + arrays

    async def _acquire(self) -> bool:
        async with self._free:
            if self._in_flight >= self.limit:
                if self.when_full == "reject":
                    return False
                await self._free.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            return True

    async def _release(self) -> None:
        async with self._free:
            self._in_flight -= 1
            self._free.notify()


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


def build_app(system: str, directory: Path, *, latency: float, limit: int, when_full: WhenFull,
              max_input_vars: int = 5000) -> Throttle:
    """The emulator of ``system`` over the sandbox files in ``directory``, throttled."""
    if system == "zoho":
        from reconciler.sandbox.demo import ZOHO_DB
        from reconciler.sandbox.zoho.app import create_app as create_zoho

        app: ASGIApp = create_zoho(directory / ZOHO_DB)
    elif system == "moodle":
        from reconciler.sandbox.demo import MOODLE_DB
        from reconciler.sandbox.moodle.app import create_app as create_moodle

        app = create_moodle(directory / MOODLE_DB, max_input_vars=max_input_vars)
    else:
        raise ValueError(f"unknown system {system!r}: zoho or moodle")
    return Throttle(app, latency=latency, limit=limit, when_full=when_full, count_form_vars=system == "moodle")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=("zoho", "moodle"))
    parser.add_argument("directory", type=Path, help="sandbox directory (zoho.sqlite, moodle.sqlite)")
    parser.add_argument("port", type=int)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--limit", type=int, default=1000, help="requests in flight at once")
    parser.add_argument("--when-full", choices=("wait", "reject"), default="wait")
    args = parser.parse_args()
    app = build_app(args.system, args.directory, latency=args.latency_ms / 1000, limit=args.limit,
                    when_full=args.when_full)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", access_log=False)


if __name__ == "__main__":
    main()
