"""A small demo school to break: workspaces, edits on both sides, faults, and the checks
that nothing was lost or duplicated.

Shared by the fault matrix and the crash tests (tests/reliability). The oracle is
independent of mzi's own plan: it counts rows by natural key in both emulators' databases
(duplicates), and compares which Zoho records have a Moodle mirror row with a fault-free
reference apply of the same school (losses).

Requests are submitted by any student with a live Moodle row, those the same apply
deletes in Zoho included: their requests must be held, not sent (docs/reliability.md).
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.sandbox import Sandbox, SandboxError
from reconciler.sandbox.moodle import teacher
from reconciler.sandbox.moodle.faults import MoodleFaults, injected
from reconciler.sandbox.zoho import Faults

CONFIG = """\
state_dir = "state"
[sandbox]
students = {students}
seed = {seed}
[zoho]
timeout_seconds = {timeout}
max_retries = {retries}
[moodle]
timeout_seconds = {timeout}
max_retries = {retries}
max_input_vars = {input_vars}
[safety]
max_delete_fraction = 1.0
"""

#: Zoho → Moodle mirror tables and the key column that names their Zoho record
MIRRORS = {
    "BTEC_Students": ("local_mzi_students", "zoho_student_id"),
    "BTEC_Teachers": ("local_mzi_teachers", "zoho_teacher_id"),
    "BTEC_Classes": ("local_mzi_classes", "zoho_class_id"),
    "BTEC_Enrollments": ("local_mzi_enrollments", "zoho_enrollment_id"),
    "BTEC_Grades": ("local_mzi_grades", "zoho_grade_id"),
    "BTEC_Payments": ("local_mzi_payments", "zoho_payment_id"),
    "Products": ("local_mzi_programs", "zoho_program_id"),
    "BTEC_Registrations": ("local_mzi_registrations", "zoho_registration_id"),
    "BTEC_Student_Requests": ("local_mzi_requests", "zoho_request_id"),
    "BTEC": ("local_mzi_units", "zoho_unit_id"),
}
#: natural keys that must be unique, per table (besides the mirrors' Zoho keys)
UNIQUE_MOODLE = {
    "local_mzi_installments": "zoho_registration_id, installment_number",
    "local_mzi_requests": "request_number",
}
#: (kind, Zoho field, values) an administrator edits in Zoho
ZOHO_EDITS = [
    ("student", "City", ["Amman", "Irbid", "Zarqa", "Aqaba", "Salt"]),
    ("student", "Phone_Number", ["0791111111", "0792222222", "0793333333"]),
    ("teacher", "Phone_Number", ["0781111111", "0782222222"]),
    ("payment", "Payment_Amount", ["100", "250.5", "1200"]),
    ("payment", "Note", ["late", "bank transfer", ""]),
    ("grade", "Feedback", ["Well done", "Resubmit the evidence", ""]),
]
#: leaf kinds an administrator deletes in Zoho (nothing depends on them)
ZOHO_DELETES = ["payment", "grade", "request"]
#: (table, column, values) someone edits by hand in Moodle's mirror tables: drift to repair
MOODLE_EDITS = [
    ("local_mzi_students", "city", ["Mafraq", "Karak"]),
    ("local_mzi_teachers", "phone_number", ["000"]),
    ("local_mzi_payments", "payment_amount", ["1", "99999"]),
    ("local_mzi_grades", "feedback", ["edited in Moodle"]),
]
#: mirror rows someone deletes in Moodle: the next apply must put them back
MOODLE_DELETES = ["local_mzi_payments", "local_mzi_grades", "local_mzi_students"]
REQUEST_TYPES = ["Student Card", "Transcript", "Change Information", "Late Submission"]


@dataclass(frozen=True)
class Edits:
    """How many edits of each sort to make (which records: ``seed``)."""

    seed: int
    zoho_edits: int = 0
    zoho_deletes: int = 0
    moodle_edits: int = 0
    moodle_deletes: int = 0
    grade_edits: int = 0
    requests: int = 0


@dataclass
class Made:
    """What the edits did: what the checks must allow for (deleted on purpose)."""

    zoho_deleted: set[tuple[str, str]] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)


class School:
    """One workspace (mzi.toml + state/) over a small demo school, driven through the CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "mzi.toml"
        self._runner = CliRunner()

    @classmethod
    def create(cls, root: Path, *, students: int, seed: int, timeout: float = 0.5, retries: int = 5,
               input_vars: int = 5000) -> "School":
        root.mkdir(parents=True, exist_ok=True)
        (root / "mzi.toml").write_text(CONFIG.format(students=students, seed=seed, timeout=timeout, retries=retries,
                                                     input_vars=input_vars), encoding="utf-8")
        return cls(root)

    def copy_to(self, root: Path) -> "School":
        shutil.copytree(self.root, root)
        return School(root)

    def configure(self, **settings: Any) -> None:
        """Rewrite the client settings (timeouts, retries, batch size) in mzi.toml."""
        text = self.config.read_text(encoding="utf-8")
        lines = []
        for line in text.splitlines():
            name = line.split("=")[0].strip()
            lines.append(f"{name} = {settings[name]}" if name in settings else line)
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def run(self, *args: str) -> Result:
        return self._runner.invoke(main, ["-c", str(self.config), *args], catch_exceptions=False)

    @property
    def sandbox(self) -> Sandbox:
        text = self.config.read_text(encoding="utf-8")
        students = int(text.split("students = ")[1].split()[0])
        seed = int(text.split("seed = ")[1].split()[0])
        return Sandbox(self.root / "state" / "sandbox", students=students, seed=seed)

    @contextmanager
    def moodle(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.root / "state" / "sandbox" / "moodle.sqlite", timeout=30)) as conn:
            conn.row_factory = sqlite3.Row
            with conn:
                yield conn

    @contextmanager
    def zoho(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.root / "state" / "sandbox" / "zoho.sqlite", timeout=30)) as conn:
            with conn:
                yield conn

    # ------------------------------------------------------------------ faults

    def set_faults(self, zoho: Faults, moodle: MoodleFaults) -> None:
        box = self.sandbox
        box.set_zoho_faults(zoho)
        box.set_moodle_faults(moodle)
        box._close_apps()  # nothing of this process holds the databases while mzi runs

    def injected(self) -> Counter[str]:
        """Faults both emulators injected so far, by ``system.kind``."""
        with self.zoho() as conn:
            rows = conn.execute("SELECT name, value FROM settings WHERE name LIKE 'counter:injected:%'").fetchall()
        found = Counter({f"zoho.{name.removeprefix('counter:injected:')}": int(value) for name, value in rows})
        with self.moodle() as conn:
            found.update({f"moodle.{kind}": count for kind, count in injected(conn).items()})
        return found

    # ------------------------------------------------------------------ edits

    def edit(self, edits: Edits) -> Made:
        """Make the edits, on records picked by ``edits.seed``; what was done."""
        rng, made, box = random.Random(edits.seed), Made(), self.sandbox
        try:
            self._zoho_edits(box, rng, edits, made)
            self._requests(box, rng, edits.requests, made)
        finally:
            box._close_apps()
        with self.moodle() as conn:
            self._moodle_edits(conn, rng, edits, made)
            self._grade_edits(conn, rng, edits.grade_edits, made)
        return made

    def _zoho_ids(self, module: str) -> list[str]:
        """Record ids of ``module``, requests Moodle created (``MDL-…``) included."""
        with self.zoho() as conn:
            rows = conn.execute("SELECT id FROM records WHERE module = ? ORDER BY id", (module,)).fetchall()
        return [i for (i,) in rows]

    def _zoho_edits(self, box: Sandbox, rng: random.Random, edits: Edits, made: Made) -> None:
        from reconciler.sandbox import KNOWN_MODULES

        for _ in range(edits.zoho_edits):
            kind, name, values = rng.choice(ZOHO_EDITS)
            ids = self._zoho_ids(KNOWN_MODULES[kind])
            if ids:
                box.edit(f"{kind}.{rng.choice(ids)}", {name: rng.choice(values)})
                made.counts["zoho_edit"] += 1
        for _ in range(edits.zoho_deletes):
            kind = rng.choice(ZOHO_DELETES)
            ids = self._zoho_ids(KNOWN_MODULES[kind])
            if ids:
                victim = rng.choice(ids)
                box.delete(f"{kind}.{victim}")
                made.zoho_deleted.add((KNOWN_MODULES[kind], victim))
                made.counts["zoho_delete"] += 1

    def _requests(self, box: Sandbox, rng: random.Random, count: int, made: Made) -> None:
        with self.moodle() as conn:  # students deleted in Zoho meanwhile included: their requests are held
            users = [user for (user,) in conn.execute(
                "SELECT moodle_user_id FROM mdl_local_mzi_students WHERE moodle_user_id IS NOT NULL "
                "AND status != 'Deleted' ORDER BY id")]
        for _ in range(count if users else 0):
            try:
                box.submit_request(rng.choice(users), rng.choice(REQUEST_TYPES), "fault matrix")
            except SandboxError:
                continue  # window closed or the student may not: the plugin refused, as it would
            made.counts["moodle_request"] += 1

    def _moodle_edits(self, conn: sqlite3.Connection, rng: random.Random, edits: Edits, made: Made) -> None:
        later = int(time.time()) + 5
        for _ in range(edits.moodle_edits):
            table, column, values = rng.choice(MOODLE_EDITS)
            ids = [r[0] for r in conn.execute(f"SELECT id FROM mdl_{table} ORDER BY id")]
            if ids:
                conn.execute(f"UPDATE mdl_{table} SET {column} = ?, timemodified = ? WHERE id = ?",
                             (rng.choice(values), later, rng.choice(ids)))
                made.counts["moodle_edit"] += 1
        for _ in range(edits.moodle_deletes):
            table = rng.choice(MOODLE_DELETES)
            ids = [r[0] for r in conn.execute(f"SELECT id FROM mdl_{table} ORDER BY id")]
            if ids:
                conn.execute(f"DELETE FROM mdl_{table} WHERE id = ?", (rng.choice(ids),))
                made.counts["moodle_delete"] += 1

    def _grade_edits(self, conn: sqlite3.Connection, rng: random.Random, count: int, made: Made) -> None:
        rows = conn.execute("SELECT g.assignment, g.userid, g.attemptnumber, g.grader, a.grade AS maxgrade "
                            "FROM mdl_assign_grades g JOIN mdl_assign a ON a.id = g.assignment "
                            "WHERE g.grade IS NOT NULL ORDER BY g.id").fetchall()
        for _ in range(count if rows else 0):
            row = rng.choice(rows)
            if row["maxgrade"] > 0:
                value = f"{rng.uniform(0, row['maxgrade']):.5f}"
            else:  # a scale: another value some student of this assignment has
                value = rng.choice([r[0] for r in conn.execute(
                    "SELECT grade FROM mdl_assign_grades WHERE assignment = ?", (row["assignment"],))])
            teacher.grade(conn, row["assignment"], row["userid"], str(value), grader=row["grader"] or 2,
                          when=int(time.time()) + 5, attempt=row["attemptnumber"])
            made.counts["moodle_grade_edit"] += 1

    # ------------------------------------------------------------------ what is there

    def mirrored(self) -> dict[str, set[str]]:
        """Zoho module → ids of its records that have a Moodle mirror row."""
        with self.moodle() as conn:
            return {module: {str(r[0]) for r in conn.execute(f"SELECT {key} FROM mdl_{table} WHERE {key} IS NOT NULL "
                                                              f"AND {key} != ''")}
                    for module, (table, key) in MIRRORS.items()}

    def zoho_live(self) -> set[tuple[str, str]]:
        with self.zoho() as conn:
            return {(m, i) for m, i in conn.execute("SELECT module, id FROM records")}

    def zoho_keys(self) -> dict[str, Counter[str]]:
        """Moodle-born records in Zoho, counted by their natural key."""
        with self.zoho() as conn:
            grades = Counter(json.loads(d).get("Moodle_Grade_Composite_Key") for (d,) in conn.execute(
                "SELECT data FROM records WHERE module = 'BTEC_Grades'"))
            requests = Counter(json.loads(d).get("Name") for (d,) in conn.execute(
                "SELECT data FROM records WHERE module = 'BTEC_Student_Requests'"))
        grades.pop(None, None)
        return {"BTEC_Grades.Moodle_Grade_Composite_Key": grades, "BTEC_Student_Requests.Name": requests}

    def duplicates(self) -> dict[str, list[Any]]:
        """Natural keys held more than once, by where: empty when nothing is duplicated."""
        found: dict[str, list[Any]] = {}
        with self.moodle() as conn:
            checks = {f"{table}.{key}": (table, key) for table, key in MIRRORS.values()} | \
                {f"{t}.({k})": (t, k) for t, k in UNIQUE_MOODLE.items()}
            for label, (table, key) in checks.items():
                rows = conn.execute(f"SELECT {key}, COUNT(*) FROM mdl_{table} WHERE {key.split(',')[0]} IS NOT NULL "
                                    f"AND {key.split(',')[0]} != '' GROUP BY {key} HAVING COUNT(*) > 1").fetchall()
                if rows:
                    found[label] = [tuple(r) for r in rows]
            for label, sql in {
                "mdl_course.idnumber": "SELECT idnumber, COUNT(*) FROM mdl_course WHERE idnumber != '' "
                                       "GROUP BY idnumber HAVING COUNT(*) > 1",
                "mdl_user.username": "SELECT username, COUNT(*) FROM mdl_user WHERE deleted = 0 "
                                     "GROUP BY username HAVING COUNT(*) > 1",
                "enrolment (course, user, plugin)": "SELECT e.courseid, ue.userid, e.enrol, COUNT(*) FROM mdl_user_enrolments ue "
                                                    "JOIN mdl_enrol e ON e.id = ue.enrolid "
                                                    "GROUP BY e.courseid, ue.userid, e.enrol HAVING COUNT(*) > 1",
            }.items():
                rows = conn.execute(sql).fetchall()
                if rows:
                    found[label] = [tuple(r) for r in rows]
        for label, counts in self.zoho_keys().items():
            repeated = sorted(k for k, n in counts.items() if n > 1)
            if repeated:
                found[label] = repeated
        return found

    def counts(self) -> dict[str, int]:
        """Rows by table/module: what a check covered."""
        with self.moodle() as conn:
            moodle = {t: int(conn.execute(f"SELECT COUNT(*) FROM mdl_{t}").fetchone()[0]) for t, _ in MIRRORS.values()}
            moodle["course"] = int(conn.execute("SELECT COUNT(*) FROM mdl_course WHERE idnumber != ''").fetchone()[0])
            moodle["user_enrolments"] = int(conn.execute("SELECT COUNT(*) FROM mdl_user_enrolments").fetchone()[0])
        with self.zoho() as conn:
            zoho = dict(conn.execute("SELECT module, COUNT(*) FROM records GROUP BY module").fetchall())
        return {**moodle, **{f"zoho.{m}": int(n) for m, n in zoho.items()}}


