"""Apply reports one outcome per batch, and the run log holds each batch as it lands.

A batch that was answered keeps its Results even when another batch of the same kind
failed; a batch that failed fails only its own records; once a backend is found
unavailable, batches not yet started are ``not attempted`` while those in flight finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from fakes import MemoryProvider

from reconciler.batches import Gate
from reconciler.engine import Engine
from reconciler.http import RetryPolicy
from reconciler.mapping import moodle_row
from reconciler.model import Action, Address, Change, Result
from reconciler.providers.moodle import REQUEST_OVERHEAD, MoodleProvider, count_vars
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.specs import Spec, load_specs
from reconciler.state import StateStore

SPECS = load_specs()
SPEC: Spec = SPECS["student"]
URL = "http://moodle.sandbox"
BASE = 5847596000000000000


async def no_sleep(_: float) -> None:
    return None


def student(i: int) -> dict[str, Any]:
    """Desired fields of one student, already normalized (no sensitive values set)."""
    return {name: None for name in SPEC.fields} | {
        "student_id": f"S-{i:05d}", "first_name": f"Layla{i}", "last_name": "Haddad", "display_name": f"Layla{i} Haddad",
        "academic_email": f"layla{i}@abc-horizon.example", "status": "Active", "zoho_created_time": 1767225600,
        "zoho_modified_time": 1769326200 + i,
    }


def key(i: int) -> str:
    return str(BASE + i)


class Faulty(httpx.AsyncBaseTransport):
    """The emulator, except that a write carrying ``fail_key`` is answered by ``failure``
    (after ``delay`` seconds for writes, so batches overlap in flight)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, fail_key: str, failure: Callable[[], httpx.Response],
                 delay: float = 0.0, slow_key: str = "") -> None:
        self.inner, self.fail_key, self.failure, self.delay, self.slow_key = inner, fail_key, failure, delay, slow_key
        self.writes: list[list[str]] = []  # keys of each write that reached the emulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        form = parse_qsl((await request.aread()).decode(), keep_blank_values=True)
        fields = dict(form)
        keys = [v for k, v in form if k.endswith("[zoho_student_id]") or k.startswith("keys[")]
        if not fields.get("wsfunction", "").startswith(("local_mzi_upsert_", "local_mzi_delete_")):
            return await self.inner.handle_async_request(request)
        if self.fail_key in keys:
            return self.failure()
        if self.slow_key in keys:
            await asyncio.sleep(self.delay)
        self.writes.append(keys)
        return await self.inner.handle_async_request(request)


def moodle_refuses() -> httpx.Response:
    return httpx.Response(200, json={"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
                                     "message": "Error writing to database"})


def unavailable() -> httpx.Response:
    return httpx.Response(503, text="Service Unavailable")


def per_batch(records: int) -> int:
    """max_input_vars that fits exactly ``records`` students in one call."""
    return count_vars(moodle_row(SPEC, key(0), student(0))) * records + REQUEST_OVERHEAD


@pytest.fixture
def moodle(tmp_path: Path) -> Any:
    app = create_app(tmp_path / "moodle.sqlite")
    made: list[MoodleProvider] = []

    def make(fail_key: str, failure: Callable[[], httpx.Response], *, concurrency: int, records_per_batch: int,
             delay: float = 0.0, slow_key: str = "") -> tuple[MoodleProvider, Faulty]:
        transport = Faulty(httpx.ASGITransport(app=app), fail_key, failure, delay, slow_key)
        provider = MoodleProvider(URL, SANDBOX_TOKEN, RetryPolicy(concurrency=concurrency, max_retries=2),
                                  transport=transport, sleep=no_sleep, max_input_vars=per_batch(records_per_batch))
        made.append(provider)
        return provider, transport

    yield make
    app.state.db.close()


def creates(n: int) -> list[Change]:
    return [Change(Action.CREATE, Address("student", key(i)), after=student(i)) for i in range(n)]


def summary(results: Sequence[Result]) -> list[tuple[str, bool, str]]:
    return [(r.address.key[-1:], r.ok, r.status) for r in results]


# ------------------------------------------------------------------ engine + run log

