"""Read Moodle XMLDB (``db/install.xml``) and derive everything else from it.

Why this module exists: the ``local_mzi_*`` schema lives in exactly one place, the
plugin's ``moodle_plugin/db/install.xml`` (the file Moodle itself installs). The Moodle
emulator's SQLite tables, the contract tests, the web-service parameter structures and
the spec validation all read it through :func:`load_schema`, so a column added to the
XML shows up everywhere and a column missing from it fails loudly everywhere.

Only the standard library is used: the file is small and trusted (it ships with the
package), and the reader must work inside the wheel with no extra dependency.

Three services:

- :func:`load_schema` / :func:`parse_schema` — XML to frozen :class:`Schema` objects;
- :func:`validate` — the XMLDB rules Moodle enforces at install time (name lengths,
  types, lengths, keys), so a broken install.xml is caught by the test suite instead
  of by a failed plugin upgrade on a production Moodle;
- :func:`ddl` — ``CREATE TABLE`` / ``CREATE INDEX`` for SQLite (the emulator),
  MySQL/MariaDB and PostgreSQL (the databases Moodle really runs on).
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Literal

from ..errors import MziError

__all__ = [
    "Column",
    "Dialect",
    "Index",
    "Schema",
    "SchemaError",
    "Table",
    "TYPES",
    "ddl",
    "default_schema_path",
    "index_name",
    "load_schema",
    "parse_schema",
    "schema_ddl",
    "validate",
]

Dialect = Literal["sqlite", "mysql", "postgresql"]

#: The XMLDB field types Moodle accepts in install.xml.
TYPES: tuple[str, ...] = ("int", "number", "float", "char", "text", "binary")

# Limits from Moodle's lib/xmldb (xmldb_table::NAME_MAX_LENGTH, xmldb_field::NAME_MAX_LENGTH,
# xmldb_field::CHAR_MAX_LENGTH, xmldb_field::INTEGER_MAX_LENGTH, xmldb_field::NUMBER_MAX_LENGTH).
TABLE_NAME_MAX = 28
FIELD_NAME_MAX = 30
CHAR_MAX = 1333
INT_MAX_LENGTH = 20
NUMBER_MAX_LENGTH = 38
#: PostgreSQL truncates identifiers beyond 63 bytes (MySQL allows 64): stay under both.
IDENTIFIER_MAX = 63

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Words Moodle's XMLDB checker refuses as table or field names because at least one of
# the databases Moodle supports reserves them (a curated union of Moodle's per-database
# lists in lib/ddl/*_sql_generator.php; only words plausible as column names).
RESERVED_WORDS: frozenset[str] = frozenset(
    """
    access add all alter analyse analyze and any array as asc authorization between
    binary both by case cast check column comment constraint create cross current
    current_date current_time current_timestamp current_user cursor database date
    decimal default delete desc distinct do drop else end except exists false fetch
    file float for foreign from full grant group having identity in index inner insert
    integer intersect interval into is join key keys left level like limit lock long
    match mode natural not null number of offset on only option or order outer plan
    primary public range read references rename resource revoke right row rows select
    session set size some start table then to trigger true uid union unique update
    usage use user using values varchar view when where with
    """.split()
)


class SchemaError(MziError):
    """install.xml cannot be read or parsed; the message names the file and the spot."""


# ------------------------------------------------------------------ model


@dataclass(frozen=True)
class Column:
    """One XMLDB ``FIELD``; attributes as written in the XML (``default`` unparsed)."""

    name: str
    type: str  # 'int' | 'number' | 'float' | 'char' | 'text' | 'binary'
    length: int | None
    decimals: int | None
    notnull: bool
    default: str | None
    sequence: bool
    comment: str


@dataclass(frozen=True)
class Index:
    """One XMLDB ``INDEX`` (or a unique/foreign ``KEY``, which Moodle backs with an index)."""

    name: str
    fields: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class Table:
    """One XMLDB ``TABLE``; columns and indexes in file order."""

    name: str
    comment: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...]
    primary: tuple[str, ...]

    def column(self, name: str) -> Column:
        """The column called ``name``; a :class:`SchemaError` names table and column if absent."""
        for column in self.columns:
            if column.name == name:
                return column
        raise SchemaError(f"table {self.name} in install.xml has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The sync key: the fields of the first UNIQUE index; ``()`` when there is none.

        One exception, written down because it is deliberate: a table whose key may be
        NULL cannot carry a UNIQUE index portably (Moodle supports SQL Server, which
        allows one NULL per unique index), so ``local_mzi_requests`` indexes
        ``zoho_request_id`` without UNIQUE. For such a table the key is the plain index
        on exactly ``zoho_<singular table name>_id`` (``local_mzi_requests`` →
        ``zoho_request_id``). Tables without either (the outbox, templates) have no key.
        """
        for index in self.indexes:
            if index.unique:
                return index.fields
        conventional = f"zoho_{_singular(self.name)}_id"
        for index in self.indexes:
            if index.fields == (conventional,):
                return index.fields
        return ()


