"""A memory provider: the Provider protocol over dicts, for engine and property tests.

It behaves like a target system that stores exactly what it is sent (soft deletes set
the policy field, hard deletes remove), and counts write calls so tests can assert that
a second apply writes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from reconciler.model import Action, Address, Change, Record, Result
from reconciler.specs import Spec


class MemoryProvider:
    def __init__(self, system: str, data: dict[str, dict[str, dict[str, Any]]] | None = None) -> None:
        self.system = system
        self.data: dict[str, dict[str, dict[str, Any]]] = data or {}
        self.write_calls = 0
        self.read_calls = 0
        self.fail_keys: set[str] = set()

    async def read(self, spec: Spec, keys: Collection[str] | None = None, since: datetime | None = None) -> dict[str, Record]:
        self.read_calls += 1
        rows = self.data.get(spec.kind, {})
        chosen = rows if keys is None else {k: rows[k] for k in keys if k in rows}
        return {k: Record(Address(spec.kind, k), dict(v), spec.render_label(k, v)) for k, v in chosen.items()}

    async def apply(self, spec: Spec, changes: Sequence[Change], *, on_results: Any = None, gate: Any = None) -> list[Result]:
        self.write_calls += 1
        rows = self.data.setdefault(spec.kind, {})
        results = []
        for change in changes:
            key = change.address.key
            if key in self.fail_keys:
                results.append(Result(change.address, change.action, False, "error", "refused by test"))
                continue
            if change.action is Action.DELETE and spec.delete.policy == "hard":
                rows.pop(key, None)
            else:
                base = rows.get(key, {name: None for name in spec.fields})
                rows[key] = base | (change.after or {})
            results.append(Result(change.address, change.action, True, change.action.verb))
        return results

    async def aclose(self) -> None:
        return None
