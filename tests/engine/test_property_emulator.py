"""Property test through the Moodle emulator: no false drift survives the round trip.

The memory fake stores values as given; the emulator stores them the way Moodle does
(form-encoded strings, NULL for empty, SQLite types). For random student field values —
Arabic text, padded strings, mixed-case emails, dates, datetimes in several zones,
picklist ``-None-`` — apply then plan must be empty, and a second apply must write
nothing.

The typed properties (``typed_values.py``) cover every FieldType on two probe specs over
install.xml columns: each value is drawn with two Zoho spellings of the same meaning.
(a) Moodle filled from one spelling, a plan from the other is empty (no false drift);
after an apply over any earlier Moodle state, a re-plan is empty; (b) a second apply
writes nothing; (c) the plan is deterministic — the same changes whatever the spelling
or the order the records come in. Decimals are drawn up to the column's scale there;
one property draws them past it (Zoho's ``3500.125`` for a ``number(12,2)`` column).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.http import RetryPolicy
from reconciler.mapping import record_from_zoho
from reconciler.providers.moodle import MoodleProvider
from reconciler.providers.zoho import zoho_fields
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.model import Change
from reconciler.specs import Spec, load_specs
from typed_values import PROBES, payment_pair, probe_problems, request_pair, state_pair

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


@settings(max_examples=25)
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


# ---------------------------------------------------------------------- every field type

Raw = dict[str, dict[str, dict[str, Any]]]  # kind → Zoho id → raw Zoho record
NO_GUARD = Safety(1.0, 10**6)
TYPED_EXAMPLES = 30


def typed_states(beyond_scale: bool = False) -> st.SearchStrategy[tuple[Raw, Raw]]:
    """Two spellings of the same Zoho state of both probe kinds."""
    return st.tuples(state_pair(payment_pair(beyond_scale)), state_pair(request_pair(beyond_scale))).map(
        lambda pr: ({"payment_probe": pr[0][0], "request_probe": pr[1][0]},
                    {"payment_probe": pr[0][1], "request_probe": pr[1][1]}))


def normalized(raw: Raw, *, reverse: bool = False) -> dict[str, dict[str, dict[str, Any]]]:
    """The Zoho side as ZohoProvider hands it over (record_from_zoho), optionally in reverse order."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind, rows in raw.items():
        items = list(rows.items())[::-1] if reverse else list(rows.items())
        out[kind] = {k: record_from_zoho(PROBES[kind], row).fields for k, row in items}
    return out


def changes_of(changes: list[Change]) -> list[tuple[str, str, Any]]:
    """What a plan would do, comparable and printable."""
    return [(c.action.verb, str(c.address), [(d.name, d.old, d.new) for d in c.deltas]) for c in changes]


class Emulated:
    """A fresh Moodle emulator, the real MoodleProvider over its ASGI transport, engines over it."""

    def __init__(self, tmp: str) -> None:
        self.db = Path(tmp) / "moodle.sqlite"
        self.app = create_app(self.db)
        self.moodle = MoodleProvider("http://moodle.sandbox", SANDBOX_TOKEN, RetryPolicy(),
                                     transport=httpx.ASGITransport(app=self.app))

    def engine(self, zoho_rows: dict[str, dict[str, dict[str, Any]]], specs: dict[str, Spec] = PROBES) -> Engine:
        return Engine(specs, {"zoho": MemoryProvider("zoho", zoho_rows), "moodle": self.moodle}, NO_GUARD)

    async def seed(self, zoho_rows: dict[str, dict[str, dict[str, Any]]]) -> None:
        engine = self.engine(zoho_rows)
        await engine.apply(await engine.plan())

    def writes(self) -> int:
        return _writes(self.db)

    async def close(self) -> None:
        await self.moodle.aclose()
        self.app.state.db.close()


def on_emulator(scenario: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        emulated = Emulated(tmp)

        async def run() -> None:
            try:
                await scenario(emulated)
            finally:
                await emulated.close()

        asyncio.run(run())


def test_the_probe_specs_cover_every_field_type_on_columns_that_hold_it() -> None:
    assert probe_problems() == []


@settings(max_examples=TYPED_EXAMPLES)
@given(typed_states())
def test_moodle_filled_from_one_spelling_plans_nothing_for_another(spellings: tuple[Raw, Raw]) -> None:
    first, second = spellings

    async def scenario(emulated: Emulated) -> None:
        await emulated.seed(normalized(first))
        plan = await emulated.engine(normalized(second)).plan()
        assert changes_of(plan.changes) == [], "a respelling of the same values planned changes"

    on_emulator(scenario)


def _apply_replan_reapply(spellings: tuple[Raw, Raw], earlier: tuple[Raw, Raw]) -> None:
    desired = normalized(spellings[0])

    async def scenario(emulated: Emulated) -> None:
        await emulated.seed(normalized(earlier[1]))
        engine = emulated.engine(desired)
        await engine.apply(await engine.plan())
        replanned = await emulated.engine(normalized(spellings[1])).plan()
        assert changes_of(replanned.changes) == [], "after apply, a re-plan still has changes (false drift)"
        writes = emulated.writes()
        await engine.apply(await engine.plan())
        assert emulated.writes() == writes, f"a second apply made {emulated.writes() - writes} writes"

    on_emulator(scenario)


@settings(max_examples=TYPED_EXAMPLES)
@given(typed_states(), typed_states())
def test_after_apply_every_field_type_replans_empty_and_reapply_writes_nothing(spellings: tuple[Raw, Raw],
                                                                                earlier: tuple[Raw, Raw]) -> None:
    _apply_replan_reapply(spellings, earlier)


@settings(max_examples=TYPED_EXAMPLES)
@given(typed_states(), typed_states())
def test_the_plan_is_the_same_whatever_the_spelling_or_record_order(spellings: tuple[Raw, Raw],
                                                                     earlier: tuple[Raw, Raw]) -> None:
    async def scenario(emulated: Emulated) -> None:
        await emulated.seed(normalized(earlier[0]))
        once = await emulated.engine(normalized(spellings[0])).plan()
        again = await emulated.engine(normalized(spellings[1], reverse=True)).plan()
        assert changes_of(again.changes) == changes_of(once.changes)
        assert [c.after for c in again.changes] == [c.after for c in once.changes]

    on_emulator(scenario)


@settings(max_examples=TYPED_EXAMPLES)
@given(typed_states(beyond_scale=True), typed_states(beyond_scale=True))
def test_decimals_finer_than_the_column_scale_replan_empty_and_reapply_writes_nothing(spellings: tuple[Raw, Raw],
                                                                                       earlier: tuple[Raw, Raw]) -> None:
    """Zoho may send 3500.125 for a number(12,2) column, which keeps 3500.13: no update every run."""
    _apply_replan_reapply(spellings, earlier)
