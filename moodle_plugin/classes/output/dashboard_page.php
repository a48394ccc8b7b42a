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

namespace local_mzi\output;

use renderable;
use renderer_base;
use templatable;

/**
 * The student dashboard: profile, programmes and finance, classes, grades, requests.
 *
 * Reads the local_mzi_* mirror directly (no API calls). Rows soft-deleted by mzi are left out,
 * except registrations and requests, whose status the student should see.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class dashboard_page implements renderable, templatable {

    /** @var \stdClass|null The student's mirror row. */
    protected $student;

    /** @var int Moodle user id shown. */
    protected $userid;

    /** @var bool The viewer is staff looking at someone else. */
    protected $staffview;

    /** @var bool The viewer may submit requests. */
    protected $cansubmit;

    /**
     * Constructor.
     *
     * @param int $userid Moodle user id whose dashboard is shown
     * @param bool $staffview the viewer is staff looking at another user
     * @param bool $cansubmit the viewer may submit requests
     */
    public function __construct(int $userid, bool $staffview, bool $cansubmit) {
        global $DB;
        $this->userid = $userid;
        $this->staffview = $staffview;
        $this->cansubmit = $cansubmit;
        $rows = $DB->get_records('local_mzi_students', ['moodle_user_id' => $userid], 'id ASC', '*', 0, 1);
        $this->student = $rows ? reset($rows) : null;
    }

    /**
     * Data for templates/dashboard.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        if (!$this->student) {
            return ['hasstudent' => false, 'staffview' => $this->staffview];
        }
        $s = $this->student;
        $zid = $s->zoho_student_id;
        return [
            'hasstudent' => true,
            'staffview' => $this->staffview,
            'profile' => $this->profile($s),
            'registrations' => $this->registrations($zid),
            'payments' => $this->payments($zid),
            'classes' => $this->classes($zid),
            'grades' => $this->grades($zid),
            'requests' => $this->requests($zid),
            'cansubmit' => $this->cansubmit && !$this->staffview,
            'requesturl' => (new \moodle_url('/local/mzi/request.php'))->out(false),
        ];
    }

    /**
     * Profile fields as label/value pairs.
     *
     * @param \stdClass $s student row
     * @return array
     */
    protected function profile(\stdClass $s): array {
        $fields = ['student_id', 'display_name', 'academic_email', 'email', 'phone_number', 'city', 'nationality',
            'date_of_birth', 'national_id', 'major', 'sub_major', 'academic_program', 'study_language', 'status'];
        $profile = ['name' => format_string(trim($s->display_name ?: ($s->first_name . ' ' . $s->last_name))), 'fields' => []];
        foreach ($fields as $field) {
            if ((string)$s->$field !== '') {
                $profile['fields'][] = ['label' => get_string('field:' . $field, 'local_mzi'), 'value' => s($s->$field)];
            }
        }
        return $profile;
    }

    /**
     * Registrations with their installments.
     *
     * @param string $zid zoho_student_id
     * @return array
     */
    protected function registrations(string $zid): array {
        global $DB;
        $out = [];
        foreach ($DB->get_records('local_mzi_registrations', ['zoho_student_id' => $zid], 'registration_date DESC, id DESC') as $r) {
            $installments = [];
            foreach ($DB->get_records('local_mzi_installments', ['zoho_registration_id' => $r->zoho_registration_id],
                    'installment_number ASC') as $i) {
                $installments[] = ['number' => (int)$i->installment_number, 'duedate' => s($i->due_date),
                    'amount' => s($i->amount), 'status' => s($i->status), 'paiddate' => s($i->paid_date)];
            }
            $out[] = [
                'number' => s($r->registration_number), 'program' => format_string($r->program_name ?? ''),
                'date' => s($r->registration_date), 'status' => s($r->registration_status),
                'totalfees' => s($r->total_fees), 'remaining' => s($r->remaining_amount), 'currency' => s($r->currency),
                'installments' => $installments, 'hasinstallments' => !empty($installments),
            ];
        }
        return $out;
    }

    /**
     * Payments, voided ones left out.
     *
     * @param string $zid zoho_student_id
     * @return array
     */
    protected function payments(string $zid): array {
        global $DB;
        $out = [];
        $select = 'zoho_student_id = :zid AND (payment_status IS NULL OR payment_status <> :voided)';
        foreach ($DB->get_records_select('local_mzi_payments', $select, ['zid' => $zid, 'voided' => 'Voided'],
                'payment_date DESC, id DESC') as $p) {
            $out[] = ['number' => s($p->payment_number), 'date' => s($p->payment_date), 'amount' => s($p->payment_amount),
                'currency' => s($p->currency), 'method' => s($p->payment_method), 'installment' => s($p->installment_no)];
        }
        return $out;
    }

    /**
     * Classes of active enrollments, with a link to the course when it exists.
     *
     * @param string $zid zoho_student_id
     * @return array
     */
    protected function classes(string $zid): array {
        global $DB;
        $sql = "SELECT e.id, e.enrollment_date, c.class_name, c.unit_name, c.teacher_name, c.term, c.year,
                       c.start_date, c.end_date, c.class_status, c.moodle_class_id
                  FROM {local_mzi_enrollments} e
                  JOIN {local_mzi_classes} c ON c.zoho_class_id = e.zoho_class_id
                 WHERE e.zoho_student_id = :zid AND (e.status IS NULL OR e.status <> :withdrawn)
              ORDER BY c.start_date DESC, e.id DESC";
        $out = [];
        foreach ($DB->get_records_sql($sql, ['zid' => $zid, 'withdrawn' => 'Withdrawn']) as $c) {
            $out[] = [
                'name' => format_string($c->class_name ?? ''), 'unit' => format_string($c->unit_name ?? ''),
                'teacher' => s($c->teacher_name), 'term' => s(trim($c->term . ' ' . $c->year)),
                'dates' => s(trim($c->start_date . ' – ' . $c->end_date, ' –')), 'status' => s($c->class_status),
                'courseurl' => $c->moodle_class_id ? (new \moodle_url('/course/view.php', ['id' => $c->moodle_class_id]))->out(false) : '',
            ];
        }
        return $out;
    }

    /**
     * Grades with their learning outcomes (canonical JSON list).
     *
     * @param string $zid zoho_student_id
     * @return array
     */
    protected function grades(string $zid): array {
        global $DB;
        $select = 'zoho_student_id = :zid AND (status IS NULL OR status <> :deleted)';
        $out = [];
        foreach ($DB->get_records_select('local_mzi_grades', $select, ['zid' => $zid, 'deleted' => 'Deleted'],
                'attempt_date DESC, id DESC') as $g) {
            $outcomes = [];
            $decoded = json_decode((string)$g->learning_outcomes, true);
            foreach (is_array($decoded) ? $decoded : [] as $lo) {
                if (!is_array($lo)) {
                    continue;
                }
                $outcomes[] = [
                    'code' => s($lo['code'] ?? $lo['LO_Code'] ?? ''),
                    'title' => s($lo['title'] ?? $lo['LO_Title'] ?? ''),
                    'score' => s($lo['score'] ?? $lo['LO_Score'] ?? ''),
                    'feedback' => s($lo['feedback'] ?? $lo['LO_Feedback'] ?? ''),
                ];
            }
            $out[] = [
                'unit' => format_string($g->unit_name ?? ''), 'grade' => s($g->grade), 'attempt' => (int)$g->attempt_number,
                'date' => s($g->attempt_date), 'feedback' => format_text((string)$g->feedback, FORMAT_PLAIN),
                'outcomes' => $outcomes, 'hasoutcomes' => !empty($outcomes),
            ];
        }
        return $out;
    }

    /**
     * Requests of the student (from Zoho or submitted here).
     *
     * @param string $zid zoho_student_id
     * @return array
     */
    protected function requests(string $zid): array {
        global $DB;
        $select = 'zoho_student_id = :zid OR moodle_user_id = :userid';
        $out = [];
        foreach ($DB->get_records_select('local_mzi_requests', $select, ['zid' => $zid, 'userid' => $this->userid],
                'timecreated DESC, id DESC') as $r) {
            $out[] = ['number' => s($r->request_number), 'type' => s($r->request_type), 'status' => s($r->status),
                'note' => self::request_note($r), 'date' => s($r->request_date), 'reason' => s($r->reason)];
        }
        return $out;
    }

    /**
     * For a request submitted here and not yet in Zoho: that it waits, or why the last send failed.
     *
     * @param \stdClass $r local_mzi_requests row
     * @return string empty once Zoho has it
     */
    protected static function request_note(\stdClass $r): string {
        if ($r->origin !== 'moodle' || !empty($r->zoho_request_id)) {
            return '';
        }
        if ($r->sync_status === 'failed') {
            return get_string('requestsync:failed', 'local_mzi', (string)$r->sync_message);
        }
        return get_string('requestsync:waiting', 'local_mzi');
    }
}
