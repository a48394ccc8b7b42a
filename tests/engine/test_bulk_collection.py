"""engine.bulk_collection: fewer GC passes during a plan, and everything put back after."""

from __future__ import annotations

import gc

from reconciler.engine import BULK_GC_THRESHOLD, bulk_collection


def test_raises_the_young_threshold_inside_and_restores_it_after() -> None:
    before = gc.get_threshold()
    with bulk_collection():
        inside = gc.get_threshold()
    assert inside == (BULK_GC_THRESHOLD, *before[1:]), f"inside: {inside}, before: {before}"
    assert gc.get_threshold() == before, f"after: {gc.get_threshold()}, before: {before}"


def test_freezes_what_is_alive_at_the_start_and_unfreezes_it_after() -> None:
    with bulk_collection():
        frozen = gc.get_freeze_count()
    assert frozen > 0, "nothing was frozen inside the block"
    assert gc.get_freeze_count() == 0, f"{gc.get_freeze_count()} objects left frozen after the block"


def test_overlapping_blocks_restore_only_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    first, second = bulk_collection(), bulk_collection()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the one that started it ends first, as side-by-side applies may
    assert gc.get_threshold()[0] == BULK_GC_THRESHOLD, "a block still running lost its threshold"
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before, f"after both: {gc.get_threshold()}, before: {before}"
    assert gc.get_freeze_count() == 0, "objects left frozen after both blocks"


def test_restores_the_collector_when_the_block_raises() -> None:
    before = gc.get_threshold()
    try:
        with bulk_collection():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.get_threshold() == before, f"after an error: {gc.get_threshold()}, before: {before}"
