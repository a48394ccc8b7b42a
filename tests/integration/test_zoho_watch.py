"""`mzi zoho watch` enables one channel per Zoho module read, and is idempotent."""

from __future__ import annotations

import re

from typing import TYPE_CHECKING

from reconciler.specs import load_specs

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

URL = "https://mzi.example.edu/hooks/zoho"


def test_watch_enables_channels_once_then_leaves_them_alone(workspace: Workspace) -> None:
    first = workspace.run("zoho", "watch", "--notify-url", URL)
    assert first.exit_code == 0, first.output
    enabled = re.findall(r"enabled\s+channel (\d+)\s+(\S+)", first.output)
    modules = sorted({s.zoho_module for s in load_specs().values() if s.source.system == "zoho"})
    assert sorted(m for _, m in enabled) == modules, first.output
    second = workspace.run("zoho", "watch", "--notify-url", URL)
    assert second.exit_code == 0
    assert second.output.count("unchanged") == len(modules) and "enabled" not in second.output, second.output


def test_watch_without_a_notify_url_is_a_clear_error(workspace: Workspace) -> None:
    result = workspace.run("zoho", "watch")
    assert result.exit_code == 1
    assert "notify_url" in result.output
