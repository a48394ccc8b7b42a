"""MoodleProvider against the Moodle emulator, in-process (httpx ASGI transport)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import MemoryProvider
from reconciler.engine import Engine
from reconciler.errors import AuthError, TerminalError, TransientError
from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Change
from reconciler.providers.moodle import MoodleError, MoodleProvider, count_vars, encode_php_params, form_body, pack
from reconciler.sandbox.moodle import SANDBOX_OUTBOX_SECRET, SANDBOX_TOKEN, create_app
from reconciler.sandbox.moodle.phpform import decode_php_form, php_view
from reconciler.specs import Spec, load_specs

SPEC: Spec = load_specs()["student"]
URL = "http://moodle.sandbox"


async def no_sleep(_: float) -> None:
    return None


class Recorder(httpx.AsyncBaseTransport):
    """Wraps the emulator: records each request's form pairs, can fail the first N with a status."""

    def __init__(self, inner: httpx.AsyncBaseTransport, fail_first: int = 0, status: int = 503) -> None:
        self.inner, self.fail_first, self.status = inner, fail_first, status
        self.forms: list[list[tuple[str, str]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode()
        if self.fail_first > 0:
            self.fail_first -= 1
            return httpx.Response(self.status, text="Service Unavailable")
        self.forms.append(parse_qsl(body, keep_blank_values=True))
        return await self.inner.handle_async_request(request)

    def functions(self) -> list[str]:
        return [dict(form)["wsfunction"] for form in self.forms]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "moodle.sqlite"


@pytest.fixture
def make_provider(db_path: Path) -> Callable[..., tuple[MoodleProvider, Recorder]]:
    app = create_app(db_path)

    def make(token: str = SANDBOX_TOKEN, fail_first: int = 0, status: int = 503, **kwargs: Any) -> tuple[MoodleProvider, Recorder]:
        recorder = Recorder(httpx.ASGITransport(app=app), fail_first, status)
        policy = RetryPolicy(concurrency=4, max_retries=kwargs.pop("max_retries", 3))
        return MoodleProvider(URL, token, policy, transport=recorder, sleep=no_sleep, **kwargs), recorder

    yield make
    app.state.db.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def api_log(db_path: Path) -> list[tuple[str, int, int, int]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT wsfunction, is_write, records, ok FROM mdl_mzi_api_log ORDER BY id").fetchall()


def student(i: int, **extra: Any) -> dict[str, Any]:
    """Desired fields of one student, already normalized (as the diff hands them over)."""
    return {
        "student_id": f"S-{i:05d}", "first_name": f"Layla{i}", "last_name": "Haddad", "display_name": f"Layla{i} Haddad",
        "academic_email": f"layla{i}@abc-horizon.example", "email": None, "phone_number": "+962 7 9000 0000",
        "address": "Street 1\nAmman", "city": "Amman", "nationality": "Jordanian", "date_of_birth": "2004-02-29",
        "gender": "Female", "status": "Active", "national_id": None, "major": "IT", "study_language": "العربية",
        "zoho_created_time": 1767225600, "zoho_modified_time": 1769326200 + i,
    } | extra


def creates(n: int, start: int = 0) -> list[Change]:
    return [Change(Action.CREATE, Address("student", str(5847596000000000000 + i)), after=student(i)) for i in range(start, start + n)]


# ------------------------------------------------------------------ read / apply

def test_the_engine_creates_through_the_provider_and_then_plans_nothing(make_provider) -> None:
    """The provider as the engine's Moodle side: plan, apply, re-plan — not just the method names."""
    provider, recorder = make_provider()
    desired = {str(5847596000000000000 + i): student(i) for i in range(3)}
    engine = Engine({"student": SPEC}, {"zoho": MemoryProvider("zoho", {"student": desired}), "moodle": provider})

    async def scenario() -> tuple[list[str], list[bool], str]:
        try:
            first = await engine.plan()
            results = await engine.apply(first)
            return [f"{c.action.verb} {c.address}" for c in first.changes], [r.ok for r in results], \
                (await engine.plan()).summary.line
        finally:
            await provider.aclose()

    planned, ok, replanned = run(scenario())
    assert planned == [f"create student.{k}" for k in sorted(desired)]
    assert ok == [True, True, True]
    assert replanned == "No changes.", "what the provider wrote does not read back as what was planned"
    assert recorder.functions() == ["local_mzi_get_students", "local_mzi_upsert_students", "local_mzi_get_students"]


def test_apply_then_read_gives_back_the_same_normalized_fields(make_provider) -> None:
    provider, _ = make_provider()
    changes = creates(5)
    results = run(provider.apply(SPEC, changes))
    assert [(r.ok, r.status) for r in results] == [(True, "created")] * 5, results
    records = run(provider.read(SPEC))
    assert sorted(records) == sorted(c.address.key for c in changes)
    for change in changes:
        got = records[change.address.key].fields
        differing = {k: (v, got.get(k)) for k, v in change.after.items() if got.get(k) != v}
        assert not differing, f"{change.address}: sent vs read back differ: {differing}"
        assert got["moodle_user_id"] is None  # Moodle-owned, never sent
    run(provider.aclose())


def test_a_second_apply_of_the_same_changes_is_unchanged_everywhere(make_provider, db_path: Path) -> None:
    provider, _ = make_provider()
    run(provider.apply(SPEC, creates(4)))
    again = run(provider.apply(SPEC, creates(4)))
    assert {r.status for r in again} == {"unchanged"} and all(r.ok for r in again), again
    run(provider.aclose())


def test_apply_never_sends_moodle_owned_fields(make_provider) -> None:
    provider, recorder = make_provider()
    change = Change(Action.CREATE, Address("student", "1"), after=student(1) | {"moodle_user_id": 99})
    run(provider.apply(SPEC, [change]))
    names = {name for name, _ in recorder.forms[0]}
    assert not any("moodle_user_id" in n for n in names), names
    run(provider.aclose())


def test_read_by_keys_and_since_returns_only_those_records(make_provider) -> None:
    provider, _ = make_provider()
    changes = creates(6)
    run(provider.apply(SPEC, changes))
    wanted = [changes[1].address.key, changes[4].address.key, "no-such-key"]
    assert sorted(run(provider.read(SPEC, keys=wanted))) == sorted(wanted[:2])
    assert run(provider.read(SPEC, keys=[])) == {}
    future = datetime(2100, 1, 1, tzinfo=timezone.utc)
    assert run(provider.read(SPEC, since=future)) == {}
    assert len(run(provider.read(SPEC, since=datetime(2000, 1, 1, tzinfo=timezone.utc)))) == 6
    run(provider.aclose())


def test_read_pages_through_afterid_at_the_page_size(make_provider) -> None:
    provider, recorder = make_provider(page_size=7)
    run(provider.apply(SPEC, creates(20)))
    recorder.forms.clear()
    assert len(run(provider.read(SPEC))) == 20
    assert recorder.functions() == ["local_mzi_get_students"] * 3, recorder.functions()
    run(provider.aclose())


def test_batches_respect_max_input_vars_and_count_goes_first(make_provider, db_path: Path) -> None:
    provider, recorder = make_provider(max_input_vars=200)
    changes = creates(60)
    results = run(provider.apply(SPEC, changes))
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    writes = [row for row in api_log(db_path) if row[1] == 1]
    per_record = len(changes[0].after) + 1  # the fields plus the key column
    assert len(writes) == -(-60 // ((200 - 10) // per_record)), f"{len(writes)} write calls for 60 records: {writes}"
    assert sum(row[2] for row in writes) == 60 and all(row[3] == 1 for row in writes), writes
    for form in recorder.forms:
        assert len(form) <= 200, f"a request carried {len(form)} form variables, over max_input_vars 200"
        params = [name for name, _ in form if name not in ("wstoken", "wsfunction", "moodlewsrestformat")]
        assert params[0] == "count", f"count must be sent first, got {params[:2]}"
    run(provider.aclose())


def test_deletes_apply_the_soft_policy_and_unknown_keys_fail_per_record(make_provider) -> None:
    provider, _ = make_provider()
    changes = creates(2)
    run(provider.apply(SPEC, changes))
    deletes = [Change(Action.DELETE, changes[0].address, after={"status": "Deleted"}),
               Change(Action.DELETE, Address("student", "404"), after={"status": "Deleted"})]
    results = run(provider.apply(SPEC, deletes))
    assert [(r.ok, r.status) for r in results] == [(True, "deleted"), (False, "error")], results
    assert results[1].error.startswith("notfound"), results[1]
    assert run(provider.read(SPEC, keys=[changes[0].address.key]))[changes[0].address.key].fields["status"] == "Deleted"
    run(provider.aclose())


def test_a_record_moodle_refuses_is_a_failed_result_and_the_rest_succeed(make_provider) -> None:
    provider, _ = make_provider()
    good = creates(2)
    too_long = Change(Action.CREATE, Address("student", "77"), after=student(77, city="x" * 5000))
    results = run(provider.apply(SPEC, [good[0], too_long, good[1]]))
    assert [r.ok for r in results] == [True, False, True], results
    assert results[1].status == "error" and results[1].error, results[1]
    run(provider.aclose())


def test_5xx_answers_are_retried_then_succeed(make_provider) -> None:
    provider, recorder = make_provider(fail_first=2)
    results = run(provider.apply(SPEC, creates(1)))
    assert results[0].ok and provider.client.stats.retries == 2, (results, provider.client.stats)
    run(provider.aclose())


def test_5xx_past_the_retry_budget_is_a_transient_error(make_provider) -> None:
    provider, _ = make_provider(fail_first=10, max_retries=2)
    with pytest.raises(TransientError):
        run(provider.read(SPEC))
    run(provider.aclose())


def test_an_invalid_token_raises_auth_error(make_provider) -> None:
    provider, _ = make_provider(token="wrong")
    with pytest.raises(AuthError, match="token"):
        run(provider.read(SPEC))
    run(provider.aclose())


def test_a_moodle_exception_is_a_terminal_error_naming_function_and_message(make_provider) -> None:
    provider, _ = make_provider()
    with pytest.raises(MoodleError) as caught:
        run(provider.call("local_mzi_get_students", {"limit": "abc"}))
    assert isinstance(caught.value, TerminalError) and not isinstance(caught.value, AuthError)
    assert caught.value.errorcode == "invalidparameter"
    assert "local_mzi_get_students" in str(caught.value) and "limit" in str(caught.value), str(caught.value)
    run(provider.aclose())


# ------------------------------------------------------------------ the engine's extras

def test_ensure_courses_set_enrolments_and_resolve_users_round_trip(make_provider, db_path: Path) -> None:
    provider, _ = make_provider()
    with sqlite3.connect(db_path) as conn:
        conn.executemany("INSERT INTO mdl_user (username, email, firstname, lastname) VALUES (?, ?, 'A', 'B')",
                         [("twin1", "twin@example.org"), ("twin2", "TWIN@example.org"), ("solo", "Solo@Example.org")])
        solo = conn.execute("SELECT id FROM mdl_user WHERE username = 'solo'").fetchone()[0]
    users = run(provider.resolve_users(["solo@example.org", "twin@example.org", "ghost@example.org"]))
    assert users == {"solo@example.org": solo, "twin@example.org": None, "ghost@example.org": None}, users
    courses = run(provider.ensure_courses([{"idnumber": "C1", "fullname": "Networking", "shortname": "NET"}]))
    assert [(c["key"], c["status"]) for c in courses] == [("C1", "created")], courses
    enrol = {"courseidnumber": "C1", "userid": solo, "role": "student", "action": "enrol"}
    assert [r["status"] for r in run(provider.set_enrolments([enrol, enrol]))] == ["enrolled", "unchanged"]
    status = {"kind": "student", "command": "plan", "status": "ok", "runid": 1, "timefinished": 1, "creates": 1, "updates": 0, "deletes": 0,
              "blocked": 0, "errors": 0, "drift": 0}
    assert [r["status"] for r in run(provider.push_sync_status([status]))] == ["created"]
    assert run(provider.get_info())["component"] == "local_mzi"
    assert "local_mzi_upsert_students" in {f["name"] for f in run(provider.site_info())["functions"]}
    run(provider.aclose())


def test_user_created_events_are_signed_with_hmac_sha256_of_the_payload(make_provider, db_path: Path) -> None:
    provider, _ = make_provider()
    user = {"username": "newbie", "firstname": "New", "lastname": "Bie", "email": "newbie@example.org", "password": "x"}
    created = run(provider.call("core_user_create_users", {"users": [user]}))
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM mdl_local_mzi_outbox WHERE objectid = ?", (created[0]["id"],)).fetchone()
    assert row is not None and row["eventname"] == "\\core\\event\\user_created"
    expected = hmac.new(SANDBOX_OUTBOX_SECRET.encode(), row["payload"].encode(), hashlib.sha256).hexdigest()
    assert row["signature"] == expected, "the signature is not HMAC-SHA256(secret, payload)"
    assert json.loads(row["payload"])["objectid"] == created[0]["id"]
    run(provider.aclose())


# ------------------------------------------------------------------ PHP form encoding

_names = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(_names, inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, _values, max_size=5))
def test_encoded_params_decode_like_php_to_the_same_values(params: dict[str, Any]) -> None:
    body = form_body(encode_php_params(params)).decode()
    decoded = decode_php_form(body).values
    assert decoded == php_view(params), f"{body!r} decoded to {decoded}"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(_names, _scalars, min_size=1, max_size=6), max_size=30), st.integers(20, 200))
def test_pack_keeps_every_batch_within_the_budget_and_loses_nothing(items: list[dict[str, Any]], budget: int) -> None:
    batches = pack(items, budget)
    assert [i for b in batches for i in b] == items
    assert all(sum(count_vars(i) for i in b) <= budget for b in batches)


def test_php_decoding_follows_php_variable_rules() -> None:
    form = decode_php_form("a=1&b.c=2&%20d=3&e[][]][]=4&f[x=5&g[]=6&g[]=7&g[5]=8&g[]=9&h=1&h[k]=2&i[k]=1&i=2&j[007]=x&j[7]=y")
    assert form.values == {
        "a": "1", "b_c": "2", "d": "3", "e": {0: {0: "4"}}, "f_x": "5", "g": {0: "6", 1: "7", 5: "8", 6: "9"},
        "h": {"k": "2"}, "i": "2", "j": {"007": "x", 7: "y"},
    }, form.values


def test_php_drops_variables_past_max_input_vars_and_too_deep_nesting() -> None:
    form = decode_php_form("count=3&r[0][k]=a&r[1][k]=b&r[2][k]=c", max_input_vars=3)
    assert form.values == {"count": "3", "r": {0: {"k": "a"}, 1: {"k": "b"}}} and form.dropped == 1
    deep = "x" + "[]" * 64 + "=1&y=2"
    assert decode_php_form(deep).values == {"y": "2"}


def test_names_php_cannot_carry_are_refused_by_the_encoder() -> None:
    for bad in ({"a[b]": 1}, {"a.b": 1}, {"": 1}, {"ok": {"x]": 1}}):
        with pytest.raises(ValueError):
            encode_php_params(bad)


def test_a_short_answer_in_one_batch_never_shifts_results_onto_other_batches(make_provider) -> None:
    """A batch whose answer comes back short fails only its own missing records."""
    provider, recorder = make_provider(max_input_vars=40)
    original = recorder.handle_async_request

    first_key = "5847596000000900000"

    async def drop_last_result_of_first_batch(request: httpx.Request) -> httpx.Response:
        sent = dict(parse_qsl((await request.aread()).decode(), keep_blank_values=True))
        response = await original(request)
        body = json.loads(await response.aread())
        if sent.get("records[0][zoho_student_id]") == first_key:
            body["results"] = body["results"][:-1]
        return httpx.Response(200, json=body)

    recorder.handle_async_request = drop_last_result_of_first_batch  # type: ignore[method-assign]
    changes = [Change(Action.CREATE, Address("student", f"58475960000009{i:05d}"), after={"city": f"City {i}"})
               for i in range(30)]
    results = run(provider.apply(SPEC, changes))
    failed = [r for r in results if not r.ok]
    assert len(recorder.forms) > 1, "the test needs several batches"
    assert len(failed) == 1 and failed[0].error == "Moodle returned no result for this record", failed
    batch_sizes = [sum(1 for k, _ in form if k.endswith("[zoho_student_id]")) for form in recorder.forms]
    first = next(i for i, form in enumerate(recorder.forms) if dict(form).get("records[0][zoho_student_id]") == first_key)
    first_batch_last = changes[batch_sizes[first] - 1].address
    assert failed[0].address == first_batch_last, (failed[0].address, first_batch_last)
