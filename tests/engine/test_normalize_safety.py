"""Normalization refuses what it cannot read, never guesses, never crashes, never leaks.

Every normalizer, given anything at all, returns a value of its canonical type or raises
NormalizeError; ambiguous amounts are errors, not guesses; and the error a record read
produces names the field and rule but shows the value only for a non-sensitive field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.mapping import MappingError, record_from_moodle, record_from_zoho
from reconciler.model import Address
from reconciler.normalize import NORMALIZERS, NormalizeError, normalize, to_datetime, to_decimal, to_int
from reconciler.providers.zoho import zoho_fields
from reconciler.specs import load_spec, load_specs

SPECS = load_specs()
STUDENT = SPECS["student"]

# ------------------------------------------------------------------ C: never another exception

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=True, allow_infinity=True),
    st.text(), st.text(alphabet="0123456789.,-+eE ²³١٢٣_$€ \u00a0:TZ"),
    st.sampled_from(["Infinity", "-inf", "NaN", "nan", "1E+999999999", "1e-999999", "²", "¹²³", "1_000",
                     "9" * 5000, "0." + "0" * 5000 + "1", "[" * 5000, '{"a": NaN}', "[1e400]", "2026-13-45",
                     "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "١٢٣٤", "2026-01-25T10:30:00"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4)),
    max_leaves=12)

CANONICAL: dict[str, tuple[type, ...]] = {
    "string": (str,), "text": (str,), "email": (str,), "picklist": (str,), "lookup_id": (str,),
    "lookup_name": (str,), "int": (int,), "bool": (bool,), "decimal": (str,), "date": (str,), "datetime": (int,),
}


def _is_json_value(value: Any) -> bool:
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return json.loads(text) == value


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(NORMALIZERS)), values, st.sampled_from([None, 0, 2]))
def test_every_normalizer_returns_its_canonical_type_or_raises_normalize_error(
        field_type: str, value: Any, scale: int | None) -> None:
    try:
        result = normalize(field_type, value, scale)
    except NormalizeError:
        return
    except Exception as exc:  # noqa: BLE001 - the property under test is "no other exception"
        pytest.fail(f"normalize({field_type!r}, {value!r:.80}) raised {type(exc).__name__}: {exc!s:.200}")
    if result is None:
        return
    if field_type == "json":
        assert _is_json_value(result), f"json {value!r:.80} gave a non-JSON value {result!r:.80}"
        return
    expected = CANONICAL[field_type]
    assert isinstance(result, expected) and (field_type == "bool" or not isinstance(result, bool)), \
        f"{field_type} {value!r:.80} gave {type(result).__name__} {result!r:.80}"
    if field_type == "decimal":
        assert Decimal(result).is_finite() and "E" not in result.upper() and result != "-0", result


@pytest.mark.parametrize(("field_type", "value"), [
    ("int", "Infinity"), ("int", "1E+999999999"), ("int", float("inf")), ("int", float("nan")), ("int", True),
    ("int", 2**70), ("int", [1]), ("int", {"a": 1}), ("int", "²"), ("int", "١٢"),
    ("datetime", "²"), ("datetime", "¹²³"), ("datetime", float("inf")), ("datetime", float("nan")),
    ("datetime", 10**30), ("datetime", "9" * 40), ("datetime", "0001-01-01T00:00:00+05:00"), ("datetime", [1]),
    ("datetime", True),
    ("decimal", float("nan")), ("decimal", float("-inf")), ("decimal", "NaN"), ("decimal", True), ("decimal", [1]),
    ("decimal", {"id": 1}), ("decimal", "1E+999999999"), ("decimal", "1e-999999"), ("decimal", "9" * 5000),
    ("date", 20050301), ("date", "²"), ("date", "2005-02-30"), ("date", "20050301"), ("date", [2005]),
    ("bool", 2), ("bool", float("nan")), ("bool", [True]),
    ("string", ["a"]), ("string", {"a": 1}), ("string", True), ("string", float("nan")),
    ("json", float("nan")), ("json", '{"a": NaN}'), ("json", "[Infinity]"), ("json", {1: "a"}), ("json", "[" * 5000),
    ("json", {"a": object()}), ("json", "1" * 5000),
])
def test_bad_values_raise_normalize_error_not_a_crash(field_type: str, value: Any) -> None:
    with pytest.raises(NormalizeError):
        normalize(field_type, value)


def test_numbers_in_range_still_read() -> None:
    assert to_int("9223372036854775807") == 2**63 - 1 and to_int("1E+2") == 100 and to_int(-4.0) == -4
    assert to_datetime(1769326200.9) == 1769326200 and to_datetime("1769326200") == 1769326200
    assert normalize("string", 12.5) == "12.5" and normalize("string", 7) == "7"
    assert normalize("string", {"id": "1", "name": None}) is None, "a lookup without a name is empty, not 'None'"


# ------------------------------------------------------------------ B: ambiguous amounts

@pytest.mark.parametrize(("text", "expected"), [
    ("1250", "1250"), ("1250.5", "1250.5"), ("-3.25", "-3.25"), ("+7", "7"), (".5", "0.5"), ("1E+2", "100"),
    ("1,250.00", "1250"), ("1,250", "1250"), ("-1,250.50", "-1250.5"), ("12,345,678.9", "12345678.9"),
    ("  1,250.00 ", "1250"),
])
def test_plain_and_canonically_grouped_amounts_are_read(text: str, expected: str) -> None:
    assert to_decimal(text) == expected


@pytest.mark.parametrize("text", [
    "1.250,00", "1.250.000", "12,50", "1,25", "1,2500", "1,250,00", ",250", "1,,250", "1 250", "1'250.00",
    "$1,250.00", "1250 JOD", "JOD 1250", "€5", "(1,250.00)", "1,250.", "12.", "1_000", "١٢٥٠", "0x10", "Infinity",
])
def test_ambiguous_or_foreign_amounts_are_refused_not_guessed(text: str) -> None:
    with pytest.raises(NormalizeError) as caught:
        to_decimal(text)
    assert str(caught.value) == caught.value.reason and caught.value.value == text, \
        "str() is the reason alone; the value travels apart, for the caller to show or hide"


# ------------------------------------------------------------------ D: no value in messages

def _zoho_student(**values: Any) -> dict[str, Any]:
    return {"id": "5847596000000000001", **dict.fromkeys(zoho_fields(STUDENT)), **values}


def test_a_sensitive_zoho_value_is_hidden_in_the_mapping_error() -> None:
    with pytest.raises(MappingError) as caught:
        record_from_zoho(STUDENT, _zoho_student(Birth_Date="01/02/2005"))
    error = caught.value
    assert "01/02/2005" not in str(error) and "01/02/2005" not in repr(error.args), str(error)
    assert str(error) == "field date_of_birth (Zoho Birth_Date) is not a date (YYYY-MM-DD) (value hidden: sensitive)"
    assert error.address == Address("student", "5847596000000000001") and error.column == "date_of_birth"
    assert "5847596000000000001" not in str(error), "the engine prefixes the address; the message must not repeat it"


def test_a_sensitive_moodle_value_is_hidden_in_the_mapping_error() -> None:
    with pytest.raises(MappingError) as caught:
        record_from_moodle(STUDENT, {"zoho_student_id": "5847596000000000001", "date_of_birth": "01/02/2005"})
    assert str(caught.value) == "column date_of_birth is not a date (YYYY-MM-DD) (value hidden: sensitive)"
    assert caught.value.column == "date_of_birth" and caught.value.address.key == "5847596000000000001"


def test_a_non_sensitive_value_is_shown_truncated() -> None:
    with pytest.raises(MappingError) as caught:
        record_from_moodle(STUDENT, {"zoho_student_id": "1", "zoho_modified_time": "x" * 100})
    message = str(caught.value)
    assert message.startswith("column zoho_modified_time: 'xxxx") and "is not an ISO datetime" in message, message
    assert "x" * 41 not in message, f"the value must be cut to ~40 characters: {message}"


@pytest.mark.parametrize("name", sorted(STUDENT.sensitive_fields))
def test_no_sensitive_student_field_ever_shows_its_value(name: str) -> None:
    field = STUDENT.fields[name]
    secret = ["0791234567-SECRET"]  # a list fits no scalar type, so every normalizer refuses it
    with pytest.raises(MappingError) as from_zoho:
        record_from_zoho(STUDENT, _zoho_student(**{str(field.zoho): secret}))
    with pytest.raises(MappingError) as from_moodle:
        record_from_moodle(STUDENT, {"zoho_student_id": "1", name: secret})
    for error in (from_zoho.value, from_moodle.value):
        assert "SECRET" not in str(error) and "(value hidden: sensitive)" in str(error), str(error)


# ------------------------------------------------------------------ E: a field Zoho left out

def test_a_field_missing_from_the_zoho_answer_is_an_error_not_a_null() -> None:
    raw = _zoho_student(City="Irbid")
    del raw["City"]
    with pytest.raises(MappingError) as caught:
        record_from_zoho(STUDENT, raw)
    assert str(caught.value) == "field city (Zoho City): Zoho did not return this field; check the spec's api name"
    assert caught.value.column == "city"


def test_a_field_present_as_null_reads_as_empty() -> None:
    assert record_from_zoho(STUDENT, _zoho_student(City=None)).fields["city"] is None


def test_a_missing_btec_criterion_field_is_an_error() -> None:
    unit = load_spec(Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "unit.toml")
    raw = {"id": "U1", **dict.fromkeys(zoho_fields(unit))}
    assert record_from_zoho(unit, raw).fields["criteria"] is None
    missing = next(n for n in unit.fields["criteria"].zoho_names)
    del raw[missing]
    with pytest.raises(MappingError, match=f"Zoho {missing}\\): Zoho did not return this field"):
        record_from_zoho(unit, raw)


def test_a_zoho_answer_without_the_key_is_a_mapping_error() -> None:
    raw = _zoho_student()
    del raw["id"]
    with pytest.raises(MappingError, match="key field id: Zoho did not return it"):
        record_from_zoho(STUDENT, raw)


def test_nan_inside_json_is_refused_because_it_would_be_drift_on_every_run() -> None:
    with pytest.raises(NormalizeError):
        normalize("json", [{"Amount": float("nan")}])
