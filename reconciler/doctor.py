"""`mzi doctor`: a read-only preflight of one configured mzi, before the first real apply.

Why: every mistake it looks for would otherwise surface in the middle of an apply, or
never. A spec naming a Zoho field that was renamed reads as empty values and plans a
mass update; a Zoho field of the wrong type fails per record; an upsert key that is not
unique in Zoho is refused by Zoho; a ``[moodle] max_input_vars`` above the server's PHP
limit makes PHP silently drop the tail of every batch. Each is checked against the
systems themselves, read-only: one token refresh, one fields-metadata call per Zoho
module, and two Moodle calls (``core_webservice_get_site_info``, ``local_mzi_get_info``).

The spec field and column checks are the preflight's (``preflight.py``), which `plan`
and `apply` run before reading a record; doctor adds credentials, upsert-key uniqueness
and the plugin's own report, asks Zoho afresh (refreshing the preflight's metadata
cache), and reports every check instead of stopping. Columns are checked against the
site's tables as ``local_mzi_get_info`` reports them (install.xml when Moodle does not),
and the roles the enrolment specs give against the course roles it reports.

A :class:`Check` is one finding. ``severity`` says whether a failure blocks (``error``:
the CLI exits 1) or is advice (``warning``, also used for checks skipped because a check
they depend on failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from .errors import MziError
from .preflight import (
    COMPATIBLE,
    TRANSFORM_TYPES,
    Check,
    MetadataCache,
    Severity,
    ZohoFields,
    column_checks,
    fetch_metadata,
    role_checks,
    site_roles,
    site_tables,
    spec_field_checks,
    zoho_specs,
)
from .specs import Spec

if TYPE_CHECKING:
    from .commands import Workspace

# the field and column checks live in preflight.py (plan and apply run them too); re-exported here
__all__ = ["COMPATIBLE", "TRANSFORM_TYPES", "Check", "Severity", "column_checks", "course_category_checks",
           "fetch_metadata", "max_input_vars_check",
           "moodle_checks", "plugin_checks", "role_checks", "run_checks", "spec_field_checks", "unique_checks", "upsert_keys",
           "zoho_checks"]

#: the plugin whose functions mzi calls
PLUGIN = "local_mzi"
#: DOMAIN: grades are upserted on this field, so Zoho must mark it unique
GRADE_DUPLICATE_CHECK = ("BTEC_Grades", "Moodle_Grade_Composite_Key")


class _MoodleSide(Protocol):
    async def site_info(self) -> dict[str, Any]: ...

    async def get_info(self) -> dict[str, Any]: ...


async def run_checks(ws: "Workspace") -> list[Check]:
    """Every check, Zoho's and Moodle's run concurrently; results in a stable order."""
    moodle_provider: Any = ws.providers["moodle"]
    zoho, moodle = await asyncio.gather(zoho_checks(ws), moodle_checks(moodle_provider, ws.config.moodle.max_input_vars))
    category = await course_category_checks(moodle_provider, ws.specs.values(), ws.config.moodle.course_category_id)
    info = await _plugin_info(moodle_provider)
    columns = column_checks(ws.specs.values(), site_tables(info) if info is not None else None)
    # no roles to check against when Moodle did not answer: the plugin check reports that
    roles = role_checks(ws.specs.values(), site_roles(info)) if info is not None else []
    return [*zoho, *moodle, *category, *columns, *roles]


async def _plugin_info(moodle: _MoodleSide) -> dict[str, Any] | None:
    """``get_info`` (asked already, so cached); ``None`` when Moodle did not answer (reported
    by the plugin check): columns are then checked against install.xml, roles not at all."""
    try:
        return await moodle.get_info()
    except MziError:
        return None


# ---------------------------------------------------------------------- Zoho

async def zoho_checks(ws: "Workspace") -> list[Check]:
    """Credentials, then the fields every Zoho-side spec names, then upsert keys' uniqueness."""
    provider = ws.providers["zoho"]
    client = provider.client  # type: ignore[attr-defined]
    credentials = await _credentials(client)
    if not credentials.ok:
        return [credentials, Check("zoho: fields", False, "skipped: no access to Zoho", "warning")]
    specs = zoho_specs(ws.specs.values())
    upserts = upsert_keys(specs, getattr(provider, "duplicate_check", {}))
    modules = sorted({s.zoho_module for s in specs} | {m for m, _, _ in upserts} | {GRADE_DUPLICATE_CHECK[0]})
    # always asked afresh (doctor is the full check), and kept for the next plan's preflight
    cache = MetadataCache(ws.state, client, timedelta(hours=ws.config.zoho.metadata_max_age_hours))
    metadata = await cache.fetch(modules)
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
        record_name = _record_name(fields[name])
        detail = (f"marked unique ({why})" if unique else
                  f"the record name, which Zoho takes in duplicate_check_fields unmarked ({why})" if record_name else
                  f"not marked unique, but {why}: Zoho refuses it in duplicate_check_fields; in Zoho set "
                  f"{module} → {name} → 'Do not allow duplicate values'")
        checks.append(Check(f"zoho: unique {module}.{name}", unique or record_name, detail))
    return checks


def _record_name(field: Mapping[str, Any]) -> bool:
    """The module's record name (``display_field``) typed in, not numbered: Zoho checks it for
    duplicates of its own accord, so an upsert may name it (a custom module's ``Name``)."""
    return bool(field.get("display_field")) and field.get("data_type") != "autonumber"


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


async def course_category_checks(moodle: Any, specs: Iterable[Spec], category_id: int) -> list[Check]:
    """The category ``[moodle] course_category_id`` names exists (when a spec makes courses):
    otherwise every course create fails, one record at a time, in the middle of an apply."""
    if not any(s.moodle_resource == "course" for s in specs):
        return []
    name = "moodle: course category"
    if category_id == 0:
        return [Check(name, True, "[moodle] course_category_id = 0: new courses go to the category of the "
                                  "plugin's setting (local_mzi | defaultcategory), else Moodle's default")]
    try:
        found = await moodle.course_categories([category_id])
    except MziError as exc:
        return [Check(name, False, f"cannot look up course category {category_id}: {exc}")]
    if any(int(c.get("id", 0)) == category_id for c in found):
        shown = next(c for c in found if int(c.get("id", 0)) == category_id)
        return [Check(name, True, f"category {category_id} ({shown.get('name', '?')}) exists")]
    return [Check(name, False, f"[moodle] course_category_id = {category_id}, but Moodle has no course category with "
                               f"that id (or the web-service user cannot see it): set it to an existing category's id, "
                               f"or 0 for the plugin's setting")]


def max_input_vars_check(server: int, configured: int) -> Check:
    """Batches are sized from mzi.toml; above the server's limit PHP drops their tail silently."""
    if configured <= server:
        return Check("moodle: max_input_vars", True, f"mzi.toml uses {configured}, the server allows {server}")
    return Check("moodle: max_input_vars", False,
                 f"mzi.toml sets [moodle] max_input_vars = {configured} but the server's PHP allows {server}: "
                 f"batches would be truncated; set max_input_vars = {server} in mzi.toml "
                 f"(or raise max_input_vars in the server's php.ini)")
