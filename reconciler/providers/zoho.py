"""The Zoho provider: records of a spec's kind, read from and written to Zoho CRM v8.

The engine needs a *complete* desired state, so :meth:`ZohoProvider.read` is a full read
unless it is given ``keys`` (targeted reconcile) or ``since`` (the caller merges).
Incremental work goes through :meth:`ZohoProvider.read_changes`, which returns the
records modified since a watermark *and* the ids Zoho deleted since then — the two facts
a cached desired state needs to stay right. Watermarks live in the state store behind the
tiny :class:`WatermarkStore` protocol; :meth:`ZohoProvider.full_refresh_due` says when the
last full read is older than ``full_refresh_after`` (default 24 h), because
``If-Modified-Since`` alone never notices a record whose change Zoho did not stamp (e.g.
an admin's mass import with workflow off) — a periodic full read heals that.

Only the Zoho fields the spec names are requested (``fields`` is mandatory when listing
and each call costs a credit, so asking for less is free speed).

Writes are the reverse direction (source Moodle, target Zoho: Moodle ids, grades):
``update`` by id in batches of 100, or ``upsert`` when duplicate-check fields are known —
given to :meth:`apply`, configured per kind (``duplicate_check``), or implied by a spec
whose Zoho key is not ``id`` (the key field is then the record's unique external key,
e.g. ``Moodle_Grade_Composite_Key``; Zoho requires it to be marked unique). Every
record gets its own :class:`~reconciler.model.Result`; a refused record never fails
its batch, and a failed call fails only its own batch.

Bulk Read (asynchronous CSV export) is deliberately not used; see :data:`BULK_READ_NOTE`.

**Which read API.** Listings go through Zoho's Query API (COQL, ``read_api = "coql"``,
the default): ≤ 2,000 records a call against the list API's 200, so a full read costs a
tenth of the calls (3 credits a call instead of 1: ~30 % of the credits). COQL does not
return a subform field with its parent. With ``subform_read_api = "coql"`` a kind reading
subform rows (``installment``: the rows of ``BTEC_Registrations.Payment_Schedule``;
``grade``/``moodle_grade``: the ``Learning_Outcomes_Assessm`` rows) queries them from the
subform's own module (``select <row columns>, Parent_Id from <subform module> where id >
… order by id``) and puts each row back into its parent in row-id order, the list API's
shape (:func:`merge_rows`). That is fewer calls but more credits once a parent has more
than ~2 rows (3·(P+R)/2000 > P/200), so by default (``"list"``) such kinds are listed,
rows with their parents. The list API (``GET /crm/v8/<module>``) also stays where COQL
cannot serve — see :data:`COQL_UNSUPPORTED` and :meth:`ZohoProvider.coql_plan`:

* a kind reading every column of a subform's rows (``request``/``outbound_request``'s
  ``Requested_Classes``, no ``subform_fields``): COQL selects named columns only;
* a changed-only read of subform rows: COQL would read the whole subform module to find
  the rows of the few parents changed;
* fields of a type COQL answers differently or not at all (multi-select lookups, file
  and image uploads, owner/user lookups whose list-API value carries name and email).

Kinds of one module read in full by one command (``grade`` and ``moodle_grade``) share
one read of the union of their columns (:meth:`ZohoProvider.sharing_reads`).

Reads by id (a webhook's targeted reconcile, lookups of ``through`` fields, records a
wide read missed) stay on ``GET …?ids=`` — one call per ≤ 100 ids. A lookup's name comes
from a select-column join whose target module the field metadata names; that metadata
is the preflight's, cached in the state store, so it costs no call in a normal run.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from .. import watermarks as marks
from ..batches import Batch, Gate, ResultSink, run_batches
from ..mapping import RELATED, MappingError, record_from_zoho, subform_records, zoho_row, zoho_value
from ..model import Action, Address, Change, Record, Result, canonical_json
from ..specs import PARENT, Spec
from ..watermarks import WatermarkStore, utcnow
from .zoho_client import (
    COQL_MAX_LIMIT,
    MAX_PER_PAGE,
    MAX_WRITE_PER_CALL,
    Channel,
    WriteResult,
    ZohoClient,
    ZohoStats,
    chunked,
    record_name_field,
)

ReadApi = Literal["coql", "list"]
#: Zoho field types COQL cannot return as the list API does: a kind reading one is listed
COQL_UNSUPPORTED = frozenset({"subform", "multiselectlookup", "fileupload", "imageupload", "multiuserlookup",
                              "ownerlookup"})


class FieldMetadataStore(Protocol):
    """Where Zoho's field metadata is cached between runs (the state store implements it)."""

    def field_metadata(self, module: str) -> tuple[datetime, list[dict[str, Any]]] | None: ...

    def set_field_metadata(self, module: str, fields: list[dict[str, Any]], fetched_at: datetime) -> None: ...


