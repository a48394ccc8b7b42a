"""The user_link resource against the Moodle emulator: plan-time resolution through the
engine's Resolver hook (batched under max_input_vars), held records, user creation."""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes import MemoryProvider
from reconciler.diff import diff_kind
from reconciler.engine import Engine
from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Record
from reconciler.providers.moodle import REQUEST_OVERHEAD, MoodleProvider
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.specs import Spec, load_specs

SPECS = load_specs()
STUDENT, LINK = SPECS["student"], SPECS["student_user"]


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def db_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "moodle.sqlite"


def _provider(app: Any, **kwargs: Any) -> MoodleProvider:
    return MoodleProvider("http://moodle.sandbox", SANDBOX_TOKEN, RetryPolicy(concurrency=2),
                          transport=httpx.ASGITransport(app=app), sleep=no_sleep, **kwargs)


def _add_users(db: Path, emails: list[str]) -> None:
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO mdl_user (username, email, firstname, lastname, auth) VALUES (?, ?, 'A', 'B', 'manual')",
                         [(f"u{i}", e) for i, e in enumerate(emails)])


def _zoho(n: int) -> dict[str, dict[str, Any]]:
    return {str(5847596000000000000 + i): {"academic_email": f"s{i}@abc-horizon.edu", "firstname": f"S{i}",
                                           "lastname": "Haddad", "student_id": f"S-{i}", "status": "Active"}
            for i in range(n)}


def _calls(db: Path, fn: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM mdl_mzi_api_log WHERE wsfunction = ?", (fn,)).fetchone()[0]


def test_a_held_desired_record_plans_blocked_with_its_reason_whatever_the_target_holds() -> None:
    address = Address("student_user", "1")
    held = Record(address, {"moodle_user_id": None, "academic_email": "n.hani@abc-horizon.edu"}, "n.hani",
                  blocked="no Moodle user has the academic email n.hani@abc-horizon.edu")
    linked = Record(address, {"moodle_user_id": 7})
    for actual in ({}, {"1": linked}):
        changes = diff_kind(LINK, {"1": held}, actual, {"student": {"1"}})
        assert [(c.action, c.reason, c.unreadable) for c in changes] == \
            [(Action.BLOCKED, held.blocked, False)], changes


def test_resolving_1500_students_takes_one_resolve_call_per_batch_of_emails_within_max_input_vars(db_path: Path) -> None:
    app = create_app(db_path)
    try:
        asyncio.run(_scenario_batches(app, db_path))
    finally:
        app.state.db.close()


async def _scenario_batches(app: Any, db_path: Path) -> None:
    zoho = _zoho(1500)
    max_vars = 1000
    provider = _provider(app, max_input_vars=max_vars)
    _add_users(db_path, [r["academic_email"] for r in zoho.values()])
    engine = Engine({"student": STUDENT, "student_user": LINK},
                    {"zoho": MemoryProvider("zoho", {"student_user": zoho, "student": zoho}), "moodle": provider})
    try:
        plan = await engine.plan(kinds=["student_user"])
    finally:
        await provider.aclose()
    per_call = max_vars - REQUEST_OVERHEAD
    assert _calls(db_path, "local_mzi_resolve_users") == math.ceil(1500 / per_call) == 2
    links = [c for c in plan.changes if c.address.kind == "student_user"]
    assert len(links) == 1500 and all(c.action is Action.CREATE and c.after and c.after["moodle_user_id"]
                                      for c in links), links[:3]


def test_the_default_batch_resolves_1500_students_in_one_call(db_path: Path) -> None:
    app = create_app(db_path)

    async def scenario() -> None:
        provider = _provider(app)
        try:
            zoho = _zoho(1500)
            desired = {k: Record(Address("student_user", k), v) for k, v in zoho.items()}
            await provider.resolve(LINK, desired)
        finally:
            await provider.aclose()

    try:
        asyncio.run(scenario())
    finally:
        app.state.db.close()
    assert _calls(db_path, "local_mzi_resolve_users") == 1


def test_a_refused_user_fails_alone_when_core_refuses_its_whole_batch(db_path: Path) -> None:
    """core_user_create_users is all or nothing: a taken username must not fail the others."""
    app = create_app(db_path)

    async def scenario() -> list[Any]:
        provider = _provider(app, create_users=True)
        zoho = _zoho(3)
        engine = Engine({"student": STUDENT, "student_user": LINK},
                        {"zoho": MemoryProvider("zoho", {"student_user": zoho, "student": zoho}), "moodle": provider})
        try:
            await engine.apply(await engine.plan(kinds=["student"]))
            plan = await engine.plan(kinds=["student_user"])
            _add_users(db_path, [])
            with sqlite3.connect(db_path) as conn:  # the username mzi would use is taken by another address
                conn.execute("INSERT INTO mdl_user (username, email, firstname, lastname, auth) "
                             "VALUES ('s1@abc-horizon.edu', 'other@x.edu', 'O', 'T', 'manual')")
            return await engine.apply(plan)
        finally:
            await provider.aclose()

    try:
        results = asyncio.run(scenario())
    finally:
        app.state.db.close()
    outcome = {r.address.key[-1]: (r.ok, r.error) for r in results}
    assert outcome["0"][0] and outcome["2"][0] and not outcome["1"][0], outcome
    assert "s1@abc-horizon.edu" in outcome["1"][1], outcome
