"""Calls per full refresh, measured, against the lower bound Σ⌈N/200⌉ — and Bulk Read's price.

Run with ``-s`` to see the table. The Get Records side is measured (the client's own
count and the transport's request count); the Bulk Read side is Zoho's documented flow
(create job, poll status, download result) priced by Zoho's credit table (50 credits to
create a job), because the sandbox has no Bulk Read.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import pytest

from reconciler.http import RetryPolicy
from reconciler.providers.zoho import ZohoProvider, full_refresh_calls
from reconciler.providers.zoho_client import ZohoClient
from reconciler.specs import load_specs
from zoho_fixtures import ACCOUNTS, API_DOMAIN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeZoho, no_sleep, students

STUDENT = load_specs()["student"]
SIZES = (150, 1_500, 10_000)
BULK_READ_CREATE_CREDITS = 50


def bulk_read_cost(records: int, polls: int = 1) -> tuple[int, int]:
    """(calls, credits) of one Bulk Read job: create + polls + one download per 200,000 records."""
    downloads = max(1, math.ceil(records / 200_000))
    return 1 + polls + downloads, BULK_READ_CREATE_CREDITS + polls + downloads


def measure(transport: httpx.AsyncBaseTransport, base: str, accounts: str, creds: tuple[str, str, str]) -> tuple[int, int, int]:
    client = ZohoClient(base, accounts, *creds, RetryPolicy(), transport=transport, sleep=no_sleep)
    records = asyncio.run(ZohoProvider(client).read(STUDENT))
    return len(records), client.stats.calls, client.stats.http.requests


@pytest.mark.parametrize("n", SIZES)
def test_full_refresh_makes_exactly_the_lower_bound_of_calls(n: int) -> None:
    fake = FakeZoho().load("BTEC_Students", students(n))
    got, calls, requests = measure(fake.transport(), API_DOMAIN, ACCOUNTS, (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
    assert got == n
    assert calls == full_refresh_calls(n) == math.ceil(n / 200)
    assert requests == calls + 1  # plus one token refresh, which costs no API credit
    bulk_calls, bulk_credits = bulk_read_cost(n)
    print(f"\nN={n:>6}: Get Records {calls:>3} calls / {calls:>3} credits (lower bound {math.ceil(n / 200)}); "
          f"Bulk Read ≥ {bulk_calls} calls / ≥ {bulk_credits} credits")


@pytest.mark.parametrize("n", SIZES)
def test_full_refresh_on_the_emulator_makes_the_same_number_of_calls(n: int, tmp_path: Path) -> None:
    zoho = pytest.importorskip("reconciler.sandbox.zoho")
    app = zoho.create_app(tmp_path / "zoho.sqlite")
    app.state.store.load("BTEC_Students", students(n))
    creds = (zoho.SANDBOX_CLIENT_ID, zoho.SANDBOX_CLIENT_SECRET, zoho.SANDBOX_REFRESH_TOKEN)
    got, calls, _ = measure(httpx.ASGITransport(app=app), "https://zoho.sandbox", "https://zoho.sandbox", creds)
    assert (got, calls) == (n, math.ceil(n / 200))


def test_bulk_read_is_cheaper_in_credits_only_past_about_10400_records() -> None:
    """Where Bulk Read starts to pay, per module, with one status poll."""
    credits_cheaper = next(n for n in range(200, 100_000, 200) if bulk_read_cost(n)[1] < full_refresh_calls(n))
    calls_cheaper = next(n for n in range(200, 100_000, 200) if bulk_read_cost(n)[0] < full_refresh_calls(n))
    assert calls_cheaper == 800        # ⌈800/200⌉ = 4 calls > 3
    assert credits_cheaper == 10_600   # ⌈10,600/200⌉ = 53 > 52 (10,400 → 52 = 52, a tie)


def test_demo_school_full_refresh_meets_the_lower_bound(tmp_path: Path) -> None:
    """Every shipped Zoho-source kind of the 150-student demo school, through the emulator."""
    sandbox = pytest.importorskip("reconciler.sandbox")
    box = sandbox.Sandbox(tmp_path / "sandbox", students=150)
    box.ensure()
    counts = box.zoho_app().state.store.modules_with_records()
    client = ZohoClient(box.zoho_base_url, box.zoho_accounts_url, *box.zoho_credentials, RetryPolicy(),
                        transport=box.zoho_transport(), sleep=no_sleep)
    provider = ZohoProvider(client)
    kinds = [spec for spec in load_specs().values() if spec.source.system == "zoho"]

    async def read_all() -> dict[str, int]:
        return {spec.kind: len(await provider.read(spec)) for spec in kinds}

    got = asyncio.run(read_all())
    bound = sum(full_refresh_calls(counts.get(spec.zoho_module, 0)) for spec in kinds)
    print(f"\ndemo school (150 students): {got} → {client.stats.calls} calls, lower bound {bound}")
    assert client.stats.calls == bound
    assert all(got[spec.kind] == counts[spec.zoho_module] for spec in kinds)