@dataclass(frozen=True)
class SubformQuery:
    """How a kind's subform rows are read through COQL: from the subform's own module.

    COQL does not return a subform field with its parent; Zoho keeps the rows as records
    of the subform module, each with the lookup ``Parent_Id`` to its parent. ``field`` is
    the subform field of the parent module the rows are put back into, ``module`` the
    module queried, ``columns`` the row columns read.
    """

    field: str
    module: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class CoqlPlan:
    """How one kind is listed: through COQL with these lookups (field → name field), or not, and why.

    ``fields`` are the parent module's columns queried; ``subform`` (when the kind reads
    subform rows) the second query stream whose rows are merged into their parents.
    """

    use: bool
    lookups: dict[str, str]
    why: str = ""
    fields: tuple[str, ...] = ()
    subform: SubformQuery | None = None


#: Why full refreshes use Get Records and not Bulk Read — measured, see the tests
#: (``tests/providers/test_zoho_calls.py``).
BULK_READ_NOTE = """
Full refresh by Get Records costs ⌈N/200⌉ calls and ⌈N/200⌉ credits per module — measured
equal to that lower bound (test_zoho_calls.py; the demo school on the emulator: 150
students → 6 calls for the three shipped kinds, 1,500 → 39, 10,000 → 258). Bulk Read
costs 1 create + P polls + ⌈N/200,000⌉ downloads = 3 calls with one poll, but Zoho charges
50 credits to create a job. So per module it takes fewer *calls* once N > 600, and fewer
*credits* — what Zoho rations per 24 h — only once ⌈N/200⌉ > 52, i.e. N > 10,400 records.
In the demo school that is BTEC_Enrollments from ~2,600 students on (≈ 4 per student;
40,070 at 10,000 students: 201 credits vs ≈ 52), BTEC_Payments (13,258: 67) and
BTEC_Registrations (10,955: 55, a wash) at 10,000; nothing at today's 1,500. The price:
job latency (seconds to minutes), CSV values instead of JSON lookups, subforms
(Payment_Schedule, Learning_Outcomes_Assessm) needing a second job on the subform module.
So Get Records stays the full-refresh path; Bulk Read is worth adding for BTEC_Enrollments
when the school passes ~2,600 students.

That weighed Bulk Read against the list API. Full reads now go through COQL (module
docstring): ⌈N/2000⌉ calls of 3 credits, fewer calls than one Bulk Read job up to N =
6,000 and fewer credits (3·⌈N/2000⌉ ≤ 52) up to N = 34,000 records in one module — past
every module of the 10,000-student school but BTEC_Enrollments (40,070: 63 credits).
"""




def zoho_fields(spec: Spec) -> list[str]:
    """The Zoho api names ``spec`` reads: every field's ``zoho`` names plus a non-id key.

    A subform kind reads its parent module: the subform field (its rows carry every
    column) and the parent fields its spec names as ``$parent.<api name>``.
    """
    if spec.subform is not None:
        inherited = [name.removeprefix(PARENT) for f in spec.fields.values() for name in f.zoho_names
                     if name.startswith(PARENT)]
        return [n for n in dict.fromkeys([spec.subform, *inherited]) if n != "id"]
    names: list[str] = []
    for f in spec.fields.values():
        if f.through is not None:
            names.append(f.through.lookup)  # the related record's fields are read from its own module
        elif f.const is None:
            names += f.zoho_names
    if spec.key.zoho != "id":
        names.append(spec.key.zoho)
    names = [n for n in dict.fromkeys(names) if n != "id"]
    return names or ["Modified_Time"]


