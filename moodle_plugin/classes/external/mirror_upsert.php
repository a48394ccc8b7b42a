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

namespace local_mzi\external;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/externallib.php');

use external_api;
use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;
use local_mzi\local\batch;
use local_mzi\local\input_guard;
use local_mzi\local\mirror_table;
use local_mzi\local\record_exception;

/**
 * local_mzi_upsert_<name>: insert or update mirror rows by key; structures derived from the table.
 *
 * Compatibility: the plugin uses the global external_* classes of lib/externallib.php, which
 * Moodle 4.1 defines and Moodle 4.2+ keeps as aliases of \core_external\*.
 *
 * Concrete classes only declare the table: protected const TABLE = 'local_mzi_<name>';
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
abstract class mirror_upsert extends external_api {

    /** @var string The mirror table; set by the concrete class. */
    protected const TABLE = '';

    /**
     * The description of this class's table.
     *
     * @return mirror_table
     */
    protected static function mirror(): mirror_table {
        return mirror_table::get(static::TABLE);
    }

    /**
     * Parameters: count and records, one optional value per data column, key column(s) required.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        $table = static::mirror();
        $fields = [];
        foreach ($table->data_columns() as $name => $column) {
            $fields[$name] = new external_value($table->upsert_param_type($name), $name,
                $table->is_key($name) ? VALUE_REQUIRED : VALUE_OPTIONAL);
        }
        return new external_function_parameters([
            'count' => new external_value(PARAM_INT, 'Number of records sent: detects PHP max_input_vars truncation'),
            'records' => new external_multiple_structure(new external_single_structure($fields), 'Records to upsert'),
        ]);
    }

    /**
     * Upsert the records, each in its own delegated transaction.
     *
     * @param int $count number of records the caller sent
     * @param array $records the records
     * @return array results
     */
    public static function execute(int $count, array $records): array {
        global $DB;
        $params = self::validate_parameters(static::execute_parameters(), ['count' => $count, 'records' => $records]);
        self::validate_context(\context_system::instance());
        require_capability('local/mzi:manage', \context_system::instance());
        input_guard::check($params['count'], count($params['records']));

        $table = static::mirror();
        $prepared = [];
        foreach ($params['records'] as $record) {
            $prepared[] = static::prepare($table, $record);
        }
        $keys = [];
        foreach ($prepared as $item) {
            if ($item['error'] === null) {
                $keys[] = $item['keyvalues'];
            }
        }
        $existing = $table->fetch_by_keys($keys);
        $seen = [];
        $results = [];
        foreach ($prepared as $item) {
            $key = $item['key'];
            if ($item['error'] !== null) {
                $results[] = array_merge(['key' => $key, 'id' => 0], batch::error_fields($item['error']));
                continue;
            }
            if (isset($seen[$key])) {
                $results[] = ['key' => $key, 'status' => 'error', 'id' => 0, 'errorcode' => 'duplicatekey',
                    'message' => "key {$key} appears more than once in this batch"];
                continue;
            }
            $seen[$key] = true;
            $row = $existing[$key] ?? null;
            $results[] = batch::run(function() use ($table, $item, $row) {
                return static::write($table, $item, $row);
            }, ['key' => $key, 'id' => 0]);
        }
        return ['results' => $results];
    }

    /**
     * Check one record: its key and canonical values, or the error it has.
     *
     * @param mirror_table $table the table
     * @param array $record validated record
     * @return array key, keyvalues, values, error
     */
    protected static function prepare(mirror_table $table, array $record): array {
        $key = $table->key_text($record);
        $keyvalues = [];
        try {
            foreach ($table->key_columns() as $column) {
                $value = $record[$column] ?? null;
                if ($value === null || $value === '') {
                    throw new record_exception('missingkey',
                        'key column(s) ' . implode(', ', $table->key_columns()) . ' must not be empty');
                }
                $table->check_value($column, $value);
                $keyvalues[$column] = $value;
            }
            $values = [];
            foreach ($record as $column => $value) {
                if (!$table->is_key($column)) {
                    $values[$column] = $table->check_value($column, $value);
                }
            }
        } catch (record_exception $e) {
            return ['key' => $key, 'keyvalues' => $keyvalues, 'values' => [], 'error' => $e];
        }
        return ['key' => $key, 'keyvalues' => $keyvalues, 'values' => $values, 'error' => null];
    }

    /**
     * Insert or update one record; write nothing when nothing changed.
     *
     * @param mirror_table $table the table
     * @param array $item prepared record
     * @param \stdClass|null $row the existing row
     * @return array the result
     */
    protected static function write(mirror_table $table, array $item, ?\stdClass $row): array {
        global $DB;
        $now = time();
        if ($row === null) {
            $data = (object)array_merge($item['keyvalues'], $item['values']);
            if ($table->has_column('timecreated')) {
                $data->timecreated = $now;
            }
            if ($table->has_column('timemodified')) {
                $data->timemodified = $now;
            }
            $id = $DB->insert_record($table->name(), $data);
            return ['key' => $item['key'], 'status' => 'created', 'id' => (int)$id, 'errorcode' => '', 'message' => ''];
        }
        $changed = [];
        foreach ($item['values'] as $column => $value) {
            if ($table->canonical($column, $row->$column) !== $value) {
                $changed[$column] = $value;
            }
        }
        if (!$changed) {
            return ['key' => $item['key'], 'status' => 'unchanged', 'id' => (int)$row->id, 'errorcode' => '', 'message' => ''];
        }
        $update = (object)$changed;
        $update->id = $row->id;
        if ($table->has_column('timemodified')) {
            $update->timemodified = $now;
        }
        $DB->update_record($table->name(), $update);
        return ['key' => $item['key'], 'status' => 'updated', 'id' => (int)$row->id, 'errorcode' => '', 'message' => ''];
    }

    /**
     * Returns: one result per input record, same order.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'Key values joined with ":"'),
                'status' => new external_value(PARAM_ALPHA, 'created, updated, unchanged or error'),
                'id' => new external_value(PARAM_INT, 'Row id, 0 on error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code, empty unless error'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