def lost(reference: dict[str, set[str]], now: dict[str, set[str]], live: set[tuple[str, str]],
         reference_zoho: dict[str, Counter[str]], now_zoho: dict[str, Counter[str]],
         may_be_gone: dict[str, set[str]]) -> dict[str, list[str]]:
    """Records the reference had on the far side that are now missing there, by where.

    A Zoho record mirrored in the reference and still in Zoho must still be mirrored; a
    grade or request with a Moodle key in Zoho must still be there unless it was deleted in
    Zoho and mzi rightly leaves it so (``may_be_gone``: see :func:`rightly_gone`).
    """
    missing: dict[str, list[str]] = {}
    for module, ids in reference.items():
        gone = sorted(i for i in ids - now.get(module, set()) if (module, i) in live)
        if gone:
            missing[f"moodle mirror of {module}"] = gone
    for label, keys in reference_zoho.items():
        gone = sorted(k for k in keys if k not in now_zoho[label] and k not in may_be_gone.get(label, set()))
        if gone:
            missing[label] = gone
    return missing


def checked(reference: dict[str, set[str]], reference_zoho: dict[str, Counter[str]]) -> int:
    """How many records the loss check looked at."""
    return sum(len(ids) for ids in reference.values()) + sum(len(keys) for keys in reference_zoho.values())


