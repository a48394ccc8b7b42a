"""The path of a field between a system's raw shape and a normalized Record.

``specs/<kind>.toml`` says *which* Zoho field feeds which Moodle column; this module
says *how*: lookups give their ``id`` or ``name``, subforms become canonical JSON lists,
the BTEC criteria fields fold into one list, constants fill facts the source implies,
and every value is normalized by type (``normalize.py``). Providers call these four
functions and nothing else touches Zoho api names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Any

from .model import Address, Record, canonical_json
from .normalize import EMPTY_MARKERS, INT_MAX, INT_MIN, NormalizeError, to_string
from .specs import PARENT, FieldMapper, FieldSpec, Spec

_CRITERION = re.compile(r"^([PMD])(\d+)_description$", re.IGNORECASE)
_LEVELS = {"P": "pass", "M": "merit", "D": "distinction"}


class MappingError(NormalizeError):
    """One record cannot be read: a value does not fit its field, or Zoho left a field out.

    A per-record problem (the engine plans that address as an error and goes on), so it
    carries ``address`` and ``column`` (the spec field) for the caller, and a message
    that is already safe to print anywhere: it names the field and the rule, shows the
    value (cut to 40 characters) only for a field that is not sensitive, and does not
    repeat the address, which the engine puts in front (``! student.X cannot be read: …``).
    """

    def __init__(self, address: Address, column: str, message: str) -> None:
        super().__init__(message)
        self.address = address
        self.column = column


def _problem(where: str, exc: NormalizeError, sensitive: bool) -> str:
    """``column city: 'xyz' is not …`` or ``column date_of_birth is not … (value hidden: sensitive)``."""
    if exc.has_value and sensitive:
        return f"{where} {exc.describe(sensitive=True)}"
    return f"{where}: {exc.describe(sensitive=sensitive)}"


def _lookup_part(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    return value if part == "id" else None


def _subform_rows(value: Any, keep: Collection[str] | None) -> list[dict[str, Any]] | None:
    if value is None or value == "" or value == []:
        return None
    if not isinstance(value, list):
        raise NormalizeError("is not a subform (a list of rows)", value)
    rows = []
    for row in value:
        if not isinstance(row, dict):
            continue
        # Zoho's subform row ids are not part of the value; a lookup in a row gives its name
        rows.append({k: v.get("name") if isinstance(v, dict) else v for k, v in row.items()
                     if k != "id" and (keep is None or k in keep) and not k.startswith("$")})
    return rows or None


def _btec_criteria(raw: dict[str, Any], names: list[str]) -> list[dict[str, str]] | None:
    """P1…P10, M1…M9, D1…D6 descriptions → ``[{code, level, description}]``, empties dropped."""
    criteria = []
    for name in names:
        text = to_string(raw.get(name))
        match = _CRITERION.match(name)
        if not match or text is None:
            continue
        letter = match.group(1).upper()
        criteria.append({"code": f"{letter}{match.group(2)}", "level": _LEVELS[letter], "description": text})
    return criteria or None


def _membership(field: FieldSpec, value: Any) -> bool:
    """``in``/``not_in``: whether the Zoho value (as text; empty and ``-None-`` are no value)
    is one of ``values`` — e.g. a course is visible unless its class is ``Cancelled``."""
    text = to_string(value)
    found = text is not None and text in (field.values or [])
    return found if field.transform == "in" else not found


#: in a raw Zoho record, where the provider puts the related records of ``through`` fields:
#: ``raw[RELATED][lookup api name]`` is the related record, or ``None`` when the lookup is empty
RELATED = "$related"


def _source_of(field: FieldSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """The raw record a field reads: the record itself, or for a ``through`` field the related one."""
    if field.through is None:
        return raw
    related = raw.get(RELATED, {}).get(field.through.lookup)
    return related if isinstance(related, dict) else {}


def _zoho_value(field: FieldSpec, raw: dict[str, Any]) -> Any:
    if field.const is not None:
        return field.const
    raw = _source_of(field, raw)
    if field.transform == "btec_criteria":
        return _btec_criteria(raw, field.zoho_names)
    value = raw.get(field.zoho) if isinstance(field.zoho, str) else None
    if field.transform in ("in", "not_in"):
        return _membership(field, value)
    if field.transform == "subform":
        return _subform_rows(value, field.subform_fields)
    if field.type == "lookup_id":
        return _lookup_part(value, "id")
    if field.type == "lookup_name":
        return _lookup_part(value, "name")
    return value


def _zoho_label(field: FieldSpec, names: list[str] | None = None) -> str:
    shown = names if names is not None else field.zoho_names
    return ", ".join(shown) if len(shown) <= 3 else f"{shown[0]} … {shown[-1]}"


def _read_from_zoho(mapper: FieldMapper) -> bool:
    """Moodle-owned fields Zoho does not store say nothing on the Zoho side."""
    return mapper.owner == "zoho" or mapper.field.zoho is not None


class _NotReturned(Exception):
    """Inside a compiled reader: requested api names the answer left out (see :func:`_compile_zoho`)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


