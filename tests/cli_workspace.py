"""What integration tests share about the sandbox workspace the ``workspace`` fixture makes.

Not imported from conftest: with ``pytest tests/integration tests/sandbox`` the module
named ``conftest`` is the sandbox's, so the shape and helpers live here.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

from click.testing import Result

from reconciler.sandbox import Sandbox
from reconciler.specs import bundled_specs_dir

FIELDS = "/crm/v8/settings/fields"


class Workspace(Protocol):
    """What the ``workspace`` fixture (tests/integration/conftest.py) offers."""

    root: Path
    config: Path

    def run(self, *args: str) -> Result: ...

    @property
    def sandbox(self) -> Sandbox: ...


def override_spec(workspace: Workspace, name: str, old: str, new: str) -> None:
    """Put a copy of bundled spec ``name`` with one edit in the workspace's ``specs_dir``."""
    specs = workspace.root / "myspecs"
    specs.mkdir(exist_ok=True)
    text = (bundled_specs_dir() / name).read_text(encoding="utf-8")
    assert old in text, f"{name} no longer contains {old!r}"
    (specs / name).write_text(text.replace(old, new), encoding="utf-8")
    if "specs_dir" not in workspace.config.read_text(encoding="utf-8"):
        workspace.config.write_text('specs_dir = "myspecs"\n' + workspace.config.read_text(encoding="utf-8"),
                                    encoding="utf-8")


def sql(db: Path, statement: str, *args: Any) -> list[sqlite3.Row]:
    """Run one statement on an emulator's SQLite database; rows by column name. Writes are
    committed: tests use it to edit Zoho or Moodle by hand."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def moodle_sql(workspace: Workspace, statement: str, *args: Any) -> list[sqlite3.Row]:
    """:func:`sql` on the Moodle emulator's database, installing the sandbox first."""
    workspace.sandbox.ensure()
    return sql(workspace.sandbox.moodle_db, statement, *args)


def moodle_functions(workspace: Workspace) -> Counter[str]:
    """Web-service functions the Moodle emulator has served, counted."""
    conn = sqlite3.connect(workspace.sandbox.moodle_db)
    try:
        return Counter(row[0] for row in conn.execute("SELECT wsfunction FROM mdl_mzi_api_log"))
    except sqlite3.OperationalError:
        return Counter()  # no call yet: the log table does not exist
    finally:
        conn.close()
