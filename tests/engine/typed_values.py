"""Hypothesis strategies: one value of each spec field type, spelled the ways Zoho spells it.

A strategy here draws a *pair* of raw Zoho values that mean the same thing — the same
instant at two offsets, the same JSON with its keys in another order, the same text with
other surrounding whitespace, ``None``/``""``/``"-None-"`` for empty, the same decimal
as ``"1,250.50"`` and ``1250.5`` — so a property can feed one spelling to the first run and
the other to the next and demand that mzi sees no change.

Decimals are drawn to a given number of places: up to the column's scale, or past it
(what Zoho may send for a ``number(12,2)`` column, e.g. ``3500.125``).

The probe specs put every FieldType of ``reconciler/specs.py`` on columns of two mirror
tables whose types install.xml gives (``PROBE_COLUMNS`` is checked against it). A bool
has no boolean column to land in — Moodle stores booleans as ints — so it uses an int
column.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args

from hypothesis import strategies as st

from reconciler.schema.xmldb import load_schema
from reconciler.specs import FieldType, Spec

Pair = tuple[Any, Any]

ARABIC_LATIN = "abc XYZ محمد علي عمّان-'."
WHITESPACE = st.sampled_from(["", " ", "  ", "\t", " \n"])
OFFSETS = [timedelta(0), timedelta(hours=3), timedelta(hours=-5, minutes=-30), timedelta(hours=5, minutes=45),
           timedelta(hours=14), timedelta(hours=-12)]
EMPTY_SPELLINGS = st.sampled_from([None, "", "-None-", "  ", " -None- "])

#: payments: the bool, the plain JSON and a second decimal column
PAYMENT_PROBE = Spec.model_validate({
    "kind": "payment_probe", "source": {"system": "zoho", "module": "BTEC_Payments"},
    "target": {"system": "moodle", "table": "local_mzi_payments"},
    "key": {"zoho": "id", "moodle": "zoho_payment_id"},
    "delete": {"policy": "soft", "field": "payment_status", "value": "Voided"},
    "fields": {
        "payment_number": {"zoho": "Name", "type": "string"},
        "payment_amount": {"zoho": "Payment_Amount", "type": "decimal"},
        "payment_date": {"zoho": "Payment_Date", "type": "date"},
        "installment_no": {"zoho": "Is_Deposit", "type": "bool"},
        "payment_notes": {"zoho": "Notes_JSON", "type": "json"},
        "payment_status": {"zoho": "Payment_Status", "type": "picklist"},
        "currency": {"zoho": "Currency", "type": "string"},
    },
})

#: requests: everything else — text, email, int, both lookups, a subform, datetimes
REQUEST_PROBE = Spec.model_validate({
    "kind": "request_probe", "source": {"system": "zoho", "module": "BTEC_Requests"},
    "target": {"system": "moodle", "table": "local_mzi_requests"},
    "key": {"zoho": "id", "moodle": "zoho_request_id"},
    "delete": {"policy": "soft", "field": "status", "value": "Cancelled"},
    "drift_marker": "zoho_modified_time",
    "fields": {
        "request_number": {"zoho": "Name", "type": "string"},
        "zoho_student_id": {"zoho": "Student", "type": "lookup_id"},
        "sync_message": {"zoho": "Student", "type": "lookup_name"},
        "request_type": {"zoho": "Request_Type", "type": "picklist"},
        "status": {"zoho": "Status", "type": "picklist"},
        "reason": {"zoho": "Reason", "type": "text"},
        "request_date": {"zoho": "Request_Date", "type": "date"},
        "fees_amount": {"zoho": "Fees", "type": "decimal"},
        "requested_classes": {"zoho": "Classes", "type": "json", "transform": "subform",
                              "subform_fields": ["Class_Code", "Class_Name", "Hours"]},
        "academic_email": {"zoho": "Academic_Email", "type": "email"},
        "moodle_user_id": {"zoho": "Moodle_User", "type": "int"},
        "zoho_created_time": {"zoho": "Created_Time", "type": "datetime"},
        "zoho_modified_time": {"zoho": "Modified_Time", "type": "datetime", "compare": False},
    },
})

PROBES = {spec.kind: spec for spec in (PAYMENT_PROBE, REQUEST_PROBE)}

#: the install.xml column type each field type must land in
STORAGE = {"string": ("char", "text"), "text": ("char", "text"), "email": ("char", "text"),
           "picklist": ("char", "text"), "lookup_id": ("char",), "lookup_name": ("char", "text"),
           "int": ("int",), "bool": ("int",), "decimal": ("number",), "date": ("char",),
           "datetime": ("int",), "json": ("text",)}


def column(spec: Spec, name: str) -> Any:
    return load_schema().table(spec.moodle_table).column(name)


def probe_problems() -> list[str]:
    """Fields of the probes whose install.xml column cannot hold their type, and FieldTypes no probe covers."""
    problems = [f"{spec.kind}.{name}: {field.type} in a {column(spec, name).type} column"
                for spec in PROBES.values() for name, field in spec.fields.items()
                if column(spec, name).type not in STORAGE[field.type]]
    covered = {f.type for spec in PROBES.values() for f in spec.fields.values()}
    return problems + [f"no probe field of type {t}" for t in get_args(FieldType) if t not in covered]


# ---------------------------------------------------------------------- one pair per type

def _padded(text: str) -> st.SearchStrategy[str]:
    return st.tuples(WHITESPACE, WHITESPACE).map(lambda w: f"{w[0]}{text}{w[1]}")


def _empty_or(value: st.SearchStrategy[Pair]) -> st.SearchStrategy[Pair]:
    return st.one_of(st.tuples(EMPTY_SPELLINGS, EMPTY_SPELLINGS), value)


@st.composite
def text_pair(draw: st.DrawFn, max_size: int = 20) -> Pair:
    core = draw(st.text(alphabet=ARABIC_LATIN, min_size=1, max_size=max_size).map(str.strip).filter(
        lambda t: t not in ("", "-None-")))
    return draw(_padded(core)), draw(_padded(core))


@st.composite
def email_pair(draw: st.DrawFn) -> Pair:
    local, domain = draw(st.sampled_from(["lina.h", "ali", "m.haddad"])), draw(st.sampled_from(["abc.edu.jo", "x.org"]))
    address = f"{local}@{domain}"

    def spelled() -> str:
        flips = draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)))
        return draw(_padded("".join(c.upper() if f else c for c, f in zip(address, flips))))

    return spelled(), spelled()


@st.composite
def int_pair(draw: st.DrawFn) -> Pair:
    n = draw(st.integers(-2_000_000_000, 2_000_000_000))
    spell = st.sampled_from([n, str(n), f" {n} ", f"{n}.0"])
    return draw(spell), draw(spell)


@st.composite
def bool_pair(draw: st.DrawFn) -> Pair:
    b = draw(st.booleans())
    spell = st.sampled_from([b, str(b).lower(), str(b), f" {str(b).upper()} "])
    return draw(spell), draw(spell)


@st.composite
def decimal_pair(draw: st.DrawFn, places: tuple[int, int], whole_digits: int = 9) -> Pair:
    """A decimal with ``places[0]..places[1]`` places, spelled as Zoho's number or text currency fields."""
    scale = draw(st.integers(*places))
    units = draw(st.integers(0, 10 ** (whole_digits + scale) - 1))
    value = (Decimal(units).scaleb(-scale) * draw(st.sampled_from([1, -1]))).quantize(Decimal(1).scaleb(-scale))

    def spelled() -> Any:
        options: list[Any] = [str(value), f"{value}00" if scale else f"{value}.00", f"{value:,}", f" {value} "]
        if value == value.to_integral_value():
            options.append(int(value))
        if Decimal(repr(float(value))) == value:
            options.append(float(value))
        return draw(st.sampled_from(options))

    return spelled(), spelled()


