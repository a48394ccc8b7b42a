"""The ``enrolment`` resource: people enrolled in their classes' courses, through the plugin.

Two kinds use it (the spec's ``role`` const says which): ``enrolment`` (one per Zoho
enrollment, a student with the ``student`` role) and ``teacher_enrolment`` (one per class,
its teacher with the ``editingteacher`` role). A record's fields are in Zoho's terms, so the
two sides compare directly: ``course`` (the Zoho class id, the course's idnumber),
``person`` (the Zoho student or teacher id), ``role``, ``status`` (``active``|``suspended``).

Reading: Moodle knows enrolments by Moodle user, not by Zoho person, so
``local_mzi_get_enrolments`` (manual enrolments in courses with an idnumber) is mapped back
through the people's mirror rows (``moodle_user_id`` of ``local_mzi_students`` /
``local_mzi_teachers``), and a student's enrolment to its enrollment through
``local_mzi_enrollments`` (enrollment id → class, student; a withdrawn row stays, so a
withdrawn enrolment is still found). A teacher enrolment is read per course: ``person`` is
the Zoho teachers actively enrolled as editing teachers there (sorted, joined by ``,``); a
course without one has no record, and users who are nobody's teacher in Zoho are left alone.

Writing: people become Moodle user ids at apply time (their links were applied earlier in
the same apply: ``depends_on`` the user-link kind), then ``local_mzi_set_enrolments`` in
batches. A change of course or person *moves* the enrolment: the old one is withdrawn
(``[moodle] withdrawn_enrolment``: ``suspend``, the default, keeps grades; ``unenrol``), the
new one enrolled, in one call. A record gone from Zoho is withdrawn the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..batches import Batch, Gate, ResultSink, failed, run_batches
from ..errors import SpecError
from ..mapping import MappingError, record_from_moodle
from ..model import Action, Change, Record, Result
from ..specs import Spec

if TYPE_CHECKING:
    from .moodle import MoodleProvider

#: the fields an enrolment spec may name (``role`` a const: student or editingteacher);
#: ``person_name``, ``course_name``: for the plan's labels only (``compare = false``)
ENROLMENT_FIELDS = frozenset({"course", "person", "role", "status", "person_name", "course_name"})
GET = "local_mzi_get_enrolments"
SET = "local_mzi_set_enrolments"
#: what a withdrawn enrolment becomes: ``[moodle] withdrawn_enrolment``
WITHDRAW_ACTIONS = ("suspend", "unenrol")
ACTIVE, SUSPENDED = "active", "suspended"
#: per role: the people's mirror table and its key column
PEOPLE = {"student": ("local_mzi_students", "zoho_student_id"),
          "editingteacher": ("local_mzi_teachers", "zoho_teacher_id")}
ENROLLMENTS = "local_mzi_enrollments"
#: an enrollment mirror row gone from Zoho (enrollment.toml's soft delete)
WITHDRAWN = "Withdrawn"
#: several teachers in one course: their Zoho ids in ``person``, sorted, joined by this
PEOPLE_SEPARATOR = ","


def spec_role(spec: Spec) -> str:
    """The Moodle role an enrolment spec gives (its ``role`` const), checked."""
    field = spec.fields.get("role")
    role = str(field.const) if field is not None and field.const is not None else ""
    if role not in PEOPLE:
        raise SpecError(f"kind {spec.kind!r}: an enrolment needs role = {{ const = \"student\" }} or "
                        f"{{ const = \"editingteacher\" }}, not {role or 'none'}")
    return role


def people_of(value: Any) -> list[str]:
    """The Zoho ids in a ``person`` value (one student, or the teachers of a course)."""
    return [p for p in str(value or "").split(PEOPLE_SEPARATOR) if p]


class EnrolmentAdapter:
    """Reads and writes course enrolments for :class:`MoodleProvider`."""

    def __init__(self, provider: "MoodleProvider", withdraw: str) -> None:
        if withdraw not in WITHDRAW_ACTIONS:
            raise ValueError(f"withdrawn_enrolment must be one of {', '.join(WITHDRAW_ACTIONS)}, not {withdraw!r}")
        self.provider = provider
        self.withdraw = withdraw

    # -------------------------------------------------------------- plan time

    async def resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        """A class without a teacher (or an enrollment without a student or class) wants no
        enrolment: it is left out, so a teacher removed in Zoho is withdrawn like a deleted one.

        Two live enrollments of one student in one class share Moodle's one enrolment, which
        belongs to the lowest id (as :func:`_owners` reads it back); the other is held as a
        duplicate to fix in Zoho — planning it would create it again on every run."""
        wanted = {k: r for k, r in desired.items()
                  if r.error or (r.fields.get("course") is not None and r.fields.get("person") is not None)}
        owner: dict[tuple[str, str], str] = {}
        for key in sorted(wanted):
            record = wanted[key]
            if record.error or record.blocked:
                continue
            pair = (str(record.fields["course"]), str(record.fields["person"]))
            first = owner.setdefault(pair, key)
            if first != key:
                wanted[key] = replace(record, blocked=f"the same student is enrolled in the same class by "
                                                      f"{spec.kind}.{first} in Zoho: remove one of the two")
        return wanted

    # -------------------------------------------------------------- reading

    async def _rows(self, wsfunction: str, keys: Collection[str] | None, *, key_param: str = "keys",
                    result_key: str = "records") -> list[dict[str, Any]]:
        """Rows of a paged read, all or those of ``keys``."""
        return await self.provider.paged(wsfunction, keys, key_param=key_param, result_key=result_key)

    async def moodle_users(self, role: str, people: Collection[str] | None) -> dict[str, int]:
        """Zoho person id → linked Moodle user id (people without a link left out)."""
        from .moodle import function_names

        if people is not None and not people:
            return {}
        table, column = PEOPLE[role]
        rows = await self._rows(function_names(table)["get"], people)
        return {str(r[column]): int(r["moodle_user_id"]) for r in rows if r.get("moodle_user_id")}

    async def enrolments(self, courses: Collection[str] | None, role: str) -> list[dict[str, Any]]:
        """Moodle's manual enrolments holding ``role``, in these courses or all."""
        if courses is not None and not courses:
            return []
        rows = await self._rows(GET, courses, key_param="idnumbers", result_key="enrolments")
        return [r for r in rows if role in (r.get("roles") or [])]

    async def read(self, spec: Spec, keys: Collection[str] | None = None) -> dict[str, Record]:
        role = spec_role(spec)
        rows = await (self._student_rows(keys) if role == "student" else self._teacher_rows(keys))
        records: dict[str, Record] = {}
        for row in rows:
            try:
                record = record_from_moodle(spec, row | {"role": role})
            except MappingError as exc:
                record = Record.unreadable(exc.address, str(exc))
            records[record.address.key] = record
        return records

    async def _student_rows(self, keys: Collection[str] | None) -> list[dict[str, Any]]:
        """One row per enrollment whose student Moodle enrols in its class's course.

        Zoho may hold two enrollments of one student in one class (one withdrawn, one live):
        Moodle has one enrolment for both, which belongs to one of them (:func:`_owners`),
        or the withdrawn one would suspend what the live one enrols, run after run."""
        from .moodle import function_names

        mirror = await self._rows(function_names(ENROLLMENTS)["get"], keys)
        mirror = [m for m in mirror if m.get("zoho_class_id") and m.get("zoho_student_id")]
        everything = keys is None
        users = await self.moodle_users("student", None if everything else {str(m["zoho_student_id"]) for m in mirror})
        courses = None if everything else {str(m["zoho_class_id"]) for m in mirror}
        status = {(str(e["courseidnumber"]), int(e["userid"])): str(e["status"])
                  for e in await self.enrolments(courses, "student")}
        rows = []
        for m in _owners(mirror):
            student, klass = str(m["zoho_student_id"]), str(m["zoho_class_id"])
            found = status.get((klass, users.get(student, 0)))
            if found is not None:
                rows.append({"zoho_enrollment_id": m["zoho_enrollment_id"], "course": klass, "person": student,
                             "status": found, "person_name": m.get("student_name"), "course_name": m.get("class_name")})
        return rows

    async def _teacher_rows(self, keys: Collection[str] | None) -> list[dict[str, Any]]:
        """One row per course with a Zoho teacher actively enrolled as editing teacher."""
        from .moodle import function_names

        table, column = PEOPLE["editingteacher"]
        linked = [r for r in await self._rows(function_names(table)["get"], None) if r.get("moodle_user_id")]
        teachers = {int(r["moodle_user_id"]): str(r[column]) for r in linked}
        names = {str(r[column]): str(r.get("teacher_name") or r[column]) for r in linked}
        by_course: dict[str, set[str]] = {}
        for e in await self.enrolments(keys, "editingteacher"):
            person = teachers.get(int(e["userid"]))
            if person is not None and e["status"] == ACTIVE:
                by_course.setdefault(str(e["courseidnumber"]), set()).add(person)
        return [{"zoho_class_id": course, "course": course, "person": PEOPLE_SEPARATOR.join(sorted(people)),
                 "status": ACTIVE, "person_name": ", ".join(names[p] for p in sorted(people)), "course_name": course}
                for course, people in by_course.items()]

    # -------------------------------------------------------------- writing

    def _calls(self, role: str, change: Change, now: Record | None,
               wanted: dict[str, Any]) -> list[tuple[str, str, str]]:
        """(course, person, action) calls that carry ``change`` out.

        ``now`` is the enrolment as Moodle has it at apply time; ``wanted`` the enrollment's
        class and student as the mirror holds them now. What an update moves *away from* is
        taken from the plan's own old values: by apply time the enrollment's mirror row (an
        earlier kind of the same apply) already names the new class, so a re-read no longer
        finds the old enrolment — and the student would stay active in the old course.
        """
        old = dict(now.fields) if now is not None else {}
        if change.action is Action.DELETE:
            return [(str(old["course"]), p, self.withdraw) for p in people_of(old.get("person"))] if now else []
        if change.action is Action.UPDATE:
            old |= {d.name: d.old for d in change.deltas if d.name in ("course", "person") and d.old is not None}
        new = {**old, **wanted, **(change.after or {})}
        course, people = str(new.get("course")), people_of(new.get("person"))
        calls: list[tuple[str, str, str]] = []
        if old.get("course") is not None:
            before = str(old["course"])
            moved = before != course
            calls += [(before, p, self.withdraw) for p in people_of(old.get("person") or new.get("person"))
                      if moved or p not in people]
        action = "suspend" if new.get("status") == SUSPENDED else "enrol"
        return calls + [(course, p, action) for p in people]

    async def _wanted(self, role: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Class and student of each enrollment as the mirror holds them now (after the
        enrollment kind of this apply): the fields an update did not change."""
        from .moodle import function_names

        if role != "student" or not keys:
            return {}
        rows = await self._rows(function_names(ENROLLMENTS)["get"], keys)
        return {str(r["zoho_enrollment_id"]): {"course": str(r["zoho_class_id"]), "person": str(r["zoho_student_id"])}
                for r in rows if r.get("zoho_class_id") and r.get("zoho_student_id")}

    async def apply(self, spec: Spec, changes: Sequence[Change], *,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Each change as its enrol/withdraw calls through set_enrolments; one Result per change.

        The enrolments as Moodle has them now are read first (what an update moves away
        from, what a delete withdraws); people become Moodle user ids in one batched read.
        """
        from .moodle import pack

        role = spec_role(spec)
        done: dict[int, Result] = {}
        for change in changes:
            if change.action is Action.BLOCKED:
                done[id(change)] = Result(change.address, change.action, False, "skipped",
                                          f"the Moodle provider does not carry out {change.action.verb!r} changes")
        todo = [c for c in changes if id(c) not in done]
        if done and on_results is not None:
            on_results(list(done.values()))
        moving = [c.address.key for c in todo if c.action is not Action.CREATE]
        current = await self.read(spec, moving) if moving else {}
        wanted = await self._wanted(role, [c.address.key for c in todo if c.action is Action.UPDATE])
        planned = {id(c): self._calls(role, c, current.get(c.address.key), wanted.get(c.address.key, {}))
                   for c in todo}
        if role == "student" and any(a != "enrol" for calls in planned.values() for _, _, a in calls):
            kept = await self._still_enrolled({c.address.key for c in todo if c.action is Action.DELETE})
            planned = {i: [(k, p, a) for k, p, a in calls if a == "enrol" or (k, p) not in kept]
                       for i, calls in planned.items()}
        users = await self.moodle_users(role, {p for calls in planned.values() for _, p, _ in calls})
        wires: list[list[dict[str, Any]]] = []
        sendable: list[Change] = []
        for change in todo:
            wire, problem = self._wire(role, planned[id(change)], users)
            if problem:
                done[id(change)] = failed([change], problem)[0]
            elif not wire:
                done[id(change)] = Result(change.address, change.action, True, "unchanged")
            else:
                wires.append(wire)
                sendable.append(change)
        settled = [done[id(c)] for c in todo if id(c) in done]
        if settled and on_results is not None:
            on_results(settled)
        batches, start = [], 0
        for part in pack(wires, self.provider.budget):
            mine = sendable[start:start + len(part)]
            start += len(part)

            async def send(part: list[list[dict[str, Any]]] = part, mine: list[Change] = mine) -> list[Result]:
                return await self._send(part, mine)

            batches.append(Batch(mine, send))
        sent = await run_batches(batches, limit=self.provider.client.policy.concurrency, gate=gate,
                                 on_results=on_results)
        done |= {id(c): r for c, r in zip(sendable, sent)}
        return [done[id(c)] for c in changes]

    async def _still_enrolled(self, leaving: set[str]) -> set[tuple[str, str]]:
        """(class, student) pairs another live enrollment still holds: withdrawing one of two
        enrollments of a student in a class leaves the course enrolment to the other."""
        from .moodle import function_names

        rows = await self._rows(function_names(ENROLLMENTS)["get"], None)
        return {(str(r["zoho_class_id"]), str(r["zoho_student_id"])) for r in rows
                if r.get("status") != WITHDRAWN and str(r["zoho_enrollment_id"]) not in leaving}

    @staticmethod
    def _wire(role: str, calls: list[tuple[str, str, str]], users: dict[str, int]) -> tuple[list[dict[str, Any]], str]:
        """set_enrolments items for ``calls``; a person to enrol without a Moodle user is the
        change's failure (one to withdraw without one has nothing in Moodle to withdraw)."""
        items = []
        for course, person, action in calls:
            userid = users.get(person)
            if userid is None:
                if action == "enrol":
                    kind = "student_user" if role == "student" else "teacher_user"
                    return [], f"{kind}.{person} has no Moodle user linked; apply it first"
                continue
            items.append({"courseidnumber": course, "userid": userid, "role": role, "action": action})
        return items, ""

    async def _send(self, part: list[list[dict[str, Any]]], changes: list[Change]) -> list[Result]:
        """One set_enrolments call for several changes; a change succeeds when all its items did."""
        flat = [item for wire in part for item in wire]
        answers = await self.provider._send(SET, "enrolments", flat)
        results, at = [], 0
        for wire, change in zip(part, changes):
            mine, at = answers[at:at + len(wire)], at + len(wire)
            errors = [f"{a.get('errorcode', '')}: {a.get('message', '')}".strip(": ") if a else
                      "Moodle returned no result for this enrolment" for a in mine if not a or a.get("status") == "error"]
            if errors:
                results.append(Result(change.address, change.action, False, "error", "; ".join(errors)))
            else:
                changed = [str(a["status"]) for a in mine if a and a.get("status") != "unchanged"]
                results.append(Result(change.address, change.action, True, changed[-1] if changed else "unchanged"))
        return results


def _owners(mirror: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The one enrollment row per (class, student) that Moodle's one enrolment belongs to:
    a live row before a withdrawn one, then the lowest id (the same every run)."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(mirror, key=lambda r: (r.get("status") == WITHDRAWN, str(r["zoho_enrollment_id"]))):
        best.setdefault((str(row["zoho_class_id"]), str(row["zoho_student_id"])), row)
    return list(best.values())
