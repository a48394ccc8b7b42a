"""Render the plugin's mustache templates as Moodle does, without a Moodle.

Moodle renders templates with Mustache.php, escaping ``{{var}}`` with ``s()`` and offering the
helpers ``str``, ``pix``, ``quote`` and ``js``. Here chevron renders them with the same escaping
(ENT_QUOTES as in PHP, numeric entities left alone) and helpers that behave like Moodle 4.3's:
``{{#str}}key, component, $a{{/str}}`` renders ``$a`` (JSON when it starts with ``{``) and returns
the lang string unescaped; ``{{#pix}}`` returns an icon whose attributes are escaped once;
``{{#quote}}`` renders and wraps in double quotes; ``{{#js}}`` renders and keeps the code out of
the HTML. Lang strings come from the plugin's lang files, read by the ``php`` CLI, and a string
the plugin lacks fails. Partials ``{{> local_mzi/x}}`` are the plugin's templates.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from needs import skip_or_fail

PLUGIN = Path(__file__).resolve().parents[1] / "moodle_plugin"
TEMPLATES = PLUGIN / "templates"
EXAMPLE = re.compile(r"Example context \(json\):(.*?)\}\}", re.S)


def moodle_s(text: str) -> str:
    """Moodle's s(): htmlspecialchars(ENT_QUOTES | ENT_HTML401), numeric entities kept."""
    text = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#039;"))
    return re.sub(r"&amp;#(\d+|x[0-9a-fA-F]+);", r"&#\1;", text)


@cache
def lang_strings(lang: str) -> dict[str, str]:
    """The plugin's ``$string`` array for a language, as PHP reads it."""
    php = shutil.which("php")
    if php is None:
        skip_or_fail("php CLI not installed (apt-get install php-cli)")
    code = ("define('MOODLE_INTERNAL', true); $string = []; include($argv[1]);"
            " echo json_encode($string, JSON_UNESCAPED_UNICODE);")
    done = subprocess.run([php, "-r", code, "--", str(PLUGIN / "lang" / lang / "local_mzi.php")],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0 and not done.stderr, f"php could not read lang/{lang}: {done.stderr}"
    strings: dict[str, str] = json.loads(done.stdout)
    return strings


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.mustache"))


def template_source(name: str) -> str:
    return (TEMPLATES / f"{name}.mustache").read_text(encoding="utf-8")


def example_json(name: str) -> str:
    """The raw text of a template's "Example context (json)" (up to the end of its comment)."""
    match = EXAMPLE.search(template_source(name))
    assert match, f"{name}.mustache has no 'Example context (json):' in its docblock"
    return match.group(1).strip()


def example_context(name: str) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(example_json(name))
    return context


def get_string(strings: dict[str, str], key: str, component: str, a: Any) -> str:
    """get_string with Moodle's ``{$a}`` / ``{$a->name}`` substitution."""
    assert component == "local_mzi", f"{{{{#str}}}} of another component: {key}, {component}"
    assert key in strings, f"the template uses string {key!r}, which the lang file lacks"
    text = strings[key]
    if isinstance(a, dict):
        for name, value in a.items():
            text = text.replace("{$a->" + name + "}", str(value))
    elif a not in (None, ""):
        text = text.replace("{$a}", str(a))
    return text


class Rendering:
    """One render: the HTML, and what the js helper kept out of it."""

    def __init__(self, html: str, js: list[str]) -> None:
        self.html = html
        self.js = js


def _helpers(strings: dict[str, str], js: list[str]) -> dict[str, Callable[[str, Callable[[str], str]], str]]:
    def split(text: str, render: Callable[[str], str]) -> tuple[str, str, Any]:
        key, _, rest = text.partition(",")
        component, _, a_text = rest.partition(",")
        a_text = a_text.strip()
        a: Any = render(a_text) if a_text else None
        if a_text.startswith("{") and not a_text.startswith("{{"):
            a = json.loads(a)
        return key.strip(), component.strip() or "moodle", a

    def str_helper(text: str, render: Callable[[str], str]) -> str:
        key, component, a = split(text, render)
        return get_string(strings, key, component, a)

    def pix_helper(text: str, render: Callable[[str], str]) -> str:
        key, _, rest = text.partition(",")
        component, _, alt = rest.partition(",")
        alt = render(alt.strip())
        return (f'<i class="icon fa fa-fw" data-pix="{moodle_s(component.strip())}/{moodle_s(key.strip())}"'
                f' title="{moodle_s(alt)}" role="img" aria-label="{moodle_s(alt)}"></i>')

    def quote_helper(text: str, render: Callable[[str], str]) -> str:
        return '"' + render(text).strip().replace('"', '\\"') + '"'

    def js_helper(text: str, render: Callable[[str], str]) -> str:
        js.append(render(text))
        return ""

    return {"str": str_helper, "pix": pix_helper, "quote": quote_helper, "js": js_helper}


@contextmanager
def _moodle_escaping() -> Iterator[None]:
    import chevron.renderer

    original = chevron.renderer._html_escape
    chevron.renderer._html_escape = moodle_s
    try:
        yield
    finally:
        chevron.renderer._html_escape = original


def render(name: str, context: dict[str, Any], *, lang: str = "en") -> Rendering:
    """Render ``local_mzi/<name>`` over ``context`` as Moodle would (strings of ``lang``)."""
    try:
        import chevron
    except ImportError:  # a venv made before chevron joined the test extras
        skip_or_fail("chevron is not installed: pip install -e '.[test]'")
    js: list[str] = []
    partials = {f"local_mzi/{n}": template_source(n) for n in template_names()}
    with _moodle_escaping():
        html = chevron.render(template_source(name), dict(context) | _helpers(lang_strings(lang), js),
                              partials_dict=partials)
    return Rendering(html, js)


def page(body: str, *, lang: str, title: str, css: list[str]) -> str:
    """A standalone HTML page around a rendered template, in Moodle's page direction."""
    direction = "rtl" if lang == "ar" else "ltr"
    links = "".join(f'<link rel="stylesheet" href="{href}">' for href in css)
    return (f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
            f"<title>{moodle_s(title)}</title>{links}</head>"
            f'<body class="{direction}"><div class="container-fluid py-3"><h1 class="h3 mb-3">{moodle_s(title)}</h1>'
            f"{body}</div></body></html>")
