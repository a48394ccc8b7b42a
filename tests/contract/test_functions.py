"""Every function of docs/moodle-webservices.md, called over the REST protocol.

Runs against the emulator by default and against a real Moodle with ``local_mzi`` when
``MZI_MOODLE_URL``/``MZI_MOODLE_TOKEN`` are set (see conftest.py). Only web-service calls
are used; the schema (install.xml) is read because the contract derives the mirror
functions from it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from moodle_client import MoodleClient  # type: ignore[import-not-found]

from reconciler.sandbox.moodle import build_registry
from reconciler.sandbox.moodle.mirror import MirrorTable, mirror_table
from reconciler.schema.xmldb import load_schema

SCHEMA = load_schema()
REGISTRY = build_registry(SCHEMA)
MIRRORS = sorted(fn.mirror_table for fn in REGISTRY.values() if fn.name.startswith("local_mzi_upsert_"))
DELETE_POLICY = {  # the contract's table: column <- value, None = row removed
    "local_mzi_students": ("status", "Deleted"), "local_mzi_teachers": ("status", "Deleted"),
    "local_mzi_programs": ("status", "Disabled"), "local_mzi_units": ("status", "Deleted"),
    "local_mzi_registrations": ("registration_status", "Cancelled"), "local_mzi_installments": None,
    "local_mzi_payments": ("payment_status", "Voided"), "local_mzi_classes": ("class_status", "Cancelled"),
    "local_mzi_enrollments": ("status", "Withdrawn"), "local_mzi_grades": ("status", "Deleted"),
    "local_mzi_requests": ("status", "Cancelled"),
}
USER_CREATED = "\\core\\event\\user_created"


def mirror(name: str) -> MirrorTable:
    """The contract's view of a mirror table: its columns and its key."""
    table = mirror_table(SCHEMA.table(name))
    assert table is not None, f"install.xml gives {name} no key"
    return table


# ------------------------------------------------------------------ helpers

def short(table: str) -> str:
    return table.removeprefix("local_mzi_")


def is_exception(answer: Any, errorcode: str | tuple[str, ...]) -> bool:
    codes = (errorcode,) if isinstance(errorcode, str) else errorcode
    return isinstance(answer, dict) and answer.get("errorcode") in codes and "exception" in answer


def explain(answer: Any) -> str:
    """Message plus debuginfo: where Moodle names the offending field."""
    return f"{answer.get('message', '')} {answer.get('debuginfo', '')}" if isinstance(answer, dict) else str(answer)


def sample_columns(table: MirrorTable) -> dict[str, str]:
    """One plain char column, one number column, one int column (when the table has them)."""
    skip = set(table.key_columns) | {"id", "timecreated", "timemodified"}
    policy = DELETE_POLICY.get(table.name)
    if policy:
        skip.add(policy[0])
    chosen: dict[str, str] = {}
    for column in table.columns:
        if column.name in skip or column.name.startswith("moodle_"):
            continue
        kind = {"char": "char", "text": "char", "number": "number", "int": "int"}.get(column.type)
        if kind and kind not in chosen.values() and (column.type != "char" or (column.length or 99) >= 8):
            chosen[column.name] = kind
    return chosen


def sample_value(kind: str, variant: int) -> Any:
    return {"char": f"value{variant}", "number": f"{12 + variant}.5", "int": 7 + variant}[kind]


def make_key(table: MirrorTable, moodle: MoodleClient) -> tuple[dict[str, Any], str]:
    """Key column values for a fresh row and the contract's key text (``a:b`` when composite)."""
    values: dict[str, Any] = {}
    for name in table.key_columns:
        column = next(c for c in table.columns if c.name == name)
        values[name] = 1 if column.type == "int" else moodle.unique()
    return values, ":".join(str(v) for v in values.values())


def record(table: MirrorTable, key: dict[str, Any], variant: int = 0) -> dict[str, Any]:
    return key | {name: sample_value(kind, variant) for name, kind in sample_columns(table).items()}