@st.composite
def date_pair(draw: st.DrawFn) -> Pair:
    day = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31))).isoformat()
    return draw(_padded(day)), draw(_padded(day))


@st.composite
def datetime_pair(draw: st.DrawFn) -> Pair:
    """One instant at two (usually different) offsets, as Zoho writes datetimes."""
    instant = datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=draw(st.integers(0, 37 * 365 * 86400)))

    def spelled() -> str:
        text = instant.astimezone(timezone(draw(st.sampled_from(OFFSETS)))).isoformat()
        return text.replace("+00:00", draw(st.sampled_from(["+00:00", "Z"])))

    return spelled(), spelled()


def _shuffled(draw: st.DrawFn, row: dict[str, Any]) -> dict[str, Any]:
    return dict(draw(st.permutations(list(row.items()))))


@st.composite
def json_pair(draw: st.DrawFn) -> Pair:
    """A JSON object; one side as a dict, the other often as text, keys in another order."""
    keys = draw(st.lists(st.sampled_from(["a", "b", "note", "ملاحظة", "n"]), min_size=1, max_size=4, unique=True))
    leaf = st.one_of(st.integers(-100, 100), st.text(alphabet=ARABIC_LATIN, max_size=6), st.booleans())
    value = {k: draw(leaf) for k in keys}

    def spelled() -> Any:
        shuffled = _shuffled(draw, value)
        return draw(st.sampled_from([shuffled, json.dumps(shuffled, ensure_ascii=False),
                                     json.dumps(shuffled, ensure_ascii=False, indent=1)]))

    return spelled(), spelled()


