"""local_mzi_get_assignment_grades, local_mzi_get_grading_forms and local_mzi_ensure_grading_forms,
held to one contract on the emulator and a real Moodle.

Moodle has no web service that adds an assignment or grades through a marking guide, so the
tests that need graded assignments make them in the emulator's database (``emulator_only``,
through ``reconciler.sandbox.moodle.teacher``, which writes Moodle's own tables) and are
skipped on a real Moodle; the parameter, paging and refusal checks run on both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moodle_client import MoodleClient  # type: ignore[import-not-found]
from test_functions import course, is_exception, make_key, mirror, record, upsert  # type: ignore[import-not-found]

from reconciler.sandbox.moodle import teacher
from reconciler.sandbox.moodle.grading import FORM_NAME

CRITERIA = [{"shortname": "P1", "description": "Describe the stakeholders.", "maxscore": "1"},
            {"shortname": "M1", "description": "Analyse the stakeholders.", "maxscore": "1"},
            {"shortname": "D1", "description": "Evaluate the stakeholders.", "maxscore": "1"}]


@contextmanager
def database(moodle: MoodleClient) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(moodle.db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def class_course(moodle: MoodleClient) -> tuple[str, int]:
    """A course of a class: a local_mzi_classes row and a course with its id as idnumber."""
    classes = mirror("local_mzi_classes")
    key, key_text = make_key(classes, moodle)
    upsert(moodle, classes, [record(classes, key) | {"class_name": "Programming G1", "unit_name": "Programming",
                                                      "class_status": "Active"}])
    made = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, key_text, moodle.unique("S"))])["results"][0]
    return key_text, int(made["courseid"])


def new_student(moodle: MoodleClient, first: str = "Lina", last: str = "Haddad") -> tuple[int, str]:
    name = moodle.unique("u")
    user = moodle.ok("core_user_create_users", users=[{"username": name, "firstname": first, "lastname": last,
                                                       "email": f"{name}@example.invalid", "password": "Contract-1!",
                                                       "auth": "manual"}])[0]
    students = mirror("local_mzi_students")
    key, key_text = make_key(students, moodle)
    upsert(moodle, students, [record(students, key) | {"status": "Active"}])
    return int(user["id"]), key_text


def link(moodle: MoodleClient, userid: int, zoho_student_id: str) -> None:
    with database(moodle) as conn:
        conn.execute("UPDATE mdl_local_mzi_students SET moodle_user_id = ? WHERE zoho_student_id = ?",
                     (userid, zoho_student_id))


def grades(moodle: MoodleClient, **params: Any) -> list[dict[str, Any]]:
    return list(moodle.ok("local_mzi_get_assignment_grades", **params)["grades"])


# ------------------------------------------------------------------ assignment grades

def test_a_guide_graded_refer_comes_back_with_attempts_deadline_grader_and_fillings(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    idnumber, courseid = class_course(moodle)
    userid, zoho_id = new_student(moodle)
    grader, _ = new_student(moodle, "Omar", "Verifier")
    link(moodle, userid, zoho_id)
    with database(moodle) as conn:
        assign = teacher.add_assignment(conn, courseid, "Essay", duedate=1_700_000_000, grade=100)
        teacher.set_guide(conn, assign, [teacher.Criterion(c["shortname"], c["description"]) for c in CRITERIA],
                          userid=2, now=1)
        teacher.give_role(conn, grader, courseid, "internalverifier")
        teacher.submit(conn, assign, userid, 0, 1_699_000_000)
        teacher.grade(conn, assign, userid, "35.00000", grader=grader, when=1_699_500_000,
                      feedback="<p>Resubmit &amp; expand.</p>", fillings={"P1": ("0.00000", "Too short"),
                                                                         "M1": ("1.00000", "")})
        teacher.extend(conn, assign, userid, 1_700_100_000)
    [found] = grades(moodle, keys=[f"{userid}_{assign}"])
    assert {k: found[k] for k in ("compositekey", "userid", "assignmentid", "courseidnumber", "zohostudentid",
                                  "classname", "unitname", "maxgrade", "scaleitem", "attemptnumber", "attemptdate",
                                  "duedate", "resubmittedat", "graderid", "graderisiv", "feedback")} == {
        "compositekey": f"{userid}_{assign}", "userid": userid, "assignmentid": assign, "courseidnumber": idnumber,
        "zohostudentid": zoho_id, "classname": "Programming G1", "unitname": "Programming", "maxgrade": 100,
        "scaleitem": "", "attemptnumber": 0, "attemptdate": 1_699_000_000, "duedate": 1_700_100_000,
        "resubmittedat": 0, "graderid": grader, "graderisiv": True, "feedback": "Resubmit & expand."}, found
    assert float(found["rawgrade"]) == 35.0 and found["gradername"] == "Omar Verifier", found
    assert [(o["shortname"], o["score"] and float(o["score"]), o["remark"]) for o in found["outcomes"]] == \
        [("P1", 0.0, "Too short"), ("M1", 1.0, ""), ("D1", "", "")], found["outcomes"]


def test_only_the_latest_graded_attempt_is_returned_and_a_scale_names_its_item(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    _, courseid = class_course(moodle)
    userid, _ = new_student(moodle)
    with database(moodle) as conn:
        scale = teacher.add_scale(conn, "BTEC", "Refer, Pass, Merit, Distinction")
        assign = teacher.add_assignment(conn, courseid, "Report", grade=-scale)
        teacher.submit(conn, assign, userid, 0, 1_699_000_000)
        teacher.grade(conn, assign, userid, "1.00000", grader=2, when=1_699_100_000)
        teacher.submit(conn, assign, userid, 1, 1_699_200_000)
        teacher.grade(conn, assign, userid, "-1.00000", grader=2, when=1_699_250_000, attempt=2)  # not graded yet
        teacher.grade(conn, assign, userid, "3.00000", grader=2, when=1_699_300_000, attempt=1)
    [found] = grades(moodle, keys=[f"{userid}_{assign}"])
    assert (found["attemptnumber"], found["scaleitem"], found["zohostudentid"], found["graderisiv"]) == \
        (1, "Merit", "", False), found


def test_grades_page_by_afterid_and_keys_keep_only_their_pairs(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    _, courseid = class_course(moodle)
    users = [new_student(moodle)[0] for _ in range(3)]
    with database(moodle) as conn:
        assigns = [teacher.add_assignment(conn, courseid, f"A{i}") for i in range(2)]
        for user in users:
            for assign in assigns:
                teacher.grade(conn, assign, user, "50.00000", grader=2, when=1_699_000_000)
    wanted = {f"{u}_{a}" for u in users for a in assigns} - {f"{users[0]}_{assigns[1]}"}
    seen: list[str] = []
    afterid = 0
    for _ in range(20):
        page = moodle.ok("local_mzi_get_assignment_grades", afterid=afterid, limit=2, keys=sorted(wanted))
        seen += [g["compositekey"] for g in page["grades"]]
        if not page["hasmore"]:
            break
        afterid = page["nextafterid"]
    assert sorted(seen) == sorted(wanted), seen


def test_modifiedsince_keeps_regraded_ones_and_ones_whose_deadline_passed_since(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    _, courseid = class_course(moodle)
    users = [new_student(moodle)[0] for _ in range(3)]
    with database(moodle) as conn:
        assign = teacher.add_assignment(conn, courseid, "Essay", duedate=1_000)
        for user in users:
            teacher.grade(conn, assign, user, "30.00000", grader=2, when=1_000)
        teacher.grade(conn, assign, users[0], "45.00000", grader=2, when=2_000_000_000)  # regraded "later"
        teacher.extend(conn, assign, users[1], 1_500_000_000)  # a deadline that passed after the mark
    keys = [f"{u}_{assign}" for u in users]
    found = {g["compositekey"] for g in grades(moodle, keys=keys, modifiedsince=1_400_000_000)}
    assert found == set(keys[:2]), found


def test_a_malformed_key_or_a_limit_out_of_range_is_invalidparameter(moodle: MoodleClient) -> None:
    assert is_exception(moodle.call("local_mzi_get_assignment_grades", keys=["12-34"]), "invalidparameter")
    for limit in (0, 5001):
        assert is_exception(moodle.call("local_mzi_get_assignment_grades", limit=limit), "invalidparameter"), limit


def test_grades_of_courses_that_are_no_class_are_left_out(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    made = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, moodle.unique(), moodle.unique("S"))])
    userid, _ = new_student(moodle)
    with database(moodle) as conn:
        assign = teacher.add_assignment(conn, int(made["results"][0]["courseid"]), "Essay")
        teacher.grade(conn, assign, userid, "80.00000", grader=2, when=1)
    assert grades(moodle, keys=[f"{userid}_{assign}"]) == []


# ------------------------------------------------------------------ grading forms

def forms(moodle: MoodleClient, idnumber: str) -> list[dict[str, Any]]:
    [found] = moodle.ok("local_mzi_get_grading_forms", idnumbers=[idnumber])["courses"]
    return list(found["assignments"])


def test_ensure_puts_the_criteria_on_every_assignment_then_is_unchanged(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    idnumber, courseid = class_course(moodle)
    with database(moodle) as conn:
        for name in ("Essay", "Report"):
            teacher.add_assignment(conn, courseid, name)
    first = moodle.ok("local_mzi_ensure_grading_forms", forms=[{"idnumber": idnumber, "criteria": CRITERIA}])
    assert [(r["key"], r["status"]) for r in first["results"]] == [(idnumber, "updated")], first
    found = forms(moodle, idnumber)
    assert [(f["name"], f["activemethod"], f["formname"], f["managed"]) for f in found] == \
        [("Essay", "guide", FORM_NAME, True), ("Report", "guide", FORM_NAME, True)], found
    assert [[(c["shortname"], c["description"], float(c["maxscore"])) for c in f["criteria"]] for f in found] == \
        [[(c["shortname"], c["description"], 1.0) for c in CRITERIA]] * 2, found
    again = moodle.ok("local_mzi_ensure_grading_forms", forms=[{"idnumber": idnumber, "criteria": CRITERIA}])
    assert again["results"][0]["status"] == "unchanged", again
    changed = CRITERIA[:1] + [{"shortname": "P2", "description": "Explain.", "maxscore": "1"}]
    third = moodle.ok("local_mzi_ensure_grading_forms", forms=[{"idnumber": idnumber, "criteria": changed}])
    assert third["results"][0]["status"] == "updated", third
    assert [c["shortname"] for c in forms(moodle, idnumber)[0]["criteria"]] == ["P1", "P2"]


def test_a_teachers_own_grading_method_is_left_alone_and_named(emulator_only: MoodleClient) -> None:
    moodle = emulator_only
    idnumber, courseid = class_course(moodle)
    with database(moodle) as conn:
        rubric = teacher.add_assignment(conn, courseid, "Presentation")
        teacher.set_method(conn, rubric, "rubric")
        own = teacher.add_assignment(conn, courseid, "Portfolio")
        teacher.set_guide(conn, own, [teacher.Criterion("X", "Mine")], userid=2, now=1, name="My guide")
        teacher.add_assignment(conn, courseid, "Essay")
    answer = moodle.ok("local_mzi_ensure_grading_forms", forms=[{"idnumber": idnumber, "criteria": CRITERIA}])
    result = answer["results"][0]
    assert result["status"] == "updated" and "Presentation (rubric)" in result["message"] \
        and "Portfolio (guide 'My guide')" in result["message"], result
    by_name = {f["name"]: f for f in forms(moodle, idnumber)}
    assert (by_name["Presentation"]["activemethod"], by_name["Presentation"]["managed"]) == ("rubric", False)
    assert [c["shortname"] for c in by_name["Portfolio"]["criteria"]] == ["X"]
    assert by_name["Essay"]["formname"] == FORM_NAME


def test_ensure_refuses_per_record_an_unknown_course_and_bad_criteria(moodle: MoodleClient) -> None:
    missing = moodle.unique("none")
    answer = moodle.ok("local_mzi_ensure_grading_forms", forms=[
        {"idnumber": missing, "criteria": CRITERIA},
        {"idnumber": missing, "criteria": [{"shortname": "P1", "description": "x", "maxscore": "0"}]},
    ])
    assert [(r["key"], r["status"], r["errorcode"]) for r in answer["results"]] == \
        [(missing, "error", "coursenotfound"), (missing, "error", "coursenotfound")], answer


def test_get_grading_forms_lists_only_courses_of_classes(moodle: MoodleClient) -> None:
    plain = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, moodle.unique(), moodle.unique("S"))])
    key = plain["results"][0]["key"]
    assert moodle.ok("local_mzi_get_grading_forms", idnumbers=[key])["courses"] == []
    for limit in (0, 5001):
        assert is_exception(moodle.call("local_mzi_get_grading_forms", limit=limit), "invalidparameter"), limit
