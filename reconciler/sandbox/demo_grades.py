"""The demo school's graded assignments in Moodle: what moodle_grade carries to Zoho.

Every class that starts with a Moodle course gets its assignments (the ids Zoho's grades
already name in ``Moodle_Grade_Composite_Key``), half graded in points out of 100 and half
on a BTEC scale (Fail, Refer, Pass, Merit, Distinction), some under marking workflow.
Assignments carry the unit's criteria as a marking guide, except one in four left on
simple grading (the grading_form kind gives them the guide). The grades Zoho holds are
reproduced as a teacher would have given them — the letter, feedback, the guide filled
per criterion (Achieved = full marks), graded by the class teacher or by the course's
Internal Verifier — so most are in sync; then, to give the first plan something to say:

- one refer in three was resubmitted and regraded as a Pass on attempt 2 (an update);
- every second refer on attempt 2 (RR) is a refer on attempt 1 whose resubmission deadline
  passed with nothing handed in (the RR rule makes it RR again);
- about half of the enrolled students Zoho has no grade for were graded in Moodle (creates).

Deterministic: one ``random.Random`` seeded from ``(seed, "grades")``; dates from the
school's own (``Attempt_Date``), at local noon in the demo zone.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, time
from typing import Any

from .demo_courses import DEMO_ZONE
from .moodle.db import IV_ROLE
from .moodle.teacher import Criterion, add_assignment, add_scale, extend, give_role, grade, set_guide, submit

SCALE_ITEMS = ("Fail", "Refer", "Pass", "Merit", "Distinction")
LETTER_ITEM = {"F": 1, "R": 2, "RR": 2, "P": 3, "M": 4, "D": 5}
LETTER_POINTS = {"D": (70, 100), "M": (60, 69), "P": (40, 59), "R": (10, 39), "RR": (10, 39), "F": (0, 9)}
STATUS_WORKFLOW = {"Not Marked": "notmarked", "In Marking": "inmarking", "Marking completed": "readyforreview",
                   "In review": "inreview", "Ready for release": "readyforrelease", "Released": "released"}
#: assignments per class, as the Zoho side numbers them (demo.ASSIGNMENTS_PER_CLASS)
PER_CLASS = 2


def _noon(day: str) -> int:
    return int(datetime.combine(date.fromisoformat(day), time(12), tzinfo=DEMO_ZONE).timestamp())


def _evening(day: str) -> int:
    return int(datetime.combine(date.fromisoformat(day), time(23), tzinfo=DEMO_ZONE).timestamp())


def _assignment_id(klass: dict[str, Any], index: int) -> int:
    """The id Zoho's demo grades give this class's assignment (demo.grade)."""
    return 5000 + (PER_CLASS + 1) * int(str(klass["Name"]).split("-")[1]) + index


def _criteria(unit: dict[str, Any]) -> list[Criterion]:
    order = {"P": 0, "M": 1, "D": 2}
    names = [n for n, v in unit.items() if n.endswith("_description") and v]
    names.sort(key=lambda n: (order.get(n[0], 3), int(n[1:].split("_")[0])))
    return [Criterion(n.split("_")[0], str(unit[n]).strip()) for n in names]


class _Grades:
    def __init__(self, conn: sqlite3.Connection, records: dict[str, list[dict[str, Any]]], seed: int, now: int) -> None:
        self.conn = conn
        self.rng = random.Random(f"{seed}:grades")
        self.now = now
        self.units = {u["id"]: u for u in records.get("BTEC", [])}
        self.teachers = {t["id"]: t for t in records.get("BTEC_Teachers", [])}
        self.students = {s["id"]: s for s in records.get("BTEC_Students", [])}
        self.scale = add_scale(conn, "BTEC grades", ", ".join(SCALE_ITEMS))
        self.assignments: dict[int, dict[str, Any]] = {}

    def user(self, person: dict[str, Any] | None) -> int | None:
        if person is None or not person.get("Academic_Email"):
            return None
        row = self.conn.execute("SELECT id FROM mdl_user WHERE deleted = 0 AND lower(email) = lower(?)",
                                (person["Academic_Email"],)).fetchone()
        return int(row[0]) if row else None

    def course(self, klass: dict[str, Any]) -> int | None:
        row = self.conn.execute("SELECT id FROM mdl_course WHERE idnumber = ? ORDER BY id DESC LIMIT 1",
                                (klass["id"],)).fetchone()
        return int(row[0]) if row else None

    def assignment(self, klass: dict[str, Any], courseid: int, index: int) -> dict[str, Any]:
        assignid = _assignment_id(klass, index)
        if assignid in self.assignments:
            return self.assignments[assignid]
        number = int(str(klass["Name"]).split("-")[1])
        points = number % 2 == 0
        unit = self.units.get(klass["Unit"]["id"], {})
        add_assignment(self.conn, courseid, f"Assignment {index + 1}: {unit.get('Name', 'Unit')}",
                       duedate=_evening(klass["Start_Date"]) + 60 * 86400, grade=100 if points else -self.scale,
                       markingworkflow=int(number % 3 == 0), now=self.now, assignid=assignid)
        criteria = _criteria(unit)
        guided = bool(criteria) and (number + index) % 4 != 3
        if guided:
            set_guide(self.conn, assignid, criteria, userid=2, now=self.now)
        info = {"id": assignid, "points": points, "guided": guided, "workflow": number % 3 == 0, "courseid": courseid}
        self.assignments[assignid] = info
        return info

    def value(self, info: dict[str, Any], letter: str) -> str:
        if info["points"]:
            low, high = LETTER_POINTS[letter]
            return f"{self.rng.randint(low * 100, high * 100) / 100:.5f}"
        return f"{LETTER_ITEM[letter]:.5f}"

    def iv(self, klass: dict[str, Any], courseid: int) -> int | None:
        """Another teacher of the school, holding the Internal Verifier role in this course."""
        others = sorted(t for t in self.teachers if t != klass["Teacher"]["id"])
        if not others:
            return None
        userid = self.user(self.teachers[others[int(str(klass["Name"]).split("-")[1]) % len(others)]])
        if userid is not None:
            give_role(self.conn, userid, courseid, IV_ROLE, self.now)
        return userid

    def give(self, info: dict[str, Any], userid: int, letter: str, day: str, grader: int, *,
             feedback: str = "", outcomes: list[dict[str, Any]] | None = None, status: str = "Released") -> None:
        submit(self.conn, info["id"], userid, 0, _noon(day) - 3 * 86400)
        fillings = {str(o["LO_Code"]): ("1.00000" if o.get("LO_Score") == "Achieved" else "0.00000", "")
                    for o in outcomes or []} if info["guided"] else None
        if fillings is not None:
            known = {r[0] for r in self.conn.execute(
                "SELECT c.shortname FROM mdl_gradingform_guide_criteria c JOIN mdl_grading_definitions d "
                "ON d.id = c.definitionid JOIN mdl_grading_areas a ON a.id = d.areaid JOIN mdl_context x "
                "ON x.id = a.contextid JOIN mdl_course_modules cm ON cm.id = x.instanceid WHERE cm.instance = ?",
                (info["id"],))}
            fillings = {k: v for k, v in fillings.items() if k in known}
        grade(self.conn, info["id"], userid, self.value(info, "R" if letter == "RR" else letter), grader=grader,
              when=_noon(day), feedback=feedback, fillings=fillings)
        if info["workflow"]:
            extend(self.conn, info["id"], userid, 0, STATUS_WORKFLOW.get(status, "released"))
        if letter == "RR":  # refer on attempt 1, resubmission deadline passed with nothing handed in
            extend(self.conn, info["id"], userid, _evening(day),
                   STATUS_WORKFLOW.get(status, "released") if info["workflow"] else "")
        elif letter == "R" and self.rng.random() < 1 / 3:  # resubmitted and passed on attempt 2
            submit(self.conn, info["id"], userid, 1, _noon(day) + 7 * 86400)
            grade(self.conn, info["id"], userid, self.value(info, "P"), grader=grader, when=_noon(day) + 9 * 86400,
                  attempt=1, feedback="Resubmission meets the pass criteria.", fillings=None)


def install_grades(conn: sqlite3.Connection, records: dict[str, list[dict[str, Any]]], seed: int,
                   now: int) -> dict[str, list[str]]:
    """Assignments and grades in the courses the demo starts with; the composite keys of
    each case (``graded``, ``moodle_only``, ``resubmitted``) for the tests."""
    made = _Grades(conn, records, seed, now)
    classes = {c["id"]: c for c in records.get("BTEC_Classes", [])}
    cases: dict[str, list[str]] = {"graded": [], "moodle_only": []}
    ivs: dict[int, int | None] = {}
    for record in records.get("BTEC_Grades", []):
        key = str(record.get("Moodle_Grade_Composite_Key") or "")
        klass = classes.get(record["Class"]["id"])
        if not key or klass is None:
            continue
        courseid = made.course(klass)
        if courseid is None:
            continue  # before the user look-ups: each scans mdl_user, and most classes may have no course
        userid = made.user(made.students.get(record["Student"]["id"]))
        teacher = made.user(made.teachers.get(klass["Teacher"]["id"]))
        if userid is None or teacher is None or str(userid) != key.split("_")[0]:
            continue
        index = int(key.split("_")[1]) - _assignment_id(klass, 0)
        if not 0 <= index < PER_CLASS:
            continue
        info = made.assignment(klass, courseid, index)
        if courseid not in ivs:
            ivs[courseid] = made.iv(klass, courseid)
        iv = ivs[courseid]
        grader = iv if record.get("IV_Name") and iv is not None else teacher
        made.give(info, userid, record["Grade"], record["Attempt_Date"], grader, feedback=record.get("Feedback") or "",
                  outcomes=record.get("Learning_Outcomes_Assessm"), status=record.get("Grade_Status") or "Released")
        cases["graded"].append(key)
    graded = set(cases["graded"])
    for enrollment in records.get("BTEC_Enrollments", []):
        klass = classes.get(enrollment["Classes"]["id"])
        student = made.students.get(enrollment["Enrolled_Students"]["id"])
        if klass is None or student is None or made.rng.random() >= 0.5:
            continue
        courseid, userid = made.course(klass), made.user(student)
        teacher = made.user(made.teachers.get(klass["Teacher"]["id"]))
        index = made.rng.randrange(PER_CLASS)
        key = f"{userid}_{_assignment_id(klass, index)}"
        if courseid is None or userid is None or teacher is None or key in graded:
            continue
        info = made.assignment(klass, courseid, index)
        letter = made.rng.choice(["D", "M", "P", "P", "R"])
        made.give(info, userid, letter, klass["Start_Date"], teacher, feedback="Marked in Moodle.")
        graded.add(key)
        cases["moodle_only"].append(key)
    return cases
