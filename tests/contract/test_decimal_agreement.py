"""The plugin's PHP, the emulator and mzi's normalization round decimals alike and never echo values.

``mirror_table::decimal()`` (PHP) and ``mirror.decimal_text()`` (emulator) are twins; the
PHP is run here with the ``php`` CLI on the same inputs as the emulator, and
``normalize.to_decimal(value, scale)`` must give the same number for every value it reads.
``check_value`` of both must agree on the answer and keep the value out of the message.
Needs ``php`` (CI installs php-cli); without it the test skips, or fails under
``MZI_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.normalize import NormalizeError, to_decimal
from reconciler.sandbox.moodle.mirror import RecordError, check_value, decimal_text
from reconciler.schema.xmldb import Column

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "moodle_plugin" / "classes" / "local"

HARNESS = r"""<?php
namespace {
    define('PARAM_INT', 'int');
    define('PARAM_RAW', 'raw');
    class moodle_exception extends \Exception {
        public $errorcode;
        public function __construct($errorcode, $module = '', $link = '', $a = null, $debuginfo = null) {
            parent::__construct((string)$a);
            $this->errorcode = $errorcode;
        }
    }
    class core_text {
        public static function strlen($text) {
            return mb_strlen((string)$text, 'UTF-8');
        }
    }
    require($argv[1] . '/record_exception.php');
    require($argv[1] . '/mirror_table.php');
    $input = json_decode(stream_get_contents(STDIN), true);
    $out = ['decimal' => [], 'check' => []];
    foreach ($input['decimal'] as [$value, $scale]) {
        $out['decimal'][] = \local_mzi\local\mirror_table::decimal($value, $scale);
    }
    $class = new \ReflectionClass(\local_mzi\local\mirror_table::class);
    foreach ($input['check'] as [$col, $value]) {
        $table = $class->newInstanceWithoutConstructor();
        $info = (object)['meta_type' => $col['meta'], 'max_length' => $col['length'], 'scale' => $col['scale']];
        $set = function() use ($col, $info) {
            $this->columns = [$col['name'] => $info];
        };
        \Closure::bind($set, $table, \local_mzi\local\mirror_table::class)();
        try {
            $out['check'][] = ['ok' => $table->check_value($col['name'], $value)];
        } catch (\local_mzi\local\record_exception $e) {
            $out['check'][] = ['error' => $e->errorcode, 'message' => $e->getMessage()];
        }
    }
    echo json_encode($out);
}
"""

FIXED = ["3500.125", "3500.124", "-0.005", "-0.004", "9.995", "-9.995", "12.5", "12.50", "12.", ".5", "+7", "-0",
         "1e3", "1E+2", "1.005e0", "1.2345678901234567891E+5", "5E-3", "1e-9999", "0.0000000000000000000000015E+22",
         "99999999999.995", "1_000", "Infinity", "NaN", "1,250.00", "١٢", "", " ", ".", "+", "e5", "1e", "0x1A",
         " 42 ", "00012.3450", "-00.00", "123456789012345678901234567890.125"]

NUMBER = {"name": "total_fees", "meta": "N", "length": 12, "scale": 2}
INTEGER = {"name": "moodle_user_id", "meta": "I", "length": 10, "scale": 0}
CHAR = {"name": "date_of_birth", "meta": "C", "length": 10, "scale": 0}
EMULATOR_COLUMN = {"N": "number", "I": "int", "C": "char"}


def _has_mbstring(php: str) -> bool:
    """core_text (Moodle's, and the harness's stand-in) needs mbstring, as Moodle itself does."""
    done = subprocess.run([php, "-r", "exit(function_exists('mb_strlen') ? 0 : 1);"], capture_output=True, timeout=30,
                          check=False)
    return done.returncode == 0


def _php(payload: dict[str, Any]) -> dict[str, Any]:
    php = shutil.which("php")
    if php is None or not _has_mbstring(php):
        reason = ("php CLI not installed" if php is None else "php has no mbstring extension") + \
            " (apt-get install php-cli php-mbstring)"
        if os.environ.get("MZI_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (MZI_REQUIRE_SERVICES=1 makes this a failure)")
        pytest.skip(reason)
    done = subprocess.run([php, "-d", "display_errors=stderr", "-r", HARNESS.removeprefix("<?php\n"), "--", str(LOCAL)],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"php failed: {done.stderr}"
    return json.loads(done.stdout)


def _emulator_check(col: dict[str, Any], value: str) -> dict[str, Any]:
    column = Column(col["name"], EMULATOR_COLUMN[col["meta"]], col["length"], col["scale"] if col["meta"] == "N" else None,
                    False, None, False, "")
    try:
        return {"ok": check_value(column, value)}
    except RecordError as exc:
        return {"error": exc.errorcode, "message": exc.message}


def _agree(values: list[str]) -> None:
    pairs = [(v, s) for v in values for s in (0, 2)]
    checks = [(col, v) for v in values for col in (NUMBER, INTEGER, CHAR)]
    answer = _php({"decimal": pairs, "check": checks})
    for (value, scale), php in zip(pairs, answer["decimal"]):
        emulated = decimal_text(value, scale)
        assert php == emulated, f"decimal({value!r}, {scale}): PHP {php!r}, emulator {emulated!r}"
        try:
            mine = to_decimal(value, scale)
        except NormalizeError:
            continue  # mzi reads fewer spellings than the plugin stores; never more
        if mine is None:  # empty: NULL on both sides
            continue
        stored = decimal_text(mine, scale)
        assert stored is not None and Decimal(stored) == Decimal(mine), \
            f"the plugin would store {stored!r} for the {mine!r} mzi sends: drift on every run"
        if "," not in value:  # the grouped form is mzi's reading only; it sends plain numbers
            assert emulated is not None and Decimal(mine) == Decimal(emulated), \
                f"{value!r} at scale {scale}: mzi {mine}, plugin {emulated}"
    for (col, value), php in zip(checks, answer["check"]):
        emulated = _emulator_check(col, value)
        assert php == emulated, f"check_value({col['name']}, {value!r}): PHP {php}, emulator {emulated}"
        if "message" in php and len(value.strip()) >= 4:
            assert value.strip() not in php["message"].replace(col["name"], ""), \
                f"the message echoes the value: {php['message']!r}"


def test_php_emulator_and_normalize_agree_on_fixed_spellings() -> None:
    _agree(FIXED)


numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**12, max_value=10**12).map(str),
    st.from_regex(r"\A[+-]?\d{0,14}(\.\d{0,6})?([eE][+-]?\d{1,2})?\Z"),
    st.text(alphabet="0123456789.-+eE, ", max_size=12),
)


@settings(max_examples=5, deadline=None)
@given(st.lists(numbers, min_size=50, max_size=120))
def test_php_emulator_and_normalize_agree_on_generated_numbers(values: list[str]) -> None:
    _agree(values)


def test_a_sensitive_value_never_reaches_the_error_message() -> None:
    secret = "0791234567890123"
    answer = _php({"decimal": [], "check": [[CHAR, secret], [NUMBER, secret + "x"], [INTEGER, secret + "1234"]]})
    for result in answer["check"]:
        assert "error" in result and secret not in result["message"], result
