"""What the operator sees: progress, colours, names in labels, JSON and markdown plans, logs."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from reconciler.render import FSI, PDI

if TYPE_CHECKING:  # a type only: at run time `conftest` may be another folder's
    from conftest import Workspace  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[2]
ESC = "\x1b["


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("MZI_CONFIG", "NO_COLOR", "TERM", "MZI_LOG_FORMAT")}
    return base | {"TERM": "xterm-256color", "COLUMNS": "120"} | extra


def _mzi_piped(ws: Workspace, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler.cli", "-c", str(ws.config), *args], cwd=ws.root,
                          env=_env(**env), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)


def _mzi_on_terminal(ws: Workspace, *args: str, stream: str, **env: str) -> tuple[str, str]:
    """Run mzi with ``stream`` ("stdout" or "stderr") on a pseudo-terminal and the other
    into a file; (what the terminal got, what the file got)."""
    controller, terminal = pty.openpty()
    other_path = ws.root / f"other-{os.getpid()}.txt"
    with other_path.open("wb") as other:
        handles: dict[str, Any] = {"stdout": other, "stderr": other, stream: terminal}
        process = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "-c", str(ws.config), *args],
                                   cwd=ws.root, env=_env(**env), stdin=subprocess.DEVNULL, **handles)
        os.close(terminal)
        seen = bytearray()
        while True:
            ready, _, _ = select.select([controller], [], [], 300)
            if not ready:
                process.kill()
                raise AssertionError("mzi did not finish within 300 s")
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal has exited
                break
            if not chunk:
                break
            seen += chunk
        process.wait(timeout=60)
    os.close(controller)
    return seen.decode(errors="replace"), other_path.read_text(encoding="utf-8")


@pytest.fixture
def small(make_workspace: Callable[..., Workspace]) -> Workspace:
    return make_workspace(students=12)


# ------------------------------------------------------------------------------ progress
def test_progress_is_shown_on_a_terminal_per_kind_with_counts(small: Workspace) -> None:
    terminal, stdout = _mzi_on_terminal(small, "plan", stream="stderr")
    assert "read student" in terminal and "read enrollment" in terminal, terminal[-2000:]
    assert re.search(r"Read [\d,]+ records of \d+ kinds in [\d.]+ s", terminal), terminal[-2000:]
    assert ESC not in stdout and stdout.rstrip().endswith("blocked."), "the plan on stdout has no progress in it"


def test_progress_is_silent_when_stderr_is_a_pipe(small: Workspace) -> None:
    done = _mzi_piped(small, "plan")
    assert done.returncode == 0, done.stderr
    assert "read student" not in done.stderr and "Read " not in done.stderr
    assert ESC not in done.stderr, done.stderr


def test_quiet_silences_progress_on_a_terminal(small: Workspace) -> None:
    terminal, _ = _mzi_on_terminal(small, "plan", "--quiet", stream="stderr")
    assert "read student" not in terminal and "Read " not in terminal, terminal


def test_apply_on_a_terminal_shows_changes_applied_per_kind(small: Workspace) -> None:
    terminal, stdout = _mzi_on_terminal(small, "apply", "--auto-approve", "--compact", stream="stderr")
    assert "apply student" in terminal and "applied" in terminal, terminal[-2000:]
    assert re.search(r"[Aa]pplied [\d,]+ changes in [\d.]+ s", terminal), terminal[-2000:]
    assert terminal.index("Read ") < terminal.index("pplied "), "reads are summed up before the plan is shown"
    assert "Apply complete!" in stdout


# -------------------------------------------------------------------------------- colour
def test_plan_on_a_terminal_is_coloured_unless_no_color_or_a_dumb_terminal(small: Workspace) -> None:
    coloured, _ = _mzi_on_terminal(small, "plan", stream="stdout")
    assert ESC in coloured, "control: a terminal gets colours"
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        plain, stderr = _mzi_on_terminal(small, "plan", stream="stdout", **env)
        assert ESC not in plain, (env, plain[:500])
        assert "Plan:" in plain


def test_no_color_also_keeps_warnings_and_errors_plain_on_a_terminal(small: Workspace) -> None:
    terminal, _ = _mzi_on_terminal(small, "plan", "--target", "student.404", stream="stderr", NO_COLOR="1")
    assert "Error: student.404: no such record" in terminal
    assert ESC + "31m" not in terminal and ESC + "91m" not in terminal, terminal


# ------------------------------------------------------------------------ names, RTL
def _listed(ws: Workspace, kind: str) -> dict[str, str]:
    """Address → label of a kind's Zoho records, as `mzi sandbox list` shows them."""
    out = ws.run("sandbox", "list", kind, "--limit", "10000").stdout
    return dict(line.split("  ", 1) for line in out.splitlines() if line.strip())


