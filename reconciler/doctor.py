"""`mzi doctor`: a read-only preflight of one configured mzi, before the first real apply.

Why: every mistake it looks for would otherwise surface in the middle of an apply, or
never. A spec naming a Zoho field that was renamed reads as empty values and plans a
mass update; a Zoho field of the wrong type fails per record; an upsert key that is not
unique in Zoho is refused by Zoho; a ``[moodle] max_input_vars`` above the server's PHP
limit makes PHP silently drop the tail of every batch. Each is checked against the
systems themselves, read-only: one token refresh, one fields-metadata call per Zoho
module, and two Moodle calls (``core_webservice_get_site_info``, ``local_mzi_get_info``).

A :class:`Check` is one finding. ``severity`` says whether a failure blocks (``error``:
the CLI exits 1) or is advice (``warning``, also used for checks skipped because a check
they depend on failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .errors import MziError
from .providers.zoho_client import ZohoError
from .schema.xmldb import Schema, SchemaError, load_schema
from .specs import FieldSpec, Spec

if TYPE_CHECKING:
    from .commands import Workspace

Severity = Literal["error", "warning"]
ZohoFields = dict[str, dict[str, Any]]

#: the plugin whose functions mzi calls
PLUGIN = "local_mzi"
#: DOMAIN: grades are upserted on this field, so Zoho must mark it unique
GRADE_DUPLICATE_CHECK = ("BTEC_Grades", "Moodle_Grade_Composite_Key")

_TEXTUAL = frozenset({"text", "textarea", "email", "phone", "website", "autonumber", "picklist", "formula"})
_NUMERIC = frozenset({"integer", "bigint", "double", "decimal", "currency"})
#: Zoho data types each spec field type can be read from and written to (see normalize.py)
COMPATIBLE: dict[str, frozenset[str]] = {
    "string": _TEXTUAL | _NUMERIC,
    "text": _TEXTUAL,
    "email": frozenset({"email", "text"}),
    "picklist": frozenset({"picklist"}),
    # an owner lookup has the same {"id", "name"} shape as a lookup
    "lookup_id": frozenset({"lookup", "ownerlookup"}),
    "lookup_name": frozenset({"lookup", "ownerlookup"}),
    # Moodle ids go back to Zoho in text fields (Student_Moodle_ID …)
    "int": frozenset({"integer", "bigint", "text"}),
    "bool": frozenset({"boolean"}),
    # the org keeps some amounts in text fields (Program_Price, Remaining_Amount)
    "decimal": frozenset({"currency", "decimal", "double", "integer", "text"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"datetime"}),
    "json": frozenset({"subform", "multiselectlookup", "text", "textarea"}),
}
#: a transform reads each named Zoho field as this kind of value, whatever the spec's type
TRANSFORM_TYPES: dict[str, frozenset[str]] = {
    "subform": frozenset({"subform"}),
    "btec_criteria": frozenset({"text", "textarea"}),
}


@dataclass(frozen=True)
class Check:
    """One finding: ``name`` (``zoho: credentials``), whether it passed, and why."""

    name: str
    ok: bool
    detail: str
    severity: Severity = "error"

    @property
    def blocking(self) -> bool:
        """A failed error-severity check: the reason `mzi doctor` exits 1."""
        return not self.ok and self.severity == "error"


class _MoodleSide(Protocol):
    async def site_info(self) -> dict[str, Any]: ...

    async def get_info(self) -> dict[str, Any]: ...


async def run_checks(ws: "Workspace") -> list[Check]:
    """Every check, Zoho's and Moodle's run concurrently; results in a stable order."""
    moodle_provider: Any = ws.providers["moodle"]
    zoho, moodle = await asyncio.gather(zoho_checks(ws), moodle_checks(moodle_provider, ws.config.moodle.max_input_vars))
    return [*zoho, *moodle, *column_checks(ws.specs.values())]


# ---------------------------------------------------------------------- Zoho

def _zoho_specs(specs: Iterable[Spec]) -> list[Spec]:
    return sorted((s for s in specs if "zoho" in (s.source.system, s.target.system)), key=lambda s: s.kind)


async def zoho_checks(ws: "Workspace") -> list[Check]:
    """Credentials, then the fields every Zoho-side spec names, then upsert keys' uniqueness."""
    provider = ws.providers["zoho"]
    client = provider.client  # type: ignore[attr-defined]
    credentials = await _credentials(client)
    if not credentials.ok:
        return [credentials, Check("zoho: fields", False, "skipped: no access to Zoho", "warning")]
    specs = _zoho_specs(ws.specs.values())
    upserts = upsert_keys(specs, getattr(provider, "duplicate_check", {}))
    modules = sorted({s.zoho_module for s in specs} | {m for m, _, _ in upserts} | {GRADE_DUPLICATE_CHECK[0]})
    metadata = await fetch_metadata(client, modules)
    checks = [credentials]
    for spec in specs:
        checks += spec_field_checks(spec, metadata[spec.zoho_module])
    checks += unique_checks(upserts, metadata)
    return checks


