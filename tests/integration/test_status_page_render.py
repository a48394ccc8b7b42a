"""What a Moodle admin sees on the plugin's sync status page after mzi's runs: the PHP
renderer's own context over the emulator's rows, through the real template (see
tests/status_page.py)."""

from __future__ import annotations

import re
import sqlite3
from html import unescape
from typing import TYPE_CHECKING, Any

from reconciler.config import load_config
from reconciler.specs import load_specs
from reconciler.state import StateStore

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

from status_page import emulator_tables, php_context, render

ROW = re.compile(r'<tr class="([^"]*)">(.*?)</tr>', re.S)
CELL = re.compile(r"<td>(.*?)</td>", re.S)
HEADER = re.compile(r"<th>(.*?)</th>", re.S)


def _table(html: str) -> list[dict[str, str]]:
    """The status table's body rows as {header: cell text}, plus ``class``."""
    headers = [unescape(h) for h in HEADER.findall(html)]
    rows = []
    for css, body in ROW.findall(html):
        cells = [unescape(c.strip()) for c in CELL.findall(body)]
        assert len(cells) == len(headers), f"{len(cells)} cells under {len(headers)} headers: {body}"
        rows.append(dict(zip(headers, cells)) | {"class": css})
    return rows


def _run_ids(workspace: Workspace) -> dict[str, str]:
    store = StateStore(load_config(workspace.config).state_db)
    try:
        latest: dict[str, str] = {}
        for run in reversed(store.runs(10)):
            latest[run.command] = str(run.id)
        return latest
    finally:
        store.close()


def test_the_page_shows_every_kinds_last_plan_and_apply_with_outcome_and_run(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    assert workspace.run("plan").exit_code == 0
    context, strings = php_context(emulator_tables(workspace.sandbox.moodle_db))
    rows = _table(render(context, strings))
    kinds = sorted(load_specs(load_config(workspace.config).specs_dir))
    runs = _run_ids(workspace)
    shown = sorted((r["Kind"], r["Command"], r["Outcome"], r["Run"]) for r in rows)
    assert shown == sorted((k, c, "OK", runs[c]) for k in kinds for c in ("apply", "plan")), shown


def _status(**values: Any) -> dict[str, Any]:
    row = {"id": 1, "kind": "student", "command": "apply", "status": "ok", "runid": 3, "timefinished": 1767225600,
           "creates": 0, "updates": 0, "deletes": 0, "blocked": 0, "errors": 0, "drift": 0, "timemodified": 1767225600}
    return row | values


def test_a_failed_or_interrupted_run_is_red_and_a_blocked_record_only_yellow() -> None:
    statuses = [_status(id=1, kind="payment", status="failed", errors=2), _status(id=2, kind="registration", status="interrupted"),
                _status(id=3, kind="enrollment", blocked=1), _status(id=4, kind="student"),
                _status(id=5, kind="class", command="plan", drift=2), _status(id=6, kind="unit", status=None, runid=0)]
    context, strings = php_context({"local_mzi_sync_status": statuses, "local_mzi_outbox": []})
    colours = {r["Kind"]: (r["class"], r["Outcome"], r["Run"]) for r in _table(render(context, strings))}
    assert colours == {
        "payment": ("table-danger", "Failed", "3"), "registration": ("table-danger", "Interrupted", "3"),
        "enrollment": ("table-warning", "OK", "3"), "student": ("", "OK", "3"), "class": ("table-warning", "OK", "3"),
        "unit": ("", "-", "-"),
    }, colours


def test_the_mzi_url_is_shown_as_configured_not_escaped_twice() -> None:
    url = "https://mzi.example/webhooks/moodle?site=abc&x=1"
    context, strings = php_context({"local_mzi_sync_status": [], "local_mzi_outbox": []}, config={"mziurl": url})
    assert f"<code>{url.replace('&', '&amp;')}</code>" in render(context, strings)


def test_the_arabic_page_has_every_string_it_uses(workspace: Workspace) -> None:
    assert workspace.run("plan").exit_code == 0
    context, strings = php_context(emulator_tables(workspace.sandbox.moodle_db), lang="ar")
    html = render(context, strings)
    assert [r["النوع"] for r in _table(html)] == sorted(load_specs(load_config(workspace.config).specs_dir)), html
    with sqlite3.connect(workspace.sandbox.moodle_db) as db:
        assert db.execute("SELECT COUNT(*) FROM mdl_local_mzi_sync_status WHERE command = 'apply'").fetchone()[0] == 0
