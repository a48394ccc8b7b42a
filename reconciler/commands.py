"""Use cases behind the CLI: plan, apply, show — callable from tests and the server.

The click layer (``cli.py``) only parses arguments and prints; everything that decides
something lives here or below. A :class:`Workspace` is one configured mzi: config,
specs, state store, and the two providers (sandbox or live), opened once per command.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import preflight
from .batches import Gate
from .config import Config, load_config
from .engine import Engine, Safety, bulk_collection
from .errors import MziError, PlanError
from .follow_up import MAX_ROUNDS
from .model import Action, Address, Change, Result
from .plan import Endpoints, Plan, binding_mismatch
from .progress import Progress, Silent
from .providers.base import Provider
from .report import report_requests, report_to_moodle
from .specs import DeletePolicy, Spec, load_specs
from .state import FAILED, INTERRUPTED, OK, StateStore

if TYPE_CHECKING:
    from .sandbox import Sandbox


@dataclass
class Outcome:
    """What a command did, for the CLI to print and the exit code to reflect."""

    plan: Plan
    results: list[Result] = field(default_factory=list)
    run_id: int | None = None
    usage: dict[str, dict[str, int]] = field(default_factory=dict)
    interrupted: bool = False
    #: changes applied after the plan's own, to records the apply wrote (``follow_up.py``)
    follow_ups: list[Change] = field(default_factory=list)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok and r.status != "blocked"]

    @property
    def written(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def not_attempted(self) -> list[Result]:
        return [r for r in self.results if r.status == "skipped"]


@dataclass
class Workspace:
    config: Config
    specs: dict[str, Spec]
    state: StateStore
    providers: dict[str, Provider]
    sandbox: "Sandbox | None" = None
    #: what went wrong beside the run (the status report to Moodle): the CLI prints each as a ``Warning:``
    warnings: list[str] = field(default_factory=list)
    #: how long a passed preflight holds for this workspace (seconds; 0: check every run). A
    #: command runs once; ``mzi serve`` keeps a workspace per worker and re-checks every few minutes
    preflight_ttl: float = 0.0
    _preflight_passed: float | None = None
    #: API usage when the current run started: a workspace that lives for many runs (a
    #: ``mzi serve`` worker) records each run's own cost, not the total since it opened
    usage_base: dict[str, dict[str, int]] = field(default_factory=dict)

    def start_run(self) -> None:
        self.usage_base = {name: dict(p.usage()) for name, p in self.providers.items() if hasattr(p, "usage")}

    async def preflight(self) -> None:
        """The spec-fits-the-systems check, skipped while a passed one is fresh."""
        import time

        now = time.monotonic()
        if self._preflight_passed is not None and now - self._preflight_passed < self.preflight_ttl:
            return
        await preflight.check(self)
        self._preflight_passed = now
    #: where reads and batches are reported as they happen (``progress.py``); silent by default
    progress: Progress = field(default_factory=Silent)

    @property
    def engine(self) -> Engine:
        safety = Safety(self.config.safety.max_delete_fraction, self.config.safety.max_delete_floor)
        return Engine(self.specs, self.providers, safety, self.progress)


def open_sandbox(config: Config) -> "Sandbox":
    from .sandbox import Sandbox

    sandbox = Sandbox.from_config(config)
    sandbox.ensure()
    return sandbox


def build_providers(config: Config, state: StateStore, sandbox: "Sandbox | None") -> dict[str, Provider]:
    """The Zoho and Moodle providers, each pointed at the sandbox or at the live system."""
    from .providers.moodle import MoodleProvider
    from .providers.zoho import ZohoProvider
    from .providers.zoho_client import ZohoClient

    zs, ms = config.zoho, config.moodle
    # one cadence of full reads for both sources: a kind read from Moodle (a link going to
    # Zoho) is refreshed in full as often as one read from Zoho
    marks: dict[str, Any] = {"watermarks": state, "full_refresh_after": timedelta(hours=zs.full_refresh_after_hours)}
    if zs.backend == "sandbox":
        assert sandbox is not None
        cid, secret, refresh = sandbox.zoho_credentials
        client = ZohoClient(sandbox.zoho_base_url, sandbox.zoho_accounts_url, cid, secret, refresh, zs.policy(),
                            transport=sandbox.zoho_transport())
    else:
        cid, secret, refresh = zs.secrets()
        client = ZohoClient(zs.api_domain, zs.accounts_url, cid, secret, refresh, zs.policy())
    if ms.backend == "sandbox":
        assert sandbox is not None
        moodle = MoodleProvider(sandbox.moodle_url, sandbox.moodle_token, ms.policy(),
                                transport=sandbox.moodle_transport(), max_input_vars=ms.max_input_vars,
                                timezone=ms.timezone, course_category_id=ms.course_category_id,
                                create_users=ms.create_users, new_user_auth=ms.new_user_auth,
                                withdrawn_enrolment=ms.withdrawn_enrolment, iv_role=ms.iv_role, **marks)
    else:
        moodle = MoodleProvider(ms.url, ms.token(), ms.policy(), max_input_vars=ms.max_input_vars,
                                timezone=ms.timezone, course_category_id=ms.course_category_id,
                                create_users=ms.create_users, new_user_auth=ms.new_user_auth,
                                withdrawn_enrolment=ms.withdrawn_enrolment, iv_role=ms.iv_role, **marks)
    zoho = ZohoProvider(client, read_api=zs.read_api, subform_read_api=zs.subform_read_api, metadata=state,
                        **marks)
    return {"zoho": zoho, "moodle": moodle}


def withdrawal_policy(specs: dict[str, Spec], withdrawn_enrolment: str) -> dict[str, Spec]:
    """Enrolment kinds delete as the operator chose: suspend (the specs' soft delete:
    ``status = "suspended"``, so a suspended one is already withdrawn) or unenrol (a hard
    delete: the enrolment goes)."""
    if withdrawn_enrolment != "unenrol":
        return specs
    return {kind: spec.model_copy(update={"delete": DeletePolicy(policy="hard")})
            if spec.moodle_resource == "enrolment" else spec for kind, spec in specs.items()}


@asynccontextmanager
async def workspace(config_path: Path | None = None, *, config: Config | None = None,
                    progress: Progress | None = None) -> AsyncIterator[Workspace]:
    config = config or load_config(config_path)
    specs = withdrawal_policy(load_specs(config.specs_dir), config.moodle.withdrawn_enrolment)
    uses_sandbox = "sandbox" in (config.zoho.backend, config.moodle.backend)
    sandbox = open_sandbox(config) if uses_sandbox else None
    state = StateStore(config.state_location)
    providers = build_providers(config, state, sandbox)
    try:
        yield Workspace(config, specs, state, providers, sandbox, progress=progress or Silent())
    finally:
        for provider in providers.values():
            await provider.aclose()
        state.close()


async def endpoints(ws: Workspace) -> Endpoints:
    """Which Zoho and which Moodle this workspace talks to: a plan is bound to them.

    The sandbox is named by its directory, so a plan made against one demo school never
    applies to another, and never to a live site.
    """
    import hashlib

    zs, ms = ws.config.zoho, ws.config.moodle
    sandbox = str(ws.sandbox.directory.resolve()) if ws.sandbox is not None else ""
    if zs.backend == "sandbox":
        zoho = {"backend": "sandbox", "api": sandbox}
    else:
        client_id = zs.secrets()[0]
        zoho = {"backend": "live", "api": zs.api_domain,
                "client": hashlib.sha256(client_id.encode()).hexdigest()[:12]}
    moodle_provider: Any = ws.providers["moodle"]
    site = await moodle_provider.site_identity() if hasattr(moodle_provider, "site_identity") else ""
    moodle = {"backend": ms.backend, "url": sandbox if ms.backend == "sandbox" else ms.url.rstrip("/"), "site": site}
    return {"zoho": zoho, "moodle": moodle}


async def _bound(ws: Workspace, the_plan: Plan) -> Plan:
    the_plan.endpoints = await endpoints(ws)
    return the_plan


async def check_binding(ws: Workspace, saved: Plan) -> None:
    """Refuse a saved plan made against other systems than this configuration's."""
    why = binding_mismatch(saved.endpoints, await endpoints(ws))
    if why is not None:
        raise PlanError(why)


