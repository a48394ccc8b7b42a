"""Diff: desired and actual Records of one kind → Changes.

Pure functions over already-normalized Records, so the property tests can drive them
with arbitrary states. The rules:

- in desired, not in actual → ``create`` (unless a dependency is missing: ``blocked``)
- in both, a compared field differs → ``update`` carrying only what changed, plus the
  ``compare = false`` fields that ride along (e.g. ``zoho_modified_time``)
- in actual, not in desired → ``delete`` per the spec's delete policy; a soft delete that
  is already in place is no change
- a target-owned field is never compared or written: no ping-pong between systems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Action, Address, Change, FieldDelta, Record
from .specs import Spec

#: keys of each kind known to exist on either side, for dependency checks
Known = Mapping[str, set[str]]


def _delta(spec: Spec, name: str, old: Any, new: Any) -> FieldDelta:
    return FieldDelta(name, old, new, name in spec.sensitive_fields, spec.fields[name].type)


def _deltas(spec: Spec, desired: Record, actual: Record) -> tuple[FieldDelta, ...]:
    deltas = []
    for name in spec.compared_fields:
        old, new = actual.fields.get(name), desired.fields.get(name)
        if old != new:
            deltas.append(_delta(spec, name, old, new))
    return tuple(deltas)


def missing_dependencies(spec: Spec, record: Record, known: Known) -> tuple[Address, ...]:
    """Dependencies of ``record`` that exist on neither side (a null reference is no dependency)."""
    missing = []
    for dep in spec.depends_on:
        value = record.fields.get(dep.field)
        if value is not None and str(value) not in known.get(dep.kind, set()):
            missing.append(Address(dep.kind, str(value)))
    return tuple(missing)


def _managed(spec: Spec, fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fields.get(name) for name in spec.managed_fields}


def _create(spec: Spec, desired: Record, known: Known) -> Change:
    missing = missing_dependencies(spec, desired, known)
    if missing:
        names = ", ".join(str(a) for a in missing)
        return Change(Action.BLOCKED, desired.address, desired.label,
                      reason=f"{names} exists in neither Zoho nor Moodle", blocked_by=missing)
    after = _managed(spec, desired.fields)
    deltas = tuple(_delta(spec, n, None, v) for n, v in after.items() if v is not None)
    return Change(Action.CREATE, desired.address, desired.label, after=after, deltas=deltas)


def _is_drift(spec: Spec, desired: Record, actual: Record) -> bool:
    """The source has not changed since the target last matched it: the target moved."""
    marker = spec.drift_marker
    if marker is None:
        return False
    stamp = desired.fields.get(marker)
    return stamp is not None and stamp == actual.fields.get(marker)


def _update(spec: Spec, desired: Record, actual: Record, known: Known) -> Change | None:
    deltas = _deltas(spec, desired, actual)
    if not deltas:
        return None
    missing = missing_dependencies(spec, desired, known)
    if missing:
        names = ", ".join(str(a) for a in missing)
        return Change(Action.BLOCKED, desired.address, desired.label, reason=f"{names} exists in neither Zoho nor Moodle",
                      blocked_by=missing, actual_fingerprint=actual.fingerprint)
    riders = [n for n in spec.managed_fields if not spec.fields[n].compare]
    after = {d.name: d.new for d in deltas} | {n: desired.fields.get(n) for n in riders}
    drift = _is_drift(spec, desired, actual)
    reason = "changed in Moodle since the last sync (drift)" if drift else "changed in the source"
    return Change(Action.UPDATE, desired.address, desired.label, after=after, deltas=deltas,
                  reason=reason, actual_fingerprint=actual.fingerprint, drift=drift)


def _delete(spec: Spec, actual: Record) -> Change | None:
    policy = spec.delete
    if policy.policy == "keep":
        return None
    if policy.policy == "soft":
        assert policy.field is not None
        if actual.fields.get(policy.field) == policy.value:
            return None
        after = {policy.field: policy.value}
        delta = _delta(spec, policy.field, actual.fields.get(policy.field), policy.value)
        return Change(Action.DELETE, actual.address, actual.label, after=after, deltas=(delta,),
                      reason=f"gone from the source; soft delete: {policy.field} = {policy.value!r}",
                      actual_fingerprint=actual.fingerprint)
    return Change(Action.DELETE, actual.address, actual.label, reason="gone from the source; row removed",
                  actual_fingerprint=actual.fingerprint)


def diff_kind(
    spec: Spec,
    desired: Mapping[str, Record],
    actual: Mapping[str, Record],
    known: Known,
    keys: set[str] | None = None,
) -> list[Change]:
    """Changes for one kind, sorted by key. ``keys`` limits the diff to those records."""
    scope = set(desired) | set(actual) if keys is None else keys
    changes: list[Change] = []
    for key in sorted(scope):
        want, have = desired.get(key), actual.get(key)
        change: Change | None
        if want is not None and have is None:
            change = _create(spec, want, known)
        elif want is not None and have is not None:
            change = _update(spec, want, have, known)
        elif have is not None:
            change = _delete(spec, have)
        else:
            change = None
        if change is not None:
            changes.append(change)
    return changes
