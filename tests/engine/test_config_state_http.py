"""Configuration errors, the apply lock, the run log, and the HTTP retry policy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reconciler.config import load_config
from reconciler.errors import BackendUnreachable, ConfigError, LockHeld, TransientError
from reconciler.http import RetryingClient, RetryPolicy
from reconciler.model import Action, Address, Result
from reconciler.state import StateStore


def test_malformed_config_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text('[moodle]\nmax_input_vars = "lots"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "moodle.max_input_vars" in str(caught.value)


def test_unknown_config_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text("[zoho]\ndatacenter = \"eu\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="zoho.datacenter"):
        load_config(path)


def test_live_moodle_without_token_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text('allow_mixed_backends = true\n[moodle]\nbackend = "live"\nurl = "https://moodle.example"\n', encoding="utf-8")
    monkeypatch.delenv("MZI_MOODLE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="MZI_MOODLE_TOKEN"):
        load_config(path).moodle.token()


def test_relative_state_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "mzi.toml"
    path.parent.mkdir()
    path.write_text('state_dir = "st"\n', encoding="utf-8")
    assert load_config(path).state_dir == tmp_path / "conf" / "st"


def test_second_apply_lock_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    a, b = StateStore(tmp_path / "s.sqlite"), StateStore(tmp_path / "s.sqlite")
    with a.lock():
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
            with b.lock():
                pass
    with b.lock():  # released after the first holder finished
        pass


def test_lock_held_by_a_killed_process_is_released_by_the_kernel(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from reconciler.state import StateStore\n"
            "s = StateStore(Path(sys.argv[1]))\n"
            "with s.lock():\n    print('held', flush=True); time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "s.sqlite")], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        store = StateStore(tmp_path / "s.sqlite")
        with pytest.raises(LockHeld, match=f"pid {child.pid}"):
            with store.lock():
                pass
        child.kill()  # SIGKILL: no finally runs in the child
        child.wait(timeout=10)
        with store.lock():  # the kernel released the flock; the stale row is replaced
            pass
    finally:
        child.kill()


def test_run_log_records_results_atomically(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite")
    results = [Result(Address("student", "1"), Action.CREATE, True, "created")]
    run_id = store.record_run("apply", "t0", [], {"create": 1}, results, True)
    assert store.runs()[0].id == run_id
    assert store.results(run_id) == [{"address": "student.1", "action": "create", "ok": True, "status": "created", "error": ""}]


def _client(handler, **policy) -> tuple[RetryingClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    client = RetryingClient("test", "http://x", RetryPolicy(**policy), transport=httpx.MockTransport(handler), sleep=sleep)
    return client, slept


def test_429_is_retried_honouring_retry_after() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})])
    client, slept = _client(lambda request: next(answers))
    response = asyncio.run(client.request("GET", "/a"))
    assert response.status_code == 200 and slept == [7.0] and client.stats.retries == 1


def test_persistent_5xx_gives_up_with_a_transient_error() -> None:
    client, slept = _client(lambda request: httpx.Response(503), max_retries=3)
    with pytest.raises(TransientError, match="HTTP 503 after 4 attempts"):
        asyncio.run(client.request("GET", "/a"))
    assert len(slept) == 3 and all(0 <= s <= 60 for s in slept)


def test_unreachable_backend_is_reported_clearly() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = _client(refuse, max_retries=2)
    with pytest.raises(BackendUnreachable, match="did not answer after 3 attempts"):
        asyncio.run(client.request("GET", "/a"))
