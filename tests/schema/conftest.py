"""Fixtures for the schema tests: real database connections and sample rows.

``mariadb_conn`` and ``postgres_conn`` each give a connection inside a freshly created,
uniquely named database (MariaDB) or schema (PostgreSQL) that is dropped afterwards, so
parallel runs and leftovers from a crashed run never collide. When a server is not
reachable the test skips with the reason, unless ``MZI_REQUIRE_SERVICES=1`` (CI), where
a missing service must be a failure rather than a silently green run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from needs import skip_or_fail
from reconciler.schema import Table

MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
#: Tried in order: a distribution install usually trusts ``postgres``, a container ``root``.
POSTGRES_USERS = ("root", "postgres")


def unique_name(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def mariadb_conn() -> Iterator[Any]:
    """A pymysql connection (autocommit) whose current database is new and empty."""
    pymysql = pytest.importorskip("pymysql")
    try:
        conn = pymysql.connect(**MARIADB, database="test", connect_timeout=3, autocommit=True, charset="utf8mb4")
    except pymysql.MySQLError as exc:
        skip_or_fail(f"MariaDB not reachable at {MARIADB['host']}:{MARIADB['port']}: {exc}")
    database = unique_name("mzi_schema")
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE {database}")
        yield conn
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {database}")
        conn.close()


def _postgres_connect() -> Any:
    psycopg = pytest.importorskip("psycopg")
    errors: list[str] = []
    for user in POSTGRES_USERS:
        try:
            return psycopg.connect(
                host=POSTGRES_HOST, port=POSTGRES_PORT, user=user, dbname="test", connect_timeout=3, autocommit=True
            )
        except psycopg.OperationalError as exc:
            errors.append(f"user {user}: {str(exc).strip()}")
    skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}: {'; '.join(errors)}")
    raise AssertionError("unreachable")  # skip_or_fail always raises


@pytest.fixture
def postgres_conn() -> Iterator[Any]:
    """A psycopg connection (autocommit) whose search_path is a new, empty schema."""
    conn = _postgres_connect()
    schema = unique_name("mzi_schema")
    try:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"SET search_path TO {schema}")
        yield conn
    finally:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.close()


def sample_value(table: Table, column_name: str, seed: int) -> Any:
    """A value that fits the column and differs per ``seed`` (so keys stay unique).

    Text values carry Arabic and an emoji: the school's data is bilingual and MySQL's
    3-byte ``utf8`` would mangle the emoji, which is why the DDL says utf8mb4.
    """
    column = table.column(column_name)
    if column.type == "int":
        return seed % (10 ** (column.length or 10))
    if column.type == "number":
        whole_digits = (column.length or 10) - (column.decimals or 0)
        return Decimal(seed % 10 ** min(whole_digits, 4)) + Decimal("0.5").quantize(Decimal(1).scaleb(-(column.decimals or 0)))
    if column.type == "float":
        return seed + 0.25
    if column.type == "text":
        return f"نص {column.name} {seed} 🎓"
    if column.type == "binary":
        return bytes([seed % 256, 0, 255])
    text = f"{seed}-{column.name}"
    return text[: column.length or 255]


@pytest.fixture
def sample_row() -> Callable[[Table, int], dict[str, Any]]:
    """``sample_row(table, seed)`` → a value for every column except the sequence id."""

    def build(table: Table, seed: int) -> dict[str, Any]:
        return {c.name: sample_value(table, c.name, seed) for c in table.columns if not c.sequence}

    return build
