"""No output of mzi shows a sensitive value or a secret, over the whole demo school.

One workspace on the demo school (``MZI_LEAK_STUDENTS``: 40 in the default suite, the
whole school of 150 in the dedicated run of docs/security.md) with distinctive secrets in every
environment variable mzi reads, sensitive fields edited in Zoho and in Moodle (so plans
carry them as updates and drift), two values neither side can read and one Moodle refuses
(too long for its column). Every output is
then scanned: plan in each format and log format, saved plans and ``show``, apply, the run
log (``state runs``/``show`` and the state database itself), ``doctor``, ``status``,
``events``, error messages (bad configuration, unreachable state DSN, refused saved plan,
wrong tokens against the emulators served as a live Zoho and Moodle) and the webhook
server's refusals and log lines. Counts go to ``$MZI_SECURITY_SUMMARY`` (see
docs/security.md).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cli_workspace import sql
from leak_scan import Leak, LeakScanner, SensitiveValues, sensitive_values
from reconciler import config as config_module
from reconciler.cli import main
from reconciler.config import load_config
from reconciler.sandbox import Sandbox
from reconciler.sandbox.moodle.db import SANDBOX_TOKEN
from reconciler.sandbox.zoho import app as zoho_app_module
from reconciler.server import Secrets, build
from reconciler.signatures import sign, sign_moodle
from reconciler.specs import load_specs
from security_summary import record_summary
from serve_app import Served

#: every secret mzi may hold, each a value nothing else could print by chance
CANARIES = {
    "MZI_ZOHO_CLIENT_ID": "1000.CANARYCLIENTID0000000000000",
    "MZI_ZOHO_CLIENT_SECRET": "zoho-client-secret-canary-7f3a9c2e51",
    "MZI_ZOHO_REFRESH_TOKEN": "1000.refresh-canary-b8e14d0c6a9f2735.e1d9",
    "MZI_ZOHO_WATCH_TOKEN": "watch-token-canary-3c5e7a9b1d",
    "MZI_MOODLE_TOKEN": "moodle-token-canary-0a2b4c6d8e",
    "MZI_WEBHOOK_SECRET": "webhook-hmac-canary-9e8d7c6b5a4f",
    "MZI_WEBHOOK_TOKEN": "webhook-static-canary-1f2e3d4c5b",
}
#: the password of a PostgreSQL state_url: a DSN must never be printed whole
DSN_PASSWORD = "dsn-password-canary-42fe17"
#: the client id is an identifier, not a secret: printing it is allowed
NOT_SECRET = {"MZI_ZOHO_CLIENT_ID"}

#: the whole demo school (150) in the dedicated run; the default suite scans a smaller one
STUDENTS = int(os.environ.get("MZI_LEAK_STUDENTS", "40"))

CONFIG = """
state_dir = "state"
[zoho]
notify_url = "https://mzi.example.test/hooks/zoho"
[sandbox]
students = {students}
seed = 7
[serve]
debounce_seconds = 0
max_attempts = 2
retry_base_seconds = 0.01
retry_max_seconds = 0.02
"""

#: sensitive values typed into Zoho and Moodle: distinctive, so a leak of them is certain
EDITS_ZOHO = {"Phone_Number": "+962790000417", "National_Number": "NID-9931-CANARY-4471",
              "Address": "17 Canary Lane, Jabal Amman", "Emergency_Contact_Name": "Canary Emergency Person",
              "Emergency_Phone_Number": "+962780000913", "Birth_Date": "1999-12-31"}
EDITS_MOODLE = {"national_id": "NID-MOODLE-DRIFT-5512", "phone_number": "+962770000288",
                "emergency_contact_name": "Moodle Drift Contact"}
UNREADABLE_ZOHO_DOB = "not-a-date-canary-dob-19"
UNREADABLE_MOODLE_DOB = "moodle-unreadable-dob-canary-23"
#: longer than the Moodle column (100): the write is refused, and the refusal must not quote it
TOO_LONG_NATIONAL_ID = "NID-TOOLONG-CANARY-" + "4" * 120


@dataclass
class School:
    root: Path
    config: Path
    scanner: LeakScanner
    runner: CliRunner

    def run(self, *args: str, config: Path | None = None) -> Result:
        return self.runner.invoke(main, ["-c", str(config or self.config), *args], catch_exceptions=False)

    @property
    def box(self) -> Sandbox:
        return Sandbox.from_config(load_config(self.config))

    def refresh_tokens(self) -> None:
        """Access tokens the Zoho emulator issued so far are secrets too."""
        conn = sqlite3.connect(self.box.zoho_db)
        try:
            tokens = [row[0] for row in conn.execute("SELECT token FROM tokens")]
        finally:
            conn.close()
        for n, token in enumerate(tokens):
            self.scanner.secrets.setdefault(token, f"Zoho access token #{n + 1}")

    def scan(self, name: str, text: str | bytes, *, sensitive: bool = True) -> list[Leak]:
        self.refresh_tokens()
        return self.scanner.scan(name, text, sensitive=sensitive)

    def scan_run(self, *args: str, config: Path | None = None) -> tuple[Result, list[Leak]]:
        result = self.run(*args, config=config)
        return result, self.scan("mzi " + " ".join(args), result.output)


def _students(box: Sandbox, n: int) -> list[str]:
    conn = sqlite3.connect(box.zoho_db)
    try:
        return [r[0] for r in conn.execute(
            "SELECT id FROM records WHERE module = 'BTEC_Students' ORDER BY id LIMIT ?", (n,))]
    finally:
        conn.close()


def _seed_sensitive_changes(school: School) -> None:
    """Sensitive edits in Zoho (updates) and in Moodle (drift), one unreadable value each side,
    and one value too long for its Moodle column (a refused write)."""
    box = school.box
    first, _, _, fourth = _students(box, 4)
    second, third = (row[0] for row in sql(
        box.moodle_db, "SELECT zoho_student_id FROM mdl_local_mzi_students WHERE zoho_student_id NOT IN (?, ?) "
                       "ORDER BY id LIMIT 2", first, fourth))
    for name, value in EDITS_ZOHO.items():
        result = school.run("sandbox", "edit", f"student.{first}", f"{name}={value}")
        assert result.exit_code == 0, result.output
    sets = ", ".join(f"{column} = ?" for column in EDITS_MOODLE)
    sql(box.moodle_db, f"UPDATE mdl_local_mzi_students SET {sets} WHERE zoho_student_id = ?",
                *EDITS_MOODLE.values(), second)
    sql(box.moodle_db, "UPDATE mdl_local_mzi_students SET date_of_birth = ? WHERE zoho_student_id = ?",
                UNREADABLE_MOODLE_DOB, third)
    sql(box.zoho_db, "UPDATE records SET data = json_set(data, '$.Birth_Date', ?) "
                             "WHERE module = 'BTEC_Students' AND id = ?", UNREADABLE_ZOHO_DOB, fourth)
    fifth = next(s for s in _students(box, 8) if s not in (first, second, third, fourth))
    sql(box.zoho_db, "UPDATE records SET data = json_set(data, '$.National_Number', ?) "
                             "WHERE module = 'BTEC_Students' AND id = ?", TOO_LONG_NATIONAL_ID, fifth)


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[School]:
    mp = pytest.MonkeyPatch()
    for name, value in CANARIES.items():
        mp.setenv(name, value)
    for name in ("MZI_CONFIG", "MZI_LOG_FORMAT", "MZI_LOG_LEVEL"):
        mp.delenv(name, raising=False)
    root = tmp_path_factory.mktemp("leaks")
    config = root / "mzi.toml"
    config.write_text(CONFIG.format(students=STUDENTS), encoding="utf-8")
    runner = CliRunner()
    reset = runner.invoke(main, ["-c", str(config), "sandbox", "reset"], catch_exceptions=False)
    assert reset.exit_code == 0, reset.output
    secrets = {name: value for name, value in CANARIES.items() if name not in NOT_SECRET}
    secrets |= {"sandbox Zoho client secret": zoho_app_module.SANDBOX_CLIENT_SECRET,
                "sandbox Zoho refresh token": zoho_app_module.SANDBOX_REFRESH_TOKEN,
                "sandbox Moodle token": SANDBOX_TOKEN, "state_url password": DSN_PASSWORD}
    school = School(root, config, LeakScanner(SensitiveValues(), secrets), runner)
    _seed_sensitive_changes(school)
    box = school.box
    school.scanner.sensitive = sensitive_values(box.zoho_db, box.moodle_db, load_specs())
    yield school
    record_summary("leak_scan", school.scanner.summary())
    mp.undo()


def _no_leaks(leaks: list[Leak]) -> None:
    assert not leaks, f"{len(leaks)} leak(s):\n" + "\n".join(str(leak) for leak in leaks[:30])


# ---------------------------------------------------------------------- the values exist

def test_the_seeded_sensitive_values_are_among_those_checked(school: School) -> None:
    checked = school.scanner.sensitive.values
    seeded = [*EDITS_ZOHO.values(), *EDITS_MOODLE.values(), UNREADABLE_ZOHO_DOB, UNREADABLE_MOODLE_DOB,
              TOO_LONG_NATIONAL_ID]
    missing = [v for v in seeded if v not in checked]
    assert not missing, f"seeded values the scan would not look for: {missing}"
    assert len(checked) > 4 * STUDENTS, f"only {len(checked)} sensitive values over {STUDENTS} students and teachers"


def test_the_scanner_finds_a_planted_value_in_plain_text_and_in_escaped_json(school: School) -> None:
    probe = LeakScanner(school.scanner.sensitive, {"probe": CANARIES["MZI_MOODLE_TOKEN"]})
    assert probe.scan("plain", f"phone {EDITS_ZOHO['Phone_Number']}\n"), "a plain value went unseen"
    escaped = json.dumps({"name": EDITS_MOODLE["emergency_contact_name"], "ar": "نور"}, ensure_ascii=True)
    assert probe.scan("json", escaped.replace("Drift", "\\u0044rift")), "a \\u-escaped value went unseen"
    assert probe.scan("half", "token=" + CANARIES["MZI_MOODLE_TOKEN"][:20]), "half a token went unseen"
    assert not probe.scan("inside an id", "id 9" + EDITS_ZOHO["Phone_Number"][1:] + "7"), "a digit run matched"


# ---------------------------------------------------------------------- plans and logs

PLAN_VIEWS = [
    ("plan", "--format", "markdown"), ("plan", "--format", "json"), ("plan", "--json"), ("plan", "--compact"),
    ("plan", "--detailed-exitcode"), ("plan", "--target", "student.{first}"), ("plan", "--changed-only"),
]


def _plan_outputs(school: School, runs: list[tuple[str, ...]]) -> tuple[str, list[Leak]]:
    first = _students(school.box, 1)[0]
    leaks: list[Leak] = []
    outputs = []
    for view in runs:
        result, found = school.scan_run(*(a.format(first=first) for a in view))
        assert result.exit_code in (0, 1, 2), result.output
        outputs.append(result.output)
        leaks += found
    return "\n".join(outputs), leaks


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_plan_logged_in_either_format_at_debug_shows_no_sensitive_value_or_secret(school: School,
                                                                                  log_format: str) -> None:
    logged = ("--log-format", log_format, "--log-level", "debug")
    whole, leaks = _plan_outputs(school, [(*logged, "plan"), (*logged, "plan", "--format", "json")])
    assert "(sensitive)" in whole, "no masked value at all: the seeded edits did not reach the plan"
    assert "cannot be read" in whole, "the unreadable values did not reach the plan"
    _no_leaks(leaks)


def test_no_plan_view_shows_a_sensitive_value_or_secret(school: School) -> None:
    _, leaks = _plan_outputs(school, PLAN_VIEWS)
    _no_leaks(leaks)


def test_a_saved_plan_is_owner_only_holds_no_secret_and_show_masks_it(school: School) -> None:
    saved = school.root / "saved.json"
    result, leaks = school.scan_run("plan", "--out", str(saved))
    assert result.exit_code in (0, 1), result.output
    mode = stat.S_IMODE(saved.stat().st_mode)
    assert mode == 0o600, f"plan file mode {oct(mode)}: it carries the values it will write"
    name = "plan file (secrets only: it holds values by design)"
    leaks += school.scanner.scan_file(name, saved, sensitive=False)
    assert school.scanner.by_design[name] > 0, "the saved plan holds no sensitive value: its scan proves nothing"
    for fmt in ("text", "json", "markdown"):
        leaks += school.scan_run("show", str(saved), "--format", fmt)[1]
    _no_leaks(leaks)


# ---------------------------------------------------------------------- apply and the run log

def test_apply_the_run_log_and_the_state_database_show_no_sensitive_value(school: School) -> None:
    leaks: list[Leak] = []
    outputs = []
    for log_format in ("json", "text"):
        result, found = school.scan_run("--log-format", log_format, "--log-level", "debug", "apply", "--auto-approve")
        assert result.exit_code in (0, 1), result.output
        outputs.append(result.output)
        leaks += found
    assert "toolong: national_id" in outputs[0], "the too-long value was not refused by Moodle: " + outputs[0][-2000:]
    assert "cannot be read" in outputs[1] or "blocked" in outputs[1], outputs[1][-2000:]
    runs = json.loads(school.run("state", "runs", "--json", "--limit", "100").stdout)
    assert len(runs) >= 3, f"only {len(runs)} runs logged: the two applies and a plan at least"
    leaks += school.scan("state runs --json", json.dumps(runs))
    leaks += school.scan_run("state", "runs")[1] + school.scan_run("state", "runs", "--failed")[1]
    for run in runs:
        leaks += school.scan_run("state", "show", str(run["id"]))[1]
        leaks += school.scan_run("state", "show", str(run["id"]), "--json")[1]
    state = school.root / "state"
    files = [p for p in state.iterdir() if p.is_file()]
    assert any(p.name.startswith("mzi.sqlite") for p in files), sorted(p.name for p in files)
    for path in files:
        leaks += school.scanner.scan_file(f"state file {path.name}", path)
    _no_leaks(leaks)


def test_doctor_status_events_and_zoho_watch_show_no_secret(school: School) -> None:
    leaks: list[Leak] = []
    for args in (("doctor",), ("status",), ("status", "--json"), ("events",), ("events", "--json"),
                 ("zoho", "watch")):
        result, found = school.scan_run(*args)
        assert result.exit_code in (0, 1), result.output
        leaks += found
    _no_leaks(leaks)


# ---------------------------------------------------------------------- error messages

BAD_CONFIGS = {
    "a DSN that is not PostgreSQL": f'state_url = "mysql://mzi:{DSN_PASSWORD}@db.example.test/mzi"\n',
    "a token written into the file": f'[moodle]\ntoken = "{CANARIES["MZI_MOODLE_TOKEN"]}"\n',
    "a secret as a section value": f'[zoho]\nclient_secret = "{CANARIES["MZI_ZOHO_CLIENT_SECRET"]}"\n',
    "unreadable TOML around a secret": f'[serve]\nsecret = {CANARIES["MZI_WEBHOOK_SECRET"]}\n',
    "an unreachable PostgreSQL state": f'state_url = "postgresql://mzi:{DSN_PASSWORD}@127.0.0.1:9/mzi"\n',
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_an_error_about_the_configuration_never_echoes_a_secret(school: School, case: str) -> None:
    bad = school.root / f"bad-{sorted(BAD_CONFIGS).index(case)}.toml"
    bad.write_text(BAD_CONFIGS[case], encoding="utf-8")
    leaks: list[Leak] = []
    for args in (("plan",), ("state", "runs"), ("status",)):
        result, found = school.scan_run(*args, config=bad)
        assert result.exit_code != 0, f"{case}: {args} succeeded:\n{result.output}"
        leaks += found
    _no_leaks(leaks)


def test_a_refused_saved_plan_names_what_changed_without_its_values(school: School) -> None:
    saved = school.root / "refused.json"
    student = _students(school.box, 6)[5]
    assert school.run("sandbox", "edit", f"student.{student}", "City=Canary Town 17").exit_code == 0  # planned
    assert school.run("plan", "--out", str(saved)).exit_code in (0, 1)
    assert school.run("sandbox", "edit", f"student.{student}", "National_Number=NID-REFUSED-CANARY-77").exit_code == 0
    school.scanner.sensitive.values["NID-REFUSED-CANARY-77"] = "student.national_id"
    result, leaks = school.scan_run("apply", str(saved))
    assert result.exit_code == 1 and "the plan is stale" in result.output, result.output[-3000:]
    _no_leaks(leaks)


# ---------------------------------------------------------------------- live backends, wrong tokens

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _emulators_on_ports(directory: Path) -> Iterator[tuple[str, str]]:
    """The Zoho and the Moodle emulator as HTTP servers, each in a thread of its own (its
    SQLite connection is made in the thread that uses it)."""
    import uvicorn

    servers: list[Any] = []
    threads = []
    urls = []
    for which in ("zoho", "moodle"):
        port = _free_port()
        ready = threading.Event()

        def serve(which: str = which, port: int = port, ready: threading.Event = ready) -> None:
            box = Sandbox(directory)
            app = box.zoho_app() if which == "zoho" else box.moodle_app()
            server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                   lifespan="off"))
            servers.append(server)
            ready.set()
            server.run()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        assert ready.wait(30)
        threads.append(thread)
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while not all(s.started for s in servers):
        assert time.monotonic() < deadline, "the emulators did not start"
        time.sleep(0.05)
    try:
        yield urls[0], urls[1]
    finally:
        for server in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(10)


def test_live_backends_with_right_and_wrong_tokens_print_no_secret(school: School,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulators served as a live Zoho (OAuth refresh against it) and a live Moodle,
    with the canary secrets as the real credentials; then each one wrong."""
    monkeypatch.setattr(zoho_app_module, "SANDBOX_CLIENT_ID", CANARIES["MZI_ZOHO_CLIENT_ID"])
    monkeypatch.setattr(zoho_app_module, "SANDBOX_CLIENT_SECRET", CANARIES["MZI_ZOHO_CLIENT_SECRET"])
    monkeypatch.setattr(zoho_app_module, "SANDBOX_REFRESH_TOKEN", CANARIES["MZI_ZOHO_REFRESH_TOKEN"])
    sandbox_dir = school.root / "state" / "sandbox"
    sql(sandbox_dir / "moodle.sqlite", "INSERT INTO mdl_external_tokens (token, userid) "
                "SELECT ?, userid FROM mdl_external_tokens WHERE token = ?", CANARIES["MZI_MOODLE_TOKEN"], SANDBOX_TOKEN)
    leaks: list[Leak] = []
    with _emulators_on_ports(sandbox_dir) as (zoho_url, moodle_url):
        monkeypatch.setitem(config_module.ZOHO_DATA_CENTRES, "com", (zoho_url, zoho_url))
        live = school.root / "live.toml"
        live.write_text(f'state_dir = "state-live"\n[zoho]\nbackend = "live"\n'
                        f'notify_url = "https://mzi.example.test/hooks/zoho"\n'
                        f'[moodle]\nbackend = "live"\nurl = "{moodle_url}"\n', encoding="utf-8")
        for args in (("doctor",), ("plan", "--compact"), ("--log-format", "json", "plan", "--format", "json"),
                     ("zoho", "watch")):
            result, found = school.scan_run(*args, config=live)
            assert result.exit_code in (0, 1, 2), result.output
            leaks += found
        assert "(sensitive)" in school.run("plan", config=live).output
        for name in ("MZI_MOODLE_TOKEN", "MZI_ZOHO_REFRESH_TOKEN", "MZI_ZOHO_CLIENT_SECRET"):
            monkeypatch.setenv(name, CANARIES[name][::-1])  # wrong, and still a secret of the operator
            school.scanner.secrets[CANARIES[name][::-1]] = f"wrong {name}"
            for args in (("plan",), ("doctor",)):
                result, found = school.scan_run(*args, config=live)
                assert result.exit_code == 1, f"{name} wrong and {args} succeeded:\n{result.output}"
                leaks += found
            monkeypatch.setenv(name, CANARIES[name])
    _no_leaks(leaks)


