"""A full refresh under faults still returns exactly the source's records.

429 storms (with Retry-After) and a 10% rate of 5xx during a full refresh past the
page_token boundary: the provider must come back with the same set of ids the source
holds — no page lost, none doubled — using a no-op sleep. Run against the in-memory fake
and, when present, the sandbox emulator with its own fault injection.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.http import RetryPolicy
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from reconciler.specs import Spec, load_specs
from zoho_fixtures import ACCOUNTS, API_DOMAIN, BASE_ID, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeZoho, Sleeps, students

STUDENT: Spec = load_specs()["student"]
N = 2_345  # crosses the 2,000-record page limit, so page_token is under fire too


def source_ids(n: int) -> set[str]:
    return {str(BASE_ID + i) for i in range(1, n + 1)}


def refresh(transport: httpx.AsyncBaseTransport, credentials: tuple[str, str, str], sleeps: Sleeps,
            base: str = API_DOMAIN) -> tuple[set[str], ZohoClient]:
    client = ZohoClient(base, base if base != API_DOMAIN else ACCOUNTS, *credentials, RetryPolicy(max_retries=5),
                        transport=transport, sleep=sleeps)
    records = asyncio.run(ZohoProvider(client, read_api="list").read(STUDENT))
    return set(records), client


# ---------------------------------------------------------------------- the fake

class Storms(FakeZoho):
    """Every ``every``-th API request starts a storm of ``length`` 429s (Retry-After: 4)."""

    every: int = 7
    length: int = 4

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/crm/"):
            self._seen = getattr(self, "_seen", 0) + 1
            if self._seen % self.every == 0:
                self.storm_429 = self.length
        return super().handle(request)


def test_429_storms_during_full_refresh_lose_nothing() -> None:
    fake = Storms(retry_after="4").load("BTEC_Students", students(N))
    sleeps = Sleeps()
    ids, client = refresh(fake.transport(), (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN), sleeps)
    assert ids == source_ids(N)
    assert client.stats.calls == math.ceil(N / 200)        # the logical calls: the lower bound
    assert client.stats.http.by_status.get(429, 0) >= 8    # …while the storms really happened
    assert sleeps.calls and set(sleeps.calls) == {4.0}     # every wait is Retry-After's
    assert client.credits_used == math.ceil(N / 200)       # throttled attempts cost nothing


def test_ten_percent_5xx_during_full_refresh_lose_nothing() -> None:
    fake = FakeZoho(error_rate=0.10).load("BTEC_Students", students(N))
    sleeps = Sleeps()
    ids, client = refresh(fake.transport(), (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN), sleeps)
    assert ids == source_ids(N)
    assert client.stats.http.by_status.get(500, 0) >= 1
    assert client.stats.calls == math.ceil(N / 200)
    assert len(sleeps.calls) == client.stats.http.retries  # backoff (no Retry-After on a 500): one sleep per retry


def test_storm_and_errors_together() -> None:
    # storms of 3 leave room for two 5xx within the 6 attempts max_retries=5 allows;
    # more consecutive failures than that is a TransientError by design (next test file)
    fake = Storms(error_rate=0.10).load("BTEC_Students", students(N))
    fake.length = 3
    ids, _ = refresh(fake.transport(), (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN), Sleeps())
    assert ids == source_ids(N)


# ---------------------------------------------------------------------- the emulator

def emulator(tmp_path: Path, **faults: Any) -> tuple[httpx.AsyncBaseTransport, tuple[str, str, str]]:
    zoho = pytest.importorskip("reconciler.sandbox.zoho")
    app = zoho.create_app(tmp_path / "zoho.sqlite", faults=zoho.Faults(**faults))
    app.state.store.load("BTEC_Students", students(N))
    creds = (zoho.SANDBOX_CLIENT_ID, zoho.SANDBOX_CLIENT_SECRET, zoho.SANDBOX_REFRESH_TOKEN)
    return httpx.ASGITransport(app=app), creds


def test_emulator_429_bursts_during_full_refresh_lose_nothing(tmp_path: Path) -> None:
    transport, creds = emulator(tmp_path, burst_every=6, burst_length=5, retry_after=2)
    sleeps = Sleeps()
    ids, client = refresh(transport, creds, sleeps, base="https://zoho.sandbox")
    assert ids == source_ids(N)
    assert client.stats.http.by_status[429] >= 5 * math.ceil(N / 200)  # five of every six requests refused
    assert set(sleeps.calls) == {2.0}


def test_emulator_ten_percent_5xx_during_full_refresh_lose_nothing(tmp_path: Path) -> None:
    transport, creds = emulator(tmp_path, error_rate=0.10, seed=6)  # seed 6: 5xx on requests 1, 6, 8
    ids, client = refresh(transport, creds, Sleeps(), base="https://zoho.sandbox")
    assert ids == source_ids(N)
    assert client.stats.http.by_status.get(500, 0) >= 1
