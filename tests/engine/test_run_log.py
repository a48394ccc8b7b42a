"""The write-ahead run log and the apply lock's release."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from reconciler.errors import StateError
from reconciler.model import Action, Address, Result
from reconciler.state import StateStore


def created(key: str, ok: bool = True) -> Result:
    return Result(Address("student", key), Action.CREATE, ok, "created" if ok else "error", "" if ok else "refused")


def test_a_run_is_logged_running_before_any_write_and_batches_append_as_they_land(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    with store.lock():
        run_id = store.begin_run("apply", "t0", ["student.1"], {"create": 3})
        assert (store.runs()[0].status, store.runs()[0].writes, store.runs()[0].finished) == ("running", 0, "")
        store.record_results(run_id, [created("1"), created("2", ok=False)])
        store.record_results(run_id, [created("3")])
        assert (store.runs()[0].status, store.runs()[0].writes) == ("running", 2)
        store.finish_run(run_id, "failed", {"create": 3, "api": {}})
    run = store.runs()[0]
    assert (run.status, run.ok, run.writes, run.targets, run.summary) == ("failed", False, 2, ["student.1"],
                                                                          {"create": 3, "api": {}})
    assert [r["address"] for r in store.results(run_id)] == ["student.1", "student.2", "student.3"]


def test_a_running_run_is_interrupted_only_once_nobody_holds_the_apply_lock(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    with store.lock():
        run_id = store.begin_run("apply", "t0", [], {})
        store.record_results(run_id, [created("1"), created("2")])
        other = StateStore(tmp_path / "s.sqlite")  # another command, while this apply runs
        assert other.reap_interrupted() == [] and other.runs()[0].status == "running"
    # the apply died without finishing its run (its lock is gone, the row says running)
    assert store.runs()[0].status == "interrupted", "state runs shows a dead run as interrupted"
    reaped = store.reap_interrupted()
    assert [(r.id, r.status, r.writes) for r in reaped] == [(run_id, "interrupted", 2)]
    assert store.reap_interrupted() == [], "the warning is given once"
    assert store.runs()[0].status == "interrupted"


def test_a_store_from_before_the_status_column_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL,
                command TEXT NOT NULL, targets TEXT NOT NULL, summary TEXT NOT NULL, ok INTEGER NOT NULL,
                error TEXT NOT NULL DEFAULT '');
            INSERT INTO runs(started, finished, command, targets, summary, ok, error)
                VALUES ('t0', 't1', 'apply', '[]', '{}', 1, ''), ('t2', 't3', 'apply', '[]', '{}', 0, 'boom');
        """)
    store = StateStore(path)
    assert [(r.id, r.status) for r in store.runs()] == [(2, "failed"), (1, "ok")]
    assert store.reap_interrupted() == []


def test_the_lock_is_released_and_its_file_closed_even_when_clearing_its_record_fails(tmp_path: Path,
                                                                                        monkeypatch) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    handles: list[IO[bytes]] = []
    open_lock = store._lock_file

    def remembered(name: str) -> IO[bytes]:
        handles.append(open_lock(name))
        return handles[-1]

    monkeypatch.setattr(store, "_lock_file", remembered)
    with pytest.raises((StateError, sqlite3.Error)) as raised:
        with store.lock():
            store.close()  # the DELETE of the lock row now raises
    assert handles and handles[0].closed, "the lock file handle leaked"
    code = ("import sys; from pathlib import Path; from reconciler.state import StateStore\n"
            "with StateStore(Path(sys.argv[1])).lock():\n    print('taken')\n")
    taken = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.sqlite")], capture_output=True, text=True,
                           timeout=60)
    assert taken.stdout.strip() == "taken", taken.stderr
    assert isinstance(raised.value, StateError) and "mzi state unlock" in str(raised.value), repr(raised.value)
