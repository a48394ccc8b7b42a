"""Property tests of the diff/apply invariants (hypothesis).

For random desired and actual states of a kind with a dependency:
- apply, then plan → nothing but blocked changes (blocked ones cannot be applied);
- apply twice = apply once: the second apply makes zero write calls and leaves the
  same target state;
- the plan is deterministic: the same changes in the same order whatever order the
  systems list their records in.

Field types and their spellings are exercised through the Moodle emulator in
``test_property_emulator.py``; here the states are about keys, dependencies and deletes.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.model import Action
from reconciler.specs import load_specs

SPECS = {k: v for k, v in load_specs().items() if k in ("teacher", "program", "unit", "student", "class", "enrollment")}
NO_GUARD = Safety(max_delete_fraction=1.0, max_delete_floor=10**6)

keys = st.sampled_from([f"{n:04d}" for n in range(8)])
cities = st.sampled_from([None, "Amman", "Irbid", "Zarqa"])
statuses = st.sampled_from([None, "Active", "Deleted", "Graduated"])


def _student(city: str | None, status: str | None, stamp: int) -> dict[str, Any]:
    fields = {name: None for name in SPECS["student"].fields}
    return fields | {"city": city, "status": status, "first_name": "Ali", "zoho_modified_time": stamp}


def _enrollment(student: str, klass: str) -> dict[str, Any]:
    fields = {name: None for name in SPECS["enrollment"].fields}
    return fields | {"zoho_student_id": student, "zoho_class_id": klass, "status": "Active"}


students = st.dictionaries(keys, st.builds(_student, cities, statuses, st.integers(0, 3)), max_size=6)
enrollments = st.dictionaries(keys, st.builds(_enrollment, keys, st.just("C1")), max_size=6)
klass = {"C1": {name: None for name in SPECS["class"].fields} | {"class_name": "Unit 1"}}


def _engine(desired: dict[str, Any], actual: dict[str, Any]) -> tuple[Engine, MemoryProvider]:
    target = MemoryProvider("moodle", copy.deepcopy(actual))
    return Engine(SPECS, {"zoho": MemoryProvider("zoho", copy.deepcopy(desired)), "moodle": target}, NO_GUARD), target


@settings(max_examples=150)
@given(students, students, enrollments, enrollments)
def test_apply_then_plan_leaves_only_blocked_changes(want_s, have_s, want_e, have_e) -> None:
    engine, _ = _engine({"student": want_s, "class": klass, "enrollment": want_e},
                        {"student": have_s, "class": {}, "enrollment": have_e})

    async def scenario() -> None:
        first = await engine.plan()
        await engine.apply(first)
        second = await engine.plan()
        leftovers = [c for c in second.changes if c.action is not Action.BLOCKED]
        assert leftovers == [], f"plan after apply still has {[(c.action.verb, str(c.address)) for c in leftovers]}"
        assert {str(c.address) for c in second.changes} == {str(c.address) for c in first.changes
                                                             if c.action is Action.BLOCKED}

    asyncio.run(scenario())


@settings(max_examples=150)
@given(students, students, enrollments, enrollments)
def test_apply_twice_equals_apply_once_with_zero_writes(want_s, have_s, want_e, have_e) -> None:
    engine, target = _engine({"student": want_s, "class": klass, "enrollment": want_e},
                             {"student": have_s, "class": {}, "enrollment": have_e})

    async def scenario() -> None:
        await engine.apply(await engine.plan())
        after_once = copy.deepcopy(target.data)
        writes = target.write_calls
        await engine.apply(await engine.plan())
        assert target.write_calls == writes, f"second apply made {target.write_calls - writes} write calls"
        assert target.data == after_once

    asyncio.run(scenario())


def _reversed(state: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {kind: dict(reversed(list(rows.items()))) for kind, rows in reversed(list(state.items()))}


@settings(max_examples=100)
@given(students, students, enrollments, enrollments)
def test_the_plan_does_not_depend_on_the_order_records_are_read_in(want_s, have_s, want_e, have_e) -> None:
    desired = {"student": want_s, "class": klass, "enrollment": want_e}
    actual = {"student": have_s, "class": {}, "enrollment": have_e}
    once = asyncio.run(_engine(desired, actual)[0].plan())
    again = asyncio.run(_engine(_reversed(desired), _reversed(actual))[0].plan())

    def shape(changes: list[Any]) -> list[tuple[str, str, Any, Any]]:
        return [(c.action.verb, str(c.address), c.after, c.blocked_by) for c in changes]

    assert shape(again.changes) == shape(once.changes)