#: the one change a converged plan may still hold: a request submitted in Moodle by a student
#: since deleted in Zoho can never be sent (Zoho would refuse the lookup); it waits, named,
#: for staff to cancel it
RIGHTLY_HELD = ("outbound_request", "is gone from Zoho")


def converged(school: School, after: str) -> int:
    """Asserts the plan is empty in both directions but for rightly held requests; returns
    how many were held. The plan is shown whole when anything else is left."""
    plan = school.run("plan", "--format", "json", "--detailed-exitcode")
    if plan.exit_code == 0:
        return 0
    assert plan.exit_code == 2, f"the plan {after} failed:\n{plan.output[-3000:]}"
    changes = json.loads(plan.stdout)["changes"]
    other = [c for c in changes if not (c["action"] == "blocked" and c["address"].startswith(RIGHTLY_HELD[0] + ".")
                                        and RIGHTLY_HELD[1] in (c.get("reason") or ""))]
    assert not other, f"not converged {after}:\n{school.run('plan').output[-3000:]}"
    return len(changes)


def rightly_gone(school: School) -> dict[str, set[str]]:
    """Moodle-keyed Zoho records deleted in Zoho (by the test or a page-shift fault) that
    mzi rightly does not create again: every request (a Moodle-born request deleted in
    Zoho is never sent again, by design), and grades whose Moodle grade does not exist
    (the demo's Zoho holds grades keyed to Moodle grades from before the emulated site)."""
    with school.zoho() as conn:
        rows = conn.execute("SELECT module, display_name, json_extract(data, '$.Moodle_Grade_Composite_Key') "
                            "FROM deleted WHERE module IN ('BTEC_Student_Requests', 'BTEC_Grades')").fetchall()
    with school.moodle() as conn:
        sources = {f"{user}_{assign}" for user, assign in conn.execute("SELECT userid, assignment FROM mdl_assign_grades")}
    return {
        "BTEC_Student_Requests.Name": {str(name) for module, name, _ in rows if module == "BTEC_Student_Requests"},
        "BTEC_Grades.Moodle_Grade_Composite_Key": {str(key) for module, _, key in rows
                                                   if module == "BTEC_Grades" and key and key not in sources},
    }
