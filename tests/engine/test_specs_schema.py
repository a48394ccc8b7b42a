"""Specs agree with the one schema source, moodle_plugin/db/install.xml."""

from __future__ import annotations

import pytest

from reconciler.schema.xmldb import load_schema
from reconciler.specs import Spec, load_specs

SPECS = load_specs()
#: kinds kept in a local_mzi_* table (a resource kind such as course has no table)
TABLE_KINDS = sorted(k for k, s in SPECS.items() if s.moodle_resource is None)


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_every_spec_field_is_a_column_of_its_moodle_table(kind: str) -> None:
    spec: Spec = SPECS[kind]
    table = load_schema().table(spec.moodle_table)
    wanted = {*spec.key.columns, *spec.fields}
    missing = sorted(wanted - set(table.column_names))
    assert not missing, f"specs/{kind}.toml maps to columns {missing} that {spec.moodle_table} in install.xml lacks"


@pytest.mark.parametrize("kind", TABLE_KINDS)
def test_spec_key_is_the_unique_key_of_its_table(kind: str) -> None:
    spec = SPECS[kind]
    table = load_schema().table(spec.moodle_table)
    if spec.source.system == "moodle" and spec.key.zoho != "id":
        # a reverse kind keyed by a value both sides hold (outbound_request: request_number, Zoho's Name),
        # not by the table's Zoho id: an index must serve the plugin's look-ups by it
        indexed = [index.fields for index in table.indexes]
        assert spec.key.columns in indexed, f"{spec.moodle_table} has no index on {spec.key.columns}: {indexed}"
        return
    assert table.key_columns == spec.key.columns, f"{spec.moodle_table} unique key is {table.key_columns}"


def test_a_spec_naming_a_missing_column_is_caught(tmp_path) -> None:
    """The check above can fail: a spec with a column install.xml lacks is reported."""
    text = SPECS["student"].path.read_text(encoding="utf-8") + 'shoe_size = { zoho = "Shoe_Size", type = "int" }\n'
    (tmp_path / "student.toml").write_text(text, encoding="utf-8")
    spec = load_specs(tmp_path)["student"]
    columns = set(load_schema().table(spec.moodle_table).column_names)
    assert "shoe_size" in set(spec.fields) - columns
