"""Commands a new operator needs: init, sandbox list, state runs/show; complete help; docs in step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.config import load_config
from reconciler.config_text import reference

if TYPE_CHECKING:  # a type only: at run time `conftest` may be another folder's
    from conftest import Workspace  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------- init
def test_init_from_flags_writes_a_commented_config_that_loads_with_those_values(tmp_path: Path) -> None:
    target = tmp_path / "mzi.toml"
    done = CliRunner().invoke(main, ["init", "-o", str(target), "--no-input", "--moodle-url", "https://m.example.edu/",
                                     "--zoho-data-centre", "eu", "--course-category", "7", "--withdrawn-enrolment",
                                     "unenrol", "--create-users", "--timezone", "UTC"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    config = load_config(target)
    assert (config.zoho.backend, config.zoho.data_centre) == ("live", "eu")
    assert (config.moodle.backend, config.moodle.url, config.moodle.course_category_id) == \
        ("live", "https://m.example.edu", 7)
    assert (config.moodle.withdrawn_enrolment, config.moodle.create_users, config.moodle.timezone) == \
        ("unenrol", True, "UTC")
    text = target.read_text(encoding="utf-8")
    assert "# the data centre of your Zoho account" in text and '# token_env = "MZI_MOODLE_TOKEN"' in text
    assert "[sandbox]" not in text
    assert "export MZI_ZOHO_CLIENT_ID" in done.output


def test_init_asks_what_no_flag_gave(tmp_path: Path) -> None:
    target = tmp_path / "mzi.toml"
    answers = "https://moodle.school.jo\nsa\n3\nAsia/Riyadh\nsuspend\nn\n4000\n"
    done = CliRunner().invoke(main, ["init", "-o", str(target)], input=answers, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    config = load_config(target)
    assert (config.moodle.url, config.zoho.data_centre, config.moodle.course_category_id,
            config.moodle.timezone, config.moodle.max_input_vars) == ("https://moodle.school.jo", "sa", 3,
                                                                      "Asia/Riyadh", 4000)


def test_init_refuses_to_overwrite_and_writes_nothing_invalid(tmp_path: Path) -> None:
    target = tmp_path / "mzi.toml"
    target.write_text("# mine\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["init", "-o", str(target), "--no-input", "--moodle-url", "https://m.x"])
    assert done.exit_code == 1 and "exists; pass --force" in done.output
    bad = CliRunner().invoke(main, ["init", "-o", str(target), "--force", "--no-input", "--moodle-url", "https://m.x",
                                    "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 1 and "moodle.timezone" in bad.output, bad.output
    assert target.read_text(encoding="utf-8") == "# mine\n"


def test_init_runs_doctor_when_the_secrets_are_exported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MZI_ZOHO_CLIENT_ID", "MZI_ZOHO_CLIENT_SECRET", "MZI_ZOHO_REFRESH_TOKEN", "MZI_MOODLE_TOKEN"):
        monkeypatch.setenv(name, "x")
    done = CliRunner().invoke(main, ["init", "-o", str(tmp_path / "mzi.toml"), "--no-input",
                                     "--moodle-url", "http://127.0.0.1:9"])
    assert "FAIL" in done.output and "failed" in done.output, done.output  # doctor ran, against nothing
    assert done.exit_code == 1


# ----------------------------------------------------------------------- sandbox list
def test_sandbox_list_shows_ids_that_sandbox_edit_takes(workspace: Workspace) -> None:
    assert workspace.run("apply", "--auto-approve").exit_code == 0
    listed = workspace.run("sandbox", "list", "student", "--limit", "3")
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and all(re.match(r"student\.\d+  .+ \(STU-\d+\)$", line) for line in lines), lines
    assert "3 of 40 student record(s)" in listed.stderr and "mzi sandbox edit student." in listed.stderr
    address = lines[0].split()[0]
    assert workspace.run("sandbox", "edit", address, "City=Madaba Test").exit_code == 0
    plan = workspace.run("plan", "--no-color")
    assert workspace.addresses(plan.stdout, "~", "student") == [address], plan.stdout


def test_sandbox_list_of_a_kind_read_from_moodle_says_which_kinds_it_can_list(workspace: Workspace) -> None:
    done = workspace.run("sandbox", "list", "student_link")
    assert done.exit_code == 1 and "list one of:" in done.output and "student" in done.output


# ------------------------------------------------------------------------ state runs
def test_state_runs_has_a_header_kind_duration_and_outcome(workspace: Workspace) -> None:
    workspace.run("plan")
    workspace.run("apply", "--auto-approve")
    student = workspace.run("sandbox", "list", "student", "--limit", "1").stdout.split()[0]
    workspace.run("apply", "--auto-approve", "--target", student)
    workspace.run("plan", "--changed-only")
    workspace.run("plan", "--out", str(workspace.root / "p.plan"))
    workspace.run("apply", str(workspace.root / "p.plan"))
    out = workspace.run("state", "runs").stdout.splitlines()
    assert re.match(r"\s+run\s+started \(UTC\)\s+duration\s+cmd\s+kind\s+planned", out[0]), out[0]
    kinds = [line.split()[5] for line in out[1:]]
    assert kinds == ["saved-plan", "full", "changed-only", "target", "full", "full"], out
    assert all(re.search(r"\s\d+s\s", line) for line in out[1:]), out
    runs = json.loads(workspace.run("state", "runs", "--json").stdout)
    assert runs[0]["kind"] == "saved-plan" and runs[0]["seconds"] >= 0


def test_state_runs_failed_and_since_filter(workspace: Workspace) -> None:
    workspace.run("plan")
    assert workspace.run("plan", "--target", "student.404").exit_code == 1  # fails before a run is recorded
    assert "No runs match." in workspace.run("state", "runs", "--failed").stderr
    assert len(json.loads(workspace.run("state", "runs", "--since", "1h", "--json").stdout)) == 1
    assert json.loads(workspace.run("state", "runs", "--since", "2999-01-01", "--json").stdout) == []
    bad = workspace.run("state", "runs", "--since", "yesterday")
    assert bad.exit_code == 1 and "an age (30m, 12h, 7d, 2w)" in bad.output


def test_state_show_lists_every_address_of_a_run_and_its_result(workspace: Workspace) -> None:
    applied = workspace.run("apply", "--auto-approve")
    run_id = re.search(r"\(run (\d+)\)", applied.stdout).group(1)  # type: ignore[union-attr]
    shown = workspace.run("state", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert re.match(rf"Run {run_id}: apply \(full\), started .* UTC, took \d+s — ok, (\d+) written", shown.stdout)
    written = int(re.search(r"ok, (\d+) written", shown.stdout).group(1))  # type: ignore[union-attr]
    rows = [line for line in shown.stdout.splitlines() if re.match(r"  (create|update|delete)\s+\w+\.\S+\s+ok$", line)]
    assert len(rows) == written, shown.stdout[-500:]
    data = json.loads(workspace.run("state", "show", run_id, "--json").stdout)
    assert sum(r["ok"] for r in data["results"]) == written
    assert "Every address succeeded." in workspace.run("state", "show", run_id, "--failed").stdout
    missing = workspace.run("state", "show", "999")
    assert missing.exit_code == 1 and "no run 999" in missing.output


# ------------------------------------------------------------------- help and docs
def _commands(group: click.Group, prefix: str = "mzi") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{prefix} {name}")
    return found


def test_every_command_has_a_complete_short_help() -> None:
    for path, command in _commands(main):
        short = command.get_short_help_str(limit=60)
        assert short and not short.endswith("..."), f"{path}: {short!r}"


def test_version_is_printed() -> None:
    done = CliRunner().invoke(main, ["--version"])
    assert done.exit_code == 0 and re.match(r"mzi, version \d+\.\d+", done.output)


def test_config_reference_is_generated_from_the_models_and_up_to_date() -> None:
    written = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert written == reference(), "docs/config.md is out of date: python -m reconciler.config_text > docs/config.md"
    for key in ("max_input_vars", "data_centre", "withdrawn_enrolment", "max_delete_fraction"):
        assert f"| `{key}` |" in written
