"""`mzi apply --target` (the webhook worker's path) holds the apply lock shared and one lock
per address: side by side with other targeted applies, never on one record twice, never
during a full apply."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reconciler.config import load_config
from reconciler.model import Address
from reconciler.state import StateStore

if TYPE_CHECKING:
    from conftest import Workspace  # type: ignore[import-not-found]


def _one_student(workspace: "Workspace") -> str:
    plan = workspace.run("plan")
    return re.findall(r"^  \+ (student\.\d+)$", plan.output, flags=re.MULTILINE)[0]


def test_a_targeted_apply_waits_for_nobody_else_on_other_records_but_refuses_a_busy_one(workspace: "Workspace") -> None:
    student = _one_student(workspace)
    other = StateStore(load_config(workspace.config).state_location)
    with other.lock(shared=True), other.address_locks([Address.parse("student.1")]):
        side_by_side = workspace.run("apply", "--auto-approve", "--target", student)
        assert side_by_side.exit_code == 0, side_by_side.output
    with other.lock(shared=True), other.address_locks([Address.parse(student)]):
        busy = workspace.run("apply", "--auto-approve", "--target", student)
        assert busy.exit_code == 1 and f"{student} is being reconciled" in busy.output, busy.output
        full = workspace.run("apply", "--auto-approve")
        assert full.exit_code == 1 and "reconciling single records" in full.output, full.output
    with other.lock():
        during_full = workspace.run("apply", "--auto-approve", "--target", student)
        assert during_full.exit_code == 1 and "holds the apply lock" in during_full.output, during_full.output
    other.close()