def upsert(moodle: MoodleClient, table: MirrorTable, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return moodle.ok(f"local_mzi_upsert_{short(table.name)}", count=len(records), records=records)["results"]


def get_rows(moodle: MoodleClient, table: MirrorTable, keys: list[str]) -> dict[str, dict[str, Any]]:
    answer = moodle.ok(f"local_mzi_get_{short(table.name)}", keys=keys)
    return {":".join(str(r[c]) for c in table.key_columns): r for r in answer["records"]}


def same_text(kind: str, stored: Any, sent: Any) -> bool:
    if kind == "number":
        return float(stored) == float(sent)
    return str(stored) == str(sent)


# ------------------------------------------------------------------ mirror functions

@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_creates_and_a_repeat_is_unchanged_without_touching_timemodified(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    key, key_text = make_key(table, moodle)
    first = upsert(moodle, table, [record(table, key)])
    assert [(r["key"], r["status"]) for r in first] == [(key_text, "created")], first
    assert first[0]["id"] > 0 and first[0]["errorcode"] == "", first
    before = get_rows(moodle, table, [key_text])[key_text]
    for name, kind in sample_columns(table).items():
        assert same_text(kind, before[name], sample_value(kind, 0)), f"{table_name}.{name}: stored {before[name]!r}"
    assert before["timecreated"] > 0 and before["timemodified"] > 0, before
    again = upsert(moodle, table, [record(table, key)])
    assert [(r["status"], r["id"]) for r in again] == [("unchanged", first[0]["id"])], again
    after = get_rows(moodle, table, [key_text])[key_text]
    assert after["timemodified"] == before["timemodified"], f"an unchanged upsert moved timemodified: {before} -> {after}"


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_of_a_changed_value_updates_only_that_row(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    columns = sample_columns(table)
    if not columns:
        pytest.skip(f"{table_name} has no plain column to change")
    keys = [make_key(table, moodle) for _ in range(2)]
    upsert(moodle, table, [record(table, k) for k, _ in keys])
    results = upsert(moodle, table, [record(table, keys[0][0], variant=1), record(table, keys[1][0])])
    assert [r["status"] for r in results] == ["updated", "unchanged"], results
    row = get_rows(moodle, table, [keys[0][1]])[keys[0][1]]
    for name, kind in columns.items():
        assert same_text(kind, row[name], sample_value(kind, 1)), f"{table_name}.{name}: {row[name]!r}"


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_leaves_absent_columns_untouched_and_stores_empty_string_as_null(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    text_columns = [n for n, kind in sample_columns(table).items() if kind == "char"]
    others = [n for n, kind in sample_columns(table).items() if kind != "char"]
    if not text_columns:
        pytest.skip(f"{table_name} has no text column")
    key, key_text = make_key(table, moodle)
    upsert(moodle, table, [record(table, key)])
    upsert(moodle, table, [key | {text_columns[0]: ""}])
    row = get_rows(moodle, table, [key_text])[key_text]
    assert row[text_columns[0]] in (None, ""), f"empty string should store NULL, got {row[text_columns[0]]!r}"
    for name in others:
        assert row[name] is not None, f"{table_name}.{name} was not sent and must be kept, got {row[name]!r}"


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_batch_with_a_bad_record_still_answers_for_the_others(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    (k1, t1), (k2, t2) = make_key(table, moodle), make_key(table, moodle)
    results = upsert(moodle, table, [record(table, k1), record(table, k2), record(table, k1, variant=1)])
    assert [r["status"] for r in results[:2]] == ["created", "created"], results
    assert results[2]["status"] == "error" and results[2]["errorcode"] and results[2]["id"] == 0, \
        f"a key repeated within one batch must fail only that record: {results}"
    assert set(get_rows(moodle, table, [t1, t2])) == {t1, t2}


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_of_a_value_too_long_for_its_column_fails_only_that_record(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    column = next((c for c in table.columns if c.type == "char" and c.length and c.name not in table.key_columns), None)
    if column is None:
        pytest.skip(f"{table_name} has no char column with a length")
    (k1, _), (k2, _) = make_key(table, moodle), make_key(table, moodle)
    results = upsert(moodle, table, [k1 | {column.name: "x" * (column.length + 5)}, record(table, k2)])
    assert results[0]["status"] == "error" and results[1]["status"] == "created", results


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_without_the_key_column_is_invalidparameter(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    key, _ = make_key(table, moodle)
    bad = {k: v for k, v in record(table, key).items() if k != table.key_columns[0]}
    answer = moodle.call(f"local_mzi_upsert_{short(table_name)}", count=1, records=[bad])
    assert is_exception(answer, "invalidparameter"), answer


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_with_a_non_integer_count_names_the_field(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    key, _ = make_key(table, moodle)
    answer = moodle.call(f"local_mzi_upsert_{short(table_name)}", count="abc", records=[record(table, key)])
    assert is_exception(answer, "invalidparameter"), answer
    if moodle.is_emulator or "debuginfo" in answer:
        assert "count" in explain(answer), answer


@pytest.mark.parametrize("table_name", MIRRORS)
def test_upsert_whose_count_disagrees_is_refused_naming_max_input_vars(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    key, _ = make_key(table, moodle)
    answer = moodle.call(f"local_mzi_upsert_{short(table_name)}", count=2, records=[record(table, key)])
    assert is_exception(answer, "invalidparameter"), answer
    if moodle.is_emulator or "debuginfo" in answer:
        assert "max_input_vars" in explain(answer), answer


@pytest.mark.parametrize("table_name", MIRRORS)
def test_delete_applies_the_table_policy_then_is_unchanged_and_unknown_keys_are_notfound(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    key, key_text = make_key(table, moodle)
    upsert(moodle, table, [record(table, key)])
    missing = moodle.unique("missing")
    fn = f"local_mzi_delete_{short(table_name)}"
    results = moodle.ok(fn, keys=[key_text, missing])["results"]
    assert [(r["key"], r["status"]) for r in results] == [(key_text, "deleted"), (missing, "error")], results
    assert results[1]["errorcode"] == "notfound", results
    rows = get_rows(moodle, table, [key_text])
    policy = DELETE_POLICY[table_name]
    if policy is None:
        assert rows == {}, f"{table_name}: a delete removes the row, got {rows}"
    else:
        assert rows[key_text][policy[0]] == policy[1], f"{table_name}.{policy[0]} = {rows[key_text][policy[0]]!r}"
    repeat = moodle.ok(fn, keys=[key_text])["results"]
    expected = "error" if policy is None else "unchanged"
    assert repeat[0]["status"] == expected, repeat


@pytest.mark.parametrize("table_name", MIRRORS)
def test_get_pages_by_afterid_filters_keys_and_modifiedsince(moodle: MoodleClient, table_name: str) -> None:
    table = mirror(table_name)
    keys = [make_key(table, moodle) for _ in range(3)]
    created = upsert(moodle, table, [record(table, k) for k, _ in keys])
    texts = [t for _, t in keys]
    fn = f"local_mzi_get_{short(table_name)}"
    seen, afterid, pages = [], 0, 0
    while True:
        page = moodle.ok(fn, afterid=afterid, limit=1, keys=texts)
        pages += 1
        seen += [r["id"] for r in page["records"]]
        if not page["hasmore"]:
            break
        afterid = page["nextafterid"]
    assert seen == sorted(r["id"] for r in created) and pages == 3, (seen, pages)
    row = moodle.ok(fn, keys=texts[:1])["records"][0]
    assert set(table.column_names) <= set(row), f"columns missing from get: {set(table.column_names) - set(row)}"
    future = moodle.ok(fn, modifiedsince=row["timemodified"] + 3600, keys=texts)
    assert future["records"] == [] and future["hasmore"] is False, future


@pytest.mark.parametrize("table_name", MIRRORS)
def test_get_with_a_non_integer_or_out_of_range_limit_is_invalidparameter(moodle: MoodleClient, table_name: str) -> None:
    fn = f"local_mzi_get_{short(table_name)}"
    answer = moodle.call(fn, limit="abc")
    assert is_exception(answer, "invalidparameter"), answer
    if moodle.is_emulator or "debuginfo" in answer:
        assert "limit" in explain(answer), answer
    assert is_exception(moodle.call(fn, limit=5001), "invalidparameter")
    assert is_exception(moodle.call(fn, limit=0), "invalidparameter")


# ------------------------------------------------------------------ every function: token, capability, parameters

def minimal_params(name: str, moodle: MoodleClient) -> dict[str, Any]:
    """Valid parameters that change nothing lasting (or only a throwaway row)."""
    fn = REGISTRY[name]
    if fn.mirror_table:
        table = mirror(fn.mirror_table)
        if name.startswith("local_mzi_upsert_"):
            return {"count": 1, "records": [record(table, make_key(table, moodle)[0])]}
        if name.startswith("local_mzi_delete_"):
            return {"keys": [moodle.unique("missing")]}
        return {"limit": 1}
    return {
        "local_mzi_ensure_courses": {"courses": [{"idnumber": moodle.unique(), "fullname": "Contract course", "shortname": moodle.unique("S")}]},
        "local_mzi_get_courses": {"limit": 1},
        "local_mzi_get_enrolments": {"limit": 1},
        "local_mzi_get_assignment_grades": {"limit": 1},
        "local_mzi_get_grading_forms": {"limit": 1},
        "local_mzi_ensure_grading_forms": {"forms": [{"idnumber": moodle.unique("none"), "criteria": [
            {"shortname": "P1", "description": "Describe it.", "maxscore": "1"}]}]},
        "core_course_get_categories": {"criteria": [{"key": "id", "value": "1"}]},
        "local_mzi_set_enrolments": {"enrolments": [{"courseidnumber": moodle.unique("none"), "userid": 2, "role": "student", "action": "enrol"}]},
        "local_mzi_resolve_users": {"emails": ["nobody@example.invalid"]},
        "local_mzi_get_events": {"limit": 1},
        "local_mzi_retry_events": {"ids": [2_000_000_000]},
        "local_mzi_push_sync_status": {"statuses": [{"kind": "contracttest", "command": "plan", "status": "ok", "runid": 1,
                                                     "timefinished": 1, "creates": 0, "updates": 0, "deletes": 0, "blocked": 0,
                                                     "errors": 0, "drift": 0}]},
        "local_mzi_record_request_results": {"results": [{"requestid": 2_000_000_000, "zoho_request_id": "", "status": "sent", "message": ""}]},
        "local_mzi_submit_request": submitting_student(moodle)
        and {"request_type": "Student Card", "reason": "contract test"},
        "local_mzi_get_info": {},
        "core_webservice_get_site_info": {},
        "core_user_create_users": {"users": [new_user(moodle)]},
        "core_course_get_courses_by_field": {"field": "idnumber", "value": moodle.unique("none")},
    }[name]


def submitting_student(moodle: MoodleClient) -> str:
    """A student mirror row linked to the token's own user, who may then submit requests
    (``local_mzi_submit_request`` stores them for the caller's student row); its key."""
    userid = moodle.ok("core_webservice_get_site_info")["userid"]
    students = mirror("local_mzi_students")
    key, key_text = make_key(students, moodle)
    row = key | {"moodle_user_id": userid, "academic_email": f"{key_text}@example.invalid", "status": "Active"}
    assert upsert(moodle, students, [row])[0]["status"] in ("created", "updated"), "cannot link a student row"
    return key_text


def new_user(moodle: MoodleClient, email: str | None = None) -> dict[str, Any]:
    name = moodle.unique("u")
    return {"username": name, "firstname": "Contract", "lastname": "Test", "email": email or f"{name}@example.invalid",
            "password": "Contract-Test-1!", "auth": "manual"}


NO_CAPABILITY_NEEDED = {"local_mzi_get_info", "core_webservice_get_site_info", "core_course_get_courses_by_field",
                        "core_course_get_categories"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_function_answers_its_minimal_valid_call(moodle: MoodleClient, name: str) -> None:
    moodle.ok(name, **minimal_params(name, moodle))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_function_refuses_an_invalid_token(moodle: MoodleClient, name: str) -> None:
    answer = moodle.call(name, _token="not-a-token", **minimal_params(name, moodle))
    assert is_exception(answer, "invalidtoken"), answer
    assert answer["exception"] == "moodle_exception", answer


#: functions every logged-in user may call (db/access.php gives their capability to the ``user`` archetype)
ANY_USER = {"local_mzi_submit_request"}


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - NO_CAPABILITY_NEEDED - ANY_USER))
def test_every_function_refuses_a_user_without_the_capability(moodle: MoodleClient, name: str) -> None:
    limited = moodle.require_limited()
    answer = moodle.call(name, _token=limited, **minimal_params(name, moodle))
    assert is_exception(answer, ("nopermissions", "accessexception")), answer


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_function_refuses_an_unknown_parameter(moodle: MoodleClient, name: str) -> None:
    answer = moodle.call(name, **minimal_params(name, moodle), shoesize=42)
    assert is_exception(answer, "invalidparameter"), answer


def test_an_unknown_function_is_invalidrecord(moodle: MoodleClient) -> None:
    answer = moodle.call("local_mzi_no_such_function")
    assert is_exception(answer, ("invalidrecord", "accessexception")), answer


def test_get_info_reports_the_plugin_and_whether_the_caller_may_manage(moodle: MoodleClient) -> None:
    info = moodle.ok("local_mzi_get_info")
    assert info["component"] == "local_mzi" and info["version"] > 2020000000 and info["maxinputvars"] >= 1000, info
    assert info["canmanage"] is True, info
    limited = moodle.require_limited()
    assert moodle.call("local_mzi_get_info", _token=limited)["canmanage"] is False


def test_site_info_lists_every_contract_function_in_the_service(moodle: MoodleClient) -> None:
    info = moodle.ok("core_webservice_get_site_info")
    offered = {f["name"] for f in info["functions"]}
    missing = sorted(set(REGISTRY) - offered)
    assert not missing, f"the token's service lacks {missing}"


# ------------------------------------------------------------------ max_input_vars

def _upsert_form(moodle: MoodleClient, table: MirrorTable, count: int, records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from reconciler.providers.moodle import encode_php_params

    head = [("wstoken", moodle.token), ("wsfunction", f"local_mzi_upsert_{short(table.name)}"), ("moodlewsrestformat", "json")]
    return head + encode_php_params({"count": count, "records": records})


def test_a_request_over_max_input_vars_is_detected_through_count(moodle: MoodleClient) -> None:
    limit = moodle.ok("local_mzi_get_info")["maxinputvars"]
    table = mirror("local_mzi_students")
    per_record = 1 + len(sample_columns(table))
    n = (limit // per_record) + 20  # whole records beyond the limit get dropped by PHP
    records = [record(table, make_key(table, moodle)[0]) for _ in range(n)]
    answer = moodle.post(_upsert_form(moodle, table, n, records))
    assert is_exception(answer, "invalidparameter"), str(answer)[:300]
    if moodle.is_emulator or "debuginfo" in answer:
        assert "max_input_vars" in explain(answer), answer
    keys = [":".join(str(r[c]) for c in table.key_columns) for r in records[:5]]
    assert get_rows(moodle, table, keys) == {}, "a refused batch must write nothing"


def test_a_request_using_every_allowed_variable_is_refused_and_one_less_is_accepted(moodle: MoodleClient) -> None:
    """At exactly max_input_vars PHP may have cut the last record's fields: refused."""
    limit = moodle.ok("local_mzi_get_info")["maxinputvars"]
    table = mirror("local_mzi_students")
    key_column = table.key_columns[0]
    n = limit - 4  # wstoken, wsfunction, moodlewsrestformat, count + one variable per record
    records = [{key_column: moodle.unique()} for _ in range(n)]
    answer = moodle.post(_upsert_form(moodle, table, n, records))
    assert is_exception(answer, "invalidparameter"), str(answer)[:300]
    if moodle.is_emulator or "debuginfo" in answer:
        assert "max_input_vars" in explain(answer), answer
    answer = moodle.post(_upsert_form(moodle, table, n - 1, records[:-1]))
    assert isinstance(answer, dict) and len(answer.get("results", [])) == n - 1, str(answer)[:300]


# ------------------------------------------------------------------ users and the observer

def test_create_users_triggers_a_user_created_event_in_the_outbox(moodle: MoodleClient) -> None:
    last = moodle.ok("local_mzi_get_events", afterid=0, limit=1000)
    afterid = last["nextafterid"]
    while last["hasmore"]:
        last = moodle.ok("local_mzi_get_events", afterid=afterid, limit=1000)
        afterid = last["nextafterid"]
    created = moodle.ok("core_user_create_users", users=[new_user(moodle)])
    userid = created[0]["id"]
    events = moodle.ok("local_mzi_get_events", afterid=afterid, limit=1000)["events"]
    mine = [e for e in events if e["eventname"] == USER_CREATED and e["objectid"] == userid]
    assert len(mine) == 1, f"no user_created event for user {userid} among {events}"
    event = mine[0]
    assert event["relateduserid"] == userid and event["status"] in ("pending", "delivered", "failed"), event
    assert re.fullmatch(r"[0-9a-f]{64}", event["signature"] or ""), f"signature is not HMAC-SHA256 hex: {event['signature']!r}"
    dead = moodle.ok("local_mzi_get_events", afterid=afterid, status="dead", limit=1000)["events"]
    assert all(e["status"] == "dead" for e in dead), f"status filter 'dead' returned {[e['status'] for e in dead]}"
    assert event["id"] not in [e["id"] for e in dead], "a fresh event must not be dead"
    retried = moodle.ok("local_mzi_retry_events", ids=[event["id"], 2_000_000_000])["results"]
    assert [r["status"] for r in retried] == ["unchanged", "error"] and retried[1]["errorcode"] == "notfound", retried


def test_get_events_refuses_an_unknown_status_and_a_limit_out_of_range(moodle: MoodleClient) -> None:
    assert is_exception(moodle.call("local_mzi_get_events", limit=0), "invalidparameter")
    assert is_exception(moodle.call("local_mzi_get_events", limit=1001), "invalidparameter")
    assert is_exception(moodle.call("local_mzi_get_events", status="sleeping"), "invalidparameter")


def test_create_users_with_a_taken_username_is_invalidparameter(moodle: MoodleClient) -> None:
    user = new_user(moodle)
    moodle.ok("core_user_create_users", users=[user])
    assert is_exception(moodle.call("core_user_create_users", users=[user]), "invalidparameter")


def test_resolve_users_matches_email_case_insensitively_and_reports_unknowns(moodle: MoodleClient) -> None:
    name = moodle.unique("u")
    created = moodle.ok("core_user_create_users", users=[new_user(moodle, email=f"{name}.Mixed@Example.invalid")])
    asked = [f"{name}.mixed@example.INVALID", "nobody-at-all@example.invalid"]
    users = moodle.ok("local_mzi_resolve_users", emails=asked)["users"]
    assert users == [
        {"email": asked[0], "userid": created[0]["id"], "found": True, "multiple": False},
        {"email": asked[1], "userid": 0, "found": False, "multiple": False},
    ], users


# ------------------------------------------------------------------ courses and enrolments

def course(moodle: MoodleClient, idnumber: str, shortname: str, **extra: Any) -> dict[str, Any]:
    return {"idnumber": idnumber, "fullname": f"Class {idnumber}", "shortname": shortname,
            "startdate": 1767225600, "enddate": 1782864000, "visible": 1} | extra


def test_ensure_courses_creates_then_is_idempotent_then_updates(moodle: MoodleClient) -> None:
    idnumber, shortname = moodle.unique(), moodle.unique("S")
    first = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, shortname)])["results"]
    assert first[0]["status"] == "created" and first[0]["courseid"] > 0 and first[0]["key"] == idnumber, first
    again = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, shortname)])["results"]
    assert [(r["status"], r["courseid"]) for r in again] == [("unchanged", first[0]["courseid"])], again
    renamed = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, shortname, fullname="Renamed")])["results"]
    assert renamed[0]["status"] == "updated", renamed
    found = moodle.ok("core_course_get_courses_by_field", field="idnumber", value=idnumber)["courses"]
    assert [(c["id"], c["fullname"], c["shortname"]) for c in found] == [(first[0]["courseid"], "Renamed", shortname)], found


def test_ensure_courses_makes_a_taken_shortname_unique_deterministically(moodle: MoodleClient) -> None:
    shortname = moodle.unique("S")
    ids = [moodle.unique() for _ in range(3)]
    results = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, i, shortname) for i in ids])["results"]
    assert [r["status"] for r in results] == ["created"] * 3, results
    names = [moodle.ok("core_course_get_courses_by_field", field="idnumber", value=i)["courses"][0]["shortname"] for i in ids]
    assert names == [shortname, f"{shortname} (2)", f"{shortname} (3)"], names


