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
use local_mzi\local\requests;

/**
 * local_mzi_record_request_results: mzi reports what happened to requests submitted in Moodle.
 *
 * "sent" writes the Zoho request id into local_mzi_requests; sync_status and sync_message
 * record the outcome, so a failed send stays visible to staff with its reason. A request is
 * named by its row id, or (requestid 0) by its request_number among the requests submitted in
 * Moodle: mzi knows a submitted request by its number, the key it shares with Zoho.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class record_request_results extends external_api {

    /**
     * Parameters: results.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'results' => new external_multiple_structure(new external_single_structure([
                'requestid' => new external_value(PARAM_INT, 'local_mzi_requests.id; 0: find it by request_number',
                    VALUE_DEFAULT, 0),
                'request_number' => new external_value(PARAM_RAW, 'request_number of a request submitted in Moodle',
                    VALUE_DEFAULT, ''),
                'zoho_request_id' => new external_value(PARAM_RAW, 'Zoho record id when sent', VALUE_DEFAULT, ''),
                'status' => new external_value(PARAM_RAW, 'sent or failed'),
                'message' => new external_value(PARAM_RAW, 'Error or note', VALUE_DEFAULT, ''),
            ])),
        ]);
    }

    /**
     * Record the results, one delegated transaction each.
     *
     * @param array $results the results
     * @return array results
     */
    public static function execute(array $results): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['results' => $results]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        $out = [];
        foreach ($params['results'] as $item) {
            $key = $item['requestid'] ? (string)$item['requestid'] : (string)$item['request_number'];
            $out[] = batch::run(function() use ($DB, $item, $key) {
                if ($item['status'] !== 'sent' && $item['status'] !== 'failed') {
                    throw new record_exception('invalidvalue', 'status must be sent or failed');
                }
                if ($item['requestid']) {
                    $row = $DB->get_record('local_mzi_requests', ['id' => $item['requestid']]);
                } else if ($item['request_number'] !== '') {
                    $rows = $DB->get_records('local_mzi_requests', ['request_number' => $item['request_number'],
                        'origin' => requests::ORIGIN_MOODLE], 'id ASC', '*', 0, 1);
                    $row = reset($rows);
                } else {
                    throw new record_exception('missingkey', 'name the request by requestid or request_number');
                }
                if (!$row) {
                    throw new record_exception('notfound', "no request has id or number {$key}");
                }
                $wanted = [];
                if ($item['status'] === 'sent' && $item['zoho_request_id'] !== '') {
                    $wanted['zoho_request_id'] = $item['zoho_request_id'];
                }
                $wanted['sync_status'] = $item['status'];
                $wanted['sync_message'] = $item['message'];
                $changed = [];
                foreach ($wanted as $name => $value) {
                    if ((string)($row->$name ?? '') !== (string)$value) {
                        $changed[$name] = $value;
                    }
                }
                if (!$changed) {
                    return ['key' => $key, 'status' => 'unchanged', 'errorcode' => '', 'message' => ''];
                }
                $changed['id'] = $row->id;
                $changed['timemodified'] = time();
                $DB->update_record('local_mzi_requests', (object)$changed);
                return ['key' => $key, 'status' => 'updated', 'errorcode' => '', 'message' => ''];
            }, ['key' => $key]);
        }
        return ['results' => $out];
    }

    /**
     * Returns: one result per input.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'The request id, or its number'),
                'status' => new external_value(PARAM_ALPHA, 'updated, unchanged or error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
