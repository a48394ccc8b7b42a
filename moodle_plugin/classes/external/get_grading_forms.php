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
use local_mzi\local\grading_forms;

/**
 * local_mzi_get_grading_forms: page through the courses of classes, each with how every one of
 * its assignments is graded (active method, the guide's name and criteria, whether mzi may set it).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_grading_forms extends external_api {

    /** @var int Largest page. */
    const MAX_LIMIT = 5000;

    /**
     * Parameters: afterid, limit, idnumbers.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'afterid' => new external_value(PARAM_INT, 'Courses with id > afterid', VALUE_DEFAULT, 0),
            'limit' => new external_value(PARAM_INT, 'Page size 1..5000', VALUE_DEFAULT, 1000),
            'idnumbers' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'), 'Only these; empty = all', VALUE_DEFAULT, []),
        ]);
    }

    /**
     * One page of class courses, ordered by id.
     *
     * @param int $afterid courses with id > afterid
     * @param int $limit page size
     * @param array $idnumbers only these idnumbers (empty = all)
     * @return array courses, nextafterid, hasmore
     */
    public static function execute(int $afterid = 0, int $limit = 1000, array $idnumbers = []): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['afterid' => $afterid, 'limit' => $limit, 'idnumbers' => $idnumbers]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        if ($params['limit'] < 1 || $params['limit'] > self::MAX_LIMIT) {
            throw new \invalid_parameter_exception('limit must be between 1 and ' . self::MAX_LIMIT . ", got {$params['limit']}");
        }
        $where = "c.id > :afterid AND c.id <> :siteid AND c.idnumber <> :empty";
        $sqlparams = ['afterid' => $params['afterid'], 'siteid' => SITEID, 'empty' => ''];
        if ($params['idnumbers']) {
            $wanted = array_values(array_filter($params['idnumbers'], function($idnumber) {
                return $idnumber !== '';
            }));
            if (!$wanted) {
                return ['courses' => [], 'nextafterid' => $params['afterid'], 'hasmore' => false];
            }
            [$insql, $inparams] = $DB->get_in_or_equal($wanted, SQL_PARAMS_NAMED, 'idn');
            $where .= " AND c.idnumber {$insql}";
            $sqlparams += $inparams;
        }
        $rows = array_values($DB->get_records_sql("SELECT c.id, c.idnumber
                                                      FROM {course} c
                                                      JOIN {local_mzi_classes} k ON k.zoho_class_id = c.idnumber
                                                     WHERE {$where}
                                                  ORDER BY c.id ASC", $sqlparams, 0, $params['limit'] + 1));
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $courses = [];
        foreach ($rows as $row) {
            $assignments = [];
            foreach (grading_forms::assignments((int)$row->id) as [$cm, $modcontext]) {
                $assignments[] = grading_forms::form_of($cm, $modcontext);
            }
            $courses[] = ['idnumber' => (string)$row->idnumber, 'courseid' => (int)$row->id, 'assignments' => $assignments];
        }
        $last = end($rows);
        return [
            'courses' => $courses,
            'nextafterid' => $last ? (int)$last->id : $params['afterid'],
            'hasmore' => $hasmore,
        ];
    }

    /**
     * Returns: courses, nextafterid, hasmore.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courses' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'assignments' => new external_multiple_structure(new external_single_structure([
                    'assignmentid' => new external_value(PARAM_INT, 'Assignment id'),
                    'name' => new external_value(PARAM_RAW, 'Assignment name'),
                    'activemethod' => new external_value(PARAM_RAW, 'Active grading method, empty = simple direct grading'),
                    'formname' => new external_value(PARAM_RAW, 'Name of the guide definition, empty without one'),
                    'managed' => new external_value(PARAM_BOOL, 'mzi may set this assignment\'s form'),
                    'criteria' => new external_multiple_structure(new external_single_structure([
                        'shortname' => new external_value(PARAM_RAW, 'Criterion shortname'),
                        'description' => new external_value(PARAM_RAW, 'Criterion description'),
                        'maxscore' => new external_value(PARAM_RAW, 'Maximum score'),
                    ])),
                ])),
            ])),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More courses after this page'),
        ]);
    }
}