# ---------------------------------------------------------------------- webhooks

def test_webhook_answers_refusals_and_server_logs_show_no_secret(school: School,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    config = load_config(school.config)
    secret, static, watch = (CANARIES["MZI_WEBHOOK_SECRET"], CANARIES["MZI_WEBHOOK_TOKEN"],
                             CANARIES["MZI_ZOHO_WATCH_TOKEN"])
    webhook = build(config, workers=0, secrets=Secrets(secret, static, watch))
    served = Served(school.root, config, webhook)
    student = _students(school.box, 1)[0]
    workflow = {"event_id": "evt-leak-1", "event_type": "updated", "module": "BTEC_Students", "record_id": student}
    body = json.dumps(workflow).encode()
    now = str(int(time.time()))
    moodle = json.dumps({"eventname": "\\core\\event\\user_updated", "objectid": 3}).encode()
    requests: list[tuple[str, bytes, dict[str, str], dict[str, str] | None]] = [
        ("/webhooks/zoho", body, {}, None),
        ("/webhooks/zoho", body, {"X-Zoho-Signature": sign(secret[::-1], body)}, None),
        ("/webhooks/zoho", body, {"X-Mzi-Token": static[:-1]}, None),
        ("/webhooks/zoho", body, {}, {"token": static + "x"}),
        ("/webhooks/zoho", json.dumps({"module": "BTEC_Students", "ids": [student], "operation": "update",
                                       "channel_id": 1000000, "token": watch[:-2]}).encode(), {}, None),
        ("/webhooks/zoho", b"not json", {"X-Zoho-Signature": sign(secret, b"not json")}, None),
        ("/webhooks/zoho/nosuch", body, {"X-Zoho-Signature": sign(secret, body)}, None),
        ("/webhooks/moodle", moodle, {}, None),
        ("/webhooks/moodle", moodle, {"X-Mzi-Timestamp": "1", "X-Mzi-Signature": sign_moodle(secret, 1, moodle)}, None),
        ("/webhooks/moodle", moodle, {"X-Mzi-Timestamp": now, "X-Mzi-Signature": sign(secret, moodle)}, None),
        ("/webhooks/zoho", b"{" + b" " * 70_000 + b"}", {}, None),
        ("/webhooks/zoho", body, {"X-Zoho-Signature": sign(secret, body)}, None),
        ("/webhooks/zoho", body, {"X-Mzi-Token": static}, None),
    ]
    leaks: list[Leak] = []
    statuses = []
    with caplog.at_level(logging.DEBUG):
        for n, (path, raw, headers, params) in enumerate(requests):
            answer = served.post(path, raw, headers, params)
            statuses.append(answer.status_code)
            leaks += school.scan(f"webhook answer #{n} {path} {answer.status_code}", answer.text)
        leaks += school.scan("GET /metrics", served.get("/metrics").text)
        served.drain()
    webhook.store.close()
    assert statuses[:11] == [401, 401, 401, 401, 401, 400, 400, 401, 401, 401, 413], statuses
    assert statuses[11] == 202 and statuses[12] == 200, statuses
    # the test's own HTTP client logs the URLs it asked for (a wrong token in one): not mzi's output
    logged = [r.getMessage() for r in caplog.records if not r.getMessage().startswith("HTTP Request: POST http://mzi.test")]
    leaks += school.scan("server and worker log records", "\n".join(logged))
    leaks += school.scan_run("events", "--status", "done", "--json")[1]
    leaks += school.scan_run("status")[1]
    _no_leaks(leaks)


def test_the_summary_counts_what_was_scanned(school: School) -> None:
    summary = school.scanner.summary()
    assert summary["outputs_scanned"] >= 60 and summary["bytes_scanned"] > 20_000 * STUDENTS, summary
    assert summary["leaks"] == 0, [str(leak) for leak in school.scanner.leaks[:20]]
