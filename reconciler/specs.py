"""Specs: one TOML file per resource kind, validated by pydantic on load.

A spec is data, not code. It says where a kind comes from (``source``), where it goes
(``target``), which field is the key, how each field maps (``[fields.<moodle column>]``
with the Zoho api name, a type, an optional transform, an owner, sensitivity), what the
kind depends on, and what happens on the target when the source record is gone.

Fields are named by their Moodle column, so a reader follows one field from Zoho to
Moodle in one line of TOML: ``city = { zoho = "City", type = "string" }``.

Validation errors name the file, the kind and the field (``specs/student.toml: kind
'student': fields.city.type: …``). Specs shipped with the package live in
``reconciler/_bundled/specs`` in a wheel and in ``specs/`` in a checkout; a user's own
``specs/`` directory (mzi.toml ``specs_dir``) overrides kinds by file name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError
from .normalize import normalizer
from .schema.xmldb import load_schema

if TYPE_CHECKING:
    from .mapping import Readers

FieldType = Literal[
    "string", "text", "email", "picklist", "lookup_id", "lookup_name",
    "int", "bool", "decimal", "date", "datetime", "json",
]
System = Literal["zoho", "moodle"]

#: transforms that turn one or more Zoho fields into one value (see mapping.py)
TRANSFORMS = ("subform", "btec_criteria", "in", "not_in")
#: in a subform kind, ``zoho = "$parent.<api name>"`` reads a field of the row's parent record
PARENT = "$parent."
#: separates the parts of a composite key in an address: ``installment.5847596000000101234:2``
KEY_SEPARATOR = ":"
#: transforms that test one Zoho value against the field's ``values`` and give a bool
MEMBERSHIP_TRANSFORMS = ("in", "not_in")
#: Moodle objects mzi manages through the plugin's own functions rather than a mirror
#: table (``target = { system = "moodle", resource = "course" }``); each has an adapter
#: in ``providers/`` that knows its fields
MOODLE_RESOURCES = ("course", "user_link", "enrolment", "assignment_grade", "grading_form")
#: resources that live in a column of a mirror table, which the endpoint names with ``table``
#: (``resource = "user_link", table = "local_mzi_students"``: the row's ``moodle_user_id``)
RESOURCES_IN_A_TABLE = ("user_link",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    """One side of a spec: a Zoho module, a Moodle mirror table, or a Moodle resource.

    A resource (``course``) is a Moodle object the plugin creates and updates through its
    own functions, not a ``local_mzi_*`` row; its fields are the object's own (see the
    resource's adapter in ``providers/``). A resource kept in a mirror row (``user_link``:
    the row's ``moodle_user_id``) also names that row's ``table``.
    """

    system: System
    module: str | None = Field(None, description="Zoho module api name")
    subform: str | None = Field(None, description="a subform field of `module`: its rows are the records")
    table: str | None = Field(None, description="Moodle table without prefix")
    resource: str | None = Field(None, description="a Moodle object kind instead of a table: " + ", ".join(MOODLE_RESOURCES))
    only: dict[str, list[str]] | None = Field(
        None, description="a Moodle source table: only rows whose column holds one of these values are records")
    skip: dict[str, list[str]] | None = Field(
        None, description="a Moodle source table: rows whose column holds one of these values are not records")
    acknowledged_by: str | None = Field(
        None, description="a Moodle source column the target's own id is written back to: a row holding one has "
                          "been in the target, so when the target no longer has its record it was deleted there "
                          "and is not created again")

    def keeps(self, row: Mapping[str, Any]) -> bool:
        """Whether a row of this endpoint's table is a record of the kind (``only``/``skip``).

        Values compare as text, an empty column as ``""``: ``skip = { status = ["Deleted"] }``
        keeps the rows whose status is anything else, empty included.
        """
        def text(column: str) -> str:
            value = row.get(column)
            return "" if value is None else str(value)

        if self.only and any(text(c) not in values for c, values in self.only.items()):
            return False
        return not (self.skip and any(text(c) in values for c, values in self.skip.items()))

    @property
    def filter_columns(self) -> tuple[str, ...]:
        """The columns read besides the fields: the filters' and ``acknowledged_by``."""
        marks = [self.acknowledged_by] if self.acknowledged_by else []
        return tuple(dict.fromkeys([*(self.only or {}), *(self.skip or {}), *marks]))

    def acknowledged(self, row: Mapping[str, Any]) -> bool:
        """Whether the target once held this row's record (``acknowledged_by`` holds its id)."""
        return self.acknowledged_by is not None and row.get(self.acknowledged_by) not in (None, "", 0, "0")

    @model_validator(mode="after")
    def _names_its_store(self) -> "Endpoint":
        if self.system == "zoho":
            if not self.module:
                raise ValueError("a zoho endpoint needs `module`")
            if self.table or self.resource:
                raise ValueError("a zoho endpoint names a `module`, not a `table` or `resource`")
            if self.only or self.skip or self.acknowledged_by:
                raise ValueError("`only`/`skip`/`acknowledged_by` name columns of a Moodle table; a zoho endpoint "
                                 "reads its module whole")
            return self
        if (self.only or self.skip or self.acknowledged_by) and not self.table:
            raise ValueError("`only`/`skip`/`acknowledged_by` name columns of a Moodle table: name the `table`")
        if self.subform is not None:
            raise ValueError("`subform` names a Zoho subform field; only a zoho endpoint has one")
        if self.module:
            raise ValueError("a moodle endpoint names a `table` or a `resource`, not a `module`")
        if not self.table and not self.resource:
            raise ValueError("a moodle endpoint needs exactly one of `table` (a local_mzi_* mirror table) and `resource` ("
                             + ", ".join(MOODLE_RESOURCES) + ")")
        if self.resource and self.resource not in MOODLE_RESOURCES:
            raise ValueError(f"resource {self.resource!r} is not one mzi manages; known: {', '.join(MOODLE_RESOURCES)}")
        if self.resource in RESOURCES_IN_A_TABLE and not self.table:
            raise ValueError(f"resource {self.resource!r} is kept in a mirror row: name its `table` "
                             "(e.g. table = \"local_mzi_students\")")
        if self.resource and self.table and self.resource not in RESOURCES_IN_A_TABLE:
            raise ValueError("a moodle endpoint needs exactly one of `table` (a local_mzi_* mirror table) and `resource` "
                             f"(resource {self.resource!r} is not kept in a mirror table; only "
                             + ", ".join(RESOURCES_IN_A_TABLE) + " names both)")
        return self


