"""`mzi sandbox serve`: both emulators on loopback ports, spoken to over real sockets.

The second test points mzi at the served Moodle as if it were a live site
(``[moodle] backend = "live"``), so the provider's real HTTP path — sockets, timeouts,
form encoding over the wire — is exercised end to end, not only the in-process transport.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox.moodle import SANDBOX_TOKEN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    zoho_port, moodle_port = _free_port(), _free_port()
    config = tmp_path / "mzi.toml"
    config.write_text(f'state_dir = "state"\n[sandbox]\nstudents = 20\nzoho_port = {zoho_port}\n'
                      f'moodle_port = {moodle_port}\n', encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "-c", str(config), "sandbox", "serve"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        _wait_for(zoho_port, deadline)
        _wait_for(moodle_port, deadline)
        yield config, zoho_port, moodle_port
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise


def test_served_emulators_answer_like_zoho_and_moodle(served: tuple[Path, int, int]) -> None:
    _, zoho_port, moodle_port = served
    site = httpx.post(f"http://127.0.0.1:{moodle_port}/webservice/rest/server.php", timeout=10,
                      data={"wstoken": SANDBOX_TOKEN, "wsfunction": "core_webservice_get_site_info",
                            "moodlewsrestformat": "json"}).json()
    assert site["username"] and "functions" in site, site
    bad = httpx.post(f"http://127.0.0.1:{moodle_port}/webservice/rest/server.php", timeout=10,
                     data={"wstoken": "nope", "wsfunction": "core_webservice_get_site_info",
                           "moodlewsrestformat": "json"}).json()
    assert bad["errorcode"] == "invalidtoken", bad
    url = f"http://127.0.0.1:{zoho_port}/crm/v8/BTEC_Students"
    anonymous = httpx.get(url, params={"fields": "Name"}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "AUTHENTICATION_FAILURE", anonymous.text
    stale = httpx.get(url, params={"fields": "Name"}, headers={"Authorization": "Zoho-oauthtoken stale"}, timeout=10)
    assert stale.status_code == 401 and stale.json()["code"] == "INVALID_TOKEN", stale.text


def test_mzi_plans_and_applies_against_moodle_over_real_http(served: tuple[Path, int, int]) -> None:
    config, _, moodle_port = served
    config.write_text("allow_mixed_backends = true\n" + config.read_text() + f'[moodle]\nbackend = "live"\nurl = "http://127.0.0.1:{moodle_port}"\n',
                      encoding="utf-8")
    env = {**os.environ, "MZI_MOODLE_TOKEN": SANDBOX_TOKEN}
    mzi = [sys.executable, "-m", "reconciler.cli", "-c", str(config)]
    apply = subprocess.run([*mzi, "apply", "--auto-approve", "--no-color"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert apply.returncode == 0, apply.stdout[-1500:] + apply.stderr[-1500:]
    again = subprocess.run([*mzi, "plan", "--detailed-exitcode", "--no-color"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and again.stdout.rstrip().endswith("No changes."), again.stdout[-800:] + again.stderr
