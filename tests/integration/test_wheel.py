"""A wheel built from the repository works outside it: specs and schema ship inside."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_runs_mzi_plan_from_an_unrelated_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (wheel,) = dist.glob("mzi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("reconciler/_bundled/specs/student.toml", "reconciler/_bundled/install.xml",
                   "reconciler/templates/plan.md.j2"):
        assert needed in names, f"{needed} missing from {wheel.name}"
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    probe = subprocess.run([sys.executable, "-c", "import reconciler, sys; print(reconciler.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip().startswith(str(target)), f"imported {probe.stdout.strip()}, not the wheel"
    result = subprocess.run([sys.executable, "-c", "from reconciler.cli import main; main()", "plan", "--no-color"],
                            cwd=work, env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().splitlines()[-1].startswith("Plan: "), result.stdout[-500:]
    assert (work / "state" / "mzi.sqlite").exists(), "state goes to ./state when there is no mzi.toml"
