"""Every bundled spec names only what exists: Zoho modules and api names in the org's
field metadata (``reconciler/sandbox/zoho/zoho_fields.json``, a copy of the reference
export), and Moodle columns in ``moodle_plugin/db/install.xml``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.preflight import spec_field_checks
from reconciler.schema.xmldb import load_schema
from reconciler.specs import PARENT, Spec, load_specs
from reconciler.sandbox.zoho.metadata import METADATA_PATH, SYSTEM_FIELDS

SPECS = load_specs()
#: every Zoho → Moodle kind of DOMAIN.md's table except the two built apart
#: (installment: subform rows with a composite key; course: derived)
PLAIN_KINDS = ("teacher", "program", "unit", "student", "registration", "payment", "class", "enrollment",
               "grade", "request")


def _org_fields() -> dict[str, set[str]]:
    modules = json.loads(METADATA_PATH.read_text(encoding="utf-8"))["modules"]
    return {module: {f["api_name"] for f in fields} for module, fields in modules.items()}


def unknown_names(spec: Spec) -> list[str]:
    """One line per name ``spec`` uses that the org or install.xml lacks, naming file, kind and field."""
    where = f"{Path(str(spec.path)).name}: kind {spec.kind!r}"
    org = _org_fields()
    module = spec.zoho_module
    if module not in org:
        return [f"{where}: Zoho module {module!r} is not in the org's metadata"]
    known = org[module] | set(SYSTEM_FIELDS)
    if spec.subform is not None:
        # a subform kind's fields name the subform's columns, which the org's metadata does not
        # list; what can be checked is the subform itself and the parent fields it reads
        names = [(name, api.removeprefix(PARENT)) for name, field in spec.fields.items()
                 for api in field.zoho_names if api.startswith(PARENT)]
        names.append(("source.subform", spec.subform))
    else:
        names = [(name, api) for name, field in spec.fields.items() if field.through is None
                 for api in field.zoho_names]
        names += [(name, field.through.lookup) for name, field in spec.fields.items() if field.through is not None]
    problems = [f"{where}: field {name}: Zoho api name {api!r} is not a field of {module}"
                for name, api in names if api not in known]
    for name, field in spec.fields.items():  # read through a lookup: the names are the related module's
        if field.through is not None:
            related = org.get(field.through.module, set()) | set(SYSTEM_FIELDS)
            problems += [f"{where}: field {name}: Zoho api name {api!r} is not a field of {field.through.module}"
                         for api in field.zoho_names if api not in related]
    if spec.key.zoho not in known:
        problems.append(f"{where}: key: Zoho api name {spec.key.zoho!r} is not a field of {module}")
    if spec.moodle_resource is not None:
        return problems  # a Moodle resource (course) has its adapter's fields, not a table's columns
    table = load_schema().tables.get(spec.moodle_table)
    if table is None:
        return problems + [f"{where}: table {spec.moodle_table!r} is not in install.xml"]
    columns = set(table.column_names)
    problems += [f"{where}: field {name}: column {name!r} is not in {spec.moodle_table} (install.xml)"
                 for name in [*spec.key.columns, *spec.fields] if name not in columns]
    return problems


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_a_bundled_spec_names_only_zoho_fields_and_columns_that_exist(kind: str) -> None:
    problems = unknown_names(SPECS[kind])
    assert not problems, "\n".join(problems)


def test_every_plain_zoho_kind_has_a_bundled_spec() -> None:
    missing = [kind for kind in PLAIN_KINDS if kind not in SPECS]
    assert not missing, f"no spec in specs/ for {missing}"


def test_a_misspelt_api_name_unknown_module_or_column_is_reported_with_file_kind_and_field(tmp_path: Path) -> None:
    text = SPECS["payment"].path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    text = text.replace('"Payment_Amount"', '"Payment_Amout"') + 'shoe_size = { zoho = "Note", type = "string" }\n'
    (tmp_path / "payment.toml").write_text(text, encoding="utf-8")
    problems = unknown_names(load_specs(tmp_path)["payment"])
    assert problems == [
        "payment.toml: kind 'payment': field payment_amount: Zoho api name 'Payment_Amout' is not a field of BTEC_Payments",
        "payment.toml: kind 'payment': field shoe_size: column 'shoe_size' is not in local_mzi_payments (install.xml)",
    ], problems
    (tmp_path / "payment.toml").write_text(text.replace('"BTEC_Payments"', '"BTEC_Paiments"'), encoding="utf-8")
    assert unknown_names(load_specs(tmp_path)["payment"]) == [
        "payment.toml: kind 'payment': Zoho module 'BTEC_Paiments' is not in the org's metadata"]



@pytest.mark.parametrize("kind", sorted(SPECS))
def test_a_bundled_spec_reads_each_zoho_field_as_a_type_the_preflight_accepts(kind: str) -> None:
    """What `mzi plan` checks against Zoho's live metadata, checked here against the org's export."""
    modules = json.loads(METADATA_PATH.read_text(encoding="utf-8"))["modules"]
    spec = SPECS[kind]
    metadata = {name: {"api_name": name, "data_type": data_type} for name, data_type in SYSTEM_FIELDS.items()}
    metadata |= {f["api_name"]: f for f in modules.get(spec.zoho_module, [])}
    failed = [check.detail for check in spec_field_checks(spec, metadata) if not check.ok]
    assert not failed, "\n".join(failed)