class KeySpec(_Strict):
    """The identity shared by both sides: Zoho's record id and the Moodle key column(s).

    ``moodle`` is one column, or a list of columns for a composite key (the table's
    unique index, e.g. ``["zoho_registration_id", "installment_number"]``). A composite
    key's parts are ordinary fields of the spec (they say where each value comes from
    and its type); the address key is their normalized values joined with ``:``.
    """

    zoho: str = "id"
    moodle: str | tuple[str, ...]

    @field_validator("moodle")
    @classmethod
    def _parts_are_columns(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(value, str):
            return value
        if len(value) < 2:
            raise ValueError("a composite key needs two or more columns; name a single column as a string")
        if len(set(value)) != len(value):
            raise ValueError(f"a composite key names a column twice: {list(value)}")
        return value

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.moodle,) if isinstance(self.moodle, str) else self.moodle

    @property
    def composite(self) -> bool:
        return not isinstance(self.moodle, str)


class Dependency(_Strict):
    """This kind's ``field`` holds the key of a ``kind`` record that must exist first."""

    kind: str
    field: str


class LabelRef(_Strict):
    """A name in the label that stands for another kind's record: the record whose key is
    in ``field`` (``"key"``: this record's own key). When the plan has read that record, its
    label is shown instead of the value this record holds (an enrollment shows the student's
    name, not ``STU-000001``); when it has not (a ``--target`` run), the value stays."""

    kind: str
    field: str


