"""The real moodle_plugin/db/install.xml: valid XMLDB, and the shape the rest of mzi relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.schema import Schema, SchemaError, Table, default_schema_path, load_schema, validate

ROOT = Path(__file__).resolve().parents[2]
INSTALL_XML = ROOT / "moodle_plugin" / "db" / "install.xml"
WEBSERVICES_DOC = ROOT / "docs" / "moodle-webservices.md"

MIRROR_KEYS = {
    "local_mzi_students": ("zoho_student_id",),
    "local_mzi_teachers": ("zoho_teacher_id",),
    "local_mzi_programs": ("zoho_program_id",),
    "local_mzi_units": ("zoho_unit_id",),
    "local_mzi_registrations": ("zoho_registration_id",),
    "local_mzi_installments": ("zoho_registration_id", "installment_number"),
    "local_mzi_payments": ("zoho_payment_id",),
    "local_mzi_classes": ("zoho_class_id",),
    "local_mzi_enrollments": ("zoho_enrollment_id",),
    "local_mzi_grades": ("zoho_grade_id",),
    "local_mzi_requests": ("zoho_request_id",),
}
PLUGIN_TABLES = ("local_mzi_outbox", "local_mzi_sync_status", "local_mzi_request_windows", "local_mzi_btec_templates")
MIRROR_STAMPS_AND_ID = {"id", "timecreated", "timemodified"}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema(INSTALL_XML)


def _mirror_doc_names() -> list[str]:
    """The mirror table list the web-service doc promises: "(`students`, `teachers`, …)"."""
    text = WEBSERVICES_DOC.read_text(encoding="utf-8")
    match = re.search(r"For every mirror table `local_mzi_<name>`.*?\((.*?)\)", text, re.S)
    assert match, "docs/moodle-webservices.md no longer lists the mirror tables where this test looks"
    return [f"local_mzi_{name}" for name in re.findall(r"`([a-z_]+)`", match.group(1))]


def _doc_table_names() -> set[str]:
    """Every ``local_mzi_<table>`` the doc names, minus web-service function names."""
    text = WEBSERVICES_DOC.read_text(encoding="utf-8")
    functions = re.compile(r"local_mzi_(upsert|delete|get|ensure|set|resolve|retry|push|record|submit)_")
    return {n for n in re.findall(r"local_mzi_[a-z_]+", text) if not functions.match(n) and not n.endswith("_")}


def test_default_schema_path_is_the_plugin_install_xml_in_a_checkout() -> None:
    assert default_schema_path() == INSTALL_XML.resolve()
    assert load_schema() is load_schema(INSTALL_XML)


def test_install_xml_passes_every_xmldb_rule(schema: Schema) -> None:
    assert validate(schema) == []


def test_install_xml_header_is_moodle_xmldb_without_previous_next() -> None:
    text = INSTALL_XML.read_text(encoding="utf-8")
    assert '<XMLDB PATH="local/mzi/db" VERSION="20261123"' in text
    assert 'xsi:noNamespaceSchemaLocation="../../../lib/xmldb/xmldb.xsd"' in text
    assert "PREVIOUS=" not in text and "NEXT=" not in text


def test_schema_records_component_and_version(schema: Schema) -> None:
    assert schema.component == "local_mzi"
    assert schema.version == "20261123"


def test_all_mirror_and_plugin_tables_exist(schema: Schema) -> None:
    assert set(schema.tables) == set(MIRROR_KEYS) | set(PLUGIN_TABLES)


def test_tables_named_in_the_webservice_doc_exist(schema: Schema) -> None:
    mirrors = _mirror_doc_names()
    assert len(mirrors) == 11
    missing = sorted((set(mirrors) | _doc_table_names()) - set(schema.tables))
    assert not missing, f"docs/moodle-webservices.md names tables install.xml lacks: {missing}"


def test_soft_delete_columns_in_the_webservice_doc_exist(schema: Schema) -> None:
    """The doc's delete-policy table names a column per mirror table; each must be real."""
    text = WEBSERVICES_DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\s*\|\s*([a-z]+)\s*\|\s*`([a-z_]+)` ←", text, re.M)
    assert len(rows) >= 9
    for name, column in rows:
        schema.table(f"local_mzi_{name}").column(column)


@pytest.mark.parametrize("name", sorted(MIRROR_KEYS) + list(PLUGIN_TABLES))
def test_every_table_has_sequence_id_primary_key_and_timemodified(schema: Schema, name: str) -> None:
    table = schema.table(name)
    id_column = table.column("id")
    assert (id_column.type, id_column.length, id_column.notnull, id_column.sequence) == ("int", 10, True, True)
    assert table.primary == ("id",)
    stamp = table.column("timemodified")
    assert (stamp.type, stamp.notnull, stamp.default) == ("int", True, "0")


@pytest.mark.parametrize("name", sorted(MIRROR_KEYS))
def test_mirror_table_key_is_its_zoho_id(schema: Schema, name: str) -> None:
    table = schema.table(name)
    assert table.key_columns == MIRROR_KEYS[name]
    assert table.key_columns[0].startswith("zoho_") and table.key_columns[0].endswith("_id")


