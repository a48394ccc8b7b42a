"""A throwaway mzi workspace on the embedded sandbox, driven through the real CLI."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.config import load_config
from reconciler.sandbox import Sandbox

CONFIG = """
state_dir = "state"
[sandbox]
students = {students}
seed = 11
blocked_example = {blocked}
unmatched_users = {unmatched}
[safety]
max_delete_fraction = 0.5
"""


@dataclass
class Workspace:
    root: Path
    config: Path
    run: Callable[..., Result]

    @property
    def sandbox(self) -> Sandbox:
        return Sandbox.from_config(load_config(self.config))

    def addresses(self, output: str, symbol: str, kind: str) -> list[str]:
        return re.findall(rf"^  \{symbol} ({kind}\.\S+)$", output, flags=re.MULTILINE)


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., Workspace]:
    def make(students: int = 40, blocked: bool = False, unmatched: bool = False) -> Workspace:
        config = tmp_path / "mzi.toml"
        config.write_text(CONFIG.format(students=students, blocked=str(blocked).lower(),
                                        unmatched=str(unmatched).lower()), encoding="utf-8")
        runner = CliRunner()

        def run(*args: str) -> Result:
            return runner.invoke(main, ["-c", str(config), *args], catch_exceptions=False)

        return Workspace(tmp_path, config, run)

    return make


@pytest.fixture
def workspace(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace()
