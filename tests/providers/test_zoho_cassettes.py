"""The Zoho client replayed from vcrpy cassettes — no network, no emulator (record_mode="none").

The cassettes (``cassettes/*.yaml``, written by ``make_cassettes.py`` from the OAS schemas
and the org's field metadata) pin Zoho's answers; matching on method, URL, query, body
and the Authorization / If-Modified-Since headers pins what the client sends. A request
the cassette does not hold fails the test (CannotOverwriteExistingCassetteException).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import vcr
from vcr.request import Request as VcrRequest

import make_cassettes
from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Change
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import ZohoClient
from zoho_fixtures import ACCOUNTS, API_DOMAIN, CLIENT_ID, CLIENT_SECRET, GRADE_SPEC, REFRESH_TOKEN, Sleeps

CASSETTES = Path(__file__).resolve().parent / "cassettes"


def _body(request: VcrRequest) -> Any:
    raw = request.body or b""
    raw = raw.decode() if isinstance(raw, bytes) else raw
    if not raw:
        return None
    if raw.lstrip().startswith("{"):
        return json.loads(raw)
    return parse_qs(raw)


def same_body(r1: VcrRequest, r2: VcrRequest) -> None:
    assert _body(r1) == _body(r2), f"body {_body(r1)!r} != {_body(r2)!r}"


def same_zoho_headers(r1: VcrRequest, r2: VcrRequest) -> None:
    for name in ("Authorization", "If-Modified-Since"):
        assert r1.headers.get(name) == r2.headers.get(name), f"{name}: {r1.headers.get(name)!r} != {r2.headers.get(name)!r}"


def replay() -> vcr.VCR:
    v = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                match_on=["method", "scheme", "host", "port", "path", "query", "body_json", "zoho_headers"])
    v.register_matcher("body_json", same_body)
    v.register_matcher("zoho_headers", same_zoho_headers)
    return v


def client(sleep: Any = None) -> ZohoClient:
    # no transport: the default httpx transport, which vcrpy patches
    return ZohoClient(API_DOMAIN, ACCOUNTS, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, RetryPolicy(),
                      sleep=sleep or Sleeps())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_pagination_moves_to_page_token_after_page_10() -> None:
    with replay().use_cassette("zoho_pagination_page_token.yaml") as cassette:
        c = client()
        records = run(ZohoProvider(c, read_api="list").read(make_cassettes.STUDENT))
        assert cassette.all_played
    assert len(records) == 24
    assert sorted(records) == sorted(str(make_cassettes.BASE + i) for i in range(1, 25))
    assert records[str(make_cassettes.BASE + 24)].fields["student_id"] == "S-00024"
    assert c.stats.calls == 12 and c.credits_used == 12


def test_if_modified_since_304_means_no_changes() -> None:
    with replay().use_cassette("zoho_if_modified_since_304.yaml") as cassette:
        changed, gone = run(ZohoProvider(client(), read_api="list").read_changes(make_cassettes.STUDENT, since=make_cassettes.IMS))
        assert cassette.all_played
    assert changed == {} and gone == set()


def test_429_waits_for_retry_after_then_succeeds() -> None:
    sleeps = Sleeps()
    with replay().use_cassette("zoho_429_retry_after.yaml") as cassette:
        c = client(sleeps)
        rows = run(_collect(c, ["Name", "Academic_Email", "Modified_Time"]))
        assert cassette.all_played
    assert sleeps.calls == [3.0]
    assert len(rows) == 3
    assert c.stats.http.retries == 1 and c.stats.http.by_status == {429: 1, 200: 2}  # the token call is a 200 too
    assert c.credits_used == 1  # the throttled attempt is not charged


def test_invalid_token_refreshes_then_succeeds() -> None:
    with replay().use_cassette("zoho_invalid_token_refresh.yaml") as cassette:
        c = client()
        rows = run(c.get_by_ids("BTEC_Students", [str(make_cassettes.BASE + 7)], ["Name", "Academic_Email", "Modified_Time"]))
        assert cassette.all_played
    assert [r["Name"] for r in rows] == ["S-00007"]
    assert c.stats.token_refreshes == 2


def test_duplicate_data_in_an_upsert_batch_fails_one_record_only() -> None:
    keys = ["412_77", "413_77", "414_77"]
    changes = [Change(Action.CREATE, Address("moodle_grade", keys[0]), after={"grade": "M", "attempt_number": 1}),
               Change(Action.CREATE, Address("moodle_grade", keys[1]), after={"grade": "P", "attempt_number": 1}),
               Change(Action.UPDATE, Address("moodle_grade", keys[2]), after={"grade": "R", "attempt_number": 2})]
    with replay().use_cassette("zoho_upsert_duplicate_data.yaml") as cassette:
        results = run(ZohoProvider(client()).apply(GRADE_SPEC, changes))
        assert cassette.all_played
    assert [(r.address.key, r.ok, r.status) for r in results] == [
        ("412_77", True, "created"), ("413_77", False, "DUPLICATE_DATA"), ("414_77", True, "updated")]
    assert "Moodle_Grade_ID" in results[1].error


def test_a_request_the_cassette_lacks_fails_instead_of_reaching_the_network() -> None:
    with replay().use_cassette("zoho_429_retry_after.yaml"):
        with pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException):
            run(_collect(client(), ["Name"]))


@pytest.mark.parametrize("name", sorted(make_cassettes.CASSETTE_BUILDERS))
def test_committed_cassettes_are_what_the_generator_writes(name: str) -> None:
    assert (CASSETTES / f"{name}.yaml").read_text(encoding="utf-8") == make_cassettes.render(name)


async def _collect(c: ZohoClient, fields: list[str]) -> list[dict[str, Any]]:
    return [r async for page in c.list_records("BTEC_Students", fields) for r in page]
