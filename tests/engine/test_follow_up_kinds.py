"""Kind-level follow-ups (follow_up.follow_up_kinds): a kind whose Moodle resource joins mirror
columns an apply wrote is planned again whole; one whose columns were not written is not."""

from __future__ import annotations

from reconciler.follow_up import follow_up_kinds
from reconciler.model import Action, Address, Change, Result
from reconciler.specs import load_specs

SPECS = load_specs()


def _applied(kind: str, key: str, after: dict[str, object]) -> tuple[list[Change], list[Result]]:
    change = Change(Action.UPDATE, Address(kind, key), after=after)
    return [change], [Result(change.address, change.action, True, "updated")]


def test_a_class_renamed_in_the_mirror_replans_the_grades_that_name_it() -> None:
    changes, results = _applied("class", "5847596000000100471", {"class_name": "Programming G1"})
    assert follow_up_kinds(SPECS, changes, results) == ["moodle_grade"]


def test_a_student_linked_to_a_moodle_user_replans_the_grades() -> None:
    changes, results = _applied("student_user", "5847596000000100070", {"moodle_user_id": 42})
    assert follow_up_kinds(SPECS, changes, results) == ["moodle_grade"]


def test_a_column_grades_do_not_read_replans_nothing() -> None:
    changes, results = _applied("class", "5847596000000100471", {"classroom": "B12"})
    assert follow_up_kinds(SPECS, changes, results) == []


def test_a_write_that_failed_replans_nothing() -> None:
    changes, _ = _applied("class", "5847596000000100471", {"class_name": "Programming G1"})
    failed = [Result(changes[0].address, Action.UPDATE, False, "error", "refused")]
    assert follow_up_kinds(SPECS, changes, failed) == []
