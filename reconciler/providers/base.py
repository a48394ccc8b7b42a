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

from ..batches import Gate, ResultSink
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

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Carry out create/update/delete changes of one kind, batched.

        Returns one Result per change, and hands each batch's Results to ``on_results``
        as soon as that batch is answered, so the run log holds what landed even if the
        process dies before the end. A record the system refuses is a failed Result; a
        batch whose call failed gives failed Results for exactly its records (see
        :func:`reconciler.batches.run_batches`); no batch starts once ``gate`` is closed
        (Ctrl-C, or the backend found unavailable) and the ones in flight are finished.
        An exception means nothing was sent (the changes could not even be batched).
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class Resolver(Protocol):
    """A target provider that completes desired Records with facts only it knows.

    A desired user link says "the Moodle user whose email is X": which user that is, only
    Moodle can tell. The engine hands every desired Record of a kind to its target's
    ``resolve`` after reading and before diffing — once per read, so the provider batches
    its look-ups — and diffs what comes back. A record that cannot be resolved comes back
    with ``Record.blocked`` set (planned as blocked, the run goes on); a kind the provider
    has nothing to resolve for comes back unchanged.
    """

    async def resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        ...
