"""The exceptions mzi raises, in one hierarchy.

Every error a user can see derives from :class:`MziError` and carries a message that
says what to do about it; the CLI prints ``Error: <message>`` and exits 1 for any of
them, so nothing else in the code needs to know about exit codes.

The split between :class:`TransientError` and :class:`TerminalError` mirrors
controller-runtime: transient ones (network, 429, 5xx) are retried with backoff,
terminal ones (invalid data, missing field) are reported per address and never retried.
"""

from __future__ import annotations


class MziError(Exception):
    """Base of every error mzi reports to a user."""


class ConfigError(MziError):
    """mzi.toml is missing, malformed, or names something that does not exist."""


class SpecError(MziError):
    """A file in specs/ is malformed; the message names file, kind and field."""


class StateError(MziError):
    """The state store cannot be opened, or is held by another apply."""


class LockHeld(StateError):
    """Another `mzi apply` holds the apply lock."""


class PlanError(MziError):
    """A saved plan cannot be applied (stale, wrong version, or corrupt)."""


class StalePlan(PlanError):
    """Records a saved plan was computed from have changed since."""


class ProviderError(MziError):
    """A backend (Zoho or Moodle) failed in a way the user must see."""


class TransientError(ProviderError):
    """Worth retrying: network failure, timeout, 429, 5xx."""


class TerminalError(ProviderError):
    """Not worth retrying: the request itself is wrong or was refused."""


class BackendUnreachable(TransientError):
    """The backend could not be reached at all after every retry."""


class AuthError(TerminalError):
    """Credentials were refused (invalid token, revoked refresh token)."""


class PreflightError(MziError):
    """A spec does not fit the systems (a Zoho field or Moodle column it names is missing
    or of the wrong type); found before `plan` or `apply` reads a record."""
