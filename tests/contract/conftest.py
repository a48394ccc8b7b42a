"""The contract suite's Moodle: the emulator in-process, or a real Moodle.

By default ``moodle`` talks to the emulator through an in-process ASGI client over
``create_app(tmp_path/…)`` seeded with ``seed_core``. With ``MZI_MOODLE_URL`` and
``MZI_MOODLE_TOKEN`` set, the same tests run against a real Moodle with ``local_mzi``
installed (``MZI_MOODLE_LIMITED_TOKEN``: a token of a user without ``local/mzi:manage``,
for the capability tests, which skip without it).

Tests use only web-service calls, never the emulator's database, so both backends are
held to the same contract. Keys are unique per run (``moodle.unique()``) because a real
Moodle keeps what earlier runs wrote.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from moodle_client import MoodleClient  # type: ignore[import-not-found]

from reconciler.sandbox.moodle import LIMITED_TOKEN, SANDBOX_TOKEN, create_app, seed_core


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport for a synchronous client: one event loop per request."""

    def __init__(self, app: object) -> None:
        self._inner = httpx.ASGITransport(app=app)  # type: ignore[arg-type]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(send())


def _real_moodle() -> tuple[str, str, str | None] | None:
    url, token = os.environ.get("MZI_MOODLE_URL", "").strip(), os.environ.get("MZI_MOODLE_TOKEN", "").strip()
    if not (url and token):
        return None
    return url.rstrip("/"), token, (os.environ.get("MZI_MOODLE_LIMITED_TOKEN", "").strip() or None)


@pytest.fixture
def moodle(tmp_path: Path) -> Iterator[MoodleClient]:
    real = _real_moodle()
    if real is not None:
        url, token, limited = real
        with httpx.Client(base_url=url, timeout=60) as http:
            yield MoodleClient(http, token, limited, is_emulator=False)
        return
    db_path = tmp_path / "moodle.sqlite"
    app = create_app(db_path)
    seed_core(app.state.db)
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://moodle.sandbox") as http:
        yield MoodleClient(http, SANDBOX_TOKEN, LIMITED_TOKEN, is_emulator=True, db_path=db_path)
    app.state.db.close()


@pytest.fixture
def emulator_only(moodle: MoodleClient) -> MoodleClient:
    """For the few checks that need the emulator's database (skipped on a real Moodle)."""
    if not moodle.is_emulator:
        pytest.skip("looks inside the emulator's database; not applicable to a real Moodle")
    return moodle


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/contract" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.contract)
