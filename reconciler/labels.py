"""Names in plan labels: a record that points at another kind's record shows that record's label.

An enrollment read from Zoho knows its student and class only by number
(``STU-000001 in CLS-000020``); the plan that read the students and classes already holds
their names. After the diff, each change's label is filled again from the records of the
kinds its spec's ``label_refs`` name — records the engine read anyway, so this costs no
call. A referenced record the run did not read (a ``--target`` run) leaves the label as it
was rendered at read time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from .model import Change, Record
from .specs import Spec


class Sides(Protocol):
    """One kind's records as read: Zoho's (desired) and Moodle's (actual), by key."""

    desired: dict[str, Record]
    actual: dict[str, Record]


#: how deep references are followed: an installment names its registration, which names its student
MAX_DEPTH = 3


class _Names:
    """Labels of read records with their own references resolved, each computed once."""

    def __init__(self, specs: Mapping[str, Spec], read: Mapping[str, Sides]) -> None:
        self.specs = specs
        self.read = read
        self._cache: dict[tuple[str, str], str | None] = {}

    def label(self, kind: str, key: str, depth: int = 0) -> str | None:
        """The label of record ``kind.key`` if it was read — Zoho's first (its current name)."""
        if (kind, key) not in self._cache:
            record = self._record(kind, key)
            spec = self.specs.get(kind)
            if record is None or spec is None:
                self._cache[(kind, key)] = None
            else:
                names = self.names(spec, record, depth + 1) if depth < MAX_DEPTH else {}
                label = spec.render_label(key, record.fields, names) if names else record.label
                self._cache[(kind, key)] = label if label and label != key else None
        return self._cache[(kind, key)]

    def _record(self, kind: str, key: str) -> Record | None:
        sides = self.read.get(kind)
        if sides is None:
            return None
        for records in (sides.desired, sides.actual):
            record = records.get(key)
            if record is not None and not record.error:
                return record
        return None

    def names(self, spec: Spec, record: Record, depth: int = 0) -> dict[str, str]:
        """Placeholder → label of the referenced record, for the references that were read."""
        names: dict[str, str] = {}
        for name, ref in spec.label_refs.items():
            value = record.address.key if ref.field == "key" else record.fields.get(ref.field)
            if value in (None, ""):
                continue
            label = self.label(ref.kind, str(value), depth)
            if label is not None:
                names[name] = label
        return names


def name_references(specs: Mapping[str, Spec], changes: Sequence[Change],
                    read: Mapping[str, Sides]) -> list[Change]:
    """``changes`` with labels that name the records they refer to, where those were read."""
    resolver = _Names(specs, read)
    named: list[Change] = []
    for change in changes:
        spec = specs.get(change.address.kind)
        record = resolver._record(change.address.kind, change.address.key) if spec and spec.label_refs else None
        names = resolver.names(spec, record) if spec is not None and record is not None else {}
        if spec is None or record is None or not names:
            named.append(change)
            continue
        named.append(replace(change, label=spec.render_label(change.address.key, record.fields, names)))
    return named
