"""A read that fails takes the command's other reads down with it: none outlives the plan.

Found by the fault matrix (tests/reliability): Zoho refused one kind's read while other
kinds were still paging; the plan failed, the command closed its state store, and the
orphaned reads went on — then wrote their watermarks to the closed store ("Task exception
was never retrieved … Cannot operate on a closed database").
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime

import pytest
from fakes import MemoryProvider

from reconciler.batches import gather_reads
from reconciler.engine import Engine
from reconciler.errors import TerminalError
from reconciler.model import Record
from reconciler.specs import Spec, load_specs


class Refusing(MemoryProvider):
    """Zoho refusing one kind at once, and slow to answer the others."""

    def __init__(self, refused: str) -> None:
        super().__init__("zoho")
        self.refused = refused
        self.finished: list[str] = []
        self.cancelled: list[str] = []

    async def read(self, spec: Spec, keys: Collection[str] | None = None, since: datetime | None = None) -> dict[str, Record]:
        if spec.kind == self.refused:
            raise TerminalError(f"Zoho refused the read of {spec.kind}")
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            self.cancelled.append(spec.kind)
            raise
        self.finished.append(spec.kind)
        return {}


def test_when_one_kind_cannot_be_read_the_plan_fails_and_no_other_read_is_left_running() -> None:
    specs = {k: s for k, s in load_specs().items() if k in ("student", "teacher", "program")}
    zoho = Refusing("teacher")
    engine = Engine(specs, {"zoho": zoho, "moodle": MemoryProvider("moodle")})

    async def plan_then_look() -> set[asyncio.Task[object]]:
        with pytest.raises(TerminalError, match="teacher"):
            await engine.plan()
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    left = asyncio.run(plan_then_look())
    assert left == set(), f"reads still running after the plan failed: {left}"
    assert zoho.finished == [] and sorted(zoho.cancelled) == ["program", "student"], (zoho.finished, zoho.cancelled)


def test_gather_reads_returns_every_answer_in_order_when_none_fails() -> None:
    async def answer(value: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return value

    assert asyncio.run(gather_reads(answer(1, 0.02), answer(2, 0.0), answer(3, 0.01))) == [1, 2, 3]
