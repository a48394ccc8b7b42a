"""What a test needs from outside the repo, and how it says so when that is missing.

Two kinds of outside things: the database services (MariaDB, PostgreSQL) and the shared
reference folder ``../shared/reference`` beside the repo (Zoho's OpenAPI files and the
org's field metadata export). A fresh clone has neither, and the README's test command
must still run there: a test that needs one skips with the reason, and CI sets
``MZI_REQUIRE_SERVICES=1`` so the same absence is a failure instead of a quiet green run.

Nothing here runs at import time; a test asks when it runs, so a module whose other tests
need nothing from outside still collects and runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_REFERENCE = SHARED / "reference"
OAS_DIR = SHARED_REFERENCE / "zoho-oas" / "v8.0"
SHARED_FIELDS_JSON = SHARED_REFERENCE / "zoho_fields.json"


def require_services() -> bool:
    return os.environ.get("MZI_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; fail instead when CI demands everything be present."""
    if require_services():
        pytest.fail(f"{reason} (MZI_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


def oas_dir() -> Path:
    """Zoho's OpenAPI folder, for tests that validate traffic against it (skips when absent)."""
    if not any(OAS_DIR.glob("*.json")):
        skip_or_fail(f"needs Zoho's OpenAPI files in {OAS_DIR} (the shared reference folder beside the repo)")
    return OAS_DIR


def shared_fields_json() -> Path:
    """The shared copy of the org's field export, for tests that compare against it (skips when absent)."""
    if not SHARED_FIELDS_JSON.is_file():
        skip_or_fail(f"needs the org's field export {SHARED_FIELDS_JSON} (the shared reference folder beside the repo)")
    return SHARED_FIELDS_JSON