def test_ensure_courses_writes_the_course_id_into_the_class_mirror(moodle: MoodleClient) -> None:
    classes = mirror("local_mzi_classes")
    key, key_text = make_key(classes, moodle)
    upsert(moodle, classes, [record(classes, key)])
    result = moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, key_text, moodle.unique("S"))])["results"][0]
    row = get_rows(moodle, classes, [key_text])[key_text]
    assert row["moodle_class_id"] == result["courseid"], row


def test_ensure_courses_reports_a_bad_record_and_creates_the_others(moodle: MoodleClient) -> None:
    good = moodle.unique()
    results = moodle.ok("local_mzi_ensure_courses", courses=[
        course(moodle, moodle.unique(), moodle.unique("S"), categoryid=2_000_000_000), course(moodle, good, moodle.unique("S"))])["results"]
    assert [r["status"] for r in results] == ["error", "created"] and results[0]["courseid"] == 0, results


def test_set_enrolments_enrols_then_is_unchanged_then_unenrols(moodle: MoodleClient) -> None:
    user = moodle.ok("core_user_create_users", users=[new_user(moodle)])[0]["id"]
    idnumber = moodle.unique()
    moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, moodle.unique("S"))])

    def run(action: str, role: str = "student") -> list[dict[str, Any]]:
        return moodle.ok("local_mzi_set_enrolments", enrolments=[
            {"courseidnumber": idnumber, "userid": user, "role": role, "action": action}])["results"]

    first = run("enrol")
    assert [(r["key"], r["status"]) for r in first] == [(f"{idnumber}:{user}:student", "enrolled")], first
    assert run("enrol")[0]["status"] == "unchanged"
    assert run("enrol", "editingteacher")[0]["status"] == "enrolled"
    assert run("suspend")[0]["status"] == "suspended"
    assert run("suspend")[0]["status"] == "unchanged"
    assert run("enrol")[0]["status"] == "enrolled", "enrolling a suspended user reactivates"
    assert run("unenrol")[0]["status"] == "unenrolled"
    assert run("unenrol")[0]["status"] == "unchanged"