@pytest.mark.parametrize("name", sorted(set(MIRROR_KEYS) - {"local_mzi_requests"}))
def test_mirror_table_key_is_backed_by_a_unique_index_and_not_null(schema: Schema, name: str) -> None:
    table = schema.table(name)
    assert any(ix.unique and ix.fields == MIRROR_KEYS[name] for ix in table.indexes)
    assert all(table.column(c).notnull for c in table.key_columns)


def test_requests_key_is_nullable_and_indexed_without_unique(schema: Schema) -> None:
    """Moodle-created requests have no Zoho id until sent; SQL Server allows one NULL per unique index."""
    table = schema.table("local_mzi_requests")
    assert not table.column("zoho_request_id").notnull
    assert [ix.unique for ix in table.indexes if ix.fields == ("zoho_request_id",)] == [False]
    assert not any(ix.unique for ix in table.indexes)


@pytest.mark.parametrize("name", sorted(MIRROR_KEYS))
def test_mirror_columns_are_nullable_except_key_and_stamps(schema: Schema, name: str) -> None:
    table = schema.table(name)
    not_null = {c.name for c in table.columns if c.notnull}
    expected = MIRROR_STAMPS_AND_ID | ({*table.key_columns} if name != "local_mzi_requests" else set())
    assert not_null == expected
    created = table.column("timecreated")
    assert (created.type, created.notnull, created.default) == ("int", True, "0")


@pytest.mark.parametrize("name", sorted(MIRROR_KEYS))
def test_mirror_column_types_follow_the_conventions(schema: Schema, name: str) -> None:
    """Zoho ids char(32), dates char(10), Zoho times int(10), money number(12,2)."""
    table = schema.table(name)
    for column in table.columns:
        shape = (column.type, column.length, column.decimals)
        if re.fullmatch(r"zoho_[a-z]+_id|[a-z]+_zoho_id", column.name):
            assert shape == ("char", 32, None), column.name
        elif column.name.endswith("_date") or column.name == "date_of_birth":
            assert shape == ("char", 10, None), column.name
        elif column.name.startswith("zoho_") and column.name.endswith("_time"):
            assert shape == ("int", 10, None), column.name
        elif column.type == "number" and column.name != "discount_percentage":
            assert shape == ("number", 12, 2), column.name


@pytest.mark.parametrize(
    ("table", "column", "shape"),
    [
        ("local_mzi_students", "phone_number", ("char", 50, None)),
        ("local_mzi_students", "address", ("text", None, None)),
        ("local_mzi_students", "moodle_user_id", ("int", 10, None)),
        ("local_mzi_installments", "installment_number", ("int", 5, None)),
        ("local_mzi_registrations", "discount_percentage", ("number", 6, 2)),
        ("local_mzi_registrations", "currency", ("char", 10, None)),
        ("local_mzi_units", "criteria", ("text", None, None)),
        ("local_mzi_grades", "moodle_grade_composite_key", ("char", 100, None)),
        ("local_mzi_requests", "origin", ("char", 10, None)),
        ("local_mzi_outbox", "signature", ("char", 64, None)),
        ("local_mzi_request_windows", "enabled", ("int", 1, None)),
    ],
)
def test_specific_column_shapes(schema: Schema, table: str, column: str, shape: tuple[object, ...]) -> None:
    col = schema.table(table).column(column)
    assert (col.type, col.length, col.decimals) == shape


@pytest.mark.parametrize(
    ("table", "fields", "unique"),
    [
        ("local_mzi_students", ("academic_email",), False),
        ("local_mzi_students", ("moodle_user_id",), False),
        ("local_mzi_classes", ("teacher_zoho_id",), False),
        ("local_mzi_enrollments", ("zoho_class_id",), False),
        ("local_mzi_payments", ("payment_status",), False),
        ("local_mzi_outbox", ("status", "nextattempt"), False),
        ("local_mzi_sync_status", ("kind", "command"), True),
        ("local_mzi_request_windows", ("request_type",), True),
    ],
)
def test_lookup_indexes_exist(schema: Schema, table: str, fields: tuple[str, ...], unique: bool) -> None:
    assert any(ix.fields == fields and ix.unique == unique for ix in schema.table(table).indexes)


def test_outbox_defaults_make_new_events_pending(schema: Schema) -> None:
    outbox = schema.table("local_mzi_outbox")
    assert outbox.column("status").default == "pending"
    assert outbox.column("attempts").default == "0"
    assert outbox.key_columns == ()


def test_plugin_tables_keys(schema: Schema) -> None:
    assert schema.table("local_mzi_sync_status").key_columns == ("kind", "command")
    assert schema.table("local_mzi_request_windows").key_columns == ("request_type",)
    assert schema.table("local_mzi_btec_templates").key_columns == ()


def test_unknown_table_and_column_raise_schema_error_naming_them(schema: Schema) -> None:
    with pytest.raises(SchemaError, match="no table 'local_mzi_shoes'"):
        schema.table("local_mzi_shoes")
    with pytest.raises(SchemaError, match="local_mzi_students.*'shoe_size'"):
        schema.table("local_mzi_students").column("shoe_size")


def test_column_names_are_in_file_order(schema: Schema) -> None:
    table: Table = schema.table("local_mzi_installments")
    assert table.column_names == (
        "id", "zoho_registration_id", "installment_number", "due_date", "amount", "status", "paid_date",
        "timecreated", "timemodified",
    )
