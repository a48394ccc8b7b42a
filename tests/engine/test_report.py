"""The rows mzi pushes to Moodle's sync status page, per kind, and what happens when
Moodle does not take them (reconciler/report.py)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import TransientError
from reconciler.model import Action, Address, Change, Result
from reconciler.plan import Plan
from reconciler.providers.moodle import MoodleError
from reconciler.report import SUMMARY_KEY, KindStatus, apply_statuses, plan_statuses, report_to_moodle, reported_kinds
from reconciler.state import OK, StateStore


def change(action: Action, kind: str, key: str, **extra: Any) -> Change:
    return Change(action, Address(kind, key), **extra)


PLAN = Plan([
    change(Action.CREATE, "student", "1"), change(Action.CREATE, "student", "2"),
    change(Action.UPDATE, "student", "3", drift=True), change(Action.DELETE, "student", "4"),
    change(Action.BLOCKED, "enrollment", "5", reason="waits for student.9"),
    change(Action.BLOCKED, "enrollment", "6", reason="cannot be read", unreadable=True),
    change(Action.UPDATE, "course", "7"),
], specs_hash="h")


def test_a_plan_row_counts_planned_changes_drift_and_unreadable_records_as_errors() -> None:
    rows = plan_statuses(PLAN, ["class", "course", "enrollment", "student"], 12, OK, 1767225600)
    assert rows == [
        KindStatus("class", "plan", "ok", 12, 1767225600),
        KindStatus("course", "plan", "ok", 12, 1767225600, updates=1),
        KindStatus("enrollment", "plan", "ok", 12, 1767225600, blocked=1, errors=1),
        KindStatus("student", "plan", "ok", 12, 1767225600, creates=2, updates=1, deletes=1, drift=1),
    ], rows


def test_an_apply_row_counts_what_landed_and_a_record_not_attempted_as_an_error() -> None:
    results = [Result(Address("student", "1"), Action.CREATE, True, "created"),
               Result(Address("student", "2"), Action.CREATE, False, "error", "Moodle refused it"),
               Result(Address("student", "3"), Action.UPDATE, True, "updated"),
               Result(Address("student", "4"), Action.DELETE, False, "skipped", "not attempted: stopped"),
               Result(Address("enrollment", "5"), Action.BLOCKED, False, "blocked", "waits"),
               Result(Address("enrollment", "6"), Action.BLOCKED, False, "error", "cannot be read")]
    rows = apply_statuses(PLAN, [r.to_dict() for r in results], ["enrollment", "student"], 13, "interrupted", 5)
    assert rows == [
        KindStatus("enrollment", "apply", "interrupted", 13, 5, blocked=1, errors=1),
        KindStatus("student", "apply", "interrupted", 13, 5, creates=1, updates=1, errors=2, drift=1),
    ], rows


def test_the_kinds_reported_are_the_runs_scope_plus_every_kind_it_changed() -> None:
    specs = ["class", "enrollment", "student"]
    assert reported_kinds(specs, Plan([], "h")) == ["class", "enrollment", "student"]
    assert reported_kinds(specs, Plan([], "h"), ["student"]) == ["student"]
    assert reported_kinds(specs, Plan([], "h", targets=["class.1", "class.2"])) == ["class"]
    assert reported_kinds(specs, PLAN, ["student"]) == ["course", "enrollment", "student"]


@dataclass
class FakeMoodle:
    answer: list[dict[str, Any]] | Exception
    sent: list[list[dict[str, Any]]] = field(default_factory=list)

    async def push_sync_status(self, statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.sent.append(statuses)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def usage(self) -> dict[str, int]:
        return {"requests": len(self.sent), "retries": 0}


@dataclass
class FakeWorkspace:
    state: StateStore
    providers: dict[str, Any]
    specs: dict[str, Any] = field(default_factory=lambda: {"student": None, "class": None})
    warnings: list[str] = field(default_factory=list)


def _report(tmp_path: Path, moodle: Any) -> tuple[str | None, FakeWorkspace, dict[str, Any]]:
    store = StateStore(tmp_path / "mzi.sqlite")
    run_id = store.record_run("plan", "2026-01-01T00:00:00+00:00", [], {"create": 0, "api": {}}, [], True)
    ws = FakeWorkspace(store, {"moodle": moodle} if moodle is not None else {})
    warning = asyncio.run(report_to_moodle(ws, "plan", Plan([], "h"), run_id, OK))  # type: ignore[arg-type]
    summary = json.loads(json.dumps(store.runs(1)[0].summary))
    store.close()
    return warning, ws, summary


def test_rows_moodle_refuses_become_one_warning_naming_them_kept_in_the_run_log(tmp_path: Path) -> None:
    moodle = FakeMoodle([{"key": "class:plan", "status": "error", "errorcode": "invalidvalue", "message": "bad"},
                         {"key": "student:plan", "status": "updated", "errorcode": "", "message": ""}])
    warning, ws, summary = _report(tmp_path, moodle)
    assert [sorted(r) for r in moodle.sent[0]] == [sorted(KindStatus.__dataclass_fields__)] * 2, moodle.sent
    assert warning == ("Moodle refused 1 of 2 sync status rows (class:plan: invalidvalue: bad); "
                       "the run itself is unaffected"), warning
    assert ws.warnings == [warning]
    assert summary[SUMMARY_KEY] == warning and summary["api"] == {"moodle": {"requests": 1, "retries": 0}}, summary


def test_a_push_that_raises_is_a_warning_not_an_error(tmp_path: Path) -> None:
    warning, ws, summary = _report(tmp_path, FakeMoodle(TransientError("Moodle did not answer after 5 attempts")))
    assert warning is not None and "Moodle did not answer after 5 attempts" in warning, warning
    assert ws.warnings == [warning] and summary[SUMMARY_KEY] == warning


def test_a_plugin_too_old_for_the_rows_is_named_in_the_warning(tmp_path: Path) -> None:
    old = MoodleError("local_mzi_push_sync_status", "invalid_parameter_exception", "invalidparameter",
                      "Invalid parameter value detected", "Unexpected keys (status, runid) detected")
    warning, _, _ = _report(tmp_path, FakeMoodle(old))
    assert warning is not None and "local_mzi is probably older than version 2026120100: upgrade it" in warning, warning


def test_a_push_moodle_took_leaves_no_warning(tmp_path: Path) -> None:
    warning, ws, summary = _report(tmp_path, FakeMoodle([{"key": "k", "status": "created"}] * 2))
    assert (warning, ws.warnings, SUMMARY_KEY in summary) == (None, [], False)


def test_without_a_moodle_provider_the_report_is_a_warning(tmp_path: Path) -> None:
    warning, _, _ = _report(tmp_path, None)
    assert warning is not None and "no Moodle provider" in warning, warning


def test_the_version_the_hint_names_is_the_upgrade_step_that_adds_the_columns() -> None:
    import re

    from reconciler.report import PLUGIN_VERSION

    plugin = Path(__file__).resolve().parents[2] / "moodle_plugin"
    upgrade = (plugin / "db" / "upgrade.php").read_text(encoding="utf-8").split("function xmldb_local_mzi_upgrade", 1)[1]
    step = upgrade.split(f"if ($oldversion < {PLUGIN_VERSION})", 1)
    assert len(step) == 2, f"upgrade.php has no step for {PLUGIN_VERSION}"
    body = step[1].split("upgrade_plugin_savepoint", 1)[0]
    assert "local_mzi_sync_status" in body and "'status'" in body and "'runid'" in body, body
    version = re.search(r"\$plugin->version\s*=\s*(\d+)", (plugin / "version.php").read_text(encoding="utf-8"))
    assert version and int(version.group(1)) >= PLUGIN_VERSION, version


def test_request_outcomes_say_sent_with_the_zoho_id_or_failed_with_zohos_reason() -> None:
    from reconciler.model import Action, Address, Result
    from reconciler.report import request_outcomes
    from reconciler.specs import load_specs

    def result(kind: str, key: str, ok: bool, status: str, error: str = "", target: str | None = None) -> Result:
        return Result(Address(kind, key), Action.CREATE, ok, status, error, target_id=target)

    outcomes = request_outcomes(load_specs(), [
        result("outbound_request", "MDL-2", True, "created", target="5847596000900000001"),
        result("outbound_request", "MDL-3", False, "INVALID_DATA", 'invalid data {"api_name":"Request_Type"}'),
        result("outbound_request", "MDL-4", False, "blocked", "student.9 exists in neither Zoho nor Moodle"),
        result("outbound_request", "MDL-5", False, "skipped", "not attempted: Zoho is unavailable"),
        result("request", "5847596000900000001", True, "updated"),
    ])
    assert outcomes == [
        {"request_number": "MDL-2", "zoho_request_id": "5847596000900000001", "status": "sent", "message": ""},
        {"request_number": "MDL-3", "status": "failed", "message": 'INVALID_DATA: invalid data {"api_name":"Request_Type"}'},
    ]


@dataclass
class FakeRequestsMoodle:
    answer: list[dict[str, Any]] | Exception
    sent: list[list[dict[str, Any]]] = field(default_factory=list)

    async def record_request_results(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.sent.append(rows)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _report_requests(tmp_path: Path, moodle: Any) -> tuple[str | None, FakeWorkspace, dict[str, Any]]:
    from reconciler.report import report_requests
    from reconciler.specs import load_specs

    store = StateStore(tmp_path / "mzi.sqlite")
    run_id = store.record_run("apply", "2026-01-01T00:00:00+00:00", [], {"create": 1, "api": {}}, [], True)
    ws = FakeWorkspace(store, {"moodle": moodle}, specs=load_specs())
    sent = [Result(Address("outbound_request", "MDL-2"), Action.CREATE, True, "created", target_id="58")]
    warning = asyncio.run(report_requests(ws, run_id, sent))  # type: ignore[arg-type]
    summary = json.loads(json.dumps(store.runs(1)[0].summary))
    store.close()
    return warning, ws, summary


def test_request_results_moodle_cannot_take_are_a_warning_kept_in_the_run_log(tmp_path: Path) -> None:
    old = MoodleError("local_mzi_record_request_results", "invalid_parameter_exception", "invalidparameter",
                      "Invalid parameter value detected", "Unexpected keys (request_number) detected")
    warning, ws, summary = _report_requests(tmp_path, FakeRequestsMoodle(old))
    assert warning is not None and "older than version 2026120300" in warning and "unaffected" in warning, warning
    assert ws.warnings == [warning] and summary["moodle_request_report"] == warning


def test_request_results_moodle_took_leave_no_warning(tmp_path: Path) -> None:
    moodle = FakeRequestsMoodle([{"key": "MDL-2", "status": "updated", "errorcode": "", "message": ""}])
    warning, ws, summary = _report_requests(tmp_path, moodle)
    assert moodle.sent == [[{"request_number": "MDL-2", "zoho_request_id": "58", "status": "sent", "message": ""}]]
    assert (warning, ws.warnings, "moodle_request_report" in summary) == (None, [], False)
