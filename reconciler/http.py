"""One HTTP client policy for every backend: bounded, timed, retried.

Both providers send every request through :class:`RetryingClient`, so the rules of
ARCHITECTURE principle 5 hold in one place: a semaphore bounds concurrency per system,
every call has a timeout, 429 and 5xx (and connection failures) are retried with
exponential backoff and full jitter, and a ``Retry-After`` header wins over the computed
delay. Calls are counted so each run can report what it cost.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import BackendUnreachable, TransientError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Defaults suit Zoho's and Moodle's documented behaviour."""

    concurrency: int = 10
    timeout: float = 30.0
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    retry_after_max: float = 300.0


@dataclass
class CallStats:
    """Requests sent (including retries) and how many were retried, per command."""

    requests: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def count(self, status: int) -> None:
        self.requests += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


def retry_after_seconds(response: httpx.Response, cap: float) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), capped; ``None`` when absent/garbled."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), cap)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(when.timestamp() - time.time(), cap))


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(max, base·2^attempt)]."""
    return rng.uniform(0, min(policy.backoff_max, policy.backoff_base * (2**attempt)))


class RetryingClient:
    """An ``httpx.AsyncClient`` wrapped with the retry policy; one per backend."""

    def __init__(
        self,
        name: str,
        base_url: str,
        policy: RetryPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.stats = CallStats()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limit = asyncio.Semaphore(policy.concurrency)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=headers,
            timeout=httpx.Timeout(policy.timeout),
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; the final response is returned whatever its status.

        Raises :class:`BackendUnreachable` when the backend never answered and
        :class:`TransientError` when it kept answering 429/5xx past ``max_retries``.
        """
        last_error = ""
        for attempt in range(self.policy.max_retries + 1):
            if attempt:
                self.stats.retries += 1
            try:
                async with self._limit:
                    response = await self._client.request(method, url, **kwargs)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt == self.policy.max_retries:
                    raise BackendUnreachable(
                        f"{self.name} at {self._client.base_url} did not answer after "
                        f"{attempt + 1} attempts ({last_error}); check the URL in mzi.toml and the network"
                    ) from exc
                await self._sleep(backoff_delay(attempt, self.policy, self._rng))
                continue
            self.stats.count(response.status_code)
            if response.status_code not in RETRY_STATUSES:
                return response
            last_error = f"HTTP {response.status_code}"
            if attempt == self.policy.max_retries:
                break
            wait = retry_after_seconds(response, self.policy.retry_after_max)
            await self._sleep(wait if wait is not None else backoff_delay(attempt, self.policy, self._rng))
        raise TransientError(
            f"{self.name} kept failing with {last_error} after {self.policy.max_retries + 1} attempts; "
            "try again later or lower the concurrency in mzi.toml"
        )

    async def aclose(self) -> None:
        await self._client.aclose()
