"""Normalization by field type, applied to both sides before any comparison.

False drift is a bug (ARCHITECTURE principle 2): ``None``/``""``/``"-None-"``,
``12.5``/``"12.50"``, ``+03:00``/``Z`` for the same instant, and key order in JSON must all
compare equal. Each function here maps every spelling of one value to one canonical
Python value that is also JSON-serializable (plans are files).

A wrong value is never guessed at and never crashes the run: every normalizer returns a
value of its canonical type or raises :class:`NormalizeError`, whatever it is given
(text, numbers incl. ``inf``/``nan``, bools, lists, dicts). Only ASCII spellings are read:
``str.isdigit`` and ``Decimal`` accept superscripts, Arabic-Indic digits and ``1_000``,
which the plugin's PHP refuses, so accepting them here would plan writes Moodle rejects.

An error keeps the reason and the offending value apart (:class:`NormalizeError`), so
the caller, which knows whether the field is sensitive, decides if the value may be shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from functools import partial
from typing import Any, NoReturn

from .errors import MziError

EMPTY_MARKERS = frozenset({"", "-None-"})

#: a value shown in a message is cut to this many characters
SHOWN_MAX = 40

#: ints are 64-bit on both sides (Moodle ``int`` columns are BIGINT; Zoho's are 64-bit)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

#: decimals have at most this many digits before the point (DECIMAL(38) is every
#: database's limit, install.xml's NUMBER_MAX_LENGTH) …
DECIMAL_MAX_INT_DIGITS = 38
#: … and, where no column scale rounds them, at most this many after it
DECIMAL_MAX_PLACES = 100

#: unix seconds of 0001-01-01 and 9999-12-31 23:59:59 UTC: the instants a datetime can name
UNIX_MIN, UNIX_MAX = -62135596800, 253402300799

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
_UNIX_SECONDS = re.compile(r"[+-]?\d{1,12}", re.ASCII)
#: ``YYYY-MM-DD``, optionally followed by a time of day (then the date part is taken as is)
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
                       re.ASCII)

_NO_VALUE: Any = object()


class NormalizeError(MziError):
    """A value cannot be read as its declared type (e.g. ``"abc"`` as a decimal).

    ``reason`` never contains the value (``"is not a date (YYYY-MM-DD)"``); ``value``
    holds it for a caller that knows the field is not sensitive (:meth:`describe`).
    ``str()`` is the reason alone, so an error printed carelessly leaks nothing.
    """

    def __init__(self, reason: str, value: Any = _NO_VALUE) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value

    @property
    def has_value(self) -> bool:
        return self.value is not _NO_VALUE

    def describe(self, *, sensitive: bool) -> str:
        """``'xyz' is not a date …`` or, for a sensitive field, ``is not a date … (value hidden: sensitive)``."""
        if not self.has_value:
            return self.reason
        if sensitive:
            return f"{self.reason} (value hidden: sensitive)"
        return f"{shown(self.value)} {self.reason}"

    def __str__(self) -> str:
        return self.reason


def shown(value: Any) -> str:
    """``repr`` of a non-sensitive value, cut to :data:`SHOWN_MAX` characters."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to print, a self-referencing list
        text = f"<{type(value).__name__}>"
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 1] + "…"


def _refuse(value: Any, reason: str) -> NoReturn:
    raise NormalizeError(reason, value)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in EMPTY_MARKERS)


def _finite_float(value: float, what: str) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        _refuse(value, f"is not a finite {what}")
    return value


def to_string(value: Any) -> str | None:
    """Text as trimmed ``str``; numbers as their plain spelling; a lookup read as text gives its name."""
    if type(value) is str:  # the common case, decided without the checks below (same result)
        text = value.strip()
        return None if text in EMPTY_MARKERS else text
    if isinstance(value, dict) and "name" in value:  # a lookup read as plain text
        value = value["name"]
    if _is_empty(value):
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        _refuse(value, "is a boolean, not text")
    if isinstance(value, (int, float, Decimal)):
        return to_decimal(value)
    _refuse(value, "is not text")


def to_email(value: Any) -> str | None:
    """Emails compare case-insensitively (DOMAIN: user link by academic email)."""
    text = to_string(value)
    return text.lower() if text else None


