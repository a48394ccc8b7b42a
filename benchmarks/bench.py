"""mzi at school scale: calls, credits, time, CPU and memory per scenario, against a legacy baseline.

Not part of the test suite (it takes minutes; targets belong here, never in timed tests).
One command, from the repository root:

    .venv/bin/python benchmarks/bench.py                                  # 1,500 students, both profiles
    .venv/bin/python benchmarks/bench.py --students 10000 --profile zero  # 10k, CPU cost only
    .venv/bin/python benchmarks/bench.py --students 5000 --legacy-sample 100 --json-out /tmp/b.json

What it does, per school size (``--students``, repeatable) and latency profile
(``--profile latency|zero``, repeatable):

1. builds the demo school (``reconciler/sandbox/demo.py``, deterministic per size and
   seed) with an *empty* Moodle — its users exist, no mirror rows, courses or enrolments —
   once, cached under ``--cache-dir`` keyed by size, seed and the generator's source;
2. serves each emulator from a fresh copy as a real uvicorn server on a loopback port, in
   its own process (``benchmarks/emulator.py``), behind the latency profile enforced
   server-side: ``latency`` = Zoho 150 ms a request, at most 10 in flight (the 11th gets
   429 at once, as Zoho answers), Moodle 100 ms a call, at most 4 in flight (the 5th
   waits, as a PHP-FPM pool does); ``zero`` = no latency, no limit (the CPU cost);
3. runs the real ``mzi`` CLI as a subprocess (``benchmarks/mzi_loopback.py``: live
   backends, Zoho's data centre pointed at the loopback emulator) through the scenarios:
   full plan from scratch; apply into the empty Moodle; a second apply (no-op); apply
   ``--changed-only`` after 1 % of the Zoho records of every module were edited in the
   emulator's store (a field given another record's value, a new Modified_Time); one
   webhook (one student edited, ``apply --target student.<id>``);
4. runs the legacy baseline (``benchmarks/legacy.py``: per record one Zoho GET by id and
   one Moodle call) into another empty Moodle over the same emulators and profile, on
   the first ``--legacy-sample`` records of each kind, extrapolated linearly (said so).

Per scenario it reports: wall time; CPU seconds and peak RSS of the mzi process
(``os.wait4`` of the child); the emulators' CPU seconds (``/proc/<pid>/stat``, Linux);
remote calls by system and endpoint and Zoho credits, from the emulators' own API logs;
the lower bound of calls (Zoho reads Σ⌈N/page⌉ over the modules read, each once, page
2,000 through COQL and 200 where a kind of the module is listed — ``--read-api list``, or
subform rows listed with their parents — plus Σ⌈rows/2,000⌉ over subform rows queried with
``--subform-read-api coql``; Moodle reads Σ⌈rows/page⌉ per function, page
min(1000, max_input_vars − 10); Moodle writes Σ⌈variables sent/(max_input_vars − 10)⌉ per
function, the variables counted by the Moodle emulator's middleware; Zoho writes
Σ⌈records/100⌉); the I/O floor (calls × latency / allowed concurrency per system, summed,
and the larger system's alone, as both can be busy at once); 429s answered; writes made
(from mzi's run log). It prints a table and writes everything as JSON to
``--json-out`` (default ``benchmarks/results/<UTC date and time>.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script from anywhere: the checkout's reconciler

from reconciler.config import Config, load_config  # noqa: E402
from reconciler.mapping import subform_records  # noqa: E402
from reconciler.providers.moodle import REQUEST_OVERHEAD  # noqa: E402
from reconciler.providers.zoho import subform_target  # noqa: E402
from reconciler.sandbox.demo import MISSING, MOODLE_DB, ZOHO_DB, generate, install  # noqa: E402
from reconciler.sandbox.moodle.db import SANDBOX_TOKEN  # noqa: E402
from reconciler.sandbox.zoho.app import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN  # noqa: E402
from reconciler.sandbox.zoho.store import ZohoStore, zoho_time  # noqa: E402
from reconciler.specs import Spec, load_specs  # noqa: E402

sys.path.insert(0, str(HERE))
from emulator import STATS_PATH  # noqa: E402
from legacy import LegacyClient, LegacyRun  # noqa: E402

MZI = HERE / "mzi_loopback.py"
EMULATOR = HERE / "emulator.py"
GENERATOR_SOURCES = ("demo.py", "demo_courses.py", "demo_enrolments.py", "demo_grades.py", "demo_users.py")
ZOHO_WRITE_BATCH = 100
MOODLE_READ_PAGE = 1000
CHANGED_SHARE = 0.01


class BenchError(RuntimeError):
    """The benchmark could not measure what it was asked to (a server did not start, mzi failed)."""


@dataclass(frozen=True)
class SystemProfile:
    latency: float
    limit: int
    when_full: str  # "wait" or "reject"


@dataclass(frozen=True)
class Profile:
    name: str
    zoho: SystemProfile
    moodle: SystemProfile


PROFILES = {
    "latency": Profile("latency", SystemProfile(0.150, 10, "reject"), SystemProfile(0.100, 4, "wait")),
    "zero": Profile("zero", SystemProfile(0.0, 1000, "wait"), SystemProfile(0.0, 1000, "wait")),
}


# ------------------------------------------------------------------ the dataset

@dataclass
class Dataset:
    directory: Path
    students: int
    seed: int
    counts: dict[str, int]
    build_seconds: float


def _generator_digest() -> str:
    from reconciler.sandbox import demo

    folder = Path(demo.__file__).parent
    digest = hashlib.sha256()
    for name in GENERATOR_SOURCES:
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:10]


def dataset(cache: Path, students: int, seed: int) -> Dataset:
    """The demo school with an empty Moodle, built once per (size, seed, generator source)."""
    directory = cache / f"school-{students}-seed{seed}-{_generator_digest()}"
    meta = directory / "bench.json"
    if meta.is_file():
        saved = json.loads(meta.read_text(encoding="utf-8"))
        return Dataset(directory, students, seed, saved["counts"], saved["build_seconds"])
    shutil.rmtree(directory, ignore_errors=True)
    started = time.perf_counter()
    school = generate(students, seed)
    # an empty Moodle: no record has a mirror row (so no course, enrolment or grade either);
    # the Moodle users exist, as on a site whose accounts come from elsewhere
    school.fates = {module: {rid: MISSING for rid in fates} for module, fates in school.fates.items()}
    school.moodle_requests = []
    install(directory, school)
    counts = {module: len(rows) for module, rows in sorted(school.records.items())}
    specs = load_specs()
    if "installment" in specs:
        counts["installments (Payment_Schedule rows)"] = sum(
            len(subform_records(specs["installment"], r)) for r in school.records.get(specs["installment"].zoho_module, []))
    counts["Moodle users"] = len(school.moodle_users)
    counts["deleted (recycle bin)"] = sum(len(v) for v in school.deleted.values())
    seconds = time.perf_counter() - started
    meta.write_text(json.dumps({"counts": counts, "build_seconds": seconds}, indent=1) + "\n", encoding="utf-8")
    return Dataset(directory, students, seed, counts, seconds)


def fresh_copy(data: Dataset, into: Path) -> Path:
    """A private copy of the cached school (the runs write to it)."""
    target = into / "sandbox"
    target.mkdir(parents=True)
    for name in (ZOHO_DB, MOODLE_DB):
        shutil.copy2(data.directory / name, target / name)
    return target


# ------------------------------------------------------------------ processes

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Emulator:
    system: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self.url + STATS_PATH, timeout=10).json())


def _start_emulator(system: str, sandbox: Path, profile: SystemProfile, log: Path) -> Emulator:
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(EMULATOR), system, str(sandbox), str(port), "--latency-ms",
             str(profile.latency * 1000), "--limit", str(profile.limit), "--when-full", profile.when_full],
            stdout=out, stderr=subprocess.STDOUT)
    emulator = Emulator(system, port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the {system} emulator exited with {process.returncode}; see {log}")
        try:
            emulator.stats()
            return emulator
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise BenchError(f"the {system} emulator did not listen on port {port} within 60 s; see {log}")


@contextmanager
def emulators(sandbox: Path, profile: Profile, log: Path) -> Iterator[dict[str, Emulator]]:
    started = {name: _start_emulator(name, sandbox, getattr(profile, name), log) for name in ("zoho", "moodle")}
    try:
        yield started
    finally:
        for emulator in started.values():
            emulator.process.send_signal(signal.SIGINT)
        for emulator in started.values():
            try:
                emulator.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                emulator.process.kill()
                emulator.process.wait()


@dataclass
class MziRun:
    argv: list[str]
    exit_code: int
    wall: float
    cpu: float
    peak_rss_mb: float
    output: Path


def run_mzi(workdir: Path, env: dict[str, str], argv: list[str], name: str) -> MziRun:
    """One mzi command as a child process; its own CPU and peak RSS from wait4."""
    output = workdir / f"{name}.out"
    with output.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, str(MZI), "-c", str(workdir / "mzi.toml"), *argv],
                                   stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return MziRun(argv, process.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output)


@dataclass(frozen=True)
class ReadApis:
    """How mzi reads Zoho in the run: ``[zoho] read_api`` and ``subform_read_api``."""

    read_api: str = "coql"
    subform_read_api: str = "list"


def _config_text(moodle_url: str, reads: ReadApis) -> str:
    return ("# written by benchmarks/bench.py: both systems live, on loopback emulators\n"
            'state_dir = "state"\n'
            f'[zoho]\nbackend = "live"\ndata_centre = "com"\nread_api = "{reads.read_api}"\n'
            f'subform_read_api = "{reads.subform_read_api}"\n'
            f'[moodle]\nbackend = "live"\nurl = "{moodle_url}"\n'
            "[safety]\nmax_delete_fraction = 1.0\n")


def _env(zoho_url: str) -> dict[str, str]:
    return {**os.environ, "MZI_BENCH_ZOHO_URL": zoho_url, "MZI_ZOHO_CLIENT_ID": SANDBOX_CLIENT_ID,
            "MZI_ZOHO_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, "MZI_ZOHO_REFRESH_TOKEN": SANDBOX_REFRESH_TOKEN,
            "MZI_MOODLE_TOKEN": SANDBOX_TOKEN, "NO_COLOR": "1", "PYTHONPATH": str(HERE.parent)}


# ------------------------------------------------------------------ the logs

def _endpoint(method: str, path: str) -> str:
    """``GET /crm/v8/BTEC_Students/5847…`` → ``GET BTEC_Students/{id}``."""
    parts = [p for p in path.split("/") if p][2:] if path.startswith("/crm/v8/") else [path]
    return f"{method} " + "/".join("{id}" if p.isdigit() else p for p in parts)


@dataclass
class LogMark:
    zoho: int
    moodle: int


@dataclass
class Calls:
    zoho: Counter[str] = field(default_factory=Counter)
    zoho_credits: Counter[str] = field(default_factory=Counter)
    moodle: Counter[str] = field(default_factory=Counter)
    #: records each Moodle function carried (reads: returned; writes: sent), and which write
    moodle_records: Counter[str] = field(default_factory=Counter)
    moodle_writes: set[str] = field(default_factory=set)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)


def log_mark(sandbox: Path) -> LogMark:
    with _connect(sandbox / ZOHO_DB) as z, _connect(sandbox / MOODLE_DB) as m:
        zoho = z.execute("SELECT COALESCE(MAX(seq), 0) FROM api_log").fetchone()[0]
        try:
            moodle = m.execute("SELECT COALESCE(MAX(id), 0) FROM mdl_mzi_api_log").fetchone()[0]
        except sqlite3.OperationalError:
            moodle = 0
    return LogMark(int(zoho), int(moodle))


def calls_since(sandbox: Path, mark: LogMark) -> Calls:
    calls = Calls()
    with _connect(sandbox / ZOHO_DB) as z, _connect(sandbox / MOODLE_DB) as m:
        for method, path, credits in z.execute("SELECT method, path, credits FROM api_log WHERE seq > ?", (mark.zoho,)):
            calls.zoho[_endpoint(method, path)] += 1
            calls.zoho_credits[_endpoint(method, path)] += credits
        for fn, is_write, records in m.execute(
                "SELECT wsfunction, is_write, records FROM mdl_mzi_api_log WHERE id > ?", (mark.moodle,)):
            calls.moodle[fn] += 1
            calls.moodle_records[fn] += records
            if is_write:
                calls.moodle_writes.add(fn)
    return calls


# ------------------------------------------------------------------ lower bounds

def zoho_pages(specs: dict[str, Spec], config: Config) -> dict[str, int]:
    """Records one read call can return, per Zoho module read once (mzi shares one read of a
    module among its kinds): 2,000 through COQL, 200 where some kind of the module is
    listed (``read_api = "list"``, or subform rows listed with their parents)."""
    pages: dict[str, int] = {}
    for spec in specs.values():
        listed = config.zoho.read_api != "coql"
        target = subform_target(spec)
        if isinstance(target, str) or (target is not None and config.zoho.subform_read_api != "coql"):
            listed = True
        module = spec.zoho_module
        pages[module] = min(pages.get(module, 2000), 200 if listed else 2000)
    return pages


def subform_row_streams(specs: dict[str, Spec], config: Config) -> dict[str, str]:
    """Subform fields whose rows are queried as records of their own module (module → field)."""
    if config.zoho.read_api != "coql" or config.zoho.subform_read_api != "coql":
        return {}
    streams: dict[str, str] = {}
    for spec in specs.values():
        target = subform_target(spec)
        if isinstance(target, tuple):
            streams[spec.zoho_module] = target[0]
    return streams


@dataclass
class Bound:
    zoho_reads: int
    zoho_writes: int
    moodle_reads: int
    moodle_writes: int

    @property
    def total(self) -> int:
        return self.zoho_reads + self.zoho_writes + self.moodle_reads + self.moodle_writes


def lower_bound(calls: Calls, zoho_reads: int, zoho_written: dict[str, int], budget: int,
                form_vars: dict[str, int]) -> Bound:
    """Fewest calls that move what this scenario moved, at the configured page and batch sizes.

    A Moodle write function needs ⌈variables sent / budget⌉ calls: ``form_vars`` are the
    array variables its requests carried (counted by the emulator's middleware), the
    budget what ``max_input_vars`` leaves for records.
    """
    page = min(MOODLE_READ_PAGE, budget)
    reads = writes = 0
    for fn in calls.moodle:
        if fn in calls.moodle_writes:
            writes += max(1, math.ceil(form_vars.get(fn, 0) / budget))
        else:
            reads += max(1, math.ceil(calls.moodle_records[fn] / page))
    zoho_writes = sum(math.ceil(n / ZOHO_WRITE_BATCH) for n in zoho_written.values() if n)
    return Bound(zoho_reads, zoho_writes, reads, writes)


def io_floor(zoho_calls: int, moodle_calls: int, profile: Profile) -> tuple[float, float]:
    """Seconds the calls need at the allowed concurrency: per system summed (one system
    after the other) and the larger of the two (both systems busy at once)."""
    zoho = zoho_calls * profile.zoho.latency / min(profile.zoho.limit, 10)
    moodle = moodle_calls * profile.moodle.latency / min(profile.moodle.limit, 4)
    return zoho + moodle, max(zoho, moodle)


# ------------------------------------------------------------------ writes and edits

def writes_of_last_run(workdir: Path, specs: dict[str, Spec]) -> dict[str, Any]:
    """Records the last run wrote, per target system and kind (mzi's own run log)."""
    with _connect(workdir / "state" / "mzi.sqlite") as db:
        row = db.execute("SELECT MAX(id) FROM runs").fetchone()
        rows = db.execute("SELECT address, action FROM run_results WHERE run_id = ? AND ok = 1 "
                          "AND action IN ('create', 'update', 'delete')", (row[0],)).fetchall()
    by_kind: Counter[str] = Counter(address.split(".", 1)[0] for address, _ in rows)
    by_system: Counter[str] = Counter()
    zoho_modules: Counter[str] = Counter()
    for kind, n in by_kind.items():
        system = specs[kind].target.system if kind in specs else "?"
        by_system[system] += n
        if system == "zoho":
            zoho_modules[specs[kind].zoho_module] += n
    return {"total": len(rows), "by_system": dict(by_system), "by_kind": dict(sorted(by_kind.items())),
            "zoho_modules": dict(zoho_modules)}


def zoho_modules_read(specs: dict[str, Spec]) -> list[str]:
    return sorted({s.zoho_module for s in specs.values()})


def module_counts(sandbox: Path, modules: list[str]) -> dict[str, int]:
    with _connect(sandbox / ZOHO_DB) as z:
        return {m: int(z.execute("SELECT COUNT(*) FROM records WHERE module = ?", (m,)).fetchone()[0]) for m in modules}


def subform_rows(sandbox: Path, streams: dict[str, str]) -> dict[str, int]:
    """Rows of each queried subform across its parent module (the records of its own module)."""
    with _connect(sandbox / ZOHO_DB) as z:
        return {f"{m}.{f}": int(z.execute("SELECT COALESCE(SUM(json_array_length(data, '$.' || ?)), 0) FROM records "
                                          "WHERE module = ?", (f, m)).fetchone()[0]) for m, f in streams.items()}


def _editable_fields(specs: dict[str, Spec], module: str) -> list[str]:
    """Zoho text fields of ``module`` that some spec copies to Moodle (so an edit is a change)."""
    names = set()
    for spec in specs.values():
        if spec.source.system != "zoho" or spec.zoho_module != module or spec.subform:
            continue
        keys = set(spec.key.columns)
        for column, f in spec.fields.items():
            if isinstance(f.zoho, str) and f.type == "string" and f.through is None and f.transform is None \
                    and column not in keys and f.const is None and spec.owner_of(column) == "zoho":
                names.add(f.zoho)
    return sorted(names)


def edit_share(sandbox: Path, specs: dict[str, Spec], share: float, seed: int) -> dict[str, int]:
    """Edit ``share`` of each module's records straight in the Zoho store: one copied field
    (another record's value, so it fits the column) and a new Modified_Time."""
    rng = random.Random(f"{seed}:bench-edits")
    store = ZohoStore(sandbox / ZOHO_DB)
    edited: dict[str, int] = {}
    try:
        with store.transaction():
            stamp = zoho_time(store.now())
            for module in zoho_modules_read(specs):
                records = store.all_records(module)
                fields = _editable_fields(specs, module)
                count = max(1, round(len(records) * share)) if records else 0
                for record in rng.sample(records, count):
                    _change_one_field(record, records, fields, rng)
                    record["Modified_Time"] = stamp
                    store.save(module, record)
                edited[module] = count
    finally:
        store.close()
    return edited


def _change_one_field(record: dict[str, Any], records: list[dict[str, Any]], fields: list[str],
                      rng: random.Random) -> None:
    for name in rng.sample(fields, len(fields)):
        others = [r[name] for r in rng.sample(records, min(20, len(records)))
                  if isinstance(r.get(name), str) and r.get(name) != record.get(name)]
        if others:
            record[name] = others[0]
            return


def a_student(sandbox: Path) -> str:
    with _connect(sandbox / ZOHO_DB) as z:
        return str(z.execute("SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT 1").fetchone()[0])


# ------------------------------------------------------------------ scenarios

@dataclass
class Scenario:
    name: str
    argv: list[str]
    #: "full", "changed" or "target": which Zoho read bound applies
    reads: str
    #: what happens in Zoho before the command (edits); returns the records edited per module
    prepare: Callable[[Path], dict[str, int]] | None = None


def scenarios(specs: dict[str, Spec], seed: int) -> list[Scenario]:
    """The five runs, in order: each starts from where the one before left both systems."""

    def change_one_percent(sandbox: Path) -> dict[str, int]:
        return edit_share(sandbox, specs, CHANGED_SHARE, seed)

    def webhook(sandbox: Path) -> dict[str, int]:
        student = a_student(sandbox)
        store = ZohoStore(sandbox / ZOHO_DB)
        try:
            with store.transaction():
                record = store.get("BTEC_Students", student)
                assert record is not None
                record["City"] = "Irbid" if record.get("City") != "Irbid" else "Zarqa"
                record["Modified_Time"] = zoho_time(store.now())
                store.save("BTEC_Students", record)
        finally:
            store.close()
        return {"BTEC_Students": 1}

    return [
        Scenario("full plan", ["plan", "--compact"], "full"),
        Scenario("apply (empty Moodle)", ["apply", "--auto-approve", "--compact", "--allow-mass-change"], "full"),
        Scenario("apply again (no-op)", ["apply", "--auto-approve", "--compact"], "full"),
        Scenario("apply --changed-only (1 %)", ["apply", "--auto-approve", "--compact", "--changed-only"], "changed",
                 change_one_percent),
        Scenario("webhook → apply --target", ["apply", "--auto-approve", "--target", "student.{student}"], "target",
                 webhook),
    ]


def _summary_line(output: Path) -> str:
    lines = [ln.strip() for ln in output.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    for line in reversed(lines):
        if line.startswith(("Plan:", "Apply complete", "No changes", "Applied", "Error")):
            return line
    return lines[-1] if lines else ""


def measure_mzi(data: Dataset, profile: Profile, workdir: Path, specs: dict[str, Spec],
                results: list[dict[str, Any]], save: Callable[[], None], reads: ReadApis) -> None:
    """Run the scenarios; each one's figures go to ``results`` and are saved as soon as it ends
    (a 10k run takes long on a shared machine: what finished is kept if it is stopped)."""
    sandbox = fresh_copy(data, workdir)
    with emulators(sandbox, profile, workdir / "emulators.log") as servers:
        (workdir / "mzi.toml").write_text(_config_text(servers["moodle"].url, reads), encoding="utf-8")
        config = load_config(workdir / "mzi.toml")
        env = _env(servers["zoho"].url)
        budget = config.moodle.max_input_vars - REQUEST_OVERHEAD
        modules = zoho_modules_read(specs)
        pages = zoho_pages(specs, config)
        streams = subform_row_streams(specs, config)
        for scenario in scenarios(specs, data.seed):
            print(f"  {profile.name}: {scenario.name} …", file=sys.stderr, flush=True)
            touched = scenario.prepare(sandbox) if scenario.prepare else {}
            argv = [a.replace("{student}", a_student(sandbox)) for a in scenario.argv]
            mark = log_mark(sandbox)
            before = {name: (e.cpu(), e.stats()) for name, e in servers.items()}
            run = run_mzi(workdir, env, argv, scenario.name.split()[0] + str(len(results)))
            after = {name: (e.cpu(), e.stats()) for name, e in servers.items()}
            calls = calls_since(sandbox, mark)
            writes: dict[str, Any] = (writes_of_last_run(workdir, specs) if argv[0] == "apply"
                                      else {"total": 0, "zoho_modules": {}})
            if scenario.reads == "full":
                counts = module_counts(sandbox, modules)
                zoho_reads = sum(max(1, math.ceil(n / pages[m])) for m, n in counts.items())
                zoho_reads += sum(max(1, math.ceil(n / 2000)) for n in subform_rows(sandbox, streams).values())
            elif scenario.reads == "changed":
                zoho_reads = sum(max(1, math.ceil(touched.get(m, 0) / pages[m])) + 1 for m in modules)  # + deleted list
            else:
                zoho_reads = sum(touched.values())
            sent = {fn: n - before["moodle"][1]["form_vars"].get(fn, 0)
                    for fn, n in after["moodle"][1]["form_vars"].items()}
            bound = lower_bound(calls, zoho_reads, writes["zoho_modules"], budget, sent)
            floor_sum, floor_max = io_floor(sum(calls.zoho.values()), sum(calls.moodle.values()), profile)
            results.append({
                "scenario": scenario.name, "command": "mzi " + " ".join(argv), "exit_code": run.exit_code,
                "outcome": _summary_line(run.output), "wall_s": round(run.wall, 3), "mzi_cpu_s": round(run.cpu, 3),
                "mzi_peak_rss_mb": round(run.peak_rss_mb, 1),
                "emulator_cpu_s": {n: round(after[n][0] - before[n][0], 2) for n in servers},
                "rejected_429": after["zoho"][1]["rejected"] - before["zoho"][1]["rejected"],
                "max_in_flight": {n: after[n][1]["max_in_flight"] for n in servers},
                "calls": {"zoho": sum(calls.zoho.values()), "moodle": sum(calls.moodle.values())},
                "zoho_credits": sum(calls.zoho_credits.values()),
                "calls_by_endpoint": {"zoho": dict(calls.zoho.most_common()), "moodle": dict(calls.moodle.most_common())},
                "zoho_credits_by_endpoint": dict(calls.zoho_credits.most_common()),
                "moodle_records_by_function": dict(calls.moodle_records.most_common()),
                "lower_bound": asdict(bound) | {"total": bound.total, "zoho_pages": pages, "moodle_budget": budget},
                "io_floor_s": round(floor_sum, 2), "io_floor_overlapped_s": round(floor_max, 2),
                "writes": writes, "edited_in_zoho": touched, "load_average_1m": round(os.getloadavg()[0], 2),
            })
            save()
            if run.exit_code not in (0, 2):
                tail = run.output.read_text(encoding="utf-8", errors="replace")[-1500:]
                raise BenchError(f"{results[-1]['command']} exited {run.exit_code}:\n{tail}")


def measure_legacy(data: Dataset, profile: Profile, workdir: Path, specs: dict[str, Spec],
                   sample: int | None) -> dict[str, Any]:
    sandbox = fresh_copy(data, workdir)
    print(f"  {profile.name}: legacy baseline (sample {sample or 'all'} per kind) …", file=sys.stderr, flush=True)
    with emulators(sandbox, profile, workdir / "emulators.log") as servers:
        mark = log_mark(sandbox)
        client = LegacyClient(servers["zoho"].url, servers["moodle"].url,
                              credentials=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN),
                              moodle_token=SANDBOX_TOKEN, zoho_limit=profile.zoho.limit if profile.zoho.limit < 100 else 10,
                              moodle_limit=profile.moodle.limit if profile.moodle.limit < 100 else 4)
        cpu0, wall0 = time.process_time(), time.perf_counter()

        async def go() -> LegacyRun:
            try:
                return await client.run(specs, sample)
            finally:
                await client.aclose()

        run = asyncio.run(go())
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        calls = calls_since(sandbox, mark)
    return legacy_report(run, wall, cpu, calls, sample, profile)


def legacy_report(run: LegacyRun, wall: float, cpu: float, calls: Calls, sample: int | None,
                  profile: Profile) -> dict[str, Any]:
    """What the baseline measured and, for a sample, its linear extrapolation to every record."""
    scale = {k.kind: k.total / k.done for k in run.kinds if k.parent is None and k.done}
    kinds, est_seconds, est_zoho, est_moodle, records = [], 0.0, 0, 0, 0
    for k in run.kinds:
        factor = scale.get(k.parent or k.kind, 1.0)
        est_seconds += k.seconds * factor  # a subform kind's calls are timed with its parent's
        est_zoho += round(k.zoho_calls * factor)
        est_moodle += round(k.moodle_calls * factor)
        records += round(k.done * factor)
        kinds.append({"kind": k.kind, "moved": k.done, "of": round(k.done * factor), "zoho_calls": k.zoho_calls,
                      "moodle_calls": k.moodle_calls, "seconds": round(k.seconds, 2)})
    sampled = any(f > 1.0 for f in scale.values())
    zoho_calls = run.token_calls + est_zoho
    floor_sum, floor_max = io_floor(zoho_calls, est_moodle, profile)
    return {
        "sample_per_kind": sample, "extrapolated": sampled,
        "measured": {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "calls": {"zoho": sum(calls.zoho.values()),
                     "moodle": sum(calls.moodle.values())}, "zoho_credits": sum(calls.zoho_credits.values()),
                     "id_listing_calls": run.id_calls, "id_listing_s": round(run.id_seconds, 2)},
        # ids come free with webhooks: listing them is reported above, not charged to the baseline
        "full_load": {"records": records, "wall_s": round(est_seconds, 1),
                      "calls": {"zoho": zoho_calls, "moodle": est_moodle},
                      "io_floor_s": round(floor_sum, 1), "io_floor_overlapped_s": round(floor_max, 1)},
        "kinds": kinds,
    }


# ------------------------------------------------------------------ output

def print_dataset(data: Dataset) -> None:
    total = sum(n for k, n in data.counts.items() if not k.startswith(("Moodle", "deleted")))
    print(f"\nDemo school: {data.students} students, seed {data.seed} (built in {data.build_seconds:.0f} s, cached in "
          f"{data.directory})")
    print("  " + ", ".join(f"{k} {n:,}" for k, n in data.counts.items()) + f"; Zoho records in all, installments included {total:,}")


def print_table(profile: str, rows: list[dict[str, Any]], legacy: dict[str, Any] | None) -> None:
    print(f"\nProfile {profile}:")
    head = (f"  {'scenario':<28} {'wall s':>8} {'mzi CPU':>8} {'RSS MB':>7} {'emu CPU Z/M':>12} {'Zoho calls':>10} "
            f"{'credits':>8} {'Moodle calls':>12} {'bound Z/M':>11} {'429s':>5} {'floor Σ/max':>12} {'writes':>7}")
    print(head)
    for r in rows:
        lb = r["lower_bound"]
        emu = f"{r['emulator_cpu_s']['zoho']:.1f}/{r['emulator_cpu_s']['moodle']:.1f}"
        bound = f"{lb['zoho_reads'] + lb['zoho_writes']}/{lb['moodle_reads'] + lb['moodle_writes']}"
        floor = f"{r['io_floor_s']:.1f}/{r['io_floor_overlapped_s']:.1f}"
        print(f"  {r['scenario']:<28} {r['wall_s']:>8.2f} {r['mzi_cpu_s']:>8.2f} {r['mzi_peak_rss_mb']:>7.0f} "
              f"{emu:>12} {r['calls']['zoho']:>10} {r['zoho_credits']:>8} {r['calls']['moodle']:>12} {bound:>11} "
              f"{r['rejected_429']:>5} {floor:>12} {r['writes']['total']:>7}")
    for r in rows:
        print(f"    {r['scenario']}: {r['outcome']}")
        print("      Zoho: " + ", ".join(f"{k} {v}" for k, v in r["calls_by_endpoint"]["zoho"].items()))
        print("      Moodle: " + ", ".join(f"{k.removeprefix('local_mzi_')} {v}"
                                          for k, v in r["calls_by_endpoint"]["moodle"].items()))
    if legacy is not None:
        full, measured = legacy["full_load"], legacy["measured"]
        apply = next(r for r in rows if r["scenario"].startswith("apply (empty"))
        how = (f"measured on the first {legacy['sample_per_kind']} records of each kind in "
               f"{measured['wall_s']:.1f} s and EXTRAPOLATED linearly per kind" if legacy["extrapolated"]
               else f"measured in full ({measured['wall_s']:.1f} s)")
        print(f"  legacy per-record load of the mirror kinds ({full['records']:,} records; {how}): "
              f"{full['wall_s']:.1f} s, Zoho calls {full['calls']['zoho']:,}, Moodle calls {full['calls']['moodle']:,}, "
              f"I/O floor {full['io_floor_s']:.1f} s summed, {full['io_floor_overlapped_s']:.1f} s overlapped")
        print(f"  mzi apply into the empty Moodle (all kinds, courses and enrolments too): {apply['wall_s']:.1f} s, "
              f"{apply['calls']['zoho'] + apply['calls']['moodle']:,} calls → "
              f"speed-up ×{full['wall_s'] / max(apply['wall_s'], 1e-9):.1f} in time, "
              f"×{(full['calls']['zoho'] + full['calls']['moodle']) / max(1, apply['calls']['zoho'] + apply['calls']['moodle']):.0f}"
              " in calls")


# ------------------------------------------------------------------ main

def _save(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--students", type=int, action="append", help="school size (repeatable; default 1500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", choices=sorted(PROFILES), action="append",
                        help="latency profile (repeatable; default both)")
    parser.add_argument("--legacy-sample", type=int, default=200,
                        help="legacy baseline: first N records of each kind, extrapolated (0: every record)")
    parser.add_argument("--no-legacy", action="store_true", help="skip the legacy baseline")
    parser.add_argument("--read-api", choices=("coql", "list"), default="coql", help="mzi's [zoho] read_api")
    parser.add_argument("--subform-read-api", choices=("coql", "list"), default="list",
                        help="mzi's [zoho] subform_read_api")
    parser.add_argument("--cache-dir", type=Path, default=HERE / ".cache", help="where built schools are kept")
    parser.add_argument("--json-out", type=Path, help="default: benchmarks/results/<UTC time>.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folders (mzi.toml, outputs, sandbox copies)")
    args = parser.parse_args()
    specs = load_specs()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    report: dict[str, Any] = {"started": stamp, "host_cpus": os.cpu_count(), "python": sys.version.split()[0],
                              "profiles": {k: asdict(v) for k, v in PROFILES.items()}, "runs": []}
    out = args.json_out or HERE / "results" / f"{stamp}.json"
    sample = args.legacy_sample or None
    for students in args.students or [1500]:
        data = dataset(args.cache_dir, students, args.seed)
        print_dataset(data)
        sys.stdout.flush()
        for name in args.profile or ["latency", "zero"]:
            profile = PROFILES[name]
            work = Path(tempfile.mkdtemp(prefix=f"mzi-bench-{students}-{name}-"))
            rows: list[dict[str, Any]] = []
            entry: dict[str, Any] = {"students": students, "seed": args.seed, "profile": name,
                                     "read_api": args.read_api, "subform_read_api": args.subform_read_api,
                                     "dataset": data.counts, "scenarios": rows, "legacy": None}
            report["runs"].append(entry)
            try:
                measure_mzi(data, profile, work / "mzi", specs, rows, lambda: _save(report, out),
                            ReadApis(args.read_api, args.subform_read_api))
                if not args.no_legacy:
                    entry["legacy"] = measure_legacy(data, profile, work / "legacy", specs, sample)
                    _save(report, out)
            finally:
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
            print_table(name, rows, entry["legacy"])
            sys.stdout.flush()
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
