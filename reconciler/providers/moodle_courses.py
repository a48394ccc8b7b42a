"""The ``course`` resource: one Moodle course per Zoho class, through the plugin's functions.

A course is not a mirror row: it is read with ``local_mzi_get_courses`` (courses with an
idnumber, paged by id) and written with ``local_mzi_ensure_courses``, which creates a
missing course (unique shortname, ``" (2)"`` when taken), adopts an existing course with
the same idnumber instead of making a second one, updates name, dates and visibility,
and writes the course id into ``local_mzi_classes.moodle_class_id``. The spec
(``specs/course.toml``) names fields in Moodle's course terms (:data:`COURSE_FIELDS`).

Dates: Zoho's class dates have no zone; Moodle keeps a course date as the unix time of
local midnight of the site's zone (``[moodle] timezone``). :func:`date_to_unix` and
:func:`unix_to_date` convert, so a course Moodle shows on the right day compares equal
to its class.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..batches import Gate, ResultSink, run_batches
from ..mapping import MappingError, record_from_moodle
from ..model import Action, Address, Change, Record, Result
from ..normalize import to_bool, to_date
from ..specs import Spec

if TYPE_CHECKING:
    from .moodle import MoodleProvider

#: the fields a course spec may name: what local_mzi_get_courses returns and ensure_courses takes.
#: ``classlinked``: the class's mirror row names this course (ensure_courses writes that link;
#: a course adopted from a hand-made one is not linked yet, so its spec wants it true)
COURSE_FIELDS = frozenset({"fullname", "shortname", "startdate", "enddate", "visible", "classlinked"})
#: the course's key column: the Zoho class id
COURSE_KEY = "idnumber"
GET = "local_mzi_get_courses"
ENSURE = "local_mzi_ensure_courses"


def date_to_unix(value: str | None, zone: ZoneInfo) -> int:
    """``YYYY-MM-DD`` → unix time of that day's local midnight in ``zone``; no date → 0 (Moodle's "none")."""
    if value is None:
        return 0
    return int(datetime.combine(date.fromisoformat(value), time(0), tzinfo=zone).timestamp())


def unix_to_date(value: Any, zone: ZoneInfo) -> str | None:
    """Moodle's unix time → the local calendar date in ``zone``; 0 (no date) → ``None``."""
    seconds = int(value or 0)
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, zone).date().isoformat()


class CourseAdapter:
    """Reads and writes courses for :class:`MoodleProvider`, over its connection and batching."""

    def __init__(self, provider: "MoodleProvider", zone: ZoneInfo, category_id: int) -> None:
        self.provider = provider
        self.zone = zone
        self.category_id = category_id

    # -------------------------------------------------------------- reading

    async def rows(self, keys: Collection[str] | None = None) -> list[dict[str, Any]]:
        """Raw course rows, all with an idnumber or only those of ``keys``."""
        return await self.provider.paged(GET, keys, key_param="idnumbers", result_key="courses")

    def _as_fields(self, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "startdate": unix_to_date(row.get("startdate"), self.zone),
                "enddate": unix_to_date(row.get("enddate"), self.zone)}

    async def read(self, spec: Spec, keys: Collection[str] | None = None) -> dict[str, Record]:
        """Courses as Records keyed by idnumber; when two share one, the newest (highest id)
        wins, as ``ensure_courses`` updates the newest."""
        records: dict[str, Record] = {}
        for row in sorted(await self.rows(keys), key=lambda r: int(r["id"])):
            try:
                record = record_from_moodle(spec, self._as_fields(row))
            except (MappingError, ValueError) as exc:
                record = Record.unreadable(Address(spec.kind, str(row.get(COURSE_KEY))), str(exc))
            records[record.address.key] = record
        return records

    # -------------------------------------------------------------- writing

    def _course(self, key: str, fields: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        """What ensure_courses takes for one class. An update carries only what changed, so
        the rest is the course as Moodle has it now (equal to Zoho, or it would be a delta).
        A class without a short name gets its Zoho id, which is unique."""
        now = current or {}
        course: dict[str, Any] = {
            "idnumber": key,
            "fullname": fields["fullname"] if "fullname" in fields else now.get("fullname", ""),
            "shortname": fields.get("shortname") or now.get("shortname") or key,
            "categoryid": self.category_id,
        }
        for name in ("startdate", "enddate"):
            course[name] = date_to_unix(fields[name], self.zone) if name in fields else int(now.get(name) or 0)
        visible = fields["visible"] if "visible" in fields else to_bool(now.get("visible", 1))
        course["visible"] = 0 if visible is False else 1
        course["fullname"] = course["fullname"] or ""
        return course

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Creates and updates through ensure_courses in batches, one Result per change.

        Courses are never deleted (the spec's policy is ``keep``): a delete or blocked
        change handed here is refused, not carried out.
        """
        writes = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)]
        refused = [Result(c.address, c.action, False, "skipped", f"courses are never {c.action.verb}d by mzi"
                          if c.action is Action.DELETE else f"the Moodle provider does not carry out {c.action.verb!r} changes")
                   for c in changes if c.action not in (Action.CREATE, Action.UPDATE)]
        if refused and on_results is not None:
            on_results(refused)
        updates = [c.address.key for c in writes if c.action is Action.UPDATE]
        current = {str(r[COURSE_KEY]): r for r in await self.rows(updates)} if updates else {}
        courses = [self._course(c.address.key, {k: _wire(spec, k, v) for k, v in (c.after or {}).items()},
                                current.get(c.address.key)) for c in writes]
        batches = self.provider._write_batches(ENSURE, "courses", writes, courses)
        done = await run_batches(batches, limit=self.provider.client.policy.concurrency, gate=gate, on_results=on_results)
        sent = (c for b in batches for c in b.changes)
        by_change = {id(c): r for c, r in zip(sent, done)}
        by_change |= {id(c): r for c, r in zip((c for c in changes if c.action not in (Action.CREATE, Action.UPDATE)), refused)}
        return [by_change[id(c)] for c in changes]


def _wire(spec: Spec, name: str, value: Any) -> Any:
    """Dates are kept as ``YYYY-MM-DD`` in plans; make sure a plan file's text is one."""
    if name in spec.fields and spec.fields[name].type == "date":
        return to_date(value)
    return value
