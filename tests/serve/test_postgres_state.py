"""The state store on PostgreSQL: the run log, the locks and the webhook queue, and two
processes draining one queue without reconciling any address twice.

Needs the PostgreSQL server at 127.0.0.1:5432 (user postgres or root, trust auth); skips
with the reason without it, unless MZI_REQUIRE_SERVICES=1 makes that a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from needs import skip_or_fail
from reconciler.errors import LockHeld
from reconciler.events import parse_zoho
from reconciler.model import Address
from reconciler.queue import EventQueue, QueuePolicy
from reconciler.specs import load_specs
from reconciler.state import OK, StateStore

pytestmark = pytest.mark.services

HOST, PORT = "127.0.0.1", 5432


def _connect(user: str) -> object:
    import psycopg

    return psycopg.connect(host=HOST, port=PORT, user=user, dbname="postgres", connect_timeout=3, autocommit=True)


@pytest.fixture
def state_url() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema (dropped afterwards)."""
    psycopg = pytest.importorskip("psycopg")
    errors, conn, user = [], None, ""
    for user in ("postgres", "root"):
        try:
            conn = _connect(user)
            break
        except psycopg.OperationalError as exc:
            errors.append(f"user {user}: {str(exc).strip()}")
    if conn is None:
        skip_or_fail(f"PostgreSQL not reachable at {HOST}:{PORT}: {'; '.join(errors)}")
    schema = f"mzi_state_{uuid.uuid4().hex[:10]}"
    conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[attr-defined]
    try:
        yield f"postgresql://{user}@{HOST}:{PORT}/postgres?options=-csearch_path%3D{schema}"
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # type: ignore[attr-defined]
        conn.close()  # type: ignore[attr-defined]


def _event(record_id: str, event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "event_type": "updated", "module": "BTEC_Students",
                       "record_id": record_id}).encode()


def test_the_run_log_and_migration_work_on_postgresql_and_migrating_again_changes_nothing(state_url: str) -> None:
    store = StateStore(state_url)
    run = store.begin_run("apply", "2026-11-30T00:00:00+00:00", ["student.1"], {"create": 1})
    store.finish_run(run, OK)
    store.close()
    again = StateStore(state_url)  # the migration runs again on an existing schema
    assert [(r.id, r.status, r.targets) for r in again.runs()] == [(run, OK, ["student.1"])]
    again.close()


def test_postgresql_locks_shared_exclusive_and_per_address(state_url: str) -> None:
    a, b = StateStore(state_url), StateStore(state_url)
    with a.lock(shared=True), b.lock(shared=True):  # two targeted applies side by side
        with pytest.raises(LockHeld, match="reconciling single records"):
            with StateStore(state_url).lock():
                pass
        with a.address_locks([Address("student", "1")]):
            with pytest.raises(LockHeld, match="student.1 is being reconciled"):
                with b.address_locks([Address("student", "1")]):
                    pass
            assert not b.address_free("student.1") and b.address_free("student.2")
    with b.lock():
        pass
    a.close(), b.close()


def test_the_queue_dedupes_coalesces_and_claims_on_postgresql(state_url: str) -> None:
    store = StateStore(state_url)
    queue = EventQueue(store, QueuePolicy(debounce=0))
    specs = load_specs()
    assert queue.accept(parse_zoho(_event("7", "a"), specs))
    assert not queue.accept(parse_zoho(_event("7", "a"), specs))
    assert queue.accept(parse_zoho(_event("7", "b"), specs))
    items = queue.claim("me:1:0", 10)
    assert [(i.target, i.events) for i in items] == [("student.7", 2), ("student_user.7", 2)]
    assert queue.claim("me:1:1", 10) == []
    queue.accept(parse_zoho(_event("7", "c"), specs))  # arrives during the reconcile
    for item in items:
        queue.done(item, "me:1:0", None)
    assert {i.target: i.status for i in queue.items()} == {"student.7": "pending", "student_user.7": "pending"}
    store.close()


DRAIN = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from reconciler import commands
    from reconciler.config import load_config
    from reconciler.queue import EventQueue
    from reconciler.worker import Signals, Worker, policy_of

    config = load_config(Path(sys.argv[1]))

    async def main():
        worker = Worker(config, int(sys.argv[2]), Signals())
        async with commands.workspace(config=config) as ws:
            queue = EventQueue(ws.state, policy_of(config))
            idle = 0
            while idle < 20:
                items = queue.claim(worker.owner, config.serve.batch_size)
                if not items:
                    idle += 1
                    await asyncio.sleep(0.05)
                    continue
                idle = 0
                await worker.reconcile(ws, queue, items)
    asyncio.run(main())
""")


def test_two_processes_drain_one_postgresql_queue_without_reconciling_an_address_twice(state_url: str,
                                                                                       tmp_path: Path) -> None:
    config = tmp_path / "mzi.toml"
    config.write_text(f'state_dir = "state"\nstate_url = "{state_url}"\n[sandbox]\nstudents = 24\n'
                      '[serve]\ndebounce_seconds = 0\nbatch_size = 2\n', encoding="utf-8")
    from click.testing import CliRunner

    from reconciler.cli import main
    first = CliRunner().invoke(main, ["-c", str(config), "apply", "--auto-approve"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    from reconciler.config import load_config
    from reconciler.sandbox import Sandbox
    box = Sandbox.from_config(load_config(config))
    ids = [str(r[0]) for r in box.zoho_store().conn.execute(
        "SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id").fetchall()]
    store = StateStore(state_url)
    queue = EventQueue(store, QueuePolicy(debounce=0))
    specs = load_specs()
    for n, record_id in enumerate(ids):
        queue.accept(parse_zoho(_event(record_id, f"e{n}"), specs))
    before = {r.id for r in store.runs(1000)}
    workers = [subprocess.Popen([sys.executable, "-c", DRAIN, str(config), str(n)], stderr=subprocess.PIPE, text=True)
               for n in range(2)]
    for proc in workers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    runs = [r for r in store.runs(1000) if r.id not in before]
    reconciled = Counter(t for r in runs for t in r.targets)
    expected = {f"{kind}.{i}" for i in ids for kind in ("student", "student_user")}
    assert set(reconciled) == expected and max(reconciled.values()) == 1, reconciled.most_common(3)
    assert all(r.status == OK for r in runs)
    hosts = store.db.execute("SELECT COUNT(DISTINCT pid) FROM runs WHERE id > ?", (max(before),)).fetchone()[0]
    assert hosts == 2, "both processes took part"
    assert queue.stats().depth == 0
    store.close()
