"""An apply killed (SIGKILL) or stopped (Ctrl-C) mid-run leaves an exact trace in the run log.

The apply runs as a real ``mzi`` subprocess against the embedded sandbox, with small
batches (``max_input_vars``), one Moodle call at a time, and the emulator's test-only
write delay, so a run can be stopped between two batches. What the run log says was
written is compared with what the Moodle emulator really stored (its API log).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.sandbox.moodle.faults import WRITE_DELAY_ENV

CONFIG = """
state_dir = "state"
[sandbox]
students = 60
seed = 11
[moodle]
concurrency = 1
max_input_vars = 100
"""
DEADLINE = 90.0


def setup(tmp_path: Path) -> Path:
    config = tmp_path / "mzi.toml"
    config.write_text(CONFIG, encoding="utf-8")
    installed = CliRunner().invoke(main, ["-c", str(config), "plan"], catch_exceptions=False)  # installs the sandbox
    assert installed.exit_code == 0, installed.output
    return config


def start_apply(config: Path, delay_ms: int) -> subprocess.Popen[str]:
    env = os.environ | {WRITE_DELAY_ENV: str(delay_ms)}
    return subprocess.Popen([sys.executable, "-m", "reconciler.cli", "-c", str(config), "apply", "--auto-approve"],
                            # stdout to a file: a plan longer than the pipe's buffer would block the child
                            stdout=(config.parent / "apply.out").open("w"), stderr=subprocess.PIPE, text=True,
                            env=env, cwd=config.parent)


def logged_writes(tmp_path: Path) -> int:
    path = tmp_path / "state" / "mzi.sqlite"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM run_results WHERE ok = 1").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet


def wait_for_writes(tmp_path: Path, child: subprocess.Popen[str], at_least: int) -> int:
    """Block until the run log shows ``at_least`` writes (bounded); then how many."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        seen = logged_writes(tmp_path)
        if seen >= at_least:
            return seen
        assert child.poll() is None, f"the apply ended before writing {at_least}: {child.communicate()}"
        time.sleep(0.02)
    child.kill()
    raise AssertionError(f"no {at_least} writes within {DEADLINE}s")


def moodle_stored(tmp_path: Path) -> int:
    """Records the Moodle emulator accepted in write calls (its own API log)."""
    with sqlite3.connect(tmp_path / "state" / "sandbox" / "moodle.sqlite") as db:
        return int(db.execute("SELECT COALESCE(SUM(records), 0) FROM mdl_mzi_api_log WHERE is_write = 1 AND ok = 1")
                   .fetchone()[0])


def runs_json(config: Path) -> list[dict[str, object]]:
    shown = CliRunner().invoke(main, ["-c", str(config), "state", "runs", "--json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    return [r for r in json.loads(shown.stdout) if r["command"] == "apply"]


def test_an_apply_killed_mid_run_shows_as_interrupted_with_exactly_the_writes_moodle_stored(tmp_path: Path) -> None:
    config = setup(tmp_path)
    child = start_apply(config, delay_ms=300)
    try:
        wait_for_writes(tmp_path, child, at_least=10)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    finally:
        child.kill()
    [run] = runs_json(config)
    stored = moodle_stored(tmp_path)
    planned = sum(int(run["summary"][k]) for k in ("create", "update", "delete"))  # type: ignore[index]
    assert (run["status"], run["writes"]) == ("interrupted", stored), run
    assert 10 <= stored < planned, f"the kill should land mid-run: {stored} of {planned} stored"

    runner = CliRunner()
    first = runner.invoke(main, ["-c", str(config), "plan"], catch_exceptions=False)
    warning = (f"run {run['id']} was interrupted after {stored} writes; "
               "the plan below reads both systems fresh, so it shows what is left")
    assert warning in first.output, first.output
    again = runner.invoke(main, ["-c", str(config), "plan"], catch_exceptions=False)
    assert "was interrupted" not in again.output, "the warning is printed once"


def test_ctrl_c_finishes_the_batch_in_flight_records_the_run_interrupted_and_exits_130(tmp_path: Path) -> None:
    config = setup(tmp_path)
    child = start_apply(config, delay_ms=400)
    try:
        seen = wait_for_writes(tmp_path, child, at_least=1)
        time.sleep(0.1)  # the next batch is now in flight (sleeping in the emulator before it commits)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        out = (config.parent / "apply.out").read_text(encoding="utf-8")
    finally:
        child.kill()
    assert child.returncode == 130, (child.returncode, out[-2000:], err[-2000:])
    [run] = runs_json(config)
    stored = moodle_stored(tmp_path)
    assert (run["status"], run["writes"]) == ("interrupted", stored), run
    assert stored > seen, f"the batch in flight at Ctrl-C should have completed ({seen} before, {stored} after)"
    assert "Stopping after the batches in flight" in err, err
    not_attempted = int(run["summary"]["create"]) + int(run["summary"]["update"]) \
        + int(run["summary"]["delete"]) - stored  # type: ignore[index]
    assert (f"Interrupted: {stored} changes written, {not_attempted} not attempted; run {run['id']} recorded. "
            "Run mzi plan to see what is left.") in out, out[-2000:]
    with sqlite3.connect(tmp_path / "state" / "mzi.sqlite") as db:
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM run_results WHERE run_id = ? GROUP BY status",
                                   (run["id"],)).fetchall())
    assert "error" not in statuses and statuses.get("skipped") == not_attempted, statuses
