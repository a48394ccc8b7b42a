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

namespace local_mzi\local;

/**
 * Everything the student area shows of one student, read from the mirror in one place.
 *
 * The rows are handed to output\student_area, which only formats: loading and formatting are
 * apart so the formatting can be checked without a database. Rows soft-deleted by mzi are left
 * out, except registrations and requests, whose status the student should see.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class student_data {

    /**
     * The student row linked to a Moodle user, or null.
     *
     * @param int $userid Moodle user id
     * @return \stdClass|null
     */
    public static function student(int $userid): ?\stdClass {
        global $DB;
        $rows = $DB->get_records('local_mzi_students', ['moodle_user_id' => $userid], 'id ASC', '*', 0, 1);
        return $rows ? reset($rows) : null;
    }

    /**
     * Students matching a staff lookup: a Moodle user id, a student number or an e-mail.
     *
     * @param string $query what staff typed
     * @return \stdClass[] student rows, at most 20
     */
    public static function lookup(string $query): array {
        global $DB;
        $query = trim($query);
        if ($query === '') {
            return [];
        }
        $conditions = ['student_id = :number', $DB->sql_equal('academic_email', ':email', false),
            $DB->sql_equal('email', ':email2', false)];
        $params = ['number' => $query, 'email' => $query, 'email2' => $query];
        if (ctype_digit($query)) {
            $conditions[] = 'moodle_user_id = :userid';
            $params['userid'] = (int)$query;
        }
        return array_values($DB->get_records_select('local_mzi_students', implode(' OR ', $conditions), $params,
            'student_id ASC, id ASC', '*', 0, 20));
    }

    /**
     * The rows of every tab for a student.
     *
     * @param \stdClass $student the student's row
     * @return array{registrations: array, installments: array, payments: array, classes: array, grades: array,
     *     requests: array}
     */
    public static function load(\stdClass $student): array {
        global $DB;
        $zid = $student->zoho_student_id;
        $registrations = array_values($DB->get_records('local_mzi_registrations', ['zoho_student_id' => $zid],
            'registration_date DESC, id DESC'));
        $installments = [];
        $regids = array_filter(array_column($registrations, 'zoho_registration_id'));
        if ($regids) {
            [$insql, $params] = $DB->get_in_or_equal($regids, SQL_PARAMS_NAMED);
            $installments = array_values($DB->get_records_select('local_mzi_installments', "zoho_registration_id {$insql}",
                $params, 'zoho_registration_id ASC, installment_number ASC'));
        }
        $payments = array_values($DB->get_records('local_mzi_payments', ['zoho_student_id' => $zid],
            'payment_date DESC, id DESC'));
        $sql = "SELECT e.id, e.zoho_class_id, e.enrollment_date, e.status AS enrollment_status, c.class_name, c.unit_name,
                       c.teacher_name, c.term, c.year, c.start_date, c.end_date, c.start_hour, c.end_hour, c.classroom,
                       c.class_status, c.moodle_class_id
                  FROM {local_mzi_enrollments} e
             LEFT JOIN {local_mzi_classes} c ON c.zoho_class_id = e.zoho_class_id
                 WHERE e.zoho_student_id = :zid AND (e.status IS NULL OR e.status <> :withdrawn)
              ORDER BY c.start_date DESC, e.id DESC";
        $classes = array_values($DB->get_records_sql($sql, ['zid' => $zid, 'withdrawn' => 'Withdrawn']));
        $grades = array_values($DB->get_records_select('local_mzi_grades',
            'zoho_student_id = :zid AND (status IS NULL OR status <> :deleted)', ['zid' => $zid, 'deleted' => 'Deleted'],
            'attempt_date DESC, id DESC'));
        $requests = array_values($DB->get_records_select('local_mzi_requests', 'zoho_student_id = :zid OR moodle_user_id = :userid',
            ['zid' => $zid, 'userid' => (int)$student->moodle_user_id], 'timecreated DESC, id DESC'));
        return ['registrations' => $registrations, 'installments' => $installments, 'payments' => $payments,
            'classes' => $classes, 'grades' => $grades, 'requests' => $requests];
    }

    /**
     * Today in the user's timezone, as YYYY-MM-DD (the mirror's date format).
     *
     * @return string
     */
    public static function today(): string {
        return (new \DateTimeImmutable('now', \core_date::get_user_timezone_object()))->format('Y-m-d');
    }
}
