"""Benchmark: mzi's own CPU per record and per change, stage by stage, emulators left out.

Prints a table and writes JSON; asserts nothing (targets belong here, not in timed tests).
Not part of the test run:

    nice .venv/bin/python benchmarks/cpu_profile.py --students 1500 --out /tmp/cpu-1500.json
    nice .venv/bin/python benchmarks/cpu_profile.py --students 1500 --no-gc   # the code's cost alone
    nice .venv/bin/python benchmarks/cpu_profile.py --students 1500 --default-gc   # CPython's GC thresholds
    nice .venv/bin/python benchmarks/cpu_profile.py --students 10000 --repeat 1   # ~15 min, ~5.8 GB peak

How it separates mzi from the emulators: one real plan of the generated demo school runs
against the in-process sandbox, and every raw record the providers hand to the mapping
(``record_from_zoho``, ``subform_records``, ``record_from_moodle``) is spooled to disk per
kind, and every input of ``diff_kind`` kept (see :class:`Captured`). The stages are then replayed on those captured inputs alone,
timed with ``time.process_time`` (CPU of this process, not wall time):

- map zoho / map moodle: µs per record produced (a subform parent counts its rows), one
  kind's spooled inputs in memory at a time;
- diff: µs per key in the diff's scope;
- text / json / markdown: µs per change of the plan rendered;
- pipeline: mapping every captured record + diff + ordering + reference labels, i.e. the
  whole read+diff+plan CPU minus the providers' network/emulator work, per source record
  (and, as the brief counts it, split into per record and per change).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import pickle
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from reconciler import commands, engine, mapping
from reconciler.config import Config, SandboxSettings
from reconciler.labels import name_references
from reconciler.model import Address, Change, Record
from reconciler.plan import Plan, order_changes
from reconciler.providers import moodle, moodle_courses, moodle_enrolments, moodle_users, zoho
from reconciler.render import render_json, render_markdown, render_text
from reconciler.sandbox import Sandbox
from reconciler.specs import Spec

#: provider modules that imported a mapping function by name: where the capture hooks in
_ZOHO_SITES = (zoho,)
_MOODLE_SITES = (moodle, moodle_courses, moodle_enrolments, moodle_users)


@dataclass
class Captured:
    """What one plan fed to mzi's own code: raw records per kind and each ``diff_kind`` call.

    The raw records are spooled to one pickle file per (side, kind) as they arrive, not
    kept: in a real run each page of them is dropped once mapped, and holding the whole
    school's (4.1 GB at 4,000 students) is what kept this benchmark from 10,000. The
    ``diff_kind`` inputs stay in memory: they are the engine's own working set, which a
    real plan holds until it ends too. ``spool_s``: CPU spent writing the spool, taken
    out of the whole plan's CPU.
    """

    spool: Path
    specs: dict[str, Spec] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    diffs: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    spool_s: float = 0.0
    plan_rss_mb: float = 0.0  # peak RSS when the plan ended: mzi and the in-process emulators, no replay yet
    _files: dict[tuple[str, str], BinaryIO] = field(default_factory=dict)

    def spill(self, side: str, spec: Spec, item: Any) -> None:
        """Append one raw input of ``spec``'s kind read on ``side`` (``zoho``/``moodle``) to its file."""
        started = time.process_time()
        where = (side, spec.kind)
        out = self._files.get(where)
        if out is None:
            out = self._files[where] = open(self.spool / f"{side}-{spec.kind}.pickle", "wb")
            self.specs[spec.kind] = spec
        pickle.dump(item, out, pickle.HIGHEST_PROTOCOL)
        self.counts[where] = self.counts.get(where, 0) + 1
        self.spool_s += time.process_time() - started

    def close(self) -> None:
        for out in self._files.values():
            out.close()

    def kinds(self, side: str) -> list[str]:
        return [kind for s, kind in self.counts if s == side]

    def load(self, side: str, kind: str) -> list[Any]:
        """One kind's spooled inputs, read back (outside any timed stage)."""
        items = []
        with open(self.spool / f"{side}-{kind}.pickle", "rb") as spooled:
            for _ in range(self.counts[(side, kind)]):
                items.append(pickle.load(spooled))
        return items


def _patch(modules: tuple[Any, ...], name: str, wrap: Callable[[Any], Any]) -> list[tuple[Any, Any]]:
    saved = []
    for module in modules:
        if hasattr(module, name):
            saved.append((module, getattr(module, name)))
            setattr(module, name, wrap(getattr(module, name)))
    return saved


