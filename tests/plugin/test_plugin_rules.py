"""The plugin's pure PHP rules, run in the php CLI (tests/plugin_php.py): request windows, which
classes a Class Drop may name, how grades and outcomes show, installment states and balances,
and when the alert task tells staff."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plugin_php import PhpError, php_eval, php_eval_many, php_literal
from reconciler.providers.moodle_grades import outcomes as moodle_grade_outcomes

DAY = 86400


def window(**values: Any) -> str:
    return php_literal({"enabled": 1, "open_from": None, "open_until": None} | values, objects=True)


# Request windows -------------------------------------------------------------------------------

def test_a_window_is_open_only_when_enabled_and_between_its_inclusive_bounds() -> None:
    cases = {
        "window_rules::state(null, 100)": "disabled",
        f"window_rules::state({window(enabled=0)}, 100)": "disabled",
        f"window_rules::state({window()}, 100)": "open",
        f"window_rules::state({window(open_from=101)}, 100)": "notyet",
        f"window_rules::state({window(open_from=100)}, 100)": "open",
        f"window_rules::state({window(open_until=100)}, 100)": "open",
        f"window_rules::state({window(open_until=99)}, 100)": "closed",
        f"window_rules::state({window(open_from=50, open_until=150)}, 100)": "open",
        f"window_rules::is_open({window(open_from=50, open_until=60)}, 100)": False,
    }
    answers = dict(zip(cases, php_eval_many(list(cases)), strict=True))
    assert answers == cases


# Class Drop ------------------------------------------------------------------------------------

def enrollment(class_id: str, date: str, status: str = "Active", name: str | None = None) -> dict[str, Any]:
    return {"zoho_class_id": class_id, "class_name": name if name is not None else f"Class {class_id}",
            "enrollment_date": date, "status": status}


@pytest.mark.parametrize(("today", "cutoff"), [
    ("2026-03-15", "2026-02-15"), ("2026-03-31", "2026-02-28"), ("2028-03-31", "2028-02-29"),
    ("2026-01-10", "2025-12-10"), ("2026-05-31", "2026-04-30"),
])
def test_the_last_month_starts_the_same_day_a_month_before_clamped_to_a_shorter_month(today: str, cutoff: str) -> None:
    assert php_eval(f"class_drop::cutoff('{today}')") == cutoff


def test_a_bad_date_is_refused_with_the_date_in_the_message() -> None:
    with pytest.raises(PhpError, match="'31/03/2026' is not a YYYY-MM-DD date"):
        php_eval("class_drop::cutoff('31/03/2026')")


def test_only_classes_enrolled_in_within_the_last_month_and_not_ended_may_be_dropped() -> None:
    rows = [
        enrollment("1", "2026-02-14"),                    # a day too old
        enrollment("2", "2026-02-15"),                    # exactly a month: still inside
        enrollment("3", "2026-03-15"),                    # today
        enrollment("4", "2026-03-16"),                    # future-dated: not enrolled yet
        enrollment("5", "2026-03-01", status="Withdrawn"),
        enrollment("6", "2026-03-01", status="Dropped"),
        enrollment("7", "", name="No date"),
        enrollment("8", "2026-03-02", name=""),           # no name: shown by its id
    ]
    eligible = php_eval(f"class_drop::eligible({php_literal(rows, objects=True)}, '2026-03-15')")
    assert eligible == {"2": "Class 2", "8": "8", "3": "Class 3"}, eligible


@pytest.mark.parametrize(("chosen", "refusal"), [
    ([], "error:classdropcount"),
    (["2"], None),
    (["2", "3"], None),
    (["2", "2"], None),                                   # the same class twice is one class
    (["2", "3", "8"], "error:classdropcount"),
    (["1"], "error:classdropnoteligible"),
])
def test_a_class_drop_names_one_or_two_eligible_classes(chosen: list[str], refusal: str | None) -> None:
    eligible = {"2": "Class 2", "3": "Class 3", "8": "8"}
    assert php_eval(f"class_drop::refusal({php_literal(chosen)}, {php_literal(eligible)})") == refusal


# Grades ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("grade", "letter", "key", "badge"), [
    ("D", "D", "grade:distinction", "badge-success"), ("m", "M", "grade:merit", "badge-info"),
    ("P", "P", "grade:pass", "badge-primary"), ("RR", "RR", "grade:rerefer", "badge-warning"),
    ("F", "F", "grade:fail", "badge-danger"), (None, "-", "grade:none", "badge-light"),
    ("X9", "X9", "grade:other", "badge-secondary"),
])
def test_each_btec_letter_has_its_name_and_colour(grade: str | None, letter: str, key: str, badge: str) -> None:
    value = "null" if grade is None else f"'{grade}'"
    assert php_eval(f"grade_display::letter({value})") == {"letter": letter, "key": key, "badge": badge}


def test_outcomes_are_ordered_p_m_d_by_number_with_their_achieved_state() -> None:
    subform = [
        {"LO_Code": "D1", "LO_Title": "Evaluate", "LO_Score": "Not Achieved", "LO_Feedback": None},
        {"LO_Code": "P10", "LO_Title": "Tenth", "LO_Score": "Achieved"},
        {"LO_Code": "M1", "LO_Title": "Analyse", "LO_Score": ""},
        {"LO_Code": "P2", "LO_Title": "Second", "LO_Score": "achieved", "LO_Feedback": " ok "},
        {"LO_Code": "X1", "LO_Definition": "Other", "LO_Score": "Yes"},
    ]
    outcomes = php_eval(f"grade_display::outcomes({php_literal(json.dumps(subform))})")
    assert [(o["code"], o["level"], o["achieved"]) for o in outcomes] == [
        ("P2", "P", True), ("P10", "P", True), ("M1", "M", None), ("D1", "D", False), ("X1", "", True)]
    assert outcomes[0]["feedback"] == "ok" and (outcomes[4]["title"], outcomes[4]["definition"]) == ("", "Other")
    summary = php_eval(f"grade_display::summary(grade_display::outcomes({php_literal(json.dumps(subform))}))")
    assert summary == [{"level": "P", "achieved": 2, "total": 2}, {"level": "M", "achieved": 0, "total": 1},
                       {"level": "D", "achieved": 0, "total": 1}]


def test_outcomes_mzi_writes_from_a_moodle_grade_show_the_criterion_text_and_whether_it_was_met() -> None:
    # what moodle_grade sends to Learning_Outcomes_Assessm (and the grade kind mirrors back):
    # LO_Title only restates the code, the criterion's text is in LO_Definition
    row = {"outcomes": [
        {"shortname": "P1", "description": "Explain the paradigms", "score": "1", "maxscore": "1", "remark": "Clear"},
        {"shortname": "M1", "description": "Analyse the code", "score": "0.5", "maxscore": "1", "remark": None},
        {"shortname": "D1", "description": "Evaluate the design", "score": None, "maxscore": "1", "remark": None},
    ]}
    subform = moodle_grade_outcomes(row)
    assert [o["LO_Score"] for o in subform] == ["Achieved", "Not Achieved", None]
    outcomes = php_eval(f"grade_display::outcomes({php_literal(json.dumps(subform))})")
    assert [(o["code"], o["title"], o["definition"], o["achieved"], o["feedback"]) for o in outcomes] == [
        ("P1", "", "Explain the paradigms", True, "Clear"), ("M1", "", "Analyse the code", False, ""),
        ("D1", "", "Evaluate the design", None, "")]


def test_an_outcome_title_of_its_own_is_kept_beside_its_definition() -> None:
    subform = [{"LO_Code": "P1", "LO_Title": "Paradigms", "LO_Definition": "Explain them", "LO_Score": "Achieved"},
               {"LO_Code": "P2", "LO_Title": "criterion p2", "LO_Definition": None, "LO_Score": "Achieved"},
               {"LO_Code": "P3", "LO_Title": "P3", "LO_Definition": "", "LO_Score": "Achieved"}]
    outcomes = php_eval(f"grade_display::outcomes({php_literal(json.dumps(subform))})")
    assert [(o["title"], o["definition"]) for o in outcomes] == [("Paradigms", "Explain them"), ("", ""), ("", "")]


def test_outcomes_of_broken_json_are_none_rather_than_an_error() -> None:
    assert php_eval("grade_display::outcomes('not json')") == []
    assert php_eval("grade_display::outcomes(null)") == []


# Finance ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "state"), [
    ({"status": "Paid", "due_date": "2026-01-01", "paid_date": None}, "paid"),
    ({"status": "Pending", "due_date": "2026-01-01", "paid_date": "2026-01-03"}, "paid"),
    ({"status": "Overdue", "due_date": "2026-03-14", "paid_date": None}, "overdue"),
    ({"status": "Pending", "due_date": "2026-03-15", "paid_date": ""}, "due"),
    ({"status": None, "due_date": None, "paid_date": None}, "due"),
])
def test_an_installment_is_paid_overdue_after_its_due_date_or_due(row: dict[str, Any], state: str) -> None:
    assert php_eval(f"finance::installment_state({php_literal(row)}, '2026-03-15')") == state


def test_totals_add_in_cents_leave_voided_payments_out_and_prefer_zohos_remaining_amount() -> None:
    payments = [{"payment_amount": "0.1", "payment_status": "Paid"}, {"payment_amount": "0.2", "payment_status": None},
                {"payment_amount": "500", "payment_status": "Voided"}]
    computed = php_eval(f"finance::totals(['total_fees' => '1000', 'remaining_amount' => null], {php_literal(payments)})")
    assert computed == {"total": "1000.00", "paid": "0.30", "remaining": "999.70", "paidpercent": 0}
    office = php_eval("finance::totals(['total_fees' => '1000.00', 'remaining_amount' => '250.5'], [])")
    assert office == {"total": "1000.00", "paid": "0.00", "remaining": "250.50", "paidpercent": 75}
    overpaid = php_eval("finance::totals(['total_fees' => '100'], [['payment_amount' => '150']])")
    assert overpaid["remaining"] == "0.00" and overpaid["paidpercent"] == 100


@pytest.mark.parametrize(("amount", "cents"), [("12.345", 1235), ("12.344", 1234), ("-3.5", -350), ("", 0), (".5", 50)])
def test_amounts_are_rounded_half_up_to_cents(amount: str, cents: int) -> None:
    assert php_eval(f"finance::cents('{amount}')") == cents


def test_an_amount_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(PhpError, match="'12,5' is not a decimal amount"):
        php_eval("finance::cents('12,5')")


# Alerts ----------------------------------------------------------------------------------------

NOW = 1_767_225_600


def sync(kind: str, command: str = "apply", status: str = "ok", runid: int = 1, pushed: int = NOW - 60) -> dict[str, Any]:
    return {"kind": kind, "command": command, "status": status, "runid": runid, "timefinished": pushed,
            "timemodified": pushed}


def incidents(rows: list[dict[str, Any]], dead: list[int], maxage: int = DAY, now: int = NOW) -> dict[str, Any]:
    answer: dict[str, Any] = php_eval(f"alert_rules::incidents({php_literal(rows)}, {php_literal(dead)}, {now}, {maxage})")
    return answer if answer else {}


def test_a_healthy_feed_has_no_incident_and_a_feed_never_started_is_not_a_stall() -> None:
    assert incidents([sync("student"), sync("class")], []) == {}
    assert incidents([], []) == {}


def test_a_stall_is_keyed_by_the_last_push_so_a_later_stall_is_a_new_incident() -> None:
    first = incidents([sync("student", pushed=NOW - DAY - 1)], [])
    assert list(first) == [f"stalled:{NOW - DAY - 1}"] and first[f"stalled:{NOW - DAY - 1}"]["age"] == DAY + 1
    assert incidents([sync("student", pushed=NOW - DAY)], []) == {}          # exactly the age: not yet
    later = incidents([sync("student", pushed=NOW + 5 * DAY)], [], now=NOW + 7 * DAY)
    assert list(later) == [f"stalled:{NOW + 5 * DAY}"]
    assert incidents([sync("student", pushed=NOW - 9 * DAY)], [], maxage=0) == {}  # check switched off


def test_a_failed_run_is_one_incident_naming_its_kinds_and_dead_letters_one_keyed_by_the_oldest() -> None:
    found = incidents([sync("payment", status="failed", runid=7), sync("grade", status="failed", runid=7),
                       sync("class", status="interrupted", runid=8, command="plan"), sync("student", runid=7)], [44, 41])
    assert found["failed:7"]["kinds"] == ["grade apply", "payment apply"] and found["failed:7"]["status"] == "failed"
    assert found["failed:8"]["status"] == "interrupted"
    assert found["dead:41"] == {"type": "dead", "count": 2, "oldest": 41}
    assert sorted(found) == ["dead:41", "failed:7", "failed:8"]


def test_an_incident_is_told_once_and_again_only_after_it_ended() -> None:
    current = {"dead:41": {"type": "dead"}, "failed:7": {"type": "failed"}}
    assert php_eval(f"array_keys(alert_rules::to_tell({php_literal(current)}, []))") == ["dead:41", "failed:7"]
    assert php_eval(f"alert_rules::to_tell({php_literal(current)}, ['dead:41', 'failed:7'])") == []
    assert php_eval(f"array_keys(alert_rules::to_tell({php_literal(current)}, ['dead:41', 'failed:6']))") == ["failed:7"]
