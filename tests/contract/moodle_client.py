"""The contract suite's client: PHP-style form calls to one Moodle (emulated or real)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from reconciler.providers.moodle import encode_php_params

ENDPOINT = "/webservice/rest/server.php"
_RUN = f"{int(time.time()) % 10**8:08d}"
_counter = itertools.count(1)


@dataclass
class MoodleClient:
    """``call(wsfunction, **params)`` → decoded JSON (errors are returned, not raised)."""

    http: httpx.Client
    token: str
    limited_token: str | None
    is_emulator: bool
    db_path: Path | None = None
    calls: list[str] = field(default_factory=list)

    def call(self, wsfunction: str, _token: str | None = None, **params: Any) -> Any:
        form = [("wstoken", self.token if _token is None else _token), ("wsfunction", wsfunction),
                ("moodlewsrestformat", "json")] + encode_php_params(params)
        return self.post(form)

    def post(self, form: list[tuple[str, str]]) -> Any:
        """Send raw form pairs (for tests that build requests by hand)."""
        self.calls.append(next((v for k, v in form if k == "wsfunction"), ""))
        body = urlencode(form, encoding="utf-8").encode("ascii")
        response = self.http.post(ENDPOINT, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text[:300]}"
        return response.json()

    def ok(self, wsfunction: str, **params: Any) -> Any:
        """Call and insist it is not an exception envelope."""
        answer = self.call(wsfunction, **params)
        assert not (isinstance(answer, dict) and "exception" in answer), f"{wsfunction} failed: {answer}"
        return answer

    def require_limited(self) -> str:
        if self.limited_token is None:
            pytest.skip("MZI_MOODLE_LIMITED_TOKEN is not set: no token of a user without local/mzi:manage to test with")
        return self.limited_token

    @staticmethod
    def unique(prefix: str = "ct") -> str:
        """A key no earlier run used: run stamp + counter (fits char(32) key columns)."""
        return f"{prefix}{_RUN}{next(_counter):05d}"
