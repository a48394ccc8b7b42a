"""A sandbox workspace with the webhook app in-process (no port) and a way to drain its queue.

Shared by tests/serve and tests/security; a module of its own rather than a conftest, so
``pytest tests/serve tests/integration`` does not find two modules named ``conftest``.

The app is built with ``workers=0``; :meth:`Served.drain` runs one real
:class:`~reconciler.worker.Worker` until the queue is empty, so a test sees exactly what
the worker did, run by run, without sleeping on timers.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import commands
from reconciler.config import Config, load_config
from reconciler.queue import EventQueue
from reconciler.sandbox import Sandbox
from reconciler.server import Secrets, WebhookApp, build
from reconciler.signatures import sign
from reconciler.state import Run
from reconciler.worker import Signals, Worker, policy_of

SECRET = "test-webhook-secret"
STATIC = "test-static-token"
WATCH = "test-watch-token"

CONFIG = """
state_dir = "state"
[sandbox]
students = {students}
seed = 5
unmatched_users = {unmatched}
[serve]
debounce_seconds = 0
max_attempts = 2
retry_base_seconds = 0.01
retry_max_seconds = 0.02
"""


@dataclass
class Served:
    root: Path
    config: Config
    webhook: WebhookApp

    @property
    def sandbox(self) -> Sandbox:
        return Sandbox.from_config(self.config)

    @property
    def queue(self) -> EventQueue:
        return self.webhook.queue

    def post(self, path: str, body: bytes | dict[str, Any], headers: dict[str, str] | None = None,
             params: dict[str, str] | None = None) -> httpx.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.webhook.app())
            async with httpx.AsyncClient(transport=transport, base_url="http://mzi.test") as client:
                return await client.post(path, content=raw, headers=headers or {}, params=params)

        return asyncio.run(go())

    def get(self, path: str) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.webhook.app())
            async with httpx.AsyncClient(transport=transport, base_url="http://mzi.test") as client:
                return await client.get(path)

        return asyncio.run(go())

    def signed_zoho(self, body: dict[str, Any], path: str = "/webhooks/zoho") -> httpx.Response:
        raw = json.dumps(body).encode()
        return self.post(path, raw, {"X-Zoho-Signature": sign(SECRET, raw), "Content-Type": "application/json"})

    def drain(self, rounds: int = 50, batch_size: int | None = None) -> list[Run]:
        """Run one worker until nothing is due; the runs it recorded, oldest first."""
        before = {r.id for r in self.webhook.store.runs(1000)}

        async def go() -> None:
            signals = Signals()
            worker = Worker(self.config, 0, signals, self.webhook.metrics)
            async with commands.workspace(config=self.config) as ws:
                queue = EventQueue(ws.state, policy_of(self.config))
                for _ in range(rounds):
                    items = queue.claim(worker.owner, batch_size or self.config.serve.batch_size)
                    if not items:
                        if queue.stats().depth == 0:
                            return
                        await asyncio.sleep(0.02)
                        continue
                    await worker.reconcile(ws, queue, items)

        asyncio.run(go())
        return sorted((r for r in self.webhook.store.runs(1000) if r.id not in before), key=lambda r: r.id)


def make_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, students: int = 20, unmatched: bool = False,
                apply_first: bool = True) -> Served:
    monkeypatch.setenv("MZI_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("MZI_WEBHOOK_TOKEN", STATIC)
    monkeypatch.setenv("MZI_ZOHO_WATCH_TOKEN", WATCH)
    path = tmp_path / "mzi.toml"
    path.write_text(CONFIG.format(students=students, unmatched=str(unmatched).lower()), encoding="utf-8")
    config = load_config(path)
    if apply_first:
        async def first() -> None:
            async with commands.workspace(config=config) as ws:
                await commands.apply(ws)
        asyncio.run(first())
    webhook = build(config, workers=0, secrets=Secrets(SECRET, STATIC, WATCH))
    return Served(tmp_path, config, webhook)