def usage(ws: Workspace) -> dict[str, dict[str, int]]:
    """API usage of this run per system (calls, Zoho credits, retries) — recorded with each run."""
    totals = {name: p.usage() for name, p in ws.providers.items() if hasattr(p, "usage")}
    base: dict[str, dict[str, int]] = getattr(ws, "usage_base", {})  # a workspace that never started a run: all of it
    return {name: {k: v - base.get(name, {}).get(k, 0) for k, v in numbers.items()}
            for name, numbers in totals.items()}


#: what started a run, as ``mzi state runs`` shows it (kept in the run's summary, so any store has it)
RUN_KINDS = ("full", "changed-only", "target", "saved-plan", "webhook")


def run_kind(*, targets: Sequence[Address] = (), changed_only: bool = False, saved: bool = False) -> str:
    """The kind of a run from what the caller asked for; the webhook worker passes ``"webhook"``."""
    return "saved-plan" if saved else "target" if targets else "changed-only" if changed_only else "full"


def _summary(the_plan: Plan, ws: Workspace, kind: str) -> dict[str, Any]:
    return the_plan.summary.to_dict() | {"api": usage(ws), "run_kind": kind}


def _started() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _watermarks_kept_only_if(ws: Workspace, keep: list[bool]) -> Iterator[None]:
    """Reads move the Zoho watermarks; keep the move only when ``keep[0]`` ends True.

    An apply that failed anywhere must not consume the window of changes an incremental
    run (``--changed-only``) starts from. Only applies move watermarks, under the apply
    lock, so no other command can interleave with this snapshot and restore.
    """
    snapshot = ws.state.watermarks()
    try:
        yield
    finally:
        if not keep[0]:
            ws.state.restore_watermarks(snapshot)


