"""Shared test configuration.

Service-backed tests (MariaDB, PostgreSQL) skip with a reason when the server is not
reachable, unless MZI_REQUIRE_SERVICES=1 (set in .ci/run) turns the skip into a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests"))


def require_services() -> bool:
    return os.environ.get("MZI_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; fail instead when CI demands the services."""
    if require_services():
        pytest.fail(f"{reason} (MZI_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        skip_or_fail(f"the shared reference folder {SHARED} is not beside the repo")
    return SHARED
