"""A shared Zoho read never outlives the command that opened it (found by the fault matrix:
a shared read failing with 429 after a plan had already failed elsewhere was reported as
"Task exception was never retrieved")."""

from __future__ import annotations

import asyncio
import gc
from contextlib import suppress
from typing import Any

from reconciler.errors import TransientError
from reconciler.providers.zoho import _SharedRead
from reconciler.specs import load_specs


class FailingUnion:
    """Stands in for the provider: its union read fails after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def _read_union(self, specs: Any) -> list[dict[str, Any]]:
        await asyncio.sleep(self.delay)
        raise TransientError("Zoho CRM kept failing with HTTP 429")


def _run(settle_before_close: float) -> tuple[bool, list[str]]:
    """(the shared task was cancelled, what the loop reported) after its only waiter was cancelled."""
    reported: list[str] = []
    spec = load_specs()["grade"]

    async def scenario() -> bool:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: reported.append(context["message"]))
        shared = _SharedRead([spec])
        waiter = asyncio.ensure_future(shared.raws(FailingUnion(0.05)))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        waiter.cancel()  # a failed read elsewhere cancels this kind's read
        with suppress(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(settle_before_close)
        shared.close()
        await asyncio.sleep(0.1)
        assert shared._task is not None
        cancelled = shared._task.cancelled()
        del shared, waiter
        gc.collect()
        return cancelled

    return asyncio.run(scenario()), reported


def test_a_shared_read_still_running_when_its_block_ends_is_cancelled() -> None:
    cancelled, reported = _run(settle_before_close=0.0)
    assert cancelled and reported == [], reported


def test_a_shared_read_that_failed_unawaited_is_not_reported_as_never_retrieved() -> None:
    cancelled, reported = _run(settle_before_close=0.1)
    assert not cancelled and reported == [], reported
