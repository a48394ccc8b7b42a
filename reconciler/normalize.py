"""Normalization by field type, applied to both sides before any comparison.

False drift is a bug (ARCHITECTURE principle 2): ``None``/``""``/``"-None-"``,
``12.5``/``"12.50"``, ``+03:00``/``Z`` for the same instant, and key order in JSON must all
compare equal. Each function here maps every spelling of one value to one canonical
Python value that is also JSON-serializable (plans are files).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import MziError

EMPTY_MARKERS = frozenset({"", "-None-"})


class NormalizeError(MziError):
    """A value cannot be read as its declared type (e.g. ``"abc"`` as a decimal)."""


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in EMPTY_MARKERS)


def to_string(value: Any) -> str | None:
    if _is_empty(value):
        return None
    if isinstance(value, dict) and "name" in value:  # a lookup read as plain text
        value = value["name"]
    return str(value).strip() or None


def to_email(value: Any) -> str | None:
    """Emails compare case-insensitively (DOMAIN: user link by academic email)."""
    text = to_string(value)
    return text.lower() if text else None


def to_int(value: Any) -> int | None:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise NormalizeError(f"{value!r} is not an integer") from exc
    if number != number.to_integral_value():
        raise NormalizeError(f"{value!r} is not a whole number")
    return int(number)


def to_decimal(value: Any) -> str | None:
    """Decimals become their shortest exact string: ``12.50`` → ``"12.5"``, ``1E+2`` → ``"100"``.

    A string rather than ``Decimal`` because plans are JSON; rather than float because
    money must not gain binary noise. Text currency fields such as ``"1,250.00"`` are read
    too (the org stores Program_Price and Remaining_Amount as text).
    """
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        raise NormalizeError(f"{value!r} is not a decimal")
    text = str(value).strip().replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise NormalizeError(f"{value!r} is not a decimal") from exc
    if not number.is_finite():
        raise NormalizeError(f"{value!r} is not a finite decimal")
    result = format(number.normalize(), "f")
    return "0" if result in ("-0", "0") else result


def to_bool(value: Any) -> bool | None:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise NormalizeError(f"{value!r} is not a boolean")


def to_date(value: Any) -> str | None:
    """Dates stay ``YYYY-MM-DD``: a date has no zone, so it is never converted to time."""
    if _is_empty(value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise NormalizeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def to_datetime(value: Any) -> int | None:
    """Datetimes become unix seconds (UTC), Moodle's own representation.

    ``2026-01-25T10:30:00+03:00`` and ``2026-01-25T07:30:00Z`` and ``1769326200`` are one
    instant. A datetime without a zone is refused rather than guessed.
    """
    if _is_empty(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise NormalizeError(f"{value!r} is not an ISO datetime") from exc
    if moment.tzinfo is None:
        raise NormalizeError(f"{value!r} has no zone offset; Zoho datetimes always carry one")
    return int(moment.astimezone(timezone.utc).timestamp())


def to_json(value: Any) -> Any:
    """JSON (subforms, criteria lists) compares structurally: parse text, drop empties.

    Returned as a parsed value (lists/dicts) so comparisons ignore key order and
    whitespace; canonical text is produced only when a provider writes it.
    """
    if _is_empty(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise NormalizeError(f"{value[:40]!r} is not JSON") from exc
    canonical = _canonical(value)
    return None if canonical in ([], {}) else canonical


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items()) if not _is_empty(v)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "string": to_string,
    "text": to_string,
    "email": to_email,
    "picklist": to_string,
    "lookup_id": to_string,
    "lookup_name": to_string,
    "int": to_int,
    "bool": to_bool,
    "decimal": to_decimal,
    "date": to_date,
    "datetime": to_datetime,
    "json": to_json,
}


def normalize(field_type: str, value: Any) -> Any:
    try:
        return NORMALIZERS[field_type](value)
    except KeyError as exc:
        raise NormalizeError(f"unknown field type {field_type!r}") from exc
