"""The `mzi` command line: a thin click shell over ``commands.py``.

Exit codes follow Terraform: 0 success (and, with ``--detailed-exitcode``, no changes),
1 error, 2 changes present (``--detailed-exitcode`` only); an apply stopped by Ctrl-C
exits 130, like any command a shell saw interrupted. Every :class:`MziError` is
printed as one ``Error:`` line on stderr with exit 1; nothing else decides exit codes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__, commands
from .batches import Gate
from .config import CONFIG_ENV, Config, describe_source, load_config
from .errors import MziError
from .model import Address
from .plan import Plan
from .render import render_json, render_text

T = TypeVar("T")
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class ApplyCancelled(MziError):
    """The operator answered anything but ``yes``: not a failure of mzi, but exit 1 as Terraform."""


def reports_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ApplyCancelled:
            click.echo("\nApply cancelled.", err=True)
            sys.exit(1)
        except MziError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(1)
        except OSError as exc:
            # Last resort for the environment (permissions, full disk, vanished folders) on a
            # path not yet given its own message; any other exception is a bug and keeps its traceback.
            where = f" ({exc.filename})" if exc.filename else ""
            click.secho(f"Error: {exc.strerror or exc}{where}", fg="red", err=True)
            sys.exit(1)
    return wrapper


def _config(ctx: click.Context) -> Config:
    """The configuration, loaded once per command and always named on stderr, so a run in
    the wrong folder is visible instead of quietly planning the embedded sandbox."""
    obj = ctx.find_root().obj
    if obj.get("config") is None:
        obj["config"] = load_config(obj["config_path"])
        click.echo(describe_source(obj["config"]), err=True)
    config: Config = obj["config"]
    return config


def _addresses(values: tuple[str, ...]) -> list[Address]:
    return [Address.parse(v) for v in values]


def _colour(ctx: click.Context, no_color: bool) -> bool:
    return not no_color and sys.stdout.isatty()


@click.group()
@click.version_option(__version__, prog_name="mzi")
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help=f"Configuration file (default: ${CONFIG_ENV}, else ./mzi.toml, else built-in sandbox defaults).")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Reconcile Zoho CRM (desired state) with Moodle (actual state)."""
    ctx.obj = {"config_path": config_path, "config": None}


target_option = click.option("--target", "targets", multiple=True, metavar="ADDR",
                             help="Limit to one address (KIND.KEY); repeatable.")
no_color_option = click.option("--no-color", is_flag=True, help="Plain output without ANSI colours.")
changed_only_option = click.option(
    "--changed-only", is_flag=True,
    help="Read only what Zoho changed since the last successful apply (If-Modified-Since and deleted records); "
         "a full refresh still happens every [zoho] full_refresh_after_hours. Moodle-side drift needs a full plan.")


@main.command()
@target_option
@click.option("--kind", "kinds", multiple=True, help="Limit to one resource kind; repeatable.")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Save the plan for `mzi apply FILE`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when in sync, 2 when there are changes, 1 on error.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (sensitive values masked).")
@changed_only_option
@no_color_option
@click.pass_context
@reports_errors
def plan(ctx: click.Context, targets: tuple[str, ...], kinds: tuple[str, ...], out: Path | None,
         detailed_exitcode: bool, as_json: bool, changed_only: bool, no_color: bool) -> None:
    """Read both systems and show what apply would change."""
    if out is not None:
        _check_writable(out)
    types: dict[str, dict[str, str]] = {}

    async def go() -> commands.Outcome:
        async with commands.workspace(config=_config(ctx)) as ws:
            types.update(field_types(ws.specs))
            _warn_interrupted(ws)
            try:
                return await commands.plan(ws, _addresses(targets), kinds, changed_only=changed_only)
            finally:
                _warn(ws.warnings)

    outcome = _run(go())
    click.echo(render_json(outcome.plan, types) if as_json else render_text(outcome.plan, colour=_colour(ctx, no_color)),
               nl=False)
    _print_usage(outcome)
    if out is not None:
        _save(outcome.plan, out)
        click.echo(f"\nSaved the plan to {out}. To carry it out exactly: mzi apply {out}", err=as_json)  # JSON stays parseable
    _exit_if_unreadable(outcome)
    if detailed_exitcode and outcome.plan.summary.has_changes:
        sys.exit(EXIT_CHANGES)


