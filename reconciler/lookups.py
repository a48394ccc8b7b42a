"""Resolving a :class:`~reconciler.events.Lookup` into addresses, in the webhook worker.

A Moodle event says "user 42" or "course 7", not ``student_user.<Zoho id>``; which
addresses it concerns only the mirror tables can say, and reading them is a call to
Moodle — so it happens here, after the event was acknowledged, never on the HTTP path.

* ``moodle_user``: the mirror rows of the kind's table linked to the user, and the
  unlinked rows whose match address (academic email, then email, as the kind's spec
  lists them) ``local_mzi_resolve_users`` says is that user's — the student a new Moodle
  account can now be linked to, or the one whose account changed its address.
* ``course``: the classes whose course it is (``teacher_enrolment.<class id>``).
* ``course_user``: the enrollments of that user's student in those classes.
* ``zoho_id``: a kind keyed by another Zoho field than ``id``: that field of the record.

A look-up reads whole mirror tables (paged, no Zoho credit): cheap at the rate Moodle
events come (a few a day per user), and the only way to find an unlinked row by address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import TerminalError
from .events import Lookup
from .model import Address
from .providers.moodle_users import LINK, MATCH_FIELDS
from .specs import Spec

if TYPE_CHECKING:
    from .commands import Workspace

#: the mirror column holding a class's Moodle course id (install.xml, local_mzi_classes)
COURSE_LINK = "moodle_class_id"


def _same(value: Any, wanted: str) -> bool:
    return value not in (None, "", 0, "0") and str(value) == wanted


async def _rows(ws: "Workspace", kind: str) -> tuple[Spec, list[dict[str, Any]]]:
    """Every row of ``kind``'s mirror table, as the plugin returns them."""
    from .providers.moodle import function_names

    spec = ws.specs.get(kind)
    if spec is None:
        raise TerminalError(f"resolving a Moodle event needs the {kind!r} kind, which has no spec")
    moodle: Any = ws.providers["moodle"]
    return spec, await moodle.paged(function_names(spec.moodle_table)["get"], None)


def _key_column(spec: Spec) -> str:
    if spec.key.composite:
        raise TerminalError(f"kind {spec.kind!r} has a composite key; a Moodle event cannot name it")
    assert isinstance(spec.key.moodle, str)
    return spec.key.moodle


async def by_moodle_user(ws: "Workspace", lookup: Lookup) -> list[Address]:
    spec, rows = await _rows(ws, lookup.kind)
    key = _key_column(spec)
    found = {str(r[key]) for r in rows if _same(r.get(LINK), lookup.value) and r.get(key)}
    matchers = [f for f in MATCH_FIELDS if f in spec.fields]
    unlinked = [r for r in rows if r.get(LINK) in (None, "", 0, "0") and r.get(key)]
    emails = {str(r[f]).lower() for r in unlinked for f in matchers if r.get(f)}
    if emails:
        users: Any = ws.providers["moodle"]
        answers = await users.users.lookup(sorted(emails))
        mine = {email for email, (userid, several) in answers.items() if not several and _same(userid, lookup.value)}
        found |= {str(r[key]) for r in unlinked if any(str(r.get(f) or "").lower() in mine for f in matchers)}
    return [Address(lookup.kind, k) for k in sorted(found)]


async def _classes_of_course(ws: "Workspace", course: str) -> set[str]:
    spec, rows = await _rows(ws, "class")
    key = _key_column(spec)
    return {str(r[key]) for r in rows if _same(r.get(COURSE_LINK), course) and r.get(key)}


async def by_course(ws: "Workspace", lookup: Lookup) -> list[Address]:
    return [Address(lookup.kind, k) for k in sorted(await _classes_of_course(ws, lookup.value))]


async def by_course_user(ws: "Workspace", lookup: Lookup) -> list[Address]:
    course, _, user = lookup.value.partition(":")
    classes = await _classes_of_course(ws, course)
    if not classes:
        return []
    student_spec, students = await _rows(ws, "student")
    student_key = _key_column(student_spec)
    mine = {str(r[student_key]) for r in students if _same(r.get(LINK), user)}
    spec, rows = await _rows(ws, "enrollment")
    fields = {d.kind: d.field for d in spec.depends_on}
    key = _key_column(spec)
    return [Address(lookup.kind, str(r[key])) for r in rows
            if str(r.get(fields.get("class", ""))) in classes and str(r.get(fields.get("student", ""))) in mine]


async def by_zoho_id(ws: "Workspace", lookup: Lookup) -> list[Address]:
    spec = ws.specs.get(lookup.kind)
    if spec is None:
        return []
    client: Any = ws.providers["zoho"].client  # type: ignore[attr-defined]
    records = await client.get_by_ids(spec.zoho_module, [lookup.value], [spec.key.zoho])
    return [Address(lookup.kind, str(r[spec.key.zoho])) for r in records if r.get(spec.key.zoho) not in (None, "")]


RESOLVERS: Mapping[str, Callable[["Workspace", Lookup], Awaitable[list[Address]]]] = {
    "moodle_user": by_moodle_user,
    "course": by_course,
    "course_user": by_course_user,
    "zoho_id": by_zoho_id,
}


async def resolve(ws: "Workspace", lookup: Lookup) -> list[Address]:
    """The addresses ``lookup`` names now (none is a fine answer: nothing to reconcile)."""
    resolver = RESOLVERS.get(lookup.by)
    if resolver is None:
        raise TerminalError(f"no way to resolve {lookup} (known look-ups: {', '.join(sorted(RESOLVERS))})")
    if lookup.kind not in ws.specs:
        return []
    return await resolver(ws, lookup)
