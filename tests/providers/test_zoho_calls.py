"""Calls per full refresh, measured, against the lower bound Σ⌈N/200⌉ — and Bulk Read's price.

Run with ``-s`` to see the table. The Get Records side is measured (the client's own
count and the transport's request count); the Bulk Read side is Zoho's documented flow
(create job, poll status, download result) priced by Zoho's credit table (50 credits to
create a job), because the sandbox has no Bulk Read.
"""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import httpx
import pytest

from reconciler.http import RetryPolicy
from reconciler.providers.zoho import BULK_READ_NOTE, ZohoProvider, full_refresh_calls
from reconciler.providers.zoho_client import ZohoClient
from reconciler.specs import load_specs
from zoho_fixtures import ACCOUNTS, API_DOMAIN, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeZoho, no_sleep, students

STUDENT = load_specs()["student"]
SIZES = (150, 1_500, 10_000)
#: one Bulk Read job under 200,000 records with one status poll, priced by Zoho's documentation
#: (create job = 50 credits, status poll = 1, download = 1): what BULK_READ_NOTE weighs against
BULK_READ_ONE_POLL_CALLS, BULK_READ_ONE_POLL_CREDITS = 3, 50 + 1 + 1


def measure(transport: httpx.AsyncBaseTransport, base: str, accounts: str, creds: tuple[str, str, str]) -> tuple[int, int, int]:
    client = ZohoClient(base, accounts, *creds, RetryPolicy(), transport=transport, sleep=no_sleep)
    records = asyncio.run(ZohoProvider(client, read_api="list").read(STUDENT))
    return len(records), client.stats.calls, client.stats.http.requests


def measured_cost(n: int) -> tuple[int, int]:
    """(calls, credits) the real client spends on one full read of ``n`` students."""
    client = ZohoClient(API_DOMAIN, ACCOUNTS, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, RetryPolicy(),
                        transport=FakeZoho().load("BTEC_Students", students(n)).transport(), sleep=no_sleep)
    asyncio.run(ZohoProvider(client, read_api="list").read(STUDENT))
    return client.stats.calls, client.credits_used


def note_threshold(pattern: str) -> int:
    """A break-even record count as BULK_READ_NOTE states it (whitespace-insensitive)."""
    found = re.search(pattern, " ".join(BULK_READ_NOTE.split()))
    assert found, f"BULK_READ_NOTE no longer states {pattern!r}: {BULK_READ_NOTE}"
    return int(found.group(1).replace(",", ""))


@pytest.mark.parametrize("n", SIZES)
def test_full_refresh_makes_exactly_the_lower_bound_of_calls(n: int) -> None:
    fake = FakeZoho().load("BTEC_Students", students(n))
    got, calls, requests = measure(fake.transport(), API_DOMAIN, ACCOUNTS, (CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
    assert got == n
    assert calls == full_refresh_calls(n) == math.ceil(n / 200)
    assert requests == calls + 1  # plus one token refresh, which costs no API credit
    print(f"\nN={n:>6}: Get Records {calls:>3} calls / {calls:>3} credits (lower bound {math.ceil(n / 200)}); "
          f"Bulk Read ≥ {BULK_READ_ONE_POLL_CALLS} calls / ≥ {BULK_READ_ONE_POLL_CREDITS} credits")


@pytest.mark.parametrize("n", SIZES)
def test_full_refresh_on_the_emulator_makes_the_same_number_of_calls(n: int, tmp_path: Path) -> None:
    zoho = pytest.importorskip("reconciler.sandbox.zoho")
    app = zoho.create_app(tmp_path / "zoho.sqlite")
    app.state.store.load("BTEC_Students", students(n))
    creds = (zoho.SANDBOX_CLIENT_ID, zoho.SANDBOX_CLIENT_SECRET, zoho.SANDBOX_REFRESH_TOKEN)
    got, calls, _ = measure(httpx.ASGITransport(app=app), "https://zoho.sandbox", "https://zoho.sandbox", creds)
    assert (got, calls) == (n, math.ceil(n / 200))


def test_bulk_read_note_break_even_in_calls_matches_what_the_client_spends() -> None:
    """BULK_READ_NOTE says Bulk Read takes fewer calls only past N: at N the client's full read
    must cost no more calls than one Bulk Read job, a page later it must cost more."""
    n = note_threshold(r"fewer \*calls\* once N > ([\d,]+)")
    at, past = measured_cost(n)[0], measured_cost(n + 200)[0]
    assert (at <= BULK_READ_ONE_POLL_CALLS, past > BULK_READ_ONE_POLL_CALLS) == (True, True), \
        f"the note's break-even N={n}: Get Records spends {at} calls there and {past} at N+200; Bulk Read {BULK_READ_ONE_POLL_CALLS}"


def test_bulk_read_note_break_even_in_credits_matches_what_the_client_spends() -> None:
    """BULK_READ_NOTE says Bulk Read costs fewer credits only past N (≈ 10,400): at N the client's
    full read must cost no more credits than one Bulk Read job, a page later it must cost more."""
    n = note_threshold(r"i\.e\. N > ([\d,]+) records")
    at, past = measured_cost(n)[1], measured_cost(n + 200)[1]
    assert (at <= BULK_READ_ONE_POLL_CREDITS, past > BULK_READ_ONE_POLL_CREDITS) == (True, True), \
        f"the note's break-even N={n}: Get Records spends {at} credits there and {past} at N+200; " \
        f"Bulk Read {BULK_READ_ONE_POLL_CREDITS}"


def test_demo_school_full_refresh_meets_the_lower_bound(tmp_path: Path) -> None:
    """Every shipped Zoho-source kind of the 150-student demo school, through the emulator."""
    sandbox = pytest.importorskip("reconciler.sandbox")
    box = sandbox.Sandbox(tmp_path / "sandbox", students=150)
    box.ensure()
    counts = box.zoho_app().state.store.modules_with_records()
    client = ZohoClient(box.zoho_base_url, box.zoho_accounts_url, *box.zoho_credentials, RetryPolicy(),
                        transport=box.zoho_transport(), sleep=no_sleep)
    provider = ZohoProvider(client, read_api="list")
    kinds = [spec for spec in load_specs().values() if spec.source.system == "zoho"]

    async def read_all() -> dict[str, int]:
        return {spec.kind: len(await provider.read(spec)) for spec in kinds}

    got = asyncio.run(read_all())
    bound = sum(full_refresh_calls(counts.get(spec.zoho_module, 0)) for spec in kinds)
    # a field read through a lookup (a grading form's unit criteria) costs one ids read of
    # the related module per page of the kind's own list (≤ 100 related records a page here)
    bound += sum(full_refresh_calls(counts.get(spec.zoho_module, 0)) * len(spec.related) for spec in kinds)
    print(f"\ndemo school (150 students): {got} → {client.stats.calls} calls, lower bound {bound}")
    assert client.stats.calls == bound
    rows = {spec.kind: sum(len(r.get(spec.subform) or []) for r in box.zoho_app().state.store.all_records(spec.zoho_module))
            for spec in kinds if spec.subform}
    assert all(got[spec.kind] == rows.get(spec.kind, counts[spec.zoho_module]) for spec in kinds), (got, counts)
