"""The reliability suite's knobs, marker and report.

Every test here is marked ``reliability``. The default run (CI) takes a small sample;
the dedicated run sets the size:

    MZI_RELIABILITY_RUNS=200 .venv/bin/python -m pytest -m reliability tests/reliability -q

- ``MZI_RELIABILITY_RUNS``: fault-matrix examples (default 6); crash points default to a
  quarter of it (at least 3), ``MZI_RELIABILITY_CRASH_POINTS`` overrides.
- ``MZI_RELIABILITY_SEED``: the seed of everything random (default 14); the run prints
  it, and the same seed replays the same examples, faults and kill points.
- ``MZI_RELIABILITY_SUMMARY``: a JSON file to write the figures to (docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reliability_figures import FIGURES, SEED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability")
    terminalreporter.write_line(f"seed {SEED} (MZI_RELIABILITY_SEED={SEED} replays this run)")
    for name, value in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(value, sort_keys=True)}")
    target = os.environ.get("MZI_RELIABILITY_SUMMARY")
    if target:
        Path(target).write_text(json.dumps({"seed": SEED, **FIGURES}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"figures written to {target}")
