"""``GET /crm/v8/settings/fields?module=…`` — the org's field metadata, Zoho's way.

Why a module of its own: the answer is long (Zoho's OpenAPI ``fields`` schema requires
some 80 properties per field) and none of it concerns records. What matters is taken
from the packaged ``zoho_fields.json`` (api names, data types, lengths, picklists, lookup
targets, custom or not) and from :mod:`.metadata` (the system fields the export omits,
the fields the sandbox org marks unique). Everything else is the neutral value Zoho
sends for a plain field, shaped so the answer validates against ``fields.json``.

``unique`` is ``{"casesensitive": "false"}`` on a field marked "Do not allow duplicate
values" and ``null`` otherwise, as Zoho answers; `mzi doctor` reads it to check that
upsert's ``duplicate_check_fields`` are allowed.
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from .metadata import AUTONUMBER_PREFIX, METADATA_PATH, SYSTEM_FIELDS, UNIQUE_FIELDS

#: the ``type`` query parameter's values (Zoho: all fields, only used ones, only unused ones)
FIELD_TYPES = ("all", "used", "unused")
#: Zoho's JSON type of a field's value, by data type (``string`` for the rest)
JSON_TYPES = {
    "integer": "integer", "bigint": "string", "double": "double", "currency": "double", "decimal": "double",
    "boolean": "boolean", "lookup": "jsonobject", "ownerlookup": "jsonobject", "subform": "jsonarray",
    "multiselectlookup": "jsonarray", "multiselectpicklist": "jsonarray", "fileupload": "jsonarray",
}
#: Zoho's ``ui_type`` codes for the data types the org uses (1 = single-line text otherwise)
UI_TYPES = {"text": 1, "email": 25, "phone": 33, "picklist": 2, "textarea": 3, "date": 24, "datetime": 333,
            "integer": 32, "double": 38, "currency": 36, "boolean": 301, "lookup": 133, "ownerlookup": 8,
            "autonumber": 1, "subform": 1, "website": 21, "formula": 1}
_ID_BASE = 5847596000000300000
_NONE_MODULE = {"api_name": None, "id": None}


@lru_cache(maxsize=4)
def _export(path: Path = METADATA_PATH) -> dict[str, list[dict[str, Any]]]:
    """The raw export by module; read once (it is the same file :func:`load_metadata` reads)."""
    return json.loads(path.read_text(encoding="utf-8"))["modules"]


def known_module(module: str) -> bool:
    return module in _export()


def _stable_id(*parts: str) -> str:
    """An id that is the same on every run (Zoho's ids are stable too)."""
    return str(_ID_BASE + zlib.crc32("/".join(parts).encode("utf-8")))


def _raw_fields(module: str) -> list[dict[str, Any]]:
    """The export's fields in its order, then system fields it omits (``id`` is never listed)."""
    raw = list(_export()[module])
    present = {f["api_name"] for f in raw}
    for api_name, data_type in SYSTEM_FIELDS.items():
        if api_name != "id" and api_name not in present:
            raw.append({"api_name": api_name, "data_type": data_type, "length": 120, "read_only": True})
    return raw


def field_metadata(module: str, field_type: str = "all") -> list[dict[str, Any]]:
    """Every field of ``module`` as Zoho's Get Fields answers it; ``used``/``all`` are the same
    here because the emulated org has no unused fields."""
    if field_type == "unused":
        return []
    unique = UNIQUE_FIELDS.get(module, frozenset())
    return [_field(module, raw, index, raw["api_name"] in unique) for index, raw in enumerate(_raw_fields(module), 1)]


def _field(module: str, raw: dict[str, Any], sequence: int, unique: bool) -> dict[str, Any]:
    api_name, data_type = raw["api_name"], raw["data_type"]
    read_only = bool(raw.get("read_only", False))
    custom = bool(raw.get("custom_field", False))
    label = api_name.replace("__s", "").replace("_", " ")
    field_id = _stable_id(module, api_name)
    return {
        "id": field_id, "api_name": api_name, "field_label": label, "display_label": label,
        "data_type": data_type, "json_type": JSON_TYPES.get(data_type, "string"),
        "column_name": api_name.upper(), "length": int(raw.get("length") or 0),
        "decimal_place": 2 if data_type in ("currency", "double", "decimal") else None,
        "read_only": read_only, "field_read_only": read_only, "custom_field": custom,
        "system_mandatory": bool(raw.get("required", False)), "visible": True, "static_field": False,
        "virtual_field": False, "webhook": True, "blueprint_supported": not read_only, "businesscard_supported": True,
        "filterable": True, "sortable": api_name in ("Created_Time", "Modified_Time"), "searchable": True,
        "mass_update": not read_only, "available_in_user_layout": True, "display_field": api_name == "Name",
        "pick_list_values_sorted_lexically": False, "separator": False, "number_separator": False,
        "enable_colour_code": False, "colour_code_enabled_by_system": False, "_update_existing_records": False,
        "hipaa_compliance_enabled": False, "created_source": "crm" if custom else "default",
        "type": "used", "display_type": -1, "ui_type": UI_TYPES.get(data_type, 1), "show_type": 7, "category": 0,
        "sequence_number": sequence, "quick_sequence_number": str(sequence),
        "created_time": None, "modified_time": None, "additional_column": None, "default_value": "",
        "customizable_properties": [], "allowed_modules": [], "file_upolad_optionlist": [], "profiles": [],
        "layout_associations": [{"api_name": "Standard__s", "name": "Standard", "id": _stable_id(module, "layout")}],
        "operation_type": {"web_update": not read_only, "api_create": not read_only, "web_create": not read_only,
                           "api_update": not read_only},
        "view_type": {"view": True, "edit": not read_only, "quick_create": False, "create": not read_only},
        "pick_list_values": _picklist(field_id, raw.get("pick_list_values") or []),
        "lookup": _lookup(module, api_name, raw.get("lookup_module")) if data_type == "lookup" else None,
        "autonumber": _autonumber(module, data_type), "auto_number": None,
        "unique": {"casesensitive": "false"} if unique else None,
        "subform": None, "currency": {"rounding_option": "normal", "precision": 2} if data_type == "currency" else None,
        "formula": {"return_type": "text", "expression": ""} if data_type == "formula" else None,
        "textarea": {"type": "large"} if data_type == "textarea" else {},
        "associated_module": dict(_NONE_MODULE), "sub_module": dict(_NONE_MODULE),
        "email_parser": {"fields_update_supported": False, "record_operations_supported": False},
        "refer_from_field": {"id": None, "api_name": None},
        "sharing_properties": {}, "convert_mapping": {},
        "external": {"show": False, "type": None},
        "private": {"restricted": False, "type": None, "export": False},
        "crypt": {"mode": None, "status": None},
        "tooltip": {"name": "", "value": ""},
        "history_tracking": {"module": {}, "duration_configured_field": dict(_NONE_MODULE)},
        "association_details": {"related_field": dict(_NONE_MODULE), "lookup_field": dict(_NONE_MODULE)},
        "hipaa_compliance": {"restricted_in_export": False, "restricted": False},
        "multi_module_lookup": None, "multiselectlookup": None, "rollup_summary": None, "common.picklist": None,
        "multiuserlookup": {"display_label": None, "linking_module": dict(_NONE_MODULE),
                            "connected_module": dict(_NONE_MODULE), "lookup_apiname": None, "api_name": None,
                            "connectedfield_apiname": None, "connectedlookup_apiname": None, "id": None,
                            "record_access": None},
    }


def _picklist(field_id: str, values: list[str]) -> list[dict[str, Any]]:
    return [{"display_value": v, "actual_value": v, "reference_value": v, "sequence_number": n, "type": "used",
             "colour_code": None, "id": _stable_id(field_id, v)} for n, v in enumerate(values, 1)]


def _lookup(module: str, api_name: str, target: str | None) -> dict[str, Any]:
    return {"display_label": target or "", "api_name": api_name, "id": _stable_id(module, api_name, "lookup"),
            "module": {"api_name": target, "id": _stable_id(target or "", "module")},
            "query_details": {}, "revalidate_filter_during_edit": False, "show_fields": []}


def _autonumber(module: str, data_type: str) -> dict[str, Any]:
    """Zoho requires the object on every field; it only means something on an autonumber."""
    if data_type != "autonumber":
        return {"starting_number_length": 0, "prefix": None, "suffix": None, "start_number": None}
    return {"starting_number_length": 6, "prefix": AUTONUMBER_PREFIX.get(module), "suffix": None, "start_number": 1}
