"""Static checks of the Moodle plugin's access rules, read from the PHP itself.

Every page a browser can open (a PHP file that loads Moodle's config.php) logs the user in
and checks a ``local/mzi`` capability in the system context before it reads data or prints
anything. Student pages show the caller's own record: a parameter naming another person
is used only after ``local/mzi:viewothers``, and the student record is looked up by
``$USER->id`` otherwise. Every web-service function validates its parameters and context
and checks its capability; the one a student may call takes no parameter naming a
person. The behaviour behind these rules (a student cannot reach another's records
through a function) is checked on the emulator and a real Moodle in
tests/contract/test_student_isolation.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from security_summary import record_summary

PLUGIN = Path(__file__).resolve().parents[2] / "moodle_plugin"
CONFIG_INCLUDE = re.compile(r"require_once\(__DIR__\s*\.\s*'(?:/\.\.)+/config\.php'\)")
CAPABILITY = re.compile(r"require_capability\('(local/mzi:[a-z]+)'")
#: what a page must not do before the user is logged in and allowed: read data, print, redirect
FIRST_EFFECT = re.compile(r"\$DB->|student_data::|requests::|class_drop::|\becho\b|\$output->|redirect\(|"
                          r"send_stored_file|get_file_storage\(")
#: parameters that name a person (or a person's record) on a page
PERSON_PARAM = re.compile(r"\$(\w+)\s*=\s*(?:optional|required)_param\('(userid|studentid|sid|user|student|"
                          r"zoho_student_id|moodle_user_id)'")
#: capabilities every logged-in user has (db/access.php: archetype user): pages guarded only
#: by them are student pages, bound to the caller's own record
STUDENT_CAPABILITIES = {"local/mzi:viewdashboard", "local/mzi:submitrequest"}
VIEW_OTHERS = "require_capability('local/mzi:viewothers'"


def _code(path: Path) -> str:
    """The PHP without comments, so a rule is met by code and not by a docblock."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"(?m)^\s*//.*$", "", text)


def pages() -> list[Path]:
    return sorted(p for p in PLUGIN.rglob("*.php") if CONFIG_INCLUDE.search(p.read_text(encoding="utf-8")))


def _declared_capabilities() -> set[str]:
    return set(re.findall(r"'(local/mzi:[a-z]+)'\s*=>", (PLUGIN / "db" / "access.php").read_text(encoding="utf-8")))


def _id(path: Path) -> str:
    return str(path.relative_to(PLUGIN))


def test_the_plugin_has_the_pages_this_suite_checks() -> None:
    found = {_id(p) for p in pages()}
    expected = {"index.php", "request.php", "admin/status.php", "admin/lookup.php", "admin/outbox.php",
                "admin/windows.php", "admin/health.php"}
    assert expected <= found, f"pages missing from the scan: {sorted(expected - found)}"
    record_summary("plugin_pages", {"pages_checked": sorted(found)})


@pytest.mark.parametrize("page", pages(), ids=_id)
def test_every_page_logs_in_checks_a_capability_in_the_system_context_before_any_effect(page: Path) -> None:
    code = _code(page)
    login = [m.start() for m in re.finditer(r"require_login\(|admin_externalpage_setup\(", code)]
    assert login, f"{_id(page)} never calls require_login (or admin_externalpage_setup, which does)"
    capabilities = list(CAPABILITY.finditer(code))
    assert capabilities, f"{_id(page)} checks no local/mzi capability"
    unknown = {m.group(1) for m in capabilities} - _declared_capabilities()
    assert not unknown, f"{_id(page)} checks capabilities db/access.php does not declare: {unknown}"
    assert "context_system::instance()" in code, f"{_id(page)} names no context for its capability check"
    assert "$PAGE->set_context(" in code or "admin_externalpage_setup(" in code, \
        f"{_id(page)} never sets the page context"
    effect = FIRST_EFFECT.search(code)
    if effect is not None:
        first_check = capabilities[0].start()
        assert min(login) < effect.start() and first_check < effect.start(), (
            f"{_id(page)}: {effect.group(0)!r} at offset {effect.start()} comes before the login "
            f"({min(login)}) or capability check ({first_check})")


@pytest.mark.parametrize("page", pages(), ids=_id)
def test_a_parameter_naming_a_person_is_used_only_after_viewothers(page: Path) -> None:
    code = _code(page)
    for declared in PERSON_PARAM.finditer(code):
        variable = re.escape("$" + declared.group(1))
        # a use as a value (a call's argument, an array value), not a test in an if
        for use in re.finditer(rf"(?:\w\(|,|=>)\s*(?:\(int\))?{variable}\b", code[declared.end():]):
            before = code[:declared.end() + use.start()]
            admin_page = "admin_externalpage_setup(" in code and VIEW_OTHERS in code
            assert VIEW_OTHERS in before or admin_page, (
                f"{_id(page)} uses {declared.group(1)} ({use.group(0).strip()!r}) before "
                "require_capability('local/mzi:viewothers')")


