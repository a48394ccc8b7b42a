"""What the plugin's pages give their templates: the renderables' own export_for_template, run in
the php CLI over rows (tests/plugin_php.py), rendered through the real templates. The context
must hold raw text so the page shows `Accounting &amp; Finance` once escaped, never twice."""

from __future__ import annotations

import html as htmllib
from typing import Any

import pytest

from moodle_templates import render
from plugin_php import php_eval, php_eval_many, php_literal

TODAY = "2026-03-15"
STUDENT = {
    "id": 42, "zoho_student_id": "900042", "student_id": "STU-00042", "first_name": "Lina", "last_name": "Haddad & Co",
    "first_name_native": "لينا", "last_name_native": "حداد", "display_name": "Lina H", "academic_email": "lina@abc.example",
    "email": "", "phone_number": "+962 79", "address": None, "city": "Amman", "nationality": "Jordanian",
    "date_of_birth": "2004-05-06", "national_id": "", "major": "Accounting & Finance", "sub_major": "",
    "academic_program": "BTEC Level 5 Accounting & Finance", "study_language": "English", "status": "Active",
    "moodle_user_id": 12,
}


def registration(number: str, **values: Any) -> dict[str, Any]:
    return {"zoho_registration_id": f"r{number}", "registration_number": f"REG-{number}",
            "program_name": "Accounting & Finance", "registration_date": "2026-01-10", "registration_status": "Active",
            "total_fees": "3000.00", "remaining_amount": None, "currency": "JOD"} | values


DATA = {
    "registrations": [registration("1"), registration("2", registration_status="Cancelled", currency="USD",
                                                       total_fees="500")],
    "installments": [
        {"zoho_registration_id": "r1", "installment_number": 1, "due_date": "2026-02-01", "amount": "1000",
         "status": "Paid", "paid_date": "2026-01-30"},
        {"zoho_registration_id": "r1", "installment_number": 2, "due_date": "2026-03-01", "amount": "1000",
         "status": "Pending", "paid_date": None},
        {"zoho_registration_id": "r1", "installment_number": 3, "due_date": "2026-12-01", "amount": "1000",
         "status": "Pending", "paid_date": None},
    ],
    "payments": [
        {"zoho_registration_id": "r1", "payment_number": "PAY-1", "payment_date": "2026-01-30", "payment_amount": "1000",
         "currency": "JOD", "payment_method": "Cash & card", "installment_no": 1, "payment_status": "Paid"},
        {"zoho_registration_id": "r1", "payment_number": "PAY-2", "payment_date": "2026-02-01", "payment_amount": "70",
         "currency": "JOD", "payment_method": "Cash", "installment_no": 2, "payment_status": "Voided"},
    ],
    "classes": [{"zoho_class_id": "c1", "class_name": "Programming & Design", "unit_name": "Unit 1", "teacher_name": "Omar",
                 "term": "Fall", "year": "2026", "start_date": "2026-09-01", "end_date": "2026-12-20", "start_hour": "10:00",
                 "end_hour": "12:00", "classroom": "Lab 2", "class_status": "Active", "moodle_class_id": 5}],
    "grades": [{"unit_name": "Unit 1 & 2", "btec_grade_name": "", "grade": "M", "attempt_number": 2,
                "attempt_date": "2026-11-01", "feedback": "Good & clear",
                # as mzi writes a Moodle grade's outcomes (moodle_grade): the text in LO_Definition
                "learning_outcomes": '[{"LO_Code": "M1", "LO_Title": "Criterion M1", "LO_Definition": "Analyse & compare",'
                                     ' "LO_Score": "Not Achieved", "LO_Feedback": "Too short"},'
                                     ' {"LO_Code": "P1", "LO_Title": "Criterion P1", "LO_Definition": "Explain <code>",'
                                     ' "LO_Score": "Achieved", "LO_Feedback": null}]'}],
    "requests": [
        {"id": 3, "zoho_request_id": "z3", "request_number": "REQ-3", "request_type": "Student Card", "status": "Pending",
         "request_date": "2026-03-01", "reason": "Lost my card & need a new one", "requested_classes": None,
         "details": None, "origin": "zoho"},
        {"id": 4, "zoho_request_id": None, "request_number": "MDL-4", "request_type": "Class Drop", "status": "Pending",
         "request_date": "2026-03-02", "reason": "", "requested_classes": '[{"Class_ID": "c1", "Class_Name": "A & B"},'
                                                                          ' {"Class_ID": "c2", "Class_Name": null}]',
         "details": '{"changes": {"phone_number": "+962 7 & 8", "secret": "x"}, "unit": "Unit 1"}', "origin": "moodle",
         "sync_status": None, "sync_message": None},
        {"id": 5, "zoho_request_id": None, "request_number": "MDL-5", "request_type": "Student Card", "status": "Pending",
         "request_date": "2026-03-03", "reason": "Stolen", "requested_classes": None, "details": None, "origin": "moodle",
         "sync_status": "failed", "sync_message": "INVALID_DATA <Request_Type> & more"},
        {"id": 6, "zoho_request_id": "z6", "request_number": "MDL-6", "request_type": "Student Card", "status": "Approved",
         "request_date": "2026-03-04", "reason": "Worn", "requested_classes": None, "details": None, "origin": "moodle",
         "sync_status": "sent", "sync_message": ""},
    ],
}


