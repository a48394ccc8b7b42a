"""The demo school's Moodle users: who can be linked, who is linked, who cannot be.

The generator gives most people a Moodle account (username = academic email, some emails
spelt in another case, which must not matter), and mirror rows start linked to them.
This module finishes the picture the user-link kinds (``student_user``, ``teacher_user``)
plan from, deterministically (one ``random.Random`` seeded from the school's seed):

- every student and teacher without an account gets one ("made by IT before mzi ran"),
  so the default demo can reach "No changes." after one apply;
- one teacher's account carries their personal Email instead of the academic one: the
  teacher is matched by the email, the fall-back of ``teacher_user``;
- about one mirror row in ten holds no link yet (plus the rows still to be created): the
  first plan shows links to make (``+ student_user.…``);
- with ``unmatched`` (``[sandbox] unmatched_users = true``), a few students have no
  Moodle user at all and two users share one student's academic email: the plan shows
  them blocked, naming the address — and they stay blocked until someone acts (or
  ``[moodle] create_users`` makes the missing users), so that demo never reaches
  "No changes.". Off by default, like ``blocked_example``.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from ..specs import Spec

#: students left without any Moodle user when ``unmatched`` is on
UNMATCHED_STUDENTS = 3
#: share of linked mirror rows whose link is cleared ("not linked yet")
UNLINKED_SHARE = 0.1
#: people by user-link kind: (Zoho module, mirror table, key column)
PEOPLE = {"student_user": ("BTEC_Students", "local_mzi_students", "zoho_student_id"),
          "teacher_user": ("BTEC_Teachers", "local_mzi_teachers", "zoho_teacher_id")}


def install_users(conn: sqlite3.Connection, records: dict[str, list[dict[str, Any]]], specs: dict[str, Spec],
                  seed: int, now: int, *, unmatched: bool = False) -> dict[str, list[str]]:
    """Adjust the installed Moodle users and links; returns the Zoho ids of each case
    (``unmatched``, ``shared``, ``by_email``, ``unlinked``) for the tests."""
    rng = random.Random(f"{seed}:users")
    cases: dict[str, list[str]] = {"unmatched": [], "shared": [], "by_email": [], "unlinked": []}
    students = list(records.get("BTEC_Students", []))
    teachers = list(records.get("BTEC_Teachers", []))
    for person in students + teachers:
        if person.get("Academic_Email") and _user_of(conn, person["Academic_Email"]) is None:
            _add_user(conn, person["Academic_Email"], person, now)
    if teachers:
        teacher = rng.choice(teachers)
        conn.execute("UPDATE mdl_user SET email = ? WHERE lower(email) = lower(?)",
                     (teacher["Email"], teacher["Academic_Email"]))
        cases["by_email"].append(str(teacher["id"]))
    if unmatched and len(students) > UNMATCHED_STUDENTS + 1:
        chosen = rng.sample(students, UNMATCHED_STUDENTS + 1)
        for person in chosen[:UNMATCHED_STUDENTS]:
            conn.execute("DELETE FROM mdl_user WHERE lower(email) = lower(?)", (person["Academic_Email"],))
            cases["unmatched"].append(str(person["id"]))
        shared = chosen[-1]
        _add_user(conn, shared["Academic_Email"].upper(), shared, now, username=f"dup.{shared['id']}")
        cases["shared"].append(str(shared["id"]))
    for kind, (_module, table, key) in PEOPLE.items():
        if kind in specs:
            cases["unlinked"] += _link_rows(conn, table, key, rng)
    return cases


def _user_of(conn: sqlite3.Connection, email: str) -> int | None:
    row = conn.execute("SELECT id FROM mdl_user WHERE deleted = 0 AND lower(email) = lower(?)", (email,)).fetchone()
    return int(row[0]) if row else None


def _add_user(conn: sqlite3.Connection, email: str, person: dict[str, Any], now: int, *, username: str = "") -> None:
    first = person.get("First_Name") or str(person.get("Name", "")).rpartition(" ")[0] or "?"
    last = person.get("Last_Name") or str(person.get("Name", "")).rpartition(" ")[2] or "?"
    conn.execute("INSERT INTO mdl_user (username, email, firstname, lastname, auth, idnumber, timecreated, timemodified) "
                 "VALUES (?, ?, ?, ?, 'manual', '', ?, ?)", (username or email.lower(), email, first, last, now, now))


def _link_rows(conn: sqlite3.Connection, table: str, key: str, rng: random.Random) -> list[str]:
    """Mirror rows linked to the user their academic email names (a teacher's: or email);
    about one in ten left unlinked. Returns the keys left unlinked."""
    unlinked = []
    rows = conn.execute(f"SELECT id, {key}, academic_email FROM mdl_{table} ORDER BY id").fetchall()
    for rowid, zoho_id, email in rows:
        userid = _user_of(conn, email) if email else None
        if userid is not None and rng.random() < UNLINKED_SHARE:
            userid = None
            unlinked.append(str(zoho_id))
        conn.execute(f"UPDATE mdl_{table} SET moodle_user_id = ? WHERE id = ?", (userid, rowid))
    return unlinked
