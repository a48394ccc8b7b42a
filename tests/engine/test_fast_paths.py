"""The fast paths write what the general ones write, byte for byte, on the values they
take and on the ones they hand back (floats, lone surrogates, big ints, odd rows).

Each fast path (orjson for canonical and indented JSON, the one-pass subform reader,
the memoized normalizers, lazy labels, the right-to-left shortcut) is checked against
the reference it replaces; speed itself is measured in benchmarks/cpu_profile.py.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.mapping import _SLOW, _canonical_subform, _RowMemo, _subform_columns, _subform_rows, record_from_zoho
from reconciler.model import Action, Address, Change, FieldDelta, Record, canonical_json
from reconciler.normalize import NormalizeError, normalizer, to_json
from reconciler.plan import Plan
from reconciler.render import RTL_FIRST, isolate_rtl, render_json
from reconciler.specs import load_specs

JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text() \
    | st.floats(allow_nan=False, allow_infinity=False)
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


def _reference_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_canonical_json_is_the_json_module_spelling(value: Any) -> None:
    assert canonical_json(value) == _reference_canonical(value)


@pytest.mark.parametrize("value", [
    {"a": 1e-05}, {"a": 1e16}, {"a": "\ud800"}, {"a": 2**64}, {"a": (1, 2)}, {"b": {"c": [0.1, None]}},
])
def test_canonical_json_hands_what_orjson_spells_otherwise_to_json(value: Any) -> None:
    assert canonical_json(value) == _reference_canonical(value)


def _plan_with(after: dict[str, Any]) -> Plan:
    change = Change(Action.CREATE, Address("grade", "G1"), "Grade 1", after=after,
                    deltas=tuple(FieldDelta(n, None, v, type="json") for n, v in after.items()))
    return Plan([change], "hash", created_at="2026-01-01T00:00:00+00:00")


def _reference_json(plan: Plan) -> str:
    rendered = json.loads(render_json(plan))
    return json.dumps(rendered, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("after", [
    {"scores": [{"LO_Score": 1e-05}, {"LO_Score": 2.5}]},  # floats: json's spelling
    {"name": "نور الهدى", "note": "tab\there \u2028 and \x7f"},  # escapes as json writes them
    {"big": 2**64},  # past orjson's ints
])
def test_json_view_is_the_json_module_indent_2(after: dict[str, Any]) -> None:
    plan = _plan_with(after)
    assert render_json(plan) == _reference_json(plan)


ROWS = st.lists(st.one_of(
    st.dictionaries(st.sampled_from(["LO_Code", "LO_Score", "id", "$x", "Other"]),
                    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.text(max_size=5)
                    | st.sampled_from(["", " ", "-None-"]) | st.floats(allow_nan=False)
                    | st.fixed_dictionaries({"id": st.text(max_size=3), "name": st.text(max_size=3) | st.none()}),
                    max_size=5),
    st.integers()), max_size=5)


def _general(value: Any, keep: list[str]) -> Any:
    try:
        return to_json(_subform_rows(value, keep))
    except NormalizeError as exc:
        return ("refused", exc.reason)


@settings(max_examples=400, deadline=None)
@given(ROWS)
def test_one_pass_subform_reader_agrees_with_the_general_path(value: Any) -> None:
    keep = ["LO_Code", "LO_Score", "id", "$x"]
    memo = _RowMemo()
    for _ in range(2):  # the second time from the memo
        fast = _canonical_subform(value, _subform_columns(keep), memo)
        if fast is not _SLOW:
            assert fast == _general(value, keep)
            assert json.dumps(fast) == json.dumps(_general(value, keep))  # 1 and True stay apart


def test_grade_record_reads_its_learning_outcomes_as_before() -> None:
    spec = load_specs()["grade"]
    raw = {name: None for f in spec.fields.values() for name in f.zoho_names} | {
        "id": "G1", "Learning_Outcomes_Assessm": [
            {"id": "1", "LO_Code": "P1", "LO_Score": "Achieved", "LO_Title": " ", "LO_Feedback": None},
            {"id": "2", "LO_Code": "P2", "LO_Score": 3, "LO_Definition": {"id": "9", "name": "Plan"}},
        ]}
    record = record_from_zoho(spec, raw)
    assert record.fields["learning_outcomes"] == [
        {"LO_Code": "P1", "LO_Score": "Achieved"}, {"LO_Code": "P2", "LO_Definition": "Plan", "LO_Score": 3}]


def test_memoized_normalizer_refuses_every_time_and_remembers_answers() -> None:
    to_date = normalizer("date")
    assert to_date("2026-02-03") == to_date(" 2026-02-03 ") == "2026-02-03"
    for _ in range(2):
        with pytest.raises(NormalizeError, match="no such day"):
            to_date("2026-02-30")


def test_label_is_made_once_when_first_read_from_the_fields_as_read() -> None:
    calls: list[int] = []

    def labeler() -> str:
        calls.append(1)
        return "Nour Haddad"

    record = Record(Address("student", "S1"), {"first_name": "Nour"}, labeler)
    assert calls == []
    changed = dataclasses.replace(record, blocked="held")
    assert (record.label, changed.label, calls) == ("Nour Haddad", "Nour Haddad", [1])
    assert record == Record(Address("student", "S1"), {"first_name": "Nour"}, "Nour Haddad")


def test_no_character_before_the_rtl_bound_is_right_to_left() -> None:
    early = [hex(c) for c in range(ord(RTL_FIRST)) if unicodedata.bidirectional(chr(c)) in ("R", "AL")]
    assert early == [], f"right-to-left characters before {hex(ord(RTL_FIRST))}: {early}"
    assert unicodedata.bidirectional(RTL_FIRST) == "R"
    assert isolate_rtl("Nour (نور) 12") == "Nour (\u2068نور\u2069) 12"


def test_specs_and_records_still_pickle_after_compiling() -> None:
    spec = load_specs()["class"]
    raw = {name: None for f in spec.fields.values() for name in f.zoho_names} | {"id": "C1"}
    record = record_from_zoho(spec, raw)  # compiles spec.readers, gives a lazy label
    again = pickle.loads(pickle.dumps(spec))
    assert pickle.loads(pickle.dumps(record)) == record
    assert record_from_zoho(again, raw) == record