def area(tab: str, *, data: dict[str, Any] = DATA, lang: str = "en", base: str = "/local/mzi/index.php",
         **options: Any) -> str:
    rows = "[" + ", ".join(f"'{k}' => {php_literal(v, objects=True)}" for k, v in data.items()) + "]"
    opts = {"today": TODAY} | options
    return (f"(new \\local_mzi\\output\\student_area({php_literal(STUDENT, objects=True)}, {rows}, '{tab}',"
            f" new moodle_url('{base}'), {php_literal(opts)}))->export_for_template(new renderer_base())")


def page_html(tab: str, **options: Any) -> tuple[dict[str, Any], str]:
    context = php_eval(area(tab, **options))
    return context, render("student_area", context).html


@pytest.mark.parametrize("tab", ["profile", "finance", "classes", "grades", "requests", "card"])
def test_each_tab_holds_raw_text_and_renders_it_escaped_once(tab: str) -> None:
    context, html = page_html(tab, cansubmit=True, opentypes={"studentcard": "Student Card"}, qrdatauri="data:x")
    assert "&amp;" not in repr(context) and "&lt;" not in repr(context), context
    assert "&amp;amp;" not in html and "&amp;" in html
    assert [t["active"] for t in context["tabs"]] == [t["key"] == tab for t in context["tabs"]]
    assert set(context) & {"profile", "finance", "classes", "grades", "requests", "card"} == {tab}


def test_the_issue_examples_show_single_escaped() -> None:
    _, finance = page_html("finance")
    _, requests = page_html("requests")
    assert "Accounting &amp; Finance" in finance
    assert "Lost my card &amp; need a new one" in requests


def test_finance_shows_states_paid_and_remaining_per_currency_without_cancelled_or_voided() -> None:
    finance = php_eval(area("finance"))["finance"]
    active = finance["registrations"][0]
    assert [(i["number"], i["state"], i["statelabel"]) for i in active["installments"]] == [
        (1, "paid", "Paid"), (2, "overdue", "Overdue"), (3, "due", "Due")]
    assert (active["total"], active["paid"], active["remaining"], active["overduecount"]) == ("3000.00", "1000.00", "2000.00", 1)
    assert finance["balances"] == [{"currency": "JOD", "total": "3000.00", "paid": "1000.00", "remaining": "2000.00",
                                    "settled": False}]
    assert [p["number"] for p in finance["payments"]] == ["PAY-1"]
    assert finance["registrations"][1]["cancelled"] is True


def test_grades_show_letter_name_attempt_and_outcomes() -> None:
    grade = php_eval(area("grades"))["grades"]["grades"][0]
    assert (grade["letter"], grade["gradename"], grade["resubmission"]) == ("M", "Merit", True)
    assert grade["outcomes"] == [
        {"code": "P1", "level": "P", "title": "", "definition": "Explain <code>", "feedback": "",
         "achieved": True, "notachieved": False, "notassessed": False},
        {"code": "M1", "level": "M", "title": "", "definition": "Analyse & compare", "feedback": "Too short",
         "achieved": False, "notachieved": True, "notassessed": False}]
    assert grade["summary"] == [{"level": "P", "achieved": 1, "total": 1}, {"level": "M", "achieved": 0, "total": 1}]
    arabic = php_eval(area("grades"), lang="ar")["grades"]["grades"][0]
    assert arabic["gradename"] == "جيد جدًا"


