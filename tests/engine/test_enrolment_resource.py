"""The enrolment resource kinds without a Moodle: what a change becomes on the wire (a move
withdraws the old enrolment and enrols the new one), which enrollment owns a shared Moodle
enrolment, the blocked reason naming a held parent, and the spec and preflight checks."""

from __future__ import annotations

from reconciler.commands import withdrawal_policy
from reconciler.diff import diff_kind
from reconciler.engine import _name_held_parents
from reconciler.model import Action, Address, Change, Record
from reconciler.preflight import column_checks
from reconciler.providers.moodle_enrolments import EnrolmentAdapter, _owners
from reconciler.specs import load_specs

SPECS = load_specs()


def _adapter(withdraw: str = "suspend") -> EnrolmentAdapter:
    return EnrolmentAdapter(provider=None, withdraw=withdraw)  # type: ignore[arg-type]  # _calls needs no wire


def _teacher(person: str) -> Record:
    return Record(Address("teacher_enrolment", "C1"), {"course": "C1", "person": person, "role": "editingteacher",
                                                       "status": "active"})


def test_a_teacher_change_withdraws_the_old_teacher_and_enrols_the_new_one_in_one_change() -> None:
    change = Change(Action.UPDATE, Address("teacher_enrolment", "C1"), "", after={"person": "T2"})
    assert _adapter()._calls("editingteacher", change, _teacher("T1"), {}) == [("C1", "T1", "suspend"), ("C1", "T2", "enrol")]
    assert _adapter("unenrol")._calls("editingteacher", change, _teacher("T1"), {}) == \
        [("C1", "T1", "unenrol"), ("C1", "T2", "enrol")]


def test_a_student_enrolment_moved_to_another_class_leaves_the_old_course() -> None:
    now = Record(Address("enrolment", "E1"), {"course": "C1", "person": "S1", "role": "student", "status": "active"})
    change = Change(Action.UPDATE, Address("enrolment", "E1"), "", after={"course": "C2"})
    assert _adapter()._calls("student", change, now, {}) == [("C1", "S1", "suspend"), ("C2", "S1", "enrol")]


def test_a_suspended_enrolment_wanted_again_is_enrolled_without_a_withdrawal() -> None:
    now = Record(Address("enrolment", "E1"), {"course": "C1", "person": "S1", "role": "student", "status": "suspended"})
    change = Change(Action.UPDATE, Address("enrolment", "E1"), "", after={"status": "active"})
    assert _adapter()._calls("student", change, now, {}) == [("C1", "S1", "enrol")]


def test_a_delete_withdraws_every_teacher_the_course_has_and_nothing_when_moodle_has_none() -> None:
    change = Change(Action.DELETE, Address("teacher_enrolment", "C1"), "", after={"status": "suspended"})
    assert _adapter()._calls("editingteacher", change, _teacher("T1,T3"), {}) == [("C1", "T1", "suspend"), ("C1", "T3", "suspend")]
    assert _adapter()._calls("editingteacher", change, None, {}) == []


def test_of_two_enrollments_of_one_student_in_one_class_the_live_one_owns_the_enrolment() -> None:
    rows = [{"zoho_enrollment_id": "E1", "zoho_class_id": "C", "zoho_student_id": "S", "status": "Withdrawn"},
            {"zoho_enrollment_id": "E2", "zoho_class_id": "C", "zoho_student_id": "S", "status": "Active"},
            {"zoho_enrollment_id": "E3", "zoho_class_id": "D", "zoho_student_id": "S", "status": "Withdrawn"}]
    assert sorted(r["zoho_enrollment_id"] for r in _owners(rows)) == ["E2", "E3"]


def test_an_enrolment_blocked_by_a_held_student_link_says_why_the_link_is_held() -> None:
    spec = SPECS["enrolment"]
    want = Record(Address("enrolment", "E1"), {"course": "C1", "person": "S1", "role": "student", "status": "active"})
    changes = diff_kind(spec, {"E1": want}, {}, {"enrollment": {"E1"}, "course": {"C1"}, "student_user": set()})
    held = {Address("student_user", "S1"): "no Moodle user has the academic email s1@example.invalid"}
    named = _name_held_parents(changes, held, {})
    assert [c.reason for c in named] == \
        ["student_user.S1 is blocked: no Moodle user has the academic email s1@example.invalid"], named


def test_withdrawn_enrolment_unenrol_makes_the_enrolment_kinds_delete_hard_and_says_so() -> None:
    specs = withdrawal_policy(SPECS, "unenrol")
    assert {k: s.delete.policy for k, s in specs.items() if s.moodle_resource == "enrolment"} == \
        {"enrolment": "hard", "teacher_enrolment": "hard"}
    assert specs["enrollment"].delete == SPECS["enrollment"].delete, "mirror kinds keep their own policy"
    have = Record(Address("enrolment", "E1"), {"course": "C1", "person": "S1", "role": "student", "status": "active"})
    gone = diff_kind(specs["enrolment"], {}, {"E1": have}, {})
    assert [(c.action, "unenrol the enrolment" in c.reason) for c in gone] == [(Action.DELETE, True)], gone
    suspended = Record(have.address, have.fields | {"status": "suspended"})
    assert diff_kind(SPECS["enrolment"], {}, {"E1": suspended}, {}) == [], "already withdrawn: nothing to do"


def test_preflight_knows_the_enrolment_fields_and_refuses_a_role_it_cannot_give() -> None:
    checks = {c.name: c for c in column_checks(SPECS.values())}
    assert checks["moodle: enrolment fields"].ok and checks["moodle: teacher_enrolment fields"].ok, checks
    bad = SPECS["enrolment"].model_copy(update={"fields": SPECS["enrolment"].fields | {
        "role": SPECS["enrolment"].fields["role"].model_copy(update={"const": "headmaster"})}})
    check = next(c for c in column_checks([bad]) if c.name == "moodle: enrolment fields")
    assert not check.ok and "editingteacher" in check.detail, check