class DeletePolicy(_Strict):
    """What a target row becomes when its source record is gone.

    ``soft``: set ``field`` to ``value`` (the row stays, the dashboard shows the state);
    ``hard``: remove the row; ``keep``: leave it alone and report it.
    """

    policy: Literal["soft", "hard", "keep"] = "soft"
    field: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _soft_needs_field(self) -> "DeletePolicy":
        if self.policy == "soft" and not (self.field and self.value):
            raise ValueError("a soft delete needs `field` and `value`")
        return self


class Through(_Strict):
    """A field read from the record one of the source's lookups points at.

    ``criteria`` of a class's grading form are its unit's: ``through = { lookup = "Unit",
    module = "BTEC" }`` reads the field's ``zoho`` names from the BTEC record in the
    class's ``Unit`` lookup (by id, ≤ 100 records a call, once per read).
    """

    lookup: str = Field(description="a lookup field of the source module")
    module: str = Field(description="the Zoho module that lookup points into")


class FieldSpec(_Strict):
    """One field, named (by the enclosing table) after its Moodle column."""

    zoho: str | list[str] | None = Field(None, description="Zoho api name(s) read or written")
    type: FieldType = "string"
    transform: Literal["subform", "btec_criteria", "in", "not_in"] | None = None
    values: list[str] | None = Field(None, description="for transform in/not_in: the Zoho values tested against")
    owner: System | None = Field(None, description="who owns the value; default: the spec's source")
    sensitive: bool = False
    compare: bool = Field(True, description="false: written along with real changes, never a reason for one")
    create_only: bool = Field(False, description="written when the record is created, never compared or "
                              "updated: the first value of a field the target owns from then on")
    const: str | int | None = Field(None, description="a fixed value, for facts the source implies")
    subform_fields: list[str] | None = Field(None, description="subform columns kept, in Zoho api names")
    through: Through | None = Field(None, description="read `zoho` from the record a lookup of the source points at")
    zoho_type: Literal["datetime"] | None = Field(
        None, description="a date field written to a Zoho datetime field: sent as noon UTC of the day")

    @model_validator(mode="after")
    def _has_a_source(self) -> "FieldSpec":
        if self.transform == "btec_criteria" and not isinstance(self.zoho, list):
            raise ValueError("transform 'btec_criteria' reads a list of Zoho fields: give `zoho = [..]`")
        if isinstance(self.zoho, list) and self.transform != "btec_criteria":
            raise ValueError("a list of Zoho fields needs `transform = \"btec_criteria\"`")
        if self.transform == "subform" and self.type != "json":
            raise ValueError("transform 'subform' produces JSON: set `type = \"json\"`")
        if self.transform in MEMBERSHIP_TRANSFORMS:
            if self.type != "bool" or not isinstance(self.zoho, str) or not self.values:
                raise ValueError(f"transform {self.transform!r} tests one Zoho field against `values` and gives a bool: "
                                 f"set `zoho = \"Field\"`, `values = [..]` and `type = \"bool\"`")
        elif self.values is not None:
            raise ValueError("`values` is only for transform \"in\" or \"not_in\"")
        if self.through is not None and (not self.zoho or self.const is not None):
            raise ValueError("a `through` field reads `zoho` names of the related record: give `zoho`")
        if self.create_only and (self.owner is not None or not self.compare):
            raise ValueError("`create_only` is a field the source sets once and the target owns after: "
                             "leave `owner` and `compare` unset")
        if self.zoho_type == "datetime" and self.type != "date":
            raise ValueError("`zoho_type = \"datetime\"` writes a date to a Zoho datetime field: set `type = \"date\"`")
        if self.type in ("lookup_id", "lookup_name") and not self.zoho:
            raise ValueError(f"a {self.type} field needs the Zoho lookup field in `zoho`")
        return self

    @property
    def zoho_names(self) -> list[str]:
        if self.zoho is None:
            return []
        return list(self.zoho) if isinstance(self.zoho, list) else [self.zoho]


