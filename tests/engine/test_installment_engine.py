"""The engine with a composite-key subform kind: the mass-delete guard, the delete
confirmation by key, rows of a parent with an unreadable row held, parents first."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from typing import Any

from fakes import MemoryProvider
from reconciler.engine import Engine
from reconciler.model import Action, Address, Record
from reconciler.specs import Spec, load_specs

SPECS = load_specs(Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "installment")
KINDS: dict[str, Spec] = {k: SPECS[k] for k in ("registration", "installment")}


def _row(reg: str, n: int, amount: str = "100") -> dict[str, Any]:
    return {"zoho_registration_id": reg, "installment_number": n, "due_date": "2026-10-01", "amount": amount,
            "status": "Pending", "paid_date": None}


def _registration(number: str) -> dict[str, Any]:
    return {"registration_number": number, "zoho_student_id": None, "registration_status": "Active",
            "remaining_amount": None}


def _school(regs: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    return {"registration": {r: _registration(f"R-{r}") for r in regs},
            "installment": {f"{r}:{n}": _row(r, n) for r in regs for n in range(1, 5)}}


class MissesOnFullRead(MemoryProvider):
    """A source whose paged full read skips some keys (a record deleted mid-read shifts a page)."""

    def __init__(self, data: dict[str, dict[str, dict[str, Any]]], skipped: set[str]) -> None:
        super().__init__("zoho", data)
        self.skipped = skipped

    async def read(self, spec: Spec, keys: Collection[str] | None = None, since: datetime | None = None) -> dict[str, Record]:
        found = await super().read(spec, keys, since)
        return found if keys is not None else {k: r for k, r in found.items() if k not in self.skipped}


def test_a_registration_gone_with_many_installments_is_held_by_the_mass_delete_guard() -> None:
    moodle = MemoryProvider("moodle", _school(["1", "2", "3"]))
    zoho = MemoryProvider("zoho", {"registration": {}, "installment": {}})
    plan = asyncio.run(Engine(KINDS, {"zoho": zoho, "moodle": moodle}).plan(kinds=["installment"]))
    assert sum(c.action is Action.DELETE for c in plan.changes) == 12
    assert plan.warnings == ["installment: 12 of 12 live records would be deleted (limit 10); "
                             "apply refuses this unless --allow-mass-change"], plan.warnings


def test_a_row_missed_by_the_full_read_is_confirmed_by_its_composite_key_and_not_deleted() -> None:
    school = _school(["1", "2"])
    moodle = MemoryProvider("moodle", {k: {key: dict(v) for key, v in rows.items()} for k, rows in school.items()})
    zoho = MissesOnFullRead(school, skipped={"2:3"})
    plan = asyncio.run(Engine(KINDS, {"zoho": zoho, "moodle": moodle}).plan())
    assert plan.changes == [], [str(c.address) for c in plan.changes]


def test_rows_of_a_registration_with_an_unreadable_row_are_not_deleted() -> None:
    moodle = MemoryProvider("moodle", _school(["1"]))
    zoho = MemoryProvider("zoho", _school(["1"]))
    del zoho.data["installment"]["1:3"]

    class WithUnreadable(MemoryProvider):
        async def read(self, spec: Spec, keys: Collection[str] | None = None,
                       since: datetime | None = None) -> dict[str, Record]:
            found = await zoho.read(spec, keys, since)
            if spec.kind == "installment":
                bad = Address("installment", "1:?3")
                found[bad.key] = Record.unreadable(bad, "row 3 of Payment_Schedule: key field installment_number is empty")
            return found

    plan = asyncio.run(Engine(KINDS, {"zoho": WithUnreadable("zoho"), "moodle": moodle}).plan())
    by_address = {str(c.address): c for c in plan.changes}
    assert sorted(by_address) == ["installment.1:3", "installment.1:?3"], sorted(by_address)
    held = by_address["installment.1:3"]
    assert held.action is Action.BLOCKED and "Payment_Schedule of 1 has a row that cannot be read" in held.reason
    assert by_address["installment.1:?3"].unreadable


def test_a_new_registration_is_created_before_its_installments() -> None:
    moodle = MemoryProvider("moodle", {"registration": {}, "installment": {}})
    zoho = MemoryProvider("zoho", _school(["7"]))
    engine = Engine(KINDS, {"zoho": zoho, "moodle": moodle})
    plan = asyncio.run(engine.plan(targets=[Address("installment", "7:2")]))
    assert [str(c.address) for c in plan.changes] == ["registration.7", "installment.7:2"]
    results = asyncio.run(engine.apply(plan))
    assert all(r.ok for r in results), results
    assert moodle.data["installment"] == {"7:2": _row("7", 2)}
