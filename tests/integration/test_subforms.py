"""Subforms read through the Zoho provider from the emulator, as canonical JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reconciler.http import RetryPolicy
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from reconciler.sandbox import Sandbox
from reconciler.specs import load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


def _read(sandbox: Sandbox, spec_name: str) -> dict:
    spec = load_spec(FIXTURES / spec_name)

    async def go() -> dict:
        cid, secret, refresh = sandbox.zoho_credentials
        client = ZohoClient(sandbox.zoho_base_url, sandbox.zoho_accounts_url, cid, secret, refresh, RetryPolicy(),
                            transport=sandbox.zoho_transport())
        provider = ZohoProvider(client)
        try:
            return await provider.read(spec)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_payment_schedule_and_learning_outcomes_arrive_as_canonical_lists(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path / "sandbox", students=20, seed=3)
    sandbox.ensure()
    registrations = _read(sandbox, "registration.toml")
    assert registrations, "the demo school has registrations"
    schedule = next(r.fields["schedule"] for r in registrations.values() if r.fields["schedule"])
    assert [row["Installment_Number"] for row in schedule] == sorted(row["Installment_Number"] for row in schedule)
    assert all("id" not in row and set(row) <= {"Installment_Number", "Due_Date", "Amount", "Status", "Paid_Date"}
               for row in schedule), schedule
    grades = _read(sandbox, "grade.toml")
    outcomes = next(r.fields["learning_outcomes"] for r in grades.values() if r.fields["learning_outcomes"])
    assert {"LO_Code", "LO_Score"} <= set(outcomes[0]) and outcomes[0]["LO_Code"][0] in "PMD", outcomes[0]