def test_set_enrolments_reports_unknown_course_user_and_role_per_record(moodle: MoodleClient) -> None:
    user = moodle.ok("core_user_create_users", users=[new_user(moodle)])[0]["id"]
    idnumber = moodle.unique()
    moodle.ok("local_mzi_ensure_courses", courses=[course(moodle, idnumber, moodle.unique("S"))])
    results = moodle.ok("local_mzi_set_enrolments", enrolments=[
        {"courseidnumber": moodle.unique("none"), "userid": user, "role": "student", "action": "enrol"},
        {"courseidnumber": idnumber, "userid": 2_000_000_000, "role": "student", "action": "enrol"},
        {"courseidnumber": idnumber, "userid": user, "role": "headmaster", "action": "enrol"},
        {"courseidnumber": idnumber, "userid": user, "role": "student", "action": "enrol"},
    ])["results"]
    assert [r["status"] for r in results] == ["error", "error", "error", "enrolled"], results
    assert all(r["errorcode"] for r in results[:3]), results


def test_courses_by_field_finds_by_idnumber_and_refuses_an_unknown_field(moodle: MoodleClient) -> None:
    assert moodle.ok("core_course_get_courses_by_field", field="idnumber", value=moodle.unique("none"))["courses"] == []
    assert is_exception(moodle.call("core_course_get_courses_by_field", field="colour", value="x"), "invalidparameter")


