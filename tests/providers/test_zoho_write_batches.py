"""Zoho writes: each call of ≤ 100 records is a batch with its own outcome."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from zoho_fixtures import ACCOUNTS, API_DOMAIN, BASE_ID, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, FakeZoho, no_sleep, students

from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Change, Result
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from reconciler.specs import load_spec

LINK = load_spec(Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "student_link.toml")


def update(i: int) -> Change:
    return Change(Action.UPDATE, Address(LINK.kind, str(BASE_ID + i)), after={"moodle_user_id": i})


def test_one_failed_call_of_three_fails_only_its_records_and_each_call_is_reported() -> None:
    fake = FakeZoho().load("BTEC_Students", students(250))
    inner = fake.transport()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and json.loads(request.content)["data"][0]["id"] == str(BASE_ID + 101):
            return httpx.Response(500, json={"code": "INTERNAL_ERROR", "message": "boom", "status": "error"})
        return await inner.handle_async_request(request)

    client = ZohoClient(API_DOMAIN, ACCOUNTS, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, RetryPolicy(max_retries=1),
                        transport=httpx.MockTransport(handler), sleep=no_sleep)
    reported: list[list[Result]] = []
    results = asyncio.run(ZohoProvider(client).apply(LINK, [update(i) for i in range(1, 251)],
                                                     on_results=lambda rs: reported.append(list(rs))))
    wrong = [(i, r.status) for i, r in enumerate(results) if r.ok == (100 <= i < 200)]
    assert not wrong, f"first records with the wrong outcome: {wrong[:5]}"
    assert results[100].status == "error" and "500" in results[100].error, results[100]
    assert sorted(len(batch) for batch in reported) == [50, 100, 100]
