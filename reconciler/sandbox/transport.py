"""The in-process transport to the emulators, with what a socket adds: a time limit and lost answers.

``httpx.ASGITransport`` calls the app directly, so the client's timeout never fires and a
connection can never drop. The emulators' fault injection needs both — a request that
hangs past the client's limit, a write committed whose answer never arrives — so this
transport enforces the request's read timeout (``httpx.ReadTimeout``, as a socket would)
and turns :class:`ResponseLost` raised by an app into ``httpx.RemoteProtocolError``
("server disconnected"), what httpx raises when a server closes without answering.
Served on a real port (``mzi sandbox serve``), the same faults become a real hang and a
500 after the commit.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from starlette.types import ASGIApp


class ResponseLost(Exception):
    """Raised by an emulator after it committed a request whose answer is to be lost."""


class SandboxTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` plus the client's read timeout and dropped connections."""

    def __init__(self, app: "ASGIApp") -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limit = (request.extensions.get("timeout") or {}).get("read")
        try:
            return await asyncio.wait_for(self._inner.handle_async_request(request), limit)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer within {limit}s", request=request) from None
        except ResponseLost as lost:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from lost

    async def aclose(self) -> None:
        await self._inner.aclose()
