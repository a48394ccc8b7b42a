"""Test-only fault injection for the Moodle emulator: slow writes.

Off unless ``MZI_SANDBOX_MOODLE_WRITE_DELAY_MS`` is set in the environment of the process
that serves the emulator (for the in-process transport: the ``mzi`` process itself). Tests
of an interrupted apply (``kill -9``, Ctrl-C) need writes slow enough to stop a run between
two batches. The delay comes before the write's transaction, as network time would, so a
batch either lands whole or not at all — the emulator, like Moodle, commits one call at
once. Never set it outside tests and benchmarks.
"""

from __future__ import annotations

import os

WRITE_DELAY_ENV = "MZI_SANDBOX_MOODLE_WRITE_DELAY_MS"


def write_delay_seconds() -> float:
    """The configured delay before each write call, in seconds (0 when unset)."""
    text = os.environ.get(WRITE_DELAY_ENV, "").strip()
    if not text:
        return 0.0
    try:
        millis = float(text)
    except ValueError:
        raise ValueError(f"{WRITE_DELAY_ENV}={text!r} is not a number of milliseconds") from None
    return max(0.0, millis) / 1000.0
