"""mzi's runs, reported to Moodle for the plugin's sync status page.

After every plan and apply, one ``local_mzi_push_sync_status`` call (batched by
``max_input_vars`` like any other) upserts one row per kind the run looked at: how it
ended, its run id in the run log, when, and its counts. The page is how a Moodle admin
without a shell sees whether mzi runs and what it did, so every kind of the run is
reported — also the ones with nothing to do (their row says so, instead of showing an old
run), and kinds whose target is not Moodle (the page is about mzi's runs, not Moodle's data).

The report is bookkeeping, never part of the run: it is sent after the run is recorded,
and a failure to send it only becomes a warning (kept in the run log as ``moodle_report``)
— the run's own outcome and exit code stand.

An apply also tells Moodle what became of the requests students submitted there
(:func:`report_requests`, ``local_mzi_record_request_results``): sent, with the Zoho id,
or failed, with Zoho's reason — so the student and staff see a send that did not land.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .errors import MziError
from .model import Action, Address, Result
from .plan import Plan

if TYPE_CHECKING:
    from .commands import Workspace

FUNCTION = "local_mzi_push_sync_status"

#: the first local_mzi version whose push_sync_status takes the run's status and id
PLUGIN_VERSION = 2026120100

#: the run-log summary key under which a failed report is kept
SUMMARY_KEY = "moodle_report"

REQUESTS_FUNCTION = "local_mzi_record_request_results"
#: the Moodle table whose rows students submit; a kind carrying them to Zoho reports back
REQUESTS_TABLE = "local_mzi_requests"
#: the first local_mzi version whose record_request_results finds a request by its number
REQUESTS_PLUGIN_VERSION = 2026120300
#: the run-log summary key under which a failed request report is kept
REQUESTS_SUMMARY_KEY = "moodle_request_report"


@dataclass(frozen=True)
class KindStatus:
    """One row of ``local_mzi_sync_status``, exactly the structure the function accepts."""

    kind: str
    command: str
    status: str
    runid: int
    timefinished: int
    creates: int = 0
    updates: int = 0
    deletes: int = 0
    blocked: int = 0
    errors: int = 0
    drift: int = 0


def reported_kinds(ws_kinds: Iterable[str], plan: Plan, kinds: Sequence[str] = ()) -> list[str]:
    """The kinds a run looked at: those of its targets, or the ``--kind``s, or all of them.

    Kinds that only appear in the plan (derived ones without a spec of their own) are
    added, so nothing a run changed is left off the page.
    """
    if plan.targets:
        scope = {Address.parse(t).kind for t in plan.targets}
    elif kinds:
        scope = set(kinds)
    else:
        scope = set(ws_kinds)
    return sorted(scope | {c.address.kind for c in plan.changes})


def plan_statuses(plan: Plan, kinds: Sequence[str], run_id: int, status: str, finished: int) -> list[KindStatus]:
    """What a plan found per kind: planned changes, drift, and unreadable records as errors."""
    rows = []
    for kind in kinds:
        mine = [c for c in plan.changes if c.address.kind == kind]
        actions = Counter(c.action for c in mine)
        rows.append(KindStatus(
            kind, "plan", status, run_id, finished,
            creates=actions[Action.CREATE], updates=actions[Action.UPDATE], deletes=actions[Action.DELETE],
            blocked=sum(1 for c in mine if c.action is Action.BLOCKED and not c.unreadable),
            errors=sum(1 for c in mine if c.unreadable), drift=sum(1 for c in mine if c.drift)))
    return rows


def apply_statuses(plan: Plan, results: Sequence[dict[str, Any]], kinds: Sequence[str], run_id: int, status: str,
                   finished: int) -> list[KindStatus]:
    """What an apply did per kind, from its run log: writes that landed, blocked, failed.

    A change not attempted (its parent failed, or the run was stopped) counts as an error,
    as it does for the exit code; drift is the Moodle edits the plan set out to undo.
    """
    rows = []
    for kind in kinds:
        done: Counter[str] = Counter()
        for r in results:
            if Address.parse(r["address"]).kind != kind:
                continue
            done[r["action"] if r["ok"] else "blocked" if r["status"] == "blocked" else "errors"] += 1
        rows.append(KindStatus(
            kind, "apply", status, run_id, finished,
            creates=done["create"], updates=done["update"], deletes=done["delete"], blocked=done["blocked"],
            errors=done["errors"], drift=sum(1 for c in plan.changes if c.address.kind == kind and c.drift)))
    return rows


async def report_to_moodle(ws: "Workspace", command: str, plan: Plan, run_id: int, status: str,
                           kinds: Sequence[str] = ()) -> str | None:
    """Push the run's rows; ``None`` when Moodle took them all, else the warning to show.

    The warning is added to ``ws.warnings`` and kept in the run's summary, whose API usage
    is brought up to date, since the push is one more Moodle call of this run.
    """
    scope = reported_kinds(ws.specs, plan, kinds)
    finished = int(time.time())
    if command == "plan":
        rows = plan_statuses(plan, scope, run_id, status, finished)
    else:
        rows = apply_statuses(plan, ws.state.results(run_id), scope, run_id, status, finished)
    warning = await _push(ws, [asdict(r) for r in rows])
    from .commands import usage

    extra: dict[str, Any] = {"api": usage(ws)}
    if warning is not None:
        extra[SUMMARY_KEY] = warning
        ws.warnings.append(warning)
    ws.state.amend_summary(run_id, extra)
    return warning


async def _push(ws: "Workspace", rows: list[dict[str, Any]]) -> str | None:
    moodle: Any = ws.providers.get("moodle")
    if moodle is None or not hasattr(moodle, "push_sync_status"):
        return "the sync status was not sent to Moodle: this configuration has no Moodle provider that takes it"
    try:
        answers = await moodle.push_sync_status(rows)
    except MziError as exc:
        hint = (f"; local_mzi is probably older than version {PLUGIN_VERSION}: upgrade it"
                if getattr(exc, "errorcode", "") == "invalidparameter" else "")
        return f"the sync status was not sent to Moodle ({exc}){hint}; the run itself is unaffected"
    refused = [a for a in answers if a.get("status") == "error"]
    if not refused:
        return None
    shown = "; ".join(f"{a.get('key')}: {a.get('errorcode')}: {a.get('message')}" for a in refused[:3])
    more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
    return f"Moodle refused {len(refused)} of {len(rows)} sync status rows ({shown}{more}); the run itself is unaffected"


def request_outcomes(specs: Mapping[str, Any], results: Sequence[Result]) -> list[dict[str, Any]]:
    """The outcome of each submitted request an apply sent (or failed to send) to Zoho.

    Kinds whose source is Moodle's requests table and whose key is the request number
    (``outbound_request``): a write that landed is ``sent`` with the Zoho id it got; one
    Zoho refused, or a batch that failed, is ``failed`` with the reason. A request held
    back (its student not in Zoho yet) or not attempted is left as it was: it waits.
    """
    kinds = {k for k, s in specs.items()
             if s.source.system == "moodle" and s.source.table == REQUESTS_TABLE and s.target.system == "zoho"}
    rows: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.address.kind not in kinds or result.action is Action.BLOCKED:
            continue
        if result.ok:
            rows[result.address.key] = {"request_number": result.address.key, "zoho_request_id": result.target_id or "",
                                        "status": "sent", "message": ""}
        elif result.status not in ("blocked", "skipped"):  # held back, refused before sending, or not attempted
            rows[result.address.key] = {"request_number": result.address.key, "status": "failed",
                                        "message": f"{result.status}: {result.error}".strip(": ")}
    return [rows[k] for k in sorted(rows)]


async def report_requests(ws: "Workspace", run_id: int, results: Sequence[Result]) -> str | None:
    """Send :func:`request_outcomes` to Moodle; ``None`` when taken, else the warning shown.

    Like the sync status, a warning never fails the apply: the Zoho id also reaches the
    row through the ``request`` kind, and the next apply reports again.
    """
    rows = request_outcomes(ws.specs, results)
    if not rows:
        return None
    moodle: Any = ws.providers.get("moodle")
    warning: str | None = None
    if moodle is None or not hasattr(moodle, "record_request_results"):
        warning = "request results were not sent to Moodle: this configuration has no Moodle provider that takes them"
    else:
        try:
            answers = await moodle.record_request_results(rows)
        except MziError as exc:
            hint = (f"; local_mzi is probably older than version {REQUESTS_PLUGIN_VERSION}: upgrade it"
                    if getattr(exc, "errorcode", "") == "invalidparameter" else "")
            warning = f"request results were not sent to Moodle ({exc}){hint}; the run itself is unaffected"
        else:
            refused = [a for a in answers if not a or a.get("status") == "error"]
            if refused:
                shown = "; ".join(f"{a.get('key')}: {a.get('errorcode')}: {a.get('message')}" for a in refused[:3] if a)
                warning = f"Moodle refused {len(refused)} of {len(rows)} request results ({shown}); the run itself is unaffected"
    if warning is not None:
        ws.warnings.append(warning)
        ws.state.amend_summary(run_id, {REQUESTS_SUMMARY_KEY: warning})
    return warning