def _exit_if_unreadable(outcome: commands.Outcome) -> None:
    """Records that could not be read fail the run (exit 1) after the rest is planned."""
    bad = outcome.plan.unreadable
    if bad:
        click.secho(f"Error: {len(bad)} record(s) cannot be read and were left as they are "
                    f"(the lines starting with ! above say why).", fg="red", err=True)
        sys.exit(1)


@main.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@target_option
@click.option("--auto-approve", is_flag=True, help="Skip the interactive confirmation.")
@click.option("--allow-mass-change", "--allow-mass-delete", "allow_mass_delete", is_flag=True,
              help="Allow deleting, or emptying one field of, more than the [safety] limit of a kind's records.")
@changed_only_option
@no_color_option
@click.pass_context
@reports_errors
def apply(ctx: click.Context, planfile: Path | None, targets: tuple[str, ...], auto_approve: bool,
          allow_mass_delete: bool, changed_only: bool, no_color: bool) -> None:
    """Carry out a plan (a saved PLANFILE, or a fresh one). A second apply writes nothing."""
    if planfile is not None and (targets or changed_only):
        raise MziError("a saved plan already fixes what it changes; drop --target/--changed-only or plan again")
    saved = Plan.load(planfile) if planfile is not None else None
    colour = _colour(ctx, no_color)
    ctrl_c = _CtrlC()

    def confirm(the_plan: Plan) -> bool:
        click.echo(render_text(the_plan, colour=colour), nl=False)
        if not (auto_approve or saved is not None) and not _approved():
            raise ApplyCancelled("apply cancelled")
        ctrl_c.arm()  # writes start now: from here Ctrl-C stops after the batches in flight
        return True

    async def go() -> commands.Outcome:
        async with commands.workspace(config=_config(ctx)) as ws:
            _warn_interrupted(ws)
            try:
                return await commands.apply(ws, saved, _addresses(targets), allow_mass_delete=allow_mass_delete,
                                            confirm=confirm, changed_only=changed_only, gate=ctrl_c.gate)
            finally:
                ctrl_c.disarm()
                _warn(ws.warnings)

    try:
        outcome = _run(go())
    except asyncio.CancelledError:  # the second Ctrl-C
        click.echo("Aborted. Batches that were answered are in the run log (mzi state runs); "
                   "run mzi plan to see what is left.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if not outcome.plan.applicable():
        click.echo(render_text(outcome.plan, colour=colour), nl=False)
        _print_usage(outcome)
        _exit_if_unreadable(outcome)
        return
    _print_results(outcome)
    _print_usage(outcome)
    if outcome.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if outcome.failed:
        sys.exit(1)


def _approved() -> bool:
    """Terraform's question: only exactly ``yes`` approves, typed or piped (``echo yes | mzi apply``).

    A pipe that ends without an answer (EOF) cancels, so cron without --auto-approve never writes.
    """
    click.echo("\nDo you want to perform these actions?\n"
               "  mzi will perform the actions described above.\n"
               "  Only 'yes' will be accepted to approve.\n")
    if sys.stdin.isatty():
        answer = click.prompt("  Enter a value", default="", show_default=False)
    else:
        click.echo("  Enter a value: ", nl=False)
        answer = sys.stdin.readline().rstrip("\r\n")
        click.echo()
    return str(answer) == "yes"


def _check_writable(out: Path) -> None:
    """Refuse a plan file that cannot be written before reading both systems, not after."""
    if out.is_dir():
        raise MziError(f"--out {out} is a directory; name the plan file, e.g. --out {out / 'mzi.plan'}")
    if not out.parent.is_dir():
        raise MziError(f"--out {out}: folder {out.parent} does not exist; create it or pick another path")


def _save(the_plan: Plan, out: Path) -> None:
    try:
        the_plan.save(out)
    except OSError as exc:
        raise MziError(f"cannot write the plan to {out}: {exc.strerror}") from exc


def field_types(specs: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each kind's field types, for the JSON view (datetimes shown as ISO)."""
    return {kind: {name: f.type for name, f in spec.fields.items()} for kind, spec in specs.items()}


class _CtrlC:
    """Ctrl-C during the writes: the first stops cleanly, the second aborts.

    The first press closes the gate — no new batch starts, the ones in flight finish and
    are logged, and the run ends ``interrupted``. The second cancels the command at once;
    the write-ahead run log still holds every batch that was answered.
    """

    def __init__(self) -> None:
        self.gate = Gate()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._previous: Any = None

    def arm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._previous = signal.getsignal(signal.SIGINT)
        self._loop.add_signal_handler(signal.SIGINT, self._pressed)

    def disarm(self) -> None:
        if self._loop is not None:
            self._loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, self._previous)  # asyncio.run's own handler, for the rest
            self._loop = None

    def _pressed(self) -> None:
        if self.gate.interrupted and self._task is not None:
            self._task.cancel()
            return
        self.gate.interrupt()
        click.echo("\nStopping after the batches in flight (Ctrl-C again to abort at once)...", err=True)


def _warn_interrupted(ws: commands.Workspace) -> None:
    _warn(commands.interrupted_runs(ws))


def _warn(lines: list[str]) -> None:
    for line in lines:
        click.secho(f"Warning: {line}", fg="yellow", err=True)


def _print_usage(outcome: commands.Outcome) -> None:
    """API cost on stderr, so stdout stays a clean plan (or JSON) for pipes."""
    parts = []
    for system, numbers in outcome.usage.items():
        text = f"{system} {numbers.get('calls', numbers.get('requests', 0))} calls"
        if "credits" in numbers:
            text += f" ({numbers['credits']} credits)"
        if numbers.get("retries"):
            text += f", {numbers['retries']} retries"
        parts.append(text)
    if parts:
        click.echo("API usage: " + "; ".join(parts) + ".", err=True)


#: follow-up changes listed one by one after an apply; the rest are counted by kind
FOLLOW_UPS_SHOWN = 20


def _print_follow_ups(outcome: commands.Outcome) -> None:
    """What the apply did beyond its plan: records it wrote, carried on to the other kinds
    that read them (a course id to Zoho, a grade back to the mirror) so the next plan is empty."""
    changes = outcome.follow_ups
    if not changes:
        return
    click.echo(f"\nFollow-up: {len(changes)} change(s) to records this apply wrote, carried to the kinds that read them:")
    for change in changes[:FOLLOW_UPS_SHOWN]:
        click.echo(f"  {change.action.value} {change.address}")
    rest = Counter(c.address.kind for c in changes[FOLLOW_UPS_SHOWN:])
    if rest:
        click.echo("  … and " + ", ".join(f"{n} {kind}" for kind, n in sorted(rest.items())))


def _print_results(outcome: commands.Outcome) -> None:
    _print_follow_ups(outcome)
    not_attempted = outcome.not_attempted
    for result in outcome.results:
        if not result.ok and result.status != "skipped":
            click.echo(f"  {result.action.value} {result.address}: {result.status}: {result.error}")
    if not_attempted:  # one line, not one per record: they share a reason or two
        reasons = sorted({r.error.removeprefix("not attempted: ") for r in not_attempted})
        click.echo(f"  {len(not_attempted)} not attempted: " + "; ".join(reasons[:3])
                   + (f" (and {len(reasons) - 3} more reasons)" if len(reasons) > 3 else ""))
    if outcome.interrupted:
        click.echo(f"\nInterrupted: {outcome.written} changes written, {len(not_attempted)} not attempted; "
                   f"run {outcome.run_id} recorded. Run mzi plan to see what is left.")
        return
    blocked = sum(1 for r in outcome.results if r.status == "blocked")
    errors = len(outcome.failed) - len(not_attempted)
    click.echo(f"\nApply complete! {outcome.written} succeeded, {errors} failed, "
               + (f"{len(not_attempted)} not attempted, " if not_attempted else "")
               + f"{blocked} blocked. (run {outcome.run_id})")


@main.command()
@click.argument("planfile", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (sensitive values masked).")
@no_color_option
@click.pass_context
@reports_errors
def show(ctx: click.Context, planfile: Path, as_json: bool, no_color: bool) -> None:
    """Print a saved plan."""
    saved = Plan.load(planfile)
    if as_json:
        from .specs import load_specs

        click.echo(render_json(saved, field_types(load_specs(_config(ctx).specs_dir))), nl=False)
    else:
        click.echo(render_text(saved, colour=_colour(ctx, no_color)), nl=False)


@main.command()
@no_color_option
@click.pass_context
@reports_errors
def doctor(ctx: click.Context, no_color: bool) -> None:
    """Read-only preflight: credentials, Zoho fields, Moodle plugin and limits. Exit 1 on a failure."""
    from .doctor import Check, run_checks

    async def go() -> list[Check]:
        async with commands.workspace(config=_config(ctx)) as ws:
            return await run_checks(ws)

    checks = _run(go())
    colour = _colour(ctx, no_color)
    styles = {"ok": "green", "FAIL": "red", "warn": "yellow"}
    for check in checks:
        label = "ok" if check.ok else "FAIL" if check.severity == "error" else "warn"
        tag = click.style(f"{label:<6}", fg=styles[label]) if colour else f"{label:<6}"
        click.echo(f"  {tag}{check.name} — {check.detail}")
    failed = sum(1 for c in checks if c.blocking)
    warned = sum(1 for c in checks if not c.ok and not c.blocking)
    click.echo(f"\n{len(checks) - failed - warned} ok, {failed} failed, {warned} warnings."
               + (" Fix the failures before `mzi apply`." if failed else " Ready for `mzi plan`."))
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------------- sandbox
@main.group()
def sandbox() -> None:
    """The embedded Zoho and Moodle emulators."""


def _sandbox(ctx: click.Context) -> Any:
    config = _config(ctx)
    return commands.open_sandbox(config), config


@sandbox.command("reset")
@click.pass_context
@reports_errors
def sandbox_reset(ctx: click.Context) -> None:
    """Throw away the sandbox's data and generate the demo school again."""
    config = _config(ctx)
    from .sandbox import Sandbox

    box = Sandbox.from_config(config)
    box.reset()
    _forget_watermarks(config)
    click.echo(f"Sandbox reset: demo school with {config.sandbox.students} students (seed {config.sandbox.seed}) "
               f"in {config.sandbox_dir}.")


def _forget_watermarks(config: Config) -> None:
    """The new school's records are all "changed" relative to the old school's watermarks;
    kept, they would make `plan --changed-only` answer "No changes." after a reset."""
    from .state import StateStore

    store = StateStore(config.state_location)
    try:
        store.clear_watermarks()
    finally:
        store.close()


@sandbox.command("edit")
@click.argument("address")
@click.argument("assignments", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.pass_context
@reports_errors
def sandbox_edit(ctx: click.Context, address: str, assignments: tuple[str, ...]) -> None:
    """Edit a Zoho sandbox record, e.g. `mzi sandbox edit student.<id> City=Irbid`."""
    values: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise MziError(f"{item!r} is not FIELD=VALUE (Zoho api name, e.g. City=Irbid)")
        values[name] = value
    box, _ = _sandbox(ctx)
    record = box.edit(address, values)
    click.echo(f"Updated Zoho record {address}: " + ", ".join(f"{k}={record.get(k)!r}" for k in values))


@sandbox.command("delete")
@click.argument("address")
@click.pass_context
@reports_errors
def sandbox_delete(ctx: click.Context, address: str) -> None:
    """Delete a Zoho sandbox record (it moves to Zoho's deleted list)."""
    box, _ = _sandbox(ctx)
    box.delete(address)
    click.echo(f"Deleted Zoho record {address}.")


@sandbox.command("serve")
@click.pass_context
@reports_errors
def sandbox_serve(ctx: click.Context) -> None:
    """Run the emulators on loopback ports (see [sandbox] in mzi.toml)."""
    box, config = _sandbox(ctx)
    s = config.sandbox
    click.echo(f"Zoho emulator on http://{s.host}:{s.zoho_port}, Moodle emulator on http://{s.host}:{s.moodle_port}"
               " — Ctrl-C to stop.")
    box.serve(s.host, s.zoho_port, s.moodle_port)


# ------------------------------------------------------------------------- zoho
@main.group()
def zoho() -> None:
    """Zoho CRM administration."""


@zoho.command("watch")
@click.option("--notify-url", help="Public URL of `mzi serve` (default: [zoho] notify_url).")
@click.pass_context
@reports_errors
def zoho_watch(ctx: click.Context, notify_url: str | None) -> None:
    """Enable or renew Zoho notification channels for the modules mzi reads."""
    async def go() -> list[Any]:
        async with commands.workspace(config=_config(ctx)) as ws:
            return await commands.zoho_watch(ws, notify_url)

    actions = _run(go())
    for a in actions:
        expiry = a.expiry.isoformat() if a.expiry else "-"
        click.echo(f"  {a.action:<9} channel {a.channel_id}  {a.module:<20} until {expiry}  {a.error}".rstrip())
    failed = [a for a in actions if a.action == "failed"]
    click.echo(f"{len(actions) - len(failed)} channel(s) in place, {len(failed)} failed.")
    if failed:
        sys.exit(1)


# ------------------------------------------------------------------------ serve
@main.command()
@click.option("--host", default=None, help="Address to listen on (default: [serve] host, 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default: [serve] port, 8780).")
@click.option("--workers", default=None, type=click.IntRange(1, 64),
              help="Reconciles side by side in this process (default: [serve] workers).")
@click.pass_context
@reports_errors
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Receive Zoho and Moodle webhooks; each one queues a targeted reconcile of the records it names."""
    from .server import describe, serve as run_server

    config = _config(ctx)
    s = config.serve
    host, port, workers = host or s.host, port or s.port, workers or s.workers
    config.serve.secret()  # refuse to start unverifiable
    click.echo(describe(config, host, port, workers), err=True)
    run_server(config, host, port, workers)


def _queue(ctx: click.Context) -> Any:
    from .queue import EventQueue
    from .state import StateStore
    from .worker import policy_of

    config = _config(ctx)
    return EventQueue(StateStore(config.state_location), policy_of(config))


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


@main.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "running", "failed", "dead", "done"]),
              help="Only targets in this state (default: all but done).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@reports_errors
def events(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    """The webhook queue: what waits, retries or was given up on (dead letters)."""
    if ctx.invoked_subcommand is not None:
        return
    import time

    queue = _queue(ctx)
    items = queue.items(status, limit)
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in items], indent=2))
        return
    if not items:
        click.echo("No queued targets" + (f" with status {status}." if status else "."))
        return
    now = time.time()
    click.echo(f"{'target':<44} {'status':<8} {'tries':>5} {'events':>6} {'waiting':>8}  last error / last event")
    for i in items:
        note = i.last_error or i.last_event
        click.echo(f"{i.target:<44} {i.status:<8} {i.attempts:>5} {i.events:>6} {_age(now - i.enqueued):>8}  {note[:100]}")


@events.command("retry")
@click.argument("ident", required=False, metavar="TARGET|EVENT_ID")
@click.option("--all-dead", is_flag=True, help="Every dead letter.")
@click.pass_context
@reports_errors
def events_retry(ctx: click.Context, ident: str | None, all_dead: bool) -> None:
    """Queue a failed or dead target again now (by its address, or the id of its last event)."""
    if bool(ident) == all_dead:
        raise MziError("name one target (e.g. student.5847596000000100059) or event id, or pass --all-dead")
    queue = _queue(ctx)
    if all_dead:
        click.echo(f"{queue.retry_dead()} dead letter(s) queued again.")
        return
    if not queue.retry(ident):
        raise MziError(f"{ident}: no failed or dead target has this address or last event id (see mzi events)")
    click.echo(f"{ident} queued again.")


@main.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@reports_errors
def status(ctx: click.Context, as_json: bool) -> None:
    """Last runs, queue depth, oldest pending age and dead letters: is mzi keeping up?"""
    queue = _queue(ctx)
    stats = queue.stats()
    runs = queue.store.runs(5)
    if as_json:
        click.echo(json.dumps({"queue": stats.__dict__ | {"depth": stats.depth},
                               "runs": [r.__dict__ for r in runs]}, indent=2))
        return
    click.echo(f"Queue: {stats.depth} to reconcile ({stats.pending} pending, {stats.running} running, "
               f"{stats.failed} retrying); oldest waiting {_age(stats.oldest_pending_seconds)}; "
               f"{stats.dead} dead letter(s)" + (" — see mzi events --status dead" if stats.dead else "") + ".")
    click.echo("Last runs:" if runs else "No runs yet.")
    for r in runs:
        targets = ", ".join(r.targets[:3]) + (f" and {len(r.targets) - 3} more" if len(r.targets) > 3 else "")
        click.echo(f"  {r.id:>5}  {r.finished or '-':<25} {r.command:<6} {_run_status(r)}"
                   + (f"  [{targets}]" if targets else ""))


# ------------------------------------------------------------------------ state
@main.group()
def state() -> None:
    """The run log and the apply lock."""


@state.command("runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@reports_errors
def state_runs(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List recent plan/apply runs."""
    from .state import StateStore

    store = StateStore(_config(ctx).state_location)
    runs = store.runs(limit)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in runs], indent=2))
        return
    if runs:
        click.echo(f"{'run':>5}  {'finished (UTC)':<25} {'cmd':<6} {'planned':<18} {'calls':<26} status")
    for r in runs:
        counts = " ".join(f"{v}{k[0]}" for k, v in r.summary.items() if k in ("create", "update", "delete", "blocked"))
        api = ", ".join(f"{system} {n.get('calls', n.get('requests', 0))}" for system, n in r.summary.get("api", {}).items())
        click.echo(f"{r.id:>5}  {r.finished or '-':<25} {r.command:<6} {counts or '-':<18} {api or '-':<26} {_run_status(r)}")


def _run_status(run: Any) -> str:
    """What became of a run, with what it wrote: the first thing to know after a crash."""
    wrote = f"{run.writes} written" if run.command == "apply" else ""
    if run.status == "interrupted":
        return f"INTERRUPTED after {run.writes} writes"
    if run.status == "running":
        return f"running ({run.writes} written so far)"
    if run.status == "failed":
        return f"FAILED: {run.error}" + (f" ({wrote})" if run.writes else "")
    return f"ok, {wrote}" if wrote else "ok"


@state.command("unlock")
@click.pass_context
@reports_errors
def state_unlock(ctx: click.Context) -> None:
    """Clear the record of who holds the apply lock (the lock itself dies with its holder)."""
    from .state import StateStore

    store = StateStore(_config(ctx).state_location)
    click.echo("Lock record cleared." if store.force_unlock() else "No lock record was left.")


if __name__ == "__main__":  # `python -m reconciler.cli`, used by tests that need a subprocess
    main()
