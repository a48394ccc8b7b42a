"""validate() catches each XMLDB rule Moodle enforces; the reader reports broken files clearly."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.schema import Column, Index, SchemaError, Table, load_schema, parse_schema, validate

INSTALL_XML = Path(__file__).resolve().parents[2] / "moodle_plugin" / "db" / "install.xml"
Mutation = Callable[[ET.Element], None]


def _table(root: ET.Element, name: str = "local_mzi_students") -> ET.Element:
    found = root.find(f"TABLES/TABLE[@NAME='{name}']")
    assert found is not None
    return found


def _field(root: ET.Element, field: str, table: str = "local_mzi_students") -> ET.Element:
    found = _table(root, table).find(f"FIELDS/FIELD[@NAME='{field}']")
    assert found is not None
    return found


def _add_index(root: ET.Element, fields: str, table: str = "local_mzi_students", name: str = "extra") -> None:
    indexes = _table(root, table).find("INDEXES")
    assert indexes is not None
    ET.SubElement(indexes, "INDEX", NAME=name, UNIQUE="false", FIELDS=fields)


def rename_table_29(root: ET.Element) -> None:
    _table(root).set("NAME", "local_mzi_" + "x" * 19)


def rename_field_31(root: ET.Element) -> None:
    _field(root, "city").set("NAME", "c" * 31)


def index_missing_field(root: ET.Element) -> None:
    _add_index(root, "city, nosuchfield")


def char_without_length(root: ET.Element) -> None:
    del _field(root, "city").attrib["LENGTH"]


def char_too_long(root: ET.Element) -> None:
    _field(root, "city").set("LENGTH", "1334")


def number_without_decimals(root: ET.Element) -> None:
    del _field(root, "program_price", "local_mzi_programs").attrib["DECIMALS"]


def int_without_length(root: ET.Element) -> None:
    del _field(root, "moodle_user_id").attrib["LENGTH"]


def unknown_type(root: ET.Element) -> None:
    _field(root, "city").set("TYPE", "datetime")


def uppercase_field(root: ET.Element) -> None:
    _field(root, "city").set("NAME", "City")


def reserved_field(root: ET.Element) -> None:
    _field(root, "city").set("NAME", "order")


def field_without_comment(root: ET.Element) -> None:
    del _field(root, "city").attrib["COMMENT"]


def table_without_comment(root: ET.Element) -> None:
    del _table(root).attrib["COMMENT"]


def index_on_text(root: ET.Element) -> None:
    _add_index(root, "address")


def default_on_text(root: ET.Element) -> None:
    _field(root, "address").set("DEFAULT", "x")


def non_integer_default(root: ET.Element) -> None:
    _field(root, "timemodified").set("DEFAULT", "now")


def table_outside_component(root: ET.Element) -> None:
    _table(root).set("NAME", "mzi_students")


def primary_key_missing(root: ET.Element) -> None:
    keys = _table(root).find("KEYS")
    assert keys is not None
    keys.clear()


def field_defined_twice(root: ET.Element) -> None:
    fields = _table(root).find("FIELDS")
    assert fields is not None
    ET.SubElement(fields, "FIELD", NAME="city", TYPE="char", LENGTH="10", NOTNULL="false", SEQUENCE="false", COMMENT="x")


def duplicate_index(root: ET.Element) -> None:
    _add_index(root, "status")


def sequence_on_char(root: ET.Element) -> None:
    _field(root, "city").set("SEQUENCE", "true")


BROKEN: list[tuple[Mutation, str]] = [
    (rename_table_29, "local_mzi_xxxxxxxxxxxxxxxxxxx: table name is 29 characters, Moodle allows at most 28"),
    (rename_field_31, f"local_mzi_students.{'c' * 31}: field name is 31 characters, Moodle allows at most 30"),
    (index_missing_field, "local_mzi_students: index extra: names missing field nosuchfield"),
    (char_without_length, "local_mzi_students.city: char needs LENGTH between 1 and 1333"),
    (char_too_long, "local_mzi_students.city: char needs LENGTH between 1 and 1333"),
    (number_without_decimals, "local_mzi_programs.program_price: number needs DECIMALS"),
    (int_without_length, "local_mzi_students.moodle_user_id: int needs LENGTH between 1 and 20"),
    (unknown_type, "local_mzi_students.city: type 'datetime' is not one of int, number, float, char, text, binary"),
    (uppercase_field, "local_mzi_students.City: field name 'City' must be lowercase a-z, 0-9 and _ starting with a letter"),
    (reserved_field, "local_mzi_students.order: field name 'order' is a reserved word in a database Moodle supports"),
    (field_without_comment, "local_mzi_students.city: field has no COMMENT"),
    (table_without_comment, "local_mzi_students: table has no COMMENT"),
    (index_on_text, "local_mzi_students: index extra: cannot index text field address"),
    (default_on_text, "local_mzi_students.address: text fields cannot have a DEFAULT"),
    (non_integer_default, "local_mzi_students.timemodified: DEFAULT 'now' is not an integer"),
    (table_outside_component, "mzi_students: table name must start with the component name local_mzi_"),
    (primary_key_missing, "local_mzi_students: primary key must be (id), found (none)"),
    (field_defined_twice, "local_mzi_students.city: field is defined twice"),
    (duplicate_index, "local_mzi_students: index extra: same fields as status"),
    (sequence_on_char, "local_mzi_students.city: only int fields can be SEQUENCE"),
]


def _broken_copy(mutate: Mutation) -> bytes:
    root = ET.fromstring(INSTALL_XML.read_bytes())
    mutate(root)
    return ET.tostring(root, encoding="utf-8")


@pytest.mark.parametrize(("mutate", "message"), BROKEN, ids=[m.__name__ for m, _ in BROKEN])
def test_broken_install_xml_yields_the_specific_message(mutate: Mutation, message: str) -> None:
    assert validate(parse_schema(INSTALL_XML.read_bytes(), INSTALL_XML)) == []  # the mutation is the only cause
    problems = validate(parse_schema(_broken_copy(mutate), "broken.xml"))
    assert message in problems, problems


def test_every_problem_is_reported_at_once() -> None:
    def several(root: ET.Element) -> None:
        char_without_length(root)
        number_without_decimals(root)
        rename_field_31(root)

    problems = validate(parse_schema(_broken_copy(several)))
    assert len(problems) == 3, problems


def test_empty_schema_is_invalid() -> None:
    assert validate(parse_schema('<XMLDB PATH="local/mzi/db"><TABLES/></XMLDB>', "empty.xml")) == ["empty.xml: no tables"]


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "install.xml"
    path.write_text('<?xml version="1.0"?>\n<XMLDB>\n  <TABLES>\n    <TABLE NAME="x">\n</XMLDB>\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=rf"{path}:5:\d+: malformed XML"):
        load_schema(path)


def test_wrong_root_element_is_refused() -> None:
    with pytest.raises(SchemaError, match="root element is <database>, expected <XMLDB>"):
        parse_schema("<database/>", "x.xml")


def test_non_numeric_length_names_table_and_field() -> None:
    def bad_length(root: ET.Element) -> None:
        _field(root, "city").set("LENGTH", "wide")

    with pytest.raises(SchemaError, match="table local_mzi_students field city: LENGTH='wide' is not a whole number"):
        parse_schema(_broken_copy(bad_length), "x.xml")


def test_field_without_name_is_a_parse_error() -> None:
    def nameless(root: ET.Element) -> None:
        del _field(root, "city").attrib["NAME"]

    with pytest.raises(SchemaError, match="table local_mzi_students field: <FIELD> has no NAME attribute"):
        parse_schema(_broken_copy(nameless), "x.xml")


def test_missing_file_is_a_schema_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read the XMLDB schema .*nowhere.xml"):
        load_schema(tmp_path / "nowhere.xml")


def test_load_schema_sees_a_rewritten_file(tmp_path: Path) -> None:
    """The cache is per file version, so a rewrite is not hidden behind a stale parse."""
    path = tmp_path / "install.xml"
    path.write_bytes(INSTALL_XML.read_bytes())
    first = load_schema(path)
    assert load_schema(path) is first
    path.write_bytes(_broken_copy(rename_field_31))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = load_schema(path)
    assert second is not first
    assert "c" * 31 in second.table("local_mzi_students").column_names


def test_unique_and_foreign_keys_become_indexes() -> None:
    """Moodle backs KEY TYPE=unique/foreign with indexes; key_columns honours a unique KEY."""
    xml = """<XMLDB PATH="local/mzi/db"><TABLES><TABLE NAME="local_mzi_things" COMMENT="t"><FIELDS>
      <FIELD NAME="id" TYPE="int" LENGTH="10" NOTNULL="true" SEQUENCE="true" COMMENT="c"/>
      <FIELD NAME="code" TYPE="char" LENGTH="10" NOTNULL="true" SEQUENCE="false" COMMENT="c"/>
      <FIELD NAME="userid" TYPE="int" LENGTH="10" NOTNULL="false" SEQUENCE="false" COMMENT="c"/>
    </FIELDS><KEYS>
      <KEY NAME="primary" TYPE="primary" FIELDS="id"/>
      <KEY NAME="code" TYPE="unique" FIELDS="code"/>
      <KEY NAME="userid" TYPE="foreign" FIELDS="userid" REFTABLE="user" REFFIELDS="id"/>
    </KEYS></TABLE></TABLES></XMLDB>"""
    table = parse_schema(xml).table("local_mzi_things")
    assert table.indexes == (Index("code", ("code",), True), Index("userid", ("userid",), False))
    assert table.key_columns == ("code",)
    assert validate(parse_schema(xml)) == []


def _table_with_indexes(name: str, *indexes: Index) -> Table:
    columns = (
        Column("id", "int", 10, None, True, None, True, "id"),
        Column("zoho_request_id", "char", 32, None, False, None, False, "k"),
        Column("zoho_student_id", "char", 32, None, False, None, False, "s"),
    )
    return Table(name, "t", columns, indexes, ("id",))


def test_key_columns_prefers_the_first_unique_index() -> None:
    table = _table_with_indexes(
        "local_mzi_requests",
        Index("zoho_request_id", ("zoho_request_id",), False),
        Index("zoho_student_id", ("zoho_student_id",), True),
    )
    assert table.key_columns == ("zoho_student_id",)


def test_key_columns_falls_back_to_the_conventional_zoho_id_index_only() -> None:
    plain_key = Index("zoho_request_id", ("zoho_request_id",), False)
    other = Index("zoho_student_id", ("zoho_student_id",), False)
    assert _table_with_indexes("local_mzi_requests", other, plain_key).key_columns == ("zoho_request_id",)
    assert _table_with_indexes("local_mzi_notes", other, plain_key).key_columns == ()