def test_one_failed_batch_of_three_fails_only_its_records_and_the_others_are_recorded_ok(moodle, tmp_path: Path) -> None:
    provider, transport = moodle(key(2), moodle_refuses, concurrency=3, records_per_batch=2)
    source = MemoryProvider("zoho", {"student": {key(i): student(i) for i in range(6)}})
    engine = Engine({"student": SPEC}, {"zoho": source, "moodle": provider})
    store = StateStore(tmp_path / "state.sqlite")
    plan = asyncio.run(engine.plan())
    with store.lock():
        run_id = store.begin_run("apply", "t0", [], plan.summary.to_dict())
        results = asyncio.run(engine.apply(plan, on_results=lambda rs: store.record_results(run_id, rs)))
        assert store.runs()[0].writes == 4 and store.runs()[0].status == "running"

    by_key = {r.address.key: r for r in results}
    assert [by_key[key(i)].ok for i in range(6)] == [True, True, False, False, True, True], summary(results)
    assert all("dmlwriteexception" in by_key[key(i)].error for i in (2, 3)), by_key[key(2)]
    recorded = {r["address"]: (r["ok"], r["status"]) for r in store.results(run_id)}
    assert recorded == {f"student.{key(i)}": (i not in (2, 3), "error" if i in (2, 3) else "created") for i in range(6)}
    assert sorted(k for keys in transport.writes for k in keys) == [key(i) for i in (0, 1, 4, 5)]
    store.close()


def test_each_batch_reaches_the_run_log_as_it_lands_not_at_the_end(moodle) -> None:
    provider, _ = moodle("none", moodle_refuses, concurrency=1, records_per_batch=2)
    seen: list[list[str]] = []
    results = asyncio.run(provider.apply(SPEC, creates(5), on_results=lambda rs: seen.append([r.address.key for r in rs])))
    assert seen == [[key(0), key(1)], [key(2), key(3)], [key(4)]]
    assert all(r.ok for r in results)


# ------------------------------------------------------------------ transient failures

def test_after_a_transient_failure_queued_batches_are_not_attempted(moodle) -> None:
    provider, transport = moodle(key(2), unavailable, concurrency=1, records_per_batch=2)
    results = asyncio.run(provider.apply(SPEC, creates(8)))
    assert summary(results) == [("0", True, "created"), ("1", True, "created"), ("2", False, "error"),
                                ("3", False, "error"), ("4", False, "skipped"), ("5", False, "skipped"),
                                ("6", False, "skipped"), ("7", False, "skipped")]
    assert "503" in results[2].error
    assert results[4].error.startswith("not attempted: ") and "503" in results[4].error, results[4]
    assert transport.writes == [[key(0), key(1)]], "nothing after the failed batch may be sent"


def test_a_batch_in_flight_when_another_fails_finishes_and_keeps_its_results(moodle) -> None:
    # batches 0-1 (slow, in flight) and 2-3 (fails at once) start together; 4-5 waits for a slot
    provider, transport = moodle(key(2), unavailable, concurrency=2, records_per_batch=2, delay=0.2, slow_key=key(0))
    results = asyncio.run(provider.apply(SPEC, creates(6)))
    assert summary(results) == [("0", True, "created"), ("1", True, "created"), ("2", False, "error"),
                                ("3", False, "error"), ("4", False, "skipped"), ("5", False, "skipped")]
    assert transport.writes == [[key(0), key(1)]]


def test_engine_skips_later_kinds_once_the_backend_is_unavailable(moodle) -> None:
    provider, _ = moodle(key(0), unavailable, concurrency=1, records_per_batch=2)
    source = MemoryProvider("zoho", {"student": {key(i): student(i) for i in range(3)}})
    engine = Engine({"student": SPEC}, {"zoho": source, "moodle": provider})
    reported: list[Result] = []
    results = asyncio.run(engine.apply(asyncio.run(engine.plan()), on_results=reported.extend))
    assert summary(results) == [("0", False, "error"), ("1", False, "error"), ("2", False, "skipped")]
    assert sorted(map(str, reported)) == sorted(map(str, results)), "every Result is reported exactly once"


# ------------------------------------------------------------------ Ctrl-C

def test_a_closed_gate_lets_the_batch_in_flight_finish_and_starts_no_other(moodle) -> None:
    provider, transport = moodle("none", moodle_refuses, concurrency=1, records_per_batch=2)
    gate = Gate()

    def landed(results: Sequence[Result]) -> None:
        gate.interrupt()  # Ctrl-C while the first batch was in flight

    results = asyncio.run(provider.apply(SPEC, creates(6), on_results=landed, gate=gate))
    assert summary(results)[:2] == [("0", True, "created"), ("1", True, "created")]
    assert all(r.status == "skipped" and r.error == "not attempted: interrupted (Ctrl-C)" for r in results[2:]), results
    assert transport.writes == [[key(0), key(1)]]
