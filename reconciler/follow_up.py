"""Follow-ups: records one apply wrote that another kind reads.

The two directions share stores. A course created in Moodle writes its id into the
class's mirror row (``local_mzi_classes.moodle_class_id``), which ``class_link`` carries to
Zoho; a grade upserted into Zoho's ``BTEC_Grades`` is what the ``grade`` kind mirrors back
for the dashboard; a request sent to Zoho comes back through ``request`` with its Zoho id.
A plan is made from what both systems held *before* the apply, so those second steps
cannot be in it — and without them the plan right after an apply would not be empty.

After an apply, :func:`follow_up_targets` names the records whose *source* the apply
wrote, in a field that kind reads, and the engine plans and applies exactly those
addresses, like ``mzi apply --target`` would, until a round writes nothing such (bounded
by :data:`MAX_ROUNDS`). Only kinds keyed by the Zoho record id follow up: that is the
one key every store shares (a Zoho write reports the id it gave, ``Result.target_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .model import Action, Address, Change, Result
from .specs import Endpoint, Spec

#: rounds of follow-ups after the plan's own changes: a grade goes to Zoho (the plan),
#: comes back to the mirror (round 1); nothing in the shipped specs needs a third
MAX_ROUNDS = 3

#: (system, store): a Zoho module, a Moodle table or a Moodle resource
Store = tuple[str, str]

#: Moodle resources whose plugin function also writes a column of a mirror table:
#: ``local_mzi_ensure_courses`` links the course into its class's mirror row
RESOURCE_SIDE_EFFECTS: Mapping[str, tuple[str, str]] = {"course": ("local_mzi_classes", "moodle_class_id")}

#: Moodle resources whose read (or resolve) joins mirror tables, with the columns it uses: a
#: kind whose source or target is one is planned again, whole, when an apply wrote such a column. A grade names
#: its student and class from ``local_mzi_students`` and ``local_mzi_classes``, which the
#: same apply may just have linked (a student's Moodle user) or repaired (a class name
#: edited in Moodle); its key is no Zoho id a targeted follow-up could name.
RESOURCE_READS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "assignment_grade": {
        # the learning outcomes are the fillings of the assignment's guide, whose criteria
        # grading_form may have just rewritten
        "grading_form": frozenset({"criteria"}),
        "local_mzi_students": frozenset({"zoho_student_id", "moodle_user_id", "status"}),
        "local_mzi_classes": frozenset({"zoho_class_id", "class_name", "class_status", "unit_name"}),
    },
}


@dataclass
class _Written:
    """What one store received: the Zoho ids of the records written, and the fields."""

    keys: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)


def store_of(end: Endpoint) -> Store:
    if end.system == "zoho":
        assert end.module is not None
        return ("zoho", end.module)
    return ("moodle", end.table or end.resource or "")


def keyed_by_zoho_id(spec: Spec) -> bool:
    """The address key is the Zoho record id (not a composite, not a field of its own)."""
    return spec.key.zoho == "id" and not spec.key.composite


def fields_read(spec: Spec) -> set[str]:
    """The names the source side of ``spec`` reads: Zoho api names, or Moodle columns."""
    if spec.source.system == "zoho":
        return {name for f in spec.fields.values() for name in f.zoho_names}
    return set(spec.fields) | set(spec.key.columns) | set(spec.source.filter_columns)


def _fields_written(spec: Spec, change: Change) -> set[str]:
    """The names ``change`` wrote in its target's terms; a removed row wrote all of them."""
    names = set(change.after or {}) if change.action is not Action.DELETE or change.after else set(spec.fields)
    if spec.target.system == "moodle":
        return names
    return {spec.fields[n].zoho for n in names if n in spec.fields and isinstance(spec.fields[n].zoho, str)}  # type: ignore[misc]


def written(specs: Mapping[str, Spec], changes: Iterable[Change], results: Sequence[Result]) -> dict[Store, _Written]:
    """Per store, the records and fields an apply wrote (successful results only)."""
    by_address = {c.address: c for c in changes}
    out: dict[Store, _Written] = {}
    for result in results:
        change = by_address.get(result.address)
        if not result.ok or change is None:
            continue
        spec = specs[result.address.kind]
        key = result.target_id or (result.address.key if keyed_by_zoho_id(spec) else None)
        if key is None:
            continue
        stores = [(store_of(spec.target), _fields_written(spec, change))]  # a user link: its mirror table
        side = RESOURCE_SIDE_EFFECTS.get(spec.target.resource or "")
        if side is not None and change.action is not Action.DELETE:
            stores.append((("moodle", side[0]), {side[1]}))
        for store, names in stores:
            entry = out.setdefault(store, _Written())
            entry.keys.add(key)
            entry.fields |= names
    return out


def follow_up_targets(specs: Mapping[str, Spec], changes: Iterable[Change], results: Sequence[Result]) -> list[Address]:
    """Addresses to plan again: of kinds keyed by Zoho id whose source store got a field they read."""
    stores = written(specs, changes, results)
    targets: list[Address] = []
    for kind in sorted(specs):
        spec = specs[kind]
        entry = stores.get(store_of(spec.source))
        if entry is None or not keyed_by_zoho_id(spec) or not (entry.fields & fields_read(spec)):
            continue
        targets += [Address(kind, key) for key in sorted(entry.keys)]
    return targets


def follow_up_kinds(specs: Mapping[str, Spec], changes: Iterable[Change], results: Sequence[Result]) -> list[str]:
    """Kinds to plan again in full: their Moodle source resource joins a column the apply wrote
    (:data:`RESOURCE_READS`)."""
    stores = written(specs, changes, results)
    kinds = []
    for kind in sorted(specs):
        ends = (specs[kind].source, specs[kind].target)
        reads = [r for end in ends if end.system == "moodle" for r in RESOURCE_READS.get(end.resource or "", {}).items()]
        if any(columns & stores.get(("moodle", table), _Written()).fields for table, columns in reads):
            kinds.append(kind)
    return kinds
