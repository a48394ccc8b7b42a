"""local_mzi_get_courses (the course resource's read) and core_course_get_categories (the
doctor's category check), held to the same contract on the emulator and a real Moodle."""

from __future__ import annotations

from typing import Any

from moodle_client import MoodleClient  # type: ignore[import-not-found]
from test_functions import course, get_rows, make_key, mirror, record, upsert  # type: ignore[import-not-found]


def _courses(moodle: MoodleClient, **params: Any) -> list[dict[str, Any]]:
    return list(moodle.ok("local_mzi_get_courses", **params)["courses"])


def test_get_courses_returns_the_fields_of_the_asked_idnumbers(moodle: MoodleClient) -> None:
    ids = [moodle.unique() for _ in range(3)]
    made = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, i, moodle.unique("S"), visible=0) for i in ids])
    found = _courses(moodle, idnumbers=ids[:2])
    assert sorted(c["idnumber"] for c in found) == sorted(ids[:2]), found
    first = next(c for c in found if c["idnumber"] == ids[0])
    assert first["id"] == made["results"][0]["courseid"], (first, made)
    assert (first["fullname"], first["startdate"], first["enddate"], first["visible"]) == \
        (f"Class {ids[0]}", 1767225600, 1782864000, 0), first
    assert first["category"] > 0 and first["shortname"], first


def test_get_courses_pages_by_afterid_without_losing_or_repeating_a_course(moodle: MoodleClient) -> None:
    ids = [moodle.unique() for _ in range(5)]
    moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, i, moodle.unique("S")) for i in ids])
    seen: list[str] = []
    afterid = 0
    for _ in range(10):
        page = moodle.ok("local_mzi_get_courses", afterid=afterid, limit=2, idnumbers=ids)
        seen += [c["idnumber"] for c in page["courses"]]
        assert len(page["courses"]) <= 2, page
        if not page["hasmore"]:
            break
        afterid = page["nextafterid"]
    assert sorted(seen) == sorted(ids), seen


def test_get_courses_leaves_out_courses_without_an_idnumber(moodle: MoodleClient) -> None:
    assert all(c["idnumber"] != "" for c in _courses(moodle, limit=5000)), "a course without idnumber was returned"
    assert _courses(moodle, idnumbers=[""]) == []


def test_get_courses_says_whether_the_class_mirror_row_links_the_course(moodle: MoodleClient) -> None:
    classes = mirror("local_mzi_classes")
    key, key_text = make_key(classes, moodle)
    made = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, key_text, moodle.unique("S"))])["results"][0]
    assert [c["classlinked"] for c in _courses(moodle, idnumbers=[key_text])] == [0], "no class row yet: not linked"
    upsert(moodle, classes, [record(classes, key)])
    assert [c["classlinked"] for c in _courses(moodle, idnumbers=[key_text])] == [0], "class row without the link"
    again = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, key_text, moodle.unique("S"))])["results"][0]
    assert (again["status"], again["courseid"]) == ("unchanged", made["courseid"]), "the course was not adopted"
    assert get_rows(moodle, classes, [key_text])[key_text]["moodle_class_id"] == made["courseid"]
    assert [c["classlinked"] for c in _courses(moodle, idnumbers=[key_text])] == [1]


def test_get_courses_refuses_a_limit_out_of_range(moodle: MoodleClient) -> None:
    for limit in (0, 5001):
        answer = moodle.call("local_mzi_get_courses", limit=limit)
        assert isinstance(answer, dict) and answer.get("errorcode") == "invalidparameter", (limit, answer)


def test_get_categories_finds_an_existing_category_and_not_a_missing_one(moodle: MoodleClient) -> None:
    made = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, moodle.unique(), moodle.unique("S"))])
    category = _courses(moodle, idnumbers=[made["results"][0]["key"]])[0]["category"]
    found = moodle.ok("core_course_get_categories", criteria=[{"key": "id", "value": str(category)}])
    assert [c["id"] for c in found] == [category], found
    assert moodle.ok("core_course_get_categories", criteria=[{"key": "id", "value": "2000000000"}]) == []


def test_when_two_courses_share_an_idnumber_ensure_courses_updates_the_newest_as_the_plugin_does(
        emulator_only: MoodleClient) -> None:
    """The plugin picks ``id DESC`` (courses.php ensure_course); mzi's course read keeps the newest too."""
    import sqlite3

    idnumber = emulator_only.unique()
    first = emulator_only.ok("local_mzi_ensure_courses", courses=[course(emulator_only, idnumber, emulator_only.unique("S"))])
    assert emulator_only.db_path is not None
    conn = sqlite3.connect(emulator_only.db_path)
    newest = conn.execute("INSERT INTO mdl_course (category, fullname, shortname, idnumber) VALUES (1, 'Copy', ?, ?)",
                          (emulator_only.unique("S"), idnumber)).lastrowid
    conn.commit()
    conn.close()
    again = emulator_only.ok("local_mzi_ensure_courses", courses=[course(emulator_only, idnumber, emulator_only.unique("S"))])
    assert again["results"][0]["courseid"] == newest != first["results"][0]["courseid"], (first, again)
