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
use local_mzi\local\requests;
use local_mzi\local\student_data;

/**
 * local_mzi_submit_request: the calling user submits a request, as request.php does.
 *
 * The same path as request.php's forms ({@see requests::create()}): the request is stored for
 * the student linked to the calling user, refused outside its window (and a Class Drop naming
 * anything but one or two classes the student may drop, or a reason missing where the type needs
 * one), numbered MDL-<id>. No details or receipt: a Late Submission's receipt is the form's. For
 * apps that talk to Moodle through web services, and for mzi's contract suite, which needs a
 * submitted request on a real Moodle to check what the mirror's upsert does with it.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class submit_request extends external_api {

    /**
     * Parameters: the request type (Zoho value), a reason, the classes of a Class Drop.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'request_type' => new external_value(PARAM_RAW, 'Request type, a Zoho Request_Type value'),
            'reason' => new external_value(PARAM_TEXT, 'The student\'s reason', VALUE_DEFAULT, ''),
            'classes' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Zoho class id of a class to drop'), 'Classes (Class Drop)', VALUE_DEFAULT, []),
        ]);
    }

    /**
     * Store the request for the calling user's student record.
     *
     * @param string $requesttype request type
     * @param string $reason reason
     * @param array $classes Zoho class ids
     * @return array id, request_number, status
     */
    public static function execute(string $requesttype, string $reason = '', array $classes = []): array {
        global $USER;
        $params = self::validate_parameters(self::execute_parameters(),
            ['request_type' => $requesttype, 'reason' => $reason, 'classes' => $classes]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:submitrequest', $context);
        $student = student_data::student((int)$USER->id);
        if ($student === null) {
            throw new \moodle_exception('nostudentrecord', 'local_mzi');
        }
        $row = requests::create($student, (int)$USER->id, $params['request_type'], $params['reason'], $params['classes']);
        return ['id' => (int)$row->id, 'request_number' => $row->request_number, 'status' => $row->status];
    }

    /**
     * Returns: the stored request.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'id' => new external_value(PARAM_INT, 'local_mzi_requests.id'),
            'request_number' => new external_value(PARAM_RAW, 'The request number, its Name in Zoho'),
            'status' => new external_value(PARAM_RAW, 'Pending'),
        ]);
    }
}
