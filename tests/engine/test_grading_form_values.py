"""What a class's grading form reads as (providers/moodle_forms.py): the guide its assignments
share, each assignment's when they differ, the teacher's own methods left out."""

from __future__ import annotations

from reconciler.providers.moodle_forms import course_criteria, guide_criteria, wire

GUIDE = [{"shortname": "P1", "description": " Describe. ", "maxscore": "1.00000"},
         {"shortname": "D1", "description": "Evaluate.", "maxscore": "1"}]
UNIT = [{"code": "P1", "level": "pass", "description": "Describe."},
        {"code": "D1", "level": "distinction", "description": "Evaluate."}]


def _assignment(name: str, criteria: list[dict[str, str]], managed: bool = True) -> dict[str, object]:
    return {"name": name, "managed": managed, "criteria": criteria}


def test_a_guide_reads_as_the_units_criteria_list() -> None:
    assert guide_criteria(GUIDE) == UNIT


def test_assignments_sharing_a_guide_give_it_and_the_teachers_own_are_left_out() -> None:
    course = {"assignments": [_assignment("Essay", GUIDE), _assignment("Talk", [{"shortname": "X", "description": "",
                                                                                 "maxscore": "5"}], managed=False),
                              _assignment("Report", GUIDE)]}
    assert course_criteria(course) == UNIT


def test_assignments_that_differ_name_each_ones_guide_so_the_diff_sets_them_all() -> None:
    course = {"assignments": [_assignment("Essay", GUIDE), _assignment("New", [])]}
    assert course_criteria(course) == {"assignments differ": {"Essay": UNIT, "New": None}}


def test_no_managed_assignment_with_a_guide_reads_as_nothing() -> None:
    assert course_criteria({"assignments": [_assignment("New", [])]}) is None
    assert course_criteria({"assignments": []}) is None


def test_the_units_criteria_go_to_moodle_with_a_maximum_of_one_and_a_note_for_markers() -> None:
    assert wire(UNIT) == [
        {"shortname": "P1", "description": "Describe.", "descriptionmarkers": "Pass criterion P1", "maxscore": "1"},
        {"shortname": "D1", "description": "Evaluate.", "descriptionmarkers": "Distinction criterion D1", "maxscore": "1"}]
