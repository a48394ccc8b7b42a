"""Bad user input and a hostile environment give one ``Error:`` line, never a traceback.

Each case runs the real CLI in a subprocess (``python -m reconciler.cli``), because a
traceback is what a user sees on a terminal, not what an in-process runner reports. A
genuine bug may still show a traceback; a typo, a wrong path or a read-only folder may not.
Cases that need a permission to be denied run as ``nobody`` (through ``setpriv``) when
the tests run as root, since root ignores file modes; without setpriv they skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFIG = """
state_dir = "state"
[sandbox]
students = 8
seed = 3
"""
NOBODY = 65534


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path], list[str]]  # builds its files under the folder, returns the CLI arguments
    as_nobody: bool = False
    usage_error: bool = False  # click's own usage error: exit 2 instead of 1


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _config(root: Path, name: str, text: str) -> str:
    return str(_write(root / name, text))


def _read_only_state(root: Path) -> str:
    """An installed sandbox whose state folder nobody may write."""
    for folder in (root / "state", root / "state" / "sandbox"):
        folder.chmod(0o555)
    for item in (root / "state").rglob("*"):
        if item.is_file():
            item.chmod(0o444)
    return str(root / "mzi.toml")


CASES = [
    Case("show of a JSON array", lambda r: ["show", str(_write(r / "array.json", "[1, 2]"))]),
    Case("show of a binary file", lambda r: ["show", str(_write(r / "binary.json", bytes(range(256))))]),
    Case("show of an empty file", lambda r: ["show", str(_write(r / "empty.json", ""))]),
    Case("show of an object with wrong types", lambda r: [
        "show", str(_write(r / "types.json", '{"format": 1, "changes": "x", "specs_hash": 1, "created_at": 1, "version": 1}'))]),
    Case("show of a change without an action", lambda r: [
        "show", str(_write(r / "noaction.json", '{"format": 1, "changes": [{"a": 1}], "specs_hash": "x", '
                                                '"created_at": "x", "version": "x"}'))]),
    Case("show --json of a JSON array", lambda r: ["show", "--json", str(_write(r / "array.json", "[1]"))]),
    Case("apply of a JSON array", lambda r: ["-c", str(r / "mzi.toml"), "apply", str(_write(r / "array.json", "[]"))]),
    Case("apply of a binary file", lambda r: ["-c", str(r / "mzi.toml"), "apply",
                                              str(_write(r / "binary.json", b"\xff\xfe\x00garbage"))]),
    Case("apply of an empty file", lambda r: ["-c", str(r / "mzi.toml"), "apply", str(_write(r / "empty.json", ""))]),
    Case("apply of a plan whose changes is a number", lambda r: [
        "-c", str(r / "mzi.toml"), "apply",
        str(_write(r / "types.json", '{"format": 1, "changes": 5, "specs_hash": "x", "created_at": "x", "version": "x"}'))]),
    Case("-c pointing at a directory", lambda r: ["-c", str(r), "plan"]),
    Case("-c pointing at nothing", lambda r: ["-c", str(r / "nosuch.toml"), "plan"]),
    Case("non-UTF-8 mzi.toml", lambda r: ["-c", str(_write(r / "latin1.toml", 'state_dir = "\xe9tat"\n'.encode("latin-1"))),
                                          "plan"]),
    Case("mzi.toml that is not TOML", lambda r: ["-c", _config(r, "broken.toml", "state_dir = \n"), "plan"]),
    Case("state_dir under a file: plan", lambda r: [
        "-c", _config(r, "under.toml", f'state_dir = "{_write(r / "somefile", "x")}/state"\n'), "plan"]),
    Case("state_dir under a file: sandbox reset", lambda r: [
        "-c", _config(r, "under.toml", f'state_dir = "{_write(r / "somefile", "x")}/state"\n'), "sandbox", "reset"]),
    Case("state_dir under a file: sandbox edit", lambda r: [
        "-c", _config(r, "under.toml", f'state_dir = "{_write(r / "somefile", "x")}/state"\n'),
        "sandbox", "edit", "student.1", "City=Irbid"]),
    Case("state_dir under a file: doctor", lambda r: [
        "-c", _config(r, "under.toml", f'state_dir = "{_write(r / "somefile", "x")}/state"\n'), "doctor"]),
    Case("state_dir under a file: state runs", lambda r: [
        "-c", _config(r, "under.toml", f'state_dir = "{_write(r / "somefile", "x")}/state"\n'), "state", "runs"]),
    Case("specs_dir that is a file", lambda r: [
        "-c", _config(r, "specfile.toml", f'specs_dir = "{_write(r / "somefile", "x")}"\n'), "plan"]),
    Case("specs_dir that does not exist", lambda r: ["-c", _config(r, "nospecs.toml", 'specs_dir = "nosuch"\n'), "plan"]),
    Case("plan --out into a folder that does not exist", lambda r: [
        "-c", str(r / "mzi.toml"), "plan", "--out", str(r / "nosuch" / "plan.json")]),
    Case("plan --out onto a directory", lambda r: ["-c", str(r / "mzi.toml"), "plan", "--out", str(r)]),
    Case("--target with no dot", lambda r: ["-c", str(r / "mzi.toml"), "plan", "--target", "student"]),
    Case("--kind nosuch", lambda r: ["-c", str(r / "mzi.toml"), "plan", "--kind", "nosuch"]),
    Case("sandbox edit of a nonexistent record", lambda r: [
        "-c", str(r / "mzi.toml"), "sandbox", "edit", "student.999", "City=Irbid"]),
    Case("sandbox edit of a nonexistent kind", lambda r: [
        "-c", str(r / "mzi.toml"), "sandbox", "edit", "nosuch.1", "City=Irbid"]),
    Case("sandbox edit of an address with no dot", lambda r: [
        "-c", str(r / "mzi.toml"), "sandbox", "edit", "student", "City=Irbid"]),
    Case("sandbox delete of a nonexistent record", lambda r: ["-c", str(r / "mzi.toml"), "sandbox", "delete", "student.9"]),
    Case("state runs --limit -1", lambda r: ["-c", str(r / "mzi.toml"), "state", "runs", "--limit", "-1"],
         usage_error=True),
    Case("unreadable mzi.toml given with -c", lambda r: [
        "-c", str(_mode(_write(r / "secret.toml", CONFIG), 0o000)), "plan"], as_nobody=True, usage_error=True),
    Case("unreadable mzi.toml in MZI_CONFIG", lambda r: [
        "--env", f"MZI_CONFIG={_mode(_write(r / 'secret.toml', CONFIG), 0o000)}", "plan"], as_nobody=True),
    Case("unreadable ./mzi.toml (no -c)", lambda r: [
        "--cwd", str(_mode(_write(r / "cwd" / "mzi.toml", CONFIG), 0o000).parent), "plan"], as_nobody=True),
    Case("unreadable spec file in specs_dir", lambda r: [
        "-c", _config(r, "specs.toml", 'state_dir = "state"\nspecs_dir = "myspecs"\n'
                      + _mode_note(_mode(_write(r / "myspecs" / "student.toml", "kind = 'student'\n"), 0o000))),
        "plan"], as_nobody=True),
    Case("read-only state folder: sandbox reset", lambda r: ["-c", _read_only_state(r), "sandbox", "reset"],
         as_nobody=True),
    Case("read-only state folder: sandbox edit", lambda r: [
        "-c", _read_only_state(r), "sandbox", "edit", "student.1", "City=Irbid"], as_nobody=True),
    Case("read-only state folder: plan", lambda r: ["-c", _read_only_state(r), "plan"], as_nobody=True),
]


def _mode(path: Path, mode: int) -> Path:
    path.chmod(mode)
    return path


def _mode_note(path: Path) -> str:
    return f"# {path.name} is unreadable\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the demo school installed (plans are quick on 8 students)."""
    root = tmp_path_factory.mktemp("installed")
    _write(root / "mzi.toml", CONFIG)
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "-c", str(root / "mzi.toml"), "sandbox", "reset"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def root(installed: Path) -> Iterator[Path]:
    """A copy of the installed workspace in a folder ``nobody`` may enter (pytest's is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="mzi-bad-input-"))
    folder.chmod(0o755)
    shutil.copytree(installed, folder, dirs_exist_ok=True)
    for item in [folder, *folder.rglob("*")]:
        item.chmod(0o777 if item.is_dir() else 0o666)
    yield folder
    for item in [folder, *folder.rglob("*")]:
        item.chmod(0o777 if item.is_dir() else 0o666)
    shutil.rmtree(folder)


def _run(args: list[str], as_nobody: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MZI_CONFIG"}
    cwd = None
    while args and args[0] in ("--env", "--cwd"):
        if args[0] == "--cwd":
            cwd = args[1]
        else:
            name, _, value = args[1].partition("=")
            env[name] = value
        args = args[2:]
    prefix: list[str] = []
    if as_nobody and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root, where file modes deny nothing, and no setpriv to run as nobody")
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run([*prefix, sys.executable, "-m", "reconciler.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_one_error_line_and_no_traceback(case: Case, root: Path) -> None:
    done = _run(case.args(root), case.as_nobody)
    shown = f"case {case.name!r}: exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr, shown
    assert done.returncode == (2 if case.usage_error else 1), shown
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, shown
