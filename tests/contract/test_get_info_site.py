"""``local_mzi_get_info`` describes the site: who it is, and the plugin's tables as they are.

mzi checks every spec's Moodle columns against these tables before it plans (a spec
column the site lacks would fail per record, half-way through an apply), and binds
saved plans to ``siteidentifier``. The columns must come from the site's database, not
from install.xml: a site whose upgrade has not run has the older columns.
"""

from __future__ import annotations

import sqlite3

from moodle_client import MoodleClient  # type: ignore[import-not-found]

from reconciler.schema.xmldb import load_schema
from reconciler.specs import load_specs


def _tables(info: dict[str, object]) -> dict[str, set[str]]:
    tables = info["tables"]
    assert isinstance(tables, list), info
    return {str(t["name"]): set(t["columns"]) for t in tables}


def test_get_info_names_the_site(moodle: MoodleClient) -> None:
    info = moodle.ok("local_mzi_get_info")
    assert str(info["siteurl"]).startswith(("http://", "https://")), info["siteurl"]
    assert len(str(info["siteidentifier"])) >= 8, info["siteidentifier"]
    assert moodle.ok("local_mzi_get_info")["siteidentifier"] == info["siteidentifier"], "the identifier must be stable"


def test_get_info_lists_every_plugin_table_with_its_columns(moodle: MoodleClient) -> None:
    tables = _tables(moodle.ok("local_mzi_get_info"))
    schema = load_schema()
    assert set(tables) == set(schema.tables), f"tables differ from install.xml: {sorted(set(tables) ^ set(schema.tables))}"
    for name, table in schema.tables.items():
        assert tables[name] == set(table.column_names), \
            f"{name}: site has {sorted(tables[name] ^ set(table.column_names))} differing from install.xml"


def test_every_bundled_spec_column_exists_on_the_site(moodle: MoodleClient) -> None:
    tables = _tables(moodle.ok("local_mzi_get_info"))
    missing = {spec.kind: sorted({*spec.key.columns, *spec.fields} - tables.get(spec.moodle_table, set()))
               for spec in load_specs().values() if spec.moodle_resource is None}
    assert not any(missing.values()), f"spec columns the site lacks: {missing}"


def test_get_info_reports_the_columns_the_database_has_not_those_install_xml_declares(emulator_only: MoodleClient) -> None:
    assert emulator_only.db_path is not None
    conn = sqlite3.connect(emulator_only.db_path)
    conn.execute("ALTER TABLE mdl_local_mzi_students DROP COLUMN city")
    conn.commit()
    conn.close()
    columns = _tables(emulator_only.ok("local_mzi_get_info"))["local_mzi_students"]
    assert "city" not in columns and "zoho_student_id" in columns, sorted(columns)


def _roles(info: dict[str, object]) -> dict[str, int]:
    roles = info["roles"]
    assert isinstance(roles, list), info
    return {str(r["shortname"]): r["id"] for r in roles}


def test_get_info_lists_the_course_roles_every_enrolment_spec_gives(moodle: MoodleClient) -> None:
    roles = _roles(moodle.ok("local_mzi_get_info"))
    assert all(isinstance(rid, int) and rid > 0 for rid in roles.values()), roles
    given = {str(spec.fields["role"].const) for spec in load_specs().values() if spec.moodle_resource == "enrolment"}
    assert given and given <= set(roles), f"roles the specs give but the site lacks: {sorted(given - set(roles))}"


def test_get_info_leaves_out_roles_that_cannot_be_assigned_in_a_course(moodle: MoodleClient) -> None:
    roles = _roles(moodle.ok("local_mzi_get_info"))
    assert "guest" not in roles and "user" not in roles, sorted(roles)  # Moodle's defaults: no context level


def test_get_info_reads_the_roles_from_the_database(emulator_only: MoodleClient) -> None:
    assert emulator_only.db_path is not None
    conn = sqlite3.connect(emulator_only.db_path)
    conn.execute("DELETE FROM mdl_role_context_levels WHERE roleid = (SELECT id FROM mdl_role WHERE shortname = 'teacher')")
    conn.commit()
    conn.close()
    roles = _roles(emulator_only.ok("local_mzi_get_info"))
    assert "teacher" not in roles and "editingteacher" in roles, sorted(roles)
