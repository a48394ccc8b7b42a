"""`mzi apply` reads its confirmation from a pipe as Terraform does: only ``yes`` approves.

Runs the real CLI in a subprocess with stdin a pipe (not a terminal), so the path that
used to refuse outright ("run it in a terminal") is the one exercised.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.config import load_config
from reconciler.sandbox import Sandbox

CONFIG = 'state_dir = "state"\n[sandbox]\nstudents = 6\nseed = 4\n[safety]\nmax_delete_fraction = 1.0\n'


def _apply(config: Path, answer: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", "-c", str(config), "apply", "--no-color"],
                          input=answer, capture_output=True, text=True, timeout=120)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "mzi.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _writes(config: Path) -> dict[str, int]:
    return Sandbox.from_config(load_config(config)).write_counts()


def test_yes_on_a_pipe_approves_the_apply(config: Path) -> None:
    done = _apply(config, "yes\n")
    assert done.returncode == 0, done.stdout[-800:] + done.stderr
    assert "Only 'yes' will be accepted to approve." in done.stdout, done.stdout[-800:]
    assert "Apply complete!" in done.stdout and "0 failed" in done.stdout, done.stdout[-800:]
    assert _writes(config)["moodle"] > 0


@pytest.mark.parametrize("answer", ["no\n", "", "\n", "y\n", "YES\n", " yes\n", "yes please\n"],
                         ids=["no", "EOF", "empty line", "y", "YES", "leading space", "yes please"])
def test_anything_but_exactly_yes_cancels_and_writes_nothing(config: Path, answer: str) -> None:
    done = _apply(config, answer)
    assert done.returncode == 1, f"answer {answer!r}: exit {done.returncode}\n{done.stdout[-500:]}{done.stderr}"
    assert "Apply cancelled." in done.stderr, f"answer {answer!r}: {done.stderr}"
    assert "Traceback" not in done.stderr and "Apply complete!" not in done.stdout
    assert _writes(config) == {"zoho": 0, "moodle": 0}, f"answer {answer!r} wrote something"
