"""The webhook queue on SQLite: coalescing, retries with backoff, dead letters, taking work
back from a stopped process, and the operator's retry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.events import Event, Lookup, parse_moodle, parse_zoho, zoho_targets
from reconciler.model import Address
from reconciler.queue import EventQueue, QueuePolicy
from reconciler.specs import load_specs
from reconciler.state import StateStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _queue(tmp_path: Path, **policy: float) -> tuple[EventQueue, Clock]:
    clock = Clock()
    return EventQueue(StateStore(tmp_path / "s.sqlite"), QueuePolicy(**policy), clock), clock  # type: ignore[arg-type]


def _event(n: int, *targets: str) -> Event:
    return Event(f"e{n}", "zoho", "updated", tuple(Address.parse(t) for t in targets))


def test_events_for_one_address_wait_for_the_last_but_never_past_the_max_delay(tmp_path: Path) -> None:
    queue, clock = _queue(tmp_path, debounce=2, max_delay=5)
    queue.accept(_event(1, "student.1"))
    clock.now += 1.5
    queue.accept(_event(2, "student.1"))
    assert queue.claim("w", 10) == [] and queue.next_due() == clock.now + 2
    clock.now += 1.5
    queue.accept(_event(3, "student.1"))
    assert queue.next_due() == 1_000_005.0, "capped at max_delay after the first event"
    clock.now = 1_000_005.0
    [item] = queue.claim("w", 10)
    assert item.events == 3


def test_a_failing_address_backs_off_exponentially_then_becomes_a_dead_letter(tmp_path: Path) -> None:
    queue, clock = _queue(tmp_path, debounce=0, max_attempts=3, retry_base=10, retry_max=1000)
    queue.accept(_event(1, "student.1"))
    delays = []
    for _ in range(3):
        [item] = queue.claim("w", 10)
        status = queue.fail(item, "w", "Moodle said no")
        delays.append((queue.next_due() or clock.now) - clock.now)
        clock.now += 10_000
    assert status == "dead" and queue.stats().dead == 1
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20, delays  # base·2^(n-1), half of it jitter
    assert queue.claim("w", 10) == []
    assert queue.retry("student.1") and queue.claim("w", 10)[0].attempts == 1


def test_a_new_event_revives_a_dead_letter_and_retry_all_dead_does_too(tmp_path: Path) -> None:
    queue, clock = _queue(tmp_path, debounce=0, max_attempts=1)
    queue.accept(_event(1, "student.1", "student.2"))
    for item in queue.claim("w", 10):
        queue.fail(item, "w", "boom")
    assert queue.stats().dead == 2
    queue.accept(_event(2, "student.1"))
    assert queue.item("student.1").status == "pending"  # type: ignore[union-attr]
    assert queue.retry_dead() == 1 and queue.stats().dead == 0


def test_a_busy_lock_defers_without_counting_an_attempt(tmp_path: Path) -> None:
    queue, clock = _queue(tmp_path, debounce=0)
    queue.accept(_event(1, "student.1"))
    [item] = queue.claim("w", 10)
    queue.defer(item, "w", 1.0, "locked")
    clock.now += 1
    assert queue.claim("w", 10)[0].attempts == 1


def test_work_claimed_by_a_process_that_died_is_taken_back(tmp_path: Path) -> None:
    queue, clock = _queue(tmp_path, debounce=0, reclaim_after=60)
    queue.accept(_event(1, "student.1", "student.2"))
    import socket

    dead = f"{socket.gethostname()}:999999999:0"  # no such pid
    other_host = "elsewhere:123:0"
    first, second = queue.claim(dead, 1), queue.claim(other_host, 1)
    assert first and second
    taken = queue.reap("me:1", lambda t: True)
    assert taken == [first[0].target], "another host's claim is young: left alone"
    clock.now += 61
    assert queue.reap("me:1", lambda t: True) == [second[0].target]


def test_a_zoho_record_names_every_kind_of_its_module_and_a_subform_kind_by_parent() -> None:
    specs = load_specs()
    assert zoho_targets(specs, "BTEC_Registrations", "9") == (Address("installment", "9"), Address("registration", "9"))
    assert zoho_targets(specs, "BTEC_Classes", "4") == (Address("class", "4"), Address("course", "4"),
                                                        Address("grading_form", "4"), Address("teacher_enrolment", "4"))


def test_a_notification_names_each_id_and_has_a_stable_event_id() -> None:
    specs = load_specs()
    body = {"module": "BTEC_Students", "ids": ["2", "1"], "operation": "update", "channel_id": 1000000,
            "token": "t", "server_time": 1700000000000, "query_params": {}, "resource_uri": "x"}
    event = parse_zoho(json.dumps(body).encode(), specs)
    assert [str(t) for t in event.targets] == ["student.1", "student_user.1", "student.2", "student_user.2"]
    assert event.event_id == parse_zoho(json.dumps(body).encode(), specs).event_id
    assert "token" not in event.payload


@pytest.mark.parametrize(("payload", "targets"), [
    ({"eventname": "\\core\\event\\user_created", "objectid": 42, "relateduserid": 42},
     ["student_user?moodle_user=42", "teacher_user?moodle_user=42",
      "student_link?moodle_user=42", "teacher_link?moodle_user=42"]),
    ({"eventname": "\\core\\event\\user_enrolment_created", "objectid": 5, "relateduserid": 42, "courseid": 7},
     ["enrolment?course_user=7:42", "teacher_enrolment?course=7"]),
    ({"eventname": "\\mod_assign\\event\\submission_graded", "cmid": 3, "relateduserid": 42}, []),
    ({"eventname": "\\local_mzi\\event\\request_submitted", "objectid": 7, "request_number": "MDL-7"},
     ["outbound_request.MDL-7"]),
    ({"eventname": "\\local_mzi\\event\\request_submitted", "objectid": 7}, ["outbound_request.MDL-7"]),
])
def test_moodle_events_map_through_the_table_to_the_kinds_that_exist(payload: dict[str, object],
                                                                     targets: list[str]) -> None:
    event = parse_moodle(json.dumps(payload).encode(), load_specs(), "moodle-1")
    assert [str(t) for t in event.targets] == targets and event.event_id == "moodle:moodle-1"


def test_a_reverse_kind_plugs_in_with_its_spec() -> None:
    specs = load_specs(Path(__file__).resolve().parents[1] / "fixtures" / "specs")
    event = parse_moodle(json.dumps({"eventname": "\\core\\event\\user_updated", "objectid": 9}).encode(), specs)
    assert Lookup("student_link", "moodle_user", "9") in event.targets
