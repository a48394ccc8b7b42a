"""``kill -9`` at any point — of ``mzi apply`` or of the ``mzi serve`` worker mid-reconcile —
loses nothing: the run log shows the interrupted run with the writes that landed, no lock
stays held, and the next command converges without losing or duplicating a record.

The processes are real ``mzi`` subprocesses over the embedded sandbox (as in
tests/integration/test_interrupted_apply.py), slowed by the Moodle emulator's write delay
so a kill lands anywhere: reads, a batch in flight, the run log's commit. Kill times are
drawn from the printed seed (``MZI_RELIABILITY_SEED``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.model import Address
from reconciler.sandbox.moodle.faults import WRITE_DELAY_ENV
from reconciler.signatures import sign
from reconciler.specs import load_specs
from reconciler.state import StateStore

from fault_school import School, checked, converged, lost, rightly_gone
from reliability_figures import CRASH_POINTS, SEED, add

#: each write call waits this long in the emulator: an apply lasts a few seconds
WRITE_DELAY_MS = 40
SERVE_POINTS = max(1, CRASH_POINTS // 5)
DEADLINE = 120.0
SECRET = "crash-test-webhook-secret"


#: how long a whole apply of the crash school takes in a child process (measured once)
DURATION: list[float] = []


def kill_points(count: int, salt: str) -> list[float]:
    """Where to kill, as fractions of a whole run (0: at start, 1: about when it ends)."""
    rng = random.Random(f"{SEED}:{salt}")
    return [round(rng.uniform(0.02, 1.05), 3) for _ in range(count)]


@pytest.fixture(scope="module")
def schools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[School, dict[str, set[str]], dict[str, Counter[str]]]]:
    """A fresh school (nothing applied: the apply writes hundreds of records) and what a
    fault-free apply of it leaves, the reference of the loss check."""
    root = tmp_path_factory.mktemp("crash")
    fresh = School.create(root / "fresh", students=21, seed=4, input_vars=400)
    assert fresh.run("plan").exit_code == 0
    reference = fresh.copy_to(root / "reference")
    started = time.monotonic()
    child = _start(reference, "apply", "--auto-approve")
    assert child.wait(timeout=DEADLINE) == 0, (reference.root / "child.err").read_text()[-3000:]
    DURATION.append(time.monotonic() - started)
    yield fresh, reference.mirrored(), reference.zoho_keys()


def _moodle_writes(school: School) -> tuple[int, int]:
    """(records the Moodle emulator accepted in write calls, the largest such call)."""
    with school.moodle() as conn:
        total, largest = conn.execute("SELECT COALESCE(SUM(records), 0), COALESCE(MAX(records), 0) FROM mdl_mzi_api_log "
                                      "WHERE is_write = 1 AND ok = 1").fetchone()
    return int(total), int(largest)


def _runs(school: School) -> list[dict[str, object]]:
    shown = school.run("state", "runs", "--json")
    assert shown.exit_code == 0, shown.output
    return [r for r in json.loads(shown.stdout) if r["command"] == "apply"]


def _moodle_results(school: School, run_id: object) -> int:
    """Writes the run log records for run ``run_id`` on Moodle-bound kinds."""
    moodle_kinds = {k for k, spec in load_specs().items() if spec.target.system == "moodle"}
    with sqlite3.connect(school.root / "state" / "mzi.sqlite") as db:
        rows = db.execute("SELECT address FROM run_results WHERE run_id = ? AND ok = 1", (run_id,)).fetchall()
    return sum(1 for (address,) in rows if Address.parse(address).kind in moodle_kinds)


def _converges(school: School, reference: dict[str, set[str]], reference_zoho: dict[str, Counter[str]]) -> dict[str, int]:
    """The next apply runs (no lock left held), the plan after it is empty, nothing lost or
    duplicated; the figures of the check."""
    again = school.run("apply", "--auto-approve")
    assert again.exit_code == 0, f"the apply after the kill failed:\n{again.output[-3000:]}"
    converged(school, "after the kill")
    duplicated = school.duplicates()
    missing = lost(reference, school.mirrored(), school.zoho_live(), reference_zoho, school.zoho_keys(),
                   rightly_gone(school))
    assert not duplicated, f"held more than once after the kill: {duplicated}"
    assert not missing, f"lost after the kill: {missing}"
    return {"records_checked": checked(reference, reference_zoho), "lost": 0, "duplicated": 0}


def _start(school: School, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``mzi`` in a child process; output to files (a full pipe would block the child)."""
    with open(school.root / "child.out", "a") as out, open(school.root / "child.err", "a") as err:
        return subprocess.Popen([sys.executable, "-m", "reconciler.cli", "-c", str(school.config), *args],
                                stdout=out, stderr=err, text=True, cwd=school.root,
                                env=os.environ | {WRITE_DELAY_ENV: str(WRITE_DELAY_MS), **(env or {})})


def _kill(child: subprocess.Popen[str]) -> bool:
    """SIGKILL; whether the child was still running (the kill landed mid-run)."""
    running = child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return running


