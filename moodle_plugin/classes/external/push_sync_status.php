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
use local_mzi\local\record_exception;
use local_mzi\local\sync_status;

/**
 * local_mzi_push_sync_status: mzi reports its last plan/apply per resource kind.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class push_sync_status extends external_api {

    /** @var string[] Numeric columns copied from the status. */
    const NUMBERS = ['runid', 'timefinished', 'creates', 'updates', 'deletes', 'blocked', 'errors', 'drift'];

    /**
     * Parameters: statuses.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'statuses' => new external_multiple_structure(new external_single_structure([
                'kind' => new external_value(PARAM_RAW, 'Resource kind, e.g. student'),
                'command' => new external_value(PARAM_RAW, 'plan or apply'),
                'status' => new external_value(PARAM_ALPHA, 'How the run ended: ok, failed or interrupted'),
                'runid' => new external_value(PARAM_INT, 'The run id in mzi\'s run log'),
                'timefinished' => new external_value(PARAM_INT, 'When the command finished (unix time)'),
                'creates' => new external_value(PARAM_INT, 'Creates'),
                'updates' => new external_value(PARAM_INT, 'Updates'),
                'deletes' => new external_value(PARAM_INT, 'Deletes'),
                'blocked' => new external_value(PARAM_INT, 'Blocked changes'),
                'errors' => new external_value(PARAM_INT, 'Errors'),
                'drift' => new external_value(PARAM_INT, 'Records in drift'),
            ])),
        ]);
    }

    /**
     * Upsert one row per (kind, command).
     *
     * @param array $statuses the statuses
     * @return array results
     */
    public static function execute(array $statuses): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['statuses' => $statuses]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        $results = [];
        foreach ($params['statuses'] as $item) {
            $key = "{$item['kind']}:{$item['command']}";
            $results[] = batch::run(function() use ($DB, $item, $key) {
                if ($item['kind'] === '' || !in_array($item['command'], ['plan', 'apply'], true)) {
                    throw new record_exception('invalidvalue', 'kind must be set and command be plan or apply');
                }
                if (!in_array($item['status'], sync_status::OUTCOMES, true)) {
                    throw new record_exception('invalidvalue', 'status must be ok, failed or interrupted');
                }
                $values = ['status' => $item['status']];
                foreach (self::NUMBERS as $name) {
                    $values[$name] = (int)$item[$name];
                }
                $row = $DB->get_record(sync_status::TABLE, ['kind' => $item['kind'], 'command' => $item['command']]);
                if (!$row) {
                    $DB->insert_record(sync_status::TABLE, (object)(['kind' => $item['kind'],
                        'command' => $item['command'], 'timemodified' => time()] + $values));
                    return ['key' => $key, 'status' => 'created', 'errorcode' => '', 'message' => ''];
                }
                $changed = false;
                foreach ($values as $name => $value) {
                    $changed = $changed || (string)$row->$name !== (string)$value;
                }
                if (!$changed) {
                    return ['key' => $key, 'status' => 'unchanged', 'errorcode' => '', 'message' => ''];
                }
                $DB->update_record(sync_status::TABLE, (object)(['id' => $row->id, 'timemodified' => time()] + $values));
                return ['key' => $key, 'status' => 'updated', 'errorcode' => '', 'message' => ''];
            }, ['key' => $key]);
        }
        return ['results' => $results];
    }

    /**
     * Returns: one result per status.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'kind:command'),
                'status' => new external_value(PARAM_ALPHA, 'created, updated, unchanged or error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
