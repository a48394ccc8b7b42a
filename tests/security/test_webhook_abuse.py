"""Abuse of ``mzi serve`` beyond what tests/serve covers (unsigned, bad signature or token,
duplicate event id, oversized, malformed, unknown module or kind; the fuzz run):
deliveries signed outside the replay window, replays after the work is done, bodies
altered after signing, a valid token not rescuing a bad signature, a flood of one
address, content types the server must not trust, and methods it does not serve."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.server import Secrets, build
from reconciler.signatures import sign, sign_moodle
from serve_app import SECRET, STATIC, WATCH, Served, make_served

#: events one address receives in the flood test: far more than a burst of edits
FLOOD = 300


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    s = make_served(tmp_path, monkeypatch, students=10)
    yield s
    s.webhook.store.close()


def _student(served: Served, n: int = 0) -> str:
    rows = served.sandbox.zoho_store().conn.execute(
        "SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT 1 OFFSET ?", (n,)).fetchall()
    return str(rows[0][0])


def _workflow(record_id: str, event_id: str) -> bytes:
    return json.dumps({"event_id": event_id, "event_type": "updated", "module": "BTEC_Students",
                       "record_id": record_id, "changed_fields": ["City"],
                       "timestamp": "2026-11-20T10:00:00+03:00"}).encode()


MOODLE_EVENT = json.dumps({"eventname": "\\core\\event\\user_updated", "objectid": 3, "relateduserid": 3}).encode()


def _moodle_headers(stamp: int | str, body: bytes = MOODLE_EVENT, event_id: str = "mdl-1") -> dict[str, str]:
    return {"X-Mzi-Timestamp": str(stamp), "X-Mzi-Signature": sign_moodle(SECRET, stamp, body),
            "X-Mzi-Event-Id": event_id}


# ---------------------------------------------------------------------- time and replays

@pytest.mark.parametrize("offset", [-1, +1], ids=["expired", "from-the-future"])
def test_a_moodle_delivery_signed_outside_the_replay_window_is_refused_401(served: Served, offset: int) -> None:
    window = served.config.serve.replay_window_seconds
    stamp = int(time.time()) + offset * (window + 30)
    answer = served.post("/webhooks/moodle", MOODLE_EVENT, _moodle_headers(stamp))
    assert answer.status_code == 401 and answer.json()["error"] == "replayed", answer.text
    assert served.queue.event_count() == 0


def test_a_moodle_delivery_just_inside_the_window_is_accepted(served: Served) -> None:
    stamp = int(time.time()) - served.config.serve.replay_window_seconds + 30
    answer = served.post("/webhooks/moodle", MOODLE_EVENT, _moodle_headers(stamp))
    assert answer.status_code in (200, 202), answer.text


@pytest.mark.parametrize("stamp", ["", "yesterday", "-5", "1.5e9", "9" * 13, "１７００００００００"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused_401(served: Served, stamp: str) -> None:
    # on the wire a header is bytes: full-width digits arrive as UTF-8 (Python's isdigit() would take them)
    headers: dict[str, Any] = {"X-Mzi-Timestamp": stamp.encode("utf-8"), "X-Mzi-Signature": sign(SECRET, f"{stamp}.".encode() + MOODLE_EVENT)}
    answer = served.post("/webhooks/moodle", MOODLE_EVENT, headers)
    assert answer.status_code == 401 and answer.json()["error"] in ("unsigned", "bad_timestamp"), answer.text


def test_a_timestamp_changed_after_signing_is_refused_401(served: Served) -> None:
    now = int(time.time())
    headers = _moodle_headers(now) | {"X-Mzi-Timestamp": str(now - 1)}
    answer = served.post("/webhooks/moodle", MOODLE_EVENT, headers)
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature", answer.text


def test_a_captured_moodle_delivery_replayed_inside_the_window_queues_nothing_more(served: Served) -> None:
    headers = _moodle_headers(int(time.time()), event_id="mdl-replay")
    first = served.post("/webhooks/moodle", MOODLE_EVENT, headers)
    assert first.status_code == 202, first.text
    again = served.post("/webhooks/moodle", MOODLE_EVENT, headers)
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert served.queue.event_count() == 1


def test_a_zoho_event_id_replayed_after_its_reconcile_is_dropped_without_a_run(served: Served) -> None:
    body = _workflow(_student(served), "evt-replayed")
    signed = {"X-Zoho-Signature": sign(SECRET, body)}
    assert served.post("/webhooks/zoho", body, signed).status_code == 202
    assert len(served.drain()) == 1
    for _ in range(3):
        again = served.post("/webhooks/zoho", body, signed)
        assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert served.drain() == [], "a replayed event reconciled again"


def test_a_zoho_event_id_reused_for_another_record_is_still_a_duplicate(served: Served) -> None:
    """An id names one delivery: a sender reusing it (or a forger holding the token) gets
    nothing queued for the second record."""
    first, other = _student(served, 0), _student(served, 1)
    assert served.post("/webhooks/zoho", _workflow(first, "evt-reused"), {"X-Mzi-Token": STATIC}).status_code == 202
    again = served.post("/webhooks/zoho", _workflow(other, "evt-reused"), {"X-Mzi-Token": STATIC})
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    assert served.queue.item(f"student.{other}") is None


# ---------------------------------------------------------------------- who signed what

def test_a_body_altered_after_signing_is_refused_401(served: Served) -> None:
    body = _workflow(_student(served, 0), "evt-altered")
    forged = body.replace(_student(served, 0).encode(), _student(served, 1).encode())
    answer = served.post("/webhooks/zoho", forged, {"X-Zoho-Signature": sign(SECRET, body)})
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature", answer.text


def test_a_valid_token_does_not_rescue_a_bad_signature(served: Served) -> None:
    body = _workflow(_student(served), "evt-both")
    answer = served.post("/webhooks/zoho", body, {"X-Zoho-Signature": "0" * 64, "X-Mzi-Token": STATIC},
                         {"token": STATIC})
    assert answer.status_code == 401 and answer.json()["error"] == "bad_signature", answer.text


@pytest.mark.parametrize("token", ["", " ", STATIC[:-1], STATIC + "x", STATIC.upper(), "é" + STATIC])
def test_a_token_that_is_not_exactly_the_static_token_is_refused_401(served: Served, token: str) -> None:
    headers: dict[str, Any] = {"X-Mzi-Token": token.encode("utf-8")}
    answer = served.post("/webhooks/zoho", _workflow(_student(served), "evt-tok"), headers)
    # an empty header is no token at all: refused as unauthenticated
    assert answer.status_code == 401 and answer.json()["error"] in ("bad_token", "unauthenticated"), answer.text


def test_a_server_without_a_static_token_refuses_every_token(served: Served) -> None:
    strict = build(served.config, workers=0, secrets=Secrets(SECRET, "", WATCH))
    try:
        for token in ("", STATIC, "anything"):
            answer = Served(served.root, served.config, strict).post(
                "/webhooks/zoho", _workflow(_student(served), "evt-strict"), {"X-Mzi-Token": token})
            assert answer.status_code == 401 and answer.json()["error"] in ("bad_token", "unauthenticated"), \
                (token, answer.text)
    finally:
        strict.store.close()


def test_a_refusal_never_says_what_was_expected(served: Served) -> None:
    answers = [served.post("/webhooks/zoho", _workflow("1", "evt-x"), {"X-Mzi-Token": "wrong"}),
               served.post("/webhooks/zoho", _workflow("1", "evt-x"), {"X-Zoho-Signature": "ab" * 32}),
               served.post("/webhooks/moodle", MOODLE_EVENT, {"X-Mzi-Timestamp": "1", "X-Mzi-Signature": "00"})]
    for answer in answers:
        for secret in (SECRET, STATIC, WATCH, sign(SECRET, _workflow("1", "evt-x"))):
            assert secret not in answer.text, answer.text


# ---------------------------------------------------------------------- flood

def test_a_flood_of_events_for_one_address_queues_one_item_and_the_server_keeps_answering(served: Served) -> None:
    student = _student(served)
    app = served.webhook.app()

    async def flood() -> tuple[list[int], list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mzi.test") as client:
            async def one(n: int) -> int:
                body = _workflow(student, f"evt-flood-{n}")
                answer = await client.post("/webhooks/zoho", content=body, headers={"X-Zoho-Signature": sign(SECRET, body)})
                return answer.status_code

            statuses: list[int] = []
            health: list[int] = []
            for start in range(0, FLOOD, 50):  # 50 in flight at a time, a health check between waves
                statuses += await asyncio.gather(*(one(n) for n in range(start, start + 50)))
                health.append((await client.get("/healthz")).status_code)
            return statuses, health

    statuses, health = asyncio.run(flood())
    assert sorted(set(statuses)) == [202], {s: statuses.count(s) for s in set(statuses)}
    assert set(health) == {200}, health
    item = served.queue.item(f"student.{student}")
    assert item is not None and item.events == FLOOD, item
    assert served.queue.stats().depth == 2, "one student and its user link, whatever the number of events"
    runs = served.drain()
    assert len(runs) == 1, f"{len(runs)} runs for one flooded address"


def test_a_notification_naming_one_id_many_times_queues_it_once(served: Served) -> None:
    student = _student(served)
    body = {"module": "BTEC_Students", "ids": [student] * 100, "operation": "update", "channel_id": 1000000,
            "token": WATCH, "server_time": int(time.time() * 1000)}
    answer = served.post("/webhooks/zoho", body)
    assert answer.status_code in (202, 400), answer.text
    if answer.status_code == 202:
        assert served.queue.stats().depth == 2, served.queue.items()


# ---------------------------------------------------------------------- what the request claims to be

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/json; charset=latin-1", ""])
def test_a_signed_json_body_is_judged_by_its_bytes_whatever_the_content_type(served: Served,
                                                                            content_type: str) -> None:
    body = _workflow(_student(served), f"evt-ct-{content_type[:12]}")
    answer = served.post("/webhooks/zoho", body, {"X-Zoho-Signature": sign(SECRET, body), "Content-Type": content_type})
    assert answer.status_code == 202, answer.text


def test_a_form_encoded_body_is_not_json_and_is_refused_400(served: Served) -> None:
    body = f"event_id=evt-form&event_type=updated&module=BTEC_Students&record_id={_student(served)}".encode()
    answer = served.post("/webhooks/zoho", body, {"X-Zoho-Signature": sign(SECRET, body),
                                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_json", answer.text


@pytest.mark.parametrize("body", [b"\xff\xfe{}", "{\"event_id\": \"\u0000\"}".encode(), b"{" * 5000 + b"}" * 5000,
                                  json.dumps({"event_id": "e" * 201, "event_type": "updated"}).encode()])
def test_a_signed_hostile_body_is_refused_400_not_5xx(served: Served, body: bytes) -> None:
    answer = served.post("/webhooks/zoho", body, {"X-Zoho-Signature": sign(SECRET, body)})
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_webhook_path_answers_405_to_other_methods(served: Served, method: str) -> None:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=served.webhook.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://mzi.test") as client:
            return await client.request(method, "/webhooks/zoho", content=b"{}")

    answer = asyncio.run(go())
    assert answer.status_code == 405, answer.text


def test_oversized_headers_and_non_ascii_signatures_are_refused_not_crashed(served: Served) -> None:
    body = _workflow(_student(served), "evt-hdr")
    cases: list[dict[str, Any]] = [{"X-Zoho-Signature": "a" * 8000}, {"X-Zoho-Signature": "sha256=" + "é" * 64},
                                   {"X-Mzi-Token": "t" * 8000}]
    for headers in cases:
        encoded = {k: v.encode("utf-8") for k, v in headers.items()}
        answer = served.post("/webhooks/zoho", body, encoded)
        assert answer.status_code == 401, (headers.keys(), answer.text)


def test_mzi_serve_runs_uvicorn_without_an_access_log_so_a_query_token_is_never_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Zoho workflow webhooks may carry the static token as ``?token=``: an access log line
    would write it to every log on the way."""
    import sys

    import uvicorn

    from reconciler import server

    served = make_served(tmp_path, monkeypatch, students=2, apply_first=False)
    served.webhook.store.close()
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: given.update(options))
    monkeypatch.setattr(sys, "setswitchinterval", lambda interval: None)
    server.serve(served.config, "127.0.0.1", 8780, 1)
    assert given.get("access_log") is False, given
