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
require_once($CFG->dirroot . '/mod/assign/locallib.php');

use external_api;
use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;

/**
 * local_mzi_get_assignment_grades: the latest graded attempt of each student on each assignment
 * of a class's course, with what mzi needs to write the Zoho BTEC_Grades record.
 *
 * A class's course is a course whose idnumber is a local_mzi_classes row (the Zoho class id).
 * For each (assignment, student) the grade of the highest graded attempt is returned with the
 * student's Zoho id (local_mzi_students by moodle_user_id), the class and unit names, the raw
 * grade and, on a scale, the scale item it stands for, the attempt (0 = first), when it was
 * submitted, the student's deadline (their extension, else the due date), when a later attempt
 * was submitted, the grader and whether they hold the Internal Verifier role (ivrole) in the
 * course, the feedback comment as plain text, the marking workflow state, and the marking
 * guide's criteria with this grade's fillings. mzi applies the school's rules (letters, the RR
 * rule) itself. Read only: nothing here changes a grade.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_assignment_grades extends external_api {

    /** @var int Largest page. */
    const MAX_LIMIT = 5000;

    /** @var string The Internal Verifier role's shortname when the caller names none. */
    const DEFAULT_IV_ROLE = 'internalverifier';

    /**
     * Parameters: afterid, limit, keys, modifiedsince, ivrole.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'afterid' => new external_value(PARAM_INT, 'Grades with id > afterid', VALUE_DEFAULT, 0),
            'limit' => new external_value(PARAM_INT, 'Page size 1..5000', VALUE_DEFAULT, 1000),
            'keys' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Composite key {moodle user id}_{assignment id}'),
                'Only these; empty = all', VALUE_DEFAULT, []),
            'modifiedsince' => new external_value(PARAM_INT,
                'Only grades graded, resubmitted or past their deadline after this unix time; 0 = all', VALUE_DEFAULT, 0),
            'ivrole' => new external_value(PARAM_RAW, 'Shortname of the Internal Verifier course role', VALUE_DEFAULT, ''),
        ]);
    }

    /**
     * One page of grades, ordered by grade id.
     *
     * @param int $afterid grades with id > afterid
     * @param int $limit page size
     * @param array $keys only these composite keys (empty = all)
     * @param int $modifiedsince only what changed after this time (0 = all)
     * @param string $ivrole the Internal Verifier role's shortname
     * @return array grades, nextafterid, hasmore
     */
    public static function execute(int $afterid = 0, int $limit = 1000, array $keys = [], int $modifiedsince = 0,
            string $ivrole = ''): array {
        global $DB;
        $params = self::validate_parameters(self::execute_parameters(), ['afterid' => $afterid, 'limit' => $limit,
            'keys' => $keys, 'modifiedsince' => $modifiedsince, 'ivrole' => $ivrole]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        if ($params['limit'] < 1 || $params['limit'] > self::MAX_LIMIT) {
            throw new \invalid_parameter_exception('limit must be between 1 and ' . self::MAX_LIMIT . ", got {$params['limit']}");
        }
        $pairs = self::parse_keys($params['keys']);

        [$where, $sqlparams] = self::conditions($params, $pairs);
        $sql = "SELECT ag.id AS gradeid, ag.assignment AS assignmentid, ag.userid, ag.grade AS rawgrade, ag.grader,
                       ag.attemptnumber, ag.timemodified, a.name AS assignmentname, a.course AS courseid,
                       a.grade AS maxgrade, a.duedate, a.markingworkflow, c.idnumber AS courseidnumber,
                       c.fullname AS coursename, k.class_name, k.class_status, k.unit_name, u.firstname, u.lastname,
                       u.firstnamephonetic, u.lastnamephonetic, u.middlename, u.alternatename,
                       uf.workflowstate, uf.extensionduedate
                  FROM {assign_grades} ag
                  JOIN {assign} a ON a.id = ag.assignment
                  JOIN {course} c ON c.id = a.course
                  JOIN {local_mzi_classes} k ON k.zoho_class_id = c.idnumber
                  JOIN {user} u ON u.id = ag.userid
             LEFT JOIN {assign_user_flags} uf ON uf.assignment = ag.assignment AND uf.userid = ag.userid
                 WHERE {$where}
              ORDER BY ag.id ASC";
        $rows = array_values($DB->get_records_sql($sql, $sqlparams, 0, $params['limit'] + 1));
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $last = end($rows);
        if ($pairs !== null) {
            // The keys narrow users and assignments in SQL; the exact pairs are kept here, after
            // the page is cut, so the next page starts after this one whatever was kept.
            $rows = array_values(array_filter($rows, function($row) use ($pairs) {
                return isset($pairs[$row->userid . '_' . $row->assignmentid]);
            }));
        }

        $students = self::students(array_unique(array_map(function($row) {
            return (int)$row->userid;
        }, $rows)));
        $ivroleid = $DB->get_field('role', 'id', ['shortname' => $params['ivrole'] !== '' ? $params['ivrole'] : self::DEFAULT_IV_ROLE]);
        $grades = [];
        foreach ($rows as $row) {
            $grades[] = self::grade($row, $students[(int)$row->userid] ?? null, $ivroleid ? (int)$ivroleid : 0);
        }
        return [
            'grades' => $grades,
            'nextafterid' => $last ? (int)$last->gradeid : $params['afterid'],
            'hasmore' => $hasmore,
        ];
    }

    /**
     * Composite keys → a set of "userid_assignmentid" (null when none were asked for).
     *
     * @param array $keys the keys asked for
     * @return array|null
     */
    protected static function parse_keys(array $keys): ?array {
        if (!$keys) {
            return null;
        }
        $pairs = [];
        foreach ($keys as $key) {
            if (!preg_match('/^(\d+)_(\d+)$/', $key, $m)) {
                throw new \invalid_parameter_exception("'{$key}' is not {moodle user id}_{assignment id}");
            }
            $pairs[(int)$m[1] . '_' . (int)$m[2]] = [(int)$m[1], (int)$m[2]];
        }
        return $pairs;
    }

    /**
     * The WHERE clause and its named parameters: class courses, the latest graded attempt, the
     * keys' users and assignments, and what changed since modifiedsince.
     *
     * @param array $params the validated parameters
     * @param array|null $pairs the asked keys
     * @return array [sql, params]
     */
    protected static function conditions(array $params, ?array $pairs): array {
        global $DB;
        $graded = "(CASE WHEN a.grade < 0 THEN 1 ELSE 0 END)";
        $where = "ag.id > :afterid AND c.id <> :siteid AND c.idnumber <> :empty AND ag.grade >= {$graded}
                  AND ag.attemptnumber = (SELECT MAX(g2.attemptnumber) FROM {assign_grades} g2
                                           WHERE g2.assignment = ag.assignment AND g2.userid = ag.userid
                                             AND g2.grade >= {$graded})";
        $sqlparams = ['afterid' => $params['afterid'], 'siteid' => SITEID, 'empty' => ''];
        if ($pairs !== null) {
            [$usersql, $userparams] = $DB->get_in_or_equal(array_unique(array_column($pairs, 0)), SQL_PARAMS_NAMED, 'usr');
            [$assignsql, $assignparams] = $DB->get_in_or_equal(array_unique(array_column($pairs, 1)), SQL_PARAMS_NAMED, 'asg');
            $where .= " AND ag.userid {$usersql} AND ag.assignment {$assignsql}";
            $sqlparams += $userparams + $assignparams;
        }
        if ($params['modifiedsince'] > 0) {
            // A refer becomes a second refer by time alone: a deadline passed since then counts too.
            $deadline = "COALESCE(NULLIF(uf.extensionduedate, 0), a.duedate)";
            $where .= " AND (ag.timemodified > :since1
                             OR EXISTS (SELECT 1 FROM {assign_submission} s2 WHERE s2.assignment = ag.assignment
                                           AND s2.userid = ag.userid AND s2.timemodified > :since2)
                             OR ({$deadline} > :since3 AND {$deadline} <= :now))";
            $sqlparams += ['since1' => $params['modifiedsince'], 'since2' => $params['modifiedsince'],
                'since3' => $params['modifiedsince'], 'now' => time()];
        }
        return [$where, $sqlparams];
    }

    /**
     * The student mirror row of each user: a live row before a soft-deleted one, then the newest.
     *
     * @param int[] $userids Moodle user ids
     * @return array userid => row
     */
    protected static function students(array $userids): array {
        global $DB;
        if (!$userids) {
            return [];
        }
        [$insql, $params] = $DB->get_in_or_equal($userids, SQL_PARAMS_NAMED, 'uid');
        $rows = $DB->get_records_select('local_mzi_students', "moodle_user_id {$insql}", $params, 'id ASC',
            'id, moodle_user_id, zoho_student_id, status');
        $byuser = [];
        foreach ($rows as $row) {
            $current = $byuser[(int)$row->moodle_user_id] ?? null;
            if ($current === null || $current->status === 'Deleted' || $row->status !== 'Deleted') {
                $byuser[(int)$row->moodle_user_id] = $row;
            }
        }
        return $byuser;
    }

    /**
     * One grade as the function returns it.
     *
     * @param \stdClass $row the joined grade row
     * @param \stdClass|null $student the student's mirror row
     * @param int $ivroleid the Internal Verifier role's id (0: the site has none)
     * @return array
     */
    protected static function grade(\stdClass $row, ?\stdClass $student, int $ivroleid): array {
        global $DB;
        $attempt = (int)$row->attemptnumber;
        $grader = (int)$row->grader;
        $gradername = '';
        $isiv = false;
        if ($grader > 0 && ($graderuser = $DB->get_record('user', ['id' => $grader]))) {
            $gradername = fullname($graderuser);
            $coursecontext = \context_course::instance((int)$row->courseid);
            $isiv = $ivroleid > 0 && user_has_role_assignment($grader, $ivroleid, $coursecontext->id);
        }
        $comment = $DB->get_record_select('assignfeedback_comments', 'grade = :grade', ['grade' => $row->gradeid],
            'id, commenttext, commentformat', IGNORE_MULTIPLE);
        $submitted = self::submission_time($row, $attempt, '=');
        return [
            'compositekey' => $row->userid . '_' . $row->assignmentid,
            'gradeid' => (int)$row->gradeid,
            'userid' => (int)$row->userid,
            'assignmentid' => (int)$row->assignmentid,
            'assignmentname' => (string)$row->assignmentname,
            'courseid' => (int)$row->courseid,
            'courseidnumber' => (string)$row->courseidnumber,
            'zohostudentid' => $student ? (string)$student->zoho_student_id : '',
            'studentstatus' => $student ? (string)$student->status : '',
            'studentname' => fullname($row),
            'classname' => (string)($row->class_name ?? '') !== '' ? (string)$row->class_name : (string)$row->coursename,
            'classstatus' => (string)($row->class_status ?? ''),
            'unitname' => (string)($row->unit_name ?? ''),
            'rawgrade' => (string)$row->rawgrade,
            'maxgrade' => (int)$row->maxgrade,
            'scaleitem' => self::scale_item((int)$row->maxgrade, (float)$row->rawgrade),
            'attemptnumber' => $attempt,
            'attemptdate' => $submitted ?: (int)$row->timemodified,
            'duedate' => (int)($row->extensionduedate ?? 0) ?: (int)$row->duedate,
            'resubmittedat' => self::submission_time($row, $attempt, '>'),
            'graderid' => $grader,
            'gradername' => $gradername,
            'graderisiv' => $isiv,
            'feedback' => $comment ? trim(content_to_text((string)$comment->commenttext, (int)$comment->commentformat)) : '',
            'workflowstate' => (string)($row->workflowstate ?? ''),
            'markingworkflow' => (int)$row->markingworkflow,
            'timemodified' => (int)$row->timemodified,
            'outcomes' => self::outcomes($row),
        ];
    }

    /**
     * When the student submitted this attempt ('=') or first submitted a later one ('>'); 0 = never.
     *
     * @param \stdClass $row the grade row
     * @param int $attempt the graded attempt
     * @param string $op '=' or '>'
     * @return int unix time
     */
    protected static function submission_time(\stdClass $row, int $attempt, string $op): int {
        global $DB;
        $op = $op === '>' ? '>' : '=';
        $time = $DB->get_field_sql("SELECT MIN(timemodified) FROM {assign_submission}
                                     WHERE assignment = :assignment AND userid = :userid
                                       AND attemptnumber {$op} :attempt AND status = :status",
            ['assignment' => $row->assignmentid, 'userid' => $row->userid, 'attempt' => $attempt,
             'status' => ASSIGN_SUBMISSION_STATUS_SUBMITTED]);
        return (int)$time;
    }

    /**
     * The scale item a grade stands for ('' when the assignment is graded in points).
     *
     * @param int $maxgrade assign.grade: points, or -scaleid
     * @param float $raw the grade
     * @return string
     */
    protected static function scale_item(int $maxgrade, float $raw): string {
        global $DB;
        if ($maxgrade >= 0) {
            return '';
        }
        $scale = $DB->get_field('scale', 'scale', ['id' => -$maxgrade]);
        $items = $scale ? array_map('trim', explode(',', $scale)) : [];
        $index = (int)$raw;
        return ($index >= 1 && $index <= count($items)) ? $items[$index - 1] : '';
    }

    /**
     * The marking guide of the assignment with this grade's fillings: every criterion, filled or not.
     *
     * @param \stdClass $row the grade row
     * @return array
     */
    protected static function outcomes(\stdClass $row): array {
        global $DB;
        $cm = get_coursemodule_from_instance('assign', $row->assignmentid, $row->courseid, false, IGNORE_MISSING);
        if (!$cm) {
            return [];
        }
        $context = \context_module::instance($cm->id);
        $instance = $DB->get_record_sql("SELECT gi.id, gi.definitionid
                                           FROM {grading_instances} gi
                                           JOIN {grading_definitions} gd ON gd.id = gi.definitionid AND gd.method = :method
                                           JOIN {grading_areas} ga ON ga.id = gd.areaid AND ga.contextid = :contextid
                                                AND ga.component = :component AND ga.areaname = :areaname
                                          WHERE gi.itemid = :itemid AND gi.status IN (:active, :needupdate)
                                       ORDER BY gi.timemodified DESC, gi.id DESC",
            ['method' => 'guide', 'contextid' => $context->id, 'component' => 'mod_assign', 'areaname' => 'submissions',
             'itemid' => $row->gradeid, 'active' => 1, 'needupdate' => 2], IGNORE_MULTIPLE);
        if (!$instance) {
            return [];
        }
        $criteria = $DB->get_records_sql("SELECT c.id, c.shortname, c.description, c.descriptionformat, c.maxscore,
                                                 f.score, f.remark, f.remarkformat
                                            FROM {gradingform_guide_criteria} c
                                       LEFT JOIN {gradingform_guide_fillings} f
                                                 ON f.criterionid = c.id AND f.instanceid = :instanceid
                                           WHERE c.definitionid = :definitionid
                                        ORDER BY c.sortorder, c.id",
            ['instanceid' => $instance->id, 'definitionid' => $instance->definitionid]);
        $outcomes = [];
        foreach ($criteria as $criterion) {
            $outcomes[] = [
                'shortname' => (string)$criterion->shortname,
                'description' => trim(content_to_text((string)$criterion->description,
                    (int)($criterion->descriptionformat ?? FORMAT_MOODLE))),
                'score' => $criterion->score === null ? '' : (string)$criterion->score,
                'maxscore' => (string)$criterion->maxscore,
                'remark' => trim(content_to_text((string)($criterion->remark ?? ''),
                    (int)($criterion->remarkformat ?? FORMAT_MOODLE))),
            ];
        }
        return $outcomes;
    }

    /**
     * Returns: grades, nextafterid, hasmore.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'grades' => new external_multiple_structure(new external_single_structure([
                'compositekey' => new external_value(PARAM_RAW, '{moodle user id}_{assignment id}'),
                'gradeid' => new external_value(PARAM_INT, 'assign_grades id'),
                'userid' => new external_value(PARAM_INT, 'Student user id'),
                'assignmentid' => new external_value(PARAM_INT, 'Assignment id'),
                'assignmentname' => new external_value(PARAM_RAW, 'Assignment name'),
                'courseid' => new external_value(PARAM_INT, 'Course id'),
                'courseidnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'zohostudentid' => new external_value(PARAM_RAW, 'Zoho student id, empty when no mirror row links the user'),
                'studentstatus' => new external_value(PARAM_RAW, 'Status of the student mirror row'),
                'studentname' => new external_value(PARAM_RAW, 'Student full name'),
                'classname' => new external_value(PARAM_RAW, 'Class name (the course name when the class has none)'),
                'classstatus' => new external_value(PARAM_RAW, 'Class status of the mirror row'),
                'unitname' => new external_value(PARAM_RAW, 'Unit name of the class'),
                'rawgrade' => new external_value(PARAM_RAW, 'The grade as stored (points, or the scale item number)'),
                'maxgrade' => new external_value(PARAM_INT, 'assign.grade: maximum points, or -scale id'),
                'scaleitem' => new external_value(PARAM_RAW, 'The scale item of the grade, empty in points'),
                'attemptnumber' => new external_value(PARAM_INT, 'Graded attempt, 0 = first'),
                'attemptdate' => new external_value(PARAM_INT, 'When the attempt was submitted (else graded)'),
                'duedate' => new external_value(PARAM_INT, 'The student\'s deadline: extension, else due date; 0 = none'),
                'resubmittedat' => new external_value(PARAM_INT, 'When a later attempt was first submitted; 0 = never'),
                'graderid' => new external_value(PARAM_INT, 'Grader user id, 0 = none'),
                'gradername' => new external_value(PARAM_RAW, 'Grader full name'),
                'graderisiv' => new external_value(PARAM_BOOL, 'The grader holds the Internal Verifier role in the course'),
                'feedback' => new external_value(PARAM_RAW, 'Feedback comment as plain text'),
                'workflowstate' => new external_value(PARAM_RAW, 'Marking workflow state, empty without workflow'),
                'markingworkflow' => new external_value(PARAM_INT, 'The assignment uses marking workflow 0|1'),
                'timemodified' => new external_value(PARAM_INT, 'When the grade last changed'),
                'outcomes' => new external_multiple_structure(new external_single_structure([
                    'shortname' => new external_value(PARAM_RAW, 'Criterion shortname (P1, M2, ...)'),
                    'description' => new external_value(PARAM_RAW, 'Criterion description as plain text'),
                    'score' => new external_value(PARAM_RAW, 'Score given, empty when not filled'),
                    'maxscore' => new external_value(PARAM_RAW, 'Maximum score of the criterion'),
                    'remark' => new external_value(PARAM_RAW, 'The marker\'s remark as plain text'),
                ])),
            ])),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More grades after this page'),
        ]);
    }
}