class ZohoProvider:
    """The Provider protocol over :class:`ZohoClient` (``system = "zoho"``)."""

    system = "zoho"

    def __init__(
        self,
        client: ZohoClient,
        *,
        watermarks: WatermarkStore | None = None,
        full_refresh_after: timedelta = timedelta(hours=24),
        duplicate_check: Mapping[str, Sequence[str]] | None = None,
        watermark_overlap: timedelta = timedelta(minutes=5),
        now: Callable[[], datetime] = utcnow,
        read_api: ReadApi = "coql",
        metadata: FieldMetadataStore | None = None,
        subform_read_api: ReadApi = "list",
    ) -> None:
        """``duplicate_check`` maps a kind to its upsert duplicate-check fields;
        ``watermark_overlap`` is subtracted from each watermark so clock skew between
        this host and Zoho re-reads a few records rather than missing any; ``read_api``
        picks COQL or the list API for listings (module docstring), ``metadata`` caches
        the field metadata COQL reads need to know lookups; ``subform_read_api = "coql"``
        also queries subform rows from their own module (fewer calls, more credits when a
        parent has more than ~2 rows: docs/performance.md)."""
        for name, value in (("read_api", read_api), ("subform_read_api", subform_read_api)):
            if value not in ("coql", "list"):
                raise ValueError(f"{name} must be 'coql' or 'list', not {value!r}")
        self.read_api: ReadApi = read_api
        self.subform_read_api: ReadApi = subform_read_api
        self.metadata = metadata
        self._fields_by_module: dict[str, dict[str, dict[str, Any]]] = {}
        self._shared: dict[tuple[str, str | None], _SharedRead] = {}
        self.client = client
        self.watermarks = watermarks
        self.full_refresh_after = full_refresh_after
        self.duplicate_check = dict(duplicate_check or {})
        self.watermark_overlap = watermark_overlap
        self._now = now

    @property
    def stats(self) -> ZohoStats:
        return self.client.stats

    def usage(self) -> dict[str, int]:
        """This run's cost for the run log: calls Zoho processed, credits, HTTP requests incl. retries."""
        http = self.client.stats.http
        return {"calls": self.client.stats.calls, "credits": self.client.stats.credits,
                "records": self.client.stats.records_read, "requests": http.requests, "retries": http.retries,
                "metadata_calls": self.client.stats.by_operation.get("fields_metadata", 0)}

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ reads

    async def read(
        self, spec: Spec, keys: Collection[str] | None = None, since: datetime | None = None,
    ) -> dict[str, Record]:
        """All records of ``spec`` (a full refresh), or only ``keys``, or only those changed after ``since``."""
        if keys is not None:
            return await self._read_keys(spec, keys)
        started = self._now()
        records = await self._list(spec, since)
        if since is None:
            self._mark(spec.kind, started, full=True)
        return records

    async def read_changes(self, spec: Spec, since: datetime | None = None) -> tuple[dict[str, Record], set[str]]:
        """Records modified and Zoho ids deleted after ``since`` (default: the kind's watermark).

        With neither, everything is "changed": all records and every deleted id. The
        watermark advances only when it was the starting point (an explicit ``since``
        may skip a gap the watermark still covers).

        A subform kind's rows have no ids or times of their own: the records are the rows
        of the parents modified since then, and the ids are the *parents* whose rows are
        in scope — those read (all their rows, so a row not among them is gone) and those
        deleted (all their rows are gone).
        """
        mark = since or self._watermark(spec.kind)
        started = self._now()
        parents: set[str] = set()
        records, gone = await asyncio.gather(
            self._list(spec, mark, parents), self.client.deleted(spec.zoho_module, since=mark))
        if since is None:
            self._mark(spec.kind, started, full=mark is None)
        deleted = {str(row["id"]) for row in gone if row.get("id") is not None}
        return records, (parents | deleted) if spec.subform is not None else deleted

    def full_refresh_due(self, spec: Spec) -> bool:
        """True when the last full read of ``spec`` is unknown or older than ``full_refresh_after``."""
        return marks.full_refresh_due(self.watermarks, spec.kind, self._now(), self.full_refresh_after)

    @contextmanager
    def sharing_reads(self, specs: Iterable[Spec]) -> Iterator[None]:
        """Within the block, full reads of ``specs`` that read the same Zoho module (and the
        same subform), all through COQL or all listed, are one read of the union of their
        columns.

        ``grade`` and ``moodle_grade`` both read every BTEC_Grades record with its outcome
        rows; a plan reading both would read the module twice. The first of them to read
        runs the shared read, the other waits for it; each makes its own Records of the
        raw records (a kind reads only the fields it names, so the others' columns are
        inert). The raw records are kept only until the block ends.
        """
        groups: dict[tuple[str, str | None], list[Spec]] = {}
        by_kind = {spec.kind: spec for spec in specs if "zoho" in (spec.source.system, spec.target.system)}
        for spec in by_kind.values():
            groups.setdefault(_share_key(spec), []).append(spec)
        before = self._shared
        self._shared = {**before, **{k: _SharedRead(v) for k, v in groups.items() if len(v) > 1}}
        opened = [shared for key, shared in self._shared.items() if before.get(key) is not shared]
        try:
            yield
        finally:
            self._shared = before
            for shared in opened:
                shared.close()

    async def _list(self, spec: Spec, since: datetime | None, parents: set[str] | None = None) -> dict[str, Record]:
        """Every record listed (``parents`` collects the ids of the Zoho records read)."""
        records: dict[str, Record] = {}
        shared = self._shared.get(_share_key(spec)) if since is None else None
        raws = await shared.raws(self) if shared is not None and spec.kind in shared.kinds else None
        plan = await self.coql_plan(spec)
        pages: AsyncIterator[list[dict[str, Any]]]
        if raws is not None:
            pages = _pages(raws, COQL_MAX_LIMIT)
        elif plan.use and plan.subform is not None and since is None:
            pages = self._query_with_rows(spec.zoho_module, plan, plan.subform)
        elif plan.use and plan.subform is None:
            pages = self.client.query_records(spec.zoho_module, plan.fields, lookups=plan.lookups,
                                              modified_since=since, limit=COQL_MAX_LIMIT)
        else:
            # a changed-only read of subform rows stays listed: its parents are few, and
            # COQL would need every row of the subform module to find theirs
            pages = self.client.list_records(spec.zoho_module, zoho_fields(spec), modified_since=since,
                                             per_page=MAX_PER_PAGE)
        async for page in pages:
            page = await self._with_related(spec, page)
            for raw in page:
                if parents is not None and raw.get("id") is not None:
                    parents.add(str(raw["id"]))
                for record in _records(spec, raw):
                    records[record.address.key] = record
        return records

    async def _read_union(self, specs: Sequence[Spec]) -> list[dict[str, Any]] | None:
        """One full read of the columns ``specs`` read together — all through COQL or all
        listed — or ``None`` when they cannot share one (one queried, another listed)."""
        plans = [await self.coql_plan(spec) for spec in specs]
        if not any(p.use for p in plans):
            names = list(dict.fromkeys(n for spec in specs for n in zoho_fields(spec)))
            return [raw async for page in self.client.list_records(specs[0].zoho_module, names,
                                                                   per_page=MAX_PER_PAGE) for raw in page]
        if not all(p.use for p in plans) or len({p.subform.field if p.subform else None for p in plans}) != 1:
            return None
        union = CoqlPlan(True, {k: v for p in plans for k, v in p.lookups.items()},
                         fields=tuple(dict.fromkeys(f for p in plans for f in p.fields)))
        module = specs[0].zoho_module
        subform = plans[0].subform
        if subform is None:
            pages = self.client.query_records(module, union.fields, lookups=union.lookups, limit=COQL_MAX_LIMIT)
        else:
            columns = tuple(dict.fromkeys(c for p in plans if p.subform for c in p.subform.columns))
            pages = self._query_with_rows(module, union, replace(subform, columns=columns))
        return [raw async for page in pages for raw in page]

    async def _query_with_rows(
        self, module: str, plan: CoqlPlan, subform: SubformQuery,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Parents and their subform rows through two COQL streams, merged as the list API gives them.

        Each row goes to the parent its ``Parent_Id`` names, in row-id order — the order
        Zoho keeps a subform's rows in (ids are given as rows are added; the emulator's
        store keeps them so). A parent without rows gets ``[]``; a row whose parent the
        parent read did not see (created between the two reads) is dropped with it.
        """
        async def parents() -> list[dict[str, Any]]:
            return [raw async for page in self.client.query_records(module, plan.fields, lookups=plan.lookups,
                                                                    limit=COQL_MAX_LIMIT) for raw in page]

        async def rows() -> list[dict[str, Any]]:
            return [row async for page in self.client.query_records(subform.module, [*subform.columns, PARENT_ID],
                                                                    limit=COQL_MAX_LIMIT) for row in page]

        read_parents, read_rows = await asyncio.gather(parents(), rows())
        merged = merge_rows(read_parents, read_rows, subform.field)
        for start in range(0, len(merged), COQL_MAX_LIMIT):
            yield merged[start:start + COQL_MAX_LIMIT]

    async def coql_plan(self, spec: Spec) -> CoqlPlan:
        """Whether ``spec`` is listed through COQL, which of its fields are lookups, and how
        its subform rows are queried.

        The list API is kept for ``read_api = "list"``, any field whose metadata type is in
        :data:`COQL_UNSUPPORTED` (but the one subform field read from its own module), a
        kind reading more than one subform field, and one reading every column of a
        subform's rows (no ``subform_fields``: COQL selects named columns only). A field
        the metadata does not know is read as a plain column (the preflight reports it;
        Zoho would refuse the query).
        """
        if self.read_api != "coql":
            return CoqlPlan(False, {}, "read_api is 'list'")
        target = subform_target(spec)
        if isinstance(target, str):
            return CoqlPlan(False, {}, target)
        if target is not None and self.subform_read_api != "coql":
            return CoqlPlan(False, {}, f"its rows of {target[0]} are listed with their parents "
                                       "(subform_read_api is 'list': fewer credits)")
        names = zoho_fields(spec)
        meta = await self._field_metadata(spec.zoho_module, names)
        subform = None
        if target is not None:
            field, columns = target
            names = [n for n in names if n != field]
            subform = SubformQuery(field, subform_module(field, meta.get(field) or {}), columns)
        lookups: dict[str, str] = {}
        for name in names:
            info = meta.get(name) or {}
            kind = str(info.get("data_type") or "")
            if kind in COQL_UNSUPPORTED:
                return CoqlPlan(False, {}, f"{name} is a {kind} field, which COQL does not return as the list API does")
            if kind == "lookup":
                target = ((info.get("lookup") or {}).get("module") or {}).get("api_name")
                if not target:
                    return CoqlPlan(False, {}, f"the metadata of lookup {name} names no module")
                lookups[name] = record_name_field(str(target))
        return CoqlPlan(True, lookups, fields=tuple(names or ["Modified_Time"]), subform=subform)

    async def _field_metadata(self, module: str, names: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Fields of ``module`` by api name: this run's copy, else the cache if it knows every
        name, else one ``settings/fields`` call (cached for the next run)."""
        known = self._fields_by_module.get(module)
        if known is not None:
            return known
        cached = self.metadata.field_metadata(module) if self.metadata is not None else None
        fields = {str(f.get("api_name")): f for f in cached[1]} if cached is not None else {}
        if cached is None or any(n not in fields for n in names):
            answer = await self.client.fields_metadata(module)
            fields = {str(f.get("api_name")): f for f in answer}
            if self.metadata is not None:
                self.metadata.set_field_metadata(module, answer, self._now())
        self._fields_by_module[module] = fields
        return fields

    async def _with_related(self, spec: Spec, raws: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The raw records with the records their ``through`` lookups point at (``mapping.RELATED``).

        One ``ids`` read per related module and page (≤ 100 ids a call): a page of 200
        classes pointing at 20 units costs one call. A lookup whose record Zoho does not
        have is recorded as missing, and that record is held (blocked) rather than read
        as if the related fields were empty.
        """
        if not spec.related:
            return raws
        names = {lookup: [n for f in spec.fields.values() if f.through is not None and f.through.lookup == lookup
                          for n in f.zoho_names] for lookup in spec.related}
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for lookup, module in spec.related.items():
            ids = sorted({i for i in (_lookup_id(raw.get(lookup)) for raw in raws) if i is not None})
            rows = await self.client.get_by_ids(module, ids, names[lookup]) if ids else []
            found[lookup] = {str(row.get("id")): row for row in rows}
        out = []
        for raw in raws:
            related: dict[str, Any] = {}
            for lookup in spec.related:
                wanted = _lookup_id(raw.get(lookup))
                related[lookup] = None if wanted is None else found[lookup].get(wanted, MISSING)
            out.append({**raw, RELATED: related})
        return out

    async def _read_keys(self, spec: Spec, keys: Collection[str]) -> dict[str, Record]:
        """By id (≤ 100 a call). A kind keyed by another field cannot be fetched by key,
        so it is listed in full and filtered — correct, at ⌈N/2000⌉ calls (⌈N/200⌉ listed)."""
        wanted = {str(k) for k in keys}
        if not wanted:
            return {}
        if spec.subform is not None:
            return await self._read_rows(spec, wanted)
        if spec.key.zoho != "id":
            return {k: r for k, r in (await self._list(spec, None)).items() if k in wanted}
        raws = await self._with_related(spec, await self.client.get_by_ids(spec.zoho_module, sorted(wanted),
                                                                           zoho_fields(spec)))
        records = (r for raw in raws for r in _records(spec, raw))
        return {r.address.key: r for r in records if r.address.key in wanted}

    async def _read_rows(self, spec: Spec, wanted: set[str]) -> dict[str, Record]:
        """Subform rows by key: their parents by id, exploded. A key that is a parent's id
        alone wants every row of it. Unreadable rows of those parents come along (the
        engine must not delete a row it could not read)."""
        whole = {k for k in wanted if spec.split_key(k) is None}
        parents = whole | {p for p in (spec.parent_of(k) for k in wanted - whole) if p is not None}
        raws = await self.client.get_by_ids(spec.zoho_module, sorted(parents), zoho_fields(spec))
        records = [r for raw in raws if str(raw.get("id")) in parents for r in _records(spec, raw)]
        return {r.address.key: r for r in records
                if r.address.key in wanted or r.error or spec.parent_of(r.address.key) in whole}

    def _watermark(self, kind: str) -> datetime | None:
        return marks.since(self.watermarks, kind)

    def _mark(self, kind: str, started: datetime, *, full: bool) -> None:
        marks.mark(self.watermarks, kind, started, self.watermark_overlap, full=full)

    # ------------------------------------------------------------------ writes

    async def apply(
        self, spec: Spec, changes: Sequence[Change], duplicate_check_fields: Sequence[str] | None = None, *,
        on_results: ResultSink | None = None, gate: Gate | None = None,
    ) -> list[Result]:
        """Creates/updates (and soft deletes) of a reverse-direction kind; one Result per change.

        ``duplicate_check_fields`` (else the kind's configured ones, else a non-id key)
        switches creates and updates to upsert; without them updates go by id and a
        create is refused per record — a Zoho id cannot be invented from Moodle. Each call
        of ≤ 100 records is one batch with its own outcome, reported to ``on_results``
        as it lands (:func:`~reconciler.batches.run_batches`).
        """
        dup = list(duplicate_check_fields or self.duplicate_check.get(spec.kind)
                   or ([spec.key.zoho] if spec.key.zoho != "id" else []))
        plan = _WritePlan()
        for change in changes:
            plan.add(spec, change, upsert=bool(dup))
        module = spec.zoho_module
        batches = [self._batch(part, lambda rows: self.client.update(module, rows))
                   for part in chunked(plan.updates, MAX_WRITE_PER_CALL)]
        batches += [self._batch(part, lambda rows: self.client.upsert(module, rows, dup))
                    for part in chunked(plan.upserts, MAX_WRITE_PER_CALL)]
        refused = list(plan.refused.values())
        if refused and on_results is not None:
            on_results(refused)
        done = await run_batches(batches, limit=self.client.concurrency, gate=gate, on_results=on_results)
        results = dict(plan.refused)  # by change, not address: one address may have two changes
        results |= {id(change): result for change, result in zip((c for b in batches for c in b.changes), done)}
        return [results[id(c)] for c in changes]

    @staticmethod
    def _batch(part: Sequence[tuple[Change, dict[str, Any]]],
               write: Callable[[list[dict[str, Any]]], Awaitable[list[WriteResult]]]) -> Batch:
        """One Zoho write call of ``part``; its per-record answers as Results."""
        async def send() -> list[Result]:
            answers = await write([row for _, row in part])
            return [_result(change, answer) for (change, _), answer in zip(part, answers)]

        return Batch([change for change, _ in part], send)


#: a subform row's lookup to its parent record, in every subform module
PARENT_ID = "Parent_Id"


class _SharedRead:
    """One full read several kinds of a command wait for (:meth:`ZohoProvider.sharing_reads`)."""

    def __init__(self, specs: list[Spec]) -> None:
        self.specs = specs
        self.kinds = frozenset(spec.kind for spec in specs)
        self._task: asyncio.Future[list[dict[str, Any]] | None] | None = None

    async def raws(self, provider: ZohoProvider) -> list[dict[str, Any]] | None:
        """The raw records of the union read (started by the first caller), or ``None``."""
        if self._task is None:
            self._task = asyncio.ensure_future(provider._read_union(self.specs))
        return await asyncio.shield(self._task)

    def close(self) -> None:
        """Ends the shared read with the block that opened it.

        The read is shielded from the kinds that wait for it, so when a failed read
        elsewhere cancels them it would run on alone, and its own failure would surface as
        "Task exception was never retrieved" after the command ended (found by the fault
        matrix). Still running: cancelled. Failed: the kinds that awaited it reported it.
        """
        task = self._task
        if task is None:
            return
        if not task.done():
            task.cancel()
        elif not task.cancelled():
            task.exception()


def _share_key(spec: Spec) -> tuple[str, str | None]:
    """What a full read of ``spec`` can be shared by: its module and the subform fields it reads."""
    names = [spec.subform] if spec.subform is not None else \
        [n for f in spec.fields.values() if f.transform == "subform" for n in f.zoho_names]
    return spec.zoho_module, ",".join(names) or None


async def _pages(raws: list[dict[str, Any]], size: int) -> AsyncIterator[list[dict[str, Any]]]:
    for start in range(0, len(raws), size):
        yield raws[start:start + size]


def subform_target(spec: Spec) -> tuple[str, tuple[str, ...]] | str | None:
    """The subform field ``spec`` reads and the row columns it needs; ``None`` without one,
    or why COQL cannot read its rows."""
    if spec.subform is not None:
        columns = [n for f in spec.fields.values() if f.const is None and f.through is None
                   for n in f.zoho_names if not n.startswith(PARENT) and n != "id"]
        return spec.subform, tuple(dict.fromkeys(columns))
    fields = [f for f in spec.fields.values() if f.transform == "subform"]
    if not fields:
        return None
    if len(fields) > 1 or len(fields[0].zoho_names) != 1:
        return "it reads more than one subform field"
    if not fields[0].subform_fields:
        return (f"it reads every column of the rows of {fields[0].zoho_names[0]} (no subform_fields), "
                "and COQL selects named columns only")
    return fields[0].zoho_names[0], tuple(n for n in dict.fromkeys(fields[0].subform_fields) if n != "id")


def subform_module(field: str, meta: Mapping[str, Any]) -> str:
    """The api name of the module holding the rows of subform ``field``: the field metadata's
    ``associated_module`` or ``subform`` module when it names one, else the field's own
    name (Zoho names a subform's module after the field that creates it)."""
    for key in ("associated_module", "subform"):
        named = meta.get(key)
        if isinstance(named, dict):
            name = named.get("api_name") or named.get("module")
            if isinstance(name, str) and name:
                return name
    return field


def merge_rows(parents: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    """``parents`` with their subform rows under ``field``, as the list API returns them.

    Rows go to the parent their ``Parent_Id`` names, in row-id order, without
    ``Parent_Id``; a parent without rows gets ``[]``; rows of a parent not in ``parents``
    are dropped.
    """
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: _id_order(str(r.get("id")))):
        parent = _lookup_id(row.get(PARENT_ID))
        if parent is not None:
            by_parent.setdefault(parent, []).append({k: v for k, v in row.items() if k != PARENT_ID})
    return [{**raw, field: by_parent.get(str(raw.get("id")), [])} for raw in parents]


def _id_order(record_id: str) -> tuple[int, str]:
    """Zoho ids are numeric strings: numerically, anything else after."""
    return (int(record_id), "") if record_id.isdigit() else (1 << 64, record_id)


def _record(spec: Spec, raw: dict[str, Any]) -> Record:
    """One Zoho record as a Record, or as an unreadable one: a bad value fails its record only."""
    try:
        return record_from_zoho(spec, raw)
    except MappingError as exc:
        return Record.unreadable(exc.address, str(exc))


def _records(spec: Spec, raw: dict[str, Any]) -> list[Record]:
    """The Records one Zoho record gives: itself, or for a subform kind its rows.

    A kind keyed by a field of its own (``Moodle_Grade_Composite_Key``: grades Moodle
    pushed) owns only the records that have that key: a grade entered by hand in Zoho,
    with the field empty, is not one of them — not an unreadable one.
    """
    if spec.subform is not None:
        return subform_records(spec, raw)
    if _external_key(spec) and spec.key.zoho in raw and _empty(raw[spec.key.zoho]):
        return []
    if any(related is MISSING for related in raw.get(RELATED, {}).values()):
        # a lookup to a record Zoho no longer has (a unit deleted): what this record would be
        # made of is gone, and the kind that owns the lookup (class → unit) reports it; the
        # target keeps what it has (a grading form stays as it was)
        return []
    return [_record(spec, raw)]


#: a related record a lookup names but Zoho does not have (see ``ZohoProvider._with_related``)
MISSING: dict[str, Any] = {}


def _lookup_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return None if _empty(value) else str(value)


def _external_key(spec: Spec) -> bool:
    return spec.key.zoho != "id" and not spec.key.composite


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "-None-"))


class _WritePlan:
    """Changes sorted into update and upsert rows, and the ones refused outright."""

    def __init__(self) -> None:
        self.updates: list[tuple[Change, dict[str, Any]]] = []
        self.upserts: list[tuple[Change, dict[str, Any]]] = []
        self.refused: dict[int, Result] = {}

    def add(self, spec: Spec, change: Change, *, upsert: bool) -> None:
        key = change.address.key
        if change.action in (Action.CREATE, Action.UPDATE):
            row = zoho_row(spec, key, change.after or {})
            if upsert:
                self.upserts.append((change, row))
            elif change.action is Action.UPDATE:
                self.updates.append((change, row))
            else:
                self._refuse(change, f"{spec.zoho_module} record {key} does not exist in Zoho and Zoho assigns "
                                     "ids; create it in Zoho (or give the kind duplicate_check_fields to upsert)")
        elif change.action is Action.DELETE and spec.delete.policy == "soft" and spec.delete.field:
            target = spec.fields[spec.delete.field]
            if not isinstance(target.zoho, str):
                self._refuse(change, f"delete field {spec.delete.field} has no Zoho field to mark")
                return
            row = {spec.key.zoho: key, target.zoho: zoho_value(target, spec.delete.value)}
            (self.upserts if upsert else self.updates).append((change, row))
        elif change.action is Action.DELETE:
            self._refuse(change, f"mzi never deletes Zoho records (delete policy {spec.delete.policy!r})")
        else:
            self._refuse(change, change.reason or "blocked")

    def _refuse(self, change: Change, why: str) -> None:
        self.refused[id(change)] = Result(change.address, change.action, False, "skipped", why)


_DONE = {Action.CREATE: "created", Action.UPDATE: "updated", Action.DELETE: "deleted"}
#: an upsert says what it did, which may differ from the plan (a create that found the record)
_DONE_BY_ZOHO = {"insert": "created", "update": "updated"}


def _result(change: Change, answer: WriteResult) -> Result:
    """Zoho's per-record answer → Result: ``created``/``updated`` or the Zoho error code."""
    if answer.ok:
        status = _DONE[change.action] if change.action is Action.DELETE or not answer.action else _DONE_BY_ZOHO[answer.action]
        return Result(change.address, change.action, True, status, target_id=answer.id)
    detail = f" {canonical_json(answer.details)}" if answer.details else ""
    return Result(change.address, change.action, False, answer.code or "error", f"{answer.message}{detail}".strip())


# ---------------------------------------------------------------------- notifications

ChannelVerb = Literal["enabled", "renewed", "unchanged", "disabled", "failed"]
#: channel ids in [base, base + CHANNEL_RANGE) belong to this mzi; others are left alone
CHANNEL_RANGE = 1_000


@dataclass(frozen=True)
class ChannelAction:
    """What :func:`reconcile_channels` did about one channel."""

    module: str
    channel_id: int
    action: ChannelVerb
    expiry: datetime | None = None
    error: str = ""


async def reconcile_channels(
    client: ZohoClient,
    modules: Sequence[str],
    notify_url: str,
    token: str,
    channel_id_base: int,
    expiry: datetime,
    *,
    renew_within: timedelta = timedelta(hours=12),
    now: Callable[[], datetime] = utcnow,
) -> list[ChannelAction]:
    """Make Zoho's notification channels match the configured modules — like a plan+apply.

    One channel per module (events ``<module>.all``) with ids from ``channel_id_base``.
    A missing channel is enabled; one expiring within ``renew_within`` or with another
    URL/token is re-subscribed (Zoho renews a channel by enabling it again); one of ours
    for a module no longer configured is disabled; the rest are left alone, so running
    it twice in a row makes one call (the listing) the second time. Enables and renewals
    go in one call. Channels outside ``[base, base + 1000)`` are not ours and never touched.
    """
    existing = [c for c in await client.watch_list() if channel_id_base <= c.channel_id < channel_id_base + CHANNEL_RANGE]
    by_module: dict[str, Channel] = {}
    for channel in existing:
        by_module.setdefault(_channel_module(channel), channel)
    wanted = list(dict.fromkeys(modules))
    free = iter(i for i in range(channel_id_base, channel_id_base + CHANNEL_RANGE)
                if i not in {c.channel_id for c in existing})
    sends: list[tuple[str, ChannelVerb, Channel]] = []
    actions: list[ChannelAction] = []
    for module in wanted:
        current = by_module.get(module)
        desired = Channel(current.channel_id if current else next(free), (f"{module}.all",), notify_url, token, expiry)
        if current is None:
            sends.append((module, "enabled", desired))
        elif _needs_renewal(current, desired, now() + renew_within):
            sends.append((module, "renewed", desired))
        else:
            actions.append(ChannelAction(module, current.channel_id, "unchanged", current.expiry))
    if sends:
        answers = await client.watch_enable([c for _, _, c in sends])
        for (module, verb, channel), answer in zip(sends, answers):
            actions.append(ChannelAction(module, channel.channel_id, verb if answer.ok else "failed", channel.expiry,
                                         "" if answer.ok else f"{answer.code}: {answer.message}"))
    kept = {by_module[m].channel_id for m in wanted if m in by_module}
    stale = [c for c in existing if c.channel_id not in kept]
    if stale:
        await client.watch_disable([c.channel_id for c in stale])
        actions += [ChannelAction(_channel_module(c), c.channel_id, "disabled") for c in stale]
    return actions


def _channel_module(channel: Channel) -> str:
    return channel.events[0].split(".", 1)[0] if channel.events else ""


def _needs_renewal(current: Channel, desired: Channel, horizon: datetime) -> bool:
    if current.notify_url != desired.notify_url or (current.token is not None and current.token != desired.token):
        return True
    if set(current.events) != set(desired.events):
        return True
    return current.expiry is None or current.expiry <= horizon


def full_refresh_calls(records: int, per_page: int = MAX_PER_PAGE) -> int:
    """The lower bound of list-API calls for one full read of ``records``: ⌈N/200⌉ (≥ 1)."""
    return max(1, math.ceil(records / per_page))


def coql_refresh_calls(records: int, limit: int = COQL_MAX_LIMIT) -> int:
    """The COQL calls of one full read of ``records``: ⌈N/2000⌉, at least one (the empty answer)."""
    return max(1, math.ceil(records / limit))
