"""The ``assignment_grade`` resource: graded assignments of BTEC classes, read from Moodle for Zoho.

``local_mzi_get_assignment_grades`` pages the latest graded attempt of each student on each
assignment of a course that is a class, with the facts around it (see the plugin function).
This adapter turns each into a Record whose fields are the values Zoho's ``BTEC_Grades``
record should hold — the letter, the attempt, the names, the learning outcomes — by the
school's rules (``reconciler/btec.py``), normalized as the spec's field types say, so the
diff compares them with what Zoho has and an upsert settles them.

The address key is the composite key ``{moodle user id}_{assignment id}``: one Zoho grade
per student per assignment, the same record however often it is regraded. A grade mzi
cannot carry is kept, as a blocked record with its reason, never dropped: a user who is no
student mzi knows, or a scale item that is no BTEC grade.

Incremental reads: the plugin takes ``modifiedsince`` (grades, submissions and deadlines
that moved since then) and :meth:`GradeAdapter.read` passes ``since`` on; the engine's
``--changed-only`` asks only sources with ``read_changes`` (Zoho), so Moodle-sourced kinds
are read in full today.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..batches import Gate, ResultSink
from ..btec import (
    LONG_TEXT_MAX, TEXT_MAX, Attempt, GradeError, clip, grade_name, grader_fields, letter_for_points,
    letter_for_scale_item, outcome_score, second_refer,
)
from ..model import Address, Change, Record, Result
from ..normalize import NormalizeError
from ..specs import Spec

if TYPE_CHECKING:
    from .moodle import MoodleProvider

GET = "local_mzi_get_assignment_grades"
#: the key column of a grade: ``{moodle user id}_{assignment id}``
GRADE_KEY = "composite_key"
#: the fields a grade spec may name: the Zoho-facing values :func:`grade_values` makes
GRADE_FIELDS = frozenset({
    "zoho_student_id", "zoho_class_id", "unit_name", "student_name", "class_name", "grade", "grade_status",
    "attempt_number", "attempt_date", "feedback", "grader_name", "iv_name", "btec_grade_name", "moodle_grade_id",
    "learning_outcomes",
})
#: Moodle's marking workflow states → Zoho's Grade_Status picklist
WORKFLOW_STATUS = {"notmarked": "Not Marked", "inmarking": "In Marking", "readyforreview": "Marking completed",
                   "inreview": "In review", "readyforrelease": "Ready for release", "released": "Released"}
#: without marking workflow a grade is visible to the student as soon as it is saved
NO_WORKFLOW_STATUS = "Released"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _local_day(seconds: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(seconds, zone).date()


def _moment(seconds: Any, zone: ZoneInfo) -> datetime | None:
    value = int(seconds or 0)
    return datetime.fromtimestamp(value, zone) if value > 0 else None


def grade_status(row: dict[str, Any]) -> str:
    if not int(row.get("markingworkflow") or 0):
        return NO_WORKFLOW_STATUS
    return WORKFLOW_STATUS.get(str(row.get("workflowstate") or ""), "Not Marked")


def letter_of(row: dict[str, Any]) -> str:
    """The BTEC letter of the raw grade: its scale item, or its points as a percentage."""
    maximum = int(row["maxgrade"])
    if maximum < 0:
        item = str(row.get("scaleitem") or "")
        if not item:
            raise GradeError(f"grade {row.get('rawgrade')!r} is no item of the assignment's scale")
        return letter_for_scale_item(item)
    return letter_for_points(row["rawgrade"], maximum)


def outcomes(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The guide's criteria as Learning_Outcomes_Assessm rows (every criterion, filled or not)."""
    return [{"LO_Code": clip(o["shortname"], TEXT_MAX), "LO_Title": f"Criterion {str(o['shortname']).strip()}",
             "LO_Definition": clip(o.get("description"), LONG_TEXT_MAX),
             "LO_Score": outcome_score(o.get("score"), o.get("maxscore") or "1"),
             "LO_Feedback": clip(o.get("remark"), LONG_TEXT_MAX)}
            for o in row.get("outcomes") or []]


