"""The school's BTEC grading rules, as pure functions (DOMAIN.md, "Grades, as the school uses them").

Moodle stores a grade as a number (points out of the assignment's maximum) or as an item
of a scale; Zoho's ``BTEC_Grades`` wants a letter — D (Distinction), M (Merit), P (Pass),
R (Refer), RR (a second refer) or F (Fail) — with the attempt it belongs to, the name
of whoever graded it and a display name. These rules live here, apart from any system,
so each is stated once and tested on its boundaries (``tests/engine/test_btec.py``):

- a numeric grade is a percentage of the assignment's maximum, clamped to 0–100, and
  becomes ≥ 70 D, ≥ 60 M, ≥ 40 P, else R — boundaries inclusive, computed in decimal
  so 70.0 is D and 69.99 is M (a float would put 69.99999999 and 70 on one side);
- a refer on the first attempt with no resubmission by the deadline is a second refer:
  RR on attempt 2, dated the day the deadline passed;
- the grader's name goes to ``Grader_Name``, or to ``IV_Name`` when the grader is the
  Internal Verifier;
- ``BTEC_Grade_Name`` is ``"{student} - {class} - {grade} - {YYYY-MM-DD}"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .errors import MziError

#: the letters Zoho's Grade picklist holds for a graded assignment
LETTERS = ("D", "M", "P", "R", "RR", "F")
#: inclusive lower bounds of each letter on the 0–100 scale, highest first
BOUNDARIES: tuple[tuple[Decimal, str], ...] = ((Decimal(70), "D"), (Decimal(60), "M"), (Decimal(40), "P"))
BELOW_PASS = "R"
#: how scale items may spell a letter (case and surrounding space are ignored)
SCALE_WORDS = {
    "d": "D", "distinction": "D", "m": "M", "merit": "M", "p": "P", "pass": "P",
    "r": "R", "refer": "R", "referral": "R", "rr": "RR", "second refer": "RR", "refer 2": "RR",
    "f": "F", "fail": "F", "u": "F", "unclassified": "F",
}
#: Zoho text fields hold 255 characters, Zoho "multi-line (small)" fields 2,000
TEXT_MAX, LONG_TEXT_MAX = 255, 2000
#: a learning outcome's score as Zoho shows it: the criterion fully met, or not
ACHIEVED, NOT_ACHIEVED = "Achieved", "Not Achieved"


class GradeError(MziError):
    """A Moodle grade that has no BTEC letter (a scale item the school does not use, a
    grade that is not a number); the message says which value and why."""


def _decimal(value: Decimal | int | float | str, what: str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise GradeError(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise GradeError(f"{what} {value!r} is not a finite number")
    return number


def clamp_score(score: Decimal | int | float | str) -> Decimal:
    """A score on the 0–100 scale, clamped: 104 is 100, -3 is 0."""
    return min(Decimal(100), max(Decimal(0), _decimal(score, "score")))


def letter_for_score(score: Decimal | int | float | str) -> str:
    """The letter of a 0–100 score (clamped first): ≥ 70 D, ≥ 60 M, ≥ 40 P, else R."""
    clamped = clamp_score(score)
    return next((letter for bound, letter in BOUNDARIES if clamped >= bound), BELOW_PASS)


def percentage(raw: Decimal | int | float | str, maximum: Decimal | int | float | str) -> Decimal:
    """Points out of ``maximum`` as a 0–100 score (not yet clamped). Moodle keeps grades to
    five places; the division is exact to far more, so a boundary stays a boundary."""
    top = _decimal(maximum, "maximum grade")
    if top <= 0:
        raise GradeError(f"maximum grade {maximum!r} is not positive: the assignment is not graded in points")
    return _decimal(raw, "grade") * 100 / top


def letter_for_points(raw: Decimal | int | float | str, maximum: Decimal | int | float | str) -> str:
    """The letter of ``raw`` points out of ``maximum``."""
    return letter_for_score(percentage(raw, maximum))


def letter_for_scale_item(item: str) -> str:
    """The letter a scale item stands for: ``"D"``, ``"Distinction"``, ``"Refer"`` …"""
    letter = SCALE_WORDS.get(" ".join(item.split()).lower())
    if letter is None:
        raise GradeError(f"scale item {item!r} is no BTEC grade; the scale's items must be "
                         f"{', '.join(LETTERS)} (or Distinction, Merit, Pass, Refer, Fail)")
    return letter


@dataclass(frozen=True)
class Attempt:
    """A graded attempt as Zoho records it: the letter, the attempt number (1 = first
    submission, 2 = resubmission) and the day it is dated."""

    letter: str
    number: int
    day: date


def second_refer(attempt: Attempt, deadline: datetime | None, resubmitted: datetime | None,
                 now: datetime) -> Attempt:
    """The RR rule: a refer on attempt 1 whose resubmission did not come by the deadline
    is a second refer, RR on attempt 2, dated the deadline's day.

    ``deadline`` is when the resubmission was due (``None``: no deadline, so the refer
    stands); ``resubmitted`` is when the student resubmitted (``None``: never). A
    resubmission after the deadline does not save the refer. Until the deadline has
    passed the refer stays an R: the student may still resubmit.
    """
    if attempt.letter != "R" or attempt.number != 1 or deadline is None or now <= deadline:
        return attempt
    if resubmitted is not None and resubmitted <= deadline:
        return attempt
    return Attempt("RR", 2, deadline.date())


def grade_name(student: str, class_name: str, letter: str, day: date) -> str:
    """``BTEC_Grade_Name``: ``"{student} - {class} - {grade} - {YYYY-MM-DD}"`` (cut to Zoho's 255)."""
    return clip(f"{student} - {class_name} - {letter} - {day.isoformat()}", TEXT_MAX) or ""


def grader_fields(name: str | None, is_iv: bool) -> dict[str, str | None]:
    """``Grader_Name`` or ``IV_Name``: the grader is recorded in exactly one of them.

    Moodle keeps one grader per grade (the last to grade it), so a grade the Internal
    Verifier re-marked names the IV only.
    """
    text = clip(name, TEXT_MAX)
    return {"grader_name": None if is_iv else text, "iv_name": text if is_iv else None}


def outcome_score(score: Decimal | int | float | str | None, maxscore: Decimal | int | float | str) -> str | None:
    """``LO_Score`` of one criterion: Achieved when the marker gave it full marks, Not
    Achieved when less, nothing when the criterion was left unmarked (``None`` or ``""``).

    A BTEC criterion is met or not; the grading form gives each criterion a maximum
    score of 1, and a part score (0.5) is a criterion not yet met.
    """
    if score is None or (isinstance(score, str) and score.strip() == ""):
        return None
    return ACHIEVED if _decimal(score, "criterion score") >= _decimal(maxscore, "criterion maximum") else NOT_ACHIEVED


def clip(text: str | None, limit: int) -> str | None:
    """Text cut to ``limit`` characters (Zoho refuses longer values in a text field); a
    cut text ends with ``…`` so a reader sees it was cut."""
    if text is None:
        return None
    stripped = text.strip()
    if not stripped:
        return None
    return stripped if len(stripped) <= limit else stripped[: limit - 1].rstrip() + "…"
