"""Composite keys and subform sources in specs: what loads, what is refused and how it is named,
and the rows of a subform read as Records (unreadable rows per record, never a crash)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import SpecError
from reconciler.mapping import moodle_row, record_from_moodle, subform_records
from reconciler.specs import Spec, load_spec, load_specs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "installment"
SPEC: Spec = load_specs(FIXTURES)["installment"]

HEADER = '''kind = "installment"
source = {source}
target = {{ system = "moodle", table = "local_mzi_installments" }}
key = {key}
[fields]
'''
SUBFORM = '{ system = "zoho", module = "BTEC_Registrations", subform = "Payment_Schedule" }'
COMPOSITE = '{ moodle = ["zoho_registration_id", "installment_number"] }'
PARENT_ID = 'zoho_registration_id = { zoho = "$parent.id", type = "string" }\n'
NUMBER = 'installment_number = { zoho = "Installment_Number", type = "int" }\n'


def _load(tmp_path: Path, fields: str, source: str = SUBFORM, key: str = COMPOSITE) -> Spec:
    path = tmp_path / "installment.toml"
    path.write_text(HEADER.format(source=source, key=key) + fields, encoding="utf-8")
    return load_spec(path)


def _refused(tmp_path: Path, fields: str, **kwargs: str) -> str:
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, fields, **kwargs)
    message = str(caught.value)
    assert "installment.toml" in message and "'installment'" in message, message
    return message


def test_the_installment_spec_loads_with_a_composite_key_from_the_parent_and_the_row() -> None:
    assert SPEC.key.columns == ("zoho_registration_id", "installment_number") and SPEC.key.composite
    assert SPEC.subform == "Payment_Schedule" and SPEC.parent_field == "zoho_registration_id"
    assert SPEC.split_key("5847596000000101234:2") == {"zoho_registration_id": "5847596000000101234",
                                                       "installment_number": "2"}
    assert SPEC.parent_of("5847596000000101234:?3") == "5847596000000101234"


def test_a_composite_key_column_missing_from_fields_is_refused_naming_it(tmp_path: Path) -> None:
    message = _refused(tmp_path, PARENT_ID)
    assert "key column 'installment_number'" in message and "not in [fields]" in message, message


def test_a_composite_key_needs_two_columns(tmp_path: Path) -> None:
    message = _refused(tmp_path, PARENT_ID, key='{ moodle = ["zoho_registration_id"] }')
    assert "key.moodle" in message and "two or more columns" in message, message


def test_a_sensitive_key_column_is_refused(tmp_path: Path) -> None:
    sensitive = 'installment_number = { zoho = "Installment_Number", type = "int", sensitive = true }\n'
    message = _refused(tmp_path, PARENT_ID + sensitive)
    assert "'installment_number'" in message and "cannot be sensitive" in message, message


def test_a_subform_source_needs_a_composite_key_with_the_parent_id(tmp_path: Path) -> None:
    single = _refused(tmp_path, NUMBER, key='{ moodle = "zoho_registration_id" }')
    assert "a subform kind needs a composite key" in single, single
    no_parent = _refused(tmp_path, 'zoho_registration_id = { zoho = "Registration", type = "string" }\n' + NUMBER)
    assert 'read from the parent\'s id (zoho = "$parent.id")' in no_parent, no_parent


def test_parent_fields_and_subforms_only_where_they_mean_something(tmp_path: Path) -> None:
    plain = '{ system = "zoho", module = "BTEC_Registrations" }'
    message = _refused(tmp_path, PARENT_ID + NUMBER, source=plain)
    assert "field 'zoho_registration_id' reads $parent." in message, message
    moodle_source = '{ system = "moodle", table = "local_mzi_installments", subform = "Payment_Schedule" }'
    with pytest.raises(SpecError, match="source: Value error, `subform` names a Zoho subform field"):
        path = tmp_path / "x.toml"
        path.write_text('kind = "x"\nsource = ' + moodle_source + '\ntarget = { system = "zoho", module = "M" }\n'
                        'key = { moodle = "a" }\n[fields]\n', encoding="utf-8")
        load_spec(path)


def test_a_composite_key_of_plain_fields_needs_no_subform(tmp_path: Path) -> None:
    plain = '{ system = "zoho", module = "BTEC_Grades" }'
    spec = _load(tmp_path, 'zoho_registration_id = { zoho = "Registration", type = "lookup_id" }\n' + NUMBER,
                 source=plain)
    record = record_from_moodle(spec, {"zoho_registration_id": "58", "installment_number": "07"})
    assert record.address.key == "58:7"


# ------------------------------------------------------------------ subform rows as Records

def _row(number: Any, amount: Any = 125.5, **extra: Any) -> dict[str, Any]:
    return {"id": f"row{number}", "Installment_Number": number, "Due_Date": "2026-10-01", "Amount": amount,
            "Status": "Pending", "Paid_Date": None} | extra


def test_rows_become_records_keyed_by_parent_and_number_alike_on_both_sides() -> None:
    rows = subform_records(SPEC, {"id": "58", "Payment_Schedule": [_row(1), _row("2"), _row(3.0)]})
    assert [r.address.key for r in rows] == ["58:1", "58:2", "58:3"] and not any(r.error for r in rows)
    moodle = record_from_moodle(SPEC, {"zoho_registration_id": "58", "installment_number": 2, "due_date": "2026-10-01",
                                       "amount": "125.50", "status": "Pending", "paid_date": None})
    assert moodle.address == rows[1].address and moodle.fields == rows[1].fields, (moodle.fields, rows[1].fields)


def test_an_empty_schedule_gives_no_records() -> None:
    assert subform_records(SPEC, {"id": "58", "Payment_Schedule": None}) == []
    assert subform_records(SPEC, {"id": "58", "Payment_Schedule": []}) == []


def test_a_row_without_a_number_is_unreadable_alone_and_addressed_by_its_position() -> None:
    rows = subform_records(SPEC, {"id": "58", "Payment_Schedule": [_row(1), _row(None), _row("x")]})
    by_key = {r.address.key: r for r in rows}
    assert sorted(by_key) == ["58:1", "58:?2", "58:?3"], sorted(by_key)
    assert not by_key["58:1"].error
    assert by_key["58:?2"].error == ("row 2 of Payment_Schedule: key field installment_number (Zoho Installment_Number) "
                                     "is empty; a record without it cannot be told apart")
    assert "row 3 of Payment_Schedule: key field installment_number" in by_key["58:?3"].error, by_key["58:?3"].error


def test_two_rows_with_the_same_number_are_one_unreadable_record_naming_both() -> None:
    rows = subform_records(SPEC, {"id": "58", "Payment_Schedule": [_row(1), _row(2), _row(2, amount=99)]})
    by_key = {r.address.key: r for r in rows}
    assert sorted(by_key) == ["58:1", "58:2"]
    assert by_key["58:2"].error == "rows 2 and 3 of Payment_Schedule have the same key 58:2; each row needs its own"


def test_a_bad_value_fails_its_row_under_its_own_address() -> None:
    rows = subform_records(SPEC, {"id": "58", "Payment_Schedule": [_row(1, amount="a lot"), _row(2), "junk"]})
    by_key = {r.address.key: r for r in rows}
    assert sorted(by_key) == ["58:1", "58:2", "58:?3"]
    assert by_key["58:1"].error.startswith("row 1 of Payment_Schedule: field amount (Zoho Amount)"), by_key["58:1"].error
    assert by_key["58:?3"].error == "row 3 of Payment_Schedule is not a row"


def test_a_misspelt_subform_or_column_is_said_so_per_record() -> None:
    missing = subform_records(SPEC, {"id": "58"})
    assert [(r.address.key, r.error) for r in missing] == [
        ("58:?", "subform Payment_Schedule: Zoho did not return it; check the spec's source.subform")]
    row = _row(1)
    del row["Due_Date"]
    (record,) = subform_records(SPEC, {"id": "58", "Payment_Schedule": [row]})
    assert "Zoho did not return this field" in record.error, record.error


def test_an_update_row_for_moodle_carries_both_key_columns() -> None:
    assert moodle_row(SPEC, "58:2", {"amount": "130"}, ("amount",)) == {
        "zoho_registration_id": "58", "installment_number": "2", "amount": "130"}