@st.composite
def subform_pair(draw: st.DrawFn) -> Pair:
    """Subform rows as Zoho returns them: row ids and ``$`` keys that are not the value, keys in any order."""
    rows = draw(st.lists(st.fixed_dictionaries({
        "Class_Code": st.sampled_from(["U1", "U2", "U7"]), "Class_Name": st.text(alphabet=ARABIC_LATIN, min_size=1, max_size=8),
        "Hours": st.integers(1, 60)}), max_size=3))

    def spelled() -> Any:
        out = [_shuffled(draw, {**row, "id": str(draw(st.integers(10**17, 10**18))), "$approval": {"delegate": False}})
               for row in rows]
        return out if out else draw(st.sampled_from([None, []]))

    return spelled(), spelled()


@st.composite
def lookup_pair(draw: st.DrawFn) -> Pair:
    """A lookup: the same id and name, the dict's keys in either order."""
    ident = str(draw(st.integers(5847596000000000000, 5847596000000999999)))
    name = draw(st.text(alphabet=ARABIC_LATIN, min_size=1, max_size=12).map(str.strip).filter(lambda t: t not in ("", "-None-")))
    first, second = {"id": ident, "name": name}, {"name": name, "id": ident}
    return (first, second) if draw(st.booleans()) else (second, first)


def picklist_pair(values: list[str]) -> st.SearchStrategy[Pair]:
    return st.sampled_from(values).flatmap(lambda v: st.tuples(_padded(v), _padded(v)))


# ---------------------------------------------------------------------- records

def _decimal(spec: Spec, name: str, beyond_scale: bool) -> st.SearchStrategy[Pair]:
    """Decimals up to the column's scale, or 1–2 places past it (``beyond_scale``)."""
    col = column(spec, name)
    scale = col.decimals or 0
    places = (scale + 1, scale + 2) if beyond_scale else (0, scale)
    return decimal_pair(places, whole_digits=(col.length or 12) - scale - 1)


def payment_pair(beyond_scale: bool = False) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """Two Zoho spellings of one payment record (without id)."""
    return _record_pair({
        "Name": _empty_or(text_pair()),
        "Payment_Amount": _empty_or(_decimal(PAYMENT_PROBE, "payment_amount", beyond_scale)),
        "Payment_Date": _empty_or(date_pair()),
        "Is_Deposit": _empty_or(bool_pair()),
        "Notes_JSON": _empty_or(json_pair()),
        "Payment_Status": _empty_or(picklist_pair(["Paid", "Pending", "تم الدفع"])),
        "Currency": _empty_or(picklist_pair(["JOD", "USD"])),
    })


def request_pair(beyond_scale: bool = False) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    """Two Zoho spellings of one request record (without id)."""
    return _record_pair({
        "Name": _empty_or(text_pair()),
        "Student": st.one_of(st.just((None, None)), lookup_pair()),
        "Request_Type": _empty_or(picklist_pair(["Withdrawal", "Deferral", "إعادة تسجيل"])),
        "Status": _empty_or(picklist_pair(["Open", "Approved"])),
        "Reason": _empty_or(text_pair(60)),
        "Request_Date": _empty_or(date_pair()),
        "Fees": _empty_or(_decimal(REQUEST_PROBE, "fees_amount", beyond_scale)),
        "Classes": subform_pair(),
        "Academic_Email": _empty_or(email_pair()),
        "Moodle_User": _empty_or(int_pair()),
        "Created_Time": datetime_pair(),
        "Modified_Time": datetime_pair(),
    })


def _record_pair(fields: dict[str, st.SearchStrategy[Pair]]) -> st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]:
    return st.fixed_dictionaries(fields).map(
        lambda pairs: ({k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}))


KEYS = [f"58475960000001{n:05d}" for n in range(5)]


def state_pair(record: st.SearchStrategy[tuple[dict[str, Any], dict[str, Any]]]
               ) -> st.SearchStrategy[tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]]:
    """Two spellings of a module's records (1–3 of :data:`KEYS`), keyed by Zoho id."""
    return st.dictionaries(st.sampled_from(KEYS), record, min_size=1, max_size=3).map(
        lambda rows: ({k: {"id": k, **a} for k, (a, _) in rows.items()}, {k: {"id": k, **b} for k, (_, b) in rows.items()}))
