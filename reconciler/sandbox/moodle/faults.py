"""Fault injection for the Moodle emulator: what a real site does to a client on a bad day.

Like the Zoho emulator's (``sandbox/zoho/faults.py``), faults are data persisted in the
emulated site's own database (``mdl_config_plugins``, plugin ``mzi_sandbox``), so a test
or a benchmark in one process changes what a ``mzi apply`` in another process meets, and
every random decision is a pure function of ``(seed, request number)``: the same
sequence of calls meets the same faults, run after run. Setting faults restarts the
request count, so a run is reproducible from its seed alone.

Also kept: the older test-only write delay from the environment
(``MZI_SANDBOX_MOODLE_WRITE_DELAY_MS``), which slows every write of the process that
serves the emulator so an interrupted-apply test can stop a run between two batches.
Never set either outside tests and benchmarks.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..draws import check_rates, draw

WRITE_DELAY_ENV = "MZI_SANDBOX_MOODLE_WRITE_DELAY_MS"
#: where the faults and the request count live in the emulated site
PLUGIN = "mzi_sandbox"


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


@dataclass(frozen=True)
class MoodleFaults:
    """What to inflict on web-service calls.

    - ``latency_ms``: added to every call before it is answered.
    - ``error_rate``: fraction of calls answered ``HTTP 503`` by the web server before PHP
      runs (a restarting php-fpm): nothing is written.
    - ``timeout_rate``: fraction of calls that hang ``hang_seconds`` before they run —
      past the client's time limit, so it gives up (``sandbox/transport.py``).
    - ``lost_response_rate``: fraction of write calls that commit but whose answer is
      lost (the connection drops after the commit).
    - ``record_error_rate``: per record of a write batch, the chance it throws — and, as
      in Moodle, one exception inside an external function rolls the whole call back
      (``dml_write_exception`` naming the record).
    - ``seed``: the seed of every decision.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_seconds: float = 120.0
    lost_response_rate: float = 0.0
    record_error_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_rates(self, "error_rate", "timeout_rate", "lost_response_rate", "record_error_rate")
        if self.latency_ms < 0 or self.hang_seconds < 0:
            raise ValueError("latency_ms and hang_seconds must not be negative")

    @property
    def active(self) -> bool:
        return self != NO_FAULTS

    def _draw(self, rate: float, sequence: int, what: str) -> bool:
        return draw(self.seed, rate, sequence, what)

    def server_error(self, sequence: int) -> bool:
        """Whether call ``sequence`` is refused with a 503 before it runs."""
        return self._draw(self.error_rate, sequence, "error")

    def hangs(self, sequence: int) -> bool:
        """Whether call ``sequence`` hangs ``hang_seconds`` before it runs."""
        return self._draw(self.timeout_rate, sequence, "timeout")

    def loses_response(self, sequence: int) -> bool:
        """Whether write call ``sequence`` commits but its answer is lost."""
        return self._draw(self.lost_response_rate, sequence, "lost")

    def failing_record(self, sequence: int, records: int) -> int | None:
        """The index of the first record of write call ``sequence`` that throws, if any."""
        if self.record_error_rate <= 0:
            return None
        rng = random.Random(f"{self.seed}:{sequence}:record")
        return next((i for i in range(records) if rng.random() < self.record_error_rate), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "MoodleFaults":
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


NO_FAULTS = MoodleFaults()


def load_faults(conn: sqlite3.Connection) -> MoodleFaults:
    """The faults persisted in the site (none when never set)."""
    row = conn.execute("SELECT value FROM mdl_config_plugins WHERE plugin = ? AND name = 'faults'", (PLUGIN,)).fetchone()
    return MoodleFaults.from_json(row[0]) if row else NO_FAULTS


def save_faults(conn: sqlite3.Connection, faults: MoodleFaults) -> None:
    """Persist ``faults`` and restart the request count."""
    for name, value in (("faults", faults.to_json()), ("requests", "0")):
        conn.execute("INSERT INTO mdl_config_plugins (plugin, name, value) VALUES (?, ?, ?) "
                     "ON CONFLICT (plugin, name) DO UPDATE SET value = excluded.value", (PLUGIN, name, value))
    if conn.in_transaction:
        conn.commit()


def next_request(conn: sqlite3.Connection) -> int:
    """Count one more call under faults; one statement, so processes sharing the site
    continue one count."""
    row = conn.execute("INSERT INTO mdl_config_plugins (plugin, name, value) VALUES (?, 'requests', '1') "
                       "ON CONFLICT (plugin, name) DO UPDATE SET value = CAST(value AS INTEGER) + 1 "
                       "RETURNING value", (PLUGIN,)).fetchone()
    if conn.in_transaction:
        conn.commit()
    return int(row[0])


def count_injected(conn: sqlite3.Connection, kind: str) -> None:
    """Count one injected fault of ``kind`` (never reset: readers take differences)."""
    conn.execute("INSERT INTO mdl_config_plugins (plugin, name, value) VALUES (?, ?, '1') "
                 "ON CONFLICT (plugin, name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                 (PLUGIN, f"injected:{kind}"))
    if conn.in_transaction:
        conn.commit()


def injected(conn: sqlite3.Connection) -> dict[str, int]:
    """Faults injected so far, by kind: what a test reports."""
    rows = conn.execute("SELECT name, value FROM mdl_config_plugins WHERE plugin = ? AND name LIKE 'injected:%'",
                        (PLUGIN,)).fetchall()
    return {str(name).removeprefix("injected:"): int(value) for name, value in rows}
