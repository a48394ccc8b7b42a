"""Fault injection for the Zoho emulator: what a real org does to a client on a bad day.

Faults are data (a frozen dataclass) persisted in the store, so a test, a benchmark or
``mzi sandbox faults`` in one process changes what a ``mzi apply`` in another process
sees. Every random decision is a pure function of ``(seed, request number)``: the same
sequence of requests meets the same faults, run after run, whatever else the machine
is doing.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..draws import check_rates, draw


@dataclass(frozen=True)
class Faults:
    """What to inflict on API requests (the OAuth endpoint is spared unless stated).

    - ``latency_ms``: added to every request before it is answered.
    - ``error_rate``: fraction of requests answered ``500 INTERNAL_ERROR``.
    - ``burst_every`` / ``burst_length``: of every ``burst_every`` requests, the first
      ``burst_length`` are refused with ``429`` and a ``Retry-After`` of
      ``retry_after`` seconds (Zoho's concurrency limit, arriving in bursts).
    - ``token_lifetime``: seconds an access token lives (Zoho: 3600).
    - ``expire_tokens``: every access token issued so far is treated as expired
      (``401 INVALID_TOKEN``) — set it, and the client must refresh.
    - ``invalid_ids``: record ids whose writes fail with a per-record ``INVALID_DATA``.
    - ``timeout_rate``: fraction of requests that hang ``hang_seconds`` before they are
      handled — past the client's time limit, so it gives up (``transport.py``).
    - ``lost_response_rate``: fraction of writes committed whose answer is lost (the
      connection drops after the commit): the client cannot know the write landed.
    - ``page_shift_rate``: fraction of list calls past the first page before which the
      first record of the listing is deleted, so every later record shifts up one place
      — a record deleted by someone else while the client pages.
    - ``expire_every``: every ``expire_every``-th request, the access tokens issued before
      the previous such point expire (all of them the first time): mid-run expiry that, like
      Zoho's hour-long tokens, spares a token just refreshed (``expire_tokens`` expires
      every token once, when set).
    - ``seed``: the seed of the rate decisions.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    burst_every: int = 0
    burst_length: int = 0
    retry_after: int = 1
    token_lifetime: int = 3600
    expire_tokens: bool = False
    invalid_ids: tuple[str, ...] = field(default_factory=tuple)
    timeout_rate: float = 0.0
    hang_seconds: float = 120.0
    lost_response_rate: float = 0.0
    page_shift_rate: float = 0.0
    expire_every: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        check_rates(self, "error_rate", "timeout_rate", "lost_response_rate", "page_shift_rate")
        if self.hang_seconds < 0 or self.expire_every < 0:
            raise ValueError("hang_seconds and expire_every must not be negative")
        if self.burst_length < 0 or self.burst_every < 0 or (self.burst_every and self.burst_length > self.burst_every):
            raise ValueError("burst_length must be between 0 and burst_every")
        object.__setattr__(self, "invalid_ids", tuple(str(i) for i in self.invalid_ids))

    def rate_limited(self, sequence: int) -> bool:
        """Whether request number ``sequence`` (1-based) falls inside a 429 burst."""
        if not self.burst_every or not self.burst_length:
            return False
        return (sequence - 1) % self.burst_every < self.burst_length

    def server_error(self, sequence: int) -> bool:
        """Whether request number ``sequence`` fails with a 5xx (seeded, reproducible)."""
        if self.error_rate <= 0:
            return False
        return random.Random(f"{self.seed}:{sequence}").random() < self.error_rate

    def _draw(self, rate: float, sequence: int, what: str) -> bool:
        return draw(self.seed, rate, sequence, what)

    def hangs(self, sequence: int) -> bool:
        """Whether request ``sequence`` hangs ``hang_seconds`` before it is handled."""
        return self._draw(self.timeout_rate, sequence, "timeout")

    def loses_response(self, sequence: int) -> bool:
        """Whether write ``sequence`` is committed but its answer lost."""
        return self._draw(self.lost_response_rate, sequence, "lost")

    def shifts_page(self, sequence: int) -> bool:
        """Whether a record vanishes before list call ``sequence`` (past page one) is read."""
        return self._draw(self.page_shift_rate, sequence, "shift")

    def expires_tokens_at(self, sequence: int) -> bool:
        """Whether every token issued so far expires just before request ``sequence``."""
        return bool(self.expire_every) and sequence % self.expire_every == 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Faults":
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {k: (tuple(v) if k == "invalid_ids" else v) for k, v in data.items() if k in known}
        return cls(**kwargs)


NO_FAULTS = Faults()