@dataclass(frozen=True)
class FieldMapper:
    """One field compiled once per spec: what mapping needs for every record, decided up front.

    ``scale`` is the ``DECIMALS`` of the field's Moodle ``number`` column in install.xml
    for a decimal field (``None`` otherwise, e.g. amounts kept as text in a ``char``
    column, which keep every place); ``normalize`` already rounds to it, so both sides
    compare at the precision Moodle stores.
    """

    name: str
    field: FieldSpec
    owner: System
    sensitive: bool
    scale: int | None
    normalize: Callable[[Any], Any]


class RowOwnership(_Strict):
    """Fields the *target* owns on some of its rows: those whose columns hold ``when``'s values.

    One table, two origins: ``local_mzi_requests`` mirrors the requests staff make in Zoho
    (Zoho owns every field) and holds the ones students submit in Moodle (``origin =
    moodle``), whose content is Moodle's — ``outbound_request`` carries it to Zoho. On
    such a row the kind reads these fields but never compares or writes them, and the
    plugin's upsert keeps them; ``when`` columns are fields of the spec the target owns,
    so the target's record carries them.
    """

    when: dict[str, list[str]] = Field(description="target columns and the values that make a row the target's")
    fields: list[str] = Field(description="fields the target owns on such rows")

    def applies(self, fields: Mapping[str, Any]) -> bool:
        """Whether a target record with these values is one of the rows (values compare as text)."""
        return all(("" if fields.get(c) is None else str(fields.get(c))) in values for c, values in self.when.items())