def test_grades_tab_shows_a_moodle_grades_criteria_text_and_achieved_or_not() -> None:
    _, html = page_html("grades")
    rows = [htmllib.unescape(" ".join(r.split())) for r in html.split("<tr>")[2:]]
    assert "Explain &lt;code&gt;" in html and "Criterion P1" not in html
    assert "P1" in rows[0] and "Achieved" in rows[0] and "Not achieved" not in rows[0], rows[0]
    assert "Analyse & compare" in rows[1] and "Not achieved" in rows[1] and "Too short" in rows[1], rows[1]


def test_classes_link_to_their_moodle_course() -> None:
    cls = php_eval(area("classes"))["classes"]["classes"][0]
    assert cls["courseurl"] == "https://moodle.example/course/view.php?id=5"
    assert (cls["hours"], cls["term"]) == ("10:00–12:00", "Fall 2026")


def test_requests_show_their_classes_and_only_changeable_details() -> None:
    requests = php_eval(area("requests"))["requests"]["requests"]
    drop = requests[1]
    assert (drop["number"], drop["type"], drop["classes"]) == ("MDL-4", "Class drop", "A & B, c2")
    assert drop["details"] == [{"label": "Phone", "value": "+962 7 & 8"}, {"label": "Unit", "value": "Unit 1"}]


def test_a_request_not_yet_in_zoho_says_it_waits_or_why_its_send_failed() -> None:
    notes = {r["number"]: r["syncnote"] for r in php_eval(area("requests"))["requests"]["requests"]}
    assert notes == {"REQ-3": "", "MDL-4": "Waiting to be sent to the office.",
                     "MDL-5": "Not received by the office yet: INVALID_DATA <Request_Type> & more", "MDL-6": ""}
    _, html = page_html("requests")
    assert "Not received by the office yet: INVALID_DATA &lt;Request_Type&gt; &amp; more" in html
    arabic = {r["number"]: r["syncnote"] for r in php_eval(area("requests"), lang="ar")["requests"]["requests"]}
    assert arabic["MDL-4"] == "بانتظار إرساله إلى المكتب."


def test_a_student_is_offered_only_the_request_types_open_now_and_staff_none() -> None:
    open_now = {"latesubmission": "Late Submission", "studentcard": "Student Card"}
    student = php_eval(area("requests", cansubmit=True, opentypes=open_now))["requests"]
    assert [n["url"] for n in student["newrequests"]] == [
        "https://moodle.example/local/mzi/request.php?type=latesubmission",
        "https://moodle.example/local/mzi/request.php?type=studentcard"]
    staff = php_eval(area("requests", cansubmit=True, opentypes=open_now, staffview=True))
    assert staff["staffview"] is True and staff["requests"]["cansubmit"] is False and staff["requests"]["newrequests"] == []


def test_staff_tab_links_keep_the_student_they_look_at() -> None:
    context = php_eval(area("card", base="/local/mzi/admin/lookup.php?sid=42&q=a%26b", staffview=True))
    assert context["tabs"][1]["url"] == "https://moodle.example/local/mzi/admin/lookup.php?sid=42&q=a%26b&tab=finance"
    html = render("student_area", context).html
    assert 'href="https://moodle.example/local/mzi/admin/lookup.php?sid=42&amp;q=a%26b&amp;tab=finance"' in html


def test_the_card_has_both_names_the_number_and_the_programme_of_the_active_registration() -> None:
    card = php_eval(area("card", qrdatauri="data:image/svg+xml;base64,AAA", photourl=""))["card"]
    assert (card["name"], card["nativename"], card["number"]) == ("Lina Haddad & Co", "لينا حداد", "STU-00042")
    assert (card["program"], card["initials"], card["hasphoto"], card["hasqr"]) == ("Accounting & Finance", "LH", False, True)


