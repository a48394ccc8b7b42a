"""The benchmark's latency profile (``benchmarks/emulator.py``): limits held server-side.

The benchmark's figures are only as true as its profile: if the middleware let an 11th
Zoho request through, or made Moodle's 5th fail instead of wait, the measured times would
describe another system. These tests hold both behaviours with a trivial app.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

EMULATOR = Path(__file__).resolve().parents[2] / "benchmarks" / "emulator.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_emulator", EMULATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def _ok(request: Request) -> PlainTextResponse:
    await request.body()  # as the Moodle emulator does: the middleware counts what the app read
    return PlainTextResponse("ok")


def _burst(when_full: str, *, limit: int, latency: float, requests: int) -> tuple[list[int], dict[str, float], float]:
    throttle = _module().Throttle(Starlette(routes=[Route("/", _ok)]), latency=latency, limit=limit,
                                  when_full=when_full)

    async def go() -> tuple[list[int], dict[str, float], float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=throttle), base_url="http://e") as client:
            started = time.perf_counter()
            answers = await asyncio.gather(*(client.get("/") for _ in range(requests)))
            elapsed = time.perf_counter() - started
            stats = (await client.get("/__bench/stats")).json()
        return sorted(a.status_code for a in answers), stats, elapsed

    return asyncio.run(go())


def test_requests_beyond_the_limit_get_429_at_once_in_reject_mode() -> None:
    statuses, stats, _ = _burst("reject", limit=2, latency=0.2, requests=3)
    assert statuses == [200, 200, 429], statuses
    assert (stats["rejected"], stats["max_in_flight"], stats["requests"]) == (1, 2, 3), stats


def test_requests_beyond_the_limit_wait_their_turn_in_wait_mode() -> None:
    statuses, stats, elapsed = _burst("wait", limit=1, latency=0.1, requests=3)
    assert statuses == [200, 200, 200], statuses
    assert (stats["rejected"], stats["max_in_flight"]) == (0, 1), stats
    assert elapsed >= 0.3, f"3 requests of 0.1 s one at a time took only {elapsed:.3f} s"


def test_form_variables_are_summed_per_web_service_function() -> None:
    throttle = _module().Throttle(Starlette(routes=[Route("/", _ok, methods=["POST"])]), latency=0, limit=4,
                                  when_full="wait", count_form_vars=True)
    form = "wstoken=t&wsfunction=local_mzi_upsert_students&count=2&records[0][a]=1&records[0][b]=2&records[1][a]=3"

    async def go() -> dict[str, int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=throttle), base_url="http://e") as client:
            for _ in range(2):
                await client.post("/", content=form.encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
            return dict((await client.get("/__bench/stats")).json()["form_vars"])

    assert asyncio.run(go()) == {"local_mzi_upsert_students": 6}
