"""The markdown view, the per-kind table, --compact, Zoho labels and right-to-left isolation."""

from __future__ import annotations

from reconciler.model import Action, Address, Change, FieldDelta
from reconciler.plan import Plan
from reconciler.render import (FSI, MARKDOWN_MAX_CHARS, PDI, helpful_labels, isolate_rtl, render_markdown,
                               render_text, summary_table)


def _update(key: str, name: str = "city", old: str = "Karak", new: str = "Irbid", sensitive: bool = False,
            label: str = "") -> Change:
    return Change(Action.UPDATE, Address("student", key), label or key, after={name: new},
                  deltas=(FieldDelta(name, old, new, sensitive),), reason="changed in the source")


def _plan(changes: list[Change]) -> Plan:
    return Plan(changes=changes, specs_hash="0" * 16)


def test_rtl_run_in_the_middle_of_latin_text_is_isolated_and_the_latin_keeps_its_place() -> None:
    text = "student.1 (نور بني هاني (STU-000002)) will be updated"
    assert isolate_rtl(text) == f"student.1 ({FSI}نور بني هاني{PDI} (STU-000002)) will be updated"


def test_rtl_runs_keep_digits_and_spaces_between_arabic_words_and_leave_latin_alone() -> None:
    assert isolate_rtl("Dana Al-Smadi") == "Dana Al-Smadi"
    assert isolate_rtl('"شارع 5 عمان" -> "Irbid"') == f'"{FSI}شارع 5 عمان{PDI}" -> "Irbid"'
    assert isolate_rtl("a نور b علي") == f"a {FSI}نور{PDI} b {FSI}علي{PDI}"


def test_text_plan_isolates_arabic_values_and_labels() -> None:
    out = render_text(_plan([_update("1", old="Karak", new="إربد", label="نور (STU-1)")]))
    assert f"({FSI}نور{PDI} (STU-1))" in out
    assert f'"Karak" -> "{FSI}إربد{PDI}"' in out


def test_markdown_masks_sensitive_values_and_collapses_each_kind() -> None:
    plan = _plan([_update("1", "phone_number", "0791111111", "0792222222", sensitive=True),
                  Change(Action.CREATE, Address("enrollment", "E1"), "Dana in Networking", after={"status": "Active"},
                         deltas=(FieldDelta("status", None, "Active"),))])
    text = render_markdown(plan)
    assert "079" not in text
    assert "~     phone_number = (sensitive) -> (sensitive)" in text
    assert text.count("<details>") == 2 and "| `student` | 0 | 1 | 0 | 0 | 0 |" in text
    assert "+ enrollment.E1 (Dana in Networking) will be created" in text


def test_markdown_of_thousands_of_changes_fits_a_pull_request_comment() -> None:
    plan = _plan([_update(str(i), old="x" * 80, new="y" * 80) for i in range(5000)])
    text = render_markdown(plan)
    assert len(text) <= MARKDOWN_MAX_CHARS
    assert "more student change(s): `mzi plan --kind student`" in text


def test_markdown_fence_is_longer_than_any_backticks_in_values() -> None:
    text = render_markdown(_plan([_update("1", new="a ```` b")]))
    assert "`````diff" in text


def test_compact_plan_is_the_table_and_the_summary_without_each_change() -> None:
    plan = _plan([_update(str(i)) for i in range(3000)]
                 + [Change(Action.BLOCKED, Address("enrollment", "E9"), "E9", reason="student.404 exists in neither")])
    full, compact = render_text(plan), render_text(plan, compact=True)
    assert len(compact.splitlines()) < 20 < len(full.splitlines())
    assert "  student" in compact and "3,000" in compact
    assert "! enrollment.E9 is blocked: student.404 exists in neither" in compact
    assert compact.rstrip().endswith("Plan: 0 to create, 3000 to update, 0 to delete, 1 blocked.")


def test_long_plans_open_with_the_per_kind_table_and_short_ones_do_not() -> None:
    assert "kind" not in render_text(_plan([_update("1")])).splitlines()[1]
    many = render_text(_plan([_update(str(i)) for i in range(30)]))
    assert summary_table(_plan([_update(str(i)) for i in range(30)])) in many


def test_zoho_label_is_shown_only_where_the_column_does_not_already_say_it() -> None:
    labels = {"student": {"city": "City", "date_of_birth": "Birth Date", "zoho_modified_time": "Modified Time",
                          "major": "Student Major"}}
    assert helpful_labels(labels) == {"student": {"major": "Student Major"}}
    out = render_text(_plan([_update("1", "major", "IT", "Business"), _update("2")]), field_labels=labels)
    assert '~ major = "IT" -> "Business"  # Zoho: Student Major' in out
    assert '~ city = "Karak" -> "Irbid"\n' in out
