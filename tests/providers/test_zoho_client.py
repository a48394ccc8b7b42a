"""ZohoClient against an in-memory Zoho (httpx.MockTransport): OAuth, paging, batching, errors, credits."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from reconciler.errors import AuthError, TerminalError, TransientError
from reconciler.http import RetryPolicy
from reconciler.providers.zoho_client import ZohoAuthError, ZohoClient, ZohoError, field_chunks
from zoho_fixtures import (
    ACCOUNTS, API_DOMAIN, BASE_ID, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, T0, FakeZoho, Sleeps, no_sleep,
    student, students,
)

MODULE = "BTEC_Students"
FIELDS = ["Name", "City", "Modified_Time"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(fake: FakeZoho, *, clock: Clock | None = None, sleep: Any = no_sleep, secret: str = CLIENT_SECRET,
         policy: RetryPolicy | None = None) -> ZohoClient:
    return ZohoClient(API_DOMAIN, ACCOUNTS, CLIENT_ID, secret, REFRESH_TOKEN, policy or RetryPolicy(),
                      transport=fake.transport(), sleep=sleep, clock=clock or Clock())


async def collect(client: ZohoClient, fields: list[str] = FIELDS, **kw: Any) -> list[dict[str, Any]]:
    return [r async for page in client.list_records(MODULE, fields, **kw) for r in page]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# ---------------------------------------------------------------------- OAuth

def test_access_token_is_cached_and_sent_as_zoho_oauthtoken() -> None:
    fake = FakeZoho().load(MODULE, students(3))
    client = make(fake)
    run(collect(client))
    run(collect(client))
    assert client.stats.token_refreshes == 1
    assert all(r.headers["Authorization"] == "Zoho-oauthtoken 1000.access1" for r in fake.api_requests())


def test_token_is_refreshed_sixty_seconds_before_expiry() -> None:
    fake = FakeZoho(token_lifetime=3600).load(MODULE, students(1))
    clock = Clock()
    client = make(fake, clock=clock)
    run(collect(client))
    clock.now += 3600 - 61
    run(collect(client))
    assert client.stats.token_refreshes == 1
    clock.now += 2  # now inside the last minute
    run(collect(client))
    assert client.stats.token_refreshes == 2


def test_invalid_token_refreshes_once_and_retries_the_request() -> None:
    fake = FakeZoho().load(MODULE, students(2))
    client = make(fake)
    run(collect(client))
    fake.expire_tokens()  # Zoho revoked/expired the access token early
    rows = run(collect(client))
    assert len(rows) == 2
    assert client.stats.token_refreshes == 2
    paths = [r.url.path for r in fake.requests]
    assert paths.count("/oauth/v2/token") == 2
    assert [r.url.path for r in fake.requests[-3:]] == ["/crm/v8/BTEC_Students", "/oauth/v2/token", "/crm/v8/BTEC_Students"]


def test_a_401_that_a_fresh_token_does_not_cure_is_an_auth_error_not_a_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/v2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600, "api_domain": API_DOMAIN})
        return httpx.Response(401, json={"code": "INVALID_TOKEN", "message": "invalid oauth token", "status": "error", "details": {}})

    client = ZohoClient(API_DOMAIN, ACCOUNTS, "c", "s", "r", RetryPolicy(), transport=httpx.MockTransport(handler), sleep=no_sleep)
    with pytest.raises(ZohoAuthError):
        run(collect(client))
    assert client.stats.token_refreshes == 2


def test_scope_mismatch_is_an_auth_error_without_refresh() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/oauth/v2/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(401, json={"code": "OAUTH_SCOPE_MISMATCH", "message": "invalid oauth scope", "status": "error", "details": {}})

    client = ZohoClient(API_DOMAIN, ACCOUNTS, "c", "s", "r", RetryPolicy(), transport=httpx.MockTransport(handler), sleep=no_sleep)
    with pytest.raises(AuthError, match="OAUTH_SCOPE_MISMATCH"):
        run(collect(client))
    assert calls.count("/oauth/v2/token") == 1


def test_invalid_client_is_an_auth_error_naming_the_fix() -> None:
    client = make(FakeZoho().load(MODULE, students(1)), secret="wrong")
    with pytest.raises(AuthError, match="invalid_client.*client id/secret"):
        run(collect(client))


def test_revoked_refresh_token_is_an_auth_error() -> None:
    fake = FakeZoho(revoked=True).load(MODULE, students(1))
    with pytest.raises(AuthError, match="invalid_code.*revoked"):
        run(collect(make(fake)))


def test_token_endpoint_api_domain_is_honoured() -> None:
    fake = FakeZoho(api_domain="https://www.zohoapis.eu").load(MODULE, students(1))
    client = make(fake)
    run(collect(client))
    assert {r.url.host for r in fake.api_requests()} == {"www.zohoapis.eu"}
    assert client.api_domain == "https://www.zohoapis.eu"


def test_concurrent_calls_share_one_refresh() -> None:
    fake = FakeZoho().load(MODULE, students(5))
    client = make(fake)

    async def many() -> None:
        await asyncio.gather(*(collect(client) for _ in range(8)))

    run(many())
    assert client.stats.token_refreshes == 1


# ---------------------------------------------------------------------- reads

def test_pages_switch_to_page_token_after_record_2000() -> None:
    fake = FakeZoho().load(MODULE, students(2450))
    client = make(fake)
    rows = run(collect(client))
    assert [r["id"] for r in rows] == [str(BASE_ID + i) for i in range(1, 2451)]
    params = [dict(r.url.params) for r in fake.api_requests()]
    assert [p.get("page") for p in params[:10]] == [str(i) for i in range(1, 11)]
    assert all("page" not in p and "page_token" in p for p in params[10:])
    assert len(params) == 13 and all(p["per_page"] == "200" for p in params)


def test_only_the_requested_fields_are_asked_for() -> None:
    fake = FakeZoho().load(MODULE, students(1))
    run(collect(make(fake), ["City", "Name", "id", "City"]))
    assert fake.api_requests()[0].url.params["fields"] == "City,Name"


def test_if_modified_since_304_yields_nothing_and_sends_zoned_iso() -> None:
    fake = FakeZoho().load(MODULE, students(3))
    client = make(fake)
    assert run(collect(client, modified_since=T0 + timedelta(days=1))) == []
    sent = fake.api_requests()[0].headers["If-Modified-Since"]
    assert sent == "2026-01-02T08:00:00+03:00"


def test_if_modified_since_returns_only_changed_records() -> None:
    fake = FakeZoho().load(MODULE, students(5))
    rows = run(collect(make(fake), modified_since=T0 + timedelta(minutes=3)))
    assert [r["Name"] for r in rows] == ["S-00004", "S-00005"]


def test_empty_module_204_yields_nothing() -> None:
    fake = FakeZoho(modules={MODULE: {}})
    assert run(collect(make(fake))) == []


def test_more_than_50_fields_are_split_and_merged_by_id() -> None:
    wide = [f"F{i}" for i in range(1, 61)]
    rows = []
    for i in range(1, 251):
        row = student(i)
        row.update({name: f"{name}-{i}" for name in wide})
        rows.append(row)
    fake = FakeZoho().load(MODULE, rows)
    got = run(collect(make(fake), wide))
    assert len(got) == 250
    assert got[7]["F1"] == "F1-8" and got[7]["F60"] == "F60-8"
    assert all(len(r.url.params["fields"].split(",")) <= 50 for r in fake.api_requests())
    assert len(fake.api_requests()) == 4  # 2 field groups × 2 pages


def test_field_chunks_cap_at_50() -> None:
    assert [len(c) for c in field_chunks([f"F{i}" for i in range(120)])] == [50, 50, 20]
    with pytest.raises(ValueError):
        field_chunks(["id"])


def test_get_by_ids_chunks_at_100_and_skips_missing() -> None:
    fake = FakeZoho().load(MODULE, students(250))
    client = make(fake)
    ids = [str(BASE_ID + i) for i in range(1, 251)] + ["999"]
    got = run(client.get_by_ids(MODULE, ids, FIELDS))
    assert [r["id"] for r in got] == ids[:-1]
    assert [len(r.url.params["ids"].split(",")) for r in fake.api_requests()] == [100, 100, 51]


def test_deleted_pages_and_since() -> None:
    fake = FakeZoho().load(MODULE, students(5))
    fake.delete(MODULE, str(BASE_ID + 1), T0 + timedelta(hours=1))
    fake.delete(MODULE, str(BASE_ID + 2), T0 + timedelta(hours=3))
    client = make(fake)
    assert [d["id"] for d in run(client.deleted(MODULE))] == [str(BASE_ID + 1), str(BASE_ID + 2)]
    assert [d["id"] for d in run(client.deleted(MODULE, since=T0 + timedelta(hours=2)))] == [str(BASE_ID + 2)]
    assert run(client.deleted(MODULE, since=T0 + timedelta(hours=5))) == []
    assert fake.api_requests()[0].url.params["type"] == "all"


def test_fields_metadata_lists_the_module_fields() -> None:
    fake = FakeZoho(modules={MODULE: {}})
    meta = run(make(fake).fields_metadata(MODULE))
    assert "Student_Moodle_ID" in {f["api_name"] for f in meta}


# ---------------------------------------------------------------------- errors

def test_invalid_module_is_terminal_with_zoho_code() -> None:
    fake = FakeZoho().load(MODULE, students(1))
    with pytest.raises(ZohoError) as info:
        run(make(fake).get_by_ids("Nope", ["1"], FIELDS))
    assert isinstance(info.value, TerminalError) and info.value.code == "INVALID_MODULE"


def test_429_storm_past_max_retries_is_transient() -> None:
    fake = FakeZoho(storm_429=50).load(MODULE, students(1))
    with pytest.raises(TransientError):
        run(collect(make(fake, policy=RetryPolicy(max_retries=3))))


def test_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    fake = FakeZoho(storm_429=2, retry_after="7").load(MODULE, students(1))
    run(collect(make(fake, sleep=sleeps)))
    assert sleeps.calls == [7.0, 7.0]


# ---------------------------------------------------------------------- writes

def test_update_batches_of_100_with_per_record_answers() -> None:
    fake = FakeZoho().load(MODULE, students(230))
    client = make(fake)
    rows = [{"id": str(BASE_ID + i), "Student_Moodle_ID": str(i)} for i in range(1, 231)] + [{"id": "404", "City": "x"}]
    answers = run(client.update(MODULE, rows))
    assert len(answers) == 231 and all(a.ok for a in answers[:-1])
    assert answers[-1].code == "INVALID_DATA" and not answers[-1].ok
    assert [len(json.loads(r.content)["data"]) for r in fake.api_requests()] == [100, 100, 31]
    assert client.stats.credits == 10 + 10 + 4  # 1 credit per 10 records written
    assert fake.modules[MODULE][str(BASE_ID + 7)]["Student_Moodle_ID"] == "7"


def test_upsert_sends_duplicate_check_fields_and_reports_duplicate_data_per_record() -> None:
    fake = FakeZoho(unique={"BTEC_Grades": {"Moodle_Grade_Composite_Key", "Moodle_Grade_ID"}})
    fake.load("BTEC_Grades", [{"id": "1", "Moodle_Grade_Composite_Key": "5_9", "Moodle_Grade_ID": "g1", "Modified_Time": T0.isoformat()}])
    client = make(fake)
    rows = [
        {"Moodle_Grade_Composite_Key": "5_9", "Grade": "M"},                        # update by key
        {"Moodle_Grade_Composite_Key": "6_9", "Grade": "P", "Moodle_Grade_ID": "g1"},  # clashes on another unique field
        {"Moodle_Grade_Composite_Key": "7_9", "Grade": "D"},                        # insert
    ]
    answers = run(client.upsert("BTEC_Grades", rows, ["Moodle_Grade_Composite_Key"]))
    assert [a.code for a in answers] == ["SUCCESS", "DUPLICATE_DATA", "SUCCESS"]
    assert [a.action for a in answers] == ["update", "", "insert"]
    body = json.loads(fake.api_requests()[0].content)
    assert body["duplicate_check_fields"] == ["Moodle_Grade_Composite_Key"]
    assert client.stats.records_written == 2


def test_call_level_error_on_a_write_raises() -> None:
    fake = FakeZoho(modules={MODULE: {}})
    with pytest.raises(ZohoError, match="INVALID_MODULE"):
        run(make(fake).update("Nope", [{"id": "1"}]))


# ---------------------------------------------------------------------- credits

def test_credits_follow_zohos_table() -> None:
    fake = FakeZoho().load(MODULE, students(450))
    fake.delete(MODULE, str(BASE_ID + 1), T0)
    client = make(fake)
    run(collect(client))                                     # 3 pages → 3
    run(client.deleted(MODULE))                              # 1 page  → 2
    run(client.update(MODULE, [{"id": str(BASE_ID + 2), "City": "Irbid"}] * 25))  # 25 rows → 3
    run(client.fields_metadata(MODULE))                      # → 1
    assert client.credits_used == 3 + 2 + 3 + 1
    assert client.stats.calls == 6
    assert client.stats.to_dict()["by_operation"] == {"list": 3, "deleted": 1, "update": 1, "fields_metadata": 1}
