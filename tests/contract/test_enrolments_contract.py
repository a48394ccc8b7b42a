"""local_mzi_get_enrolments (the enrolment kinds' read), held to the same contract on the
emulator and a real Moodle: what set_enrolments did is what get_enrolments reports."""

from __future__ import annotations

from typing import Any

from moodle_client import MoodleClient  # type: ignore[import-not-found]
from test_functions import course, new_user  # type: ignore[import-not-found]


def _enrolments(moodle: MoodleClient, **params: Any) -> list[dict[str, Any]]:
    return list(moodle.ok("local_mzi_get_enrolments", **params)["enrolments"])


def _course_and_user(moodle: MoodleClient) -> tuple[str, int]:
    user = moodle.ok("core_user_create_users", users=[new_user(moodle)])[0]["id"]
    idnumber = moodle.unique()
    moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, moodle.unique("S"))])
    return idnumber, int(user)


def _set(moodle: MoodleClient, idnumber: str, user: int, role: str, action: str) -> None:
    moodle.ok("local_mzi_set_enrolments", enrolments=[
        {"courseidnumber": idnumber, "userid": user, "role": role, "action": action}])


def test_get_enrolments_reports_status_and_roles_as_set_enrolments_left_them(moodle: MoodleClient) -> None:
    idnumber, user = _course_and_user(moodle)
    assert _enrolments(moodle, idnumbers=[idnumber]) == [], "a new course has nobody enrolled"
    _set(moodle, idnumber, user, "student", "enrol")
    found = _enrolments(moodle, idnumbers=[idnumber])
    assert [(e["courseidnumber"], e["userid"], e["status"], e["roles"]) for e in found] == \
        [(idnumber, user, "active", ["student"])], found
    _set(moodle, idnumber, user, "editingteacher", "enrol")
    _set(moodle, idnumber, user, "student", "suspend")
    found = _enrolments(moodle, idnumbers=[idnumber])
    assert [(e["status"], sorted(e["roles"])) for e in found] == [("suspended", ["editingteacher", "student"])], found
    _set(moodle, idnumber, user, "student", "unenrol")
    _set(moodle, idnumber, user, "editingteacher", "unenrol")
    assert _enrolments(moodle, idnumbers=[idnumber]) == [], "unenrolled from every role: no enrolment left"


def test_get_enrolments_pages_by_afterid_without_losing_or_repeating_one(moodle: MoodleClient) -> None:
    idnumber, _ = _course_and_user(moodle)
    users = [int(u["id"]) for u in moodle.ok("core_user_create_users", users=[new_user(moodle) for _ in range(5)])]
    moodle.ok("local_mzi_set_enrolments", enrolments=[
        {"courseidnumber": idnumber, "userid": u, "role": "student", "action": "enrol"} for u in users])
    seen: list[int] = []
    afterid = 0
    for _ in range(10):
        page = moodle.ok("local_mzi_get_enrolments", afterid=afterid, limit=2, idnumbers=[idnumber])
        assert len(page["enrolments"]) <= 2, page
        seen += [e["userid"] for e in page["enrolments"]]
        if not page["hasmore"]:
            break
        afterid = page["nextafterid"]
    assert sorted(seen) == sorted(users), seen


def test_get_enrolments_leaves_out_courses_not_asked_for_and_refuses_a_bad_limit(moodle: MoodleClient) -> None:
    first, user = _course_and_user(moodle)
    second, _ = _course_and_user(moodle)
    _set(moodle, first, user, "student", "enrol")
    _set(moodle, second, user, "student", "enrol")
    assert {e["courseidnumber"] for e in _enrolments(moodle, idnumbers=[second])} == {second}
    assert _enrolments(moodle, idnumbers=[""]) == []
    for limit in (0, 5001):
        answer = moodle.call("local_mzi_get_enrolments", limit=limit)
        assert isinstance(answer, dict) and answer.get("errorcode") == "invalidparameter", (limit, answer)