class Spec(_Strict):
    """Everything mzi knows about one resource kind."""

    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    label: str = Field("{key}", description="display label, a format string over field names")
    source: Endpoint
    target: Endpoint
    key: KeySpec
    depends_on: list[Dependency] = []
    label_refs: dict[str, LabelRef] = Field(
        {}, description="label placeholders filled with another kind's record label (see LabelRef)")
    delete: DeletePolicy = DeletePolicy(policy="keep")
    drift_marker: str | None = Field(
        None,
        description="a compare=false field holding the source's modification time: when source and "
        "target agree on it, a difference was made on the target side (drift)",
    )
    fields: dict[str, FieldSpec]
    target_owns: RowOwnership | None = Field(
        None, description="fields the target owns on some rows (e.g. requests submitted in Moodle)")
    path: Path | None = Field(None, exclude=True)

    @field_validator("fields")
    @classmethod
    def _field_names_are_columns(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        for name in value:
            if not name.isidentifier() or name.lower() != name:
                raise ValueError(f"field name {name!r} must be a lowercase Moodle column name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Spec":
        if self.source.system == self.target.system:
            raise ValueError("source and target must be different systems")
        if not self.key.composite and self.key.moodle in self.fields:
            raise ValueError(f"the key column {self.key.moodle!r} is implied by [key]; do not list it in [fields]")
        self._check_composite_key()
        self._check_subform_source()
        for dep in self.depends_on:
            if dep.field not in self.fields and dep.field != self.key.moodle:
                raise ValueError(f"depends_on names field {dep.field!r}, which is neither in [fields] nor the key column "
                                 f"{self.key.moodle!r}")
        for name, ref in self.label_refs.items():
            if ref.field != "key" and ref.field not in self.fields:
                raise ValueError(f"label_refs.{name} names field {ref.field!r}, which is not in [fields] (or \"key\")")
        if self.delete.policy == "soft" and self.delete.field not in self.fields:
            raise ValueError(f"delete.field {self.delete.field!r} is not in [fields]")
        if self.drift_marker is not None and self.drift_marker not in self.fields:
            raise ValueError(f"drift_marker {self.drift_marker!r} is not in [fields]")
        self._check_filters()
        self._check_through()
        self._check_row_ownership()
        return self

    def _check_through(self) -> None:
        """Related-record fields are read from Zoho, for a kind read from a Zoho module."""
        through = [n for n, f in self.fields.items() if f.through is not None]
        if not through:
            return
        if self.source.system != "zoho" or self.source.subform is not None:
            raise ValueError(f"field {through[0]!r} reads `through` a Zoho lookup: only a kind whose source is "
                             "a Zoho module (not a subform) can")
        for name in through:
            if name in self.key.columns:
                raise ValueError(f"key column {name!r} cannot be read `through` a lookup")

    @property
    def related(self) -> dict[str, str]:
        """Lookup api name → related module, for the fields read ``through`` a lookup."""
        return {f.through.lookup: f.through.module for f in self.fields.values() if f.through is not None}

    def _check_row_ownership(self) -> None:
        """``target_owns`` names fields the kind writes, recognised by columns the target reads."""
        owns = self.target_owns
        if owns is None:
            return
        if self.target.system != "moodle" or self.target.table is None:
            raise ValueError("`target_owns` marks rows of a Moodle mirror table: the target must name a `table`")
        for column in owns.when:
            field = self.fields.get(column)
            if field is None or (field.owner or self.source.system) != self.target.system:
                raise ValueError(f"target_owns.when names {column!r}: it must be a field the target owns "
                                 f"(`{column} = {{ type = \"string\", owner = \"{self.target.system}\" }}`) so "
                                 "the target's records carry it")
        for name in owns.fields:
            if name not in self.fields:
                raise ValueError(f"target_owns.fields names {name!r}, which is not in [fields]")
            if name in self.key.columns:
                raise ValueError(f"target_owns.fields names the key column {name!r}; a key has no owner but both")

    def _check_filters(self) -> None:
        """``only``/``skip`` choose source rows by columns the table has (install.xml)."""
        if self.target.only or self.target.skip or self.target.acknowledged_by:
            raise ValueError("`only`/`skip`/`acknowledged_by` describe the source's rows; the target is read whole")
        columns = self.source.filter_columns
        if not columns or self.source.table is None:
            return
        table = load_schema().tables.get(self.source.table)
        if table is None:
            return
        known = {column.name for column in table.columns}
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise ValueError(f"source filter names column(s) {', '.join(unknown)}, which {self.source.table} "
                             "does not have (moodle_plugin/db/install.xml)")

    def _check_composite_key(self) -> None:
        """Each part of a composite key is a plain field: one value, read as is, never hidden."""
        if not self.key.composite:
            return
        for part in self.key.columns:
            field = self.fields.get(part)
            if field is None:
                raise ValueError(f"key column {part!r} of the composite key is not in [fields]; "
                                 "each part needs a field saying where its value comes from")
            if field.transform is not None or field.const is not None or isinstance(field.zoho, list):
                raise ValueError(f"key column {part!r} must read one Zoho value as is (no transform, const or list)")
            if field.sensitive:
                raise ValueError(f"key column {part!r} is part of every address and cannot be sensitive")
            if field.type in ("json", "text"):
                raise ValueError(f"key column {part!r} cannot be of type {field.type}")

    def _check_subform_source(self) -> None:
        """A subform kind's rows are told apart by their parent's id and a key of their own."""
        parent_fields = [n for n, f in self.fields.items() if any(z.startswith(PARENT) for z in f.zoho_names)]
        if self.source.subform is None:
            if parent_fields:
                raise ValueError(f"field {parent_fields[0]!r} reads {PARENT}…, which only a source with `subform` has")
            return
        if self.source.subform == self.key.zoho:
            raise ValueError("the subform field cannot also be the key")
        if self.key.zoho != "id":
            raise ValueError("a subform kind's parent is found by its record id: leave key.zoho = \"id\"")
        if not self.key.composite:
            raise ValueError("a subform kind needs a composite key: the parent's id column and the row's own "
                             "column(s), e.g. moodle = [\"zoho_registration_id\", \"installment_number\"]")
        if self.parent_field not in self.key.columns:
            raise ValueError(f"a subform kind needs a key column read from the parent's id "
                             f"(zoho = \"{PARENT}id\"), one of {list(self.key.columns)}")

    @property
    def subform(self) -> str | None:
        """The Zoho subform field whose rows are this kind's records, if it is a subform kind."""
        return self.source.subform if self.source.system == "zoho" else None

    @property
    def parent_field(self) -> str | None:
        """The field holding the parent record's id in a subform kind (``zoho = "$parent.id"``)."""
        return next((n for n, f in self.fields.items() if f.zoho == f"{PARENT}id"), None)

    def key_text(self, values: Mapping[str, Any]) -> str | None:
        """The address key of a record from its key columns' values; ``None`` when a part is empty."""
        parts = [values.get(column) for column in self.key.columns]
        if any(p is None or isinstance(p, (dict, list, bool)) or str(p).strip() == "" for p in parts):
            return None
        return KEY_SEPARATOR.join(str(p) for p in parts)

    def split_key(self, key: str) -> dict[str, str] | None:
        """An address key → its parts by column (split from the right, as the plugin does:
        only the first part may hold a ``:``); ``None`` when it has too few parts."""
        columns = self.key.columns
        parts = key.rsplit(KEY_SEPARATOR, len(columns) - 1) if len(columns) > 1 else [key]
        if len(parts) != len(columns) or any(p == "" for p in parts):
            return None
        return dict(zip(columns, parts))

    def parent_of(self, key: str) -> str | None:
        """The parent's Zoho id in a subform kind's address key (``None``: not a subform kind)."""
        parent = self.parent_field
        if parent is None:
            return None
        parts = self.split_key(key)  # an unreadable row's ``<parent>:?<row>`` splits too
        return parts[parent] if parts is not None else None

    @property
    def zoho_module(self) -> str:
        end = self.source if self.source.system == "zoho" else self.target
        assert end.module is not None
        return end.module

    @property
    def moodle_table(self) -> str:
        end = self.source if self.source.system == "moodle" else self.target
        if end.table is None:
            raise SpecError(f"kind {self.kind!r} manages the Moodle resource {end.resource!r}, not a mirror table")
        return end.table

    @property
    def moodle_resource(self) -> str | None:
        """The Moodle resource (``course``) this kind manages, ``None`` for a mirror-table kind."""
        end = self.source if self.source.system == "moodle" else self.target
        return end.resource

    def owner_of(self, name: str) -> System:
        return self.fields[name].owner or self.source.system

    @cached_property
    def managed_fields(self) -> tuple[str, ...]:
        """Fields the source owns: the ones mzi writes to the target and compares."""
        return tuple(n for n, f in self.fields.items() if self.owner_of(n) == self.source.system)

    @cached_property
    def compared_fields(self) -> tuple[str, ...]:
        return tuple(n for n in self.managed_fields if self.fields[n].compare and not self.fields[n].create_only)

    def compared_for(self, actual: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The fields compared against one target record: ``compared_fields`` less those the
        target owns on that row (``target_owns``)."""
        owns = self.target_owns
        if owns is None or actual is None or not owns.applies(actual):
            return self.compared_fields
        return tuple(n for n in self.compared_fields if n not in owns.fields)

    @cached_property
    def rider_fields(self) -> tuple[str, ...]:
        """``compare = false`` fields: written along with every real update of the record."""
        return tuple(n for n in self.managed_fields if not self.fields[n].compare)

    @cached_property
    def mappers(self) -> tuple[FieldMapper, ...]:
        """Every field compiled (owner, sensitivity, decimal scale, normalizer), in spec order."""
        scales = self._decimal_scales()
        return tuple(
            FieldMapper(name, field, self.owner_of(name), field.sensitive, scales.get(name),
                        normalizer(field.type, scales.get(name)))
            for name, field in self.fields.items()
        )

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without what it compiled (closures do not pickle); rebuilt on first use."""
        state = super().__getstate__()
        state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k not in ("mappers", "readers")}
        return state

    @cached_property
    def readers(self) -> Readers:
        """The fields compiled for reading records (``mapping.Readers``): built on first use,
        once per spec, so no record pays for the owner, transform and type decisions."""
        from .mapping import Readers  # mapping builds on this module

        return Readers(self)

    def _decimal_scales(self) -> dict[str, int]:
        """Places of the Moodle ``number`` column of each decimal field, from install.xml.

        The schema lives only in install.xml; a decimal stored in a ``char`` column, or a
        table install.xml does not define (a spec for a table still to come), has no
        scale and keeps full precision.
        """
        decimals = [name for name, field in self.fields.items() if field.type == "decimal"]
        if not decimals or self.moodle_resource is not None:
            return {}
        table = load_schema().tables.get(self.moodle_table)
        if table is None:
            return {}
        columns = {column.name: column for column in table.columns}
        return {name: columns[name].decimals or 0 for name in decimals
                if name in columns and columns[name].type == "number"}

    @cached_property
    def sensitive_fields(self) -> frozenset[str]:
        return frozenset(n for n, f in self.fields.items() if f.sensitive)

    def render_label(self, key: str, fields: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
        """Fill the label template; a missing value shows as ``?`` rather than failing.

        ``names``: labels of the records ``label_refs`` point at, where they were read; a
        reference without one shows the value this record holds (its own field, or the id).
        """
        values = {name: ("?" if fields.get(name) in (None, "") else fields.get(name)) for name in self.fields}
        values["key"] = key
        for name, ref in self.label_refs.items():
            if name not in self.fields:
                values[name] = key if ref.field == "key" else values.get(ref.field, "?")
        values.update(names or {})
        try:
            return self.label.format(**values)
        except (KeyError, IndexError, ValueError):
            return key


def _format_error(path: Path, kind: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{path}: kind {kind!r}: {where}: {err['msg']}")
    return "\n".join(lines)


def load_spec(path: Path) -> Spec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from exc
    kind = str(data.get("kind", path.stem))
    try:
        return Spec.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise SpecError(_format_error(path, kind, exc)) from None


def bundled_specs_dir() -> Path:
    """The specs that ship with mzi: the checkout's ``specs/`` or the wheel's copy."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "specs"
    return checkout if checkout.is_dir() else here / "_bundled" / "specs"


def load_specs(override_dir: Path | None = None) -> dict[str, Spec]:
    """All specs by kind, bundled ones first, then files of ``override_dir`` replacing them."""
    files = {p.name: p for p in sorted(bundled_specs_dir().glob("*.toml"))}
    if override_dir is not None:
        if not override_dir.is_dir():
            raise SpecError(f"specs directory {override_dir} does not exist")
        files.update({p.name: p for p in sorted(override_dir.glob("*.toml"))})
    specs: dict[str, Spec] = {}
    for path in files.values():
        spec = load_spec(path)
        if spec.kind in specs:
            raise SpecError(f"{path}: kind {spec.kind!r} is already defined in {specs[spec.kind].path}")
        specs[spec.kind] = spec
    _check_dependencies(specs)
    check_ownership(specs)
    return specs


#: one end of a field: (system, store, field) — a Zoho module's api name or a table's column
FieldEnd = tuple[str, str, str]


def _store(end: Endpoint) -> str:
    return (end.module if end.system == "zoho" else end.table or end.resource) or ""


def _written_links(spec: Spec) -> dict[tuple[FieldEnd, FieldEnd], str]:
    """The fields ``spec`` carries from source to target, as (written end, read end) → field name.

    Only what the kind keeps in line: ``create_only`` fields are written once and then
    belong to the target, so they are nobody's ping-pong. A field without one Zoho api
    name (a constant, the BTEC criteria) has no single Zoho end to collide on.
    """
    links: dict[tuple[FieldEnd, FieldEnd], str] = {}
    for name in spec.managed_fields:
        field = spec.fields[name]
        if field.create_only or not isinstance(field.zoho, str) or field.zoho.startswith(PARENT):
            continue
        zoho_end: FieldEnd = ("zoho", spec.zoho_module, field.zoho)
        moodle_end: FieldEnd = ("moodle", _store(spec.source if spec.source.system == "moodle" else spec.target), name)
        written, read = (moodle_end, zoho_end) if spec.target.system == "moodle" else (zoho_end, moodle_end)
        links[(written, read)] = name
    return links


def _rows_disjoint(zoho_to_moodle: Spec, moodle_to_zoho: Spec, name: str) -> bool:
    """The two kinds never hold the same row's ``name``: the Moodle-sourced kind reads only rows
    (``source.only``) on which the Zoho-sourced kind yields the field (``target_owns``)."""
    owns = zoho_to_moodle.target_owns
    only = moodle_to_zoho.source.only or {}
    if owns is None or name not in owns.fields:
        return False
    return all(column in only and set(only[column]) <= set(values) for column, values in owns.when.items())


def check_ownership(specs: Mapping[str, Spec]) -> None:
    """Every field has one owner: no two kinds carry one field in opposite directions.

    If ``request`` wrote Zoho's ``Reason`` into ``local_mzi_requests.reason`` while
    ``outbound_request`` wrote that column back to ``Reason``, a value changed on either
    side would be undone by the other kind, or the two would swap values on every apply.
    Refused at load time, naming both spec files and the field, unless the rows are kept
    apart (``target_owns`` on the one, ``source.only`` on the other).
    """
    seen: dict[tuple[FieldEnd, FieldEnd], tuple[Spec, str]] = {}
    for kind in sorted(specs):
        for link, name in _written_links(specs[kind]).items():
            seen.setdefault(link, (specs[kind], name))
    for (written, read), (spec, name) in sorted(seen.items(), key=lambda item: item[1][0].kind):
        other = seen.get((read, written))
        if other is None or spec.target.system != "moodle":
            continue
        rival, rival_name = other
        if _rows_disjoint(spec, rival, name):
            continue
        raise SpecError(
            f"{spec.path}: kind {spec.kind!r} writes {written[1]}.{written[2]} from {read[1]}.{read[2]}, and "
            f"{rival.path}: kind {rival.kind!r} writes {read[1]}.{read[2]} from {written[1]}.{written[2]}: "
            f"field {name!r} would have two owners (each apply undoing the other). Give it one: "
            f"`owner = \"{rival.source.system}\"` in {spec.kind!r}, or keep the rows apart "
            f"(`target_owns` in {spec.kind!r} and `source.only` in {rival.kind!r})")


def _check_dependencies(specs: dict[str, Spec]) -> None:
    for spec in specs.values():
        for dep in spec.depends_on:
            if dep.kind not in specs:
                raise SpecError(f"{spec.path}: kind {spec.kind!r}: depends_on names unknown kind {dep.kind!r}")
        for name, ref in spec.label_refs.items():
            if ref.kind not in specs:
                raise SpecError(f"{spec.path}: kind {spec.kind!r}: label_refs.{name} names unknown kind {ref.kind!r}")
    order_kinds(specs)  # raises on a cycle


def order_kinds(specs: dict[str, Spec]) -> list[str]:
    """Kinds in dependency order (parents first); ties broken by name so plans are stable."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(kind: str, trail: tuple[str, ...]) -> None:
        if kind in done:
            return
        if kind in visiting:
            raise SpecError(f"dependency cycle: {' -> '.join(trail + (kind,))}")
        visiting.add(kind)
        for dep in sorted(d.kind for d in specs[kind].depends_on):
            visit(dep, trail + (kind,))
        visiting.discard(kind)
        done.append(kind)

    for kind in sorted(specs):
        visit(kind, ())
    return done
