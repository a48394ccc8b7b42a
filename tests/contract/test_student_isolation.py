"""A student reaches only their own records through the plugin's functions (emulator and
real Moodle; the static side — pages and functions checking login, context, capability
and the own-data rule in the PHP — is tests/security/test_plugin_access.py).

The student is the limited token's user (``MZI_MOODLE_LIMITED_TOKEN`` on a real Moodle: a
user with only the default ``user`` capabilities), linked to a student row of their own;
another student row belongs to someone else. What holds: a request is stored for the
caller's row whatever is sent, no parameter can name another person, another student's
class cannot be dropped, and every read of the mirror is refused.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import pytest

from moodle_client import MoodleClient  # type: ignore[import-not-found]
from test_functions import is_exception, make_key, mirror, record, upsert  # type: ignore[import-not-found]

STUDENTS = mirror("local_mzi_students")
ENROLLMENTS = mirror("local_mzi_enrollments")
REQUESTS = mirror("local_mzi_requests")


def _student_row(moodle: MoodleClient, userid: int) -> str:
    key, key_text = make_key(STUDENTS, moodle)
    row = key | {"moodle_user_id": userid, "academic_email": f"{key_text}@example.invalid", "status": "Active"}
    assert upsert(moodle, STUDENTS, [row])[0]["status"] in ("created", "updated"), "cannot store a student row"
    return key_text


def _two_students(moodle: MoodleClient) -> tuple[str, str, str, int]:
    """(the limited token, the caller's student key, another student's key, the caller's user id)."""
    limited = moodle.require_limited()
    caller = int(moodle.call("core_webservice_get_site_info", _token=limited)["userid"])
    other_user = int(moodle.ok("core_webservice_get_site_info")["userid"])
    assert caller != other_user, "the limited token must belong to another user than the service token"
    return limited, _student_row(moodle, caller), _student_row(moodle, other_user), caller


def _request_row(moodle: MoodleClient, row_id: int) -> dict[str, Any]:
    answer = moodle.ok("local_mzi_get_requests", afterid=row_id - 1, limit=1)
    (row,) = answer["records"]
    assert int(row["id"]) == row_id, row
    return dict(row)


def test_a_students_request_is_stored_for_their_own_record(moodle: MoodleClient) -> None:
    limited, mine, other, caller = _two_students(moodle)
    answer = moodle.call("local_mzi_submit_request", _token=limited, request_type="Student Card", reason="lost it")
    assert "id" in answer, answer
    row = _request_row(moodle, int(answer["id"]))
    assert (row["zoho_student_id"], int(row["moodle_user_id"])) == (mine, caller), (row, other)


@pytest.mark.parametrize("param", ["userid", "studentid", "zoho_student_id", "moodle_user_id", "relateduserid"])
def test_a_student_cannot_name_another_person_in_a_request(moodle: MoodleClient, param: str) -> None:
    limited, _, other, _ = _two_students(moodle)
    other_user = moodle.ok("core_webservice_get_site_info")["userid"]
    value = other if param in ("zoho_student_id", "studentid") else other_user
    answer = moodle.call("local_mzi_submit_request", _token=limited, request_type="Student Card", reason="x",
                         **{param: value})
    assert is_exception(answer, "invalidparameter"), answer


@pytest.mark.parametrize("name", ["local_mzi_get_students", "local_mzi_get_requests", "local_mzi_get_grades",
                                  "local_mzi_get_payments", "local_mzi_get_enrollments",
                                  "local_mzi_get_registrations", "local_mzi_get_installments"])
def test_a_student_cannot_read_another_students_rows_by_key(moodle: MoodleClient, name: str) -> None:
    limited, _, other, _ = _two_students(moodle)
    answer = moodle.call(name, _token=limited, keys=[other])
    assert is_exception(answer, ("nopermissions", "accessexception")), answer


def test_a_student_cannot_drop_another_students_class(emulator_only: MoodleClient) -> None:
    """Class Drop needs an open window, which only the admin page opens: emulator only."""
    moodle = emulator_only
    limited, mine, other, _ = _two_students(moodle)
    today = date.today().isoformat()
    key, _ = make_key(ENROLLMENTS, moodle)
    theirs = record(ENROLLMENTS, key) | {"zoho_student_id": other, "zoho_class_id": "CLS-OTHER-1",
                                         "enrollment_date": today, "status": "Active"}
    assert upsert(moodle, ENROLLMENTS, [theirs])[0]["status"] in ("created", "updated")
    assert moodle.db_path is not None
    conn = sqlite3.connect(moodle.db_path)
    try:
        conn.execute("INSERT INTO mdl_local_mzi_request_windows (request_type, enabled, open_from, open_until, "
                     "timecreated, timemodified, usermodified) VALUES ('Class Drop', 1, NULL, NULL, 0, 0, 2)")
        conn.commit()
    finally:
        conn.close()
    answer = moodle.call("local_mzi_submit_request", _token=limited, request_type="Class Drop", reason="too much",
                         classes=["CLS-OTHER-1"])
    assert is_exception(answer, "error:classdropnoteligible"), (answer, mine)
