"""The emulator's function registry: data first, handlers attached.

Each :class:`WsFunction` holds what Moodle's ``db/services.php`` plus the external
class declare — name, parameter and return descriptions, required capabilities, whether
it writes — and the Python handler that plays the PHP ``execute``. Because the
descriptions are data, the static contract test can compare them with the PHP source
key by key (:func:`contract_keys`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...schema.xmldb import Schema
from .external import Desc, Single, key_names

MANAGE = "local/mzi:manage"


@dataclass
class CallContext:
    """What a handler may use: the database inside its transaction, who calls, when."""

    conn: sqlite3.Connection
    userid: int
    now: int
    schema: Schema
    max_input_vars: int
    capabilities: frozenset[str] = frozenset()
    #: scalar input variables PHP registered for this request (GET + POST, after the cut)
    input_vars: int = 0

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


Handler = Callable[[CallContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class WsFunction:
    """One web-service function as Moodle knows it."""

    name: str
    params: Single
    returns: Desc | None
    handler: Handler
    capabilities: tuple[str, ...] = (MANAGE,)
    is_write: bool = False
    #: the list parameter whose length is logged as the call's record count
    records_param: str | None = None
    #: for reads: the list in the result whose length is logged
    records_result: str | None = None
    mirror_table: str | None = None
    #: a mirror function's key column(s), joined with ``:`` in results and delete keys
    key_columns: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def record_count(self, args: dict[str, Any], result: Any) -> int:
        if self.records_param and isinstance(args.get(self.records_param), list):
            return len(args[self.records_param])
        if self.records_result and isinstance(result, dict) and isinstance(result.get(self.records_result), list):
            return len(result[self.records_result])
        return 0


def contract_keys(registry: dict[str, WsFunction]) -> dict[str, dict[str, frozenset[str]]]:
    """``{function: {"params": keys, "returns": keys}}`` — what the PHP side must match."""
    return {
        name: {"params": key_names(fn.params), "returns": key_names(fn.returns)}
        for name, fn in registry.items()
    }
