"""`mzi events`, `mzi events retry` and `mzi status` read and steer the queue."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.events import Event
from reconciler.model import Address
from reconciler.queue import EventQueue, QueuePolicy
from reconciler.state import StateStore


def test_events_lists_dead_letters_and_retry_queues_them_again(tmp_path: Path) -> None:
    config = tmp_path / "mzi.toml"
    config.write_text('state_dir = "state"\n', encoding="utf-8")
    queue = EventQueue(StateStore(tmp_path / "state" / "mzi.sqlite"), QueuePolicy(debounce=0, max_attempts=1))
    queue.accept(Event("e1", "zoho", "updated", (Address("student", "1"), Address("student", "2"))))
    for item in queue.claim("w", 1):
        queue.fail(item, "w", "Moodle refused: invalid value")
    run = CliRunner().invoke
    listed = run(main, ["-c", str(config), "events", "--status", "dead"], catch_exceptions=False)
    assert listed.exit_code == 0 and "student.1" in listed.stdout and "Moodle refused" in listed.stdout, listed.output
    assert "student.2" not in listed.stdout
    status = run(main, ["-c", str(config), "status"], catch_exceptions=False)
    assert "1 to reconcile" in status.stdout and "1 dead letter(s)" in status.stdout, status.stdout
    missing = run(main, ["-c", str(config), "events", "retry", "student.9"])
    assert missing.exit_code == 1 and "no failed or dead target" in missing.output
    again = run(main, ["-c", str(config), "events", "retry", "--all-dead"], catch_exceptions=False)
    assert "1 dead letter(s) queued again" in again.stdout
    assert queue.item("student.1").status == "pending"  # type: ignore[union-attr]