@dataclass(frozen=True, eq=False)
class Schema:
    """Every table of one install.xml, by name, in file order.

    ``eq=False`` keeps instances hashable (by identity) although ``tables`` is a dict,
    so callers may memoise on a schema.
    """

    tables: dict[str, Table]
    path: Path
    xmldb_path: str = ""
    version: str = ""

    def table(self, name: str) -> Table:
        """The table called ``name``; a :class:`SchemaError` lists the known tables if absent."""
        try:
            return self.tables[name]
        except KeyError:
            known = ", ".join(self.tables) or "none"
            raise SchemaError(f"{self.path} has no table {name!r} (tables: {known})") from None

    @property
    def component(self) -> str:
        """Frankenstyle component from XMLDB PATH (``local/mzi/db`` → ``local_mzi``); '' if unknown."""
        parts = [p for p in self.xmldb_path.strip("/").split("/") if p]
        if len(parts) == 3 and parts[2] == "db":
            return f"{parts[0]}_{parts[1]}"
        return ""


def _singular(table_name: str) -> str:
    """``local_mzi_requests`` → ``request``: the noun the Zoho key column is named after."""
    noun = table_name.split("_", 2)[-1] if table_name.count("_") >= 2 else table_name
    return noun[:-1] if noun.endswith("s") else noun


# ------------------------------------------------------------------ loading


def default_schema_path() -> Path:
    """The repo's install.xml when running from a checkout, else the wheel's bundled copy.

    The checkout copy wins so that an edit to the plugin is seen at once without a
    reinstall; pyproject force-includes the same file as ``reconciler/_bundled/install.xml``.
    """
    here = Path(__file__).resolve()
    repo_copy = here.parents[2] / "moodle_plugin" / "db" / "install.xml"
    if repo_copy.is_file():
        return repo_copy
    return here.parents[1] / "_bundled" / "install.xml"


def load_schema(path: Path | None = None) -> Schema:
    """Parse ``path`` (default: :func:`default_schema_path`), cached per file version.

    The cache key includes the file's mtime and size, so a test or a long-running
    server that rewrites the file sees the new schema instead of a stale one.
    """
    resolved = Path(path if path is not None else default_schema_path()).resolve()
    try:
        stat = resolved.stat()
    except OSError as exc:
        raise SchemaError(f"cannot read the XMLDB schema {resolved}: {exc.strerror or exc}") from None
    return _load_cached(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime_ns: int, size: int) -> Schema:
    del mtime_ns, size  # part of the cache key only
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"cannot read the XMLDB schema {path}: {exc.strerror or exc}") from None
    return parse_schema(data, path)


