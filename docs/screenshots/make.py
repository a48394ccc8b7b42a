"""Screenshots of local_mzi's pages, in English and in Arabic (right to left), for the README.

Each page template is rendered from its docblock's example context the way Moodle renders it
(tests/moodle_templates.py: s() escaping, the str/pix/quote/js helpers, the plugin's lang files),
inside a page with Bootstrap 4.6 (npm's bootstrap@4.6.2, the major version Moodle 4.x's Boost is
built on) and the plugin's styles.css. For Arabic the page is dir="rtl" and Bootstrap's CSS is
flipped with rtlcss, which is what Moodle does to its own CSS for right-to-left languages.
Headless Chromium (Debian's ``chromium``) takes the screenshots; Pillow, when installed, makes
the PNG files small.

    python docs/screenshots/make.py            # writes docs/screenshots/*.png

Needs: php, npm, chromium. Bootstrap and rtlcss are cached in ~/.cache/mzi-screenshots, never
in the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
CACHE = Path.home() / ".cache" / "mzi-screenshots"
sys.path.insert(0, str(ROOT / "tests"))

from moodle_templates import PLUGIN, example_context, lang_strings, page, render  # noqa: E402
from plugin_php import php_eval, php_literal  # noqa: E402

#: A student as the mirror holds her, for the student area's pages: the area's contexts are made by
#: the plugin's own student_area::export_for_template in the php CLI, so the labels are the
#: language's (tabs, states, grade names) and the values raw, as on a real page.
STUDENT = {
    "id": 42, "zoho_student_id": "900042", "student_id": "STU-00042", "first_name": "Lina", "last_name": "Haddad",
    "first_name_native": "لينا", "last_name_native": "حداد", "display_name": "Lina Haddad",
    "academic_email": "lina.haddad@abc.example", "email": "lina@example.com", "phone_number": "+962 79 000 0042",
    "address": None, "city": "Amman", "nationality": "Jordanian", "date_of_birth": "2004-05-06", "national_id": "",
    "major": "Accounting & Finance", "sub_major": "", "academic_program": "BTEC Level 5 Accounting & Finance",
    "study_language": "English", "status": "Active", "moodle_user_id": 12,
}
#: as mzi writes a Moodle grade's outcomes (moodle_grade): LO_Title restates the code, the text is LO_Definition
OUTCOMES = ('[{"LO_Code": "P1", "LO_Title": "Criterion P1", "LO_Definition": "Explain the accounting cycle", "LO_Score": "Achieved"},'
            ' {"LO_Code": "P2", "LO_Title": "Criterion P2", "LO_Definition": "Prepare financial statements", "LO_Score": "Achieved"},'
            ' {"LO_Code": "M1", "LO_Title": "Criterion M1", "LO_Definition": "Analyse the statements", "LO_Score": "Achieved",'
            ' "LO_Feedback": "Well argued"},'
            ' {"LO_Code": "D1", "LO_Title": "Criterion D1", "LO_Definition": "Evaluate the results", "LO_Score": "Not Achieved",'
            ' "LO_Feedback": "Needs depth"}]')
ROWS: dict[str, list[dict[str, Any]]] = {
    "registrations": [{"zoho_registration_id": "r1", "registration_number": "REG-0007",
                       "program_name": "BTEC Level 5 Accounting & Finance", "registration_date": "2026-01-10",
                       "registration_status": "Active", "total_fees": "3000.00", "remaining_amount": "2000.00",
                       "currency": "JOD"}],
    "installments": [
        {"zoho_registration_id": "r1", "installment_number": n, "due_date": due, "amount": "1000.00", "status": st,
         "paid_date": paid} for n, due, st, paid in [(1, "2026-02-01", "Paid", "2026-01-30"), (2, "2026-03-01", "Pending", None),
                                                     (3, "2026-12-01", "Pending", None)]],
    "payments": [{"zoho_registration_id": "r1", "payment_number": "PAY-0009", "payment_date": "2026-01-30",
                  "payment_amount": "1000.00", "currency": "JOD", "payment_method": "Cash", "installment_no": 1,
                  "payment_status": "Paid"}],
    "classes": [
        {"zoho_class_id": "c1", "class_name": "Financial Accounting A", "unit_name": "Unit 1: Financial Accounting",
         "teacher_name": "Omar Khalil", "term": "Fall", "year": "2026", "start_date": "2026-09-01", "end_date": "2026-12-20",
         "start_hour": "10:00", "end_hour": "12:00", "classroom": "Room 204", "class_status": "Active", "moodle_class_id": 5},
        {"zoho_class_id": "c2", "class_name": "Business Law & Ethics B", "unit_name": "Unit 4: Business Law",
         "teacher_name": "Rana Saleh", "term": "Fall", "year": "2026", "start_date": "2026-09-01", "end_date": "2026-12-20",
         "start_hour": "", "end_hour": "", "classroom": "", "class_status": "Active", "moodle_class_id": None}],
    "grades": [
        {"unit_name": "Unit 1: Financial Accounting", "btec_grade_name": "", "grade": "M", "attempt_number": 2,
         "attempt_date": "2026-11-01", "feedback": "Good structure & clear workings.\nAdd notes to the statements.",
         "learning_outcomes": OUTCOMES},
        {"unit_name": "Unit 4: Business Law", "btec_grade_name": "", "grade": "D", "attempt_number": 1,
         "attempt_date": "2026-10-12", "feedback": "", "learning_outcomes": None}],
    "requests": [
        {"id": 5, "zoho_request_id": None, "request_number": "MDL-5", "request_type": "Change Information",
         "status": "Pending", "request_date": "2026-11-23", "reason": "New number",
         "requested_classes": None, "details": '{"changes": {"phone_number": "+962 79 000 0043"}}', "origin": "moodle",
         "sync_status": "failed", "sync_message": "INVALID_DATA: Phone_Number"},
        {"id": 4, "zoho_request_id": None, "request_number": "MDL-4", "request_type": "Late Submission", "status": "Pending",
         "request_date": "2026-11-22", "reason": "Medical leave", "requested_classes": None,
         "details": '{"unit": "Unit 1: Financial Accounting"}', "origin": "moodle", "sync_status": None, "sync_message": None},
        {"id": 3, "zoho_request_id": "z3", "request_number": "REQ-0003", "request_type": "Student Card", "status": "Pending",
         "request_date": "2026-11-20", "reason": "Lost my card & need a new one", "requested_classes": None,
         "details": None, "origin": "zoho"},
        {"id": 2, "zoho_request_id": "z2", "request_number": "REQ-0002", "request_type": "Class Drop", "status": "Approved",
         "request_date": "2026-10-02", "reason": "Timetable clash",
         "requested_classes": '[{"Class_ID": "c9", "Class_Name": "Statistics C"}]', "details": None, "origin": "zoho"}],
}
OPEN_TYPES = {"latesubmission": "Late Submission", "studentcard": "Student Card", "changeinformation": "Change Information"}
STUDENT_TABS = ["profile", "finance", "classes", "grades", "requests", "card"]
WIDTH = 1200


class ScreenshotError(RuntimeError):
    """A tool the screenshots need is missing or failed; the message says which."""


def run(*command: str, cwd: Path | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ScreenshotError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")


def stylesheets() -> tuple[Path, Path]:
    """Bootstrap 4.6.2's CSS from the npm registry, and its right-to-left flip by rtlcss."""
    ltr = CACHE / "bootstrap-4.6.2.css"
    rtl = CACHE / "bootstrap-4.6.2.rtl.css"
    if ltr.exists() and rtl.exists():
        return ltr, rtl
    if shutil.which("npm") is None:
        raise ScreenshotError("npm is needed to fetch bootstrap@4.6.2 (apt-get install npm)")
    CACHE.mkdir(parents=True, exist_ok=True)
    run("npm", "pack", "bootstrap@4.6.2", cwd=CACHE)
    with tarfile.open(CACHE / "bootstrap-4.6.2.tgz") as archive:
        member = archive.extractfile("package/dist/css/bootstrap.css")
        assert member is not None
        ltr.write_bytes(member.read())
    run("npm", "install", "--no-save", "--prefix", str(CACHE), "rtlcss@4", cwd=CACHE)
    run(str(CACHE / "node_modules" / ".bin" / "rtlcss"), str(ltr), str(rtl))
    return ltr, rtl


