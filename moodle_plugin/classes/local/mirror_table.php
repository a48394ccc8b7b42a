<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

namespace local_mzi\local;

/**
 * The contract's view of one mirror table, derived from the installed schema (db/install.xml).
 *
 * Nothing here lists columns by hand: the columns and their XMLDB meta types come from
 * {@see \moodle_database::get_columns()} (cached by Moodle), the key from the table's unique
 * index on zoho_* columns ({@see \moodle_database::get_indexes()}). The three web-service
 * functions of a table (upsert, delete, get) build their parameter and return structures and
 * their value handling from this description.
 *
 * Meta types: I (int) -> PARAM_INT (PARAM_RAW checked per record in upsert parameters, see
 * upsert_param_type()); N (number, decimal) -> PARAM_RAW, canonical decimal text;
 * C (char) / X (text) -> PARAM_RAW. Columns id, timecreated, timemodified are automatic.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class mirror_table {

    /** @var string[] Columns the plugin maintains itself; never parameters. */
    const AUTOMATIC = ['id', 'timecreated', 'timemodified'];

    /** @var mirror_table[] Descriptions built in this request, by table name. */
    protected static $cache = [];

    /** @var string Table name without prefix, e.g. local_mzi_students. */
    protected $name;

    /** @var \database_column_info[] Columns by name, in table order. */
    protected $columns;

    /** @var string[] Key column names, in index order. */
    protected $keycolumns;

    /**
     * Constructor: use {@see self::get()}.
     *
     * @param string $name table name
     * @param \database_column_info[] $columns columns by name
     * @param string[] $keycolumns key column names
     */
    protected function __construct(string $name, array $columns, array $keycolumns) {
        $this->name = $name;
        $this->columns = $columns;
        $this->keycolumns = $keycolumns;
    }

    /**
     * The description of a mirror table.
     *
     * @param string $name table name, e.g. local_mzi_students
     * @return mirror_table
     * @throws \coding_exception when the table does not exist or has no usable key
     */
    public static function get(string $name): mirror_table {
        global $DB;
        if (isset(self::$cache[$name])) {
            return self::$cache[$name];
        }
        $columns = $DB->get_columns($name);
        if (!$columns) {
            throw new \coding_exception("Mirror table {$name} is not installed");
        }
        $keys = self::find_key($name, $columns, $DB->get_indexes($name));
        if (!$keys) {
            throw new \coding_exception("Mirror table {$name} has no unique index on zoho_* columns");
        }
        return self::$cache[$name] = new mirror_table($name, $columns, $keys);
    }

    /**
     * The key of a table: its unique index whose columns start with zoho_; failing that (requests,
     * whose zoho id is NULL until a Moodle-made request is sent) the column zoho_<singular>_id.
     *
     * The same rule as the emulator's (reconciler/sandbox/moodle/mirror.py).
     *
     * @param string $name table name
     * @param \database_column_info[] $columns columns by name
     * @param array $indexes as returned by get_indexes()
     * @return string[] key column names
     */
    protected static function find_key(string $name, array $columns, array $indexes): array {
        foreach ($indexes as $index) {
            $cols = array_values($index['columns']);
            if (!empty($index['unique']) && $cols && strpos($cols[0], 'zoho_') === 0) {
                return $cols;
            }
        }
        $short = substr($name, strlen('local_mzi_'));
        $fallback = 'zoho_' . preg_replace('/s$/', '', $short) . '_id';
        return isset($columns[$fallback]) ? [$fallback] : [];
    }

    /**
     * Table name.
     *
     * @return string
     */
    public function name(): string {
        return $this->name;
    }

    /**
     * All columns by name (including id and the time stamps).
     *
     * @return \database_column_info[]
     */
    public function columns(): array {
        return $this->columns;
    }

    /**
     * Columns that are web-service parameters: every column except the automatic ones.
     *
     * @return \database_column_info[]
     */
    public function data_columns(): array {
        return array_diff_key($this->columns, array_flip(self::AUTOMATIC));
    }

    /**
     * Key column names.
     *
     * @return string[]
     */
    public function key_columns(): array {
        return $this->keycolumns;
    }

    /**
     * Whether a column is part of the key.
     *
     * @param string $column column name
     * @return bool
     */
    public function is_key(string $column): bool {
        return in_array($column, $this->keycolumns, true);
    }

    /**
     * Whether the table has a column.
     *
     * @param string $column column name
     * @return bool
     */
    public function has_column(string $column): bool {
        return isset($this->columns[$column]);
    }

    /**
     * The PARAM_* type of a column: I -> PARAM_INT, everything else PARAM_RAW.
     *
     * @param string $column column name
     * @return string
     */
    public function param_type(string $column): string {
        return $this->columns[$column]->meta_type === 'I' || $this->columns[$column]->meta_type === 'R'
            ? PARAM_INT : PARAM_RAW;
    }

    /**
     * The PARAM_* type of a column in upsert parameters.
     *
     * Non-key int columns travel as PARAM_RAW and are checked per record as "integer or
     * empty" (see check_value()): REST has no null, and PARAM_INT refuses the empty string
     * that stands for NULL, which would fail the whole batch for one record.
     *
     * @param string $column column name
     * @return string
     */
    public function upsert_param_type(string $column): string {
        if ($this->param_type($column) === PARAM_INT && !in_array($column, $this->keycolumns, true)) {
            return PARAM_RAW;
        }
        return $this->param_type($column);
    }

    /**
     * The key text of a row or record: key values joined with ':'.
     *
     * @param array|\stdClass $row row or record
     * @return string
     */
    public function key_text($row): string {
        $row = (array)$row;
        $parts = [];
        foreach ($this->keycolumns as $column) {
            $parts[] = (string)($row[$column] ?? '');
        }
        return implode(':', $parts);
    }

    /**
     * Parse a key text ("regid:3" for a composite key) into column => value.
     *
     * @param string $text key text
     * @return array|null column => value, or null when malformed
     */
    public function parse_key(string $text): ?array {
        $count = count($this->keycolumns);
        if ($count === 1) {
            $parts = [$text];
        } else {
            // Split from the right: the last parts are numbers, the first may hold anything.
            $parts = [];
            $rest = $text;
            for ($i = 1; $i < $count; $i++) {
                $pos = strrpos($rest, ':');
                if ($pos === false) {
                    return null;
                }
                array_unshift($parts, substr($rest, $pos + 1));
                $rest = substr($rest, 0, $pos);
            }
            array_unshift($parts, $rest);
        }
        $key = [];
        foreach ($this->keycolumns as $i => $column) {
            $part = $parts[$i];
            if ($part === '') {
                return null;
            }
            if ($this->param_type($column) === PARAM_INT) {
                if (!preg_match('/^-?\d+$/', $part)) {
                    return null;
                }
                $part = (int)$part;
            }
            $key[$column] = $part;
        }
        return $key;
    }

    /**
     * Existing rows for many keys, by key text, in a few queries (chunks of 500, placeholders only).
     *
     * @param array[] $keys list of column => value
     * @return \stdClass[] rows by key text
     */
    public function fetch_by_keys(array $keys): array {
        global $DB;
        $found = [];
        $unique = [];
        foreach ($keys as $key) {
            $unique[$this->key_text($key)] = $key;
        }
        foreach (array_chunk(array_values($unique), 500) as $chunk) {
            if (count($this->keycolumns) === 1) {
                $column = $this->keycolumns[0];
                [$insql, $params] = $DB->get_in_or_equal(array_column($chunk, $column), SQL_PARAMS_NAMED, 'k');
                $rows = $DB->get_records_select($this->name, "{$column} {$insql}", $params);
            } else {
                $ors = [];
                $params = [];
                foreach ($chunk as $n => $key) {
                    $ands = [];
                    foreach ($this->keycolumns as $c => $column) {
                        $ands[] = "{$column} = :k{$n}_{$c}";
                        $params["k{$n}_{$c}"] = $key[$column];
                    }
                    $ors[] = '(' . implode(' AND ', $ands) . ')';
                }
                $rows = $DB->get_records_select($this->name, implode(' OR ', $ors), $params);
            }
            foreach ($rows as $row) {
                $found[$this->key_text($row)] = $row;
            }
        }
        return $found;
    }

    /**
     * Check an incoming value against its column and return its canonical text.
     *
     * Empty string and null mean NULL. Decimals are rounded half away from zero to the column's
     * scale (see decimal()).
     *
     * Messages name the column and the rule, never the value: the plugin cannot know which
     * columns hold sensitive data (birth dates, national ids), and results end up in the
     * caller's logs. The emulator (reconciler/sandbox/moodle/mirror.py check_value) words
     * them the same. They are returned to the web-service client, not shown to Moodle users.
     *
     * @param string $column column name
     * @param mixed $value incoming value
     * @return string|null canonical text or null
     * @throws record_exception invalidvalue / toolong
     */
    public function check_value(string $column, $value): ?string {
        if ($value === null || $value === '') {
            return null;
        }
        $info = $this->columns[$column];
        if ($info->meta_type === 'N' || $info->meta_type === 'F') {
            $text = is_scalar($value) ? self::decimal((string)$value, (int)$info->scale) : null;
            if ($text === null) {
                throw new record_exception('invalidvalue',
                    "{$column}: the value is not a number (ASCII digits, optional sign, decimal point and exponent)");
            }
            $digits = strlen(ltrim(explode('.', ltrim($text, '-'))[0], '0'));
            if ($info->max_length > 0 && $digits > $info->max_length - (int)$info->scale) {
                throw new record_exception('invalidvalue',
                    "{$column}: the value does not fit number({$info->max_length},{$info->scale})");
            }
            return $text;
        }
        if ($info->meta_type === 'I' || $info->meta_type === 'R') {
            if (!is_scalar($value) || !preg_match('/^-?\d{1,18}$/', trim((string)$value))) {
                throw new record_exception('invalidvalue', "{$column}: the value is not an integer (at most 18 digits)");
            }
            return $this->canonical($column, trim((string)$value));
        }
        if ($info->meta_type === 'C' && $info->max_length > 0 && \core_text::strlen((string)$value) > $info->max_length) {
            throw new record_exception('toolong', "{$column}: " . \core_text::strlen((string)$value) .
                " characters, the column holds {$info->max_length}");
        }
        return $this->canonical($column, $value);
    }

    /**
     * The text a stored value has, for the "unchanged" comparison and for get output.
     *
     * @param string $column column name
     * @param mixed $value stored or incoming value
     * @return string|null
     */
    public function canonical(string $column, $value): ?string {
        if ($value === null || $value === '') {
            return null;
        }
        $info = $this->columns[$column];
        if ($info->meta_type === 'I' || $info->meta_type === 'R') {
            return (string)(int)$value;
        }
        if ($info->meta_type === 'N' || $info->meta_type === 'F') {
            return self::decimal((string)$value, (int)$info->scale);
        }
        return (string)$value;
    }

    /**
     * A stored value as local_mzi_get_* returns it: null, int, or text (decimals canonical).
     *
     * @param string $column column name
     * @param mixed $value stored value
     * @return int|string|null
     */
    public function output(string $column, $value) {
        if ($value === null) {
            return null;
        }
        if ($this->param_type($column) === PARAM_INT) {
            return (int)$value;
        }
        return $this->canonical($column, $value) ?? '';
    }

    /**
     * Round a decimal string to $scale places, half away from zero, without floating point.
     *
     * Half away from zero (half-up on the absolute value) is how MySQL and PostgreSQL round
     * a value into a DECIMAL column, and how mzi normalizes a decimal to the same scale
     * (reconciler/normalize.py to_decimal), so what mzi compares is what Moodle keeps. The
     * emulator's decimal_text() is this function's twin; tests/contract/test_decimal_agreement.py
     * runs both on the same inputs.
     *
     * Accepted: ASCII digits with an optional sign, decimal point and an exponent of at most
     * four digits ("12.5", "-0.005", ".5", "12.", "1e3"); nothing else (no "1,250", no "INF").
     * Exponents are applied by moving the point in the digit string, so no precision is lost.
     *
     * @param string $value e.g. "12.5", "-0.005", "1e3"
     * @param int $scale decimal places
     * @return string|null canonical text with exactly $scale places, or null when not a number
     */
    public static function decimal(string $value, int $scale): ?string {
        $value = trim($value);
        if (!preg_match('/^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/', $value, $m)
                || ($m[2] === '' && ($m[3] ?? '') === '')) {
            return null;
        }
        $negative = $m[1] === '-';
        $digits = $m[2] . ($m[3] ?? '');
        // Position of the decimal point within $digits, moved by the exponent.
        $point = strlen($m[2]) + (isset($m[4]) && $m[4] !== '' ? (int)$m[4] : 0);
        // A point further left than $scale + 1 places rounds to zero either way.
        $point = max($point, -($scale + 1));
        if ($point < 0) {
            $digits = str_repeat('0', -$point) . $digits;
            $point = 0;
        }
        if ($point > strlen($digits)) {
            $digits .= str_repeat('0', $point - strlen($digits));
        }
        $int = ltrim(substr($digits, 0, $point), '0');
        $frac = str_pad(substr($digits, $point), $scale + 1, '0');
        $roundup = (int)$frac[$scale] >= 5;
        $digits = ($int === '' ? '0' : $int) . substr($frac, 0, $scale);
        if ($roundup) {
            // Add one to the digit string.
            $i = strlen($digits) - 1;
            while ($i >= 0 && $digits[$i] === '9') {
                $digits[$i] = '0';
                $i--;
            }
            $digits = $i < 0 ? '1' . $digits : substr_replace($digits, (string)((int)$digits[$i] + 1), $i, 1);
        }
        $intpart = ltrim(substr($digits, 0, strlen($digits) - $scale), '0');
        $intpart = $intpart === '' ? '0' : $intpart;
        $text = $scale > 0 ? $intpart . '.' . substr($digits, -$scale) : $intpart;
        if ($negative && trim($text, '0.') !== '') {
            $text = '-' . $text;
        }
        return $text;
    }
}
