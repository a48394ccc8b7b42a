"""The Engine: read both sides, diff, order, apply — one code path for every caller.

``mzi plan``, ``mzi apply``, ``mzi apply --target`` and the webhook worker all come
here. A targeted run is the same run with ``keys`` passed down to the providers, never a
separate implementation: a webhook that names ``student.123`` gets exactly what
``mzi apply --target student.123`` would do.

The engine knows nothing of Zoho or Moodle; it asks the provider whose ``system``
matches a spec's source for desired Records and the one matching its target for actual
Records, and hands the target provider the Changes.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace

from .batches import Gate, ResultSink, gather_reads, not_attempted
from .diff import Known, blocked_reason, compared_fingerprint, dependency_value, diff_kind, is_retired
from .errors import MziError, PlanError, StalePlan, TerminalError, TransientError
from .follow_up import follow_up_kinds, follow_up_targets
from .labels import name_references
from .model import Action, Address, Change, Record, Result
from .plan import Plan, order_changes, specs_hash, targets_by_kind
from .progress import Progress, Silent
from .providers.base import Provider, Resolver
from .specs import Spec


@dataclass(frozen=True)
class Safety:
    """The mass-change guards: enrol_database's ``preventfullunenrol``, generalised.

    One limit serves both: how many of a kind's live records one apply may delete, and
    how many may have one field emptied (a renamed Zoho field reads as empty everywhere).
    """

    max_delete_fraction: float = 0.2
    max_delete_floor: int = 10

    def allowed_deletes(self, actual_count: int) -> int:
        return max(self.max_delete_floor, int(actual_count * self.max_delete_fraction))


#: how the plan's warnings tell apply to refuse; the CLI flag that overrides them
MASS_CHANGE_FLAG = "--allow-mass-change"

#: allocations (less deallocations) between two young-generation collections while a plan
#: or an apply runs; CPython's default is 700 (see :func:`bulk_collection`)
BULK_GC_THRESHOLD = 50_000
#: blocks inside :func:`bulk_collection` now, and the thresholds to restore when none is
_bulk_depth = 0
_saved_thresholds: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def bulk_collection() -> Iterator[None]:
    """Run the block with far fewer passes of the cyclic garbage collector.

    Why: a plan holds a large heap that lives as long as the run — the specs, every record
    read, the changes — and makes few reference cycles (records, values and changes are
    trees; freeing them is reference counting's work). CPython's collector, tuned for
    short-lived objects, collects the young generation every 700 net allocations and
    re-scans the whole heap each time it grew by a quarter: at 1,500 students that was
    2.8 s of a 12.8 s plan's CPU (3,390 young, 308 middle and 12 full collections), and
    half the CPU of mapping a Zoho record. Here the young generation waits for
    :data:`BULK_GC_THRESHOLD` allocations: 67, 6 and 0 collections, 0.55 s, with the peak
    RSS unchanged (405 → 412 MB; benchmarks/cpu_profile_results.md). What is alive when
    the block starts (modules, specs, configuration) is also frozen out of the
    collector's sight (``gc.freeze``), which saves the odd full collection. Cycles are
    still collected, only later, so memory stays bounded.

    The previous thresholds come back and frozen objects are unfrozen when the block
    ends; of nested or overlapping blocks (an apply that plans, the webhook worker's
    targeted applies side by side), the first to start sets it up and the last to end
    restores it.
    """
    global _bulk_depth, _saved_thresholds
    if _bulk_depth == 0:
        _saved_thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(BULK_GC_THRESHOLD, *_saved_thresholds[1:])
    _bulk_depth += 1
    try:
        yield
    finally:
        _bulk_depth -= 1
        if _bulk_depth == 0:
            gc.set_threshold(*_saved_thresholds)
            gc.unfreeze()


@dataclass
class Snapshot:
    """Both sides of one kind as read for a plan."""

    desired: dict[str, Record]
    actual: dict[str, Record]


class Engine:
    def __init__(self, specs: Mapping[str, Spec], providers: Mapping[str, Provider], safety: Safety | None = None,
                 progress: Progress | None = None) -> None:
        self.specs = dict(specs)
        self.providers = dict(providers)
        self.safety = safety or Safety()
        #: told what is read and applied as it happens (a display on stderr, or log events)
        self.progress: Progress = progress or Silent()
        for spec in self.specs.values():
            for system in (spec.source.system, spec.target.system):
                if system not in self.providers:
                    raise MziError(f"kind {spec.kind!r} needs a {system} provider, and none is configured")

    # ---------------------------------------------------------------- reading
    def _source(self, spec: Spec) -> Provider:
        return self.providers[spec.source.system]

    def _target(self, spec: Spec) -> Provider:
        return self.providers[spec.target.system]

    async def _read_kind(self, spec: Spec, keys: set[str] | None) -> Snapshot:
        if keys is not None and not keys:
            return Snapshot({}, {})
        parents = _parent_keys(spec, keys)
        if parents:
            return await self._read_rows_of(spec, keys or set(), parents)
        self.progress.reading(spec.kind)
        desired, actual = await gather_reads(self._read_desired(spec, keys), self._read_actual(spec, keys))
        return Snapshot(desired, actual)

    async def _read_desired(self, spec: Spec, keys: Collection[str] | None) -> dict[str, Record]:
        records = await self._source(spec).read(spec, keys)
        self.progress.read(spec.kind, spec.source.system, len(records))
        return await self._resolve(spec, records)

    async def _read_actual(self, spec: Spec, keys: Collection[str] | None = None) -> dict[str, Record]:
        records = await self._target(spec).read(spec, keys)
        self.progress.read(spec.kind, spec.target.system, len(records))
        return records

    async def _resolve(self, spec: Spec, desired: dict[str, Record]) -> dict[str, Record]:
        """Desired Records completed by the target where it has facts to add (:class:`Resolver`),
        all of one read at once so the target can batch its look-ups."""
        target = self._target(spec)
        if not desired or not isinstance(target, Resolver):
            return desired
        return await target.resolve(spec, desired)

    async def _read_changes(self, spec: Spec) -> tuple[set[str] | None, Snapshot]:
        """Only what the source changed since its watermark (``None`` scope: read in full).

        Falls back to a full read when the source cannot read changes or a full refresh is
        due (``[zoho] full_refresh_after_hours``): Moodle-side drift is only seen by full reads.
        """
        source = self._source(spec)
        read_changes = getattr(source, "read_changes", None)
        due = getattr(source, "full_refresh_due", lambda _spec: True)
        if read_changes is None or due(spec):
            return None, await self._read_kind(spec, None)
        changed, deleted = await read_changes(spec)
        self.progress.read(spec.kind, spec.source.system, len(changed))
        changed = await self._resolve(spec, changed)
        if spec.subform is not None:
            return await self._subform_changes(spec, changed, deleted)
        keys = set(changed) | set(deleted)
        actual = await self._read_actual(spec, keys) if keys else {}
        return keys, Snapshot({k: r for k, r in changed.items()}, actual)

    async def _subform_changes(self, spec: Spec, rows: dict[str, Record], parents: set[str]) -> tuple[set[str], Snapshot]:
        """A subform kind's changes: every row, on both sides, of the ``parents`` the source
        read or saw deleted — a row missing from a re-read parent is gone from Zoho.

        The target cannot be asked for "the rows of registration X" by key, so its table
        is read in full (paged, no Zoho credit spent) and filtered by parent.
        """
        everything = await self._read_actual(spec)
        actual = {k: r for k, r in everything.items() if spec.parent_of(k) in parents}
        return set(rows) | set(actual), Snapshot(dict(rows), actual)

    async def _read_rows_of(self, spec: Spec, keys: set[str], parents: set[str]) -> Snapshot:
        """A subform kind targeted by parent (``installment.<registration id>``): every row of
        those parents on both sides, plus any rows named by their own key. The source reads
        the parents by id; the target's table is read in full and filtered, as for
        ``--changed-only`` (it cannot be asked for a parent's rows by key)."""
        desired, everything = await gather_reads(self._read_desired(spec, keys), self._target(spec).read(spec))
        actual = {k: r for k, r in everything.items() if k in keys or spec.parent_of(k) in parents}
        return Snapshot(desired, actual)

    async def _read(self, scope: dict[str, set[str] | None]) -> dict[str, Snapshot]:
        """Every kind of ``scope`` read at once; a provider that can share one read among
        kinds read in full (``sharing_reads``: Zoho's kinds of one module) is told which."""
        kinds = sorted(scope)
        whole = [self.specs[k] for k in kinds if scope[k] is None]
        with ExitStack() as stack:
            for provider in {id(p): p for p in self.providers.values()}.values():
                share = getattr(provider, "sharing_reads", None)
                if share is not None:
                    stack.enter_context(share(whole))
            snapshots = await gather_reads(*(self._read_kind(self.specs[k], scope[k]) for k in kinds))
        return dict(zip(kinds, snapshots))

    def _dependency_keys(self, kind: str, snap: Snapshot) -> dict[str, set[str]]:
        wanted: dict[str, set[str]] = {}
        spec = self.specs[kind]
        for dep in spec.depends_on:
            for record in snap.desired.values():
                value = dependency_value(spec, dep, record)
                if value is not None:
                    wanted.setdefault(dep.kind, set()).add(str(value))
        return wanted

    def _present(self, kind: str, snap: Snapshot) -> tuple[set[str], set[str]]:
        """(keys a dependency may point at, keys that exist only as soft-deleted target rows)."""
        spec = self.specs[kind]
        retired = {k for k, r in snap.actual.items() if k not in snap.desired and is_retired(spec, r)}
        wanted = {k for k, r in snap.desired.items() if not r.blocked}  # a held record is no parent yet
        return (wanted | set(snap.actual)) - retired, retired

    async def _known(self, scope: dict[str, set[str] | None],
                     snapshots: dict[str, Snapshot]) -> tuple[Known, dict[str, set[str]]]:
        """Keys that exist per kind (in the source, or live in the target) — what a
        dependency may point at — and the keys that exist only as soft-deleted rows.

        In a scoped run (``--target``, ``--changed-only``) dependencies outside the scope
        are read on both sides; a parent that exists only in the source is pulled into
        the scope, so it is created before its child instead of the child landing in
        Moodle alone. Repeats for grandparents.
        """
        known: dict[str, set[str]] = {}
        retired: dict[str, set[str]] = {}
        for kind, snap in snapshots.items():
            known[kind], retired[kind] = self._present(kind, snap)
        for _ in range(len(self.specs)):
            missing: dict[str, set[str]] = {}
            for kind, snap in snapshots.items():
                for dep_kind, keys in self._dependency_keys(kind, snap).items():
                    if scope.get(dep_kind, set()) is None:
                        continue  # read in full already
                    unseen = keys - known.get(dep_kind, set()) - retired.get(dep_kind, set())
                    if unseen:
                        missing.setdefault(dep_kind, set()).update(unseen)
            if not missing:
                break
            extra = await self._read({k: v for k, v in missing.items()})
            for kind, snap in extra.items():
                live, gone = self._present(kind, snap)
                known.setdefault(kind, set()).update(live)
                retired.setdefault(kind, set()).update(gone)
                to_create = {k: r for k, r in snap.desired.items() if k not in snap.actual}
                if to_create:
                    here = snapshots.setdefault(kind, Snapshot({}, {}))
                    here.desired.update(to_create)
                    scope[kind] = (scope.get(kind) or set()) | set(to_create)
        return known, retired

    def _live(self, spec: Spec, actual: Mapping[str, Record]) -> int:
        """Target records not already soft-deleted: the base the mass-delete limit is taken of."""
        return sum(1 for r in actual.values() if not is_retired(spec, r))

    # ---------------------------------------------------------------- planning
    def _scope(self, targets: Sequence[Address] | None, kinds: Sequence[str] | None,
               whole: Sequence[str] = ()) -> dict[str, set[str] | None]:
        if targets:
            grouped: dict[str, set[str] | None] = dict(targets_by_kind(list(targets)))
            unknown = sorted(set(grouped) - set(self.specs))
            if unknown:
                raise MziError(f"unknown kind(s) in --target: {', '.join(unknown)}; known: {', '.join(sorted(self.specs))}")
            return grouped | {k: None for k in whole if k in self.specs}
        chosen = list(kinds) if kinds else list(self.specs)
        unknown = sorted(set(chosen) - set(self.specs))
        if unknown:
            raise MziError(f"unknown kind(s): {', '.join(unknown)}; known: {', '.join(sorted(self.specs))}")
        return {k: None for k in chosen}

    async def _mass_delete_warnings(self, spec: Spec, changes: list[Change], snap: Snapshot, full: bool) -> list[str]:
        """Warn (and so make apply refuse) when a kind would lose too many live records.

        Explicit ``--target`` runs name their addresses and are not guarded; every other
        run is, ``--changed-only`` included — there the live count needs a full read of the
        target, made only when the deletes exceed the floor.
        """
        deletes = sum(1 for c in changes if c.action is Action.DELETE)
        if deletes <= self.safety.max_delete_floor:
            return []
        actual = snap.actual if full else await self._target(spec).read(spec)
        live = self._live(spec, actual)
        allowed = self.safety.allowed_deletes(live)
        if deletes > allowed:
            return [f"{spec.kind}: {deletes} of {live} live records would be deleted (limit {allowed}); "
                    f"apply refuses this unless {MASS_CHANGE_FLAG}"]
        return []

    async def _mass_blank_warnings(self, spec: Spec, changes: list[Change], snap: Snapshot, full: bool) -> list[str]:
        """Warn when one field would be emptied on too many live records of a kind.

        A Zoho field renamed or removed under a spec reads as empty on every record; the
        preflight catches the known cases, this guard catches the rest before Moodle
        loses the data.
        """
        emptied: dict[str, int] = {}
        for change in changes:
            if change.action is Action.UPDATE:
                for delta in change.deltas:
                    if delta.old is not None and delta.new is None:
                        emptied[delta.name] = emptied.get(delta.name, 0) + 1
        over = {name: n for name, n in emptied.items() if n > self.safety.max_delete_floor}
        if not over:
            return []
        live = self._live(spec, snap.actual if full else await self._target(spec).read(spec))
        allowed = self.safety.allowed_deletes(live)
        return [f"{spec.kind}: {name} would be emptied on {n} of {live} live records (limit {allowed}); "
                f"apply refuses this unless {MASS_CHANGE_FLAG}"
                for name, n in sorted(over.items()) if n > allowed]

    async def _confirm_deletes(self, spec: Spec, changes: list[Change], snap: Snapshot, known: Known,
                               retired: dict[str, set[str]]) -> list[Change]:
        """Re-read delete candidates from the source by key before planning their delete.

        A full read pages by offset: a record deleted in Zoho mid-read shifts the pages and
        an unrelated record is skipped. Asking for the candidates by id (≤ 100 a call)
        costs little and turns such a miss into an ordinary diff instead of a false delete.
        """
        candidates = {c.address.key for c in changes if c.action is Action.DELETE}
        if not candidates:
            return changes
        found = await self._read_desired(spec, candidates)
        if not found:
            return changes
        snap.desired.update(found)
        redone = diff_kind(spec, snap.desired, snap.actual, known, set(found), retired)
        kept = [c for c in changes if c.address.key not in found]
        return sorted(kept + redone, key=lambda c: c.address.key)

    async def plan(self, targets: Sequence[Address] | None = None, kinds: Sequence[str] | None = None,
                   *, changed_only: bool = False, targets_must_exist: bool = True,
                   whole: Sequence[str] = ()) -> Plan:
        """Read, diff, order. ``changed_only``: per kind, only the records the source changed
        since the last successful apply (plus its deleted ones), unless a full refresh is due.
        ``whole``: kinds planned in full besides the ``targets`` (a follow-up of a kind whose
        keys the apply cannot name).

        A target naming a record neither system has is a typo on the command line (an
        error), but not for the webhook worker or a follow-up (``targets_must_exist=False``):
        a record created and deleted in Zoho before its event was handled, or one an apply
        just wrote that another kind does not have yet, is simply nothing to do."""
        scope = self._scope(targets, kinds, whole)
        if changed_only and not targets:
            kinds_in_scope = sorted(scope)
            pairs = await gather_reads(*(self._read_changes(self.specs[k]) for k in kinds_in_scope))
            scope = {k: keys for k, (keys, _) in zip(kinds_in_scope, pairs)}
            snapshots = {k: snap for k, (_, snap) in zip(kinds_in_scope, pairs)}
        else:
            snapshots = await self._read(scope)
        if targets:
            for kind, snap in snapshots.items():
                if _parent_keys(self.specs[kind], scope.get(kind)):  # rows of a parent: the rows found
                    scope[kind] = (scope[kind] or set()) | set(snap.desired) | set(snap.actual)
            if targets_must_exist:
                self._check_targets_exist(targets, snapshots)
        known, retired = await self._known(scope, snapshots)
        held = {r.address: r.blocked for snap in snapshots.values() for r in snap.desired.values() if r.blocked}
        by_kind: dict[str, list[Change]] = {}
        warnings: list[str] = []
        leaving = _leaving_their_source(self.specs, snapshots, scope)
        for kind, snap in snapshots.items():
            spec = self.specs[kind]
            here, gone = _known_to_target(spec, self.specs, known, retired, leaving)
            changes = diff_kind(spec, snap.desired, snap.actual, here, scope[kind], gone)
            if not targets:
                changes = await self._confirm_deletes(spec, changes, snap, known, retired)
            changes = _hold_rows_of_unread_parents(spec, changes, snap.desired)
            changes = _name_held_parents(changes, held, retired)
            if not targets:
                full = scope[kind] is None
                warnings += await self._mass_delete_warnings(spec, changes, snap, full)
                warnings += await self._mass_blank_warnings(spec, changes, snap, full)
            by_kind[kind] = name_references(self.specs, changes, snapshots)
        return Plan(
            changes=order_changes(self.specs, by_kind),
            specs_hash=specs_hash(self.specs),
            targets=[str(t) for t in targets or []],
            warnings=warnings,
        )

    def _check_targets_exist(self, targets: Sequence[Address], snapshots: Mapping[str, Snapshot]) -> None:
        """A ``--target`` that names a record neither system has is a typo, not "No changes"
        (a subform kind's parent target: when neither system has a row of that parent)."""
        def found(a: Address) -> bool:
            snap, spec = snapshots[a.kind], self.specs[a.kind]
            keys = set(snap.desired) | set(snap.actual)
            return a.key in keys or (bool(_parent_keys(spec, {a.key})) and any(spec.parent_of(k) == a.key for k in keys))

        nowhere = [str(a) for a in targets if not found(a)]
        if nowhere:
            raise MziError(f"{', '.join(nowhere)}: no such record in Zoho or Moodle; check the kind and the id")

    async def follow_up(self, plan: Plan, results: Sequence[Result]) -> Plan | None:
        """The plan for what an apply of ``plan`` wrote that other kinds read (``follow_up.py``):
        a targeted plan of those addresses, or ``None`` when nothing needs one."""
        targets = follow_up_targets(self.specs, plan.applicable(), results)
        whole = follow_up_kinds(self.specs, plan.applicable(), results)
        if not targets and not whole:
            return None
        if not targets:
            return await self.plan(kinds=whole, targets_must_exist=False)
        return await self.plan(targets, targets_must_exist=False, whole=whole)

    # ---------------------------------------------------------------- applying
    async def check_stale(self, plan: Plan) -> None:
        """Refuse a saved plan when a record it touches moved on either side since it was made.

        Both sides are fingerprinted over the compared fields (``diff.compared_fingerprint``):
        a Zoho edit after the plan would otherwise be overwritten by the plan's old value.
        """
        if plan.specs_hash != specs_hash(self.specs):
            raise PlanError("the specs changed since this plan was made; run `mzi plan` again")
        scope: dict[str, set[str]] = {}
        for change in plan.applicable():
            scope.setdefault(change.address.kind, set()).add(change.address.key)
        kinds = sorted(scope)
        reads = await gather_reads(*(self._read_kind(self.specs[k], scope[k]) for k in kinds))
        current = dict(zip(kinds, reads))
        moved: dict[str, list[str]] = {"Zoho": [], "Moodle": []}
        for change in plan.applicable():
            spec, snap, key = self.specs[change.address.kind], current[change.address.kind], change.address.key
            sides = ((snap.desired, change.desired_fingerprint, spec.source.system),
                     (snap.actual, change.actual_fingerprint, spec.target.system))
            for records, expected, system in sides:
                if compared_fingerprint(spec, records.get(key)) != expected:
                    moved["Zoho" if system == "zoho" else "Moodle"].append(str(change.address))
        stale = sorted(set(moved["Zoho"]) | set(moved["Moodle"]))
        if stale:
            shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
            where = " and ".join(f"{system}" for system, addresses in moved.items() if addresses)
            raise StalePlan(f"the plan is stale: {len(stale)} record(s) changed in {where} since it was made "
                            f"({shown}); run `mzi plan` again")

    def _check_mass_delete(self, plan: Plan, allow: bool) -> None:
        if plan.warnings and not allow:
            what = "a mass delete" if any("would be deleted" in w for w in plan.warnings) else "a mass blanking"
            raise PlanError(f"refusing {what}: " + "; ".join(plan.warnings))

    def _failed_parent(self, change: Change, failed: set[Address]) -> Address | None:
        spec = self.specs[change.address.kind]
        for dep in spec.depends_on:
            own_key = dep.field == spec.key.moodle and dep.field not in spec.fields
            value = change.address.key if own_key else (change.after or {}).get(dep.field)
            if value is not None and Address(dep.kind, str(value)) in failed:
                return Address(dep.kind, str(value))
        return None

    async def _apply_group(self, kind: str, changes: list[Change], failed: set[Address], log: "_Reported",
                           gate: Gate) -> None:
        """Apply one kind's changes; every outcome goes to ``log`` as it lands.

        A change whose parent failed in this apply is skipped. The provider reports per
        batch; a provider that raised reported nothing for the changes it never sent, so
        those are failed here — and a transient failure closes the gate for later groups.
        """
        self.progress.applying(kind, len(changes))
        ready: list[Change] = []
        for change in changes:
            parent = self._failed_parent(change, failed)
            if parent is not None:
                log([Result(change.address, change.action, False, "skipped", f"{parent} failed in this apply")])
            else:
                ready.append(change)
        if ready:
            spec = self.specs[kind]
            try:
                log(await self._target(spec).apply(spec, ready, on_results=log, gate=gate))
            except TerminalError as exc:
                log([Result(c.address, c.action, False, "error", str(exc)) for c in ready])
            except TransientError as exc:
                gate.close(str(exc))
                log([Result(c.address, c.action, False, "error", str(exc)) for c in ready])
        failed.update(c.address for c in changes if not log.ok(c.address))

    async def apply(self, plan: Plan, *, saved: bool = False, allow_mass_delete: bool = False,
                    on_results: ResultSink | None = None, gate: Gate | None = None) -> list[Result]:
        """Carry out the plan; a saved plan is first checked for staleness per record.

        Every Result is handed to ``on_results`` once, as soon as it is known (the run log
        is written ahead this way). No batch starts once ``gate`` closes — on Ctrl-C, or
        when a backend turned out unavailable after retries — and the rest of the plan is
        ``skipped`` (``not attempted: …``); batches in flight finish and are recorded.
        """
        self._check_mass_delete(plan, allow_mass_delete)
        if saved:
            await self.check_stale(plan)
        gate = gate if gate is not None else Gate()
        log = _Reported(on_results, self.progress)
        failed: set[Address] = set()
        for kind, changes in _groups(plan):
            if not gate.open:
                self.progress.applying(kind, len(changes))
                log(not_attempted(changes, gate.reason))
                continue
            await self._apply_group(kind, changes, failed, log, gate)
        log([Result(c.address, c.action, False, "error" if c.unreadable else "blocked", c.reason)
             for c in plan.changes if c.action is Action.BLOCKED])
        return log.in_order(plan.applicable() + [c for c in plan.changes if c.action is Action.BLOCKED])


def _parent_keys(spec: Spec, keys: Collection[str] | None) -> set[str]:
    """The keys of a subform kind's scope that name a parent (all its rows) rather than one row:
    ``installment.<registration id>`` beside ``installment.<registration id>:<n>``."""
    if spec.subform is None or not keys:
        return set()
    return {k for k in keys if spec.split_key(k) is None}


def _leaving_their_source(specs: Mapping[str, Spec], snapshots: Mapping[str, Snapshot],
                          scope: Mapping[str, set[str] | None]) -> dict[str, set[str]]:
    """Keys, per kind, that the target still holds live but the source no longer has, read
    on both sides: records this very plan deletes (or retires) in the target."""
    leaving: dict[str, set[str]] = {}
    for kind, snap in snapshots.items():
        spec, chosen = specs[kind], scope.get(kind)
        gone = {k for k, r in snap.actual.items()
                if k not in snap.desired and not is_retired(spec, r) and (chosen is None or k in chosen)}
        if gone:
            leaving[kind] = gone
    return leaving


def _known_to_target(spec: Spec, specs: Mapping[str, Spec], known: Known, retired: Mapping[str, set[str]],
                     leaving: Mapping[str, set[str]]) -> tuple[Known, Mapping[str, set[str]]]:
    """What ``spec``'s dependencies may point at, seen from its target system.

    A dependency counts as present when it is in the source or live in the target. For a
    kind written into Zoho whose parent kind comes from Zoho, a parent gone from Zoho is
    no parent, though its Moodle row is live until this plan retires it: a request from a
    student deleted in Zoho would be refused there (``INVALID_DATA`` on the lookup), so it
    is held, named as gone. Found by the fault matrix (docs/reliability.md).
    """
    if spec.target.system != "zoho":
        return known, retired
    away = {dep.kind: leaving[dep.kind] for dep in spec.depends_on
            if dep.kind in leaving and dep.kind in specs and specs[dep.kind].source.system == "zoho"}
    if not away:
        return known, retired
    here = {kind: (keys - away[kind] if kind in away else keys) for kind, keys in known.items()}
    gone = {kind: (set(retired.get(kind, set())) | away.get(kind, set())) for kind in set(retired) | set(away)}
    return here, gone


def _hold_rows_of_unread_parents(spec: Spec, changes: list[Change], desired: Mapping[str, Record]) -> list[Change]:
    """In a subform kind, a row is deleted only when every row of its parent could be read.

    A row whose own key cannot be read (an installment without its number) may be the
    very row the target has: deleting that would plan "unknown" as "gone".
    """
    if spec.subform is None:
        return changes
    unread = {spec.parent_of(key) for key, record in desired.items() if record.error}
    if not unread:
        return changes
    return [Change(Action.BLOCKED, c.address, c.label,
                   reason=f"not deleted: {spec.subform} of {spec.parent_of(c.address.key)} has a row that "
                          "cannot be read, which may be this one")
            if c.action is Action.DELETE and spec.parent_of(c.address.key) in unread else c
            for c in changes]


def _name_held_parents(changes: list[Change], held: Mapping[Address, str],
                       retired: Mapping[str, set[str]]) -> list[Change]:
    """A change blocked by a parent that is itself blocked says why the parent is: "student_user.1
    exists in neither Zoho nor Moodle" would be false of a student Zoho has but no Moodle user matches."""
    if not held:
        return changes
    named = []
    for change in changes:
        waiting = [a for a in change.blocked_by if a in held]
        if change.action is not Action.BLOCKED or not waiting:
            named.append(change)
            continue
        rest = tuple(a for a in change.blocked_by if a not in held)
        parts = [f"{a} is blocked: {held[a]}" for a in waiting] + ([blocked_reason(rest, retired)] if rest else [])
        named.append(replace(change, reason="; ".join(parts)))
    return named


def _groups(plan: Plan) -> list[tuple[str, list[Change]]]:
    """Runs of consecutive applicable changes of one kind and one phase (deletes apart),
    in plan order, so parents land before children and children go before parents' deletes."""
    groups: list[tuple[str, list[Change]]] = []
    for change in plan.applicable():
        kind = change.address.kind
        phase = change.action is Action.DELETE
        if groups and groups[-1][0] == kind and (groups[-1][1][0].action is Action.DELETE) == phase:
            groups[-1][1].append(change)
        else:
            groups.append((kind, [change]))
    return groups


class _Reported:
    """The Results of one apply, each passed on once: a provider reports per batch and
    then returns them all; only the first report of an address counts."""

    def __init__(self, sink: ResultSink | None, progress: Progress | None = None) -> None:
        self._sink = sink
        self._progress = progress or Silent()
        self._by_address: dict[Address, Result] = {}

    def __call__(self, results: Sequence[Result]) -> None:
        new = [r for r in results if r.address not in self._by_address]
        for result in new:
            self._by_address[result.address] = result
        if new and self._sink is not None:
            self._sink(new)
        by_kind: dict[str, list[Result]] = {}
        for result in new:
            if result.action is not Action.BLOCKED:
                by_kind.setdefault(result.address.kind, []).append(result)
        for kind, batch in by_kind.items():
            self._progress.applied(kind, batch)

    def ok(self, address: Address) -> bool:
        result = self._by_address.get(address)
        return result is not None and result.ok

    def in_order(self, changes: Sequence[Change]) -> list[Result]:
        """One Result per change, in plan order; a change nobody reported on (a provider
        that broke its contract) is reported now as an error rather than dropped."""
        self([Result(c.address, c.action, False, "error", "the provider returned no result for this change")
              for c in changes if c.address not in self._by_address])
        return [self._by_address[c.address] for c in changes]
