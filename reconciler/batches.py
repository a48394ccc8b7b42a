"""Write batches under structured concurrency: one outcome per batch, never a guess.

A provider cuts a kind's changes into batches (one web-service call each) and hands them
to :func:`run_batches`. Each batch ends in exactly one of three ways, and its Results say
which, record by record:

- it was answered: the system's per-record Results;
- it raised: failed Results (status ``error``) for exactly its own records, naming the
  cause — the other batches are not touched;
- it never started, because the :class:`Gate` closed first (the backend was found
  unavailable after retries, or the operator pressed Ctrl-C): ``skipped`` Results,
  ``not attempted: …``.

A batch already in flight is never cancelled because another one failed: its request may
be landing in Moodle right now, and the run log must say what really happened. Every
outcome is handed to ``on_results`` the moment it is known, which is how the run log is
written ahead of the end of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from .errors import MziError, TerminalError, TransientError
from .model import Change, Result

#: receives each batch's Results as they land (the engine writes them to the run log)
ResultSink = Callable[[Sequence[Result]], None]
T = TypeVar("T")

INTERRUPTED = "interrupted (Ctrl-C)"


class Gate:
    """Whether a new batch may start; once closed it stays closed, keeping the first reason."""

    def __init__(self) -> None:
        self.reason = ""
        self.interrupted = False

    @property
    def open(self) -> bool:
        return not self.reason

    def close(self, reason: str) -> None:
        if not self.reason:
            self.reason = reason

    def interrupt(self) -> None:
        """The operator asked to stop: finish what is in flight, start nothing new."""
        self.interrupted = True
        self.close(INTERRUPTED)


@dataclass(frozen=True)
class Batch:
    """One call's worth of changes and how to send it; ``send`` returns one Result per change."""

    changes: Sequence[Change]
    send: Callable[[], Awaitable[list[Result]]]


def failed(changes: Sequence[Change], why: str) -> list[Result]:
    return [Result(c.address, c.action, False, "error", why) for c in changes]


def not_attempted(changes: Sequence[Change], why: str) -> list[Result]:
    return [Result(c.address, c.action, False, "skipped", f"not attempted: {why}") for c in changes]


async def _outcome(batch: Batch, gate: Gate) -> list[Result]:
    if not gate.open:
        return not_attempted(batch.changes, gate.reason)
    try:
        return await batch.send()
    except TransientError as exc:
        gate.close(str(exc))  # the backend is unavailable: queued batches are not started
        return failed(batch.changes, str(exc))
    except TerminalError as exc:
        return failed(batch.changes, str(exc))


async def run_batches(batches: Sequence[Batch], *, limit: int, gate: Gate | None = None,
                      on_results: ResultSink | None = None) -> list[Result]:
    """Run ``batches`` at most ``limit`` at a time; their Results in input order.

    A batch waiting for a slot has not started, so closing the gate stops it; one that
    holds a slot runs to its end whatever happens to the others.
    """
    gate = gate if gate is not None else Gate()
    slots = asyncio.Semaphore(max(1, limit))
    outcomes: list[list[Result]] = [[] for _ in batches]

    async def run(index: int, batch: Batch) -> None:
        async with slots:
            outcomes[index] = await _outcome(batch, gate)
        if on_results is not None:
            on_results(outcomes[index])

    async with asyncio.TaskGroup() as group:
        for index, batch in enumerate(batches):
            group.create_task(run(index, batch))
    return [result for outcome in outcomes for result in outcome]


async def settle(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Await every call to its end, then raise the first error (if any) — no call is
    cancelled because another failed. For batched calls whose answers are not Results."""
    answers: dict[int, T] = {}
    errors: list[MziError | None] = [None] * len(calls)

    async def one(index: int, call: Awaitable[T]) -> None:
        try:
            answers[index] = await call
        except MziError as exc:
            errors[index] = exc

    async with asyncio.TaskGroup() as group:
        for index, call in enumerate(calls):
            group.create_task(one(index, call))
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return [answers[index] for index in range(len(calls))]


async def gather_reads(*calls: Awaitable[T]) -> list[T]:
    """``asyncio.gather`` for reads: when one fails, the others are cancelled and awaited
    before the error goes up — no read outlives the command that started it (one would
    otherwise go on paging, then write its watermark to a state store already closed).
    Unlike write batches, a read in flight changes nothing, so cancelling it is safe."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
