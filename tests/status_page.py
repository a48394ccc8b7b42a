"""The plugin's sync status page as an admin sees it, without a Moodle.

``export_for_template`` of ``classes/output/status_page.php`` is run by the ``php`` CLI
over rows taken from the emulator's database (Moodle's ``$DB``, ``s()``, ``userdate()``,
``get_config()`` and ``get_string()`` stubbed as Moodle behaves), and
``templates/status.mustache`` is rendered from that context with chevron, the
``{{#str}}`` helper reading the plugin's language file. The context is the PHP's own, so
the page shows exactly what the plugin would make of what mzi pushed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from needs import skip_or_fail

PLUGIN = Path(__file__).resolve().parents[1] / "moodle_plugin"

HARNESS = r"""
interface renderable {}
interface templatable {}
class renderer_base {}
function s($var) { return htmlspecialchars((string)$var, ENT_QUOTES | ENT_HTML401 | ENT_SUBSTITUTE); }
function userdate($time) { return gmdate('l, j F Y, H:i', (int)$time); }
function get_config($plugin, $name) { global $INPUT; return $INPUT['config'][$name] ?? false; }
function get_string($key, $component, $a = null) {
    global $STRINGS;
    if (!array_key_exists($key, $STRINGS)) { throw new Exception("get_string: no string '{$key}'"); }
    return $STRINGS[$key];
}
class stub_db {
    public function get_records($table, $conditions = null, $sort = '') {
        global $INPUT;
        $rows = array_map(function($r) { return (object)$r; }, $INPUT['tables'][$table] ?? []);
        $keys = array_map(function($part) { return preg_split('/\s+/', trim($part))[0]; }, explode(',', $sort));
        usort($rows, function($a, $b) use ($keys) {
            foreach ($keys as $k) { $c = strcmp((string)$a->$k, (string)$b->$k); if ($c) { return $c; } }
            return 0;
        });
        return $rows;
    }
    public function count_records($table, $conditions = []) {
        global $INPUT;
        return count(array_filter($INPUT['tables'][$table] ?? [], function($r) use ($conditions) {
            foreach ($conditions as $k => $v) { if ((string)$r[$k] !== (string)$v) { return false; } }
            return true;
        }));
    }
}
define('MOODLE_INTERNAL', true);
$INPUT = json_decode(stream_get_contents(STDIN), true);
$DB = new stub_db();
$string = [];
include($argv[1] . "/lang/{$INPUT['lang']}/local_mzi.php");
$STRINGS = $string;
require($argv[1] . '/classes/local/outbox.php');
require($argv[1] . '/classes/local/sync_status.php');
require($argv[1] . '/classes/output/status_page.php');
$context = (new \local_mzi\output\status_page())->export_for_template(new renderer_base());
echo json_encode(['context' => $context, 'strings' => $STRINGS], JSON_UNESCAPED_UNICODE);
"""


def php_context(tables: dict[str, list[dict[str, Any]]], *, lang: str = "en",
                config: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """``export_for_template``'s answer over ``tables``, and the language's strings."""
    php = shutil.which("php")
    if php is None:
        skip_or_fail("php CLI not installed (apt-get install php-cli)")
    payload = {"tables": tables, "lang": lang, "config": config or {}}
    done = subprocess.run([php, "-d", "display_errors=stderr", "-r", HARNESS, "--", str(PLUGIN)],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout, f"php failed: {done.stderr}"
    answer = json.loads(done.stdout)
    context: dict[str, Any] = answer["context"]
    return context, answer["strings"]


def render(context: dict[str, Any], strings: dict[str, str]) -> str:
    """templates/status.mustache over ``context``; ``{{#str}}key, local_mzi{{/str}}`` from ``strings``."""
    try:
        import chevron
    except ImportError:  # a venv made before chevron joined the test extras
        skip_or_fail("chevron is not installed: pip install -e '.[test]'")

    def get_string(text: str, _render: Any) -> str:
        key, _, component = (part.strip() for part in text.partition(","))
        assert component == "local_mzi", f"{{{{#str}}}} of another component: {text!r}"
        assert key in strings, f"the template uses string {key!r}, which lang lacks"
        return chevron.render("{{s}}", {"s": strings[key]})  # escaped, as Moodle's helper does

    template = (PLUGIN / "templates" / "status.mustache").read_text(encoding="utf-8")
    return chevron.render(template, dict(context) | {"str": get_string})


def emulator_tables(moodle_db: Path) -> dict[str, list[dict[str, Any]]]:
    """The tables export_for_template reads, as the emulator holds them."""
    with sqlite3.connect(moodle_db) as db:
        db.row_factory = sqlite3.Row
        return {table: [dict(r) for r in db.execute(f"SELECT * FROM mdl_{table}")]
                for table in ("local_mzi_sync_status", "local_mzi_outbox")}


def page(body: str, *, lang: str = "en") -> str:
    """A standalone HTML page around the rendered template (Bootstrap's table classes, as Boost has)."""
    direction = "rtl" if lang == "ar" else "ltr"
    style = """
    body { font-family: sans-serif; margin: 2em; }
    table { border-collapse: collapse; } th, td { border: 1px solid #dee2e6; padding: .3em .6em; text-align: start; }
    td.num { text-align: end; } .table-danger { background: #f8d7da; } .table-warning { background: #fff3cd; }
    """
    return (f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8"><style>{style}</style>'
            f"</head><body><h2>Sync status</h2>{body}</body></html>")