def _extractor(field: FieldSpec) -> Callable[[dict[str, Any]], Any]:
    """The raw value of ``field`` in the record it reads, as :func:`_zoho_value` takes it
    (same order of rules), with the transform and type decided here once."""
    names = field.zoho_names
    if field.transform == "btec_criteria":
        return lambda src: _btec_criteria(src, names)
    zoho = field.zoho if isinstance(field.zoho, str) else None
    if zoho is None:
        return lambda src: None
    if field.transform in ("in", "not_in"):
        return lambda src: _membership(field, src.get(zoho))
    if field.transform == "subform":
        keep = None if field.subform_fields is None else frozenset(field.subform_fields)
        return lambda src: _subform_rows(src.get(zoho), keep)
    if field.type in ("lookup_id", "lookup_name"):
        part = "id" if field.type == "lookup_id" else "name"
        return lambda src: _lookup_part(src.get(zoho), part)
    return lambda src: src.get(zoho)


def _compile_zoho(mapper: FieldMapper) -> Callable[[dict[str, Any]], Any]:
    """One field's reader: raw record → normalized value, raising :class:`_NotReturned` for
    names the answer left out and :class:`NormalizeError` for a value that does not fit.

    A requested field absent from the answer is a misspelt api name, never an empty value:
    Zoho (and its emulator) answer every requested field, ``null`` when empty; only a name
    the module does not have is left out, and reading that as ``null`` would plan every
    Moodle row's value away. Then the steps of :func:`_zoho_value` and the normalizer, with
    every decision that depends on the spec alone taken here, once per spec.
    """
    field, normalize = mapper.field, mapper.normalize
    if field.const is not None:
        const = field.const
        return lambda raw: normalize(const)
    extract, names = _extractor(field), field.zoho_names
    if field.through is not None:
        lookup = field.through.lookup

        def through(raw: dict[str, Any]) -> Any:
            related = raw.get(RELATED, {}).get(lookup)
            src = related if isinstance(related, dict) else {}
            if src:  # an empty lookup: nothing related, every name reads empty
                missing = [name for name in names if name not in src]
                if missing:
                    raise _NotReturned(missing)
            return normalize(extract(src))
        return through
    if len(names) == 1:
        return _compile_one(field, normalize, extract, names[0])

    def several(raw: dict[str, Any]) -> Any:
        missing = [name for name in names if name not in raw]
        if missing:
            raise _NotReturned(missing)
        return normalize(extract(raw))
    return several


def _compile_one(field: FieldSpec, normalize: Callable[[Any], Any], extract: Callable[[dict[str, Any]], Any],
                 name: str) -> Callable[[dict[str, Any]], Any]:
    """A reader of one api name of the record itself: the common field, with the plain value
    and the subform taken without a further call (same results as ``normalize(extract(raw))``)."""
    names = [name]
    if field.transform is None and field.type not in ("lookup_id", "lookup_name"):
        def plain(raw: dict[str, Any]) -> Any:
            if name not in raw:
                raise _NotReturned(names)
            return normalize(raw[name])
        return plain
    if field.transform == "subform":
        keep, seen = _subform_columns(field.subform_fields), _RowMemo()

        def subform(raw: dict[str, Any]) -> Any:
            if name not in raw:
                raise _NotReturned(names)
            rows = _canonical_subform(raw[name], keep, seen)
            return normalize(extract(raw)) if rows is _SLOW else rows
        return subform

    def one(raw: dict[str, Any]) -> Any:
        if name not in raw:
            raise _NotReturned(names)
        return normalize(extract(raw))
    return one


