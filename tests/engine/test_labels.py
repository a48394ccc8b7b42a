"""Plan labels name the people and classes a record refers to, from records already read."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from fakes import MemoryProvider
from reconciler.engine import Engine
from reconciler.model import Address
from reconciler.plan import Plan
from reconciler.specs import load_specs

SPECS = {k: v for k, v in load_specs().items()
         if k in ("teacher", "program", "unit", "student", "class", "enrollment", "registration", "installment")}


def row(kind: str, **values: Any) -> dict[str, Any]:
    return {name: None for name in SPECS[kind].fields} | values


ZOHO = {
    "student": {"S1": row("student", display_name="نور بني هاني", student_id="STU-000001")},
    "class": {"C1": row("class", class_name="Networking G2", class_number="CLS-000020")},
    "enrollment": {"E1": row("enrollment", zoho_student_id="S1", student_name="STU-000001",
                             zoho_class_id="C1", class_name="CLS-000020")},
}


def plan_of(desired: dict[str, Any], actual: dict[str, Any] | None = None, **kwargs: Any) -> tuple[Plan, MemoryProvider]:
    source = MemoryProvider("zoho", copy.deepcopy(desired))
    engine = Engine(SPECS, {"zoho": source, "moodle": MemoryProvider("moodle", copy.deepcopy(actual or {}))})
    return asyncio.run(engine.plan(**kwargs)), source


def label(plan: Plan, address: str) -> str:
    return next(c.label for c in plan.changes if str(c.address) == address)


def test_enrollment_label_names_the_student_and_the_class_it_read() -> None:
    plan, _ = plan_of(ZOHO)
    assert label(plan, "enrollment.E1") == "نور بني هاني (STU-000001) in Networking G2 (CLS-000020)"


def test_names_come_from_records_already_read_without_extra_reads() -> None:
    _, source = plan_of(ZOHO)
    assert source.read_calls == len(SPECS)  # one read per kind, as without names


def test_a_targeted_run_that_did_not_read_the_student_keeps_the_numbers() -> None:
    in_sync = {"student": ZOHO["student"], "class": ZOHO["class"]}
    plan, _ = plan_of(ZOHO, in_sync, targets=[Address("enrollment", "E1")])
    # student and class are in Moodle already: only checked to exist, not in the plan's
    # reads, so the label falls back to what the enrollment itself holds
    assert label(plan, "enrollment.E1") == "STU-000001 in CLS-000020"


def test_a_reference_to_a_record_nobody_has_keeps_the_value_the_record_holds() -> None:
    zoho = copy.deepcopy(ZOHO)
    zoho["enrollment"]["E1"] |= {"zoho_student_id": "S404", "student_name": "STU-000404"}
    plan, _ = plan_of(zoho)
    assert label(plan, "enrollment.E1") == "STU-000404 in Networking G2 (CLS-000020)"


def test_references_are_followed_through_a_parent_that_names_its_own() -> None:
    zoho = copy.deepcopy(ZOHO) | {
        "program": {"P1": row("program", program_name="HND Computing", program_code="PRG-1")},
        "registration": {"R1": row("registration", registration_number="REG-000002", program_name="HND Computing",
                                   zoho_student_id="S1", zoho_program_id="P1")},
        "installment": {"R1:1": row("installment", zoho_registration_id="R1", installment_number=1,
                                    due_date="2026-06-29")},
    }
    plan, _ = plan_of(zoho)
    assert label(plan, "installment.R1:1") == ("installment 1 of REG-000002 (HND Computing) of "
                                               "نور بني هاني (STU-000001), due 2026-06-29")
