"""Both providers with a subform kind keyed by two columns: the Zoho provider reads the
parent module and explodes its rows; the Moodle provider reads and deletes by ``regid:n``."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Change
from reconciler.providers.moodle import MoodleProvider
from reconciler.providers.zoho import ReadApi, ZohoProvider, zoho_fields
from reconciler.providers.zoho_client import ZohoClient
from reconciler.sandbox import Sandbox
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.specs import Spec, load_specs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "installment"
SPEC: Spec = load_specs(FIXTURES)["installment"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(tmp_path_factory.mktemp("installments") / "sandbox", students=30, seed=5)
    box.ensure()
    return box


def _with_zoho(sandbox: Sandbox, use: Callable[[ZohoProvider], Awaitable[T]], read_api: ReadApi = "coql") -> T:
    async def go() -> T:
        cid, secret, refresh = sandbox.zoho_credentials
        client = ZohoClient(sandbox.zoho_base_url, sandbox.zoho_accounts_url, cid, secret, refresh, RetryPolicy(),
                            transport=sandbox.zoho_transport())
        provider = ZohoProvider(client, read_api=read_api, subform_read_api=read_api)
        try:
            return await use(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def _schedules(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    return {str(r["id"]): r.get("Payment_Schedule") or [] for r in sandbox.zoho_store().all_records("BTEC_Registrations")}


@pytest.mark.parametrize("read_api", ["list", "coql"])
def test_a_full_read_reads_the_parent_module_once_and_gives_every_row(sandbox: Sandbox, read_api: ReadApi) -> None:
    """Listed: the parents with their rows, ⌈N/200⌉ pages. Through COQL: the parents and the
    subform module's rows, ⌈N/2000⌉ + ⌈rows/2000⌉ queries (and the field metadata, once)."""
    schedules = _schedules(sandbox)
    expected = {f"{reg}:{row['Installment_Number']}" for reg, rows in schedules.items() for row in rows}

    async def read(provider: ZohoProvider) -> tuple[set[str], dict[str, int]]:
        records = await provider.read(SPEC)
        return set(records), dict(provider.stats.by_operation)

    keys, calls = _with_zoho(sandbox, read, read_api)
    assert keys == expected, sorted(keys ^ expected)[:5]
    if read_api == "list":
        assert calls == {"list": math.ceil(len(schedules) / 200)}, f"{calls} for {len(schedules)} registrations"
    else:
        rows = sum(len(r) for r in schedules.values())
        assert calls == {"fields_metadata": 1, "coql": math.ceil(len(schedules) / 2000) + math.ceil(rows / 2000)}, calls
    assert zoho_fields(SPEC) == ["Payment_Schedule"]


def test_a_targeted_read_fetches_the_parent_by_id_and_returns_only_the_rows_asked_for(sandbox: Sandbox) -> None:
    reg = next(k for k, rows in sorted(_schedules(sandbox).items()) if len(rows) == 4)

    async def read(provider: ZohoProvider) -> tuple[list[str], int]:
        records = await provider.read(SPEC, {f"{reg}:2", f"{reg}:4", f"{reg}:9"})
        return sorted(records), provider.stats.calls

    keys, calls = _with_zoho(sandbox, read)
    assert keys == [f"{reg}:2", f"{reg}:4"] and calls == 1, (keys, calls)


def test_read_changes_names_the_parents_read_and_deleted_so_their_rows_are_in_scope(sandbox: Sandbox) -> None:
    regs = sorted(_schedules(sandbox))

    async def changes(provider: ZohoProvider) -> tuple[dict[str, Any], set[str]]:
        return await provider.read_changes(SPEC)

    rows, parents = _with_zoho(sandbox, changes)
    assert set(regs) <= parents, "without a watermark every registration is read"
    assert {SPEC.parent_of(k) for k in rows} <= set(regs)


# ------------------------------------------------------------------ Moodle, composite keys

@pytest.fixture
def moodle(tmp_path: Path) -> MoodleProvider:
    app = create_app(tmp_path / "moodle.sqlite")
    provider = MoodleProvider("http://moodle.sandbox", SANDBOX_TOKEN, RetryPolicy(concurrency=2),
                              transport=httpx.ASGITransport(app=app))
    yield provider
    app.state.db.close()


def _create(reg: str, number: int, amount: str) -> Change:
    after = {"zoho_registration_id": reg, "installment_number": number, "due_date": "2026-10-01", "amount": amount,
             "status": "Pending", "paid_date": None}
    return Change(Action.CREATE, Address("installment", f"{reg}:{number}"), after=after)


def test_moodle_reads_upserts_and_deletes_installments_by_composite_key(moodle: MoodleProvider) -> None:
    async def scenario() -> tuple[list[bool], list[str], list[str], list[bool], list[str]]:
        created = await moodle.apply(SPEC, [_create("58", n, "125.5") for n in (1, 2, 3)] + [_create("59", 1, "7")])
        some = await moodle.read(SPEC, {"58:2", "59:1", "58:9"})
        update = Change(Action.UPDATE, Address("installment", "58:2"), after={"amount": "130"})
        delete = Change(Action.DELETE, Address("installment", "58:3"))
        changed = await moodle.apply(SPEC, [update, delete])
        everything = await moodle.read(SPEC)
        return ([r.ok for r in created], sorted(some), [r.status for r in changed],
                [everything["58:2"].fields["amount"] == "130"], sorted(everything))

    created, some, statuses, amount, left = asyncio.run(scenario())
    assert created == [True] * 4
    assert some == ["58:2", "59:1"], some
    assert statuses == ["updated", "deleted"], statuses
    assert amount == [True]
    assert left == ["58:1", "58:2", "59:1"], left
