"""Engine behaviour on small, hand-written states."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.errors import PlanError, StalePlan
from reconciler.model import Action, Address
from reconciler.plan import Plan
from reconciler.render import render_json, render_text
from reconciler.specs import load_specs

SPECS = {k: v for k, v in load_specs().items() if k in ("teacher", "program", "unit", "student", "class", "enrollment")}


def row(kind: str, **values: Any) -> dict[str, Any]:
    return {name: None for name in SPECS[kind].fields} | values


def engine_for(desired: dict[str, Any], actual: dict[str, Any], safety: Safety | None = None) -> tuple[Engine, MemoryProvider]:
    target = MemoryProvider("moodle", copy.deepcopy(actual))
    source = MemoryProvider("zoho", copy.deepcopy(desired))
    return Engine(SPECS, {"zoho": source, "moodle": target}, safety), target


def plan_of(engine: Engine, **kwargs: Any) -> Plan:
    return asyncio.run(engine.plan(**kwargs))


def test_enrollment_whose_student_is_missing_everywhere_is_blocked_naming_the_student() -> None:
    engine, _ = engine_for(
        {"class": {"C1": row("class")}, "enrollment": {"E1": row("enrollment", zoho_student_id="S404", zoho_class_id="C1")}},
        {},
    )
    plan = plan_of(engine)
    blocked = [c for c in plan.changes if c.action is Action.BLOCKED]
    assert [str(c.address) for c in blocked] == ["enrollment.E1"]
    assert blocked[0].blocked_by == (Address("student", "S404"),)
    assert "student.S404" in render_text(plan)
    assert plan.summary.line == "Plan: 1 to create, 0 to update, 0 to delete, 1 blocked."


def test_parents_are_created_before_children_and_deleted_after() -> None:
    engine, _ = engine_for(
        {"student": {"S1": row("student")}, "class": {"C1": row("class")},
         "enrollment": {"E1": row("enrollment", zoho_student_id="S1", zoho_class_id="C1")}},
        {"student": {"S9": row("student", status="Active")}, "enrollment": {"E9": row("enrollment", status="Active")}},
    )
    order = [(c.action, c.address.kind) for c in plan_of(engine).changes]
    kinds_created = [k for a, k in order if a is Action.CREATE]
    assert kinds_created.index("enrollment") > kinds_created.index("student")
    deleted = [k for a, k in order if a is Action.DELETE]
    assert deleted == ["enrollment", "student"], order


def test_soft_delete_already_in_place_is_no_change() -> None:
    engine, _ = engine_for({}, {"student": {"S1": row("student", status="Deleted")}})
    assert plan_of(engine).summary.line == "No changes."


def test_update_carries_only_changed_fields_plus_riders() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", city="Irbid", zoho_modified_time=2)}},
                           {"student": {"S1": row("student", city="Amman", zoho_modified_time=1)}})
    (change,) = plan_of(engine).changes
    assert change.action is Action.UPDATE
    assert change.after == {"city": "Irbid", "zoho_created_time": None, "zoho_modified_time": 2}
    assert not change.drift


def test_moodle_side_edit_is_reported_as_drift() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", city="Irbid", zoho_modified_time=5)}},
                           {"student": {"S1": row("student", city="Hacked", zoho_modified_time=5)}})
    plan = plan_of(engine)
    assert [str(c.address) for c in plan.drifted] == ["student.S1"]
    assert "Drift:" in render_text(plan)


def test_moodle_owned_field_differing_alone_plans_no_change() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", moodle_user_id=None)}},
                           {"student": {"S1": row("student", moodle_user_id=77)}})
    assert plan_of(engine).summary.line == "No changes."


def test_moodle_owned_field_is_not_written_when_the_record_is_updated() -> None:
    engine, target = engine_for({"student": {"S1": row("student", city="Irbid", moodle_user_id=None)}},
                                {"student": {"S1": row("student", city="Amman", moodle_user_id=77)}})
    (change,) = plan_of(engine).changes
    assert "moodle_user_id" not in (change.after or {}), f"the update carries a Moodle-owned field: {change.after}"
    asyncio.run(engine.apply(plan_of(engine)))
    assert target.write_calls == 1, "the city update was not applied"
    stored = target.data["student"]["S1"]
    assert (stored["city"], stored["moodle_user_id"]) == ("Irbid", 77), f"after apply: {stored}"


def test_sensitive_values_are_masked_in_text_and_json() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", national_id="9981234567", city="Amman")}}, {})
    plan = plan_of(engine)
    assert "9981234567" not in render_text(plan)
    assert "9981234567" not in render_json(plan)
    assert "(sensitive)" in render_text(plan)


def test_mass_delete_is_refused_unless_allowed() -> None:
    actual = {"student": {f"S{i}": row("student", status="Active") for i in range(30)}}
    engine, target = engine_for({}, actual, Safety(max_delete_fraction=0.2, max_delete_floor=5))
    plan = plan_of(engine)
    assert plan.warnings, "30 of 30 deletions should warn"
    with pytest.raises(PlanError, match="mass delete"):
        asyncio.run(engine.apply(plan))
    assert target.write_calls == 0
    asyncio.run(engine.apply(plan, allow_mass_delete=True))
    assert all(r["status"] == "Deleted" for r in target.data["student"].values())


def test_saved_plan_is_refused_when_a_record_changed_since(tmp_path) -> None:
    engine, target = engine_for({"student": {"S1": row("student", city="Irbid"), "S2": row("student", city="Aqaba")}},
                                {"student": {"S1": row("student", city="Amman"), "S2": row("student", city="Amman")}})
    path = tmp_path / "plan.json"
    plan_of(engine).save(path)
    target.data["student"]["S2"]["city"] = "Zarqa"  # someone edits Moodle in between
    with pytest.raises(StalePlan, match="student.S2"):
        asyncio.run(engine.apply(Plan.load(path), saved=True))
    assert target.data["student"]["S1"]["city"] == "Amman", "a stale plan must write nothing"


def test_saved_plan_round_trips_and_applies_when_fresh(tmp_path) -> None:
    engine, target = engine_for({"student": {"S1": row("student", city="Irbid")}}, {})
    path = tmp_path / "plan.json"
    plan_of(engine).save(path)
    results = asyncio.run(engine.apply(Plan.load(path), saved=True))
    assert [r.ok for r in results] == [True]
    assert target.data["student"]["S1"]["city"] == "Irbid"


def test_child_of_a_failed_parent_is_skipped_not_written() -> None:
    engine, target = engine_for(
        {"student": {"S1": row("student")}, "class": {"C1": row("class")},
         "enrollment": {"E1": row("enrollment", zoho_student_id="S1", zoho_class_id="C1")}},
        {},
    )
    target.fail_keys = {"S1"}
    results = {str(r.address): r for r in asyncio.run(engine.apply(plan_of(engine)))}
    assert results["enrollment.E1"].status == "skipped"
    assert "student.S1" in results["enrollment.E1"].error
    assert "E1" not in target.data.get("enrollment", {})


def test_targeted_plan_only_touches_named_addresses() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", city="Irbid"), "S2": row("student", city="Aqaba")}}, {})
    plan = plan_of(engine, targets=[Address("student", "S2")])
    assert [str(c.address) for c in plan.changes] == ["student.S2"]


def test_targeted_enrollment_pulls_in_a_parent_that_exists_only_in_zoho() -> None:
    engine, _ = engine_for({"class": {"C1": row("class")},
                            "enrollment": {"E1": row("enrollment", zoho_student_id="S1", zoho_class_id="C1")}},
                           {"student": {"S1": row("student")}})
    plan = plan_of(engine, targets=[Address("enrollment", "E1")])
    assert [(c.action, str(c.address)) for c in plan.changes] == [(Action.CREATE, "class.C1"), (Action.CREATE, "enrollment.E1")]


def test_mass_delete_limit_counts_only_live_records() -> None:
    gone = {f"D{i}": row("student", status="Deleted") for i in range(80)}
    live = {f"S{i}": row("student", status="Active") for i in range(20)}
    engine, _ = engine_for({}, {"student": gone | live}, Safety(max_delete_fraction=0.2, max_delete_floor=5))
    (warning,) = plan_of(engine).warnings
    assert "20 of 20 live records" in warning


def test_transient_failure_stops_the_apply_and_reports_every_change() -> None:
    from reconciler.errors import TransientError

    engine, target = engine_for({"student": {"S1": row("student")}, "class": {"C1": row("class")},
                                 "enrollment": {"E1": row("enrollment", zoho_student_id="S1", zoho_class_id="C1")}}, {})

    async def unavailable(spec, changes, **_):
        raise TransientError("Moodle kept failing with HTTP 503")

    target.apply = unavailable  # type: ignore[method-assign]
    results = asyncio.run(engine.apply(plan_of(engine)))
    assert sorted((str(r.address), r.status) for r in results) == [
        ("class.C1", "error"), ("enrollment.E1", "skipped"), ("student.S1", "skipped")], results
    assert all("503" in r.error for r in results)


def test_datetimes_show_as_iso_utc_in_the_plan() -> None:
    engine, _ = engine_for({"student": {"S1": row("student", city="Irbid", zoho_modified_time=1769326200)}}, {})
    assert "zoho_modified_time = 2026-01-25T07:30:00Z" in render_text(plan_of(engine))


def test_json_rendering_masks_a_copy_so_a_saved_plan_keeps_the_real_values(tmp_path) -> None:
    engine, target = engine_for({"student": {"S1": row("student", national_id="9981234567")}}, {})
    plan = plan_of(engine)
    assert "9981234567" not in render_json(plan)
    path = tmp_path / "plan.json"
    plan.save(path)
    asyncio.run(engine.apply(Plan.load(path), saved=True))
    assert target.data["student"]["S1"]["national_id"] == "9981234567"
