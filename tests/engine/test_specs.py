"""Spec loading: valid specs load; a broken spec names file, kind and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.mapping import moodle_row, record_from_moodle, record_from_zoho
from reconciler.providers.zoho import zoho_fields
from reconciler.specs import load_spec, load_specs, order_kinds

GOOD = """
kind = "widget"
source = { system = "zoho", module = "Widgets" }
target = { system = "moodle", table = "local_mzi_widgets" }
key = { zoho = "id", moodle = "zoho_widget_id" }
delete = { policy = "soft", field = "status", value = "Deleted" }
[fields]
status = { zoho = "Status", type = "picklist" }
"""


def write(tmp_path: Path, text: str, name: str = "widget.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_specs_load_in_dependency_order() -> None:
    specs = load_specs()
    order = order_kinds(specs)
    assert order.index("student") < order.index("enrollment")
    assert order.index("class") < order.index("enrollment")


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (GOOD.replace('type = "picklist"', 'type = "colour"'), "fields.status.type"),
        (GOOD.replace('value = "Deleted"', 'value = ""'), "soft delete needs"),
        (GOOD.replace('system = "moodle"', 'system = "canvas"'), "target.system"),
        (GOOD + 'oops = { zoho = "Oops", type = "string", colour = "red" }\n', "fields.oops.colour"),
        (GOOD + 'Bad_Name = { zoho = "X" }\n', "lowercase Moodle column"),
        (GOOD.replace('kind = "widget"', 'kind = "widget"\ndepends_on = [{ kind = "gadget", field = "nope" }]'),
         "depends_on names field 'nope'"),
        (GOOD + 'crit = { zoho = ["P1_description"], type = "json" }\n', "btec_criteria"),
    ],
)
def test_invalid_spec_error_names_file_kind_and_field(tmp_path: Path, broken: str, expected: str) -> None:
    path = write(tmp_path, broken)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert str(path) in message and "'widget'" in message and expected in message, message


def test_malformed_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "kind = \n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(path)


def test_user_specs_dir_overrides_a_bundled_kind(tmp_path: Path) -> None:
    bundled = (load_specs()["student"].path).read_text(encoding="utf-8")
    write(tmp_path, bundled.replace('label = "{display_name} ({student_id})"', 'label = "{student_id}"'), "student.toml")
    assert load_specs(tmp_path)["student"].label == "{student_id}"


def test_unknown_dependency_kind_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('kind = "widget"', 'kind = "widget"\ndepends_on = [{ kind = "gadget", field = "status" }]')
    write(tmp_path, text)
    with pytest.raises(SpecError, match="unknown kind 'gadget'"):
        load_specs(tmp_path)


def test_zoho_record_maps_lookups_picklists_dates_and_zones() -> None:
    specs = load_specs()
    raw = {
        "id": "5847596000000100001", "Name": "ENR-0001",
        "Enrolled_Students": {"id": "5847596000000200001", "name": "Ali Saleh"},
        "Classes": {"id": "5847596000000300001", "name": "Unit 1 - Programming"},
        "Start_Date": "2026-09-01", "Enrollment_Type": "-None-",
        "Modified_Time": "2026-01-25T10:30:00+03:00",
    }
    record = record_from_zoho(specs["enrollment"], dict.fromkeys(zoho_fields(specs["enrollment"])) | raw)
    assert record.fields["zoho_student_id"] == "5847596000000200001"
    assert record.fields["student_name"] == "Ali Saleh"
    assert record.fields["enrollment_type"] is None
    assert record.fields["status"] == "Active"
    assert record.fields["zoho_modified_time"] == 1769326200
    assert record.label == "Ali Saleh in Unit 1 - Programming"


def test_moodle_row_round_trips_through_record_from_moodle() -> None:
    spec = load_specs()["student"]
    zoho = record_from_zoho(spec, dict.fromkeys(zoho_fields(spec)) | {
        "id": "1", "Name": "S-1", "City": "Irbid", "Birth_Date": "2004-05-06", "Modified_Time": "2026-01-25T10:30:00+03:00"})
    row = moodle_row(spec, "1", zoho.fields)
    assert "moodle_user_id" not in row, "a Moodle-owned column must never be sent to Moodle"
    back = record_from_moodle(spec, row | {"moodle_user_id": None})
    assert {k: v for k, v in back.fields.items() if k != "moodle_user_id"} == zoho.fields
