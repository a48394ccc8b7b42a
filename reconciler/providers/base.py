"""The Provider interface: one adapter per system.

A provider reads Records of a spec's kind from its system and carries out Changes on
it. Which role it plays (desired or actual) is decided by the spec: the provider whose
system is ``spec.source`` supplies desired state, the one whose system is
``spec.target`` supplies actual state and receives the changes. The engine never
branches on which system it is talking to.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..model import Change, Record, Result
from ..specs import Spec


@runtime_checkable
class Provider(Protocol):
    """What the engine needs from a system."""

    #: "zoho" or "moodle" — matched against ``Spec.source.system``/``target.system``
    system: str

    async def read(
        self,
        spec: Spec,
        keys: Collection[str] | None = None,
        since: datetime | None = None,
    ) -> dict[str, Record]:
        """Records of ``spec``'s kind keyed by key.

        ``keys``: only these (targeted reconcile); ``None`` means all. ``since``: only
        records modified after it (incremental read); the caller merges. Records are
        normalized (``mapping.record_from_*``) so the diff compares like with like.
        """
        ...

    async def apply(self, spec: Spec, changes: Sequence[Change]) -> list[Result]:
        """Carry out create/update/delete changes of one kind, batched.

        Returns one Result per change. A record the system refuses is a failed Result,
        not an exception; exceptions mean the whole call could not be made
        (``TransientError`` after retries, ``TerminalError``).
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