def test_an_unknown_tab_shows_the_profile() -> None:
    assert "profile" in php_eval(area("nosuchtab"))


def test_the_outbox_page_holds_raw_errors_and_translated_statuses() -> None:
    rows = [{"id": 1, "eventname": "\\core\\event\\user_created", "objectid": 3, "relateduserid": 3, "status": "dead",
             "attempts": 10, "timecreated": 0, "nextattempt": 0, "lasterror": "HTTP 503 <b>busy</b> & down"},
            {"id": 2, "eventname": "\\core\\event\\user_updated", "objectid": 3, "relateduserid": 3, "status": "delivered",
             "attempts": 1, "timecreated": 0, "nextattempt": 0, "lasterror": ""}]
    setup, context = php_eval_many([f"stub_db(['local_mzi_outbox' => {php_literal(rows)}])",
                                    "(new \\local_mzi\\output\\outbox_page('', 0))->export_for_template(new renderer_base())"])
    assert setup is True
    assert [(r["id"], r["status"], r["badge"], r["canretry"]) for r in context["rows"]] == [
        (2, "Delivered", "badge-success", False), (1, "Dead", "badge-danger", True)]
    assert context["rows"][1]["lasterror"] == "HTTP 503 <b>busy</b> & down"
    assert [(f["label"], f["count"]) for f in context["filters"]][1:] == [
        ("Pending", 0), ("Delivered", 1), ("Failed", 0), ("Dead", 1)]
    html = render("outbox", context).html
    assert "HTTP 503 &lt;b&gt;busy&lt;/b&gt; &amp; down" in html


def test_the_lookup_lists_matches_linking_to_their_area() -> None:
    expression = (f"(new \\local_mzi\\output\\lookup_page('a&b', [{php_literal(STUDENT, objects=True)}],"
                  " new moodle_url('/local/mzi/admin/lookup.php'), 42))->export_for_template(new renderer_base())")
    context = php_eval(expression)
    assert context["results"] == [{"name": "Lina Haddad & Co", "number": "STU-00042", "email": "lina@abc.example",
                                   "status": "Active", "userid": 12, "shown": True,
                                   "url": "https://moodle.example/local/mzi/admin/lookup.php?sid=42"}]
    html = render("lookup", context).html
    assert 'value="a&amp;b"' in html and "Lina Haddad &amp; Co" in html


def test_the_windows_page_says_which_window_is_open_now() -> None:
    windows = {"Class Drop": {"request_type": "Class Drop", "enabled": 1, "open_from": 100, "open_until": 200}}
    rows = php_eval(f"(new \\local_mzi\\output\\windows_page(array_map(function($w) {{ return (object)$w; }},"
                    f" {php_literal(windows)}), 150))->export_for_template(new renderer_base())")["windows"]
    assert [(r["type"], r["state"]) for r in rows] == [("Enrol next semester", "Switched off"), ("Class drop", "Open")]


def test_the_health_page_describes_the_incidents_the_alert_task_would_tell() -> None:
    facts = {"lastdelivery": 0, "deadids": [5], "outbox": {"pending": 0, "dead": 1}, "tables": {"local_mzi_students": 3},
             "maxage": 86400, "now": 1_000_000,
             "syncrows": [{"kind": "payment", "command": "apply", "status": "failed", "runid": 9,
                           "timefinished": 900_000, "timemodified": 900_000}]}
    expression = ("(new \\local_mzi\\output\\health_page(array_merge(" + php_literal(facts) + ", ['syncrows' => "
                  + php_literal(facts["syncrows"], objects=True) + "])))->export_for_template(new renderer_base())")
    context = php_eval(expression)
    texts = [i["text"] for i in context["incidents"]]
    assert texts == ["No sync from mzi since Sunday, 11 January 1970, 10:00 (100000 secs ago)",
                     "mzi run 9 ended Failed (payment apply)",
                     "The outbox holds 1 dead event(s) that mzi never received"], texts
    assert context["lastdelivery"] == "[never,moodle]"
    assert "No sync from mzi since" in htmllib.unescape(render("health", context).html)
