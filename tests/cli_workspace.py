"""What integration tests share about the sandbox workspace the ``workspace`` fixture makes.

Not imported from conftest: with ``pytest tests/integration tests/sandbox`` the module
named ``conftest`` is the sandbox's, so the shape and helpers live here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

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