@contextmanager
def capturing(into: Captured) -> Iterator[None]:
    """Record the mapping and diff inputs of everything run inside, then put the functions back."""

    def zoho_one(real: Any) -> Any:
        def hook(spec: Spec, raw: dict[str, Any]) -> Any:
            into.spill("zoho", spec, (raw, False))
            return real(spec, raw)
        return hook

    def zoho_rows(real: Any) -> Any:
        def hook(spec: Spec, raw: dict[str, Any]) -> Any:
            into.spill("zoho", spec, (raw, True))
            return real(spec, raw)
        return hook

    def moodle_one(real: Any) -> Any:
        def hook(spec: Spec, row: dict[str, Any]) -> Any:
            into.spill("moodle", spec, row)
            return real(spec, row)
        return hook

    def diff(real: Any) -> Any:
        def hook(*args: Any, **kwargs: Any) -> Any:
            into.diffs.append((args, kwargs))
            return real(*args, **kwargs)
        return hook

    saved = (_patch(_ZOHO_SITES, "record_from_zoho", zoho_one) + _patch(_ZOHO_SITES, "subform_records", zoho_rows)
             + _patch(_MOODLE_SITES, "record_from_moodle", moodle_one) + _patch((engine,), "diff_kind", diff))
    try:
        yield
    finally:
        into.close()
        for module, original in saved:
            setattr(module, original.__name__, original)


#: ``--no-gc``: time the stages with the cyclic garbage collector off (after a collection)
NO_GC = False
#: ``--default-gc``: time the stages with CPython's own collector thresholds, not the
#: engine's :func:`~reconciler.engine.bulk_collection` that a plan runs under
DEFAULT_GC = False


def _cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Fewest CPU seconds of ``repeat`` runs of ``fn`` and its last result.

    With the collector on (the default, as in a real run: under the engine's
    ``bulk_collection``) a stage also pays for the collections its allocations trigger
    over everything alive — the captured records of the whole school; ``--default-gc``
    shows that with CPython's thresholds, ``--no-gc`` the code's own cost apart from it.
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        if NO_GC:
            gc.collect()
            gc.disable()
        try:
            with contextlib.nullcontext() if NO_GC or DEFAULT_GC else engine.bulk_collection():
                started = time.process_time()
                result = fn()
                best = min(best, time.process_time() - started)
        finally:
            gc.enable()
    return best, result


def _map_zoho(spec: Spec, items: list[tuple[dict[str, Any], bool]]) -> list[Record]:
    records: list[Record] = []
    for raw, rows in items:
        try:
            records.extend(mapping.subform_records(spec, raw) if rows else [mapping.record_from_zoho(spec, raw)])
        except mapping.MappingError:
            records.append(Record.unreadable(_nowhere(spec), "unreadable"))
    return records


def _nowhere(spec: Spec) -> Address:
    """Where an unreadable record lands in the replay (the provider would name it; the cost is the same)."""
    return Address(spec.kind, "?")


def _map_moodle(spec: Spec, items: list[dict[str, Any]]) -> list[Record]:
    records: list[Record] = []
    for row in items:
        try:
            records.append(mapping.record_from_moodle(spec, row))
        except mapping.MappingError:
            records.append(Record.unreadable(_nowhere(spec), "unreadable"))
    return records


def _map_side(captured: Captured, side: str, repeat: int) -> tuple[float, int]:
    """CPU seconds and records made mapping every spooled input of ``side``, one kind at a
    time: each kind's inputs are read back, mapped (timed), and dropped before the next."""
    mapper: Callable[[Spec, Any], list[Record]] = _map_zoho if side == "zoho" else _map_moodle
    total_s, made = 0.0, 0
    for kind in captured.kinds(side):
        spec, items = captured.specs[kind], captured.load(side, kind)
        seconds, records = _cpu(lambda: mapper(spec, items), repeat)
        total_s, made = total_s + seconds, made + len(records)
        del items, records
    return total_s, made


