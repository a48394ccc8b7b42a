"""The Zoho CRM v8 emulator: records, deleted records, notifications, OAuth — in SQLite.

``create_app(db_path, faults=…)`` gives the ASGI app; ``ZohoStore`` the data behind it
(the demo-school generator writes through it); ``Faults`` what to inflict; the
``SANDBOX_*`` constants the credentials the emulated accounts server accepts. The
OpenAPI validator (``oas.py``) is imported on demand: it needs the test dependencies.
"""

from .app import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN, ZohoHttpError, ZohoServer, create_app
from .faults import NO_FAULTS, Faults
from .metadata import ModuleMeta, load_metadata
from .store import ORG_ZONE, ZohoStore, format_id, parse_time, zoho_time

__all__ = [
    "NO_FAULTS", "ORG_ZONE", "SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "SANDBOX_REFRESH_TOKEN", "Faults",
    "ModuleMeta", "ZohoHttpError", "ZohoServer", "ZohoStore", "create_app", "format_id", "load_metadata",
    "parse_time", "zoho_time",
]
