"""The ``local_mzi_*`` schema, read from ``moodle_plugin/db/install.xml`` (its one home).

Everything that needs a table or column — the Moodle emulator's DDL, the web-service
structures, spec validation, the contract tests — imports it from here.
"""

from __future__ import annotations

from .xmldb import (
    Column,
    Index,
    Schema,
    SchemaError,
    Table,
    ddl,
    default_schema_path,
    load_schema,
    parse_schema,
    schema_ddl,
    validate,
)

__all__ = [
    "Column",
    "Index",
    "Schema",
    "SchemaError",
    "Table",
    "ddl",
    "default_schema_path",
    "load_schema",
    "parse_schema",
    "schema_ddl",
    "validate",
]
