"""Plans you can trust (issue 7): the engine never guesses, never deletes on a miss.

Each test here failed before the fix it names; they run on the in-memory providers so
the rule under test is the only moving part.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Collection
from datetime import datetime
from typing import Any

import pytest

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.errors import MziError, PlanError, StalePlan
from reconciler.model import Action, Address, Record
from reconciler.plan import Plan, binding_mismatch
from reconciler.render import render_text
from reconciler.specs import Spec, load_specs

SPECS = {k: v for k, v in load_specs().items() if k in ("teacher", "program", "unit", "student", "class", "enrollment")}


def row(kind: str, **values: Any) -> dict[str, Any]:
    return {name: None for name in SPECS[kind].fields} | values


def student(**values: Any) -> dict[str, Any]:
    return row("student", status="Active", city="Amman", first_name="Nour", zoho_modified_time=1) | values


def engine_for(desired: dict[str, Any], actual: dict[str, Any],
               safety: Safety | None = None) -> tuple[Engine, MemoryProvider, MemoryProvider]:
    source = MemoryProvider("zoho", copy.deepcopy(desired))
    target = MemoryProvider("moodle", copy.deepcopy(actual))
    return Engine(SPECS, {"zoho": source, "moodle": target}, safety), source, target


def plan_of(engine: Engine, **kwargs: Any) -> Plan:
    return asyncio.run(engine.plan(**kwargs))


def by_address(plan: Plan) -> dict[str, Any]:
    return {str(c.address): c for c in plan.changes}


# -------------------------------------------------- item 1: the mass-blank guard

def test_emptying_one_field_on_most_live_records_is_refused_unless_allowed() -> None:
    actual = {"student": {f"S{i}": student() for i in range(30)}}
    desired = {"student": {f"S{i}": student(city=None) for i in range(30)}}
    engine, _, target = engine_for(desired, actual, Safety(max_delete_fraction=0.2, max_delete_floor=5))
    plan = plan_of(engine)
    assert any("city would be emptied on 30 of 30 live records" in w for w in plan.warnings), plan.warnings
    with pytest.raises(PlanError, match="mass blanking"):
        asyncio.run(engine.apply(plan))
    assert target.write_calls == 0, "a refused apply must write nothing"
    asyncio.run(engine.apply(plan, allow_mass_delete=True))
    assert all(r["city"] is None for r in target.data["student"].values())


def test_emptying_a_field_on_a_few_records_is_not_guarded() -> None:
    actual = {"student": {f"S{i}": student() for i in range(30)}}
    desired = {"student": {f"S{i}": student(city=None if i < 3 else "Amman") for i in range(30)}}
    engine, _, _ = engine_for(desired, actual, Safety(max_delete_fraction=0.2, max_delete_floor=5))
    assert plan_of(engine).warnings == []


# -------------------------------------------------- item 3: no false deletes

class ShiftingSource(MemoryProvider):
    """A source whose full read skips records (Zoho's offset pages shifting under a
    concurrent delete) but which still answers for them by id."""

    def __init__(self, data: dict[str, Any], skipped: set[str]) -> None:
        super().__init__("zoho", data)
        self.skipped = skipped
        self.keyed_reads: list[set[str]] = []

    async def read(self, spec: Spec, keys: Collection[str] | None = None,
                   since: datetime | None = None) -> dict[str, Record]:
        records = await super().read(spec, keys, since)
        if keys is None:
            return {k: r for k, r in records.items() if k not in self.skipped}
        self.keyed_reads.append(set(keys))
        return records


def test_a_record_skipped_by_a_full_read_is_confirmed_by_id_and_not_deleted() -> None:
    data = {"student": {"S1": student(), "S2": student(city="Irbid"), "S3": student()}}
    source = ShiftingSource(copy.deepcopy(data), skipped={"S2"})
    target = MemoryProvider("moodle", {"student": {k: dict(v) | {"city": "Zarqa"} if k == "S2" else dict(v)
                                                   for k, v in data["student"].items()}})
    plan = asyncio.run(Engine(SPECS, {"zoho": source, "moodle": target}).plan(kinds=["student"]))
    changes = by_address(plan)
    assert changes["student.S2"].action is Action.UPDATE, render_text(plan)
    assert [d.new for d in changes["student.S2"].deltas] == ["Irbid"]
    assert source.keyed_reads == [{"S2"}]


def test_a_record_really_gone_from_the_source_is_still_deleted_after_the_check() -> None:
    source = ShiftingSource({"student": {"S1": student()}}, skipped=set())
    target = MemoryProvider("moodle", {"student": {"S1": student(), "S9": student()}})
    plan = asyncio.run(Engine(SPECS, {"zoho": source, "moodle": target}).plan(kinds=["student"]))
    assert [(c.action, str(c.address)) for c in plan.changes] == [(Action.DELETE, "student.S9")]
    assert source.keyed_reads == [{"S9"}]


# -------------------------------------------------- item 4: two-sided stale check

def test_a_saved_plan_is_stale_after_the_source_changed_the_same_record() -> None:
    engine, source, target = engine_for({"student": {"S1": student(city="Irbid", zoho_modified_time=2)}},
                                        {"student": {"S1": student()}})
    plan = Plan.from_dict(plan_of(engine).to_dict())
    source.data["student"]["S1"]["city"] = "Mafraq"  # edited in Zoho after the plan was made
    with pytest.raises(StalePlan, match="changed in Zoho"):
        asyncio.run(engine.apply(plan, saved=True))
    assert target.data["student"]["S1"]["city"] == "Amman", "the old planned value must not be written"


def test_moodle_owned_and_rider_fields_do_not_make_a_saved_plan_stale() -> None:
    engine, source, target = engine_for({"student": {"S1": student(city="Irbid", zoho_modified_time=2)}},
                                        {"student": {"S1": student()}})
    plan = Plan.from_dict(plan_of(engine).to_dict())
    target.data["student"]["S1"]["moodle_user_id"] = 77   # Moodle writes its own field
    source.data["student"]["S1"]["zoho_modified_time"] = 3  # Zoho bumps its stamp only
    results = asyncio.run(engine.apply(plan, saved=True))
    assert [r.ok for r in results] == [True]
    assert target.data["student"]["S1"]["city"] == "Irbid"


def test_a_saved_create_is_stale_once_the_record_appeared_in_moodle() -> None:
    engine, _, target = engine_for({"student": {"S1": student()}}, {})
    plan = Plan.from_dict(plan_of(engine).to_dict())
    target.data["student"] = {"S1": student(city="Zarqa")}
    with pytest.raises(StalePlan, match="changed in Moodle"):
        asyncio.run(engine.apply(plan, saved=True))


# -------------------------------------------------- item 8: unreadable records

class UnreadableSource(MemoryProvider):
    async def read(self, spec: Spec, keys: Collection[str] | None = None,
                   since: datetime | None = None) -> dict[str, Record]:
        records = await super().read(spec, keys, since)
        if "S1" in records:
            records["S1"] = Record.unreadable(Address(spec.kind, "S1"), "column date_of_birth is not a date "
                                                                        "(value hidden: sensitive)")
        return records


def test_an_unreadable_record_is_blocked_and_the_rest_is_planned_and_applied() -> None:
    source = UnreadableSource("zoho", {"student": {"S1": student(), "S2": student()}})
    target = MemoryProvider("moodle", {"student": {"S1": student(city="Old")}})
    engine = Engine(SPECS, {"zoho": source, "moodle": target})
    plan = asyncio.run(engine.plan(kinds=["student"]))
    changes = by_address(plan)
    assert changes["student.S1"].action is Action.BLOCKED and changes["student.S1"].unreadable
    assert "cannot be read in Zoho: column date_of_birth" in changes["student.S1"].reason
    assert changes["student.S2"].action is Action.CREATE
    assert [str(c.address) for c in plan.unreadable] == ["student.S1"]
    results = {str(r.address): r for r in asyncio.run(engine.apply(plan))}
    assert results["student.S2"].ok
    assert (results["student.S1"].ok, results["student.S1"].status) == (False, "error")
    assert target.data["student"]["S1"]["city"] == "Old", "an unreadable record is never written"


def test_an_unreadable_moodle_row_is_never_deleted() -> None:
    target = UnreadableSource("moodle", {"student": {"S1": student()}})
    engine = Engine(SPECS, {"zoho": MemoryProvider("zoho", {"student": {}}), "moodle": target})
    plan = asyncio.run(engine.plan(kinds=["student"]))
    (change,) = plan.changes
    assert (change.action, change.unreadable) == (Action.BLOCKED, True)
    assert "cannot be read in Moodle" in change.reason


# -------------------------------------------------- item 12: smaller, all real

def test_a_child_whose_parent_is_soft_deleted_in_moodle_and_gone_from_zoho_is_blocked() -> None:
    desired = {"class": {"C1": row("class")},
               "enrollment": {"E1": row("enrollment", zoho_student_id="S1", zoho_class_id="C1")}}
    actual = {"student": {"S1": student(status="Deleted")}, "class": {"C1": row("class")}}
    engine, _, _ = engine_for(desired, actual)
    change = by_address(plan_of(engine))["enrollment.E1"]
    assert change.action is Action.BLOCKED, render_text(plan_of(engine))
    assert "student.S1 is gone from Zoho and soft-deleted in Moodle" in change.reason


def test_a_renamed_referenced_record_is_a_source_change_not_moodle_drift() -> None:
    common = dict(zoho_student_id="S1", zoho_class_id="C1", zoho_modified_time=5)
    desired = {"enrollment": {"E1": row("enrollment", class_name="Unit 4 (renamed)", status="Active", **common)},
               "class": {"C1": row("class")}, "student": {"S1": student()}}
    actual = {"enrollment": {"E1": row("enrollment", class_name="Unit 4", status="Active", **common)},
              "class": {"C1": row("class")}, "student": {"S1": student()}}
    engine, _, _ = engine_for(desired, actual)
    change = by_address(plan_of(engine))["enrollment.E1"]
    assert change.action is Action.UPDATE and not change.drift
    assert change.reason == "a record it refers to was renamed in the source"


def test_a_moodle_edit_of_an_own_field_is_still_drift() -> None:
    common = dict(zoho_student_id="S1", zoho_class_id="C1", zoho_modified_time=5, class_name="Unit 4")
    desired = {"enrollment": {"E1": row("enrollment", enrollment_type="Full", status="Active", **common)}}
    actual = {"enrollment": {"E1": row("enrollment", enrollment_type="Audit", status="Active", **common)},
              "class": {"C1": row("class")}, "student": {"S1": student()}}
    engine, _, _ = engine_for(desired, actual)
    assert by_address(plan_of(engine))["enrollment.E1"].drift


def test_a_target_that_exists_nowhere_is_an_error_naming_it() -> None:
    engine, _, _ = engine_for({"student": {"S1": student()}}, {})
    with pytest.raises(MziError, match=r"student\.S999: no such record in Zoho or Moodle"):
        plan_of(engine, targets=[Address("student", "S999")])


# -------------------------------------------------- item 5: saved plans are bound

def test_a_sandbox_plan_never_binds_to_a_live_moodle() -> None:
    sandbox = {"zoho": {"backend": "sandbox", "api": "/srv/mzi/state/sandbox"},
               "moodle": {"backend": "sandbox", "url": "/srv/mzi/state/sandbox", "site": "http://moodle.sandbox"}}
    live = {"zoho": sandbox["zoho"],
            "moodle": {"backend": "live", "url": "https://moodle.abc-horizon.edu", "site": "https://moodle.abc-horizon.edu"}}
    why = binding_mismatch(sandbox, live)
    assert why is not None and "moodle backend 'sandbox'" in why and "'live'" in why, why
    assert binding_mismatch(live, live) is None


def test_a_plan_body_edited_by_hand_fails_its_checksum() -> None:
    engine, _, _ = engine_for({"student": {"S1": student(city="Mafraq", zoho_modified_time=2)}},
                              {"student": {"S1": student()}})
    data = plan_of(engine).to_dict()
    data["changes"][0]["after"]["city"] = "HACKED"
    with pytest.raises(PlanError, match="checksum mismatch"):
        Plan.from_dict(data)
