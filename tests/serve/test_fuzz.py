"""Fuzzing the webhook endpoints: whatever the body and headers, the answer is 2xx or 4xx
(never a 5xx) and the server keeps answering.

A sample runs with the suite; the dedicated run is ``MZI_FUZZ_EXAMPLES=10000 pytest
tests/serve/test_fuzz.py`` (docs/security.md). Every answer is counted by class (2xx, 4xx,
5xx); with ``MZI_SECURITY_SUMMARY=path`` the counts land in that JSON file.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from security_summary import record_summary
from serve_app import SECRET, STATIC, WATCH, Served, make_served
from reconciler.signatures import sign, sign_moodle

EXAMPLES = int(os.environ.get("MZI_FUZZ_EXAMPLES", "150"))
#: answers by status class over the whole run ("2xx", "4xx", "5xx", ...), and health checks
COUNTS: Counter[str] = Counter()

KEYS = ["event_id", "event_type", "module", "record_id", "changed_fields", "timestamp", "ids", "operation",
        "channel_id", "token", "server_time", "resource_uri", "query_params", "eventname", "objectid",
        "relateduserid", "courseid", "assignmentid", "cmid"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["BTEC_Students", "BTEC_Registrations", "updated", "deleted",
                                                           "insert", "5847596000000100059", WATCH, STATIC,
                                                           "\\core\\event\\user_created",
                                                           "\\core\\event\\user_enrolment_created"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
payloads = st.dictionaries(st.sampled_from(KEYS), values, max_size=9)
bodies = st.one_of(payloads.map(lambda d: json.dumps(d).encode()), st.binary(max_size=300),
                   st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
paths = st.sampled_from(["/webhooks/zoho", "/webhooks/moodle", "/webhooks/zoho/student", "/webhooks/zoho/installment",
                         "/webhooks/zoho/nosuch", "/webhooks/zoho/%00", "/healthz", "/metrics"])
header_names = st.sampled_from(["X-Zoho-Signature", "X-Mzi-Signature", "X-Mzi-Token", "X-Mzi-Timestamp",
                                "X-Mzi-Event-Id", "Content-Length", "Content-Type"])
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
signing = st.sampled_from(["none", "hmac", "hmac-prefixed", "moodle", "moodle-old", "token", "query-token"])


def _headers(body: bytes, how: str, extra: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    now = int(time.time())
    headers, params = dict(extra), {}
    if how == "hmac":
        headers["X-Zoho-Signature"] = sign(SECRET, body)
    elif how == "hmac-prefixed":
        headers["X-Mzi-Signature"] = "sha256=" + sign(SECRET, body)
    elif how in ("moodle", "moodle-old"):
        stamp = now if how == "moodle" else now - 10_000
        headers |= {"X-Mzi-Timestamp": str(stamp), "X-Mzi-Signature": sign_moodle(SECRET, stamp, body)}
    elif how == "token":
        headers["X-Mzi-Token"] = STATIC
    elif how == "query-token":
        params["token"] = STATIC
    headers.pop("Content-Length", None)  # httpx sets the true one; a false one is a transport matter
    return headers, params


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    mp = pytest.MonkeyPatch()
    served = make_served(tmp_path_factory.mktemp("fuzz"), mp, students=5, apply_first=False)
    COUNTS.clear()
    yield served
    served.webhook.store.close()
    mp.undo()
    summary = {"cases": COUNTS["cases"], "max_examples": EXAMPLES,
               **{k: COUNTS[k] for k in ("2xx", "3xx", "4xx", "5xx")}, "health_not_200": COUNTS["health_not_200"]}
    print(f"\nwebhook fuzz: {summary}")
    record_summary("webhook_fuzz", summary)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          deadline=None)
@given(path=paths, body=bodies, how=signing, extra=st.dictionaries(header_names, header_values, max_size=3))
def test_no_body_or_header_gets_a_5xx(fuzzed: Served, path: str, body: bytes, how: str, extra: dict[str, str]) -> None:
    headers, params = _headers(body, how, extra)

    async def go() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=fuzzed.webhook.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://mzi.test") as client:
            answer = await client.post(path, content=body, headers=headers, params=params)
            alive = await client.get("/healthz")
            return answer.status_code, alive.status_code

    status, alive = asyncio.run(go())
    COUNTS["cases"] += 1
    COUNTS[f"{status // 100}xx"] += 1
    COUNTS["health_not_200"] += alive != 200
    assert 200 <= status < 500, (status, path, body[:200], headers)
    assert alive == 200

