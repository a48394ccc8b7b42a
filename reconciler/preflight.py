"""The preflight `plan` and `apply` run before reading a record: do the specs fit the systems?

Why: a spec naming a Zoho field that does not exist reads as empty values, so the plan
blanks that column for every row and apply carries it out with exit 0; a spec naming a
Moodle column the site lacks fails per record, half-way through an apply. Both are
mistakes in configuration, not in data, and are cheap to see up front:

* every Zoho name a Zoho-side spec reads or writes must exist in Zoho's field metadata
  with a data type the spec's type can be read from (:data:`COMPATIBLE`). The metadata
  is cached in the state store for ``[zoho] metadata_max_age_hours``: at most one
  ``settings/fields`` call per module per run, none while the cache is fresh. A check
  that fails on cached metadata asks Zoho again once (the field may be new) before it
  counts as failed.
* every spec's Moodle table and columns must exist on the site, as ``local_mzi_get_info``
  reports them from the site's database (the bundled install.xml when the plugin is too
  old to report them).
* every role an enrolment spec gives must be a course role on the site, as
  ``local_mzi_get_info`` reports them (a plugin too old to report them: a warning);
  otherwise every enrolment of the kind fails, one record at a time.

`mzi doctor` runs the same checks, and more, as a report; :class:`Check` is one finding
of either. A failed preflight raises :class:`PreflightError` listing every problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import MziError, PreflightError
from .providers.moodle_courses import COURSE_FIELDS, COURSE_KEY
from .providers.moodle_enrolments import ENROLMENT_FIELDS, spec_role
from .providers.moodle_forms import FORM_FIELDS
from .providers.moodle_grades import GRADE_FIELDS, GRADE_KEY
from .providers.moodle_users import LINK, USER_LINK_FIELDS
from .providers.zoho_client import ZohoError
from .schema.xmldb import SchemaError, load_schema
from .specs import PARENT, FieldSpec, Spec

if TYPE_CHECKING:
    from .commands import Workspace
    from .state import StateStore

Severity = Literal["error", "warning"]
ZohoFields = dict[str, dict[str, Any]]
#: Moodle table → its column names
Tables = Mapping[str, Collection[str]]
#: the fields of each Moodle resource kind, as its adapter reads and writes them
RESOURCE_FIELDS: dict[str, frozenset[str]] = {"course": COURSE_FIELDS, "user_link": USER_LINK_FIELDS,
                                              "enrolment": ENROLMENT_FIELDS, "assignment_grade": GRADE_FIELDS,
                                              "grading_form": FORM_FIELDS}
#: the key column of each Moodle resource kind that is not keyed by the course idnumber
RESOURCE_KEYS: dict[str, str] = {"assignment_grade": GRADE_KEY}

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
    # a date column may keep the day of a Zoho datetime (the date part in its own zone)
    "date": frozenset({"date", "datetime"}),
    "datetime": frozenset({"datetime"}),
    "json": frozenset({"subform", "multiselectlookup", "text", "textarea"}),
}
#: a transform reads each named Zoho field as this kind of value, whatever the spec's type
TRANSFORM_TYPES: dict[str, frozenset[str]] = {
    "subform": frozenset({"subform"}),
    "btec_criteria": frozenset({"text", "textarea"}),
    "in": _TEXTUAL,
    "not_in": _TEXTUAL,
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
        """A failed error-severity check: what stops a plan, and makes `mzi doctor` exit 1."""
        return not self.ok and self.severity == "error"


# ---------------------------------------------------------------------- the preflight

async def check(ws: "Workspace") -> None:
    """Raise :class:`PreflightError` naming every spec field or column that does not fit."""
    zoho, moodle = await asyncio.gather(zoho_field_checks(ws), moodle_column_checks(ws))
    problems = [c.detail for c in [*zoho, *moodle] if c.blocking]
    if not problems:
        return
    hint = "(run mzi doctor for the full check)"
    if len(problems) == 1:
        raise PreflightError(f"{problems[0]} {hint}")
    raise PreflightError(f"{len(problems)} problems with the specs, found before reading any record {hint}:\n  "
                         + "\n  ".join(problems))


async def zoho_field_checks(ws: "Workspace") -> list[Check]:
    """Field checks of every Zoho-side spec, from cached metadata where it is fresh.

    A module whose cached metadata fails a check is asked for again once: the field may
    have been added in Zoho since the cache was filled.
    """
    specs = zoho_specs(ws.specs.values())
    if not specs:
        return []
    cache = MetadataCache(ws.state, ws.providers["zoho"].client,  # type: ignore[attr-defined]
                          timedelta(hours=ws.config.zoho.metadata_max_age_hours))
    metadata = await cache.get(sorted({s.zoho_module for s in specs}))
    checks = _checks_by_module(specs, metadata)
    doubtful = [m for m, found in checks.items() if m not in cache.fetched and any(c.blocking for c in found)]
    if doubtful:
        metadata |= await cache.fetch(doubtful)
        checks |= _checks_by_module([s for s in specs if s.zoho_module in doubtful], metadata)
    return [c for module in sorted(checks) for c in checks[module]]


def _checks_by_module(specs: Sequence[Spec], metadata: Mapping[str, ZohoFields | MziError]) -> dict[str, list[Check]]:
    """Field checks grouped by Zoho module; a module Zoho could not describe raises its error.

    Only an unknown module is a finding about the spec; any other failure (network,
    credentials) is the system's, and its own error says what to do.
    """
    by_module: dict[str, list[Check]] = {}
    for spec in specs:
        found = metadata[spec.zoho_module]
        if isinstance(found, MziError) and not _unknown_module(found):
            raise found
        by_module.setdefault(spec.zoho_module, []).extend(spec_field_checks(spec, found))
    return by_module


async def moodle_column_checks(ws: "Workspace") -> list[Check]:
    """Column and role checks of every spec against the site (one cached ``get_info`` per command)."""
    info = await ws.providers["moodle"].get_info()  # type: ignore[attr-defined]
    return [*column_checks(ws.specs.values(), site_tables(info)), *role_checks(ws.specs.values(), site_roles(info))]


# ---------------------------------------------------------------------- Zoho metadata

def zoho_specs(specs: Iterable[Spec]) -> list[Spec]:
    """Specs that read from or write to Zoho, in a stable order."""
    return sorted((s for s in specs if "zoho" in (s.source.system, s.target.system)), key=lambda s: s.kind)


async def fetch_metadata(client: Any, modules: Sequence[str]) -> dict[str, ZohoFields | MziError]:
    """Fields by api name for each module (one call each, concurrently), or why not."""
    async def one(module: str) -> ZohoFields | MziError:
        try:
            return _by_name(await client.fields_metadata(module))
        except MziError as exc:
            return exc

    answers = await asyncio.gather(*(one(m) for m in modules))
    return dict(zip(modules, answers))


def _by_name(fields: Iterable[Mapping[str, Any]]) -> ZohoFields:
    return {str(f["api_name"]): dict(f) for f in fields}


def _unknown_module(error: MziError) -> bool:
    return isinstance(error, ZohoError) and error.code == "INVALID_MODULE"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class MetadataCache:
    """Zoho field metadata kept in the state store, fetched at most once per module per run."""

    state: "StateStore"
    client: Any
    max_age: timedelta
    clock: Callable[[], datetime] = _now
    #: modules fetched from Zoho during this run: asking again would return the same
    fetched: set[str] = field(default_factory=set)

    async def get(self, modules: Sequence[str]) -> dict[str, ZohoFields | MziError]:
        """Fresh cached metadata where there is some, fetched (and cached) for the rest."""
        now = self.clock()
        cached: dict[str, ZohoFields | MziError] = {}
        for module in modules:
            entry = self.state.field_metadata(module)
            if entry is not None and now - entry[0] < self.max_age:
                cached[module] = _by_name(entry[1])
        return cached | await self.fetch([m for m in modules if m not in cached])

    async def fetch(self, modules: Sequence[str]) -> dict[str, ZohoFields | MziError]:
        """Ask Zoho (one call per module), and cache what it answered."""
        if not modules:
            return {}
        when = self.clock()
        answers = await fetch_metadata(self.client, modules)
        for module, answer in answers.items():
            self.fetched.add(module)
            if not isinstance(answer, MziError):
                self.state.set_field_metadata(module, list(answer.values()), when)
        return answers


# ---------------------------------------------------------------------- the field checks

def where(spec: Spec) -> str:
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
        named.append((spec.key.columns[0], None, spec.key.zoho))
    for column, field_spec in spec.fields.items():
        if field_spec.through is not None:  # the lookup is the source's; the names are the related module's
            named.append((column, None, field_spec.through.lookup))
        elif field_spec.const is None:
            named += [(column, field_spec, name) for zoho in field_spec.zoho_names
                      if (name := _module_field(zoho, spec)) is not None and name != "id"]
    return named


def _module_field(name: str, spec: Spec) -> str | None:
    """The module's api name a spec's Zoho name stands for: in a subform kind a row's
    column (which Zoho's fields metadata does not describe: ``None``) or ``$parent.<name>``."""
    if spec.subform is None:
        return name
    return name.removeprefix(PARENT) if name.startswith(PARENT) else None


def _subform_check(spec: Spec, at: str, metadata: ZohoFields) -> Check | None:
    """A subform kind's source field exists in the module and is a subform (its columns
    are not in the metadata; a misspelt column fails each row it is read from)."""
    if spec.subform is None:
        return None
    module, meta = spec.zoho_module, metadata.get(spec.subform)
    if meta is None:
        return Check(f"zoho: {spec.kind} source", False,
                     f"{at}: source.subform names {module}.{spec.subform}, which does not exist in Zoho")
    if meta.get("data_type") != "subform":
        return Check(f"zoho: {spec.kind} source", False,
                     f"{at}: source.subform names {module}.{spec.subform}, whose Zoho data_type is "
                     f"{meta.get('data_type')}, not subform")
    return None


def spec_field_checks(spec: Spec, metadata: ZohoFields | MziError) -> list[Check]:
    """One passing check for the spec, or one failing check per field that is wrong."""
    module, at = spec.zoho_module, where(spec)
    if isinstance(metadata, MziError):
        if _unknown_module(metadata):
            return [Check(f"zoho: {spec.kind} fields", False, f"{at}: module {module} does not exist in Zoho")]
        return [Check(f"zoho: {spec.kind} fields", False, f"{at}: cannot read {module}'s fields: {metadata}")]
    failures = [check for column, field_spec, name in _named_fields(spec)
                if (check := _field_check(spec, at, column, field_spec, name, metadata)) is not None]
    failures += [check for check in (_subform_check(spec, at, metadata),) if check is not None]
    if failures:
        return failures
    count = len({name for _, _, name in _named_fields(spec)})
    return [Check(f"zoho: {spec.kind} fields", True, f"{count} fields of {module} exist with compatible types")]


def _field_check(spec: Spec, at: str, column: str, field_spec: FieldSpec | None, name: str,
                 metadata: ZohoFields) -> Check | None:
    """The failure for one named Zoho field, or ``None`` when it exists with a fitting type."""
    module = spec.zoho_module
    label = f"field {column}" if field_spec is not None else (
        f"[key] zoho (column {column})" if name == spec.key.zoho else f"field {column}'s through.lookup")
    meta = metadata.get(name)
    if meta is None:
        return Check(f"zoho: {spec.kind}.{column}", False,
                     f"{at}: {label} names {module}.{name}, which does not exist in Zoho")
    if field_spec is None:
        return None
    data_type = str(meta.get("data_type", ""))
    wanted = TRANSFORM_TYPES[field_spec.transform] if field_spec.transform else COMPATIBLE[field_spec.type]
    if data_type in wanted:
        return None
    as_read = f"transform {field_spec.transform}" if field_spec.transform else f"type {field_spec.type}"
    return Check(f"zoho: {spec.kind}.{column}", False,
                 f"{at}: {label} ({as_read}) maps {module}.{name}, whose Zoho data_type is {data_type}; "
                 f"{as_read} needs {' or '.join(sorted(wanted))}")


# ---------------------------------------------------------------------- the Moodle columns

def site_tables(info: Mapping[str, Any]) -> dict[str, frozenset[str]] | None:
    """The plugin's tables and columns as ``local_mzi_get_info`` reports them for the site;
    ``None`` from a plugin too old to report them."""
    tables = info.get("tables")
    if not isinstance(tables, list):
        return None
    return {str(t["name"]): frozenset(str(c) for c in t.get("columns") or []) for t in tables}


def column_checks(specs: Iterable[Spec], tables: Tables | None = None) -> list[Check]:
    """Every spec's Moodle table and columns exist on the site (``tables``), else in install.xml."""
    if tables is not None:
        source = "on the Moodle site"
    else:
        try:
            schema = load_schema()
        except SchemaError as exc:
            return [Check("moodle: columns", False, str(exc))]
        tables = {name: table.column_names for name, table in schema.tables.items()}
        source = f"in {schema.path.name}"
    return [_columns_check(spec, tables, source) for spec in sorted(specs, key=lambda s: s.kind)]


def _resource_check(spec: Spec, tables: Tables, source: str) -> Check:
    """A resource kind's fields must be ones its adapter reads and writes (not install.xml's);
    a resource kept in a mirror row (user_link) needs that row's key and link columns."""
    name = f"moodle: {spec.kind} fields"
    known = RESOURCE_FIELDS.get(spec.moodle_resource or "", frozenset())
    unknown = sorted(set(spec.fields) - known)
    if spec.moodle_resource == "user_link":
        table = spec.moodle_table
        if spec.key.composite:
            return Check(name, False, f"{where(spec)}: a user link is keyed by its mirror row's one key column")
        if table not in tables:
            return Check(name, False, f"{where(spec)}: table {table} is not {source} (is local_mzi installed and upgraded?)")
        missing = [c for c in (spec.key.moodle, LINK) if c not in tables[table]]
        if missing:
            return Check(name, False, f"{where(spec)}: {table} {source} has no column {', '.join(map(str, missing))}")
    elif spec.moodle_resource == "enrolment":
        try:
            spec_role(spec)
        except MziError as exc:
            return Check(name, False, f"{where(spec)}: {exc}")
    elif spec.key.moodle != RESOURCE_KEYS.get(spec.moodle_resource or "", COURSE_KEY):
        key = RESOURCE_KEYS.get(spec.moodle_resource or "", COURSE_KEY)
        return Check(name, False, f"{where(spec)}: a {spec.moodle_resource} is keyed by {key}, not {spec.key.moodle}")
    if unknown:
        return Check(name, False, f"{where(spec)}: a Moodle {spec.moodle_resource} has no field {', '.join(unknown)} "
                                  f"(mzi knows {', '.join(sorted(known))})")
    return Check(name, True, f"{len(spec.fields)} fields of a Moodle {spec.moodle_resource} mzi reads and writes")


# ---------------------------------------------------------------------- the Moodle roles

def site_roles(info: Mapping[str, Any]) -> dict[str, int] | None:
    """The site's course roles, shortname → id, as ``local_mzi_get_info`` reports them;
    ``None`` from a plugin too old to report them."""
    roles = info.get("roles")
    if not isinstance(roles, list):
        return None
    return {str(r["shortname"]): int(r["id"]) for r in roles}


def spec_roles(specs: Iterable[Spec]) -> dict[str, list[Spec]]:
    """Each role the enrolment specs give (their ``role`` const, as written), with the specs
    giving it. Read raw, not through :func:`spec_role`: a role mzi cannot enrol is the
    fields check's finding; whether the site has it is this one's."""
    given: dict[str, list[Spec]] = {}
    for spec in sorted(specs, key=lambda s: s.kind):
        field = spec.fields.get("role") if spec.moodle_resource == "enrolment" else None
        if field is not None and field.const is not None:
            given.setdefault(str(field.const), []).append(spec)
    return given


def role_checks(specs: Iterable[Spec], roles: Mapping[str, int] | None) -> list[Check]:
    """One check per role the enrolment specs give: the site has it as a course role."""
    given = spec_roles(specs)
    if not given:
        return []
    if roles is None:
        return [Check("moodle: roles", False,
                      f"local_mzi_get_info does not report the site's roles (the plugin is older): not checked that "
                      f"the site has course roles {', '.join(sorted(given))}; upgrade local_mzi to check them",
                      "warning")]
    return [_role_check(role, given[role], roles) for role in sorted(given)]


def _role_check(role: str, specs: Sequence[Spec], roles: Mapping[str, int]) -> Check:
    files = ", ".join(where(s) for s in specs)
    if role in roles:
        return Check(f"moodle: role {role}", True, f"course role id {roles[role]}; {files} gives it")
    return Check(f"moodle: role {role}", False,
                 f"the site has no course role with shortname {role!r}; {files} gives it; "
                 f"create the role or change the spec")


def _columns_check(spec: Spec, tables: Tables, source: str) -> Check:
    if spec.moodle_resource is not None:
        return _resource_check(spec, tables, source)
    table, name = spec.moodle_table, f"moodle: {spec.kind} columns"
    if table not in tables:
        return Check(name, False, f"{where(spec)}: table {table} is not {source} (is local_mzi installed and upgraded?)")
    present = set(tables[table])
    wanted = list(dict.fromkeys([*spec.key.columns, *spec.fields]))
    missing = [c for c in wanted if c not in present]
    if missing:
        return Check(name, False, f"{where(spec)}: {table} {source} has no column {', '.join(missing)}")
    return Check(name, True, f"{len(wanted)} columns of {table} exist {source}")
