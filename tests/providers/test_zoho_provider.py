"""ZohoProvider (reads, watermarks, reverse-direction writes) and reconcile_channels."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


from fakes import MemoryProvider
from reconciler.engine import Engine
from reconciler.http import RetryPolicy
from reconciler.model import Action, Address, Change
from reconciler.providers.zoho import ZohoProvider, reconcile_channels, zoho_fields
from reconciler.providers.zoho_client import Channel, ZohoClient
from reconciler.specs import Spec, load_spec, load_specs
from zoho_fixtures import GRADE_SPEC, ACCOUNTS, API_DOMAIN, BASE_ID, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, T0, FakeZoho, no_sleep, students

ROOT = Path(__file__).resolve().parents[2]
STUDENT: Spec = load_specs()["student"]
LINK: Spec = load_spec(ROOT / "tests" / "fixtures" / "specs" / "student_link.toml")
GRADE: Spec = GRADE_SPEC


class Marks:
    """An in-memory WatermarkStore."""

    def __init__(self) -> None:
        self.values: dict[str, datetime] = {}

    def get_watermark(self, kind: str) -> datetime | None:
        return self.values.get(kind)

    def set_watermark(self, kind: str, when: datetime) -> None:
        self.values[kind] = when


class Now:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


def provider(fake: FakeZoho, **kw: Any) -> ZohoProvider:
    client = ZohoClient(API_DOMAIN, ACCOUNTS, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, RetryPolicy(),
                        transport=fake.transport(), sleep=no_sleep)
    return ZohoProvider(client, **{"read_api": "list", **kw})  # the fake serves the list API only


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_engine_plans_from_the_provider_as_its_zoho_side() -> None:
    """The provider as the engine's source: one create per Zoho record, keyed by Zoho id, and
    once applied to an empty Moodle the re-plan is empty (its reads are stable and normalized)."""
    p = provider(FakeZoho().load("BTEC_Students", students(3)))
    moodle = MemoryProvider("moodle")
    engine = Engine({"student": STUDENT}, {"zoho": p, "moodle": moodle})

    async def scenario() -> tuple[list[str], str]:
        first = await engine.plan()
        await engine.apply(first)
        return [f"{c.action.verb} {c.address}" for c in first.changes], (await engine.plan()).summary.line

    planned, replanned = run(scenario())
    assert planned == [f"create student.{BASE_ID + i}" for i in range(1, 4)]
    assert replanned == "No changes."
    assert moodle.data["student"][str(BASE_ID + 2)]["student_id"] == "S-00002"


def test_zoho_fields_are_the_specs_zoho_names_only() -> None:
    names = zoho_fields(STUDENT)
    assert "Name" in names and "Modified_Time" in names and "id" not in names
    assert "Student_Moodle_ID" not in names  # moodle_user_id has no zoho name in the student spec
    assert zoho_fields(GRADE) == ["Grade", "Attempt_Number", "Grade_Status", "Moodle_Grade_Composite_Key"]


def test_full_read_maps_every_record_and_sets_watermarks() -> None:
    fake = FakeZoho().load("BTEC_Students", students(450))
    marks, now = Marks(), Now(T0 + timedelta(days=2))
    p = provider(fake, watermarks=marks, now=now)
    records = run(p.read(STUDENT))
    assert len(records) == 450
    rec = records[str(BASE_ID + 3)]
    assert rec.address == Address("student", str(BASE_ID + 3))
    assert rec.fields["student_id"] == "S-00003" and rec.fields["sub_major"] is None  # "-None-" normalized
    assert marks.values["student@full"] == now.when
    assert marks.values["student"] == now.when - timedelta(minutes=5)
    assert set(fake.api_requests()[0].url.params["fields"].split(",")) == set(zoho_fields(STUDENT))


def test_read_by_keys_uses_ids() -> None:
    fake = FakeZoho().load("BTEC_Students", students(20))
    p = provider(fake)
    keys = [str(BASE_ID + 2), str(BASE_ID + 9), "404"]
    assert set(run(p.read(STUDENT, keys))) == set(keys[:2])
    assert fake.api_requests()[0].url.params["ids"] == ",".join(sorted(keys))


def test_read_since_is_incremental_and_leaves_watermarks_alone() -> None:
    fake = FakeZoho().load("BTEC_Students", students(10))
    marks = Marks()
    p = provider(fake, watermarks=marks)
    got = run(p.read(STUDENT, since=T0 + timedelta(minutes=8)))
    assert sorted(got) == [str(BASE_ID + 9), str(BASE_ID + 10)]
    assert marks.values == {}


def test_read_changes_returns_changed_and_deleted_since_the_watermark() -> None:
    fake = FakeZoho().load("BTEC_Students", students(10))
    marks, now = Marks(), Now(T0 + timedelta(hours=1))
    p = provider(fake, watermarks=marks, now=now, watermark_overlap=timedelta(0))
    run(p.read(STUDENT))                                            # full read at T0+1h
    fake.modules["BTEC_Students"][str(BASE_ID + 4)]["Modified_Time"] = (T0 + timedelta(hours=2)).isoformat()
    fake.delete("BTEC_Students", str(BASE_ID + 6), T0 + timedelta(hours=2))
    now.when = T0 + timedelta(hours=3)
    changed, gone = run(p.read_changes(STUDENT))
    assert list(changed) == [str(BASE_ID + 4)] and gone == {str(BASE_ID + 6)}
    assert marks.values["student"] == T0 + timedelta(hours=3)
    ims = [r.headers.get("If-Modified-Since") for r in fake.api_requests()[-2:]]
    assert ims == [(T0 + timedelta(hours=1)).isoformat()] * 2
    changed, gone = run(p.read_changes(STUDENT))                   # nothing new: 304 and 204
    assert changed == {} and gone == set()


def test_read_changes_without_any_watermark_is_everything() -> None:
    fake = FakeZoho().load("BTEC_Students", students(3))
    fake.delete("BTEC_Students", str(BASE_ID + 1), T0)
    marks = Marks()
    changed, gone = run(provider(fake, watermarks=marks).read_changes(STUDENT))
    assert len(changed) == 2 and gone == {str(BASE_ID + 1)}
    assert "student@full" in marks.values


def test_full_refresh_is_due_after_the_configured_age() -> None:
    fake = FakeZoho().load("BTEC_Students", students(1))
    marks, now = Marks(), Now(T0)
    p = provider(fake, watermarks=marks, now=now, full_refresh_after=timedelta(hours=24))
    assert p.full_refresh_due(STUDENT)
    run(p.read(STUDENT))
    now.when = T0 + timedelta(hours=23)
    assert not p.full_refresh_due(STUDENT)
    run(p.read_changes(STUDENT))  # incremental reads do not reset the full-refresh clock
    now.when = T0 + timedelta(hours=24, minutes=1)
    assert p.full_refresh_due(STUDENT)
    assert provider(fake).full_refresh_due(STUDENT)  # no store: always due


def test_the_state_store_is_a_watermark_store(tmp_path: Path) -> None:
    from reconciler.state import StateStore

    store = StateStore(tmp_path / "mzi.sqlite")
    try:
        fake = FakeZoho().load("BTEC_Students", students(3))
        now = Now(T0 + timedelta(days=1))
        p = provider(fake, watermarks=store, now=now)
        run(p.read(STUDENT))
        assert store.get_watermark("student") == now.when - timedelta(minutes=5)
        now.when += timedelta(hours=1)
        assert not p.full_refresh_due(STUDENT)
        changed, gone = run(p.read_changes(STUDENT))
        assert changed == {} and gone == set()  # nothing modified since: 304 and 204
    finally:
        store.close()


# ---------------------------------------------------------------------- apply

def change(spec: Spec, action: Action, key: str, **after: Any) -> Change:
    return Change(action, Address(spec.kind, key), after=dict(after) if after else None)


def test_apply_updates_by_id_with_per_record_results() -> None:
    fake = FakeZoho().load("BTEC_Students", students(150))
    p = provider(fake)
    changes = [change(LINK, Action.UPDATE, str(BASE_ID + i), moodle_user_id=i) for i in range(1, 151)]
    changes.append(change(LINK, Action.UPDATE, "404", moodle_user_id=1))
    results = run(p.apply(LINK, changes))
    assert [r.address for r in results] == [c.address for c in changes]
    assert all(r.ok and r.status == "updated" for r in results[:-1])
    assert not results[-1].ok and results[-1].status == "INVALID_DATA" and "id" in results[-1].error
    sent = json.loads(fake.api_requests()[0].content)["data"][0]
    assert sent == {"id": str(BASE_ID + 1), "Student_Moodle_ID": 1}
    assert [len(json.loads(r.content)["data"]) for r in fake.api_requests()] == [100, 51]


def test_apply_refuses_create_by_id_and_hard_delete_per_record() -> None:
    fake = FakeZoho().load("BTEC_Students", students(2))
    results = run(provider(fake).apply(LINK, [
        change(LINK, Action.CREATE, "777", moodle_user_id=3),
        change(LINK, Action.DELETE, str(BASE_ID + 1)),
        change(LINK, Action.UPDATE, str(BASE_ID + 2), moodle_user_id=9),
    ]))
    assert [(r.ok, r.status) for r in results] == [(False, "skipped"), (False, "skipped"), (True, "updated")]


def test_apply_upserts_on_a_non_id_key_and_one_duplicate_fails_alone() -> None:
    fake = FakeZoho(unique={"BTEC_Grades": {"Moodle_Grade_Composite_Key", "Grade_Status"}})
    fake.load("BTEC_Grades", [{"id": "1", "Moodle_Grade_Composite_Key": "5_9", "Grade": "P", "Grade_Status": "Taken",
                               "Modified_Time": T0.isoformat()}])
    results = run(provider(fake).apply(GRADE, [
        change(GRADE, Action.UPDATE, "5_9", grade="M"),
        change(GRADE, Action.CREATE, "6_9", grade="D", grade_status="Taken"),
        change(GRADE, Action.CREATE, "7_9", grade="R"),
        change(GRADE, Action.DELETE, "5_9"),
    ]))
    assert [(r.ok, r.status) for r in results] == [
        (True, "updated"), (False, "DUPLICATE_DATA"), (True, "created"), (True, "deleted")]
    assert "Grade_Status" in results[1].error
    body = json.loads(fake.api_requests()[0].content)
    assert body["duplicate_check_fields"] == ["Moodle_Grade_Composite_Key"]
    assert {"Moodle_Grade_Composite_Key": "5_9", "Grade_Status": "Deleted"} in body["data"]


def test_apply_takes_duplicate_check_fields_as_an_argument() -> None:
    fake = FakeZoho(unique={"BTEC_Students": {"Academic_Email"}}).load("BTEC_Students", students(2))
    results = run(provider(fake).apply(LINK, [change(LINK, Action.UPDATE, str(BASE_ID + 1), moodle_user_id=4)],
                                       duplicate_check_fields=["Academic_Email"]))
    assert results[0].ok
    assert fake.api_requests()[0].url.path.endswith("/BTEC_Students/upsert")


# ---------------------------------------------------------------------- notifications

def test_reconcile_channels_enables_then_is_a_no_op_then_renews_and_disables() -> None:
    fake = FakeZoho()
    fake.channels[42] = {"channel_id": 42, "events": ["Leads.all"], "notify_url": "https://other.app/x"}  # not ours
    p = provider(fake)
    now = Now(datetime(2026, 3, 1, tzinfo=timezone.utc))
    expiry = now.when + timedelta(days=7)
    args = ("https://mzi.school/zoho/notify", "s3cret", 1_000, expiry)
    first = run(reconcile_channels(p.client, ["BTEC_Students", "BTEC_Classes"], *args, now=now))
    assert [(a.module, a.channel_id, a.action) for a in first] == [
        ("BTEC_Students", 1000, "enabled"), ("BTEC_Classes", 1001, "enabled")]
    assert fake.channels[1000]["events"] == ["BTEC_Students.all"] and fake.channels[1000]["token"] == "s3cret"

    calls = len(fake.api_requests())
    second = run(reconcile_channels(p.client, ["BTEC_Students", "BTEC_Classes"], *args, now=now))
    assert {a.action for a in second} == {"unchanged"}
    assert len(fake.api_requests()) == calls + 1  # only the listing

    now.when += timedelta(days=6, hours=13)  # within 12 h of expiry
    later = now.when + timedelta(days=7)
    third = run(reconcile_channels(p.client, ["BTEC_Students"], "https://mzi.school/zoho/notify", "s3cret", 1_000,
                                   later, now=now))
    assert [(a.module, a.action) for a in third] == [("BTEC_Students", "renewed"), ("BTEC_Classes", "disabled")]
    assert set(fake.channels) == {42, 1000}
    assert fake.channels[1000]["channel_expiry"] == later.isoformat()


def test_channel_body_carries_expiry_with_offset() -> None:
    body = Channel(5, ("BTEC_Students.all",), "https://x/y", "t", datetime(2026, 3, 1, 12, 0, 30, 999)).body()
    assert body == {"channel_id": 5, "events": ["BTEC_Students.all"], "notify_url": "https://x/y", "token": "t",
                    "channel_expiry": "2026-03-01T12:00:30+00:00"}