# ------------------------------------------------------------------ sync status and request results

def test_push_sync_status_upserts_one_row_per_kind_and_command(moodle: MoodleClient) -> None:
    kind = moodle.unique("k")
    status = {"kind": kind, "command": "apply", "status": "ok", "runid": 41, "timefinished": 1767225600, "creates": 3,
              "updates": 1, "deletes": 0, "blocked": 0, "errors": 0, "drift": 2}
    first = moodle.ok("local_mzi_push_sync_status", statuses=[status])["results"]
    assert [(r["key"], r["status"]) for r in first] == [(f"{kind}:apply", "created")], first
    assert moodle.ok("local_mzi_push_sync_status", statuses=[status])["results"][0]["status"] == "unchanged"
    changed = moodle.ok("local_mzi_push_sync_status", statuses=[status | {"creates": 0}, status | {"command": "destroy"}])["results"]
    assert [r["status"] for r in changed] == ["updated", "error"], changed


@pytest.mark.parametrize("column,value", [("status", "failed"), ("status", "interrupted"), ("runid", 42)])
def test_push_sync_status_keeps_the_runs_outcome_and_id(moodle: MoodleClient, column: str, value: object) -> None:
    """The outcome and the run id are stored: pushing another one updates the row, the same one does not."""
    status = {"kind": moodle.unique("k"), "command": "plan", "status": "ok", "runid": 41, "timefinished": 1,
              "creates": 0, "updates": 0, "deletes": 0, "blocked": 0, "errors": 0, "drift": 0}
    moodle.ok("local_mzi_push_sync_status", statuses=[status])
    answers = [moodle.ok("local_mzi_push_sync_status", statuses=[status | {column: value}])["results"][0]["status"]
               for _ in range(2)]
    assert answers == ["updated", "unchanged"], answers


