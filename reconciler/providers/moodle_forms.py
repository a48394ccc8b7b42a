"""The ``grading_form`` resource: a class's unit criteria as the marking guide of its assignments.

Desired: the class's unit's BTEC criteria (P1…P10, M1…M9, D1…D6 descriptions, as the
``btec_criteria`` transform lists them: ``[{code, level, description}]``), from Zoho.
Actual: the marking guide mzi made on the assignments of the class's course, read with
``local_mzi_get_grading_forms``; ``local_mzi_ensure_grading_forms`` writes it through
Moodle's grading manager. Teachers then grade per criterion, and those fillings are what
``moodle_grade`` turns into the Zoho grade's learning-outcome rows.

One record per class (keyed by the course idnumber, the Zoho class id): its ``criteria``
are the guide all of mzi's assignments share; when they disagree (a new assignment still
on simple grading, a guide edited by hand) the value names each assignment's, so the diff
shows an update that sets them all. Assignments a teacher grades by their own method (a
rubric, a guide of their own) are not mzi's: they are left out of the value and left alone.
The resolver drops a class whose course has no assignment (nothing to put a form on) and
holds, as blocked, one whose assignments are all the teacher's own.

Until the spec can read the unit's fields through the class's ``Unit`` lookup (the
``through`` field option), the resolver fills ``criteria`` from the ``local_mzi_units``
mirror by the class's ``unit_zoho_id``: the stepping stone ``docs/moodle-webservices.md``
describes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from ..batches import Gate, ResultSink, run_batches
from ..model import Action, Address, Change, Record, Result
from ..normalize import NormalizeError
from ..specs import Spec

if TYPE_CHECKING:
    from .moodle import MoodleProvider

GET = "local_mzi_get_grading_forms"
ENSURE = "local_mzi_ensure_grading_forms"
#: the fields a grading-form spec may name; the key is the course idnumber
FORM_FIELDS = frozenset({"criteria", "unit_zoho_id"})
LEVELS = {"P": "pass", "M": "merit", "D": "distinction"}
#: a BTEC criterion is met or not: the guide gives each a maximum score of 1
MAX_SCORE = "1"


def guide_criteria(criteria: list[dict[str, Any]]) -> list[dict[str, str]]:
    """A guide's criteria as the unit's criteria list: ``[{code, level, description}]``."""
    listed = []
    for criterion in criteria:
        code = str(criterion["shortname"]).strip()
        entry = {"code": code, "description": str(criterion.get("description") or "").strip()}
        level = LEVELS.get(code[:1].upper())
        listed.append(entry | ({"level": level} if level else {}))
    return listed


def course_criteria(course: dict[str, Any]) -> Any:
    """The value of one course: the guide its managed assignments share, or each one's when they
    differ (``None`` for one still without mzi's guide); ``None`` when none has it."""
    mine = [a for a in course.get("assignments") or [] if a.get("managed")]
    values = [guide_criteria(a["criteria"]) if a.get("criteria") else None for a in mine]
    if all(v == values[0] for v in values):
        return values[0] if values else None
    return {"assignments differ": {str(a["name"]): v for a, v in zip(mine, values)}}


def wire(criteria: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The unit's criteria as ensure_grading_forms takes them."""
    return [{"shortname": str(c["code"]), "description": str(c.get("description") or ""),
             "descriptionmarkers": f"{str(c.get('level') or '').capitalize()} criterion {c['code']}".strip(),
             "maxscore": MAX_SCORE} for c in criteria]


class GradingFormAdapter:
    """Reads, resolves and writes grading forms for :class:`MoodleProvider`."""

    def __init__(self, provider: "MoodleProvider") -> None:
        self.provider = provider

    async def courses(self, keys: Collection[str] | None = None) -> list[dict[str, Any]]:
        return await self.provider.paged(GET, keys, key_param="idnumbers", result_key="courses")

    async def read(self, spec: Spec, keys: Collection[str] | None = None) -> dict[str, Record]:
        """A record per class course with an assignment mzi may set."""
        records: dict[str, Record] = {}
        for course in await self.courses(keys):
            if not any(a.get("managed") for a in course.get("assignments") or []):
                continue
            address = Address(spec.kind, str(course["idnumber"]))
            try:
                fields = {m.name: m.normalize(course_criteria(course) if m.name == "criteria" else None)
                          for m in spec.mappers}
            except NormalizeError as exc:
                records[address.key] = Record.unreadable(address, f"criteria: {exc}")
                continue
            records[address.key] = Record(address, fields, spec.render_label(address.key, fields))
        return records

    async def resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        """Drop classes whose course has no assignment, hold those whose assignments are all
        the teacher's own, and (stepping stone) fill the unit's criteria from its mirror row."""
        courses = {str(c["idnumber"]): c for c in await self.courses(sorted(desired))}
        from_mirror = not spec.fields["criteria"].zoho_names
        units = await self._unit_criteria(desired.values()) if from_mirror else {}
        resolved: dict[str, Record] = {}
        for key, record in desired.items():
            assignments = courses.get(key, {}).get("assignments") or []
            if record.error or record.blocked:
                resolved[key] = record
                continue
            if not assignments:
                continue  # no course yet, or no assignment: nothing to put a form on
            fields = dict(record.fields)
            if from_mirror:
                fields["criteria"] = units.get(str(fields.get("unit_zoho_id") or ""))
            resolved[key] = Record(record.address, fields, record.label, blocked=_held(assignments, fields))
        return resolved

    async def _unit_criteria(self, records: Collection[Record]) -> dict[str, Any]:
        ids = sorted({str(r.fields.get("unit_zoho_id")) for r in records if r.fields.get("unit_zoho_id")})
        if not ids:
            return {}
        rows = await self.provider.paged("local_mzi_get_units", ids)
        found = {}
        for row in rows:
            try:
                found[str(row["zoho_unit_id"])] = json.loads(row["criteria"]) if row.get("criteria") else None
            except json.JSONDecodeError:
                found[str(row["zoho_unit_id"])] = None
        return found

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Creates and updates through ensure_grading_forms; forms are never deleted."""
        writes = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE)]
        refused = [Result(c.address, c.action, False, "skipped", "mzi never removes a grading form"
                          if c.action is Action.DELETE else c.reason or "blocked")
                   for c in changes if c.action not in (Action.CREATE, Action.UPDATE)]
        if refused and on_results is not None:
            on_results(refused)
        forms = [{"idnumber": c.address.key, "criteria": wire((c.after or {}).get("criteria") or [])} for c in writes]
        batches = self.provider._write_batches(ENSURE, "forms", writes, forms)
        done = await run_batches(batches, limit=self.provider.client.policy.concurrency, gate=gate, on_results=on_results)
        by_change = {id(c): r for c, r in zip((c for b in batches for c in b.changes), done)}
        by_change |= {id(c): r for c, r in zip((c for c in changes if c.action not in (Action.CREATE, Action.UPDATE)),
                                               refused)}
        return [by_change[id(c)] for c in changes]


def _held(assignments: list[dict[str, Any]], fields: dict[str, Any]) -> str:
    """Why a class's form cannot be set ("" when it can)."""
    if not any(a.get("managed") for a in assignments):
        own = "; ".join(f"{a['name']} ({a.get('activemethod') or 'simple'})" for a in assignments)
        return f"every assignment of the course is graded by the teacher's own method ({own}); mzi leaves them alone"
    if not fields.get("criteria"):
        return "the class's unit has no criteria (its P1..D6 descriptions are empty in Zoho)"
    return ""