def _diff_all(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> dict[str, list[Change]]:
    by_kind: dict[str, list[Change]] = {}
    for args, kwargs in calls:
        by_kind.setdefault(args[0].kind, []).extend(engine.diff_kind(*args, **kwargs))
    return by_kind


def _diff_keys(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> int:
    total = 0
    for args, kwargs in calls:
        keys = kwargs.get("keys", args[4] if len(args) > 4 else None)
        total += len(set(args[1]) | set(args[2])) if keys is None else len(keys)
    return total


def _snapshots(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> dict[str, engine.Snapshot]:
    return {args[0].kind: engine.Snapshot(dict(args[1]), dict(args[2])) for args, _ in calls}


async def _one_plan(config: Config, captured: Captured) -> tuple[Plan, dict[str, Spec], dict[str, dict[str, str]],
                                                                dict[str, dict[str, str]], float]:
    async with commands.workspace(config=config) as ws:
        started = time.process_time()
        with capturing(captured):
            outcome = await commands.plan(ws)
        plan_cpu = time.process_time() - started - captured.spool_s
        captured.plan_rss_mb = _peak_rss_mb()
        labels = commands.zoho_field_labels(ws.specs, ws.state)
        types: dict[str, dict[str, str]] = {kind: {n: f.type for n, f in spec.fields.items()}
                                            for kind, spec in ws.specs.items()}
        return outcome.plan, ws.specs, labels, types, plan_cpu


def measure(students: int, repeat: int) -> dict[str, Any]:
    """Every stage's CPU at one school size, as a dict of numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(state_dir=Path(tmp), sandbox=SandboxSettings(students=students, seed=7))
        Sandbox.from_config(config).ensure()
        spool = Path(tmp) / "spool"
        spool.mkdir()
        captured = Captured(spool)
        plan, specs, labels, types, plan_cpu = asyncio.run(_one_plan(config, captured))
        return _replay(captured, plan, specs, labels, types, plan_cpu, students, repeat)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _replay(captured: Captured, plan: Plan, specs: dict[str, Spec], labels: dict[str, dict[str, str]],
            types: dict[str, dict[str, str]], plan_cpu: float, students: int, repeat: int) -> dict[str, Any]:
    """Time each stage on the captured inputs (see the module docstring)."""
    zoho_s, zoho_records = _map_side(captured, "zoho", repeat)
    moodle_s, moodle_records = _map_side(captured, "moodle", repeat)
    diff_s, by_kind = _cpu(lambda: _diff_all(captured.diffs), repeat)
    snapshots = _snapshots(captured.diffs)

    def assemble() -> list[Change]:
        named = {kind: name_references(specs, changes, snapshots) for kind, changes in by_kind.items()}
        return order_changes(specs, named)

    plan_s, _ = _cpu(assemble, repeat)
    changes = max(len(plan.changes), 1)
    text_s, _ = _cpu(lambda: render_text(plan, field_labels=labels), repeat)
    json_s, _ = _cpu(lambda: render_json(plan, types), repeat)
    md_s, _ = _cpu(lambda: render_markdown(plan, labels), repeat)
    keys = max(_diff_keys(captured.diffs), 1)
    source = max(zoho_records, 1)
    pipeline = zoho_s + moodle_s + diff_s + plan_s
    return {
        "students": students,
        "zoho_records": zoho_records,
        "moodle_records": moodle_records,
        "diff_keys": keys,
        "changes": len(plan.changes),
        "us_per_zoho_record": 1e6 * zoho_s / source,
        "us_per_moodle_record": 1e6 * moodle_s / max(moodle_records, 1),
        "us_per_diff_key": 1e6 * diff_s / keys,
        "us_per_change_assemble": 1e6 * plan_s / changes,
        "us_per_change_text": 1e6 * text_s / changes,
        "us_per_change_json": 1e6 * json_s / changes,
        "us_per_change_markdown": 1e6 * md_s / changes,
        "pipeline_cpu_s": pipeline,
        "pipeline_us_per_source_record": 1e6 * pipeline / source,
        "plan_cpu_s_with_emulators": plan_cpu,
        "plan_peak_rss_mb": captured.plan_rss_mb,
        "peak_rss_mb": _peak_rss_mb(),
        "gc_during_stages": not NO_GC,
        "gc_thresholds": "off" if NO_GC else "default" if DEFAULT_GC else "bulk_collection",
    }


_ROWS = [
    ("map zoho", "us_per_zoho_record", "µs/record"),
    ("map moodle", "us_per_moodle_record", "µs/record"),
    ("diff", "us_per_diff_key", "µs/key"),
    ("order + labels", "us_per_change_assemble", "µs/change"),
    ("render text", "us_per_change_text", "µs/change"),
    ("render json", "us_per_change_json", "µs/change"),
    ("render markdown", "us_per_change_markdown", "µs/change"),
    ("pipeline (no emulators)", "pipeline_us_per_source_record", "µs/source record"),
]


def table(result: dict[str, Any]) -> str:
    lines = [f"students={result['students']} (GC in stages: {result['gc_thresholds']}): "
             f"{result['zoho_records']} Zoho records, "
             f"{result['moodle_records']} Moodle records, {result['diff_keys']} keys, {result['changes']} changes"]
    lines += [f"  {name:<24} {result[key]:9.1f} {unit}" for name, key, unit in _ROWS]
    lines.append(f"  {'pipeline total':<24} {result['pipeline_cpu_s']:9.3f} s CPU "
                 f"(whole plan with in-process emulators: {result['plan_cpu_s_with_emulators']:.2f} s)")
    lines.append(f"  {'peak RSS':<24} {result['peak_rss_mb']:9.0f} MB "
                 f"(when the plan ended, emulators included: {result['plan_peak_rss_mb']:.0f} MB)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--students", type=int, action="append", help="school size (repeatable; default 1500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the fewest CPU seconds count")
    parser.add_argument("--out", type=Path, help="write the numbers as JSON here")
    parser.add_argument("--no-gc", action="store_true", help="time stages with the cyclic GC off (code cost alone)")
    parser.add_argument("--default-gc", action="store_true",
                        help="time stages with CPython's GC thresholds rather than the engine's bulk_collection")
    args = parser.parse_args()
    global NO_GC, DEFAULT_GC
    NO_GC, DEFAULT_GC = args.no_gc, args.default_gc
    results = []
    for students in args.students or [1500]:
        result = measure(students, args.repeat)
        print(table(result), flush=True)
        results.append(result)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
