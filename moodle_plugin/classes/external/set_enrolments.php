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
use local_mzi\local\courses;

/**
 * local_mzi_set_enrolments: enrol, unenrol or suspend users in class courses (manual enrolment).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_enrolments extends external_api {

    /**
     * Parameters: enrolments.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'enrolments' => new external_multiple_structure(new external_single_structure([
                'courseidnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'userid' => new external_value(PARAM_INT, 'Moodle user id'),
                'role' => new external_value(PARAM_RAW, 'student or editingteacher'),
                'action' => new external_value(PARAM_RAW, 'enrol, unenrol or suspend'),
            ])),
        ]);
    }

    /**
     * Apply the enrolments, one delegated transaction each.
     *
     * @param array $enrolments the enrolments
     * @return array results
     */
    public static function execute(array $enrolments): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['enrolments' => $enrolments]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);

        $coursecache = [];
        $results = [];
        foreach ($params['enrolments'] as $item) {
            $key = "{$item['courseidnumber']}:{$item['userid']}:{$item['role']}";
            $results[] = batch::run(function() use ($DB, $item, $key, &$coursecache) {
                if (!in_array($item['role'], courses::ROLES, true)) {
                    throw new \local_mzi\local\record_exception('invalidrole',
                        "role must be student or editingteacher, not {$item['role']}");
                }
                if (!in_array($item['action'], courses::ACTIONS, true)) {
                    throw new \local_mzi\local\record_exception('invalidaction',
                        "action must be enrol, unenrol or suspend, not {$item['action']}");
                }
                $idnumber = $item['courseidnumber'];
                if (!array_key_exists($idnumber, $coursecache)) {
                    $found = $idnumber === '' ? [] : $DB->get_records_select('course', 'idnumber = :idnumber AND id <> :siteid',
                        ['idnumber' => $idnumber, 'siteid' => SITEID], 'id DESC', '*', 0, 1);
                    $coursecache[$idnumber] = $found ? reset($found) : null;
                }
                $course = $coursecache[$idnumber];
                if (!$course) {
                    throw new \local_mzi\local\record_exception('coursenotfound', "no course has idnumber {$idnumber}");
                }
                if (!$DB->record_exists('user', ['id' => $item['userid'], 'deleted' => 0])) {
                    throw new \local_mzi\local\record_exception('usernotfound', "no active user has id {$item['userid']}");
                }
                $status = courses::change_enrolment($course, (int)$item['userid'], $item['role'], $item['action']);
                return ['key' => $key, 'status' => $status, 'errorcode' => '', 'message' => ''];
            }, ['key' => $key]);
        }
        return ['results' => $results];
    }

    /**
     * Returns: one result per enrolment.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'courseidnumber:userid:role'),
                'status' => new external_value(PARAM_ALPHA, 'enrolled, unenrolled, suspended, unchanged or error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
