"""Normalization: every spelling of one value compares equal; garbage is refused."""

from __future__ import annotations

import pytest

from reconciler.normalize import NormalizeError, normalize


@pytest.mark.parametrize(
    ("field_type", "a", "b"),
    [
        ("string", None, ""),
        ("picklist", "-None-", None),
        ("string", "  Amman ", "Amman"),
        ("email", "Ali.Saleh@ABCHorizon.edu.jo", "ali.saleh@abchorizon.edu.jo"),
        ("decimal", 12.5, "12.50"),
        ("decimal", "1,250.00", 1250),
        ("decimal", "100", "1E+2"),
        ("int", "42", 42.0),
        ("datetime", "2026-01-25T10:30:00+03:00", "2026-01-25T07:30:00Z"),
        ("datetime", "2026-01-25T10:30:00+03:00", 1769326200),
        ("date", "2005-03-01", "2005-03-01T00:00:00+03:00"),
        ("json", '{"b": 1, "a": [1, 2]}', {"a": [1, 2], "b": 1}),
        ("json", "[]", None),
        ("json", {"a": ""}, None),  # an object of empties is empty: Moodle stores "{}" and reads it back as NULL
        ("json", '{"a": "-None-", "b": null}', "{}"),
        ("bool", "true", 1),
    ],
)
def test_equivalent_spellings_normalize_equal(field_type: str, a: object, b: object) -> None:
    assert normalize(field_type, a) == normalize(field_type, b), f"{a!r} and {b!r} differ as {field_type}"


@pytest.mark.parametrize(
    ("field_type", "value"),
    [("decimal", "abc"), ("int", "1.5"), ("date", "01/02/2026"), ("datetime", "2026-01-25T10:30:00"), ("json", "{nope")],
)
def test_unreadable_values_raise_normalize_error(field_type: str, value: object) -> None:
    with pytest.raises(NormalizeError):
        normalize(field_type, value)


def test_distinct_values_stay_distinct() -> None:
    assert normalize("decimal", "12.5") != normalize("decimal", "12.05")
    assert normalize("datetime", "2026-01-25T10:30:00+03:00") != normalize("datetime", "2026-01-25T10:30:00+02:00")
