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
use local_mzi\local\outbox;

/**
 * local_mzi_get_events: page through the outbox (Moodle events for mzi).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_events extends external_api {

    /**
     * Parameters: afterid, limit, status.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'afterid' => new external_value(PARAM_INT, 'Events with id > afterid', VALUE_DEFAULT, 0),
            'limit' => new external_value(PARAM_INT, 'Page size 1..1000', VALUE_DEFAULT, 100),
            'status' => new external_value(PARAM_RAW, 'pending, delivered, failed, dead or "" for any', VALUE_DEFAULT, ''),
        ]);
    }

    /**
     * One page of events ordered by id.
     *
     * @param int $afterid events with id > afterid
     * @param int $limit page size
     * @param string $status status filter
     * @return array events, nextafterid, hasmore
     */
    public static function execute(int $afterid = 0, int $limit = 100, string $status = ''): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['afterid' => $afterid, 'limit' => $limit, 'status' => $status]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        if ($params['limit'] < 1 || $params['limit'] > 1000) {
            throw new \invalid_parameter_exception("limit must be between 1 and 1000, got {$params['limit']}");
        }
        if ($params['status'] !== '' && !in_array($params['status'], outbox::STATUSES, true)) {
            throw new \invalid_parameter_exception('status must be one of "", ' . implode(', ', outbox::STATUSES));
        }
        $where = 'id > :afterid';
        $sqlparams = ['afterid' => $params['afterid']];
        if ($params['status'] !== '') {
            $where .= ' AND status = :status';
            $sqlparams['status'] = $params['status'];
        }
        $rows = $DB->get_records_select(outbox::TABLE, $where, $sqlparams, 'id ASC', '*', 0, $params['limit'] + 1);
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $events = [];
        foreach ($rows as $row) {
            $events[] = [
                'id' => (int)$row->id,
                'eventname' => $row->eventname,
                'component' => $row->component,
                'objecttable' => $row->objecttable,
                'objectid' => $row->objectid === null ? null : (int)$row->objectid,
                'userid' => $row->userid === null ? null : (int)$row->userid,
                'relateduserid' => $row->relateduserid === null ? null : (int)$row->relateduserid,
                'courseid' => $row->courseid === null ? null : (int)$row->courseid,
                'contextid' => $row->contextid === null ? null : (int)$row->contextid,
                'timecreated' => (int)$row->timecreated,
                'status' => $row->status,
                'attempts' => (int)$row->attempts,
                'nextattempt' => (int)$row->nextattempt,
                'lasterror' => $row->lasterror,
                'signature' => $row->signature,
            ];
        }
        $last = end($rows);
        return ['events' => $events, 'nextafterid' => $last ? (int)$last->id : $params['afterid'], 'hasmore' => $hasmore];
    }

    /**
     * Returns: events, nextafterid, hasmore.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'events' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Outbox id'),
                'eventname' => new external_value(PARAM_RAW, 'Event class name'),
                'component' => new external_value(PARAM_RAW, 'Component'),
                'objecttable' => new external_value(PARAM_RAW, 'Object table'),
                'objectid' => new external_value(PARAM_INT, 'Object id'),
                'userid' => new external_value(PARAM_INT, 'Acting user'),
                'relateduserid' => new external_value(PARAM_INT, 'User the event is about'),
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'contextid' => new external_value(PARAM_INT, 'Context id'),
                'timecreated' => new external_value(PARAM_INT, 'When recorded'),
                'status' => new external_value(PARAM_ALPHA, 'pending, delivered, failed or dead'),
                'attempts' => new external_value(PARAM_INT, 'Delivery attempts'),
                'nextattempt' => new external_value(PARAM_INT, 'Next attempt (unix time)'),
                'lasterror' => new external_value(PARAM_RAW, 'Last delivery error'),
                'signature' => new external_value(PARAM_RAW, 'Hex HMAC-SHA256 of the payload'),
            ])),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More events after this page'),
        ]);
    }
}