async def _credentials(client: Any) -> Check:
    try:
        await client.access_token()
    except MziError as exc:
        return Check("zoho: credentials", False, str(exc))
    return Check("zoho: credentials", True, f"refresh token accepted by {client.accounts_url}")


async def fetch_metadata(client: Any, modules: Sequence[str]) -> dict[str, ZohoFields | MziError]:
    """Fields by api name for each module (one call each, concurrently), or why not."""
    async def one(module: str) -> ZohoFields | MziError:
        try:
            return {str(f["api_name"]): f for f in await client.fields_metadata(module)}
        except MziError as exc:
            return exc

    answers = await asyncio.gather(*(one(m) for m in modules))
    return dict(zip(modules, answers))


def _where(spec: Spec) -> str:
    """The spec's file, relative to the working directory when it is below it."""
    if spec.path is None:
        return f"kind {spec.kind}"
    try:
        return str(spec.path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(spec.path)


def _named_fields(spec: Spec) -> list[tuple[str, FieldSpec | None, str]]:
    """(Moodle column, field spec, Zoho api name) for every Zoho name the spec reads or writes.

    ``id`` is left out: every record has it and the metadata does not list it.
    """
    named: list[tuple[str, FieldSpec | None, str]] = []
    if spec.key.zoho != "id":
        named.append((spec.key.moodle, None, spec.key.zoho))
    for column, field in spec.fields.items():
        if field.const is None:
            named += [(column, field, name) for name in field.zoho_names if name != "id"]
    return named


def spec_field_checks(spec: Spec, metadata: ZohoFields | MziError) -> list[Check]:
    """One passing check for the spec, or one failing check per field that is wrong."""
    module, where = spec.zoho_module, _where(spec)
    if isinstance(metadata, MziError):
        if isinstance(metadata, ZohoError) and metadata.code == "INVALID_MODULE":
            return [Check(f"zoho: {spec.kind} fields", False, f"{where}: module {module} does not exist in Zoho")]
        return [Check(f"zoho: {spec.kind} fields", False, f"{where}: cannot read {module}'s fields: {metadata}")]
    failures = [check for column, field, name in _named_fields(spec)
                if (check := _field_check(spec, where, column, field, name, metadata)) is not None]
    if failures:
        return failures
    count = len({name for _, _, name in _named_fields(spec)})
    return [Check(f"zoho: {spec.kind} fields", True, f"{count} fields of {module} exist with compatible types")]


def _field_check(spec: Spec, where: str, column: str, field: FieldSpec | None, name: str,
                 metadata: ZohoFields) -> Check | None:
    """The failure for one named Zoho field, or ``None`` when it exists with a fitting type."""
    module = spec.zoho_module
    label = f"field {column}" if field is not None else f"[key] zoho (column {column})"
    meta = metadata.get(name)
    if meta is None:
        return Check(f"zoho: {spec.kind}.{column}", False,
                     f"{where}: {label} names {module}.{name}, which does not exist in Zoho")
    if field is None:
        return None
    data_type = str(meta.get("data_type", ""))
    wanted = TRANSFORM_TYPES[field.transform] if field.transform else COMPATIBLE[field.type]
    if data_type in wanted:
        return None
    as_read = f"transform {field.transform}" if field.transform else f"type {field.type}"
    return Check(f"zoho: {spec.kind}.{column}", False,
                 f"{where}: {label} ({as_read}) maps {module}.{name}, whose Zoho data_type is {data_type}; "
                 f"{as_read} needs {' or '.join(sorted(wanted))}")


def upsert_keys(specs: Iterable[Spec], configured: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str]]:
    """(module, field, why) for every field a Zoho upsert will name in ``duplicate_check_fields``.

    Mirrors :meth:`ZohoProvider.apply`: the kind's configured fields, else its non-id key.
    """
    keys: list[tuple[str, str, str]] = []
    for spec in specs:
        if spec.target.system != "zoho":
            continue
        fields = list(configured.get(spec.kind) or ([spec.key.zoho] if spec.key.zoho != "id" else []))
        keys += [(spec.zoho_module, name, f"kind {spec.kind} upserts on it") for name in fields]
    return keys


