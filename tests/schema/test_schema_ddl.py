"""DDL derived from install.xml: SQLite runs it for real; names and types per dialect."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from reconciler.schema import Column, Index, SchemaError, Table, ddl, load_schema, schema_ddl
from reconciler.schema.xmldb import IDENTIFIER_MAX, index_names

SCHEMA = load_schema()
TABLES = sorted(SCHEMA.tables)
Row = Callable[[Table, int], dict[str, Any]]


@pytest.fixture
def sqlite_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for statement in schema_ddl(SCHEMA, "sqlite"):
        conn.execute(statement)
    return conn


def _insert(conn: sqlite3.Connection, table: Table, row: dict[str, Any]) -> int:
    names = list(row)
    values = [str(v) if isinstance(v, Decimal) else v for v in row.values()]
    cur = conn.execute(
        f"INSERT INTO mdl_{table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, Decimal):
        return Decimal(str(got)) == expected
    return bool(expected == got)


def test_sqlite_creates_every_table_and_index(sqlite_db: sqlite3.Connection) -> None:
    names = {r[0] for r in sqlite_db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {f"mdl_{t}" for t in TABLES} <= names
    index_count = sqlite_db.execute("SELECT count(*) FROM sqlite_master WHERE type='index' AND sql IS NOT NULL").fetchone()[0]
    assert index_count == sum(len(t.indexes) for t in SCHEMA.tables.values())


@pytest.mark.parametrize("name", TABLES)
def test_sqlite_insert_select_round_trips(sqlite_db: sqlite3.Connection, sample_row: Row, name: str) -> None:
    table = SCHEMA.table(name)
    row = sample_row(table, 7)
    rowid = _insert(sqlite_db, table, row)
    cur = sqlite_db.execute(f"SELECT {', '.join(row)} FROM mdl_{name} WHERE id = ?", (rowid,))
    got = dict(zip(row, cur.fetchone()))
    assert all(_same(row[k], got[k]) for k in row), (row, got)


@pytest.mark.parametrize("name", [n for n in TABLES if any(ix.unique for ix in SCHEMA.table(n).indexes)])
def test_sqlite_unique_key_refuses_a_duplicate(sqlite_db: sqlite3.Connection, sample_row: Row, name: str) -> None:
    table = SCHEMA.table(name)
    first = sample_row(table, 1)
    _insert(sqlite_db, table, first)
    duplicate = sample_row(table, 2) | {c: first[c] for c in table.key_columns}
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        _insert(sqlite_db, table, duplicate)
    _insert(sqlite_db, table, sample_row(table, 3))  # a different key is fine


def test_sqlite_ids_are_assigned_in_sequence(sqlite_db: sqlite3.Connection, sample_row: Row) -> None:
    table = SCHEMA.table("local_mzi_students")
    ids = [_insert(sqlite_db, table, sample_row(table, seed)) for seed in (1, 2, 3)]
    assert ids == [1, 2, 3]


def test_sqlite_key_column_is_not_null(sqlite_db: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        sqlite_db.execute("INSERT INTO mdl_local_mzi_students (city) VALUES ('Amman')")


def test_sqlite_defaults_apply(sqlite_db: sqlite3.Connection) -> None:
    sqlite_db.execute("INSERT INTO mdl_local_mzi_outbox (eventname) VALUES ('e')")
    row = sqlite_db.execute("SELECT status, attempts, nextattempt, timecreated FROM mdl_local_mzi_outbox").fetchone()
    assert row == ("pending", 0, 0, 0)


def test_sqlite_requests_allow_many_rows_without_zoho_id(sqlite_db: sqlite3.Connection) -> None:
    for _ in range(2):
        sqlite_db.execute("INSERT INTO mdl_local_mzi_requests (request_type, origin) VALUES ('Student Card', 'moodle')")
    assert sqlite_db.execute("SELECT count(*) FROM mdl_local_mzi_requests").fetchone()[0] == 2


def test_prefix_is_applied_to_table_and_index_names() -> None:
    statements = ddl(SCHEMA.table("local_mzi_students"), "sqlite", prefix="t1_")
    assert statements[0].startswith("CREATE TABLE t1_local_mzi_students (")
    assert all(" ON t1_local_mzi_students " in s for s in statements[1:])
    assert "CREATE UNIQUE INDEX t1_local_mzi_students_zohstuid_uix ON" in statements[1]


@pytest.mark.parametrize(
    ("dialect", "fragments"),
    [
        ("sqlite", ["id INTEGER PRIMARY KEY AUTOINCREMENT", "amount NUMERIC", "status TEXT", "timecreated INTEGER NOT NULL DEFAULT 0"]),
        ("mysql", ["id BIGINT(10) NOT NULL AUTO_INCREMENT", "amount DECIMAL(12,2)", "status VARCHAR(50)",
                   "installment_number MEDIUMINT(5) NOT NULL", "PRIMARY KEY (id)", "ENGINE=InnoDB", "utf8mb4"]),
        ("postgresql", ["id BIGSERIAL", "amount NUMERIC(12,2)", "status VARCHAR(50)", "installment_number INTEGER NOT NULL",
                        "timecreated BIGINT NOT NULL DEFAULT 0", "PRIMARY KEY (id)"]),
    ],
)
def test_type_mapping_per_dialect(dialect: str, fragments: list[str]) -> None:
    create = ddl(SCHEMA.table("local_mzi_installments"), dialect)[0]  # type: ignore[arg-type]
    for fragment in fragments:
        assert fragment in create, (fragment, create)


def test_text_maps_to_longtext_in_mysql_and_text_in_postgresql() -> None:
    table = SCHEMA.table("local_mzi_students")
    assert "address LONGTEXT" in ddl(table, "mysql")[0]
    assert "address TEXT" in ddl(table, "postgresql")[0]


def test_string_defaults_and_comments_are_escaped() -> None:
    table = Table(
        "local_mzi_quotes", "it's a \\ test",
        (Column("id", "int", 10, None, True, None, True, "id"),
         Column("label", "char", 20, None, True, "o'k", False, "c")),
        (), ("id",),
    )
    assert "label VARCHAR(20) NOT NULL DEFAULT 'o''k'" in ddl(table, "postgresql")[0]
    assert "COMMENT='it''s a \\\\ test'" in ddl(table, "mysql")[0]
    assert ddl(table, "postgresql")[-1] == "COMMENT ON TABLE mdl_local_mzi_quotes IS 'it''s a \\ test'"
    conn = sqlite3.connect(":memory:")
    for statement in ddl(table, "sqlite"):
        conn.execute(statement)
    conn.execute("INSERT INTO mdl_local_mzi_quotes DEFAULT VALUES")
    assert conn.execute("SELECT label FROM mdl_local_mzi_quotes").fetchone() == ("o'k",)


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(SchemaError, match="unknown SQL dialect 'oracle'"):
        ddl(SCHEMA.table("local_mzi_students"), "oracle")  # type: ignore[arg-type]


def test_index_names_are_unique_across_the_schema_and_fit_postgres() -> None:
    names = [n for t in SCHEMA.tables.values() for n in index_names(t, "mdl_")]
    assert len(names) == len(set(names))
    assert max(map(len, names)) <= IDENTIFIER_MAX


def test_long_index_names_are_shortened_deterministically() -> None:
    long_fields = ("a_very_long_field_name_number_one", "a_very_long_field_name_number_two", "yet_another_long_field_nm")
    columns = (Column("id", "int", 10, None, True, None, True, "id"),) + tuple(
        Column(f, "char", 10, None, False, None, False, "c") for f in long_fields
    )
    table = Table("local_mzi_" + "x" * 18, "t", columns, (Index("k", long_fields, True),), ("id",))
    first = index_names(table, "moodle_prod_")
    assert first == index_names(table, "moodle_prod_")
    assert len(first[0]) <= IDENTIFIER_MAX and first[0].endswith("_uix")
    assert first[0].startswith("moodle_prod_local_mzi_xxxx")


def test_indexes_with_the_same_abbreviation_get_distinct_names() -> None:
    columns = (
        Column("id", "int", 10, None, True, None, True, "id"),
        Column("zoho_student_id", "char", 32, None, False, None, False, "c"),
        Column("zoho_studio_id", "char", 32, None, False, None, False, "c"),
    )
    table = Table("local_mzi_x", "t", columns, (Index("a", ("zoho_student_id",), False), Index("b", ("zoho_studio_id",), False)), ("id",))
    first, second = index_names(table)
    assert first != second
    conn = sqlite3.connect(":memory:")
    for statement in ddl(table, "sqlite"):
        conn.execute(statement)
