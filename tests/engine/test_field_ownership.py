"""Every field has one owner: the load-time ping-pong check, per-row ownership
(``target_owns``) in the diff, and a date written into a Zoho datetime field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.diff import diff_kind
from reconciler.errors import SpecError
from reconciler.mapping import zoho_row
from reconciler.model import Action, Address, Record
from reconciler.specs import load_spec, load_specs

BUNDLED = Path(__file__).resolve().parents[2] / "specs"


def _override(tmp_path: Path, name: str, old: str, new: str) -> None:
    text = (BUNDLED / name).read_text(encoding="utf-8")
    assert old in text, f"{name} no longer holds {old!r}"
    (tmp_path / name).write_text(text.replace(old, new), encoding="utf-8")


def test_the_bundled_specs_give_every_field_one_owner() -> None:
    specs = load_specs()
    assert specs["request"].target_owns is not None and "outbound_request" in specs


def test_two_kinds_carrying_one_field_both_ways_are_refused_naming_both_files_and_the_field(tmp_path: Path) -> None:
    text = (BUNDLED / "request.toml").read_text(encoding="utf-8")
    (tmp_path / "request.toml").write_text(text[:text.index("[target_owns]")], encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path)
    message = str(caught.value)
    assert "request.toml" in message and "outbound_request.toml" in message, message
    assert re.search(r"field '(zoho_student_id|request_type|reason|request_date|requested_classes|academic_email|"
                     r"moodle_user_id)' would have two owners", message), message


def test_a_field_left_out_of_target_owns_is_refused(tmp_path: Path) -> None:
    _override(tmp_path, "request.toml", '"request_type", ', "")
    with pytest.raises(SpecError, match=r"local_mzi_requests\.request_type from BTEC_Student_Requests\.Request_Type"):
        load_specs(tmp_path)


def test_a_reverse_kind_reading_rows_the_mirror_still_owns_is_refused(tmp_path: Path) -> None:
    _override(tmp_path, "outbound_request.toml", 'only = { origin = ["moodle"] }', 'only = { origin = ["moodle", "zoho"] }')
    with pytest.raises(SpecError, match="keep the rows apart"):
        load_specs(tmp_path)


def test_a_create_only_field_is_no_second_owner(tmp_path: Path) -> None:
    """outbound_request sends Status once; request mirrors it from then on: one owner (Zoho)."""
    _override(tmp_path, "outbound_request.toml", 'type = "picklist", create_only = true', 'type = "picklist"')
    with pytest.raises(SpecError, match="field 'status' would have two owners"):
        load_specs(tmp_path)


def test_target_owns_must_be_recognised_by_a_field_the_target_owns(tmp_path: Path) -> None:
    text = (BUNDLED / "request.toml").read_text(encoding="utf-8")
    path = tmp_path / "request.toml"
    path.write_text(text.replace('origin             = { type = "string", owner = "moodle" }\n', ""), encoding="utf-8")
    with pytest.raises(SpecError, match="target_owns.when names 'origin'"):
        load_spec(path)


def _record(kind: str, key: str, **fields: object) -> Record:
    return Record(Address(kind, key), dict(fields))


def test_the_mirror_never_plans_over_what_a_student_wrote_in_moodle() -> None:
    spec = load_specs()["request"]
    zoho = {"status": "Approved", "reason": "edited in Zoho", "request_type": "Student Card", "request_number": "MDL-7"}
    moodle = {"status": "Pending", "reason": "Lost card", "request_type": "Student Card", "request_number": "MDL-7"}
    desired = {"1": _record("request", "1", **zoho)}
    submitted = {"1": _record("request", "1", **moodle, origin="moodle")}
    mirrored = {"1": _record("request", "1", **moodle, origin=None)}

    on_submitted = diff_kind(spec, desired, submitted, {"student": set()})
    on_mirrored = diff_kind(spec, desired, mirrored, {"student": set()})

    assert [(c.action, [d.name for d in c.deltas]) for c in on_submitted] == [(Action.UPDATE, ["status"])]
    assert [(c.action, sorted(d.name for d in c.deltas)) for c in on_mirrored] == [(Action.UPDATE, ["reason", "status"])]


def test_a_date_goes_to_a_zoho_datetime_field_as_noon_utc_of_that_day() -> None:
    spec = load_specs()["outbound_request"]
    row = zoho_row(spec, "MDL-7", {"request_date": "2026-11-20", "moodle_user_id": "42", "zoho_student_id": "5"})
    assert row == {"Name": "MDL-7", "Request_Date": "2026-11-20T12:00:00+00:00", "Moodle_User_ID": "42",
                   "Student": {"id": "5"}}