def unique_checks(upserts: Sequence[tuple[str, str, str]], metadata: Mapping[str, ZohoFields | MziError]) -> list[Check]:
    """Each upsert key must be marked unique, and so must the grade key when the org has it."""
    wanted = list(upserts)
    module, name = GRADE_DUPLICATE_CHECK
    grades = metadata.get(module)
    if isinstance(grades, dict) and name in grades and not any(m == module and f == name for m, f, _ in wanted):
        wanted.append((module, name, "grades from Moodle are upserted on it"))
    checks = []
    for module, name, why in dict.fromkeys(wanted):
        fields = metadata.get(module)
        if not isinstance(fields, dict) or name not in fields:
            continue  # reported by the field checks already
        unique = bool(fields[name].get("unique"))
        detail = (f"marked unique ({why})" if unique else
                  f"not marked unique, but {why}: Zoho refuses it in duplicate_check_fields; in Zoho set "
                  f"{module} → {name} → 'Do not allow duplicate values'")
        checks.append(Check(f"zoho: unique {module}.{name}", unique, detail))
    return checks


# ---------------------------------------------------------------------- Moodle

async def moodle_checks(moodle: _MoodleSide, configured_max_input_vars: int) -> list[Check]:
    """Site and token (``site_info``), then the plugin's own report (``get_info``)."""
    try:
        site = await moodle.site_info()
    except MziError as exc:
        return [Check("moodle: site", False, str(exc)),
                Check(f"moodle: {PLUGIN}", False, "skipped: Moodle did not accept the call", "warning")]
    checks = [Check("moodle: site", True, f"{site.get('sitename', '?')}, Moodle {site.get('release', '?')}: "
                                          f"token accepted for user {site.get('username', '?')}")]
    try:
        info = await moodle.get_info()
    except MziError as exc:
        return [*checks, Check(f"moodle: {PLUGIN}", False,
                               f"not installed, or local_mzi_get_info is not in service 'mzi': {exc}")]
    return [*checks, *plugin_checks(info, configured_max_input_vars)]


def plugin_checks(info: Mapping[str, Any], configured_max_input_vars: int) -> list[Check]:
    """What ``local_mzi_get_info`` reports: version, PHP's input limit, the manage capability."""
    return [
        Check(f"moodle: {PLUGIN}", info.get("component") == PLUGIN,
              f"version {info.get('version')} ({info.get('release', '?')})" if info.get("component") == PLUGIN
              else f"local_mzi_get_info answered for component {info.get('component')!r}"),
        max_input_vars_check(int(info.get("maxinputvars") or 0), configured_max_input_vars),
        Check("moodle: canmanage", bool(info.get("canmanage")),
              "the token's user holds local/mzi:manage" if info.get("canmanage") else
              "the token's user lacks local/mzi:manage: give the mzi web-service user's role that capability"),
    ]


def max_input_vars_check(server: int, configured: int) -> Check:
    """Batches are sized from mzi.toml; above the server's limit PHP drops their tail silently."""
    if configured <= server:
        return Check("moodle: max_input_vars", True, f"mzi.toml uses {configured}, the server allows {server}")
    return Check("moodle: max_input_vars", False,
                 f"mzi.toml sets [moodle] max_input_vars = {configured} but the server's PHP allows {server}: "
                 f"batches would be truncated; set max_input_vars = {server} in mzi.toml "
                 f"(or raise max_input_vars in the server's php.ini)")


def column_checks(specs: Iterable[Spec], schema: Schema | None = None) -> list[Check]:
    """Every spec's Moodle table and columns exist in the plugin's install.xml."""
    try:
        schema = schema or load_schema()
    except SchemaError as exc:
        return [Check("moodle: columns", False, str(exc))]
    return [_columns_check(spec, schema) for spec in sorted(specs, key=lambda s: s.kind)]


def _columns_check(spec: Spec, schema: Schema) -> Check:
    table, name = spec.moodle_table, f"moodle: {spec.kind} columns"
    if table not in schema.tables:
        return Check(name, False, f"{_where(spec)}: table {table} is not in {schema.path.name}")
    present = set(schema.tables[table].column_names)
    wanted = [spec.key.moodle, *spec.fields]
    missing = [c for c in wanted if c not in present]
    if missing:
        return Check(name, False, f"{_where(spec)}: {table} in {schema.path.name} has no column "
                                  f"{', '.join(missing)}")
    return Check(name, True, f"{len(wanted)} columns of {table} exist in {schema.path.name}")
