"""The demo school's courses: some classes start with a Moodle course, some without.

Like the mirror tables, the course side of the demo starts partly in sync so the first
plan shows every case: classes whose course exists and is linked
(``local_mzi_classes.moodle_class_id`` set), courses made by hand with the class's id as
idnumber but never linked (``adopted``: ensure_courses takes them over instead of making a
second course), one course renamed in Moodle (drift on ``fullname``), and classes with no
course yet. Courses are made exactly as the plugin makes them (the emulator's own
``ensure_courses`` code), with dates at local midnight of the default ``[moodle] timezone``.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from ..mapping import record_from_zoho
from ..providers.moodle_courses import date_to_unix
from ..specs import Spec

#: the zone courses are dated in; the default of ``[moodle] timezone``
DEMO_ZONE = ZoneInfo("Asia/Amman")
#: what classes with a Moodle row start with, in turn: 2 in 5 a linked course, 1 in 5 a
#: hand-made (adopted, unlinked) one, 2 in 5 none — so even a small school shows every case
PATTERN = ("linked", "adopted", None, "linked", None)
RENAMED = " (renamed in Moodle)"


def install_courses(conn: sqlite3.Connection, spec: Spec, classes: list[dict[str, Any]], mirrored: set[str],
                    seed: int, now: int) -> dict[str, str]:
    """Courses for some of ``classes`` (Zoho records; ``mirrored``: ids with a class mirror row).

    Returns the fate of each class given a course (``linked``, ``adopted``, ``drifted``),
    for the tests that check the first plan.
    """
    from .moodle.courses import _create_course, _link_class
    from .moodle.db import DEFAULT_CATEGORY_ID, WS_USER_ID, schema_for
    from .moodle.registry import CallContext

    ctx = CallContext(conn, WS_USER_ID, now, schema_for(), 5000)
    candidates = [r for r in classes if str(r["id"]) in mirrored]
    random.Random(f"{seed}:courses").shuffle(candidates)
    fates: dict[str, str] = {}
    for index, raw in enumerate(candidates):
        fate = PATTERN[index % len(PATTERN)]
        fields = record_from_zoho(spec, raw).fields
        if fate is None or not fields.get("fullname"):
            continue
        course = _wire_course(str(raw["id"]), fields)
        if fate == "linked" and "drifted" not in fates.values():
            course["fullname"] += RENAMED
            fate = "drifted"
        courseid = _create_course(ctx, course, DEFAULT_CATEGORY_ID)
        if fate != "adopted":
            _link_class(ctx, course["idnumber"], courseid)
        fates[course["idnumber"]] = fate
    return fates


def _wire_course(key: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"idnumber": key, "fullname": fields["fullname"], "shortname": fields.get("shortname") or key,
            "startdate": date_to_unix(fields.get("startdate"), DEMO_ZONE),
            "enddate": date_to_unix(fields.get("enddate"), DEMO_ZONE),
            "visible": 0 if fields.get("visible") is False else 1}
