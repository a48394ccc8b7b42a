"""moodle_grade's writes to Zoho: upserts on the composite key in calls of ≤ 100, each request valid
against Zoho's OpenAPI files, a result per record (a refused record fails alone), and what
is written reads back as the same normalized record (so the next plan is empty)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from reconciler.http import RetryPolicy
from reconciler.mapping import record_from_zoho
from reconciler.model import Action, Address, Change
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from reconciler.specs import load_specs
from zoho_fixtures import BASE_ID, no_sleep, request_problems, students

SPEC = load_specs()["moodle_grade"]
CLASS_ID = "5847596000009000001"


class Capture(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


def grade(index: int, student: str) -> dict[str, Any]:
    return {
        "zoho_student_id": student, "zoho_class_id": CLASS_ID, "unit_name": "Programming",
        "student_name": f"Student {index}", "class_name": "Programming G1", "grade": "M", "grade_status": "Released",
        "attempt_number": 1, "attempt_date": "2026-09-21", "feedback": "Good analysis.\nKeep going.",
        "grader_name": "Rana Teacher", "iv_name": None,
        "btec_grade_name": f"Student {index} - Programming G1 - M - 2026-09-21", "moodle_grade_id": str(900 + index),
        "learning_outcomes": [
            {"LO_Code": "P1", "LO_Title": "Criterion P1", "LO_Definition": "Describe.", "LO_Score": "Achieved",
             "LO_Feedback": "Clear"},
            {"LO_Code": "D1", "LO_Title": "Criterion D1", "LO_Definition": "Evaluate.", "LO_Score": "Not Achieved"}],
    }


def run(tmp: Path, changes: list[Change]) -> tuple[list[Any], Capture, Any]:
    from reconciler.sandbox.zoho import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN, create_app

    app = create_app(tmp / "zoho.sqlite")
    store = app.state.store
    store.load("BTEC_Students", students(120))
    store.load("BTEC_Classes", [{"id": CLASS_ID, "Name": "CL-000001", "Class_Name": "Programming G1",
                                 "Created_Time": "2026-09-01T09:00:00+03:00", "Modified_Time": "2026-09-01T09:00:00+03:00"}])
    capture = Capture(httpx.ASGITransport(app=app))
    client = ZohoClient("https://zoho.sandbox", "https://zoho.sandbox", SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET,
                        SANDBOX_REFRESH_TOKEN, RetryPolicy(), transport=capture, sleep=no_sleep)
    provider = ZohoProvider(client)

    async def go() -> tuple[list[Any], Any]:
        results = await provider.apply(SPEC, changes)
        return results, await provider.read(SPEC)

    results, read = asyncio.run(go())
    return results, capture, read


def creates(count: int) -> list[Change]:
    return [Change(Action.CREATE, Address("moodle_grade", f"{1000 + i}_77"),
                   after=grade(i, str(BASE_ID + 1 + i % 100))) for i in range(count)]


def test_grades_upsert_in_calls_of_100_valid_against_the_oas_and_read_back_equal(tmp_path: Path) -> None:
    changes = creates(150)
    results, capture, read = run(tmp_path, changes)
    assert [r.status for r in results] == ["created"] * 150, [r for r in results if not r.ok][:3]
    writes = [r for r in capture.requests if r.method == "POST" and r.url.path.endswith("/upsert")]
    assert [len(json.loads(r.content)["data"]) for r in writes] == [100, 50]
    problems = [p for r in capture.requests if r.url.path.startswith("/crm/") for p in request_problems(r)]
    assert problems == []
    for change in changes[:3]:
        back = read[change.address.key].fields
        wanted = record_from_zoho(SPEC, {**{SPEC.fields[n].zoho: v for n, v in (change.after or {}).items()
                                            if isinstance(SPEC.fields[n].zoho, str) and n not in
                                            ("zoho_student_id", "zoho_class_id")},
                                         "Student": {"id": change.after["zoho_student_id"]},  # type: ignore[index]
                                         "Class": {"id": CLASS_ID},
                                         "Moodle_Grade_Composite_Key": change.address.key}).fields
        assert back == wanted, (back, wanted)


def test_a_refused_grade_fails_alone_with_zohos_code(tmp_path: Path) -> None:
    changes = creates(3)
    bad = grade(9, "5847596000000999999")  # a student Zoho does not have
    changes[1] = Change(Action.CREATE, changes[1].address, after=bad)
    results, _, _ = run(tmp_path, changes)
    assert [(r.ok, r.status) for r in results] == [(True, "created"), (False, "INVALID_DATA"), (True, "created")], results
    assert "Student" in results[1].error, results[1].error
