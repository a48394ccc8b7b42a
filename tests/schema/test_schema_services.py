"""The install.xml DDL on the databases Moodle really runs on: MariaDB and PostgreSQL.

Each test works inside a fresh, uniquely named database/schema (see conftest.py), creates
every table, writes and reads a row with Arabic text and an emoji, proves the unique key
holds, and drops the tables again.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from reconciler.schema import Table, ddl, load_schema

SCHEMA = load_schema()
Row = Callable[[Table, int], dict[str, Any]]

pytestmark = pytest.mark.services


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, Decimal):
        return Decimal(str(got)) == expected
    if isinstance(expected, bytes):
        return bytes(got) == expected
    return bool(expected == got)


def _exercise(conn: Any, sample_row: Row, integrity_error: type[Exception]) -> None:
    """Create, round-trip, check the unique key and drop every table on one connection.

    Both connections are in autocommit mode, so a refused INSERT leaves no aborted
    transaction behind and the next table's statements run normally.
    """
    cur = conn.cursor()
    for table in SCHEMA.tables.values():
        for statement in ddl(table, _dialect(conn), prefix="mdl_"):
            cur.execute(statement)
    for table in SCHEMA.tables.values():
        full = f"mdl_{table.name}"
        row = sample_row(table, 11)
        marks = ", ".join(["%s"] * len(row))  # pymysql and psycopg share the paramstyle
        cur.execute(f"INSERT INTO {full} ({', '.join(row)}) VALUES ({marks})", list(row.values()))
        cur.execute(f"SELECT {', '.join(row)} FROM {full}")
        got = dict(zip(row, cur.fetchone()))
        mismatched = {k: (row[k], got[k]) for k in row if not _same(row[k], got[k])}
        assert not mismatched, f"{full}: {mismatched}"
        if any(ix.unique for ix in table.indexes):
            duplicate = sample_row(table, 12) | {c: row[c] for c in table.key_columns}
            with pytest.raises(integrity_error):
                cur.execute(f"INSERT INTO {full} ({', '.join(duplicate)}) VALUES ({marks})", list(duplicate.values()))
    for table in SCHEMA.tables.values():
        cur.execute(f"DROP TABLE mdl_{table.name}")


def _dialect(conn: Any) -> str:
    return "postgresql" if type(conn).__module__.startswith("psycopg") else "mysql"


def test_every_table_works_on_mariadb(mariadb_conn: Any, sample_row: Row) -> None:
    import pymysql

    _exercise(mariadb_conn, sample_row, pymysql.err.IntegrityError)
    with mariadb_conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()


def test_mariadb_tables_are_innodb_utf8mb4(mariadb_conn: Any) -> None:
    table = SCHEMA.table("local_mzi_students")
    with mariadb_conn.cursor() as cur:
        for statement in ddl(table, "mysql"):
            cur.execute(statement)
        cur.execute(
            "SELECT engine, table_collation, table_comment FROM information_schema.tables"
            " WHERE table_schema = DATABASE() AND table_name = 'mdl_local_mzi_students'"
        )
        engine, collation, comment = cur.fetchone()
        assert (engine, collation) == ("InnoDB", "utf8mb4_unicode_ci")
        assert comment == table.comment
        cur.execute("SHOW INDEX FROM mdl_local_mzi_students WHERE Key_name = 'mdl_local_mzi_students_zohstuid_uix'")
        assert cur.fetchone()[1] == 0  # Non_unique = 0


def test_every_table_works_on_postgresql(postgres_conn: Any, sample_row: Row) -> None:
    import psycopg

    _exercise(postgres_conn, sample_row, psycopg.errors.UniqueViolation)
    remaining = postgres_conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchone()[0]
    assert remaining == 0


def test_postgresql_table_comment_and_unique_index(postgres_conn: Any) -> None:
    table = SCHEMA.table("local_mzi_installments")
    for statement in ddl(table, "postgresql"):
        postgres_conn.execute(statement)
    comment = postgres_conn.execute("SELECT obj_description('mdl_local_mzi_installments'::regclass, 'pg_class')").fetchone()[0]
    assert comment == table.comment
    indexdef = postgres_conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        " AND indexname = 'mdl_local_mzi_installments_zohregid_insnum_uix'"
    ).fetchone()[0]
    assert indexdef.startswith("CREATE UNIQUE INDEX") and "(zoho_registration_id, installment_number)" in indexdef
