"""MySQL/MariaDB and PostgreSQL DECIMAL columns round the way the plugin and mzi do.

The plugin rounds before it writes (``mirror_table::decimal()``; the emulator's
``decimal_text()`` is its twin), and mzi normalizes to the same scale. This checks the
premise on the real databases: text with more places than a ``number`` column of
install.xml keeps is stored rounded half away from zero, exactly as ``decimal_text``
rounds it, so nothing anywhere rounds a third way.
"""

from __future__ import annotations

from typing import Any

from reconciler.sandbox.moodle.mirror import decimal_text
from reconciler.schema.xmldb import ddl, load_schema

TABLE = load_schema().table("local_mzi_registrations")
COLUMN = TABLE.column("total_fees")
VALUES = ["3500.125", "3500.124", "-0.005", "-0.004", "9.995", "-9.995", "1.005", "-1250.115", "0.5", "12.5"]


def _expected() -> list[str]:
    return [str(decimal_text(v, COLUMN.decimals or 0)) for v in VALUES]


def _roundtrip(conn: Any, dialect: str, placeholder: str) -> list[str]:
    stored = []
    cursor = conn.cursor()
    for statement in ddl(TABLE, dialect):  # type: ignore[arg-type]
        cursor.execute(statement)
    for number, value in enumerate(VALUES):
        cursor.execute(f"INSERT INTO mdl_{TABLE.name} (zoho_registration_id, total_fees) "
                       f"VALUES ({placeholder}, {placeholder})", (f"R{number}", value))
        cursor.execute(f"SELECT total_fees FROM mdl_{TABLE.name} WHERE zoho_registration_id = {placeholder}",
                       (f"R{number}",))
        stored.append(str(cursor.fetchone()[0]))
    return stored


def test_mariadb_decimal_rounds_like_the_plugin(mariadb_conn: Any) -> None:
    assert _roundtrip(mariadb_conn, "mysql", "%s") == _expected()


def test_postgresql_numeric_rounds_like_the_plugin(postgres_conn: Any) -> None:
    assert _roundtrip(postgres_conn, "postgresql", "%s") == _expected()