def grade_values(row: dict[str, Any], zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """What the Zoho grade of one Moodle grade holds, by the school's rules (raises GradeError)."""
    attempt = Attempt(letter_of(row), int(row["attemptnumber"]) + 1, _local_day(int(row["attemptdate"]), zone))
    attempt = second_refer(attempt, _moment(row.get("duedate"), zone), _moment(row.get("resubmittedat"), zone), now)
    student = clip(row.get("studentname"), TEXT_MAX) or f"user {row['userid']}"
    klass = clip(row.get("classname"), TEXT_MAX) or str(row["courseidnumber"])
    return {
        "zoho_student_id": str(row.get("zohostudentid") or "") or None,
        "zoho_class_id": str(row["courseidnumber"]),
        "unit_name": clip(row.get("unitname"), TEXT_MAX),
        "student_name": student,
        "class_name": klass,
        "grade": attempt.letter,
        "grade_status": grade_status(row),
        "attempt_number": attempt.number,
        "attempt_date": attempt.day.isoformat(),
        "feedback": clip(row.get("feedback"), LONG_TEXT_MAX),
        **grader_fields(row.get("gradername"), bool(row.get("graderisiv"))),
        "btec_grade_name": grade_name(student, klass, attempt.letter, attempt.day),
        "moodle_grade_id": str(row["gradeid"]),
        "learning_outcomes": outcomes(row) or None,
    }


def held_because(row: dict[str, Any]) -> str:
    """Why a grade cannot go to Zoho although it was read ("" when it can)."""
    if not row.get("zohostudentid"):
        return (f"Moodle user {row['userid']} is no student mzi knows: no local_mzi_students row links it "
                "(student_user links students by academic email)")
    return ""


class GradeAdapter:
    """Reads assignment grades for :class:`MoodleProvider` (the source of ``moodle_grade``)."""

    def __init__(self, provider: "MoodleProvider", zone: ZoneInfo, iv_role: str,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.provider = provider
        self.zone = zone
        self.iv_role = iv_role
        self._now = now

    async def rows(self, keys: Collection[str] | None = None, since: datetime | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"ivrole": self.iv_role}
        if since is not None:
            params["modifiedsince"] = int(since.timestamp())
        return await self.provider.paged(GET, keys, key_param="keys", result_key="grades", params=params)

    async def read(self, spec: Spec, keys: Collection[str] | None = None,
                   since: datetime | None = None) -> dict[str, Record]:
        now = self._now()
        records: dict[str, Record] = {}
        for row in await self.rows(keys, since):
            record = self.record(spec, row, now)
            records[record.address.key] = record
        return records

    def record(self, spec: Spec, row: dict[str, Any], now: datetime) -> Record:
        """One grade as a Record of ``spec``: its fields, or why it is held."""
        address = Address(spec.kind, str(row["compositekey"]))
        try:
            values = grade_values(row, self.zone, now)
        except GradeError as exc:
            return Record(address, {}, address.key, blocked=f"grade of {row.get('assignmentname')!r}: {exc}")
        fields: dict[str, Any] = {}
        for mapper in spec.mappers:
            try:
                fields[mapper.name] = mapper.normalize(values.get(mapper.name, mapper.field.const))
            except NormalizeError as exc:
                return Record.unreadable(address, f"field {mapper.name}: {exc.describe(sensitive=mapper.sensitive)}")
        return Record(address, fields, partial(spec.render_label, address.key, fields), blocked=held_because(row))

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Grades are Moodle's: mzi reads them and writes nothing back to mod_assign."""
        refused = [Result(c.address, c.action, False, "skipped", "mzi never writes assignment grades in Moodle")
                   for c in changes]
        if refused and on_results is not None:
            on_results(refused)
        return refused