@pytest.mark.parametrize("point", kill_points(CRASH_POINTS, "apply"))
def test_an_apply_killed_at_any_point_is_logged_interrupted_and_the_next_apply_converges(
        schools: tuple[School, dict[str, set[str]], dict[str, Counter[str]]], tmp_path: Path, point: float) -> None:
    fresh, reference, reference_zoho = schools
    school = fresh.copy_to(tmp_path / "school")
    after = point * DURATION[0]
    child = _start(school, "apply", "--auto-approve")
    time.sleep(after)
    mid_run = _kill(child)
    stored, largest = _moodle_writes(school)
    runs = _runs(school)
    if runs:
        [run] = runs
        logged = _moodle_results(school, run["id"])
        assert run["status"] == ("interrupted" if mid_run and run["status"] != "ok" else run["status"]), run
        assert mid_run or run["status"] == "ok", f"the apply ended by itself but is logged {run['status']}"
        assert logged <= stored <= logged + largest, (
            f"killed after {after}s: the run log has {logged} Moodle writes, Moodle stored {stored}; at most the "
            f"batch in flight ({largest} records) may be missing from the log")
        if run["status"] == "interrupted":
            shown = school.run("state", "show", str(run["id"]))
            assert shown.exit_code == 0 and f"INTERRUPTED after {run['writes']} writes" in shown.output, shown.output
            warned = school.run("plan")
            assert f"run {run['id']} was interrupted after" in warned.output, warned.output[-2000:]
    else:
        assert stored == 0, f"Moodle stored {stored} records of an apply that never logged a run"
    figures = _converges(school, reference, reference_zoho)
    add("crash_apply", points=1, killed_mid_run=int(mid_run), interrupted_runs=int(bool(runs) and runs[0]["status"] == "interrupted"),
        writes_before_kill=stored, **figures)


# ---------------------------------------------------------------------- mzi serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _edit_students(school: School, count: int) -> list[str]:
    """Edit ``count`` students in Zoho, as the office would; their ids."""
    with school.zoho() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT ?",
                                          (count,))]
    box = school.sandbox
    for n, record_id in enumerate(ids):
        box.edit(f"student.{record_id}", {"City": f"Crash-{n}"})
    box._close_apps()
    return ids


def _post_webhooks(port: int, ids: list[str], server: subprocess.Popen[str], school: School) -> Counter[int]:
    """Zoho's workflow webhooks for ``ids``, signed, to the running ``mzi serve``; its answers by status."""
    base = f"http://127.0.0.1:{port}"
    _wait(lambda: _answers(f"{base}/healthz"), "mzi serve listening", server, school)
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=base, timeout=30) as client:
        for n, record_id in enumerate(ids):
            body = json.dumps({"event_id": f"crash-{n}", "event_type": "updated", "module": "BTEC_Students",
                               "record_id": record_id}).encode()
            answer = client.post("/webhooks/zoho", content=body,
                                 headers={"X-Zoho-Signature": sign(SECRET, body), "Content-Type": "application/json"})
            statuses[answer.status_code] += 1
    return statuses


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _serve(school: School, port: int, *, slow: bool) -> subprocess.Popen[str]:
    env = {"MZI_WEBHOOK_SECRET": SECRET}
    if not slow:
        env[WRITE_DELAY_ENV] = "0"
    return _start(school, "serve", "--port", str(port), "--workers", "1", env=env)


def _work(school: School) -> Counter[str]:
    with sqlite3.connect(school.root / "state" / "mzi.sqlite") as db:
        return Counter(dict(db.execute("SELECT status, COUNT(*) FROM work GROUP BY status").fetchall()))


def _wait(check: object, what: str, child: subprocess.Popen[str], school: School) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if child.poll() is not None:
            raise AssertionError(f"mzi serve stopped before {what}: {(school.root / 'child.err').read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {DEADLINE}s")


@pytest.mark.parametrize("after", [round(random.Random(f"{SEED}:serve:{n}").uniform(0.0, 1.0), 3)
                                   for n in range(SERVE_POINTS)])
def test_the_serve_worker_killed_mid_reconcile_leaves_no_lock_and_a_restart_finishes_the_queue(
        schools: tuple[School, dict[str, set[str]], dict[str, Counter[str]]], tmp_path: Path, after: float) -> None:
    fresh, reference, reference_zoho = schools
    school = fresh.copy_to(tmp_path / "school")
    assert school.run("apply", "--auto-approve").exit_code == 0
    school.config.write_text(school.config.read_text(encoding="utf-8")
                             + "[serve]\ndebounce_seconds = 0\nbatch_size = 2\nreclaim_after_seconds = 1\n", encoding="utf-8")
    ids = _edit_students(school, 6)
    port = _free_port()
    server = _serve(school, port, slow=True)
    try:
        statuses = _post_webhooks(port, ids, server, school)
        assert set(statuses) <= {200, 202}, f"mzi serve answered {dict(statuses)}"
        _wait(lambda: _work(school)["running"] > 0, "a reconcile in progress", server, school)
        time.sleep(after)
        _kill(server)
    finally:
        server.kill()
    left = _work(school)
    runs = [r for r in _runs(school) if r.get("targets")]
    interrupted = [r for r in runs if r["status"] == "interrupted"]
    assert not [r for r in runs if r["status"] == "running"], f"a run of the killed worker still shows running: {runs[:3]}"
    for run in interrupted:
        shown = school.run("state", "show", str(run["id"]))
        assert f"INTERRUPTED after {run['writes']} writes" in shown.output, shown.output[-2000:]

    restarted = _serve(school, _free_port(), slow=False)
    try:
        _wait(lambda: not (_work(school).keys() & {"pending", "running", "failed"}), "an empty queue", restarted, school)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=60)
    assert _work(school)["dead"] == 0, _work(school)
    store = StateStore(school.root / "state" / "mzi.sqlite")
    try:
        assert store.lock_free(), "the apply lock is still held"
    finally:
        store.close()
    figures = _converges(school, reference, reference_zoho)
    add("crash_serve", points=1, running_at_kill=left["running"], interrupted_runs=len(interrupted),
        webhooks_answered=dict(statuses), serve_5xx=sum(n for code, n in statuses.items() if code >= 500), **figures)
