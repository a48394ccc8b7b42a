"""The emulators' fault injection does what it says, seeded, and reaches other processes.

Faults that need a socket (a hang past the client's time limit, a dropped connection) go
through :class:`~reconciler.sandbox.transport.SandboxTransport`, the transport mzi itself
uses for the embedded sandbox, so the client sees what it would over a network.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.moodle.db import SANDBOX_TOKEN
from reconciler.sandbox.moodle.faults import MoodleFaults, injected, load_faults
from reconciler.sandbox.transport import SandboxTransport
from reconciler.sandbox.zoho import Faults

MOODLE = "/webservice/rest/server.php"
STUDENTS = "/crm/v8/BTEC_Students"


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path / "sandbox", students=12, seed=3)
    sandbox.ensure()
    return sandbox


def send(transport: httpx.AsyncBaseTransport, method: str, url: str, *, timeout: float = 5.0,
         **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox", timeout=timeout) as client:
            return await client.request(method, url, **kwargs)
    return asyncio.run(go())


def zoho_token(box: Sandbox) -> dict[str, str]:
    client_id, secret, refresh = Sandbox.zoho_credentials
    answer = send(box.zoho_transport(), "POST", "/oauth/v2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret, "refresh_token": refresh})
    return {"Authorization": f"Zoho-oauthtoken {answer.json()['access_token']}"}


def moodle_call(box: Sandbox, function: str, *, timeout: float = 5.0, **params: str) -> httpx.Response:
    form = {"wstoken": SANDBOX_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params}
    return send(box.moodle_transport(), "POST", MOODLE, data=form, timeout=timeout)


def moodle_rows(box: Sandbox, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(box.moodle_db) as db:
        return db.execute(sql).fetchall()


#: a small write call (its records_param is ``ids``): retry two outbox events
WRITE = "local_mzi_retry_events"
RETRY = {"ids[0]": "101", "ids[1]": "102"}


# ---------------------------------------------------------------------- Zoho

def test_a_zoho_request_that_hangs_past_the_client_limit_times_out(box: Sandbox) -> None:
    headers = zoho_token(box)
    box.set_zoho_faults(Faults(timeout_rate=1.0, hang_seconds=30))
    with pytest.raises(httpx.ReadTimeout):
        send(box.zoho_transport(), "GET", STUDENTS, params={"fields": "Name"}, headers=headers, timeout=0.2)


def test_a_zoho_write_whose_answer_is_lost_is_committed_all_the_same(box: Sandbox) -> None:
    headers = zoho_token(box)
    record = box.zoho_store().query("BTEC_Students", limit=1)[0]
    box.set_zoho_faults(Faults(lost_response_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        send(box.zoho_transport(), "PUT", STUDENTS, headers=headers,
             json={"data": [{"id": record["id"], "City": "Zarqa-lost"}]})
    assert box.zoho_store().get("BTEC_Students", record["id"])["City"] == "Zarqa-lost"
    assert box.zoho_store().injected() == {"lost_response": 1}, "each injected fault is counted by kind"


def test_reads_never_lose_their_answer(box: Sandbox) -> None:
    headers = zoho_token(box)
    box.set_zoho_faults(Faults(lost_response_rate=1.0))
    assert send(box.zoho_transport(), "GET", STUDENTS, params={"fields": "Name"}, headers=headers).status_code == 200


def test_a_record_deleted_between_two_page_reads_shifts_the_next_page_by_one(box: Sandbox) -> None:
    headers = zoho_token(box)
    ids = [r["id"] for r in box.zoho_store().query("BTEC_Students", limit=1000)]
    params = {"fields": "Name", "per_page": "4", "sort_by": "id"}
    box.set_zoho_faults(Faults(page_shift_rate=1.0))
    first = send(box.zoho_transport(), "GET", STUDENTS, params={**params, "page": "1"}, headers=headers)
    second = send(box.zoho_transport(), "GET", STUDENTS, params={**params, "page": "2"}, headers=headers)
    assert [r["id"] for r in first.json()["data"]] == ids[:4], "page one is never shifted"
    assert [r["id"] for r in second.json()["data"]] == ids[5:9], "ids[4] moved up to page one, unseen"
    assert box.zoho_store().is_deleted("BTEC_Students", ids[0])


def test_tokens_expire_mid_run_and_a_refreshed_one_outlives_the_next_expiry_point(box: Sandbox) -> None:
    box.set_zoho_faults(Faults(expire_every=3))

    def statuses(headers: dict[str, str], count: int) -> list[int]:
        return [send(box.zoho_transport(), "GET", STUDENTS, params={"fields": "Name"}, headers=headers).status_code
                for _ in range(count)]
    old = zoho_token(box)  # the token endpoint is not counted
    assert statuses(old, 3) == [200, 200, 401], "request 3 is the first expiry point: every token goes"
    fresh = zoho_token(box)
    assert statuses(fresh, 3) == [200, 200, 200], "point 2 (request 6) spares a token issued after point 1"
    assert statuses(fresh, 3) == [200, 200, 401], "point 3 expires it, as it was issued before point 2"


def test_zoho_fault_decisions_are_a_function_of_the_seed() -> None:
    def pattern(seed: int) -> list[tuple[bool, bool, bool]]:
        faults = Faults(timeout_rate=0.3, lost_response_rate=0.3, page_shift_rate=0.3, seed=seed)
        return [(faults.hangs(n), faults.loses_response(n), faults.shifts_page(n)) for n in range(1, 200)]
    assert pattern(4) == pattern(4)
    assert pattern(4) != pattern(5)
    assert any(any(p) for p in pattern(4)) and not all(all(p) for p in pattern(4))


@pytest.mark.parametrize("field", ["timeout_rate", "lost_response_rate", "page_shift_rate"])
def test_zoho_fault_rates_outside_0_to_1_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Faults(**{field: 1.5})


# ---------------------------------------------------------------------- Moodle

def test_moodle_faults_persist_in_the_site_so_another_process_sees_them(box: Sandbox, tmp_path: Path) -> None:
    box.set_moodle_faults(MoodleFaults(error_rate=0.25, seed=9))
    other = sqlite3.connect(box.moodle_db)
    assert load_faults(other) == MoodleFaults(error_rate=0.25, seed=9)
    other.close()
    again = Sandbox(box.directory, students=12, seed=3)
    assert again.moodle_app().state.moodle.faults() == MoodleFaults(error_rate=0.25, seed=9)


def test_a_moodle_503_comes_before_php_runs_so_nothing_is_written(box: Sandbox) -> None:
    box.set_moodle_faults(MoodleFaults(error_rate=1.0))
    answer = moodle_call(box, WRITE, **RETRY)
    assert answer.status_code == 503
    assert moodle_rows(box, "SELECT COUNT(*) FROM mdl_mzi_api_log WHERE wsfunction = 'local_mzi_retry_events'") \
        == [(0,)]


def test_a_moodle_call_that_hangs_past_the_client_limit_times_out(box: Sandbox) -> None:
    box.set_moodle_faults(MoodleFaults(timeout_rate=1.0, hang_seconds=30))
    with pytest.raises(httpx.ReadTimeout):
        moodle_call(box, "core_webservice_get_site_info", timeout=0.2)


def test_a_moodle_write_whose_answer_is_lost_is_committed_all_the_same(box: Sandbox) -> None:
    box.set_moodle_faults(MoodleFaults(lost_response_rate=1.0))
    assert moodle_call(box, "core_webservice_get_site_info").status_code == 200, "reads keep their answer"
    with pytest.raises(httpx.RemoteProtocolError):
        moodle_call(box, WRITE, **RETRY)
    assert moodle_rows(box, "SELECT ok FROM mdl_mzi_api_log WHERE wsfunction = 'local_mzi_retry_events'") == [(1,)]


def test_one_record_throwing_inside_a_moodle_batch_rolls_the_whole_call_back(box: Sandbox) -> None:
    box.set_moodle_faults(MoodleFaults(record_error_rate=1.0))
    answer = moodle_call(box, WRITE, **RETRY).json()
    assert (answer["exception"], answer["errorcode"]) == ("dml_write_exception", "dmlwriteexception"), answer
    assert "record 0 of local_mzi_retry_events" in answer["debuginfo"]
    assert injected(sqlite3.connect(box.moodle_db)) == {"record_error": 1}, "each injected fault is counted by kind"
    assert moodle_rows(box, "SELECT ok FROM mdl_mzi_api_log WHERE wsfunction = 'local_mzi_retry_events'") == [(0,)]


def test_moodle_fault_decisions_are_a_function_of_the_seed_and_the_call_number() -> None:
    def pattern(seed: int) -> list[tuple[bool, bool, bool, int | None]]:
        faults = MoodleFaults(error_rate=0.2, timeout_rate=0.2, lost_response_rate=0.2, record_error_rate=0.1, seed=seed)
        return [(faults.server_error(n), faults.hangs(n), faults.loses_response(n), faults.failing_record(n, 5))
                for n in range(1, 200)]
    assert pattern(1) == pattern(1)
    assert pattern(1) != pattern(2)


def test_setting_moodle_faults_restarts_the_call_count_so_a_run_replays_from_its_seed(box: Sandbox) -> None:
    def statuses() -> list[int]:
        box.set_moodle_faults(MoodleFaults(error_rate=0.5, seed=21))
        return [moodle_call(box, "core_webservice_get_site_info").status_code for _ in range(12)]
    first = statuses()
    assert first == statuses()
    assert {200, 503} == set(first), first


@pytest.mark.parametrize("field", ["error_rate", "timeout_rate", "lost_response_rate", "record_error_rate"])
def test_moodle_fault_rates_outside_0_to_1_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        MoodleFaults(**{field: -0.1})


def test_the_sandbox_transport_leaves_fault_free_calls_alone(box: Sandbox) -> None:
    assert isinstance(box.moodle_transport(), SandboxTransport)
    assert moodle_call(box, "core_webservice_get_site_info").json()["sitename"]
