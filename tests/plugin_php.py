"""Run the Moodle plugin's PHP without a Moodle: its pure classes and its renderables' exports.

``php_eval`` evaluates PHP expressions in the ``php`` CLI after loading a small harness: an
autoloader for ``local_mzi\\...`` classes (classes/<dir>/<name>.php, as Moodle's), and stubs of the
Moodle functions the plugin's formatting code calls, behaving as Moodle does for what the plugin
relies on: ``get_string`` reads the plugin's own lang file (``{$a}`` and ``{$a->name}``
substitution), ``moodle_url`` joins parameters and escapes ``&`` only when ``out(true)``, ``s()``
escapes. No database: the renderables take rows, so a test hands them rows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from needs import skip_or_fail

PLUGIN = Path(__file__).resolve().parents[1] / "moodle_plugin"

HARNESS = r"""
define('MOODLE_INTERNAL', true);
define('DAYSECS', 86400);
define('HOURSECS', 3600);
interface renderable {}
interface templatable {}
class renderer_base {
    public function paging_bar($total, $page, $perpage, $url) { return '<nav class="pagination">' . (int)$total . '</nav>'; }
}
class stub_db {
    public $tables;
    public function __construct(array $tables) { $this->tables = $tables; }
    protected function rows($table, $conditions) {
        return array_values(array_filter($this->tables[$table] ?? [], function($r) use ($conditions) {
            foreach ((array)$conditions as $k => $v) { if ((string)$r[$k] !== (string)$v) { return false; } }
            return true;
        }));
    }
    public function get_records($table, $conditions = null, $sort = '', $fields = '*', $from = 0, $num = 0) {
        $rows = $this->rows($table, $conditions);
        if (stripos($sort, 'id DESC') !== false) { $rows = array_reverse($rows); }
        $rows = array_slice($rows, $from, $num ?: null);
        return array_map(function($r) { return (object)$r; }, $rows);
    }
    public function count_records($table, $conditions = null) { return count($this->rows($table, $conditions)); }
}
function stub_db(array $tables) { global $DB; $DB = new stub_db($tables); return true; }
class coding_exception extends Exception {}
class moodle_exception extends Exception {
    public $errorcode;
    public function __construct($errorcode, $module = '') { $this->errorcode = $errorcode; parent::__construct($errorcode); }
}
class moodle_url {
    protected $base; protected $params = [];
    public function __construct($url, array $params = []) {
        if ($url instanceof moodle_url) { $this->base = $url->base; $this->params = $url->params; }
        else {
            $parts = explode('?', (string)$url, 2);
            $this->base = strpos($parts[0], '://') === false ? 'https://moodle.example' . $parts[0] : $parts[0];
            if (isset($parts[1])) { parse_str($parts[1], $query); $this->params = $query; }
        }
        foreach ($params as $k => $v) { $this->params[$k] = (string)$v; }
    }
    public function out($escaped = true) {
        $query = http_build_query($this->params, '', $escaped ? '&amp;' : '&');
        return $this->base . ($query === '' ? '' : '?' . $query);
    }
    public function out_omit_querystring() { return $this->base; }
}
function s($var) { return htmlspecialchars((string)$var, ENT_QUOTES | ENT_HTML401 | ENT_SUBSTITUTE); }
function format_string($text) { return s($text); }
function userdate($time) { return gmdate('l, j F Y, H:i', (int)$time); }
function format_time($seconds) { return ((int)$seconds) . ' secs'; }
function get_config($plugin, $name = null) { return false; }
function sesskey() { return 'sesskey123'; }
function get_string($key, $component = 'moodle', $a = null) {
    global $STRINGS;
    if ($component !== 'local_mzi') { return "[{$key},{$component}]"; }
    if (!array_key_exists($key, $STRINGS)) { throw new Exception("get_string: lang lacks '{$key}'"); }
    $text = $STRINGS[$key];
    if (is_object($a) || is_array($a)) {
        foreach ((array)$a as $name => $value) { $text = str_replace('{$a->' . $name . '}', (string)$value, $text); }
    } else if ($a !== null) {
        $text = str_replace('{$a}', (string)$a, $text);
    }
    return $text;
}
spl_autoload_register(function($class) {
    global $PLUGIN;
    $parts = explode('\\', $class);
    if ($parts[0] === 'local_mzi' && count($parts) === 3) {
        $file = "{$PLUGIN}/classes/{$parts[1]}/{$parts[2]}.php";
        if (is_file($file)) { require_once($file); }
    }
});
$PLUGIN = $argv[1];
$string = [];
include("{$PLUGIN}/lang/{$argv[2]}/local_mzi.php");
$STRINGS = $string;
$EXPRESSIONS = json_decode(stream_get_contents(STDIN), true);
$results = [];
foreach ($EXPRESSIONS as $expression) {
    try {
        $results[] = ['value' => eval('use local_mzi\local\{alert_rules, class_drop, finance, grade_display, window_rules};'
            . ' return ' . $expression . ';')];
    } catch (Throwable $e) {
        $results[] = ['error' => get_class($e) . ': ' . $e->getMessage()];
    }
}
echo json_encode($results, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
"""


class PhpError(AssertionError):
    """A PHP expression threw; the message is the PHP exception's class and message."""


def php_literal(value: Any, *, objects: bool = False) -> str:
    """A PHP expression for a JSON-able value; with ``objects`` a dict is a stdClass, a list of
    dicts a list of stdClass (mirror rows)."""
    encoded = json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False)  # a PHP double-quoted string
    encoded = encoded.replace("$", "\\$")
    if not objects:
        return f"json_decode({encoded}, true)"
    if isinstance(value, list):
        return f"array_map(function($r) {{ return (object)$r; }}, json_decode({encoded}, true))"
    return f"(object)json_decode({encoded}, true)"


def php_eval_many(expressions: list[str], *, lang: str = "en") -> list[Any]:
    """Evaluate PHP expressions in one php process; each answer is its JSON value, or PhpError."""
    php = shutil.which("php")
    if php is None:
        skip_or_fail("php CLI not installed (apt-get install php-cli)")
    done = subprocess.run([php, "-d", "display_errors=stderr", "-d", "error_reporting=E_ALL", "-r", HARNESS, "--",
                           str(PLUGIN), lang], input=json.dumps(expressions), capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stdout, f"php failed: {done.stderr}"
    assert not done.stderr.strip(), f"php warned: {done.stderr}"
    answers = []
    for expression, result in zip(expressions, json.loads(done.stdout), strict=True):
        answers.append(PhpError(f"{expression}\n-> {result['error']}") if "error" in result else result["value"])
    return answers


def php_eval(expression: str, *, lang: str = "en") -> Any:
    """One PHP expression's value (raises PhpError when it throws)."""
    answer = php_eval_many([expression], lang=lang)[0]
    if isinstance(answer, PhpError):
        raise answer
    return answer
