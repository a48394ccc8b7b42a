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
 * local_mzi_ensure_courses: create or update the course of each class (idnumber = Zoho class id).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class ensure_courses extends external_api {

    /**
     * Parameters: courses.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courses' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Zoho class id, the course idnumber'),
                'fullname' => new external_value(PARAM_RAW, 'Course full name (class name)'),
                'shortname' => new external_value(PARAM_RAW, 'Wanted short name; made unique with " (2)", " (3)" ...'),
                'categoryid' => new external_value(PARAM_INT, 'Category id, 0 = plugin setting', VALUE_DEFAULT, 0),
                'startdate' => new external_value(PARAM_INT, 'Start date (unix time)', VALUE_DEFAULT, 0),
                'enddate' => new external_value(PARAM_INT, 'End date (unix time), 0 = none', VALUE_DEFAULT, 0),
                'visible' => new external_value(PARAM_INT, 'Visible 0|1', VALUE_DEFAULT, 1),
            ])),
        ]);
    }

    /**
     * Ensure the courses, one delegated transaction per course.
     *
     * @param array $courses the courses
     * @return array results
     */
    public static function execute(array $courses): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courses' => $courses]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        $results = [];
        foreach ($params['courses'] as $course) {
            $results[] = batch::run(function() use ($course) {
                return courses::ensure_course($course);
            }, ['key' => $course['idnumber'], 'courseid' => 0]);
        }
        return ['results' => $results];
    }

    /**
     * Returns: one result per course.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'The idnumber'),
                'status' => new external_value(PARAM_ALPHA, 'created, updated, unchanged or error'),
                'courseid' => new external_value(PARAM_INT, 'Course id, 0 on error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
