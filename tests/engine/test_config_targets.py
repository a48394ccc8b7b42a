"""Configuration that would silently target the wrong thing is named or refused.

A cron job in a folder without mzi.toml must say it runs on the embedded sandbox; a
sandbox on one side and a live system on the other must be asked for explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.config import describe_source, load_config
from reconciler.errors import ConfigError

SMALL = '[sandbox]\nstudents = 5\n'


def _mzi(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "MZI_CONFIG"}
    return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], cwd=cwd, env=base | (env or {}),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


def test_plan_without_mzi_toml_says_on_stderr_that_it_uses_the_embedded_sandbox(tmp_path: Path) -> None:
    done = _mzi("state", "runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = f"No mzi.toml in {tmp_path}: using the embedded sandbox (built-in defaults); pass -c FILE"
    assert expected in done.stderr, done.stderr
    assert "mzi.toml" not in done.stdout, "stdout must stay clean for pipes"


def test_every_command_that_loads_config_names_the_file_on_stderr_only(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "mzi.toml"
    config.parent.mkdir()
    config.write_text(SMALL, encoding="utf-8")
    for args in (["plan", "--json"], ["state", "runs"], ["sandbox", "reset"]):
        done = _mzi("-c", "conf/mzi.toml", *args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stderr.splitlines()[0] == f"Using configuration {config}", (args, done.stderr)
        assert "Using configuration" not in done.stdout, (args, done.stdout[:300])


def test_mzi_config_environment_variable_is_the_default_path(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text(SMALL, encoding="utf-8")
    done = _mzi("state", "runs", cwd=tmp_path, env={"MZI_CONFIG": str(config)})
    assert f"Using configuration {config}" in done.stderr, done.stderr
    missing = _mzi("state", "runs", cwd=tmp_path, env={"MZI_CONFIG": str(tmp_path / "nosuch.toml")})
    assert missing.returncode == 1 and "nosuch.toml: no such configuration file" in missing.stderr, missing.stderr


def test_describe_source_names_the_absolute_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MZI_CONFIG", raising=False)
    (tmp_path / "mzi.toml").write_text(SMALL, encoding="utf-8")
    assert describe_source(load_config()) == f"Using configuration {tmp_path / 'mzi.toml'}"


@pytest.mark.parametrize(("zoho", "moodle", "consequence"), [
    ("sandbox", "live", "demo school into a real Moodle"),
    ("live", "sandbox", "real Zoho data into the emulator"),
])
def test_mixed_backends_are_refused_naming_file_and_key(tmp_path: Path, zoho: str, moodle: str,
                                                        consequence: str) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text(f'[zoho]\nbackend = "{zoho}"\n[moodle]\nbackend = "{moodle}"\nurl = "https://moodle.example"\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "allow_mixed_backends = true" in message and consequence in message, message


def test_mixed_backends_are_allowed_when_the_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text('allow_mixed_backends = true\n[moodle]\nbackend = "live"\nurl = "https://moodle.example"\n',
                    encoding="utf-8")
    config = load_config(path)
    assert (config.zoho.backend, config.moodle.backend) == ("sandbox", "live")


def test_both_live_needs_no_permission(tmp_path: Path) -> None:
    path = tmp_path / "mzi.toml"
    path.write_text('[zoho]\nbackend = "live"\n[moodle]\nbackend = "live"\nurl = "https://moodle.example"\n',
                    encoding="utf-8")
    assert load_config(path).moodle.backend == "live"


@pytest.mark.parametrize("key", ["state_dir", "specs_dir"])
def test_a_directory_key_under_a_file_names_the_key(tmp_path: Path, key: str) -> None:
    (tmp_path / "somefile").write_text("x", encoding="utf-8")
    path = tmp_path / "mzi.toml"
    path.write_text(f'{key} = "somefile/sub"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{key} = .*somefile is a file, not a directory"):
        load_config(path)
