"""Property test through the Moodle emulator: no false drift survives the round trip.

The memory fake stores values as given; the emulator stores them the way Moodle does
(form-encoded strings, NULL for empty, SQLite types). For random student field values —
Arabic text, padded strings, mixed-case emails, dates, datetimes in several zones,
picklist ``-None-`` — apply then plan must be empty, and a second apply must write
nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.http import RetryPolicy
from reconciler.mapping import record_from_zoho
from reconciler.providers.moodle import MoodleProvider
from reconciler.providers.zoho import zoho_fields
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.specs import load_specs

SPEC = load_specs()["student"]
text = st.one_of(st.none(), st.just(""), st.just("-None-"),
                 st.text(alphabet="abc محمدعلي -'", min_size=1, max_size=12))
emails = st.one_of(st.none(), st.builds(lambda a, b: f"{a}@{b}.EDU.jo", st.sampled_from(["Ali", "lina.H"]),
                                        st.sampled_from(["ABC", "abchorizon"])))
zones = st.sampled_from(["+03:00", "Z", "-05:30"])
stamps = st.builds(lambda day, hour, zone: f"2026-0{day}-1{day}T1{hour}:30:00{zone}", st.integers(1, 9),
                   st.integers(0, 9), zones)
dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))


def zoho_student(key: str, draw_values: dict[str, Any]) -> dict[str, Any]:
    """As Zoho answers: every requested field present, null when empty."""
    return {"id": key, **dict.fromkeys(zoho_fields(SPEC)), **draw_values}


students = st.dictionaries(
    st.sampled_from(["5847596000000000001", "5847596000000000002", "5847596000000000003"]),
    st.fixed_dictionaries({"First_Name": text, "City": text, "Academic_Email": emails, "Birth_Date": dates,
                           "Gender": st.sampled_from(["-None-", "Male", "Female"]), "Modified_Time": stamps,
                           "Address": text}),
    min_size=1, max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(students, students)
def test_apply_through_the_emulator_then_plan_is_empty_and_reapply_writes_nothing(desired_raw, moodle_first) -> None:
    desired = {k: record_from_zoho(SPEC, zoho_student(k, v)).fields for k, v in desired_raw.items()}
    earlier = {k: record_from_zoho(SPEC, zoho_student(k, v)).fields for k, v in moodle_first.items()}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "moodle.sqlite"
        app = create_app(db)
        try:
            asyncio.run(_scenario(app, db, desired, earlier))
        finally:
            app.state.db.close()


async def _scenario(app: Any, db: Path, desired: dict[str, Any], earlier: dict[str, Any]) -> None:
    moodle = MoodleProvider("http://moodle.sandbox", SANDBOX_TOKEN, RetryPolicy(), transport=httpx.ASGITransport(app=app))
    no_guard = Safety(1.0, 10**6)
    try:
        seed = Engine({"student": SPEC}, {"zoho": MemoryProvider("zoho", {"student": earlier}), "moodle": moodle}, no_guard)
        await seed.apply(await seed.plan())
        engine = Engine({"student": SPEC}, {"zoho": MemoryProvider("zoho", {"student": desired}), "moodle": moodle}, no_guard)
        await engine.apply(await engine.plan())
        after = await engine.plan()
        assert not after.summary.has_changes, [(str(c.address), [(d.name, d.old, d.new) for d in c.deltas]) for c in after.changes]
        writes = _writes(db)
        await engine.apply(await engine.plan())
        assert _writes(db) == writes, "a second apply wrote to the emulator"
    finally:
        await moodle.aclose()


def _writes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM mdl_mzi_api_log WHERE is_write = 1").fetchone()[0]