def parse_schema(data: str | bytes, path: Path | str = "<string>") -> Schema:
    """Build a :class:`Schema` from XMLDB text; ``path`` only labels error messages.

    Structural problems (malformed XML, a FIELD without NAME, LENGTH that is not a
    number) raise :class:`SchemaError` here. Rule violations that still parse (a name
    too long, a char without LENGTH) are left to :func:`validate`, which reports all
    of them at once.
    """
    label = Path(path)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        raise SchemaError(f"{label}:{line}:{column}: malformed XML: {exc}") from None
    if root.tag != "XMLDB":
        raise SchemaError(f"{label}: root element is <{root.tag}>, expected <XMLDB>")
    tables: dict[str, Table] = {}
    tables_el = root.find("TABLES")
    for number, element in enumerate(tables_el.findall("TABLE") if tables_el is not None else [], start=1):
        table = _parse_table(element, label, number)
        if table.name in tables:
            raise SchemaError(f"{label}: table {table.name} is defined twice")
        tables[table.name] = table
    return Schema(tables=tables, path=label, xmldb_path=root.get("PATH", ""), version=root.get("VERSION", ""))


def _required(element: ET.Element, attribute: str, where: str) -> str:
    value = element.get(attribute)
    if value is None or value.strip() == "":
        raise SchemaError(f"{where}: <{element.tag}> has no {attribute} attribute")
    return value.strip()


def _optional_int(element: ET.Element, attribute: str, where: str) -> int | None:
    raw = element.get(attribute)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise SchemaError(f"{where}: {attribute}={raw!r} is not a whole number") from None


def _bool(element: ET.Element, attribute: str, where: str) -> bool:
    raw = (element.get(attribute) or "false").strip().lower()
    if raw not in ("true", "false"):
        raise SchemaError(f"{where}: {attribute}={raw!r} must be true or false")
    return raw == "true"


def _field_list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_table(element: ET.Element, label: Path, number: int) -> Table:
    name = _required(element, "NAME", f"{label}: table #{number}")
    where = f"{label}: table {name}"
    columns = tuple(_parse_field(f, where) for f in element.findall("FIELDS/FIELD"))
    primary: tuple[str, ...] = ()
    indexes: list[Index] = []
    for key in element.findall("KEYS/KEY"):
        key_name = _required(key, "NAME", f"{where} key")
        kind = _required(key, "TYPE", f"{where} key {key_name}")
        fields = _field_list(_required(key, "FIELDS", f"{where} key {key_name}"))
        if kind == "primary":
            primary = fields
        elif kind in ("unique", "foreign-unique"):
            indexes.append(Index(key_name, fields, True))
        elif kind == "foreign":
            indexes.append(Index(key_name, fields, False))
        else:
            raise SchemaError(f"{where} key {key_name}: TYPE={kind!r} is not primary, unique, foreign or foreign-unique")
    for index in element.findall("INDEXES/INDEX"):
        index_name_ = _required(index, "NAME", f"{where} index")
        fields = _field_list(_required(index, "FIELDS", f"{where} index {index_name_}"))
        indexes.append(Index(index_name_, fields, _bool(index, "UNIQUE", f"{where} index {index_name_}")))
    return Table(name, element.get("COMMENT", "").strip(), columns, tuple(indexes), primary)


def _parse_field(element: ET.Element, where: str) -> Column:
    name = _required(element, "NAME", f"{where} field")
    here = f"{where} field {name}"
    return Column(
        name=name,
        type=_required(element, "TYPE", here),
        length=_optional_int(element, "LENGTH", here),
        decimals=_optional_int(element, "DECIMALS", here),
        notnull=_bool(element, "NOTNULL", here),
        default=element.get("DEFAULT"),
        sequence=_bool(element, "SEQUENCE", here),
        comment=element.get("COMMENT", "").strip(),
    )


# ------------------------------------------------------------------ validation


def validate(schema: Schema) -> list[str]:
    """Every Moodle XMLDB rule ``schema`` breaks, one message each; ``[]`` when clean.

    Messages start with ``table`` or ``table.field`` so they can be grepped and point
    straight at the line to fix. The rules are the ones Moodle's installer and XMLDB
    editor enforce, plus the project's own: every table and field carries a COMMENT.
    """
    problems: list[str] = []
    if not schema.tables:
        problems.append(f"{schema.path}: no tables")
    for table in schema.tables.values():
        problems += _check_table_name(table, schema.component)
        problems += _check_columns(table)
        problems += _check_primary(table)
        problems += _check_indexes(table)
    return problems