#: from :func:`_canonical_subform`: this value takes the general path (it may be refused there)
_SLOW: Any = object()


def _subform_columns(keep: list[str] | None) -> tuple[str, ...] | None:
    """The subform columns a row keeps, sorted as canonical JSON orders them (ids and ``$``
    names are never part of the value)."""
    if keep is None:
        return None
    return tuple(sorted({k for k in keep if k != "id" and not k.startswith("$")}))


#: rows remembered per subform field before the memo starts over
ROW_MEMO_MAX = 4096


class _RowMemo(dict[tuple[tuple[Any, ...], tuple[type, ...]], dict[str, Any]]):
    """Canonical rows of one subform field by their cells *and the cells' types* (so ``1``
    and ``True``, equal in Python, stay apart): a school's learning-outcome rows repeat."""


def _canonical_subform(value: Any, keep: tuple[str, ...] | None, seen: _RowMemo) -> Any:
    """``to_json(_subform_rows(value, keep))`` in one pass, for the rows Zoho sends: dicts
    whose cells are text, numbers without a fraction, booleans, empty or lookups.

    Anything else — not a list, a float, a nested value, no ``keep`` — answers
    :data:`_SLOW`, and the field is read the general way, which refuses what it refuses
    with its own message; a subform is thousands of small dicts per read, so the common
    shape is worth its own loop, and a row seen before is copied from ``seen``.
    """
    if keep is None or type(value) is not list:
        return None if value is None or value == "" else _SLOW
    rows: list[dict[str, Any]] = []
    for row in value:
        if type(row) is not dict:
            return _SLOW
        cells = tuple(map(row.get, keep))
        key: tuple[tuple[Any, ...], tuple[type, ...]] | None = (cells, tuple(map(type, cells)))
        try:
            known = seen.get(key)  # type: ignore[arg-type]
        except TypeError:  # a lookup cell (a dict): not remembered
            key, known = None, None
        if known is not None:
            rows.append(dict(known))
            continue
        out: dict[str, Any] = {}
        for column in keep:
            if column not in row:
                continue
            cell = row[column]
            if type(cell) is dict:
                cell = cell.get("name")
            kind = type(cell)
            if kind is str:
                if cell.strip() not in EMPTY_MARKERS:
                    out[column] = cell
            elif kind is int and INT_MIN <= cell <= INT_MAX or kind is bool:
                out[column] = cell
            elif cell is not None:
                return _SLOW
        if key is not None:
            if len(seen) >= ROW_MEMO_MAX:
                seen.clear()
            seen[key] = dict(out)
        rows.append(out)
    return rows or None


@dataclass(frozen=True)
class _ZohoField:
    name: str
    read: Callable[[dict[str, Any]], Any]
    field: FieldSpec
    sensitive: bool


@dataclass(frozen=True)
class _MoodleField:
    name: str
    normalize: Callable[[Any], Any]
    optional: bool  # a constant Moodle does not store: read only where the row has the column
    sensitive: bool


class Readers:
    """A spec compiled for reading records: built once per spec (``Spec.readers``).

    Mapping a record then costs one closure call per field — no owner lookup, transform
    or type dispatch, or normalizer choice per record — and the label is made only for
    the records a plan shows (:data:`~reconciler.model.Labeler`).
    """

    def __init__(self, spec: Spec) -> None:
        self.zoho = tuple(_ZohoField(m.name, _compile_zoho(m), m.field, m.sensitive)
                          for m in spec.mappers if _read_from_zoho(m))
        self.moodle = tuple(_MoodleField(m.name, m.normalize, m.field.const is not None, m.sensitive)
                            for m in spec.mappers)
        self.key_mappers = tuple(m for m in spec.mappers if m.name in spec.key.columns)


def _not_returned(address: Address, column: str, field: FieldSpec, missing: list[str]) -> MappingError:
    return MappingError(address, column, f"field {column} (Zoho {_zoho_label(field, missing)}): Zoho did not return "
                                         f"this field; check the spec's api name")


