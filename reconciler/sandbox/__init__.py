"""The embedded sandbox: a Zoho CRM emulator and a Moodle emulator over one directory.

``Sandbox`` is the one object the CLI, the providers' wiring and the tests use. It
installs the demo school on first use, hands out in-process httpx transports (no ports)
or serves both apps on loopback ports, edits and deletes Zoho records the way a school
administrator would (``mzi sandbox edit student.<id> City=Irbid``), and counts the write
calls both emulators received — the check that a second ``apply`` writes nothing.

Layout of the directory: ``zoho.sqlite`` (records, deleted list, channels, API log),
``moodle.sqlite`` (the emulated Moodle database), ``installed.json`` (written last, so a
half-finished install is redone rather than trusted).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import MziError
from ..model import Address
from ..specs import load_specs
from .demo import MOODLE_DB, ZOHO_DB, generate, install
from .transport import SandboxTransport
from .zoho.app import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN, create_app as create_zoho_app
from .zoho.faults import Faults
from .zoho.metadata import ModuleMeta, load_metadata
from .zoho.store import ZohoStore
from .zoho.writes import RecordWriter

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .moodle.faults import MoodleFaults

    from ..config import Config

MARKER = "installed.json"
#: kinds without a spec yet still have a Zoho module (DOMAIN's table), so `edit` works for them
KNOWN_MODULES = {
    "teacher": "BTEC_Teachers", "program": "Products", "unit": "BTEC", "student": "BTEC_Students",
    "registration": "BTEC_Registrations", "payment": "BTEC_Payments", "class": "BTEC_Classes",
    "enrollment": "BTEC_Enrollments", "grade": "BTEC_Grades", "request": "BTEC_Student_Requests",
}


class SandboxError(MziError):
    """A sandbox command cannot do what was asked (unknown record, field or value)."""


#: SQLite result codes that mean the environment, not the code: read-only, cannot open,
#: I/O error, disk full, no permission, not a database, corrupt, locked by another process
_ENVIRONMENT_CODES = {8, 14, 10, 13, 3, 26, 11, 5}


@contextmanager
def _environment_errors(directory: Path, doing: str) -> Iterator[None]:
    """A read-only, missing or full sandbox folder is the user's to fix, so it becomes a
    SandboxError naming the folder; other SQLite errors are bugs and keep their traceback."""
    try:
        yield
    except OSError as exc:
        raise SandboxError(f"cannot {doing} in {directory}: {exc.strerror} ({exc.filename}); "
                           "check the permissions of state_dir in mzi.toml or pick another") from exc
    except sqlite3.Error as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _ENVIRONMENT_CODES:
            raise
        raise SandboxError(f"cannot {doing} in {directory}: {exc}; "
                           "check the permissions of state_dir in mzi.toml or pick another") from exc


class Sandbox:
    """One sandbox directory and the two emulators over it."""

    zoho_base_url = "http://zoho.sandbox"
    zoho_accounts_url = "http://zoho.sandbox"
    moodle_url = "http://moodle.sandbox"
    zoho_credentials: tuple[str, str, str] = (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN)

    def __init__(self, directory: Path, *, students: int = 150, seed: int = 7, max_input_vars: int = 5000,
                 blocked_example: bool = False, unmatched_users: bool = False) -> None:
        self.directory = Path(directory)
        self.unmatched_users = unmatched_users
        self.students = students
        self.seed = seed
        self.blocked_example = blocked_example
        self.max_input_vars = max_input_vars
        self._zoho_app: Starlette | None = None
        self._moodle_app: Starlette | None = None

    @classmethod
    def from_config(cls, config: "Config") -> "Sandbox":
        return cls(config.sandbox_dir, students=config.sandbox.students, seed=config.sandbox.seed,
                   max_input_vars=config.moodle.max_input_vars, blocked_example=config.sandbox.blocked_example,
                   unmatched_users=config.sandbox.unmatched_users)

    @property
    def moodle_token(self) -> str:
        from .moodle.db import SANDBOX_TOKEN

        return SANDBOX_TOKEN

    @property
    def zoho_db(self) -> Path:
        return self.directory / ZOHO_DB

    @property
    def moodle_db(self) -> Path:
        return self.directory / MOODLE_DB

    # -------------------------------------------------------------- lifecycle

    def installed(self) -> bool:
        return (self.directory / MARKER).is_file() and self.zoho_db.is_file() and self.moodle_db.is_file()

    def ensure(self) -> None:
        """Install the demo school on first use; leave an installed sandbox alone."""
        if not self.installed():
            self.reset()

    def reset(self) -> None:
        """Throw away both databases and install the demo school again."""
        self._close_apps()
        with _environment_errors(self.directory, "reset the sandbox"):
            for name in (ZOHO_DB, MOODLE_DB, MARKER):
                for suffix in ("", "-wal", "-shm", "-journal"):
                    (self.directory / f"{name}{suffix}").unlink(missing_ok=True)
            install(self.directory, generate(self.students, self.seed, blocked_example=self.blocked_example),
                    unmatched_users=self.unmatched_users)
            marker = {"students": self.students, "seed": self.seed, "blocked_example": self.blocked_example,
                      "unmatched_users": self.unmatched_users}
            (self.directory / MARKER).write_text(json.dumps(marker, sort_keys=True) + "\n", encoding="utf-8")

    def destroy(self) -> None:
        """Remove the directory altogether (tests, `mzi sandbox reset --hard`)."""
        self._close_apps()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _close_apps(self) -> None:
        if self._zoho_app is not None:
            self._zoho_app.state.store.close()
        if self._moodle_app is not None:
            db = getattr(self._moodle_app.state, "db", None)
            if db is not None:
                db.close()
        self._zoho_app = self._moodle_app = None

    # -------------------------------------------------------------- the apps

    def zoho_app(self) -> "Starlette":
        if self._zoho_app is None:
            self.ensure()
            with _environment_errors(self.directory, "open the Zoho emulator's database"):
                self._zoho_app = create_zoho_app(self.zoho_db)
        return self._zoho_app

    def moodle_app(self) -> "Starlette":
        if self._moodle_app is None:
            from .moodle.app import create_app as create_moodle_app

            self.ensure()
            with _environment_errors(self.directory, "open the Moodle emulator's database"):
                self._moodle_app = create_moodle_app(self.moodle_db, max_input_vars=self.max_input_vars)
        return self._moodle_app

    def zoho_transport(self) -> httpx.AsyncBaseTransport:
        return SandboxTransport(self.zoho_app())

    def moodle_transport(self) -> httpx.AsyncBaseTransport:
        return SandboxTransport(self.moodle_app())

    def zoho_store(self) -> ZohoStore:
        """The Zoho store behind the app (faults, API log, notifications)."""
        return self.zoho_app().state.store

    def set_zoho_faults(self, faults: Faults) -> None:
        """Faults for every later Zoho request, in this process and in any other."""
        self.zoho_store().set_faults(faults)

    def set_moodle_faults(self, faults: "MoodleFaults") -> None:
        """Faults for every later Moodle call, in this process and in any other."""
        self.moodle_app().state.moodle.set_faults(faults)

    # -------------------------------------------------------------- administrator actions

    def _module(self, kind: str) -> ModuleMeta:
        specs = load_specs()
        module = specs[kind].zoho_module if kind in specs else KNOWN_MODULES.get(kind)
        if module is None:
            known = ", ".join(sorted(set(specs) | set(KNOWN_MODULES)))
            raise SandboxError(f"unknown kind {kind!r}; known kinds: {known}")
        return load_metadata()[module]

    def _existing(self, address: str) -> tuple[ModuleMeta, dict[str, Any]]:
        parsed = Address.parse(address)
        module = self._module(parsed.kind)
        record = self.zoho_store().get(module.api_name, parsed.key)
        if record is None:
            raise SandboxError(f"{address}: no {module.api_name} record with id {parsed.key} in the Zoho sandbox")
        return module, record

    def edit(self, address: str, assignments: dict[str, str]) -> dict[str, Any]:
        """Change fields of a Zoho record (Zoho api names, text values), as a user would.

        Values are converted by the field's type (numbers, booleans, lookups by id, ``""``
        clears); ``Modified_Time`` moves on, so incremental reads see the change.
        """
        module, record = self._existing(address)
        row: dict[str, Any] = {"id": record["id"]}
        for name, text in assignments.items():
            row[name] = _typed(module, name, text, address)
        store = self.zoho_store()
        writer = RecordWriter(store, load_metadata(), Faults())
        with store.transaction():
            entry = writer.update(module, [row]).entries[0]
        if entry["status"] != "success":
            raise SandboxError(f"{address}: Zoho refused the edit: {entry['code']} {entry['details']}")
        updated = store.get(module.api_name, record["id"])
        assert updated is not None
        return updated

    def delete(self, address: str) -> None:
        """Delete a Zoho record; it moves to the deleted list (recycle bin)."""
        module, record = self._existing(address)
        store = self.zoho_store()
        with store.transaction():
            RecordWriter(store, load_metadata(), Faults()).delete(module, [record["id"]])

    def submit_request(self, user_id: int, request_type: str, reason: str = "",
                       classes: tuple[str, ...] = ()) -> dict[str, Any]:
        """A student submits a request in Moodle (``local_mzi_submit_request``, the path of
        ``request.php``'s forms, ``requests::create``): stored, numbered ``MDL-<id>``, queued in the outbox.

        Returns ``{id, request_number, status}``; refusals (window closed, no student row
        for that user, …) are SandboxErrors with the plugin's message.
        """
        import time

        from .moodle.db import open_db, schema_for
        from .moodle.external import WsException
        from .moodle.registry import CallContext
        from .moodle.requests import submit

        self.ensure()
        conn = open_db(self.moodle_db)
        try:
            ctx = CallContext(conn, user_id, int(time.time()), schema_for(), self.max_input_vars)
            conn.execute("BEGIN")
            try:
                submitted = submit(ctx, request_type, reason, classes)
            except WsException as exc:
                conn.execute("ROLLBACK")
                raise SandboxError(f"Moodle refused the request of user {user_id}: {exc.errorcode}: {exc.message}") from exc
            conn.execute("COMMIT")
            return submitted
        finally:
            conn.close()

    # -------------------------------------------------------------- counting

    def write_counts(self) -> dict[str, int]:
        """Write calls each emulator has received so far (from their API logs)."""
        zoho = 0
        if self.zoho_db.is_file():
            store = ZohoStore(self.zoho_db)
            try:
                zoho = store.call_count(writes_only=True)
            finally:
                store.close()
        moodle = 0
        if self.moodle_db.is_file():
            conn = sqlite3.connect(self.moodle_db)
            try:
                row = conn.execute("SELECT COUNT(*) FROM mdl_mzi_api_log WHERE is_write = 1").fetchone()
                moodle = int(row[0])
            except sqlite3.OperationalError:
                moodle = 0  # no call yet: the log table does not exist
            finally:
                conn.close()
        return {"zoho": zoho, "moodle": moodle}

    # -------------------------------------------------------------- serving

    def serve(self, host: str, zoho_port: int, moodle_port: int) -> None:
        """Run both emulators as HTTP servers until Ctrl-C."""
        import uvicorn

        servers = [uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
                   for app, port in ((self.zoho_app(), zoho_port), (self.moodle_app(), moodle_port))]

        async def run() -> None:
            await asyncio.gather(*(server.serve() for server in servers))

        try:
            asyncio.run(run())
        except KeyboardInterrupt:
            pass


def _typed(module: ModuleMeta, name: str, text: str, address: str) -> Any:
    """A command-line value → the JSON value Zoho expects for the field's type."""
    meta = module.fields.get(name)
    if meta is None:
        close = sorted(n for n in module.fields if n.lower() == name.lower() or name.lower() in n.lower())[:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise SandboxError(f"{address}: {module.api_name} has no field {name!r}{hint}; use Zoho api names, e.g. City")
    if meta.read_only or meta.data_type in ("autonumber", "formula") or name in ("id", "Created_Time", "Modified_Time"):
        raise SandboxError(f"{address}: {module.api_name}.{name} is read-only in Zoho")
    if text == "":
        return None
    try:
        if meta.data_type in ("integer", "bigint"):
            return int(text)
        if meta.data_type in ("double", "currency", "decimal"):
            return float(text)
    except ValueError:
        raise SandboxError(f"{address}: {name}={text!r} is not a number ({meta.data_type})") from None
    if meta.data_type == "boolean":
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise SandboxError(f"{address}: {name}={text!r} is not true/false")
        return text.lower() in ("true", "1", "yes")
    if meta.data_type == "lookup":
        return {"id": text}
    if meta.data_type == "picklist" and meta.picklist and text not in meta.picklist:
        shown = ", ".join(v for v in meta.picklist if v != "-None-")
        raise SandboxError(f"{address}: {text!r} is not a value of the picklist {name} ({shown})")
    return text


__all__ = ["Faults", "Sandbox", "SandboxError"]
