"""Decimals compare at the scale Moodle stores them, so extra places in Zoho are no drift.

Zoho may hold ``3500.125``; the plugin stores it in a ``number(12,2)`` column as
``3500.13``. Unless both sides are rounded to the column's scale (from install.xml, the
one schema source) the same way, every run plans the same update again.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes import MemoryProvider
from reconciler.engine import Engine, Safety
from reconciler.http import RetryPolicy
from reconciler.mapping import record_from_moodle, record_from_zoho
from reconciler.normalize import to_decimal
from reconciler.providers.moodle import MoodleProvider
from reconciler.providers.zoho import zoho_fields
from reconciler.sandbox.moodle import SANDBOX_TOKEN, create_app
from reconciler.schema.xmldb import load_schema
from reconciler.specs import Spec, load_spec, load_specs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "specs"
REGISTRATION = load_spec(FIXTURES / "registration.toml")


@pytest.mark.parametrize(("value", "scale", "expected"), [
    ("3500.125", 2, "3500.13"), ("3500.124", 2, "3500.12"), ("-0.005", 2, "-0.01"), ("-0.004", 2, "0"),
    ("9.995", 2, "10"), ("-9.995", 2, "-10"), ("12.50", 2, "12.5"), ("2.5", 0, "3"), ("-2.5", 0, "-3"),
    ("1,250.125", 2, "1250.13"), (3500.125, 2, "3500.13"), ("1E-9", 2, "0"), ("1.005", 2, "1.01"),
])
def test_decimals_round_half_away_from_zero_to_the_scale(value: Any, scale: int, expected: str) -> None:
    assert to_decimal(value, scale) == expected


def test_without_a_scale_every_place_is_kept() -> None:
    assert to_decimal("3500.125") == "3500.125"
    assert to_decimal("0.1234567890123456789012345678901234") == "0.1234567890123456789012345678901234"


def test_the_scale_of_each_decimal_field_comes_from_install_xml() -> None:
    table = load_schema().table(REGISTRATION.moodle_table)
    scales = {m.name: m.scale for m in REGISTRATION.mappers}
    assert scales["total_fees"] == table.column("total_fees").decimals == 2
    assert scales["registration_number"] is None, "only decimal fields have a scale"


def test_a_decimal_kept_in_a_char_column_keeps_full_precision(tmp_path: Path) -> None:
    text = load_specs()["student"].path.read_text(encoding="utf-8").replace(
        'city                    = { zoho = "City", type = "string" }',
        'city                    = { zoho = "City", type = "decimal" }')
    assert 'type = "decimal"' in text
    (tmp_path / "student.toml").write_text(text, encoding="utf-8")
    spec = load_specs(tmp_path)["student"]
    mapper = next(m for m in spec.mappers if m.name == "city")
    assert mapper.scale is None and mapper.normalize("3500.125") == "3500.125"


def test_zoho_extra_places_equal_what_moodle_kept() -> None:
    raw = dict.fromkeys(zoho_fields(REGISTRATION)) | {"id": "R1", "Name": "REG-1", "Program_Price": "3,500.125",
                                                      "Remaining_Amount": 1250.005}
    zoho = record_from_zoho(REGISTRATION, raw)
    moodle = record_from_moodle(REGISTRATION, {"zoho_registration_id": "R1", "registration_number": "REG-1",
                                               "total_fees": "3500.13", "remaining_amount": "1250.01"})
    assert zoho.fields["total_fees"] == moodle.fields["total_fees"] == "3500.13"
    assert zoho.fields == moodle.fields, "no false drift from places Moodle does not keep"


def test_apply_of_extra_places_through_the_emulator_then_plan_is_empty(tmp_path: Path) -> None:
    # the fixture's subform column is not a column of local_mzi_registrations (installments are)
    text = "\n".join(line for line in (FIXTURES / "registration.toml").read_text(encoding="utf-8").splitlines()
                     if not line.startswith("schedule "))
    (tmp_path / "registration.toml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "registration.toml")
    raw = dict.fromkeys(zoho_fields(spec)) | {"id": "R1", "Name": "REG-1", "Program_Price": "3500.125",
                                                      "Remaining_Amount": "0.005"}
    desired = {"R1": record_from_zoho(spec, raw).fields}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "moodle.sqlite"
        app = create_app(db)
        try:
            changes = asyncio.run(_apply_then_plan(app, spec, desired))
            with sqlite3.connect(db) as conn:
                stored = conn.execute("SELECT total_fees, remaining_amount FROM mdl_local_mzi_registrations").fetchone()
        finally:
            app.state.db.close()
    assert changes == [], f"a re-plan after apply must be empty, got {changes}"
    assert [str(v) for v in stored] == ["3500.13", "0.01"], stored


async def _apply_then_plan(app: Any, spec: Spec, desired: dict[str, Any]) -> list[Any]:
    moodle = MoodleProvider("http://moodle.sandbox", SANDBOX_TOKEN, RetryPolicy(), transport=httpx.ASGITransport(app=app))
    try:
        engine = Engine({"registration": spec},
                        {"zoho": MemoryProvider("zoho", {"registration": desired}), "moodle": moodle}, Safety(1.0, 10**6))
        await engine.apply(await engine.plan())
        after = await engine.plan()
        return [(str(c.address), [(d.name, d.old, d.new) for d in c.deltas]) for c in after.changes]
    finally:
        await moodle.aclose()
