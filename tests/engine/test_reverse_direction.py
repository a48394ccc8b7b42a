"""The engine's reverse-direction rules: source row filters, create-only fields, no creates
into Zoho by Zoho id, related-record (``through``) fields, and follow-ups after an apply."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from fakes import MemoryProvider
from reconciler.diff import diff_kind
from reconciler.engine import Engine
from reconciler.errors import SpecError
from reconciler.follow_up import follow_up_targets
from reconciler.model import Action, Address, Change, Record, Result
from reconciler.specs import Endpoint, Spec, load_specs


def _spec(**over: Any) -> Spec:
    base: dict[str, Any] = {
        "kind": "student_link",
        "source": {"system": "moodle", "table": "local_mzi_students", "skip": {"status": ["Deleted"]}},
        "target": {"system": "zoho", "module": "BTEC_Students"},
        "key": {"zoho": "id", "moodle": "zoho_student_id"},
        "fields": {"moodle_user_id": {"zoho": "Student_Moodle_ID", "type": "string"}},
    }
    return Spec.model_validate(base | over)


def _record(kind: str, key: str, **fields: Any) -> Record:
    return Record(Address(kind, key), fields, key)


# ---------------------------------------------------------------- source filters

def test_skip_drops_rows_holding_a_listed_value_and_keeps_empty_ones() -> None:
    source = _spec().source
    assert not source.keeps({"status": "Deleted"})
    assert source.keeps({"status": "Active"}) and source.keeps({"status": None}) and source.keeps({})


def test_only_keeps_rows_holding_a_listed_value() -> None:
    source = _spec(source={"system": "moodle", "table": "local_mzi_requests", "only": {"origin": ["moodle"]}}).source
    assert source.keeps({"origin": "moodle"})
    assert not source.keeps({"origin": "zoho"}) and not source.keeps({"origin": None})


@pytest.mark.parametrize(("over", "message"), [
    ({"source": {"system": "moodle", "table": "local_mzi_students", "skip": {"statuss": ["Deleted"]}}},
     "statuss, which local_mzi_students does not have"),
    ({"source": {"system": "zoho", "module": "BTEC_Students", "only": {"Status": ["Active"]}},
      "target": {"system": "moodle", "table": "local_mzi_students"}}, "a zoho endpoint reads its module whole"),
    ({"target": {"system": "zoho", "module": "BTEC_Students"},
      "source": {"system": "moodle", "resource": "course", "only": {"visible": ["1"]}}}, "name the `table`"),
])
def test_a_filter_the_spec_cannot_honour_is_refused_with_the_reason(over: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        _spec(**over)


# ---------------------------------------------------------------- create-only fields

def _request_spec() -> Spec:
    return Spec.model_validate({
        "kind": "outbound", "source": {"system": "moodle", "table": "local_mzi_requests"},
        "target": {"system": "zoho", "module": "BTEC_Student_Requests"},
        "key": {"zoho": "Name", "moodle": "request_number"},
        "fields": {"reason": {"zoho": "Reason", "type": "text"},
                   "status": {"zoho": "Status", "type": "picklist", "create_only": True}},
    })


def test_a_create_only_field_is_written_on_create() -> None:
    spec = _request_spec()
    [change] = diff_kind(spec, {"MDL-1": _record("outbound", "MDL-1", reason="ill", status="Pending")}, {}, {})
    assert change.action is Action.CREATE and change.after == {"reason": "ill", "status": "Pending"}


def test_a_create_only_field_is_never_compared_or_written_again() -> None:
    spec = _request_spec()
    desired = {"MDL-1": _record("outbound", "MDL-1", reason="ill", status="Pending")}
    assert diff_kind(spec, desired, {"MDL-1": _record("outbound", "MDL-1", reason="ill", status="Approved")}, {}) == []
    [change] = diff_kind(spec, desired, {"MDL-1": _record("outbound", "MDL-1", reason="x", status="Approved")}, {})
    assert change.after == {"reason": "ill"}, "the status Zoho owns now is not put back"


def test_create_only_with_an_owner_is_refused() -> None:
    with pytest.raises(ValueError, match="create_only"):
        Spec.model_validate({**_request_spec().model_dump(exclude={"path"}),
                             "fields": {"status": {"zoho": "Status", "create_only": True, "owner": "zoho"}}})


# ---------------------------------------------------------------- Zoho ids are Zoho's

def test_a_link_to_a_zoho_record_zoho_does_not_have_is_no_change() -> None:
    spec = _spec()
    assert diff_kind(spec, {"S9": _record("student_link", "S9", moodle_user_id="4")}, {}, {}) == []


def test_a_link_value_edited_in_zoho_is_repaired_from_moodle() -> None:
    spec = _spec()
    [change] = diff_kind(spec, {"S1": _record("student_link", "S1", moodle_user_id="4")},
                         {"S1": _record("student_link", "S1", moodle_user_id="999")}, {})
    assert change.action is Action.UPDATE and change.after == {"moodle_user_id": "4"}


# ---------------------------------------------------------------- follow-ups

def _grade_specs() -> dict[str, Spec]:
    upsert = Spec.model_validate({
        "kind": "moodle_grade", "source": {"system": "moodle", "table": "local_mzi_grades"},
        "target": {"system": "zoho", "module": "BTEC_Grades"},
        "key": {"zoho": "Moodle_Grade_Composite_Key", "moodle": "moodle_grade_composite_key"},
        "fields": {"grade": {"zoho": "Grade", "type": "picklist"}},
    })
    mirror = Spec.model_validate({
        "kind": "grade", "source": {"system": "zoho", "module": "BTEC_Grades"},
        "target": {"system": "moodle", "table": "local_mzi_grades"},
        "key": {"zoho": "id", "moodle": "zoho_grade_id"},
        "fields": {"grade": {"zoho": "Grade", "type": "picklist"}},
    })
    unrelated = Spec.model_validate({
        "kind": "teacher", "source": {"system": "zoho", "module": "BTEC_Teachers"},
        "target": {"system": "moodle", "table": "local_mzi_teachers"},
        "key": {"zoho": "id", "moodle": "zoho_teacher_id"},
        "fields": {"teacher_name": {"zoho": "Name"}},
    })
    return {s.kind: s for s in (upsert, mirror, unrelated)}


def test_a_record_upserted_into_zoho_is_followed_up_by_the_kind_mirroring_that_module() -> None:
    specs = _grade_specs()
    change = Change(Action.CREATE, Address("moodle_grade", "7_3"), "", after={"grade": "P"})
    results = [Result(change.address, Action.CREATE, True, "created", target_id="5847")]
    assert follow_up_targets(specs, [change], results) == [Address("grade", "5847")]


def test_a_failed_write_and_a_field_no_one_reads_are_not_followed_up() -> None:
    specs = _grade_specs()
    change = Change(Action.CREATE, Address("moodle_grade", "7_3"), "", after={"grade": "P"})
    assert follow_up_targets(specs, [change], [Result(change.address, Action.CREATE, False, "INVALID_DATA")]) == []
    specs["grade"] = Spec.model_validate({**specs["grade"].model_dump(exclude={"path"}),
                                          "fields": {"feedback": {"zoho": "Feedback", "type": "text"}}})
    ok = [Result(change.address, Action.CREATE, True, "created", target_id="5847")]
    assert follow_up_targets(specs, [change], ok) == []


def test_apply_then_follow_up_converges_so_a_second_plan_is_empty() -> None:
    specs = _grade_specs()
    specs.pop("teacher")
    moodle = MemoryProvider("moodle", {"moodle_grade": {"7_3": {"grade": "P"}}})
    zoho = _UpsertingZoho()
    engine = Engine(specs, {"moodle": moodle, "zoho": zoho})

    async def run() -> tuple[list[str], list[str]]:
        plan = await engine.plan()
        results = await engine.apply(plan)
        follow = await engine.follow_up(plan, results)
        assert follow is not None
        await engine.apply(follow)
        again = await engine.plan()
        return [str(c.address) for c in follow.applicable()], [str(c.address) for c in again.changes]

    followed, left = asyncio.run(run())
    assert followed == ["grade.Z1"] and left == []


class _UpsertingZoho(MemoryProvider):
    """Zoho for the moodle_grade/grade pair: an upsert by composite key gives a Zoho id, and
    the grade kind reads the same records by that id."""

    def __init__(self) -> None:
        super().__init__("zoho")
        self.ids: dict[str, str] = {}
        self.grades: dict[str, dict[str, Any]] = {}

    async def read(self, spec: Spec, keys: Any = None, since: Any = None) -> dict[str, Record]:
        by_key = {k: v for k, v in self.grades.items()} if spec.kind == "moodle_grade" else \
            {self.ids[k]: v for k, v in self.grades.items()}
        chosen = by_key if keys is None else {k: by_key[k] for k in keys if k in by_key}
        return {k: Record(Address(spec.kind, k), dict(v), k) for k, v in chosen.items()}

    async def apply(self, spec: Spec, changes: Any, *, on_results: Any = None, gate: Any = None) -> list[Result]:
        results = []
        for change in changes:
            key = change.address.key
            self.ids.setdefault(key, f"Z{len(self.ids) + 1}")
            self.grades[key] = self.grades.get(key, {}) | (change.after or {})
            results.append(Result(change.address, change.action, True, "created", target_id=self.ids[key]))
        return results


def test_loading_a_spec_with_a_through_field_on_a_moodle_source_is_refused() -> None:
    with pytest.raises((ValueError, SpecError), match="through"):
        _spec(fields={"criteria": {"zoho": ["P1_description"], "transform": "btec_criteria", "type": "json",
                                   "through": {"lookup": "Unit", "module": "BTEC"}}})


def test_a_source_row_the_target_acknowledged_and_no_longer_has_is_not_created_again() -> None:
    spec = load_specs()["outbound_request"]
    fields = {"request_type": "Class Drop", "reason": "x", "status": "Pending"}
    sent = Record(Address("outbound_request", "MDL-7"), fields, acknowledged=True)
    unsent = Record(Address("outbound_request", "MDL-8"), fields)
    changes = diff_kind(spec, {"MDL-7": sent, "MDL-8": unsent}, {}, known={})
    assert [str(c.address) for c in changes] == ["outbound_request.MDL-8"], changes


def test_acknowledged_by_names_a_moodle_column() -> None:
    with pytest.raises(ValidationError, match="acknowledged_by"):
        Endpoint(system="zoho", module="BTEC_Student_Requests", acknowledged_by="zoho_request_id")
    row = {"zoho_request_id": "5847"}
    endpoint = Endpoint(system="moodle", table="local_mzi_requests", acknowledged_by="zoho_request_id")
    assert endpoint.acknowledged(row) and not endpoint.acknowledged({"zoho_request_id": None})
    assert "zoho_request_id" in endpoint.filter_columns
