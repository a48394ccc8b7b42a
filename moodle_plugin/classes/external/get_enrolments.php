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
 * local_mzi_get_enrolments: page through the manual enrolments in courses that have an idnumber.
 *
 * mzi's enrolment kinds compare who is enrolled in each class's course with Zoho; this returns,
 * per user enrolment, the course idnumber (the Zoho class id), the user, whether the enrolment is
 * active or suspended, and the roles the user holds in the course, so mzi can map users back to
 * Zoho people through the mirror tables. Courses without an idnumber are not mzi's and are left out.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_enrolments extends external_api {

    /** @var int Largest page. */
    const MAX_LIMIT = 5000;

    /**
     * Parameters: afterid, limit, idnumbers.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'afterid' => new external_value(PARAM_INT, 'User enrolments with id > afterid', VALUE_DEFAULT, 0),
            'limit' => new external_value(PARAM_INT, 'Page size 1..5000', VALUE_DEFAULT, 1000),
            'idnumbers' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'), 'Only these courses; empty = all',
                VALUE_DEFAULT, []),
        ]);
    }

    /**
     * One page of manual user enrolments in courses with a non-empty idnumber, ordered by id.
     *
     * @param int $afterid user enrolments with id > afterid
     * @param int $limit page size
     * @param array $idnumbers only the courses with these idnumbers (empty = all)
     * @return array enrolments, nextafterid, hasmore
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

        $where = "ue.id > :afterid AND e.enrol = :manual AND c.id <> :siteid AND c.idnumber <> :empty";
        $sqlparams = ['afterid' => $params['afterid'], 'manual' => 'manual', 'siteid' => SITEID, 'empty' => ''];
        if ($params['idnumbers']) {
            $wanted = array_values(array_filter($params['idnumbers'], function($idnumber) {
                return $idnumber !== '';
            }));
            if (!$wanted) {
                return ['enrolments' => [], 'nextafterid' => $params['afterid'], 'hasmore' => false];
            }
            [$insql, $inparams] = $DB->get_in_or_equal($wanted, SQL_PARAMS_NAMED, 'idn');
            $where .= " AND c.idnumber {$insql}";
            $sqlparams += $inparams;
        }
        $sql = "SELECT ue.id, ue.userid, ue.status, c.id AS courseid, c.idnumber
                  FROM {user_enrolments} ue
                  JOIN {enrol} e ON e.id = ue.enrolid
                  JOIN {course} c ON c.id = e.courseid
                 WHERE {$where}
              ORDER BY ue.id ASC";
        $rows = $DB->get_records_sql($sql, $sqlparams, 0, $params['limit'] + 1);
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $roles = self::roles($rows);
        $enrolments = [];
        foreach ($rows as $row) {
            $enrolments[] = [
                'id' => (int)$row->id,
                'courseidnumber' => (string)$row->idnumber,
                'userid' => (int)$row->userid,
                'status' => (int)$row->status === ENROL_USER_ACTIVE ? 'active' : 'suspended',
                'roles' => $roles[$row->courseid . ':' . $row->userid] ?? [],
            ];
        }
        $last = end($rows);
        return [
            'enrolments' => $enrolments,
            'nextafterid' => $last ? (int)$last->id : $params['afterid'],
            'hasmore' => $hasmore,
        ];
    }

    /**
     * The role shortnames each user of the page holds in each course of the page, in one query.
     *
     * @param array $rows the page's user enrolments (courseid, userid)
     * @return array "courseid:userid" => sorted role shortnames
     */
    protected static function roles(array $rows): array {
        global $DB;
        if (!$rows) {
            return [];
        }
        $courseids = array_unique(array_map(function($row) {
            return (int)$row->courseid;
        }, $rows));
        $userids = array_unique(array_map(function($row) {
            return (int)$row->userid;
        }, $rows));
        [$coursesql, $courseparams] = $DB->get_in_or_equal($courseids, SQL_PARAMS_NAMED, 'crs');
        [$usersql, $userparams] = $DB->get_in_or_equal($userids, SQL_PARAMS_NAMED, 'usr');
        $sql = "SELECT ra.id, ra.userid, cx.instanceid AS courseid, r.shortname
                  FROM {role_assignments} ra
                  JOIN {context} cx ON cx.id = ra.contextid AND cx.contextlevel = :level
                  JOIN {role} r ON r.id = ra.roleid
                 WHERE cx.instanceid {$coursesql} AND ra.userid {$usersql}
              ORDER BY r.shortname ASC";
        $roles = [];
        foreach ($DB->get_records_sql($sql, ['level' => CONTEXT_COURSE] + $courseparams + $userparams) as $ra) {
            $roles[$ra->courseid . ':' . $ra->userid][] = (string)$ra->shortname;
        }
        return array_map(function($names) {
            return array_values(array_unique($names));
        }, $roles);
    }

    /**
     * Returns: enrolments, nextafterid, hasmore.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'enrolments' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'User enrolment id'),
                'courseidnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'userid' => new external_value(PARAM_INT, 'Moodle user id'),
                'status' => new external_value(PARAM_ALPHA, 'active or suspended'),
                'roles' => new external_multiple_structure(new external_value(PARAM_ALPHANUMEXT, 'Role shortname')),
            ])),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More enrolments after this page'),
        ]);
    }
}
