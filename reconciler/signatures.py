"""Is this webhook from who it says? Checked before anything else is done with it.

* Signed requests (Zoho through a proxy that signs, Moodle's outbox): ``X-Zoho-Signature``
  or ``X-Mzi-Signature``, the hex HMAC-SHA256 of the raw body (``sha256=`` prefix
  allowed) with the key from ``[serve] secret_env``.
* Moodle signs ``"<X-Mzi-Timestamp>.<body>"``: a captured delivery replayed later than
  ``[serve] replay_window_seconds`` (either way) is refused.
* Zoho workflow webhooks cannot compute a signature, only send fixed headers or
  parameters: a static token (``X-Mzi-Token`` header or ``token`` query parameter, from
  ``[serve] token_env``) is accepted for them. Use HTTPS.
* Zoho Notifications API callbacks carry the channel's ``token`` in the body: it must be
  the watch token ``mzi zoho watch`` registered.

Every comparison is constant-time, on bytes. A refusal says what was wrong, never what
was expected.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from .errors import MziError

SIGNATURE_HEADERS = ("x-zoho-signature", "x-mzi-signature")
TOKEN_HEADER = "x-mzi-token"
TOKEN_PARAM = "token"
TIMESTAMP_HEADER = "x-mzi-timestamp"


class Refused(MziError):
    """Not authenticated (HTTP 401); ``code`` says why, for logs and metrics."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign(key: str, message: bytes) -> str:
    """Hex HMAC-SHA256 of ``message``: what a sender puts in the signature header."""
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign_moodle(key: str, timestamp: int | str, body: bytes) -> str:
    """What ``local_mzi``'s outbox sends in ``X-Mzi-Signature`` (``outbox::sign_delivery``)."""
    return sign(key, f"{timestamp}.".encode() + body)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _signature(headers: Mapping[str, str]) -> str | None:
    for name in SIGNATURE_HEADERS:
        value = headers.get(name)
        if value is not None:
            value = value.strip()
            return value[7:].lower() if value.lower().startswith("sha256=") else value.lower()
    return None


def verify_zoho(body: bytes, headers: Mapping[str, str], query: Mapping[str, str], key: str, static_token: str,
                watch_token: str, body_token: str | None) -> None:
    """Accept a signed body, a static token, or a notification carrying the watch token."""
    signature = _signature(headers)
    if signature is not None:
        if not _same(signature, sign(key, body)):
            raise Refused("bad_signature", "the signature does not match the body")
        return
    token = headers.get(TOKEN_HEADER) or query.get(TOKEN_PARAM)
    if token is not None:
        if not static_token:
            raise Refused("bad_token", "static tokens are not enabled on this server ([serve] token_env is unset)")
        if not _same(token.strip(), static_token):
            raise Refused("bad_token", "the token is not the one this server accepts")
        return
    if body_token is not None:
        if not _same(body_token, watch_token):
            raise Refused("bad_channel_token", "the channel token is not the watch token mzi zoho watch registered")
        return
    raise Refused("unauthenticated", "no signature (X-Zoho-Signature), token (X-Mzi-Token or ?token=) "
                                     "or channel token in the request")


def verify_moodle(body: bytes, headers: Mapping[str, str], key: str, window: int,
                  clock: Callable[[], float] = time.time) -> None:
    """Accept an outbox delivery signed with its timestamp, inside the replay window."""
    signature, stamp = _signature(headers), (headers.get(TIMESTAMP_HEADER) or "").strip()
    if signature is None or not stamp:
        raise Refused("unsigned", "X-Mzi-Signature and X-Mzi-Timestamp are required")
    if not stamp.isdigit() or len(stamp) > 12:
        raise Refused("bad_timestamp", "X-Mzi-Timestamp must be unix seconds")
    if abs(clock() - int(stamp)) > window:
        raise Refused("replayed", f"X-Mzi-Timestamp is more than {window} s from now (a replay, or a clock off)")
    if not _same(signature, sign_moodle(key, stamp, body)):
        raise Refused("bad_signature", "the signature does not match the timestamp and body")