def _check_name(name: str, what: str, limit: int, where: str) -> list[str]:
    problems: list[str] = []
    if len(name) > limit:
        problems.append(f"{where}: {what} name is {len(name)} characters, Moodle allows at most {limit}")
    if not _NAME_RE.match(name):
        problems.append(f"{where}: {what} name {name!r} must be lowercase a-z, 0-9 and _ starting with a letter")
    if name in RESERVED_WORDS:
        problems.append(f"{where}: {what} name {name!r} is a reserved word in a database Moodle supports")
    return problems


def _check_table_name(table: Table, component: str) -> list[str]:
    problems = _check_name(table.name, "table", TABLE_NAME_MAX, table.name)
    if component and table.name != component and not table.name.startswith(component + "_"):
        problems.append(f"{table.name}: table name must start with the component name {component}_")
    if not table.comment:
        problems.append(f"{table.name}: table has no COMMENT")
    if not table.columns:
        problems.append(f"{table.name}: table has no fields")
    return problems


def _check_columns(table: Table) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for column in table.columns:
        where = f"{table.name}.{column.name}"
        if column.name in seen:
            problems.append(f"{where}: field is defined twice")
        seen.add(column.name)
        problems += _check_name(column.name, "field", FIELD_NAME_MAX, where)
        if not column.comment:
            problems.append(f"{where}: field has no COMMENT")
        problems += _check_type(column, where)
        problems += _check_default(column, where)
    sequences = [c.name for c in table.columns if c.sequence]
    if len(sequences) > 1:
        problems.append(f"{table.name}: more than one SEQUENCE field ({', '.join(sequences)})")
    return problems


def _check_type(column: Column, where: str) -> list[str]:
    """Type, LENGTH and DECIMALS as Moodle's xmldb_field::validateDefinition wants them."""
    kind, length, decimals = column.type, column.length, column.decimals
    if kind not in TYPES:
        return [f"{where}: type {kind!r} is not one of {', '.join(TYPES)}"]
    problems: list[str] = []
    if kind == "int" and (length is None or not 1 <= length <= INT_MAX_LENGTH):
        problems.append(f"{where}: int needs LENGTH between 1 and {INT_MAX_LENGTH}")
    if kind == "number":
        if length is None or not 1 <= length <= NUMBER_MAX_LENGTH:
            problems.append(f"{where}: number needs LENGTH between 1 and {NUMBER_MAX_LENGTH}")
        if decimals is None:
            problems.append(f"{where}: number needs DECIMALS")
        elif length is not None and not 0 <= decimals <= length:
            problems.append(f"{where}: DECIMALS {decimals} must be between 0 and LENGTH {length}")
    if kind == "float" and length is not None and decimals is not None and not 0 <= decimals <= length:
        problems.append(f"{where}: DECIMALS {decimals} must be between 0 and LENGTH {length}")
    if kind == "char" and (length is None or not 1 <= length <= CHAR_MAX):
        problems.append(f"{where}: char needs LENGTH between 1 and {CHAR_MAX}")
    if column.sequence and kind != "int":
        problems.append(f"{where}: only int fields can be SEQUENCE")
    if column.sequence and not column.notnull:
        problems.append(f"{where}: a SEQUENCE field must be NOTNULL")
    return problems


def _check_default(column: Column, where: str) -> list[str]:
    value = column.default
    if value is None:
        return []
    if column.sequence:
        return [f"{where}: a SEQUENCE field cannot have a DEFAULT"]
    if column.type in ("text", "binary"):
        return [f"{where}: {column.type} fields cannot have a DEFAULT"]
    if column.type == "int" and not re.fullmatch(r"-?\d+", value):
        return [f"{where}: DEFAULT {value!r} is not an integer"]
    if column.type in ("number", "float"):
        try:
            Decimal(value)
        except InvalidOperation:
            return [f"{where}: DEFAULT {value!r} is not a number"]
    if column.type == "char" and column.length is not None and len(value) > column.length:
        return [f"{where}: DEFAULT is {len(value)} characters, longer than LENGTH {column.length}"]
    return []


