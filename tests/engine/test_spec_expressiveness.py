"""The spec format expresses every mapping DOMAIN.md needs, including kinds to come."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fakes import MemoryProvider
from reconciler.engine import Engine
from reconciler.mapping import record_from_moodle, record_from_zoho, zoho_row
from reconciler.model import Action
from reconciler.specs import load_spec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"


def test_decimals_from_text_and_subform_json_compare_canonically() -> None:
    spec = load_spec(FIXTURES / "registration.toml")
    raw = {
        "id": "R1", "Name": "REG-1", "Program": {"id": "P1", "name": "Level 3 Business"},
        "Program_Price": "3,500.00", "Remaining_Amount": "1250.5", "Registration_Status": None,
        "Payment_Schedule": [
            {"id": "row1", "Installment_Number": 1, "Due_Date": "2026-10-01", "Amount": 1250.5, "Status": "Paid"},
            {"id": "row2", "Installment_Number": 2, "Due_Date": "2027-01-01", "Amount": 1250.5, "Status": "-None-"},
        ],
    }
    zoho = record_from_zoho(spec, raw)
    assert zoho.fields["total_fees"] == "3500" and zoho.fields["remaining_amount"] == "1250.5"
    assert zoho.fields["schedule"][1] == {"Amount": 1250.5, "Due_Date": "2027-01-01", "Installment_Number": 2}
    moodle = record_from_moodle(spec, {
        "zoho_registration_id": "R1", "registration_number": "REG-1", "zoho_program_id": "P1",
        "program_name": "Level 3 Business", "total_fees": "3500.00", "remaining_amount": "1250.50",
        "registration_status": None,
        "schedule": '[{"Status":"Paid","Installment_Number":1,"Due_Date":"2026-10-01","Amount":1250.5},'
                    '{"Installment_Number":2,"Due_Date":"2027-01-01","Amount":1250.5}]',
    })
    assert moodle.fields == zoho.fields, "no false drift between Zoho's and Moodle's spelling"


def test_btec_criteria_fold_into_one_list_dropping_empty_ones() -> None:
    spec = load_spec(FIXTURES / "unit.toml")
    record = record_from_zoho(spec, {"id": "U1", "Name": "Programming", "P1_description": "Explain",
                                     "P2_description": "", "M1_description": "Analyse", "D1_description": None})
    assert record.fields["criteria"] == [
        {"code": "P1", "description": "Explain", "level": "pass"},
        {"code": "M1", "description": "Analyse", "level": "merit"},
    ]


def test_reverse_direction_writes_moodle_ids_to_zoho_through_the_same_engine() -> None:
    spec = load_spec(FIXTURES / "student_link.toml")
    moodle = MemoryProvider("moodle", {"student_link": {"S1": {"moodle_user_id": "42"}, "S2": {"moodle_user_id": "7"}}})
    zoho = MemoryProvider("zoho", {"student_link": {"S1": {"moodle_user_id": None}, "S2": {"moodle_user_id": "7"}}})
    engine = Engine({"student_link": spec}, {"moodle": moodle, "zoho": zoho})
    plan = asyncio.run(engine.plan())
    assert [(c.action, str(c.address), c.after) for c in plan.changes] == [(Action.UPDATE, "student_link.S1", {"moodle_user_id": "42"})]
    assert zoho_row(spec, "S1", plan.changes[0].after) == {"id": "S1", "Student_Moodle_ID": "42"}
    assert record_from_zoho(spec, {"id": "S1", "Student_Moodle_ID": "42"}).fields == {"moodle_user_id": "42"}