def record_from_zoho(spec: Spec, raw: dict[str, Any]) -> Record:
    """A Zoho record (as the API returns it) → a normalized Record of ``spec``."""
    if spec.key.composite:
        address = Address(spec.kind, _composite_key(spec, raw))
    else:
        address = Address(spec.kind, _key_text(raw.get(spec.key.zoho)))
        if address.key == "?":
            raise MappingError(address, spec.key.columns[0],
                               f"key field {spec.key.zoho}: Zoho did not return it; check the spec's [key]")
    fields: dict[str, Any] = {}
    for reader in spec.readers.zoho:
        try:
            fields[reader.name] = reader.read(raw)
        except _NotReturned as exc:
            raise _not_returned(address, reader.name, reader.field, exc.missing) from None
        except NormalizeError as exc:
            where = f"field {reader.name} (Zoho {_zoho_label(reader.field)})"
            raise MappingError(address, reader.name, _problem(where, exc, reader.sensitive)) from None
    return Record(address, fields, partial(spec.render_label, address.key, fields))


def _composite_key(spec: Spec, raw: dict[str, Any]) -> str:
    """The address key from the key columns' normalized values, so ``2``, ``"2"`` and
    ``2.0`` name the same row on both sides; a part that is empty or unreadable fails
    the record, addressed with ``?`` in that part's place."""
    values: dict[str, Any] = {}
    problem: tuple[str, str] | None = None
    for mapper in spec.readers.key_mappers:
        where = f"key field {mapper.name} (Zoho {_zoho_label(mapper.field)})"
        if any(name not in raw for name in mapper.field.zoho_names):
            problem = problem or (mapper.name, f"{where}: Zoho did not return this field; check the spec's api name")
            continue
        try:
            values[mapper.name] = mapper.normalize(_zoho_value(mapper.field, raw))
        except NormalizeError as exc:
            problem = problem or (mapper.name, _problem(where, exc, False))
            continue
        if values[mapper.name] is None:
            problem = problem or (mapper.name, f"{where} is empty; a record without it cannot be told apart")
    key = spec.key_text(values)
    if problem is not None or key is None:
        column, message = problem or (spec.key.columns[0], "the key is empty")
        shown = {c: values.get(c) if values.get(c) is not None else "?" for c in spec.key.columns}
        raise MappingError(Address(spec.kind, spec.key_text(shown) or "?"), column, message)
    return key


def subform_records(spec: Spec, parent: dict[str, Any]) -> list[Record]:
    """The rows of a Zoho record's subform (``spec.subform``) → Records of ``spec``.

    Each row is read with its parent's fields available as ``$parent.<api name>``. A row
    that cannot be read fails alone (a row without its own key is addressed
    ``<parent id>:?<row number>``), and rows sharing a key are all unreadable under that
    key — which of them is the real one is unknown, and unknown is not planned.
    """
    assert spec.subform is not None
    parent_id = _key_text(parent.get("id"))
    name = spec.subform
    if name not in parent:
        return [Record.unreadable(Address(spec.kind, f"{parent_id}:?"),
                                  f"subform {name}: Zoho did not return it; check the spec's source.subform")]
    value = parent[name]
    if value is None or value == "" or value == []:
        return []
    if not isinstance(value, list):
        return [Record.unreadable(Address(spec.kind, f"{parent_id}:?"), f"subform {name} is not a list of rows")]
    inherited = {f"{PARENT}{k}": v for k, v in parent.items()}
    by_key: dict[str, list[tuple[int, Record]]] = {}
    for number, row in enumerate(value, start=1):
        record = _subform_row(spec, parent_id, number, row, inherited)
        by_key.setdefault(record.address.key, []).append((number, record))
    records = []
    for key, found in by_key.items():
        if len(found) == 1:
            records.append(found[0][1])
            continue
        rows = ", ".join(str(n) for n, _ in found[:-1]) + f" and {found[-1][0]}"
        records.append(Record.unreadable(Address(spec.kind, key),
                                         f"rows {rows} of {name} have the same key {key}; each row needs its own"))
    return records


def _subform_row(spec: Spec, parent_id: str, number: int, row: Any, inherited: dict[str, Any]) -> Record:
    where = f"row {number} of {spec.subform}"
    if not isinstance(row, dict):
        return Record.unreadable(Address(spec.kind, f"{parent_id}:?{number}"), f"{where} is not a row")
    try:
        return record_from_zoho(spec, {**row, **inherited})
    except MappingError as exc:
        key = f"{parent_id}:?{number}" if exc.column in spec.key.columns else exc.address.key
        return Record.unreadable(Address(spec.kind, key), f"{where}: {exc}")


