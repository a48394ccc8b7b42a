"""Shared test configuration.

Tests that need something from outside the repo (MariaDB, PostgreSQL, the shared
reference folder) skip with a reason when it is missing, unless MZI_REQUIRE_SERVICES=1
(set in .ci/run) turns the skip into a failure; ``needs.py`` holds how they ask.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from needs import require_services, skip_or_fail  # noqa: E402

__all__ = ["require_services", "skip_or_fail"]

#: property tests are reproducible: the same examples on every run and machine (CI has a
#: time budget, and a failure must be one anyone can rerun); counts stay per test
settings.register_profile("mzi", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("mzi")
