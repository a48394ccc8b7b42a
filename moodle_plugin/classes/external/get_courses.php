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

/**
 * local_mzi_get_courses: page through the courses that have an idnumber (mzi's course resource).
 *
 * mzi keys a class's course by its idnumber (the Zoho class id) and compares name, dates and
 * visibility with Zoho; this returns exactly those columns, raw, so nothing is formatted away,
 * and whether the class's mirror row already links the course (an adopted course does not yet).
 * Courses without an idnumber are not mzi's and are left out.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_courses extends external_api {

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
     * One page of courses with a non-empty idnumber, ordered by id.
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
        $sql = "SELECT c.id, c.idnumber, c.fullname, c.shortname, c.category, c.startdate, c.enddate, c.visible,
                       CASE WHEN mc.moodle_class_id = c.id THEN 1 ELSE 0 END AS classlinked
                  FROM {course} c
             LEFT JOIN {local_mzi_classes} mc ON mc.zoho_class_id = c.idnumber
                 WHERE {$where}
              ORDER BY c.id ASC";
        $rows = $DB->get_records_sql($sql, $sqlparams, 0, $params['limit'] + 1);
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $courses = [];
        foreach ($rows as $row) {
            $courses[] = [
                'id' => (int)$row->id,
                'idnumber' => (string)$row->idnumber,
                'fullname' => (string)$row->fullname,
                'shortname' => (string)$row->shortname,
                'category' => (int)$row->category,
                'startdate' => (int)$row->startdate,
                'enddate' => (int)$row->enddate,
                'visible' => (int)$row->visible,
                'classlinked' => (int)$row->classlinked,
            ];
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
                'id' => new external_value(PARAM_INT, 'Course id'),
                'idnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'fullname' => new external_value(PARAM_RAW, 'Full name, unformatted'),
                'shortname' => new external_value(PARAM_RAW, 'Short name, unformatted'),
                'category' => new external_value(PARAM_INT, 'Category id'),
                'startdate' => new external_value(PARAM_INT, 'Start date (unix time)'),
                'enddate' => new external_value(PARAM_INT, 'End date (unix time), 0 = none'),
                'visible' => new external_value(PARAM_INT, 'Visible 0|1'),
                'classlinked' => new external_value(PARAM_INT,
                    '1 when the class\'s local_mzi_classes row names this course in moodle_class_id, else 0'),
            ])),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More courses after this page'),
        ]);
    }
}
