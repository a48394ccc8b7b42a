"""The CI drift-check recipe (docs/ci-drift-check.md) runs as documented against the sandbox."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: at run time `conftest` may be another folder's
    from conftest import Workspace  # type: ignore[import-not-found]


DOC = Path(__file__).resolve().parents[2] / "docs" / "ci-drift-check.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_workflow_runs_the_plan_command_of_the_tested_sequence() -> None:
    workflow = _blocks("yaml")[0]
    sequence = [line for line in _blocks("sh")[-1].splitlines() if line.startswith("mzi ")]
    assert f"mzi --log-format json {sequence[0].removeprefix('mzi ')} > plan.md" in workflow
    assert "schedule:" in workflow and "exit 1" in workflow


def test_drift_check_sequence_exits_2_with_a_markdown_plan_then_0_after_apply(workspace: Workspace) -> None:
    sequence = [shlex.split(line)[1:] for line in _blocks("sh")[-1].splitlines() if line.startswith("mzi ")]
    assert len(sequence) == 3
    first = workspace.run(*sequence[0])
    assert first.exit_code == 2, first.output
    assert first.stdout.startswith("### mzi plan: Plan: ") and "<details>" in first.stdout
    applied = workspace.run(*sequence[1])
    assert applied.exit_code == 0, applied.output
    second = workspace.run(*sequence[2])
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("### mzi plan: No changes.")
