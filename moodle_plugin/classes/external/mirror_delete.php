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
use local_mzi\local\mirror_table;
use local_mzi\local\record_exception;

/**
 * local_mzi_delete_<name>: soft delete (or, for installments, remove) mirror rows by key.
 *
 * Concrete classes declare the table and the delete policy:
 * protected const TABLE = 'local_mzi_<name>'; protected const DELETE_FIELD = 'status';
 * protected const DELETE_VALUE = 'Deleted'; (DELETE_FIELD = '' means the row is removed).
 * They may override {@see self::after_delete()} for Moodle-side effects.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
abstract class mirror_delete extends external_api {

    /** @var string The mirror table; set by the concrete class. */
    protected const TABLE = '';

    /** @var string Column set on delete; '' = remove the row. */
    protected const DELETE_FIELD = '';

    /** @var string Value the column gets on delete. */
    protected const DELETE_VALUE = '';

    /**
     * The description of this class's table.
     *
     * @return mirror_table
     */
    protected static function mirror(): mirror_table {
        return mirror_table::get(static::TABLE);
    }

    /**
     * Parameters: keys.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'keys' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Key values joined with ":" (installments: regid:number)'), 'Keys to delete'),
        ]);
    }

    /**
     * Delete the rows, each in its own delegated transaction.
     *
     * @param array $keys key texts
     * @return array results
     */
    public static function execute(array $keys): array {
        $params = self::validate_parameters(static::execute_parameters(), ['keys' => $keys]);
        self::validate_context(\context_system::instance());
        require_capability('local/mzi:manage', \context_system::instance());

        $table = static::mirror();
        $parsed = [];
        foreach ($params['keys'] as $text) {
            $parsed[$text] = $table->parse_key($text);
        }
        $existing = $table->fetch_by_keys(array_values(array_filter($parsed)));
        $done = [];
        $results = [];
        foreach ($params['keys'] as $text) {
            $key = $parsed[$text];
            $canonical = $key === null ? $text : $table->key_text($key);
            $row = $existing[$canonical] ?? null;
            if ($row === null) {
                $results[] = ['key' => $text, 'status' => 'error', 'id' => 0, 'errorcode' => 'notfound',
                    'message' => "no {$table->name()} row has key {$text}"];
                continue;
            }
            if (isset($done[$canonical]) || (static::DELETE_FIELD !== '' && $row->{static::DELETE_FIELD} === static::DELETE_VALUE)) {
                $results[] = ['key' => $text, 'status' => 'unchanged', 'id' => (int)$row->id, 'errorcode' => '', 'message' => ''];
                continue;
            }
            $done[$canonical] = true;
            $results[] = batch::run(function() use ($table, $row, $text) {
                static::delete_row($table, $row);
                return ['key' => $text, 'status' => 'deleted', 'id' => (int)$row->id, 'errorcode' => '', 'message' => ''];
            }, ['key' => $text, 'id' => 0]);
        }
        return ['results' => $results];
    }

    /**
     * Apply the delete policy to one row, then the table's side effects.
     *
     * @param mirror_table $table the table
     * @param \stdClass $row the row
     */
    protected static function delete_row(mirror_table $table, \stdClass $row): void {
        global $DB;
        if (static::DELETE_FIELD === '') {
            $DB->delete_records($table->name(), ['id' => $row->id]);
            return;
        }
        $update = (object)['id' => $row->id, static::DELETE_FIELD => static::DELETE_VALUE];
        if ($table->has_column('timemodified')) {
            $update->timemodified = time();
        }
        $DB->update_record($table->name(), $update);
        static::after_delete($row);
    }

    /**
     * Moodle-side effect of a soft delete (course hidden, student unenrolled); none by default.
     *
     * @param \stdClass $row the row as it was before the delete
     * @throws record_exception when the effect fails (the record's transaction rolls back)
     */
    protected static function after_delete(\stdClass $row): void {
    }

    /**
     * Returns: one result per key, same order.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'The key as given'),
                'status' => new external_value(PARAM_ALPHA, 'deleted, unchanged or error'),
                'id' => new external_value(PARAM_INT, 'Row id, 0 on error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code (notfound for an unknown key)'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