def pages() -> list[tuple[str, str, str, int]]:
    """(name, template, title string key, height) of every page shown."""
    shown = [(f"student-{tab}", "student_area", "studentarea", {"finance": 800, "grades": 1000, "requests": 600, "profile": 760}.get(tab, 560))
             for tab in STUDENT_TABS]
    return shown + [("staff-lookup", "lookup", "studentlookup", 420), ("staff-status", "status", "syncstatus", 560),
                    ("staff-outbox", "outbox", "outbox", 480), ("staff-health", "health", "health", 640),
                    ("staff-windows", "windows", "requestwindows", 300)]


def context(name: str, template: str, lang: str) -> dict[str, Any]:
    """A staff page's example context; a student tab's context as the plugin's PHP exports it."""
    if not name.startswith("student-"):
        return example_context(template)
    tab = name.removeprefix("student-")
    rows = "[" + ", ".join(f"'{k}' => {php_literal(v, objects=True)}" for k, v in ROWS.items()) + "]"
    options = {"today": "2026-03-15", "cansubmit": True, "opentypes": OPEN_TYPES,
               "qrdatauri": example_context("student_card")["qrdatauri"],
               "receipts": {"4": "https://moodle.example/pluginfile.php/5/local_mzi/receipt/4/receipt.jpg"}}
    expression = (f"(new \\local_mzi\\output\\student_area({php_literal(STUDENT, objects=True)}, {rows}, '{tab}',"
                  f" new moodle_url('/local/mzi/index.php'), {php_literal(options)}))->export_for_template(new renderer_base())")
    answer: dict[str, Any] = php_eval(expression, lang=lang)
    return answer


def shoot(html: Path, png: Path, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise ScreenshotError("chromium is needed (apt-get install chromium)")
    run(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
        f"--window-size={WIDTH},{height}", f"--screenshot={png}", html.as_uri())
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        image.convert("RGB").quantize(colors=64).save(png, optimize=True)


def main() -> int:
    ltr, rtl = stylesheets()
    styles = PLUGIN / "styles.css"
    with tempfile.TemporaryDirectory() as tmp:
        for name, template, title, height in pages():
            for lang in ("en", "ar"):
                body = render(template, context(name, template, lang), lang=lang).html
                html = Path(tmp) / f"{name}-{lang}.html"
                css = [(rtl if lang == "ar" else ltr).as_uri(), styles.as_uri()]
                html.write_text(page(body, lang=lang, title=lang_strings(lang)[title], css=css), encoding="utf-8")
                shoot(html, OUT / f"{name}-{lang}.png", height)
                print(f"{name}-{lang}.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ScreenshotError as error:
        print(f"screenshots: {error}", file=sys.stderr)
        sys.exit(1)
