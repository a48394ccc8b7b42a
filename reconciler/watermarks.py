"""Read watermarks: where an incremental read (``mzi plan --changed-only``) starts.

Each source provider keeps, per kind, the time its last read started (less an overlap,
so clock skew between this host and the other system re-reads a few records rather than
missing any) and the time of its last *full* read: a full read is due again after
``full_refresh_after``, because "modified since" alone never notices a change the other
system did not stamp. Zoho and Moodle sources share these rules; the times live in the
state store behind :class:`WatermarkStore`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class WatermarkStore(Protocol):
    """Where the last-read time of each kind is kept (the state store implements it)."""

    def get_watermark(self, kind: str) -> datetime | None: ...

    def set_watermark(self, kind: str, when: datetime) -> None: ...


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def since(store: WatermarkStore | None, kind: str) -> datetime | None:
    """Where the next incremental read of ``kind`` starts (``None``: read everything)."""
    return store.get_watermark(kind) if store is not None else None


def mark(store: WatermarkStore | None, kind: str, started: datetime, overlap: timedelta, *, full: bool) -> None:
    """A read of ``kind`` that started at ``started`` succeeded (``full``: it read everything)."""
    if store is None:
        return
    store.set_watermark(kind, started - overlap)
    if full:
        store.set_watermark(full_key(kind), started)


def full_refresh_due(store: WatermarkStore | None, kind: str, now: datetime, after: timedelta) -> bool:
    """True when the last full read of ``kind`` is unknown or older than ``after``."""
    last = store.get_watermark(full_key(kind)) if store is not None else None
    return last is None or now - aware(last) > after


def aware(when: datetime) -> datetime:
    """A stored time without a zone is taken as UTC (what :func:`utcnow` writes)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def full_key(kind: str) -> str:
    return f"{kind}@full"