def _check_primary(table: Table) -> list[str]:
    """Moodle's DML needs an ``id`` int SEQUENCE primary key in every table."""
    problems: list[str] = []
    names = set(table.column_names)
    if "id" not in names:
        problems.append(f"{table.name}: no id field (Moodle needs id int(10) SEQUENCE)")
    elif not (table.column("id").type == "int" and table.column("id").sequence):
        problems.append(f"{table.name}.id: must be int with SEQUENCE=true")
    if table.primary != ("id",):
        got = ", ".join(table.primary) or "none"
        problems.append(f"{table.name}: primary key must be (id), found ({got})")
    for column in table.columns:
        if column.sequence and column.name not in table.primary:
            problems.append(f"{table.name}.{column.name}: SEQUENCE field is not the primary key")
    return problems


def _check_indexes(table: Table) -> list[str]:
    problems: list[str] = []
    columns = {c.name: c for c in table.columns}
    names: set[str] = set()
    field_sets: dict[tuple[str, ...], str] = {tuple(table.primary): "primary"}
    for index in table.indexes:
        where = f"{table.name}: index {index.name}"
        if index.name in names:
            problems.append(f"{where}: index name is used twice")
        names.add(index.name)
        if not _NAME_RE.match(index.name):
            problems.append(f"{where}: index name must be lowercase a-z, 0-9 and _")
        if not index.fields:
            problems.append(f"{where}: index has no fields")
        for field in index.fields:
            column = columns.get(field)
            if column is None:
                problems.append(f"{where}: names missing field {field}")
            elif column.type in ("text", "binary"):
                problems.append(f"{where}: cannot index {column.type} field {field}")
        if index.fields in field_sets:
            problems.append(f"{where}: same fields as {field_sets[index.fields]}")
        field_sets.setdefault(index.fields, index.name)
    return problems


# ------------------------------------------------------------------ DDL


def schema_ddl(schema: Schema, dialect: Dialect, prefix: str = "mdl_") -> list[str]:
    """:func:`ddl` for every table of ``schema``, in file order."""
    return [statement for table in schema.tables.values() for statement in ddl(table, dialect, prefix)]


def ddl(table: Table, dialect: Dialect, prefix: str = "mdl_") -> list[str]:
    """``CREATE TABLE`` then one ``CREATE [UNIQUE] INDEX`` per index, for ``dialect``.

    PostgreSQL gets a trailing ``COMMENT ON TABLE`` (MySQL carries the comment inline,
    SQLite has no comments), so ``statements[0]`` is always the CREATE TABLE.
    Identifiers are not quoted, like Moodle's own generators: :func:`validate` keeps
    names off every reserved-word list instead.
    """
    if dialect not in ("sqlite", "mysql", "postgresql"):
        raise SchemaError(f"unknown SQL dialect {dialect!r}: use sqlite, mysql or postgresql")
    full = prefix + table.name
    parts = [_column_sql(column, dialect) for column in table.columns]
    inline_pk = dialect == "sqlite" and any(c.sequence and (c.name,) == table.primary for c in table.columns)
    if table.primary and not inline_pk:
        parts.append(f"PRIMARY KEY ({', '.join(table.primary)})")
    body = ",\n    ".join(parts)
    create = f"CREATE TABLE {full} (\n    {body}\n)"
    if dialect == "mysql":
        create += (
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC"
            f" COMMENT={_literal(table.comment[:2048], dialect)}"
        )
    statements = [create]
    for index, name in zip(table.indexes, index_names(table, prefix)):
        unique = "UNIQUE " if index.unique else ""
        statements.append(f"CREATE {unique}INDEX {name} ON {full} ({', '.join(index.fields)})")
    if dialect == "postgresql" and table.comment:
        statements.append(f"COMMENT ON TABLE {full} IS {_literal(table.comment, dialect)}")
    return statements


