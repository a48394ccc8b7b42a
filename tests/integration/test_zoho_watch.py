"""`mzi zoho watch` enables one channel per Zoho module read, and is idempotent."""

from __future__ import annotations

import re

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # conftest is not importable by name when several test folders are collected
    from conftest import Workspace  # type: ignore[import-not-found]

URL = "https://mzi.example.edu/hooks/zoho"


def test_watch_enables_channels_once_then_leaves_them_alone(workspace: Workspace) -> None:
    first = workspace.run("zoho", "watch", "--notify-url", URL)
    assert first.exit_code == 0, first.output
    enabled = re.findall(r"enabled\s+channel (\d+)\s+(\S+)", first.output)
    assert sorted(m for _, m in enabled) == ["BTEC_Classes", "BTEC_Enrollments", "BTEC_Students"], first.output
    second = workspace.run("zoho", "watch", "--notify-url", URL)
    assert second.exit_code == 0
    assert second.output.count("unchanged") == 3 and "enabled" not in second.output, second.output


def test_watch_without_a_notify_url_is_a_clear_error(workspace: Workspace) -> None:
    result = workspace.run("zoho", "watch")
    assert result.exit_code == 1
    assert "notify_url" in result.output
