"""The Moodle emulator: Moodle's REST web-service protocol over SQLite.

``create_app(db_path)`` gives an ASGI app serving ``/webservice/rest/server.php`` with
every ``local_mzi_*`` function of the contract (docs/moodle-webservices.md) and the core
functions mzi calls; ``open_db``/``seed_core`` give the database to generators and tests.
"""

from .app import ENDPOINT, MoodleServer, create_app
from .db import LIMITED_TOKEN, SANDBOX_OUTBOX_SECRET, SANDBOX_TOKEN, open_db, seed_core
from .functions import build_registry
from .registry import WsFunction, contract_keys

__all__ = [
    "ENDPOINT", "LIMITED_TOKEN", "MoodleServer", "SANDBOX_OUTBOX_SECRET", "SANDBOX_TOKEN", "WsFunction",
    "build_registry", "contract_keys", "create_app", "open_db", "seed_core",
]