class _FrozenWatermarks:
    """Watermarks a plan may read but never move: plans run without the apply lock, so a
    plan that wrote (or restored) watermarks could undo what a concurrent apply did."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def get_watermark(self, kind: str) -> datetime | None:
        when: datetime | None = self._store.get_watermark(kind)
        return when

    def set_watermark(self, kind: str, when: datetime) -> None:
        return None


@contextmanager
def _read_only_watermarks(ws: Workspace) -> Iterator[None]:
    saved = [(p, getattr(p, "watermarks")) for p in ws.providers.values() if getattr(p, "watermarks", None) is not None]
    for provider, store in saved:
        provider.watermarks = _FrozenWatermarks(store)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for provider, store in saved:
            provider.watermarks = store  # type: ignore[attr-defined]


async def plan(ws: Workspace, targets: Sequence[Address] = (), kinds: Sequence[str] = (),
               *, changed_only: bool = False, kind: str | None = None) -> Outcome:
    """Read, diff and record a plan run; ``kind`` overrides the run kind derived from the arguments."""
    kind = kind or run_kind(targets=targets, changed_only=changed_only)
    started = _started()
    ws.start_run()
    await ws.preflight()
    with bulk_collection(), _read_only_watermarks(ws):
        result = await _bound(ws, await ws.engine.plan(list(targets) or None, list(kinds) or None,
                                                       changed_only=changed_only))
    error = _unreadable_error(result)
    run_id = ws.state.record_run("plan", started, result.targets, _summary(result, ws, kind), [], not error, error)
    await report_to_moodle(ws, "plan", result, run_id, FAILED if error else OK, kinds)
    return Outcome(result, run_id=run_id, usage=usage(ws))


def _unreadable_error(the_plan: Plan) -> str:
    """The run-log line for records that could not be read (they make the run fail)."""
    bad = the_plan.unreadable
    if not bad:
        return ""
    shown = ", ".join(str(c.address) for c in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
    return f"{len(bad)} record(s) cannot be read: {shown}"


async def apply(
    ws: Workspace,
    saved: Plan | None = None,
    targets: Sequence[Address] = (),
    *,
    allow_mass_delete: bool = False,
    confirm: Any = None,
    changed_only: bool = False,
    gate: Gate | None = None,
    targets_must_exist: bool = True,
    kind: str | None = None,
) -> Outcome:
    """Plan (or take a saved plan), confirm, and apply under the apply lock.

    ``confirm`` is called with the plan when there is something to do; returning False
    cancels (the interactive prompt lives in the CLI, not here). The run is logged ahead
    of the writes, batch by batch; ``gate`` is how the caller stops it (Ctrl-C): the
    batches in flight finish, and the run is recorded ``interrupted``.

    A targeted apply (``--target``, and the webhook worker, which calls exactly this)
    holds the apply lock shared and each target's address lock: targeted applies of
    different records run side by side, never two on one record, and never during a
    full apply, which holds the apply lock alone. ``targets_must_exist=False``: a target
    neither system has is nothing to do rather than an error (see ``Engine.plan``).
    ``kind`` overrides the run kind derived from the arguments (the webhook worker's ``"webhook"``).
    """
    kind = kind or run_kind(targets=targets, changed_only=changed_only, saved=saved is not None)
    started = _started()
    ws.start_run()
    succeeded = [False]
    targeted = bool(targets) and saved is None
    with bulk_collection(), ws.state.lock("apply", "mzi apply", shared=targeted), \
            ws.state.address_locks(list(targets) if targeted else []), \
            _watermarks_kept_only_if(ws, succeeded):
        await ws.preflight()
        if saved is not None:
            await check_binding(ws, saved)
            the_plan = saved
        else:
            the_plan = await _bound(ws, await ws.engine.plan(list(targets) or None, changed_only=changed_only,
                                                             targets_must_exist=targets_must_exist))
        if not the_plan.applicable():
            # blocked records wait for their parents (a later run, or the next full read);
            # only unreadable ones make the run fail and keep the watermark for a re-read
            error = _unreadable_error(the_plan)
            succeeded[0] = not error
            run_id = ws.state.record_run("apply", started, the_plan.targets, _summary(the_plan, ws, kind),
                                         _blocked_results(the_plan), not error, error)
            await report_to_moodle(ws, "apply", the_plan, run_id, FAILED if error else OK)
            return Outcome(the_plan, _blocked_results(the_plan), run_id, usage=usage(ws))
        if confirm is not None and not confirm(the_plan):
            raise MziError("apply cancelled; nothing was changed")
        gate = gate if gate is not None else Gate()
        run_id = ws.state.begin_run("apply", started, the_plan.targets, _summary(the_plan, ws, kind))
        try:
            sink = functools.partial(ws.state.record_results, run_id)
            results = await ws.engine.apply(the_plan, saved=saved is not None, allow_mass_delete=allow_mass_delete,
                                            on_results=sink, gate=gate)
            planned = len(the_plan.applicable())
            the_plan, results = await _follow_ups(ws, the_plan, results, sink, gate)
            follow_ups = the_plan.applicable()[planned:]
        except MziError as exc:
            ws.state.finish_run(run_id, FAILED, _summary(the_plan, ws, kind), str(exc))
            await report_to_moodle(ws, "apply", the_plan, run_id, FAILED)
            raise
        except BaseException:  # a second Ctrl-C, or the task cancelled: what landed is logged already
            ws.state.finish_run(run_id, INTERRUPTED, _summary(the_plan, ws, kind), "aborted")
            raise
        ok = all(r.ok or r.status == "blocked" for r in results)
        succeeded[0] = ok  # a blocked record waits for its parent, not for a re-read of everything
        status = INTERRUPTED if gate.interrupted else OK if ok else FAILED
        ws.state.finish_run(run_id, status, _summary(the_plan, ws, kind), "" if ok else _unreadable_error(the_plan))
        await report_requests(ws, run_id, results)
        await report_to_moodle(ws, "apply", the_plan, run_id, status)
    return Outcome(the_plan, results, run_id, usage(ws), interrupted=gate.interrupted, follow_ups=follow_ups)


async def _follow_ups(ws: Workspace, the_plan: Plan, results: list[Result], sink: Any,
                      gate: Gate) -> tuple[Plan, list[Result]]:
    """Apply what this apply's writes call for in other kinds (``follow_up.py``), round by
    round, so the plan after one ``mzi apply`` is empty — a saved plan's too: what it
    wrote was reviewed, and the follow-ups only carry those writes to their readers."""
    last_plan, last_results = the_plan, results
    for _ in range(MAX_ROUNDS):
        if not gate.open:
            break
        extra = await ws.engine.follow_up(last_plan, last_results)
        if extra is None or not extra.applicable():
            break
        more = await ws.engine.apply(extra, on_results=sink, gate=gate)
        the_plan, results = the_plan.followed_by(extra), _merged(results, more)
        last_plan, last_results = extra, more
    return the_plan, results


def _merged(results: list[Result], more: list[Result]) -> list[Result]:
    """One Result per address: a follow-up's result replaces a ``blocked`` one (the record
    was carried over after all); a record the follow-up still holds keeps its first result."""
    carried = {r.address: r for r in more if r.status != "blocked"}
    seen = {r.address for r in results}
    return ([carried.get(r.address, r) if r.status == "blocked" else r for r in results]
            + [r for r in more if r.address not in seen])


def interrupted_runs(ws: Workspace) -> list[str]:
    """One warning per apply that died mid-run since anyone last looked (each told once)."""
    return [f"run {run.id} was interrupted after {run.writes} writes; the plan below reads both systems fresh, "
            "so it shows what is left" for run in ws.state.reap_interrupted()]


def _blocked_results(the_plan: Plan) -> list[Result]:
    """Blocked changes as run-log results: an unreadable record is an error, not a wait."""
    return [Result(c.address, c.action, False, "error" if c.unreadable else "blocked", c.reason)
            for c in the_plan.changes if c.action is Action.BLOCKED]


async def zoho_watch(ws: Workspace, notify_url: str | None = None) -> list[Any]:
    """Enable or renew one Zoho notification channel per module mzi reads from Zoho.

    Idempotent like apply: channels that exist, point at ``notify_url`` and live long
    enough are left alone; ours for modules no longer read are disabled.
    """
    from .providers.zoho import reconcile_channels

    zs = ws.config.zoho
    url = notify_url or zs.notify_url
    if not url.startswith(("http://", "https://")):
        raise MziError("mzi zoho watch needs the public URL of `mzi serve`: set [zoho] notify_url or pass --notify-url")
    modules = sorted({s.zoho_module for s in ws.specs.values() if s.source.system == "zoho"})
    expiry = datetime.now(timezone.utc) + timedelta(hours=zs.channel_hours)
    client = ws.providers["zoho"].client  # type: ignore[attr-defined]
    return await reconcile_channels(client, modules, url, zs.watch_token(), zs.channel_id_base, expiry.replace(microsecond=0))


def zoho_field_labels(specs: dict[str, Spec], state: StateStore) -> dict[str, dict[str, str]]:
    """Kind → column → the Zoho field's display label, from the field metadata the preflight
    cached (no call is made: a kind whose module was never fetched has none)."""
    labels: dict[str, dict[str, str]] = {}
    for spec in specs.values():
        if "zoho" not in (spec.source.system, spec.target.system) or spec.subform is not None:
            continue
        entry = state.field_metadata(spec.zoho_module)
        if entry is None:
            continue
        by_name = {f.get("api_name"): f.get("display_label") or f.get("field_label") or "" for f in entry[1]}
        for column, field_spec in spec.fields.items():
            names = field_spec.zoho_names
            if names and by_name.get(names[0]):
                labels.setdefault(spec.kind, {})[column] = str(by_name[names[0]])
    return labels


@dataclass(frozen=True)
class Listed:
    """One sandbox record as ``mzi sandbox list`` shows it."""

    address: Address
    label: str


async def sandbox_list(ws: Workspace, kind: str, limit: int) -> tuple[list[Listed], int]:
    """The first ``limit`` Zoho records of ``kind`` (by label) and how many there are: the
    ids to give ``mzi sandbox edit``. Zoho only: the sandbox edits Zoho, as a user would."""
    spec = ws.specs.get(kind)
    if spec is None:
        raise MziError(f"unknown kind {kind!r}; known: {', '.join(sorted(ws.specs))}")
    if spec.source.system != "zoho" or spec.subform is not None:
        editable = sorted(k for k, s in ws.specs.items() if s.source.system == "zoho" and s.subform is None)
        raise MziError(f"{kind} is not a Zoho module's records (sandbox edit changes Zoho records); "
                       f"list one of: {', '.join(editable)}")
    records = await ws.providers[spec.source.system].read(spec)
    listed = sorted((Listed(r.address, r.label) for r in records.values()), key=lambda r: (r.label, r.address.key))
    return listed[:limit], len(listed)
