"""Progress of a run, as it happens: records read and changes applied, per kind.

The engine reports events through the small :class:`Progress` protocol and never prints:
stdout carries the plan (text, JSON or markdown), so every display here writes to
stderr. Three displays:

- :class:`Silent` — when stderr is no terminal (a pipe, cron, CI) or with ``--quiet``;
- :class:`TerminalProgress` — one live line per kind on a terminal (rich), erased when
  the phase ends and replaced by a one-line total;
- :class:`LogProgress` — one structured log event per kind read and per batch applied
  (``--log-format json``), counts only: no labels, no values.

rich rather than ``click.progressbar``: a run reads some twenty kinds at once and applies
them batch by batch; click draws one bar for one iterable, while rich redraws several rows
from any thread, computes rates, and already knows when a terminal cannot redraw
(``TERM=dumb``) — code we would otherwise write and get wrong on odd terminals.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from .model import Result


class Progress(Protocol):
    """What the engine reports while it works; implementations must be cheap and never raise."""

    def reading(self, kind: str) -> None:
        """A read of ``kind`` (both sides) starts: a row appears before the first answer."""

    def read(self, kind: str, system: str, records: int) -> None:
        """One side of one kind was read: ``records`` records from ``system``."""

    def applying(self, kind: str, total: int) -> None:
        """``total`` more changes of ``kind`` are about to be sent."""

    def applied(self, kind: str, results: Sequence[Result]) -> None:
        """One batch of ``kind`` was answered (or skipped): its Results."""


class Silent:
    """No display: a pipe, a cron job, ``--quiet``."""

    def reading(self, kind: str) -> None:
        return None

    def read(self, kind: str, system: str, records: int) -> None:
        return None

    def applying(self, kind: str, total: int) -> None:
        return None

    def applied(self, kind: str, results: Sequence[Result]) -> None:
        return None


@dataclass
class _Kind:
    """Counts of one kind during one command."""

    read: dict[str, int] = field(default_factory=dict)
    total: int = 0
    done: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)


def _rate(count: int, since: float) -> float:
    elapsed = time.monotonic() - since
    return count / elapsed if elapsed > 0 else 0.0


class _Counts:
    """Per-kind counts shared by the displays: they differ only in how they show them."""

    def __init__(self) -> None:
        self.kinds: dict[str, _Kind] = {}
        self.started = time.monotonic()

    def kind(self, name: str) -> _Kind:
        return self.kinds.setdefault(name, _Kind())

    @property
    def records_read(self) -> int:
        return sum(sum(k.read.values()) for k in self.kinds.values())

    @property
    def changes_done(self) -> int:
        return sum(k.done for k in self.kinds.values())


class LogProgress(_Counts):
    """One log event per kind read and per batch applied (``--log-format json``)."""

    def __init__(self, emit: Any) -> None:
        super().__init__()
        self._emit = emit  # (level, event, message, **fields) -> None; see logs.Notices

    def reading(self, kind: str) -> None:
        self._emit("debug", "kind_reading", f"reading {kind}", kind=kind)

    def read(self, kind: str, system: str, records: int) -> None:
        self.kind(kind).read[system] = records
        self._emit("info", "kind_read", f"read {records} {kind} record(s) from {system}",
                   kind=kind, system=system, records=records)

    def applying(self, kind: str, total: int) -> None:
        self.kind(kind).total += total

    def applied(self, kind: str, results: Sequence[Result]) -> None:
        counts = self.kind(kind)
        ok = sum(1 for r in results if r.ok)
        counts.done += len(results)
        counts.failed += len(results) - ok
        self._emit("info", "batch_applied", f"{kind}: {counts.done}/{counts.total} applied",
                   kind=kind, ok=ok, failed=len(results) - ok, done=counts.done, total=counts.total,
                   rate_per_second=round(_rate(counts.done, counts.started), 1))


class TerminalProgress(_Counts):
    """Live rows on stderr, one per kind: records read from each side, changes applied of
    how many, and the rate. :meth:`shown` starts and ends the display around a phase;
    :meth:`paused` clears it while the plan is printed and the operator answers."""

    def __init__(self, console: Any | None = None) -> None:
        super().__init__()
        from rich.console import Console

        self.console = console or Console(stderr=True, highlight=False)
        self._live: Any = None
        self._tasks: dict[str, Any] = {}

    def _display(self) -> Any:
        from rich.progress import BarColumn, Progress as Bars, SpinnerColumn, TextColumn, TimeElapsedColumn

        return Bars(SpinnerColumn(), TextColumn("{task.description:<22}"), BarColumn(bar_width=24),
                    TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                    console=self.console, transient=True, redirect_stdout=False, redirect_stderr=False,
                    refresh_per_second=8)

    @contextmanager
    def shown(self) -> Iterator["TerminalProgress"]:
        self._live = self._display()
        self._tasks = {}
        self.started = time.monotonic()
        self._live.start()
        try:
            yield self
        finally:
            self._live.stop()
            self._live = None
            self._summary()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No live rows while something else talks to the operator (the plan, the question)."""
        live = self._live
        if live is not None:
            live.stop()
            self._live = None
            self._summary()  # what was done so far, timed up to here rather than through the question
        try:
            yield
        finally:
            if live is not None:
                self.started = time.monotonic()
                self._live = self._display()
                self._tasks = {}
                self._live.start()

    def _summary(self) -> None:
        seconds = time.monotonic() - self.started
        parts = []
        if self.records_read:
            parts.append(f"read {self.records_read:,} records of {sum(1 for k in self.kinds.values() if k.read)} kinds")
        if self.changes_done:
            parts.append(f"applied {self.changes_done:,} changes")
        if parts:
            rate = (self.records_read + self.changes_done) / seconds if seconds > 0 else 0.0
            text = ", ".join(parts)
            self.console.print(f"{text[0].upper()}{text[1:]} in {seconds:.1f} s ({rate:,.0f}/s).",
                               highlight=False, soft_wrap=True)
        self.kinds = {}

    def _update(self, name: str) -> None:
        if self._live is None:
            return
        counts = self.kinds[name]
        applying = counts.total > 0
        if applying:
            detail = (f"{counts.done:,}/{counts.total:,} applied · {_rate(counts.done, counts.started):,.0f}/s"
                      + (f" · {counts.failed:,} failed" if counts.failed else ""))
            total, completed = counts.total, counts.done
        else:
            done = " · ".join(f"{system} {n:,}" for system, n in sorted(counts.read.items()))
            detail = f"{done} read" if done else "reading…"
            total, completed = 2, len(counts.read)
        label = ("apply " if applying else "read ") + name
        task = self._tasks.get(name)
        if task is None:
            self._tasks[name] = self._live.add_task(label, total=total, completed=completed, detail=detail)
        else:
            self._live.update(task, description=label, total=total, completed=completed, detail=detail)

    def reading(self, kind: str) -> None:
        self.kind(kind)
        self._update(kind)

    def read(self, kind: str, system: str, records: int) -> None:
        counts = self.kind(kind)
        counts.read[system] = counts.read.get(system, 0) + records
        self._update(kind)

    def applying(self, kind: str, total: int) -> None:
        counts = self.kind(kind)
        if counts.total == 0:
            counts.started = time.monotonic()
        counts.total += total
        self._update(kind)

    def applied(self, kind: str, results: Sequence[Result]) -> None:
        counts = self.kind(kind)
        counts.done += len(results)
        counts.failed += sum(1 for r in results if not r.ok)
        self._update(kind)