def _number(value: Any, what: str) -> Decimal:
    """A finite ``Decimal`` from an int, float, Decimal or plain ASCII numeric text."""
    if isinstance(value, bool):
        _refuse(value, f"is a boolean, not {what}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(_finite_float(value, what)))
    if isinstance(value, Decimal):
        if not value.is_finite():
            _refuse(value, f"is not a finite {what}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN_NUMBER.fullmatch(text):
            return Decimal(text)
        _refuse(value, f"is not {what}")
    _refuse(value, f"is not {what}")


def to_int(value: Any) -> int | None:
    """Whole numbers in the 64-bit range; ``"42"``, ``42.0`` and ``"1E+2"`` are read, ``1.5`` is not."""
    if _is_empty(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT_MIN <= value <= INT_MAX:
            _refuse(value, "is outside the 64-bit integer range")
        return value
    number = _number(value, "an integer")
    if not INT_MIN <= number <= INT_MAX:
        _refuse(value, "is outside the 64-bit integer range")
    if number != number.to_integral_value():
        _refuse(value, "is not a whole number")
    return int(number)


def _decimal_text(value: Any) -> Decimal:
    """Read money as Zoho and the org write it, and nothing that could be misread.

    Accepted: plain numbers (``1250``, ``-3.25``, ``.5``, ``+7``), exponent notation
    (``1E+2``, as JSON numbers and Moodle's PHP may spell them), and the one grouped
    form ``1,250`` / ``-1,250.00`` (comma thousands in groups of exactly three, dot
    decimal). Refused, never guessed: ``1.250,00`` and ``12,50`` (comma as decimal
    point: 1000x apart from the other reading), ``1,25`` (irregular grouping), spaces
    or apostrophes as separators, currency symbols, ``NaN``/``Infinity``, non-ASCII digits.
    """
    if isinstance(value, str):
        text = value.strip()
        if _GROUPED_NUMBER.fullmatch(text):
            return Decimal(text.replace(",", ""))
        if not _PLAIN_NUMBER.fullmatch(text):
            _refuse(value, "is not a decimal (write 1250.5 or 1,250.50)")
        return Decimal(text)
    return _number(value, "a decimal")


def to_decimal(value: Any, scale: int | None = None) -> str | None:
    """Decimals become their shortest exact string: ``12.50`` → ``"12.5"``, ``1E+2`` → ``"100"``.

    A string rather than ``Decimal`` because plans are JSON; rather than float because
    money must not gain binary noise. Text currency fields such as ``"1,250.00"`` are read
    too (the org stores Program_Price and Remaining_Amount as text); see
    :func:`_decimal_text` for the spellings accepted.

    ``scale``: the decimal places of the Moodle ``number`` column the field is stored in
    (install.xml ``DECIMALS``). The value is rounded to it first, half away from zero
    (``ROUND_HALF_UP`` on the absolute value), which is what the plugin's
    ``mirror_table::decimal()``, the emulator's ``mirror.decimal_text()`` and MySQL/PostgreSQL
    ``DECIMAL`` columns do, so ``3500.125`` from Zoho equals the ``3500.13`` Moodle kept and
    is not planned as an update on every run. ``None`` (a ``char`` column) keeps every place.
    """
    if _is_empty(value):
        return None
    number = _decimal_text(value)
    if number.adjusted() >= DECIMAL_MAX_INT_DIGITS:
        _refuse(value, f"is too large (more than {DECIMAL_MAX_INT_DIGITS} digits before the point)")
    with localcontext() as context:
        context.prec = max(len(number.as_tuple().digits), DECIMAL_MAX_INT_DIGITS) + DECIMAL_MAX_PLACES
        if scale is not None:
            number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        number = number.normalize()
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_MAX_PLACES:
        _refuse(value, f"has more than {DECIMAL_MAX_PLACES} decimal places")
    result = format(number, "f")
    return "0" if result in ("-0", "0") else result


def to_bool(value: Any) -> bool | None:
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if not isinstance(value, str):
        _refuse(value, "is not a boolean (true/false, 1/0, yes/no, on/off)")
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    _refuse(value, "is not a boolean (true/false, 1/0, yes/no, on/off)")


def to_date(value: Any) -> str | None:
    """Dates stay ``YYYY-MM-DD``: a date has no zone, so it is never converted to time.

    A datetime's text (``2005-03-01T00:00:00+03:00``) gives its own calendar date.
    """
    if _is_empty(value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    match = _ISO_DATE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        _refuse(value, "is not a date (YYYY-MM-DD)")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        _refuse(value, "is not a date (YYYY-MM-DD): no such day")


def _unix(value: Any, seconds: int) -> int:
    if not UNIX_MIN <= seconds <= UNIX_MAX:
        _refuse(value, "is outside the years 1 to 9999")
    return seconds


def to_datetime(value: Any) -> int | None:
    """Datetimes become unix seconds (UTC), Moodle's own representation.

    ``2026-01-25T10:30:00+03:00`` and ``2026-01-25T07:30:00Z`` and ``1769326200`` are one
    instant. A datetime without a zone is refused rather than guessed.
    """
    if _is_empty(value):
        return None
    if isinstance(value, bool):
        _refuse(value, "is a boolean, not a datetime")
    if isinstance(value, (int, float)):
        if not UNIX_MIN <= _finite_float(value, "datetime") <= UNIX_MAX:
            _refuse(value, "is outside the years 1 to 9999")
        return int(value)
    if isinstance(value, datetime):
        return _aware_seconds(value, value)
    if not isinstance(value, str):
        _refuse(value, "is not an ISO datetime")
    text = value.strip()
    if _UNIX_SECONDS.fullmatch(text):
        return _unix(value, int(text))
    if not text.isascii():
        _refuse(value, "is not an ISO datetime")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _refuse(value, "is not an ISO datetime")
    return _aware_seconds(value, moment)


def _aware_seconds(value: Any, moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        _refuse(value, "has no zone offset; Zoho datetimes always carry one")
    try:
        return _unix(value, int(moment.astimezone(timezone.utc).timestamp()))
    except (OverflowError, ValueError):  # year 1 minus an offset falls before year 1
        _refuse(value, "is outside the years 1 to 9999")


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def to_json(value: Any) -> Any:
    """JSON (subforms, criteria lists) compares structurally: parse text, drop empties.

    Returned as a parsed value (lists/dicts) so comparisons ignore key order and
    whitespace; canonical text is produced only when a provider writes it. ``NaN`` and
    infinities are refused: they are not JSON and never equal themselves (endless drift).
    """
    if _is_empty(value):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_no_constants)
        except (ValueError, RecursionError):
            _refuse(value, "is not JSON")
    try:
        canonical = _canonical(value)
    except RecursionError:
        _refuse(value, "is nested too deeply")
    # emptiness is judged after cleaning: {"a": ""} is as empty as {}
    return None if canonical in ([], {}) else canonical


def _canonical(value: Any) -> Any:
    """One spelling of a JSON value: keys sorted, empty members dropped, non-JSON refused.

    The plain JSON types are told apart by ``type`` first (subforms are thousands of
    small dicts of text); anything else, subclasses included, takes the general path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return _canonical_dict(value)
    if kind is list:
        return [_canonical(v) for v in value]
    return _canonical_other(value)


def _canonical_dict(value: dict[Any, Any]) -> dict[str, Any]:
    for key in value:
        if type(key) is not str and not isinstance(key, str):
            _refuse(value, "is not JSON (an object key is not text)")
    out: dict[str, Any] = {}
    for key, member in sorted(value.items()):
        if type(member) is str:
            if member.strip() not in EMPTY_MARKERS:
                out[key] = member
        elif not _is_empty(member):
            out[key] = _canonical(member)
    return out


def _canonical_other(value: Any) -> Any:
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            _refuse(value, "is not JSON (an object key is not text)")
        return {k: _canonical(v) for k, v in sorted(value.items()) if not _is_empty(v)}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float):
        return _finite_float(value, "JSON number")
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        _refuse(value, "is not JSON (a number outside the 64-bit range)")
    if value is None or isinstance(value, (str, int, bool)):
        return value
    _refuse(value, "is not JSON")


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


#: types whose normalizer parses text into an immutable value (text, int, bool): worth
#: remembering per field, as a school's dates, amounts and numbers repeat across records
_MEMOIZED = frozenset({"int", "bool", "decimal", "date", "datetime"})
#: values remembered per field before the memo starts over (bounds memory on any input)
MEMO_MAX = 4096


def _memoized(normalize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``normalize`` remembering its answers for plain ``str`` inputs.

    Only for pure normalizers with immutable results, so a remembered answer is the answer;
    errors are not remembered (they raise again, with the same message, each time).
    """
    memo: dict[str, Any] = {}

    def remembered(value: Any) -> Any:
        if type(value) is not str:
            return normalize(value)
        try:
            return memo[value]
        except KeyError:
            result = normalize(value)
            if len(memo) >= MEMO_MAX:
                memo.clear()
            memo[value] = result
            return result

    return remembered


def normalizer(field_type: str, scale: int | None = None) -> Callable[[Any], Any]:
    """The normalizer of one field, chosen once (specs compile it per field).

    ``scale`` matters for decimals only: the places of the Moodle ``number`` column.
    """
    try:
        chosen = NORMALIZERS[field_type]
    except KeyError:
        raise NormalizeError(f"unknown field type {field_type!r}") from None
    if field_type == "decimal" and scale is not None:
        chosen = partial(to_decimal, scale=scale)
    return _memoized(chosen) if field_type in _MEMOIZED else chosen


def normalize(field_type: str, value: Any, scale: int | None = None) -> Any:
    return normalizer(field_type, scale)(value)