def _column_sql(column: Column, dialect: Dialect) -> str:
    if column.sequence:
        return {
            "sqlite": f"{column.name} INTEGER PRIMARY KEY AUTOINCREMENT",
            "mysql": f"{column.name} BIGINT({column.length or 10}) NOT NULL AUTO_INCREMENT",
            "postgresql": f"{column.name} BIGSERIAL",
        }[dialect]
    sql = f"{column.name} {_type_sql(column, dialect)}"
    if column.notnull:
        sql += " NOT NULL"
    if column.default is not None:
        sql += f" DEFAULT {_default_sql(column, dialect)}"
    return sql


def _type_sql(column: Column, dialect: Dialect) -> str:
    """XMLDB type → column type, following Moodle's own per-database generators."""
    kind, length, decimals = column.type, column.length, column.decimals
    if dialect == "sqlite":
        return {"int": "INTEGER", "number": "NUMERIC", "float": "REAL", "char": "TEXT", "text": "TEXT", "binary": "BLOB"}[kind]
    if kind == "int":
        return _int_sql(length or 10, dialect)
    if kind == "number":
        return f"{'DECIMAL' if dialect == 'mysql' else 'NUMERIC'}({length or 10},{decimals or 0})"
    if kind == "float":
        return "DOUBLE" if dialect == "mysql" else "DOUBLE PRECISION"
    if kind == "char":
        return f"VARCHAR({length or 255})"
    if kind == "text":
        return "LONGTEXT" if dialect == "mysql" else "TEXT"
    if kind == "binary":
        return "LONGBLOB" if dialect == "mysql" else "BYTEA"
    raise SchemaError(f"column {column.name}: type {kind!r} has no SQL mapping (see validate())")


def _int_sql(length: int, dialect: Dialect) -> str:
    """The smallest integer type holding ``length`` decimal digits, as Moodle picks it."""
    if dialect == "mysql":
        for limit, name in ((2, "TINYINT"), (4, "SMALLINT"), (6, "MEDIUMINT"), (9, "INT")):
            if length <= limit:
                return f"{name}({length})"
        return f"BIGINT({length})"
    if length <= 4:
        return "SMALLINT"
    return "INTEGER" if length <= 9 else "BIGINT"


def _default_sql(column: Column, dialect: Dialect) -> str:
    value = column.default or ""
    if column.type == "int":
        return str(int(value))
    if column.type in ("number", "float"):
        return str(Decimal(value))
    return _literal(value, dialect)


def _literal(text: str, dialect: Dialect) -> str:
    """A single-quoted SQL string literal (MySQL also treats backslash as an escape)."""
    escaped = text.replace("'", "''")
    if dialect == "mysql":
        escaped = escaped.replace("\\", "\\\\")
    return f"'{escaped}'"


def _abbreviate(field: str) -> str:
    """``zoho_student_id`` → ``zohstuid`` (three letters a word), ``timemodified`` → ``timemodi``.

    Short enough that a two-field index on a 28-character table still fits 63
    characters, long enough that a reader recognises the fields.
    """
    words = [word for word in field.split("_") if word]
    if len(words) == 1:
        return words[0][:8]
    return "".join(word[:3] for word in words)


def index_name(prefix: str, table: str, fields: tuple[str, ...], unique: bool) -> str:
    """``<prefix><table>_<fields abbreviated>_ix|uix``, at most 63 characters.

    Deterministic (the same index always gets the same name, so migrations can find
    it) and unique across a database because the table name is part of it. A name that
    would be too long keeps its head and ends with a short hash of the full name.
    """
    suffix = "uix" if unique else "ix"
    name = f"{prefix}{table}_{'_'.join(_abbreviate(f) for f in fields)}_{suffix}"
    if len(name) <= IDENTIFIER_MAX:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name[: IDENTIFIER_MAX - len(digest) - len(suffix) - 2].rstrip("_")
    return f"{head}_{digest}_{suffix}"


def index_names(table: Table, prefix: str = "mdl_") -> list[str]:
    """The SQL name of each index of ``table``, in order, disambiguated within the table."""
    names: list[str] = []
    for index in table.indexes:
        name = index_name(prefix, table.name, index.fields, index.unique)
        counter = 2
        while name in names:
            name = index_name(prefix, table.name, (*index.fields, str(counter)), index.unique)
            counter += 1
        names.append(name)
    return names
