"""Load test of `mzi serve`: a burst of signed webhooks while the server is killed and restarted.

Not part of the test suite (it takes minutes). On loopback, against the embedded sandbox:

    .venv/bin/python benchmarks/load_serve.py                       # SQLite state, 2 workers
    .venv/bin/python benchmarks/load_serve.py --state-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --processes 2 --workers 2                                     # PostgreSQL, two servers

It posts ``--events`` Zoho workflow webhooks (30 % re-sent event ids, 20 % for records
already named), each one signed, over ``--concurrency`` connections; when
``--kill-at`` of them are done it kills one server with SIGKILL and starts it again. A
post that fails (server down) is sent again, as Zoho would, at most ``--resends`` times.
Before each record's last event its City is edited in Zoho, so the end state proves the
data was read after that event. Then it waits for the queue to drain and checks:

* 0 lost: every target of an accepted event is ``done`` with its reconcile finished after
  the event was acknowledged, and none is dead;
* every edited student's Moodle mirror row has the City of its last edit.

It prints accept latency p50/p99 (of acknowledged posts), the drain time (last
acknowledgement → empty queue) and the counts; exit 1 when anything was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reconciler.config import load_config
from reconciler.queue import EventQueue
from reconciler.sandbox import Sandbox
from reconciler.signatures import sign
from reconciler.state import StateStore

SECRET = "load-test-secret"
MODULES = ("BTEC_Students", "BTEC_Teachers", "BTEC_Classes", "BTEC_Enrollments", "BTEC_Registrations",
           "BTEC_Payments", "BTEC_Grades")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    resent: int = 0
    given_up: int = 0
    last_ack: dict[str, float] = field(default_factory=dict)  # record key -> time of its last acknowledged event


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"mzi serve did not listen on port {port}")


def _start(config: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, MZI_WEBHOOK_SECRET=SECRET)
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "-c", str(config), "serve", "--port", str(port),
                                 "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT, env=env)
    _wait_for(port, time.monotonic() + 60)
    return proc


def _plan_events(records: list[tuple[str, str]], total: int, rng: random.Random) -> list[dict[str, str]]:
    """``total`` events: 30 % repeat an earlier event id, 20 % name a record already named."""
    events: list[dict[str, str]] = []
    fresh = iter(records)
    named: list[tuple[str, str]] = []
    for n in range(total):
        roll = rng.random()
        if events and roll < 0.30:
            events.append(dict(rng.choice(events)))
            continue
        if named and roll < 0.50:
            module, record = rng.choice(named)
        else:
            module, record = next(fresh, None) or rng.choice(named)
            named.append((module, record))
        events.append({"event_id": f"load-{n}", "event_type": "updated", "module": module, "record_id": record})
    return events


async def _post_all(events: list[dict[str, str]], ports: list[int], concurrency: int, kill_at: int,
                    resends: int, box: Sandbox, tally: Tally,
                    edits: dict[str, str], last_index: dict[str, int], restart: "asyncio.Event") -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(events)):
        queue.put_nowait(i)
    done_count = [0]
    killed = [False]
    editing = asyncio.Lock()  # one Zoho store connection: one edit at a time

    async def one(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            event = events[i]
            key = f"{event['module']}:{event['record_id']}"
            if event["module"] == "BTEC_Students" and last_index.get(key) == i:
                city = f"City{i}"
                async with editing:
                    await asyncio.to_thread(box.edit, f"student.{event['record_id']}", {"City": city})
                edits[event["record_id"]] = city
            raw = json.dumps(event).encode()
            for attempt in range(resends + 1):
                port = ports[(i + attempt) % len(ports)]
                started = time.perf_counter()
                try:
                    answer = await client.post(f"http://127.0.0.1:{port}/webhooks/zoho", content=raw,
                                               headers={"X-Zoho-Signature": sign(SECRET, raw),
                                                        "Content-Type": "application/json"})
                except httpx.TransportError:
                    tally.resent += 1
                    await asyncio.sleep(0.2)
                    continue
                if answer.status_code in (200, 202):
                    tally.latencies.append(time.perf_counter() - started)
                    if answer.json()["status"] == "duplicate":
                        tally.duplicates += 1
                    else:
                        tally.accepted += 1
                    tally.last_ack[key] = time.time()
                    break
                tally.resent += 1
                await asyncio.sleep(0.2)
            else:
                tally.given_up += 1
            done_count[0] += 1
            if done_count[0] >= kill_at and not killed[0]:
                killed[0] = True
                restart.set()

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(one(client) for _ in range(concurrency)))


async def _killer(restart: asyncio.Event, servers: list[subprocess.Popen[bytes]], config: Path, ports: list[int],
                  workers: int, log: Path) -> None:
    await restart.wait()
    victim = servers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    print(f"  killed server pid {victim.pid} with SIGKILL; restarting", flush=True)
    servers[0] = await asyncio.to_thread(_start, config, ports[0], workers, log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--state-url", default="")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-at", type=int, default=0, help="default: half of --events")
    parser.add_argument("--resends", type=int, default=100)
    parser.add_argument("--drain-timeout", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="mzi-load-"))
    schema = ""
    if args.state_url:
        import psycopg

        schema = f"mzi_load_{os.getpid()}"
        with psycopg.connect(args.state_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.state_url else "?"
        state_line = f'state_url = "{args.state_url}{sep}options=-csearch_path%3D{schema}"\n'
    else:
        state_line = ""
    config = root / "mzi.toml"
    config.write_text(f'state_dir = "state"\n{state_line}[sandbox]\nstudents = {args.students}\n'
                      "[safety]\nmax_delete_fraction = 1.0\n"
                      "[serve]\ndebounce_seconds = 0.5\nmax_delay_seconds = 5\nbatch_size = 50\n"
                      "retry_base_seconds = 0.5\nretry_max_seconds = 5\nmax_attempts = 20\nreclaim_after_seconds = 10\n",
                      encoding="utf-8")
    print(f"workspace {root}; state {'PostgreSQL' if args.state_url else 'SQLite'}; {args.processes} process(es) "
          f"x {args.workers} worker(s)", flush=True)
    t = time.monotonic()
    first = subprocess.run([sys.executable, "-m", "reconciler.cli", "-c", str(config), "apply", "--auto-approve"],
                           capture_output=True, text=True)
    if first.returncode != 0:
        print(first.stderr[-2000:])
        return 1
    print(f"  initial full apply: {time.monotonic() - t:.1f}s", flush=True)
    loaded = load_config(config)
    box = Sandbox.from_config(loaded)
    store = box.zoho_store()
    records = [(m, str(r[0])) for m in MODULES
               for r in store.conn.execute("SELECT id FROM records WHERE module = ? ORDER BY id", (m,)).fetchall()]
    rng.shuffle(records)
    events = _plan_events(records, args.events, rng)
    firsts = {e["event_id"]: i for i, e in reversed(list(enumerate(events)))}  # a re-sent id changes nothing
    last_index = {f"{e['module']}:{e['record_id']}": i for i, e in enumerate(events) if firsts[e["event_id"]] == i}
    ports = [_free_port() for _ in range(args.processes)]
    log = root / "serve.log"
    servers = [_start(config, port, args.workers, log) for port in ports]
    tally, edits = Tally(), {}
    began = time.monotonic()

    async def burst() -> None:
        restart_event = asyncio.Event()
        killer = asyncio.create_task(_killer(restart_event, servers, config, ports, args.workers, log))
        await _post_all(events, ports, args.concurrency, args.kill_at or args.events // 2, args.resends, box,
                        tally, edits, last_index, restart_event)
        await killer

    asyncio.run(burst())
    posted = time.monotonic()
    state = StateStore(loaded.state_location)
    queue = EventQueue(state)
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline:
        stats = queue.stats()
        if stats.depth == 0:
            break
        time.sleep(0.2)
    drained = time.monotonic()
    stats = queue.stats()
    for server in servers:
        server.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    lost = _lost(state, tally)
    wrong = _wrong_cities(box, edits)
    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) * 1000 if lat else 0.0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0.0
    runs = state.db.execute("SELECT COUNT(*) FROM runs WHERE command = 'apply'").fetchone()[0] - 1
    print(f"events posted {len(events)}: accepted {tally.accepted}, duplicates {tally.duplicates}, resent after a "
          f"failure {tally.resent}, given up {tally.given_up}")
    print(f"distinct records named {len(tally.last_ack)}; targeted runs {runs}; dead letters {stats.dead}")
    print(f"accept latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; burst {posted - began:.1f}s; "
          f"drain time {drained - posted:.1f}s (queue depth at the end {stats.depth})")
    print(f"lost targets {len(lost)}{' e.g. ' + ', '.join(lost[:5]) if lost else ''}; "
          f"students whose last City edit is not in Moodle {len(wrong)}{' e.g. ' + ', '.join(wrong[:5]) if wrong else ''}")
    state.close()
    if schema:
        import psycopg

        with psycopg.connect(args.state_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return 1 if lost or wrong or stats.depth or stats.dead or tally.given_up else 0


def _lost(state: StateStore, tally: Tally) -> list[str]:
    """Targets of acknowledged events not reconciled after their last acknowledgement."""
    rows = state.db.execute("SELECT event_id, targets, received FROM events").fetchall()
    last: dict[str, float] = {}
    for _, targets, received in rows:
        for target in json.loads(targets):
            last[target] = max(last.get(target, 0.0), float(received))
    work = {r[0]: (r[1], float(r[2])) for r in state.db.execute("SELECT target, status, updated FROM work").fetchall()}
    return sorted(t for t, at in last.items() if t not in work or work[t][0] != "done" or work[t][1] < at)


def _wrong_cities(box: Sandbox, edits: dict[str, str]) -> list[str]:
    conn = sqlite3.connect(box.moodle_db)
    try:
        found = dict(conn.execute("SELECT zoho_student_id, city FROM mdl_local_mzi_students").fetchall())
    finally:
        conn.close()
    return sorted(sid for sid, city in edits.items() if found.get(sid) != city)


if __name__ == "__main__":
    sys.exit(main())
