"""The emulated org's modules and fields, read from the real org's metadata export.

``zoho_fields.json`` beside this module is a verbatim copy of
``shared/reference/zoho_fields.json`` (a test keeps the two identical). It is bundled so
the emulator works from an installed wheel, where ``shared/`` does not exist.

The emulator needs a few facts the export does not state but Zoho implies, kept here:
which field is a module's record name (what a lookup's ``name`` shows), the system
fields every record has, and which fields are marked unique ("Do not allow duplicate
values") in the sandbox org — the condition Zoho puts on ``duplicate_check_fields``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

METADATA_PATH = Path(__file__).with_name("zoho_fields.json")

#: the field whose value is a record's name (shown in lookups and the deleted list)
NAME_FIELDS = {"Products": "Product_Name"}

#: fields the sandbox org marks "Do not allow duplicate values". The DOMAIN requires
#: Moodle_Grade_Composite_Key to be unique so grades can be upserted on it.
UNIQUE_FIELDS: dict[str, frozenset[str]] = {"BTEC_Grades": frozenset({"Moodle_Grade_Composite_Key"})}

#: fields every Zoho record carries whether the export lists them or not
SYSTEM_FIELDS: dict[str, str] = {
    "id": "bigint", "Created_Time": "datetime", "Modified_Time": "datetime",
    "Created_By": "ownerlookup", "Modified_By": "ownerlookup", "Owner": "ownerlookup",
}

#: autonumber prefixes, so numbers read like the school's (``STU-000123``)
AUTONUMBER_PREFIX = {
    "BTEC_Students": "STU-", "BTEC_Registrations": "REG-", "BTEC_Enrollments": "ENR-",
    "BTEC_Classes": "CLS-", "BTEC_Payments": "PAY-", "BTEC_Grades": "GRD-", "Products": "PRG-",
}


@dataclass(frozen=True)
class FieldMeta:
    """One field as the metadata API describes it."""

    api_name: str
    data_type: str
    read_only: bool = False
    required: bool = False
    lookup_module: str | None = None
    picklist: tuple[str, ...] = ()
    length: int | None = None


@dataclass(frozen=True)
class ModuleMeta:
    """One module: its fields by api name and the facts derived from them."""

    api_name: str
    fields: dict[str, FieldMeta] = field(default_factory=dict)

    @property
    def name_field(self) -> str:
        return NAME_FIELDS.get(self.api_name, "Name")

    @property
    def autonumber_fields(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields.values() if f.data_type == "autonumber")

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f.api_name for f in self.fields.values() if f.required)

    @property
    def unique_fields(self) -> frozenset[str]:
        return UNIQUE_FIELDS.get(self.api_name, frozenset())

    def picklist(self, api_name: str) -> tuple[str, ...]:
        meta = self.fields.get(api_name)
        return meta.picklist if meta else ()


def _field(raw: dict[str, Any]) -> FieldMeta:
    return FieldMeta(
        api_name=raw["api_name"],
        data_type=raw["data_type"],
        read_only=bool(raw.get("read_only", False)),
        required=bool(raw.get("required", False)),
        lookup_module=raw.get("lookup_module"),
        picklist=tuple(raw.get("pick_list_values", ())),
        length=raw.get("length"),
    )


@lru_cache(maxsize=4)
def load_metadata(path: Path = METADATA_PATH) -> dict[str, ModuleMeta]:
    """Every module of the org by api name, system fields added where the export omits them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    modules: dict[str, ModuleMeta] = {}
    for name, raw_fields in data["modules"].items():
        fields = {f["api_name"]: _field(f) for f in raw_fields}
        for api_name, data_type in SYSTEM_FIELDS.items():
            fields.setdefault(api_name, FieldMeta(api_name, data_type, read_only=True))
        modules[name] = ModuleMeta(name, fields)
    return modules
