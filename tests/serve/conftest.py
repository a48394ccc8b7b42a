"""The ``served`` fixture: a sandbox workspace with the webhook app in-process (see
tests/serve_app.py, where the helpers live so other folders can import them by name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serve_app import Served, make_served


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    s = make_served(tmp_path, monkeypatch)
    yield s
    s.webhook.store.close()
