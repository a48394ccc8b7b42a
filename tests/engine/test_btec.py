"""The BTEC grading rules (reconciler/btec.py): letters, boundaries, the RR rule, names."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.btec import (
    ACHIEVED, NOT_ACHIEVED, Attempt, GradeError, clip, grade_name, grader_fields, letter_for_points,
    letter_for_scale_item, letter_for_score, outcome_score, second_refer,
)

DEADLINE = datetime(2026, 10, 1, 23, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(("score", "letter"), [
    ("70", "D"), ("70.0", "D"), ("69.99", "M"), ("69.99999", "M"), ("60", "M"), ("59.99", "P"),
    ("40", "P"), ("39.99", "R"), ("0", "R"), ("100", "D"),
])
def test_numeric_boundaries_are_inclusive(score: str, letter: str) -> None:
    assert letter_for_score(score) == letter, score


@pytest.mark.parametrize(("score", "letter"), [("104.5", "D"), ("1000", "D"), ("-3", "R"), ("-0.01", "R")])
def test_scores_outside_0_to_100_are_clamped(score: str, letter: str) -> None:
    assert letter_for_score(score) == letter, score


@given(st.decimals(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False, places=5))
def test_the_letter_is_the_one_whose_band_holds_the_clamped_score(score: Decimal) -> None:
    clamped = min(Decimal(100), max(Decimal(0), score))
    expected = "D" if clamped >= 70 else "M" if clamped >= 60 else "P" if clamped >= 40 else "R"
    assert letter_for_score(score) == expected, (score, clamped)


@given(st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False, places=5),
       st.decimals(min_value=0, max_value=100, allow_nan=False, allow_infinity=False, places=5))
def test_a_higher_score_never_gets_a_lower_letter(a: Decimal, b: Decimal) -> None:
    order = {"R": 0, "P": 1, "M": 2, "D": 3}
    low, high = sorted((a, b))
    assert order[letter_for_score(low)] <= order[letter_for_score(high)], (low, high)


@given(st.sampled_from([Decimal(40), Decimal(60), Decimal(70)]), st.integers(min_value=1, max_value=5))
def test_points_exactly_on_a_boundary_of_any_maximum_get_the_boundary_letter(bound: Decimal, scale: int) -> None:
    maximum = Decimal(20) * scale
    points = bound * maximum / 100
    assert letter_for_points(points, maximum) == letter_for_score(bound), (points, maximum)
    just_below = points - Decimal("0.00001")
    assert letter_for_points(just_below, maximum) != letter_for_score(bound), (just_below, maximum)


def test_points_are_a_percentage_of_the_assignment_maximum() -> None:
    assert letter_for_points("14", "20") == "D"
    assert letter_for_points("13.99", "20") == "M"
    with pytest.raises(GradeError, match="not positive"):
        letter_for_points("10", "0")


def test_a_grade_that_is_no_number_is_refused_with_its_value() -> None:
    with pytest.raises(GradeError, match="'abc' is not a number"):
        letter_for_score("abc")


@pytest.mark.parametrize(("item", "letter"), [
    ("D", "D"), ("Distinction", "D"), (" merit ", "M"), ("Pass", "P"), ("Refer", "R"), ("RR", "RR"),
    ("Second  refer", "RR"), ("Fail", "F"),
])
def test_scale_items_name_their_letter(item: str, letter: str) -> None:
    assert letter_for_scale_item(item) == letter


def test_a_scale_item_the_school_does_not_use_is_refused_naming_it() -> None:
    with pytest.raises(GradeError, match="'Excellent' is no BTEC grade"):
        letter_for_scale_item("Excellent")


def test_a_refer_with_no_resubmission_past_the_deadline_is_rr_on_attempt_2() -> None:
    refer = Attempt("R", 1, date(2026, 9, 20))
    assert second_refer(refer, DEADLINE, None, DEADLINE + timedelta(seconds=1)) == Attempt("RR", 2, date(2026, 10, 1))


def test_a_refer_stays_r_until_the_deadline_passes() -> None:
    refer = Attempt("R", 1, date(2026, 9, 20))
    assert second_refer(refer, DEADLINE, None, DEADLINE) == refer
    assert second_refer(refer, None, None, DEADLINE + timedelta(days=300)) == refer


def test_a_resubmission_by_the_deadline_keeps_the_refer_but_a_late_one_does_not() -> None:
    refer = Attempt("R", 1, date(2026, 9, 20))
    later = DEADLINE + timedelta(days=3)
    assert second_refer(refer, DEADLINE, DEADLINE - timedelta(hours=1), later) == refer
    assert second_refer(refer, DEADLINE, DEADLINE + timedelta(hours=1), later).letter == "RR"


@given(st.sampled_from(["D", "M", "P", "F", "RR"]), st.integers(min_value=1, max_value=3))
def test_only_a_first_attempt_refer_can_become_rr(letter: str, number: int) -> None:
    attempt = Attempt(letter, number, date(2026, 9, 20))
    assert second_refer(attempt, DEADLINE, None, DEADLINE + timedelta(days=1)) == attempt
    second = Attempt("R", 2, date(2026, 9, 20))
    assert second_refer(second, DEADLINE, None, DEADLINE + timedelta(days=1)) == second


def test_the_grader_is_named_once_as_grader_or_as_iv() -> None:
    assert grader_fields("Rana Haddad", False) == {"grader_name": "Rana Haddad", "iv_name": None}
    assert grader_fields("Omar IV", True) == {"grader_name": None, "iv_name": "Omar IV"}


def test_the_grade_name_joins_student_class_letter_and_day() -> None:
    assert grade_name("Lina Haddad", "Programming - A", "M", date(2026, 9, 3)) == \
        "Lina Haddad - Programming - A - M - 2026-09-03"
    assert len(grade_name("x" * 300, "c", "D", date(2026, 9, 3))) == 255


def test_an_outcome_is_achieved_only_with_full_marks_and_unmarked_is_nothing() -> None:
    assert outcome_score("1.00000", "1") == ACHIEVED
    assert outcome_score("0.5", "1") == NOT_ACHIEVED
    assert outcome_score("0", "1") == NOT_ACHIEVED
    assert outcome_score("", "1") is None and outcome_score(None, "1") is None


def test_clip_marks_a_cut_text_and_empties_blank_text() -> None:
    assert clip("abcdef", 4) == "abc…" and clip("  ", 4) is None and clip(" ab ", 4) == "ab"
