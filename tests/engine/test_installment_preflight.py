"""The preflight's Zoho field checks of a subform kind: Zoho's fields metadata lists the
subform field but not its columns, so the field is checked (exists, is a subform) and the
columns are left to the per-row read."""

from __future__ import annotations

from pathlib import Path

from reconciler.preflight import spec_field_checks
from reconciler.specs import Spec, load_specs

SPEC: Spec = load_specs(Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "installment")["installment"]


def test_a_subform_kind_passes_on_metadata_that_lists_only_the_subform_field() -> None:
    checks = spec_field_checks(SPEC, {"Payment_Schedule": {"api_name": "Payment_Schedule", "data_type": "subform"}})
    assert [c.ok for c in checks] == [True], checks


def test_a_missing_or_mistyped_subform_field_fails_naming_the_source() -> None:
    (missing,) = spec_field_checks(SPEC, {"Name": {"api_name": "Name", "data_type": "text"}})
    assert not missing.ok and "source.subform names BTEC_Registrations.Payment_Schedule, which does not exist" \
        in missing.detail, missing.detail
    (mistyped,) = spec_field_checks(SPEC, {"Payment_Schedule": {"api_name": "Payment_Schedule", "data_type": "text"}})
    assert not mistyped.ok and "whose Zoho data_type is text, not subform" in mistyped.detail, mistyped.detail


def test_a_parent_field_is_checked_against_the_parent_module() -> None:
    text = SPEC.path.read_text(encoding="utf-8") if SPEC.path else ""
    assert 'zoho = "$parent.id"' in text
    data = SPEC.model_dump(exclude={"path"})
    data["fields"]["student"] = {"zoho": "$parent.Student_IDX", "type": "lookup_id"}
    spec = Spec.model_validate(data)
    (check,) = spec_field_checks(spec, {"Payment_Schedule": {"api_name": "Payment_Schedule", "data_type": "subform"}})
    assert not check.ok and "BTEC_Registrations.Student_IDX, which does not exist" in check.detail, check.detail
