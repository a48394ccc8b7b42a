"""Every template of the plugin renders from its docblock's example context as Moodle would
render it (tests/moodle_templates.py): valid HTML, every string found in lang/en and lang/ar,
no mustache tag left, and text escaped exactly once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from moodle_templates import example_context, example_json, render, template_names, template_source

TEMPLATES = template_names()
#: Context values a template may print unescaped ({{{x}}}): HTML Moodle made (paging_bar).
TRUSTED_HTML = {"paging"}
MARK = "&x<y>'\""
MARK_ESCAPED = "&amp;x&lt;y&gt;&#039;&quot;"


def parse_strictly(html: str) -> None:
    import html5lib

    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(html)


def mark_strings(value: Any, skip: set[str]) -> Any:
    """Every string leaf with MARK appended, except the values of keys in ``skip``."""
    if isinstance(value, dict):
        return {k: v if k in skip else mark_strings(v, skip) for k, v in value.items()}
    if isinstance(value, list):
        return [mark_strings(v, skip) for v in value]
    return value + MARK if isinstance(value, str) else value


def test_the_plugin_has_the_templates_the_pages_render() -> None:
    assert set(TEMPLATES) >= {"student_area", "student_profile", "student_finance", "student_classes", "student_grades",
                              "student_requests", "student_card", "lookup", "status", "outbox", "health", "windows"}


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_example_context_is_json_that_does_not_end_the_mustache_comment_early(name: str) -> None:
    text = example_json(name)
    assert "}}" not in text  # the comment ends at the first "}}": JSON holding one would leak into the page
    assert isinstance(json.loads(text), dict)


@pytest.mark.parametrize("name", TEMPLATES)
def test_only_html_moodle_made_is_printed_unescaped(name: str) -> None:
    unescaped = set(re.findall(r"\{\{\{\s*([\w.]+)\s*\}\}\}|\{\{&\s*([\w.]+)\s*\}\}", template_source(name)))
    names = {a or b for a, b in unescaped}
    assert names <= TRUSTED_HTML, f"{name} prints {names - TRUSTED_HTML} unescaped"


@pytest.mark.parametrize("lang", ["en", "ar"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_the_example_renders_to_valid_html_with_every_tag_and_string_resolved(name: str, lang: str) -> None:
    html = render(name, example_context(name), lang=lang).html
    parse_strictly(html)
    assert "{{" not in html and "}}" not in html, html
    assert "Example context" not in html


@pytest.mark.parametrize("name", TEMPLATES)
def test_text_with_an_ampersand_is_escaped_exactly_once(name: str) -> None:
    html = render(name, mark_strings(example_context(name), TRUSTED_HTML)).html
    parse_strictly(html)
    assert MARK_ESCAPED in html
    assert "&amp;amp;" not in html and "&amp;lt;" not in html and "&amp;#039;" not in html, html
    assert MARK not in html


def test_the_arabic_page_uses_the_arabic_strings() -> None:
    english = render("student_finance", example_context("student_finance"), lang="en").html
    arabic = render("student_finance", example_context("student_finance"), lang="ar").html
    assert "Installment schedule" in english and "جدول الأقساط" in arabic and "Installment schedule" not in arabic


def test_the_card_prints_through_javascript_kept_out_of_the_html() -> None:
    rendering = render("student_card", example_context("student_card"))
    assert 'data-action="local-mzi-print"' in rendering.html and "<script" not in rendering.html
    assert len(rendering.js) == 1 and "window.print()" in rendering.js[0]


def test_the_student_area_shows_only_the_active_tab_through_its_partial() -> None:
    context = example_context("student_area")
    html = render("student_area", context).html
    assert 'class="nav-link active" href="https://moodle.example/local/mzi/index.php?tab=profile" aria-current="page"' in html
    assert "Accounting &amp; Finance" in html and "local-mzi-finance" not in html
    context.pop("profile")
    html = render("student_area", context | {"grades": example_context("student_grades")}).html
    assert "local-mzi-grades" in html and "Good structure &amp; clear code." in html
