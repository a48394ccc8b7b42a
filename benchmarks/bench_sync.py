"""Benchmark: full plan / apply / re-plan of the sandbox school at a given size.

Prints numbers, asserts nothing (targets belong here, not in timed tests):

    .venv/bin/python benchmarks/bench_sync.py --students 1500 --students 10000

For each size: time to generate the demo school, time and calls of the first full
plan, of the apply, and of the plan after it (which must be empty), with the Zoho
calls compared against the lower bound Σ⌈N/200⌉ over the modules read, and the
process's peak resident memory.
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
from reconciler.config import Config, SandboxSettings
from reconciler.sandbox import Sandbox


def _api_calls(sandbox: Sandbox) -> dict[str, int]:
    """Requests each emulator served, from their own API logs."""
    with sqlite3.connect(sandbox.moodle_db) as moodle:
        m = moodle.execute("SELECT COUNT(*) FROM mdl_mzi_api_log").fetchone()[0]
    return {"zoho": sandbox.zoho_store().call_count(), "moodle": m}


def _lower_bound(counts: dict[str, int]) -> int:
    return sum(math.ceil(n / 200) for n in counts.values())


async def _measure(config: Config) -> None:
    async with commands.workspace(config=config) as ws:
        assert ws.sandbox is not None
        sandbox = ws.sandbox
        for step in ("plan", "apply", "plan again"):
            before = _api_calls(sandbox)
            started = time.perf_counter()
            if step == "apply":
                outcome = await commands.apply(ws, allow_mass_delete=True)
            else:
                outcome = await commands.plan(ws)
            seconds = time.perf_counter() - started
            after = _api_calls(sandbox)
            print(f"  {step:<11} {seconds:7.2f} s  zoho calls {after['zoho'] - before['zoho']:>5}  "
                  f"moodle calls {after['moodle'] - before['moodle']:>5}  {outcome.plan.summary.line}")
        counts = {kind: len(await ws.providers["zoho"].read(spec)) for kind, spec in ws.specs.items()
                  if spec.source.system == "zoho"}
        print(f"  Zoho lower bound Σ⌈N/200⌉ over {counts}: {_lower_bound(counts)} calls per full read")


def run(students: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(state_dir=Path(tmp), sandbox=SandboxSettings(students=students, seed=7))
        started = time.perf_counter()
        Sandbox.from_config(config).ensure()
        print(f"students={students}: demo school generated in {time.perf_counter() - started:.2f} s")
        asyncio.run(_measure(config))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS so far: {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, action="append", help="school size (repeatable)")
    args = parser.parse_args()
    for n in args.students or [1500]:
        run(n)


if __name__ == "__main__":
    main()
