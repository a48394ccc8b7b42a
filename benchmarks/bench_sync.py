"""Benchmark: full plan / apply / re-plan of the sandbox school at a given size.

Prints numbers, asserts nothing (targets belong here, not in timed tests):

    .venv/bin/python benchmarks/bench_sync.py --students 1500 --students 10000
    .venv/bin/python benchmarks/bench_sync.py --students 1500 --read-api list --read-api coql

For each size and Zoho read API: time to generate the demo school, time, calls and Zoho
credits of the first full plan, of the apply, and of the plan after it (which must be
empty), with the Zoho calls compared against the lower bound of one full read — Σ⌈N/2000⌉
over the modules read through COQL (a subform module's N: its rows) plus Σ⌈N/200⌉ over
those listed page by page (N: the module's records), counted per kind and per module —
and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from reconciler import commands
from reconciler.config import Config, SandboxSettings, ZohoSettings
from reconciler.providers.zoho import ZohoProvider
from reconciler.providers.zoho_client import COQL_MAX_LIMIT, MAX_PER_PAGE
from reconciler.sandbox import Sandbox
from reconciler.specs import Spec


def _api_calls(sandbox: Sandbox) -> dict[str, int]:
    """Requests each emulator served (and Zoho's credits), from their own API logs."""
    with sqlite3.connect(sandbox.moodle_db) as moodle:
        m = moodle.execute("SELECT COUNT(*) FROM mdl_mzi_api_log").fetchone()[0]
    store = sandbox.zoho_store()
    return {"zoho": store.call_count(), "credits": store.credits_used(), "moodle": m}


def _subform_rows(sandbox: Sandbox, module: str, field: str) -> int:
    """The rows of subform ``field`` across ``module``: the records of its subform module."""
    return sum(len(record.get(field) or []) for record in sandbox.zoho_store().all_records(module))


async def _lower_bound(provider: ZohoProvider, specs: list[Spec], sandbox: Sandbox) -> tuple[int, int, dict[str, str]]:
    """Calls of one full read of every kind the plan reads from Zoho, and how each kind is read.

    Two bounds: each kind reading its module itself (two kinds of one module read it
    twice), and each module read once. A kind read through COQL with subform rows reads
    two modules, the parent (N records) and the subform module (its rows); one listed
    gets its rows with its parents.
    """
    records = sandbox.zoho_store().modules_with_records()
    per_call = {"coql": COQL_MAX_LIMIT, "list": MAX_PER_PAGE}
    how: dict[str, str] = {}
    streams: list[tuple[str, str, int]] = []  # (read api, module, records) of each kind's reads
    for spec in specs:
        plan = await provider.coql_plan(spec)
        api = "coql" if plan.use else "list"
        how[spec.kind] = api
        streams.append((api, spec.zoho_module, records.get(spec.zoho_module, 0)))
        if plan.use and plan.subform is not None:
            rows = _subform_rows(sandbox, spec.zoho_module, plan.subform.field)
            streams.append((api, plan.subform.module, rows))

    def calls(reads: list[tuple[str, str, int]]) -> int:
        return sum(max(1, math.ceil(n / per_call[api])) for api, _, n in reads)

    return calls(streams), calls(list(dict.fromkeys(streams))), how


async def _measure(config: Config, steps: tuple[str, ...]) -> None:
    async with commands.workspace(config=config) as ws:
        assert ws.sandbox is not None
        sandbox = ws.sandbox
        for step in steps:
            before = _api_calls(sandbox)
            started = time.perf_counter()
            if step == "apply":
                outcome = await commands.apply(ws, allow_mass_delete=True)
            else:
                outcome = await commands.plan(ws)
            seconds = time.perf_counter() - started
            after = _api_calls(sandbox)
            print(f"  {step:<11} {seconds:7.2f} s  zoho calls {after['zoho'] - before['zoho']:>5} "
                  f"credits {after['credits'] - before['credits']:>5}  "
                  f"moodle calls {after['moodle'] - before['moodle']:>5}  {outcome.plan.summary.line}")
        zoho = ws.providers["zoho"]
        assert isinstance(zoho, ZohoProvider)
        specs = [spec for spec in ws.specs.values() if "zoho" in (spec.source.system, spec.target.system)]
        by_kind, by_module, how = await _lower_bound(zoho, specs, sandbox)
        print(f"  Zoho lower bound of one full read ({how}): {by_kind} calls, each kind reading its modules; "
              f"{by_module} calls, each module read once")


def run(students: int, read_api: str, steps: tuple[str, ...] = ("plan", "apply", "plan again"),
        subform_read_api: str = "list") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(state_dir=Path(tmp), sandbox=SandboxSettings(students=students, seed=7),
                        zoho=ZohoSettings(read_api=read_api, subform_read_api=subform_read_api))
        started = time.perf_counter()
        Sandbox.from_config(config).ensure()
        print(f"students={students} read_api={read_api} subform_read_api={subform_read_api}: "
              f"demo school generated in {time.perf_counter() - started:.2f} s")
        asyncio.run(_measure(config, steps))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS so far: {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, action="append", help="school size (repeatable)")
    parser.add_argument("--read-api", choices=("coql", "list"), action="append",
                        help="how Zoho kinds are listed (repeatable; default coql)")
    parser.add_argument("--subform-read-api", choices=("coql", "list"), action="append",
                        help="how subform rows are read with read_api coql (repeatable; default list)")
    parser.add_argument("--plan-only", action="store_true", help="measure the first full plan only (no apply)")
    args = parser.parse_args()
    steps = ("plan",) if args.plan_only else ("plan", "apply", "plan again")
    for n in args.students or [1500]:
        for read_api in args.read_api or ["coql"]:
            for subform_read_api in (args.subform_read_api or ["list"]) if read_api == "coql" else ["list"]:
                run(n, read_api, steps, subform_read_api)


if __name__ == "__main__":
    main()