def _key_text(value: Any) -> str:
    """The key as text, ``?`` when there is none to name the record by."""
    if value is None or isinstance(value, (dict, list, bool)) or str(value).strip() == "":
        return "?"
    return str(value)


def record_from_moodle(spec: Spec, row: dict[str, Any]) -> Record:
    """A row of the ``local_mzi_*`` table → a normalized Record of ``spec``."""
    address = Address(spec.kind, moodle_key(spec, row))
    if "?" in address.key:
        raise MappingError(address, spec.key.columns[0],
                           f"key column {', '.join(spec.key.columns)} is empty, missing or unreadable")
    fields: dict[str, Any] = {}
    get = row.get
    for reader in spec.readers.moodle:
        name = reader.name
        if reader.optional and name not in row:
            continue
        try:
            fields[name] = reader.normalize(get(name))
        except NormalizeError as exc:
            raise MappingError(address, name, _problem(f"column {name}", exc, reader.sensitive)) from None
    return Record(address, fields, partial(spec.render_label, address.key, fields))


def moodle_key(spec: Spec, row: dict[str, Any]) -> str:
    """The address key of a Moodle row; ``?`` in place of a part that is empty or unreadable.

    A composite key's parts are normalized like their fields (``installment_number``
    ``"2"`` → ``2``), so the key reads the same as the one built from Zoho's values.
    """
    if not spec.key.composite:
        return _key_text(row.get(spec.key.columns[0]))
    parts: dict[str, Any] = {}
    for mapper in spec.readers.key_mappers:
        try:
            parts[mapper.name] = mapper.normalize(row.get(mapper.name))
        except NormalizeError:
            parts[mapper.name] = None
    shown = {c: "?" if _key_text(parts.get(c)) == "?" else parts[c] for c in spec.key.columns}
    return spec.key_text(shown) or "?"


def moodle_value(field_type: str, value: Any) -> str | int:
    """A normalized value → what a Moodle web-service parameter carries.

    Moodle's REST protocol has no null: the plugin stores an empty string as NULL.
    """
    if value is None:
        return ""
    if field_type == "json":
        return canonical_json(value)
    if field_type == "bool":
        return int(bool(value))
    return value


def moodle_row(spec: Spec, key: str, fields: dict[str, Any], names: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The parameters of one record for ``local_mzi_upsert_<table>``: key column(s) plus ``names``.

    A composite key's columns come from the address key, so an update carrying only its
    changed fields still names its row.
    """
    chosen = spec.managed_fields if names is None else names
    parts = spec.split_key(key) if spec.key.composite else {spec.key.columns[0]: key}
    if parts is None:
        raise MappingError(Address(spec.kind, key), spec.key.columns[0],
                           f"the key {key!r} does not have the parts {', '.join(spec.key.columns)}")
    row: dict[str, Any] = dict(parts)
    for name in chosen:
        if name in fields:
            row[name] = moodle_value(spec.fields[name].type, fields[name])
    return row


#: the time of day a date is written at into a Zoho datetime field: noon UTC is the same
#: calendar day in every zone from UTC−11 to UTC+11, so Zoho answers it (in the org's or
#: the user's zone) as the day Moodle holds, and the date reads back unchanged
DATE_AS_DATETIME = "T12:00:00+00:00"


def zoho_value(field: FieldSpec, value: Any) -> Any:
    """A normalized value → what a Zoho write carries (reverse-direction kinds)."""
    if value is None:
        return None
    if field.type == "lookup_id":
        return {"id": value}
    if field.zoho_type == "datetime":
        return f"{value}{DATE_AS_DATETIME}"
    if field.type == "int":
        return int(value)
    return value


def zoho_row(spec: Spec, key: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The JSON of one record for a Zoho update/upsert, only fields Moodle owns."""
    row: dict[str, Any] = {spec.key.zoho: key}
    for name in spec.managed_fields:
        field = spec.fields[name]
        if isinstance(field.zoho, str) and name in fields:
            row[field.zoho] = zoho_value(field, fields[name])
    return row
