"""Fixtures of the sandbox tests: the demo school, an installed sandbox, a Zoho client.

``ZohoCall`` (``sandbox_calls.py``) drives the Zoho emulator in-process (httpx over
ASGI, one event loop per call) and checks every answer against Zoho's OpenAPI files, so
each test that talks to the emulator is also a conformance test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.demo import DemoSchool, generate
from reconciler.sandbox.zoho import create_app
from reconciler.sandbox.zoho.oas import OpenAPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from needs import oas_dir  # noqa: E402
from sandbox_calls import ZohoCall  # noqa: E402


@pytest.fixture(scope="session")
def oas() -> OpenAPI:
    """Zoho's OpenAPI files, which every emulator answer is checked against (from ../shared)."""
    return OpenAPI.load(oas_dir())


@pytest.fixture(scope="session")
def school() -> DemoSchool:
    return generate(150, 7, blocked_example=True)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    """A sandbox with the default demo school, installed once and only read by tests."""
    box = Sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox", students=150, seed=7, blocked_example=True)
    box.ensure()
    return box


@pytest.fixture
def empty_zoho(tmp_path: Path, oas: OpenAPI) -> Iterator[ZohoCall]:
    """A Zoho emulator with an empty org."""
    app = create_app(tmp_path / "zoho.sqlite")
    yield ZohoCall(app, oas)
    app.state.store.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh, writable sandbox with a small school."""
    box = Sandbox(tmp_path / "sandbox", students=30, seed=3, blocked_example=True)
    box.ensure()
    yield box
    box.destroy()


@pytest.fixture
def zoho(sandbox: Sandbox, oas: OpenAPI) -> ZohoCall:
    return ZohoCall(sandbox.zoho_app(), oas)
