"""The path of a field between a system's raw shape and a normalized Record.

``specs/<kind>.toml`` says *which* Zoho field feeds which Moodle column; this module
says *how*: lookups give their ``id`` or ``name``, subforms become canonical JSON lists,
the BTEC criteria fields fold into one list, constants fill facts the source implies,
and every value is normalized by type (``normalize.py``). Providers call these four
functions and nothing else touches Zoho api names.
"""

from __future__ import annotations

import re
from typing import Any

from .model import Address, Record, canonical_json
from .normalize import NormalizeError, normalize
from .specs import FieldSpec, Spec

_CRITERION = re.compile(r"^([PMD])(\d+)_description$", re.IGNORECASE)
_LEVELS = {"P": "pass", "M": "merit", "D": "distinction"}


class MappingError(NormalizeError):
    """A source value does not fit its field; the message names kind, key and field."""


def _lookup_part(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part)
    return value if part == "id" else None


def _subform_rows(value: Any, keep: list[str] | None) -> list[dict[str, Any]] | None:
    if not value:
        return None
    rows = []
    for row in value:
        if not isinstance(row, dict):
            continue
        items = {k: v for k, v in row.items() if (keep is None or k in keep) and not k.startswith("$")}
        items.pop("id", None)  # Zoho's subform row ids are not part of the value
        rows.append({k: _lookup_part(v, "name") if isinstance(v, dict) else v for k, v in items.items()})
    return rows or None


def _btec_criteria(raw: dict[str, Any], names: list[str]) -> list[dict[str, str]] | None:
    """P1…P10, M1…M9, D1…D6 descriptions → ``[{code, level, description}]``, empties dropped."""
    criteria = []
    for name in names:
        text = raw.get(name)
        match = _CRITERION.match(name)
        if not match or text in (None, "", "-None-"):
            continue
        letter = match.group(1).upper()
        criteria.append({"code": f"{letter}{match.group(2)}", "level": _LEVELS[letter], "description": str(text).strip()})
    return criteria or None


def _zoho_value(field: FieldSpec, raw: dict[str, Any]) -> Any:
    if field.const is not None:
        return field.const
    if field.transform == "btec_criteria":
        return _btec_criteria(raw, field.zoho_names)
    value = raw.get(field.zoho) if isinstance(field.zoho, str) else None
    if field.transform == "subform":
        return _subform_rows(value, field.subform_fields)
    if field.type == "lookup_id":
        return _lookup_part(value, "id")
    if field.type == "lookup_name":
        return _lookup_part(value, "name")
    return value


def record_from_zoho(spec: Spec, raw: dict[str, Any]) -> Record:
    """A Zoho record (as the API returns it) → a normalized Record of ``spec``."""
    key = str(raw[spec.key.zoho])
    fields: dict[str, Any] = {}
    for name, field in spec.fields.items():
        if spec.owner_of(name) != "zoho" and field.zoho is None:
            continue  # owned by Moodle and not stored in Zoho: Zoho cannot say anything
        try:
            fields[name] = normalize(field.type, _zoho_value(field, raw))
        except NormalizeError as exc:
            raise MappingError(f"{spec.kind}.{key}: field {name} (Zoho {field.zoho}): {exc}") from exc
    return Record(Address(spec.kind, key), fields, spec.render_label(key, fields))


def record_from_moodle(spec: Spec, row: dict[str, Any]) -> Record:
    """A row of the ``local_mzi_*`` table → a normalized Record of ``spec``."""
    key = str(row[spec.key.moodle])
    fields: dict[str, Any] = {}
    for name, field in spec.fields.items():
        if field.const is not None and name not in row:
            continue
        try:
            fields[name] = normalize(field.type, row.get(name))
        except NormalizeError as exc:
            raise MappingError(f"{spec.kind}.{key}: column {name}: {exc}") from exc
    return Record(Address(spec.kind, key), fields, spec.render_label(key, fields))


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
    """The parameters of one record for ``local_mzi_upsert_<table>``: key plus ``names``."""
    chosen = spec.managed_fields if names is None else names
    row: dict[str, Any] = {spec.key.moodle: key}
    for name in chosen:
        if name in fields:
            row[name] = moodle_value(spec.fields[name].type, fields[name])
    return row


def zoho_value(field: FieldSpec, value: Any) -> Any:
    """A normalized value → what a Zoho write carries (reverse-direction kinds)."""
    if value is None:
        return None
    if field.type == "lookup_id":
        return {"id": value}
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