def test_push_sync_status_refuses_an_outcome_it_does_not_know(moodle: MoodleClient) -> None:
    status = {"kind": moodle.unique("k"), "command": "apply", "status": "partly", "runid": 1, "timefinished": 1,
              "creates": 0, "updates": 0, "deletes": 0, "blocked": 0, "errors": 0, "drift": 0}
    answer = moodle.ok("local_mzi_push_sync_status", statuses=[status])["results"]
    assert [(r["status"], r["errorcode"]) for r in answer] == [("error", "invalidvalue")], answer


def test_record_request_results_marks_a_request_sent_and_reports_unknown_ids(moodle: MoodleClient) -> None:
    requests = mirror("local_mzi_requests")
    key, key_text = make_key(requests, moodle)
    requestid = upsert(moodle, requests, [record(requests, key)])[0]["id"]
    item = {"requestid": requestid, "zoho_request_id": key_text, "status": "sent", "message": "ok"}
    first = moodle.ok("local_mzi_record_request_results", results=[item, item | {"requestid": 2_000_000_000}])["results"]
    assert [r["status"] for r in first] == ["updated", "error"] or [r["status"] for r in first] == ["unchanged", "error"], first
    assert first[1]["errorcode"] == "notfound", first
    assert moodle.ok("local_mzi_record_request_results", results=[item])["results"][0]["status"] == "unchanged"


def test_record_request_results_keeps_a_failed_send_and_its_reason_readable(moodle: MoodleClient) -> None:
    requests = mirror("local_mzi_requests")
    key, key_text = make_key(requests, moodle)
    requestid = upsert(moodle, requests, [record(requests, key)])[0]["id"]
    failed = {"requestid": requestid, "zoho_request_id": "", "status": "failed", "message": "MANDATORY_NOT_FOUND: Reason"}
    assert moodle.ok("local_mzi_record_request_results", results=[failed])["results"][0]["status"] == "updated"
    rows = moodle.ok("local_mzi_get_requests", keys=[key_text])["records"]
    (row,) = [r for r in rows if r["id"] == requestid]
    assert (row["sync_status"], row["sync_message"]) == ("failed", "MANDATORY_NOT_FOUND: Reason"), row