def test_enrollment_labels_name_the_student_and_the_class(small: Workspace) -> None:
    data = json.loads(small.run("plan", "--json").stdout)
    students, classes = _listed(small, "student"), _listed(small, "class")
    enrollments = [c for c in data["changes"] if c["address"].startswith("enrollment.") and c["action"] == "create"]
    assert enrollments
    for change in enrollments:
        student = students[f"student.{change['after']['zoho_student_id']}"]
        klass = classes[f"class.{change['after']['zoho_class_id']}"]
        expected = f"{student} in {klass}".replace(FSI, "").replace(PDI, "")
        assert change["label"] == expected, (change["label"], expected)
        assert re.search(r"\(STU-\d+\) in .+ \(CLS-\d+\)$", change["label"]), change["label"]


def test_arabic_names_are_isolated_inside_latin_lines_of_the_text_plan(small: Workspace) -> None:
    out = small.run("plan", "--no-color").stdout
    arabic = [line for line in out.splitlines() if re.search("[\u0600-\u06ff]", line)]
    assert arabic, "the demo school has Arabic names"
    for line in arabic:
        outside = re.sub(f"{FSI}[^{PDI}]*{PDI}", "", line)
        assert not re.search("[\u0600-\u06ff]", outside), f"Arabic outside an isolate: {line!r}"
    assert any(re.search(rf"\({FSI}[\u0600-\u06ff ]+{PDI} \(STU-\d+\)\)", line) for line in arabic), arabic[:5]


# ------------------------------------------------------------------------ JSON schema
def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((REPO / "docs" / "plan-schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _valid(validator: jsonschema.Draft202012Validator, data: Any) -> None:
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5])


def test_json_plan_of_a_real_sandbox_validates_against_the_documented_schema(
        make_workspace: Callable[..., Workspace]) -> None:
    ws = make_workspace(students=12, blocked=True)
    validator = _schema_validator()
    planned = ws.run("plan", "--format", "json", "--out", str(ws.root / "p.json"))
    data = json.loads(planned.stdout)
    assert {c["action"] for c in data["changes"]} == {"create", "update", "delete", "blocked"}
    assert any(d["sensitive"] for c in data["changes"] for d in c["deltas"])
    _valid(validator, data)
    _valid(validator, json.loads(ws.run("show", str(ws.root / "p.json"), "--json").stdout))
    assert ws.run("apply", "--auto-approve").exit_code == 0
    _valid(validator, json.loads(ws.run("plan", "--json").stdout))


def test_the_schema_rejects_what_it_does_not_document(small: Workspace) -> None:
    validator = _schema_validator()
    data = json.loads(small.run("plan", "--json").stdout)
    data["changes"][0]["action"] = "replace"
    assert list(validator.iter_errors(data)), "control: the schema is not vacuous"


# ---------------------------------------------------------------------------- markdown
def test_markdown_plan_has_a_table_and_one_collapsible_block_per_kind(small: Workspace) -> None:
    done = small.run("plan", "--format", "markdown")
    text = done.stdout
    assert text.startswith("### mzi plan: Plan: "), text[:200]
    kinds = re.findall(r"^\| `(\w+)` \|", text, flags=re.MULTILINE)
    assert "student" in kinds and "enrollment" in kinds
    assert text.count("<details><summary>") == len(kinds) == text.count("</details>")
    assert "```diff" in text
    assert "Saved" not in text and "API usage" not in text  # stdout is the comment, whole


# -------------------------------------------------------------------------- JSON logs
def test_json_logs_are_one_object_per_line_with_batches_and_no_personal_values(small: Workspace) -> None:
    done = _mzi_piped(small, "--log-format", "json", "apply", "--auto-approve", "--compact")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert all({"ts", "level", "event", "message"} <= set(e) for e in events)
    names = {e["event"] for e in events}
    assert {"config", "kind_read", "batch_applied", "api_usage"} <= names, names
    batches = [e for e in events if e["event"] == "batch_applied" and e["kind"] == "student"]
    assert batches and batches[-1]["done"] == batches[-1]["total"] > 0
    assert not re.search("[\u0600-\u06ff]|@|STU-", done.stderr), "names, emails or numbers of people in the log"


def test_log_level_warning_leaves_out_info_events(small: Workspace) -> None:
    done = _mzi_piped(small, "--log-format", "json", "--log-level", "warning", "plan")
    assert [line for line in done.stderr.splitlines() if line.strip()] == [], done.stderr
