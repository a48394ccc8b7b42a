"""The course resource kind: its spec shape, the membership transform, a dependency on the
key column, and course dates at local midnight of the site's zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.config import MoodleSettings
from reconciler.diff import diff_kind
from reconciler.errors import SpecError
from reconciler.mapping import record_from_zoho
from reconciler.model import Action, Address, Record
from reconciler.preflight import column_checks
from reconciler.providers.moodle_courses import date_to_unix, unix_to_date
from reconciler.specs import load_spec, load_specs

COURSE = """
kind = "course"
source = { system = "zoho", module = "BTEC_Classes" }
target = { system = "moodle", resource = "course" }
key = { zoho = "id", moodle = "idnumber" }
depends_on = [{ kind = "class", field = "idnumber" }]
[fields]
fullname = { zoho = "Class_Name", type = "string" }
visible  = { zoho = "Class_Status", type = "bool", transform = "not_in", values = ["Cancelled"] }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_resource_spec_loads_and_names_its_resource(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, COURSE))
    assert spec.moodle_resource == "course"
    with pytest.raises(SpecError, match="resource 'course', not a mirror table"):
        _ = spec.moodle_table


@pytest.mark.parametrize(("broken", "expected"), [
    (COURSE.replace('resource = "course"', 'resource = "course", table = "local_mzi_classes"'), "exactly one of `table`"),
    (COURSE.replace(', resource = "course"', ""), "exactly one of `table`"),
    (COURSE.replace('resource = "course"', 'resource = "cohort"'), "resource 'cohort' is not one mzi manages"),
    (COURSE.replace('module = "BTEC_Classes"', 'module = "BTEC_Classes", resource = "course"'),
     "names a `module`, not a `table` or `resource`"),
    (COURSE.replace(', values = ["Cancelled"]', ""), "tests one Zoho field against `values`"),
    (COURSE.replace('type = "bool", transform', 'type = "string", transform'), "gives a bool"),
    (COURSE.replace('transform = "not_in", ', ""), "`values` is only for transform"),
    (COURSE.replace('field = "idnumber"', 'field = "classid"'), "neither in [fields] nor the key column 'idnumber'"),
])
def test_a_broken_resource_spec_is_refused_naming_the_problem(tmp_path: Path, broken: str, expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, broken))
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize(("status", "transform", "visible"), [
    ("Active", "not_in", True), ("Cancelled", "not_in", False), ("-None-", "not_in", True), (None, "not_in", True),
    ("Active", "in", False), ("Cancelled", "in", True), (None, "in", False),
])
def test_membership_transform_tests_the_zoho_value_against_the_spec_values(
        tmp_path: Path, status: str | None, transform: str, visible: bool) -> None:
    spec = load_spec(write(tmp_path, COURSE.replace('"not_in"', f'"{transform}"')))
    record = record_from_zoho(spec, {"id": "7", "Class_Name": "Maths", "Class_Status": status})
    assert record.fields["visible"] is visible, record.fields


def test_a_dependency_on_the_key_column_reads_the_record_key() -> None:
    spec = load_specs()["course"]
    desired = {"42": Record(Address("course", "42"), {"fullname": "Maths", "classlinked": True})}
    blocked = diff_kind(spec, desired, {}, {"class": set()})
    assert [(c.action, c.blocked_by) for c in blocked] == [(Action.BLOCKED, (Address("class", "42"),))], blocked
    created = diff_kind(spec, desired, {}, {"class": {"42"}})
    assert [c.action for c in created] == [Action.CREATE], created


def test_the_bundled_course_spec_depends_on_its_class_and_is_never_deleted() -> None:
    spec = load_specs()["course"]
    assert [(d.kind, d.field) for d in spec.depends_on] == [("class", "idnumber")]
    assert spec.delete.policy == "keep" and "shortname" not in spec.compared_fields
    gone = diff_kind(spec, {}, {"42": Record(Address("course", "42"), {"fullname": "Maths"})}, {"class": set()})
    assert gone == [], gone


def test_preflight_checks_a_resource_spec_against_the_course_fields_not_install_xml(tmp_path: Path) -> None:
    good = load_spec(write(tmp_path, COURSE))
    assert [c.ok for c in column_checks([good])] == [True]
    bad = load_spec(write(tmp_path, COURSE + 'summary = { zoho = "Classroom", type = "string" }\n'))
    [found] = column_checks([bad])
    assert not found.ok and "no field summary" in found.detail, found


def test_the_timezone_setting_must_be_a_zone_name() -> None:
    with pytest.raises(ValueError, match="not an IANA zone name"):
        MoodleSettings(timezone="Amman")
    assert MoodleSettings().timezone == "Asia/Amman"


# ------------------------------------------------------------------ dates at local midnight

#: zones whose DST starts at midnight (Amman until 2022, Sao Paulo, Havana, Beirut) and ordinary ones; not
#: Pacific/Apia, which skipped 2011-12-30 altogether (a day with no local midnight has no course date)
ZONES = st.sampled_from(["Asia/Amman", "UTC", "America/Sao_Paulo", "America/Havana", "Asia/Beirut", "Europe/London",
                         "Asia/Kolkata"])
DAYS = st.dates(min_value=date(1971, 1, 2), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(day=DAYS, zone=ZONES)
def test_a_date_round_trips_through_moodle_unix_time(day: date, zone: str) -> None:
    unix = date_to_unix(day.isoformat(), ZoneInfo(zone))
    assert unix_to_date(unix, ZoneInfo(zone)) == day.isoformat(), (day, zone, unix)


@settings(max_examples=300, deadline=None)
@given(day=DAYS, zone=ZONES)
def test_the_unix_time_is_the_first_second_of_that_local_day(day: date, zone: str) -> None:
    """One second earlier is the day before, locally: the boundary is exactly local midnight
    (or the first instant of the day where a zone skips midnight)."""
    tz = ZoneInfo(zone)
    unix = date_to_unix(day.isoformat(), tz)
    assert unix_to_date(unix - 1, tz) == (day - timedelta(days=1)).isoformat(), (day, zone)


def test_amman_midnight_is_21_00_utc_the_day_before() -> None:
    unix = date_to_unix("2026-09-14", ZoneInfo("Asia/Amman"))
    assert datetime.fromtimestamp(unix, timezone.utc) == datetime(2026, 9, 13, 21, 0, tzinfo=timezone.utc)
    assert unix_to_date(unix, ZoneInfo("UTC")) == "2026-09-13"
    assert unix_to_date(0, ZoneInfo("Asia/Amman")) is None and date_to_unix(None, ZoneInfo("UTC")) == 0
