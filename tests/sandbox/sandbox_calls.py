"""``ZohoCall``: synchronous, OAS-checked calls to a Zoho emulator app (sandbox tests).

A module of its own (not conftest) so tests can import it by a name no other test
folder uses.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.sandbox.zoho import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN
from reconciler.sandbox.zoho.oas import OpenAPI


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: Any


class ZohoCall:
    """Synchronous calls to one Zoho emulator app, OAS-checked."""

    def __init__(self, app: Any, oas: OpenAPI | None) -> None:
        self.app = app
        self.oas = oas
        self.token = ""

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zoho.sandbox") as client:
            return await client.request(method, path, **kwargs)

    def raw(self, method: str, path: str, **kwargs: Any) -> Answer:
        response = asyncio.run(self._send(method, path, **kwargs))
        body = json.loads(response.content) if response.content else None
        return Answer(response.status_code, response.headers, body)

    def login(self) -> str:
        answer = self.raw("POST", "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET, "refresh_token": SANDBOX_REFRESH_TOKEN})
        self.token = answer.body["access_token"]
        return self.token

    def __call__(self, method: str, path: str, *, check: bool = True, since: str | None = None, **kwargs: Any) -> Answer:
        if not self.token:
            self.login()
        headers = {"Authorization": f"Zoho-oauthtoken {self.token}", **kwargs.pop("headers", {})}
        if since is not None:
            headers["If-Modified-Since"] = since
        answer = self.raw(method, path, headers=headers, **kwargs)
        if check and self.oas is not None:
            problems = self.oas.response_problems(method, path, answer.status, answer.body)
            assert not problems, f"{method} {path} → {answer.status} breaks the OAS:\n" + "\n".join(problems) + \
                f"\nbody: {json.dumps(answer.body, ensure_ascii=False)[:800]}"
        return answer
