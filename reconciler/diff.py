"""Diff: desired and actual Records of one kind → Changes.

Pure functions over already-normalized Records, so the property tests can drive them
with arbitrary states. The rules:

- in desired, not in actual → ``create`` (unless a dependency is missing: ``blocked``);
  nothing when the target is a Zoho module keyed by Zoho's own ids (mzi cannot make one)
- in both, a compared field differs → ``update`` carrying only what changed, plus the
  ``compare = false`` fields that ride along (e.g. ``zoho_modified_time``)
- in actual, not in desired → ``delete`` per the spec's delete policy; a soft delete that
  is already in place is no change
- a target-owned field is never compared or written: no ping-pong between systems; nor
  is a field the target owns on that row only (``target_owns``: a request submitted in
  Moodle is Moodle's in what the student wrote).
- a record that could not be read on either side is ``blocked`` (unreadable): its values
  are unknown, and unknown is never planned as null.
- a desired record the source read but that cannot be carried over (``Record.blocked``,
  e.g. no Moodle user has a student's academic email) is ``blocked`` with that reason,
  whatever the target holds; the run does not fail.
- a dependency counts as present only when it is in the source or live in the target: a
  parent soft-deleted in Moodle and gone from Zoho blocks its children.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Action, Address, Change, FieldDelta, Record, fingerprint
from .specs import Dependency, Spec

#: keys of each kind known to exist (in the source, or live in the target), for dependency checks
Known = Mapping[str, set[str]]

#: keys the target still has but only as soft-deleted rows: named apart in blocked reasons
_NO_RETIRED: Mapping[str, set[str]] = {}


def _delta(spec: Spec, name: str, old: Any, new: Any) -> FieldDelta:
    return FieldDelta(name, old, new, name in spec.sensitive_fields, spec.fields[name].type)


def _deltas(spec: Spec, desired: Record, actual: Record) -> tuple[FieldDelta, ...]:
    deltas = []
    for name in spec.compared_for(actual.fields):  # less what the target owns on this row
        old, new = actual.fields.get(name), desired.fields.get(name)
        if old != new:
            deltas.append(_delta(spec, name, old, new))
    return tuple(deltas)


def _in_sync(spec: Spec, desired: Record, actual: Record) -> bool:
    """Both sides read, nothing held, and every compared field equal: no change, decided
    without building one. The same test as :func:`_deltas` finding nothing, done as one
    comparison of two lists (normalized values are never NaN, the one value a list
    compares equal to itself where ``!=`` would not)."""
    if desired.error or actual.error or desired.blocked:
        return False
    names = spec.compared_for(actual.fields)
    return list(map(desired.fields.get, names)) == list(map(actual.fields.get, names))


def compared_fingerprint(spec: Spec, record: Record | None) -> str | None:
    """Fingerprint over the fields a plan compares: what a saved plan checks for staleness.

    Target-owned and ``compare = false`` fields are left out, or every saved plan would go
    stale the moment Moodle writes ``moodle_user_id`` or Zoho bumps a modified time.
    """
    if record is None:
        return None
    return fingerprint({name: record.fields.get(name) for name in spec.compared_fields})


def dependency_value(spec: Spec, dep: Dependency, record: Record) -> Any:
    """The key of ``dep``'s parent in ``record``: a field, or the record's own key when the
    dependency names the key column (a course is keyed by the id of the class it belongs to)."""
    if dep.field == spec.key.moodle and dep.field not in spec.fields:
        return record.address.key
    return record.fields.get(dep.field)


def missing_dependencies(spec: Spec, record: Record, known: Known) -> tuple[Address, ...]:
    """Dependencies of ``record`` that do not exist live (a null reference is no dependency)."""
    missing = []
    for dep in spec.depends_on:
        value = dependency_value(spec, dep, record)
        if value is not None and str(value) not in known.get(dep.kind, set()):
            missing.append(Address(dep.kind, str(value)))
    return tuple(missing)


def blocked_reason(missing: tuple[Address, ...], retired: Mapping[str, set[str]]) -> str:
    gone = [a for a in missing if a.key in retired.get(a.kind, set())]
    absent = [a for a in missing if a not in gone]
    parts = []
    if absent:
        parts.append(f"{', '.join(map(str, absent))} exists in neither Zoho nor Moodle")
    if gone:
        parts.append(f"{', '.join(map(str, gone))} is gone from Zoho and soft-deleted in Moodle")
    return "; ".join(parts)


def _unreadable(spec: Spec, desired: Record | None, actual: Record | None) -> Change | None:
    """A blocked change for a record either side could not read, else ``None``."""
    problems = []
    if desired is not None and desired.error:
        problems.append(f"in {spec.source.system.capitalize()}: {desired.error}")
    if actual is not None and actual.error:
        problems.append(f"in {spec.target.system.capitalize()}: {actual.error}")
    if not problems:
        return None
    record = desired if desired is not None else actual
    assert record is not None
    label = next((r.label for r in (desired, actual) if r is not None and not r.error), record.address.key)
    return Change(Action.BLOCKED, record.address, label, reason="cannot be read " + "; ".join(problems),
                  unreadable=True)


def _held(spec: Spec, desired: Record, actual: Record | None) -> Change:
    """A desired record that was read but cannot be carried over (``Record.blocked``): it
    waits, the target is left as it is, and the run goes on."""
    return Change(Action.BLOCKED, desired.address, desired.label, reason=desired.blocked,
                  desired_fingerprint=compared_fingerprint(spec, desired),
                  actual_fingerprint=compared_fingerprint(spec, actual))


def _managed(spec: Spec, fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fields.get(name) for name in spec.managed_fields}


def _create(spec: Spec, desired: Record, known: Known, retired: Mapping[str, set[str]]) -> Change | None:
    if spec.target.system == "zoho" and spec.key.zoho == "id":
        # Zoho assigns record ids: a kind keyed by one (a user link) writes into the records Zoho
        # has. One Zoho deleted is no change here: the forward kind plans its mirror row's delete.
        return None
    if desired.acknowledged:
        # the target had it (the row holds its id) and has it no more: deleted there, on purpose
        return None
    missing = missing_dependencies(spec, desired, known)
    if missing:
        return Change(Action.BLOCKED, desired.address, desired.label,
                      reason=blocked_reason(missing, retired), blocked_by=missing)
    after = _managed(spec, desired.fields)
    deltas = tuple(_delta(spec, n, None, v) for n, v in after.items() if v is not None)
    return Change(Action.CREATE, desired.address, desired.label, after=after, deltas=deltas,
                  desired_fingerprint=compared_fingerprint(spec, desired))


def _is_drift(spec: Spec, desired: Record, actual: Record, deltas: tuple[FieldDelta, ...]) -> bool:
    """The source has not changed since the target last matched it: the target moved.

    A difference only in ``lookup_name`` fields is not drift: those hold another record's
    name, which changes in Zoho (a class renamed) without touching this record's stamp.
    """
    marker = spec.drift_marker
    if marker is None:
        return False
    stamp = desired.fields.get(marker)
    if stamp is None or stamp != actual.fields.get(marker):
        return False
    return any(spec.fields[d.name].type != "lookup_name" for d in deltas)


def _update_reason(spec: Spec, drift: bool, deltas: tuple[FieldDelta, ...]) -> str:
    if drift:
        return "changed in Moodle since the last sync (drift)"
    if spec.drift_marker is not None and all(spec.fields[d.name].type == "lookup_name" for d in deltas):
        return "a record it refers to was renamed in the source"
    return "changed in the source"


def _update(spec: Spec, desired: Record, actual: Record, known: Known, retired: Mapping[str, set[str]]) -> Change | None:
    deltas = _deltas(spec, desired, actual)
    if not deltas:
        return None
    mine, theirs = compared_fingerprint(spec, desired), compared_fingerprint(spec, actual)
    missing = missing_dependencies(spec, desired, known)
    if missing:
        return Change(Action.BLOCKED, desired.address, desired.label, reason=blocked_reason(missing, retired),
                      blocked_by=missing, desired_fingerprint=mine, actual_fingerprint=theirs)
    after = {d.name: d.new for d in deltas} | {n: desired.fields.get(n) for n in spec.rider_fields}
    drift = _is_drift(spec, desired, actual, deltas)
    return Change(Action.UPDATE, desired.address, desired.label, after=after, deltas=deltas,
                  reason=_update_reason(spec, drift, deltas), drift=drift,
                  desired_fingerprint=mine, actual_fingerprint=theirs)


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
                      reason=_enrolment_withdrawal(spec, "suspend")
                      or f"gone from the source; soft delete: {policy.field} = {policy.value!r}",
                      actual_fingerprint=compared_fingerprint(spec, actual))
    return Change(Action.DELETE, actual.address, actual.label,
                  reason=_enrolment_withdrawal(spec, "unenrol") or "gone from the source; row removed",
                  actual_fingerprint=compared_fingerprint(spec, actual))


def _enrolment_withdrawal(spec: Spec, action: str) -> str:
    """What a delete does to a course enrolment, in the plan line: the operator chose it
    (``[moodle] withdrawn_enrolment``), and suspend keeps the grades where unenrol does not."""
    if spec.moodle_resource != "enrolment":
        return ""
    kept = "; grades stay" if action == "suspend" else ""
    return f"gone from the source; {action} the enrolment ([moodle] withdrawn_enrolment = {action!r}{kept})"


def is_retired(spec: Spec, record: Record) -> bool:
    """A target row already soft-deleted: it stays for the dashboard, but is no live parent."""
    policy = spec.delete
    return policy.policy == "soft" and policy.field is not None and record.fields.get(policy.field) == policy.value


def diff_kind(
    spec: Spec,
    desired: Mapping[str, Record],
    actual: Mapping[str, Record],
    known: Known,
    keys: set[str] | None = None,
    retired: Mapping[str, set[str]] = _NO_RETIRED,
) -> list[Change]:
    """Changes for one kind, sorted by key. ``keys`` limits the diff to those records;
    ``retired`` names dependencies that exist only as soft-deleted target rows."""
    scope = set(desired) | set(actual) if keys is None else keys
    changes: list[Change] = []
    for key in sorted(scope):
        want, have = desired.get(key), actual.get(key)
        if want is not None and have is not None and _in_sync(spec, want, have):
            continue  # most keys of a full run: nothing to build, nothing to say
        change: Change | None = _unreadable(spec, want, have)
        if change is not None:
            pass
        elif want is not None and want.blocked:
            change = _held(spec, want, have)
        elif want is not None and have is None:
            change = _create(spec, want, known, retired)
        elif want is not None and have is not None:
            change = _update(spec, want, have, known, retired)
        elif have is not None:
            change = _delete(spec, have)
        else:
            change = None
        if change is not None:
            changes.append(change)
    return changes