def _student_pages() -> list[Path]:
    return [p for p in pages() if {m.group(1) for m in CAPABILITY.finditer(_code(p))} & STUDENT_CAPABILITIES]


def test_the_student_pages_are_the_student_area_and_the_request_forms() -> None:
    assert {_id(p) for p in _student_pages()} == {"index.php", "request.php"}


@pytest.mark.parametrize("page", _student_pages(), ids=_id)
def test_a_student_page_reads_the_callers_own_record_unless_viewothers(page: Path) -> None:
    code = _code(page)
    for call in re.finditer(r"student_data::student\(([^;]*?)\);", code):
        argument = call.group(1).strip()
        if argument == "(int)$USER->id":
            continue
        block = code[code.rfind("if (", 0, call.start()):call.start()]
        assert VIEW_OTHERS in block, f"{_id(page)} reads student_data::student({argument}) without viewothers"


@pytest.mark.parametrize("page", _student_pages(), ids=_id)
def test_a_student_page_says_its_own_data_rule_in_its_docblock(page: Path) -> None:
    doc = re.search(r"/\*\*(.*?)\*/", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert doc is not None and re.search(r"\bown\b", doc.group(1)), (
        f"{_id(page)}: the docblock does not say whose data the page shows (the own-data rule)")


def test_receipts_are_served_to_their_owner_or_to_staff_who_may_view_others() -> None:
    code = _code(PLUGIN / "lib.php")
    body = code[code.index("function local_mzi_pluginfile"):]
    body = body[:body.index("\n}\n")]
    login, owner, others = (body.find(s) for s in ("require_login(", "$context->instanceid !== (int)$USER->id",
                                                    VIEW_OTHERS))
    served = body.find("send_stored_file(")
    assert -1 not in (login, owner, others, served), body
    assert login < owner < others < served, "the receipt is served before the owner check"
    assert "CONTEXT_USER" in body, "a receipt outside a user context would be served"


# ---------------------------------------------------------------------- web-service functions

def _services() -> dict[str, tuple[str, str]]:
    """Function name → (class name, capabilities) from db/services.php."""
    text = (PLUGIN / "db" / "services.php").read_text(encoding="utf-8")
    found = {}
    for m in re.finditer(r"'(local_mzi_\w+)'\s*=>\s*\[(.*?)\n    \]", text, flags=re.DOTALL):
        cls = re.search(r"'classname'\s*=>\s*'local_mzi\\\\external\\\\(\w+)'", m.group(2))
        caps = re.search(r"'capabilities'\s*=>\s*'([^']*)'", m.group(2))
        assert cls is not None, m.group(0)
        found[m.group(1)] = (cls.group(1), caps.group(1) if caps else "")
    return found


def _execute(name: str) -> str:
    """The execute() body that runs for class ``name``, following ``extends`` to its base."""
    code = _code(PLUGIN / "classes" / "external" / f"{name}.php")
    if "function execute(" in code:
        start = code.index("function execute(")
        return code[start:code.find("\n    }\n", start)]
    base = re.search(r"class \w+ extends (\w+)", code)
    assert base is not None and base.group(1) != "external_api", f"{name} has no execute()"
    return _execute(base.group(1))


def _takes_no_parameters(name: str) -> bool:
    code = _code(PLUGIN / "classes" / "external" / f"{name}.php")
    return "new external_function_parameters([])" in code


@pytest.mark.parametrize("function", sorted(_services()))
def test_every_function_validates_parameters_and_context_and_checks_its_capability(function: str) -> None:
    cls, capabilities = _services()[function]
    body = _execute(cls)
    if not _takes_no_parameters(cls):
        assert "validate_parameters(" in body, f"{function} ({cls}) does not validate its parameters"
    assert "validate_context(" in body, f"{function} ({cls}) does not validate its context"
    if function == "local_mzi_get_info":  # what the caller may do, for doctor: the answer says canmanage
        assert "has_capability('local/mzi:manage'" in body, body[:600]
        return
    assert "require_capability(" in body, f"{function} ({cls}) checks no capability"
    declared = {c.strip() for c in capabilities.split(",") if c.strip().startswith("local/mzi:")}
    checked = set(CAPABILITY.findall(body))
    assert declared <= checked, f"{function}: services.php declares {declared}, execute() checks {checked}"


def test_the_only_function_a_student_may_call_acts_for_the_caller_and_names_no_person() -> None:
    student = {f: cls for f, (cls, caps) in _services().items()
               if {c.strip() for c in caps.split(",")} & STUDENT_CAPABILITIES}
    assert student == {"local_mzi_submit_request": "submit_request"}, student
    code = _code(PLUGIN / "classes" / "external" / "submit_request.php")
    parameters = code[code.index("function execute_parameters"):code.index("function execute(")]
    named = set(re.findall(r"'(\w+)'\s*=>\s*new external_", parameters))
    assert named == {"request_type", "reason", "classes"}, named
    assert "student_data::student((int)$USER->id)" in _execute("submit_request")
