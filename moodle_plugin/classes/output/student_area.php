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

use local_mzi\local\finance;
use local_mzi\local\grade_display;
use local_mzi\local\request_windows;
use local_mzi\local\requests;
use renderable;
use renderer_base;
use templatable;

/**
 * The student area: one page, one tab at a time (profile, finance, classes, grades, requests, card).
 *
 * Formats rows read by local\student_data; no database access here. The exported context holds
 * raw text (names, numbers, Zoho values) and raw URLs: the templates escape once. Staff reach the
 * same area for any student through admin/lookup.php (staffview).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class student_area implements renderable, templatable {

    /** @var string[] The tabs, in order. */
    const TABS = ['profile', 'finance', 'classes', 'grades', 'requests', 'card'];

    /** @var string[] Profile fields shown (each has a field: string), in order. */
    const PROFILE_FIELDS = ['student_id', 'academic_email', 'email', 'phone_number', 'address', 'city', 'nationality',
        'date_of_birth', 'national_id', 'major', 'sub_major', 'academic_program', 'study_language', 'status'];

    /** @var array Request status => badge class. */
    const REQUEST_BADGES = ['Pending' => 'badge-warning', 'Approved' => 'badge-success', 'Completed' => 'badge-success',
        'Rejected' => 'badge-danger', 'Cancelled' => 'badge-secondary'];

    /** @var array Installment state => badge class. */
    const STATE_BADGES = [finance::PAID => 'badge-success', finance::OVERDUE => 'badge-danger', finance::DUE => 'badge-warning'];

    /** @var \stdClass The student's row. */
    protected $student;

    /** @var array Rows of local\student_data::load(). */
    protected $data;

    /** @var string The tab shown. */
    protected $tab;

    /** @var \moodle_url Page URL the tab links add tab= to. */
    protected $baseurl;

    /** @var array Options: staffview, cansubmit, opentypes, today, photourl, qrdatauri, receipts, requesturl. */
    protected $options;

    /**
     * Constructor.
     *
     * @param \stdClass $student the student's local_mzi_students row
     * @param array $data the rows of local\student_data::load()
     * @param string $tab one of TABS (anything else shows the profile)
     * @param \moodle_url $baseurl URL of the page (with userid for staff)
     * @param array $options staffview (bool), cansubmit (bool), opentypes (key => type), today (YYYY-MM-DD),
     *     photourl (string), qrdatauri (string), receipts (request id => URL), requesturl (\moodle_url)
     */
    public function __construct(\stdClass $student, array $data, string $tab, \moodle_url $baseurl, array $options) {
        $this->student = $student;
        $this->data = $data + ['registrations' => [], 'installments' => [], 'payments' => [], 'classes' => [],
            'grades' => [], 'requests' => []];
        $this->tab = in_array($tab, self::TABS, true) ? $tab : 'profile';
        $this->baseurl = $baseurl;
        $this->options = $options + ['staffview' => false, 'cansubmit' => false, 'opentypes' => [], 'today' => date('Y-m-d'),
            'photourl' => '', 'qrdatauri' => '', 'receipts' => [], 'requesturl' => new \moodle_url('/local/mzi/request.php')];
    }

    /**
     * Data for templates/student_area.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        $tabs = [];
        foreach (self::TABS as $tab) {
            $tabs[] = ['key' => $tab, 'label' => get_string('tab:' . $tab, 'local_mzi'), 'active' => $tab === $this->tab,
                'url' => (new \moodle_url($this->baseurl, ['tab' => $tab]))->out(false)];
        }
        $context = [
            'studentname' => $this->name(),
            'nativename' => $this->nativename(),
            'studentnumber' => (string)$this->student->student_id,
            'staffview' => (bool)$this->options['staffview'],
            'tabs' => $tabs,
        ];
        $context[$this->tab] = $this->{'tab_' . $this->tab}();
        return $context;
    }

    /**
     * The student's name in Latin script.
     *
     * @return string
     */
    protected function name(): string {
        $s = $this->student;
        $name = trim((string)($s->first_name ?? '') . ' ' . (string)($s->last_name ?? ''));
        return $name !== '' ? $name : trim((string)($s->display_name ?? ''));
    }

    /**
     * The student's name in Arabic script ('' when Zoho has none).
     *
     * @return string
     */
    protected function nativename(): string {
        $s = $this->student;
        return trim((string)($s->first_name_native ?? '') . ' ' . (string)($s->last_name_native ?? ''));
    }

    /**
     * Profile tab.
     *
     * @return array
     */
    protected function tab_profile(): array {
        $fields = [];
        foreach (self::PROFILE_FIELDS as $field) {
            $value = trim((string)($this->student->$field ?? ''));
            if ($value !== '') {
                $fields[] = ['label' => get_string('field:' . $field, 'local_mzi'), 'value' => $value,
                    'ltr' => in_array($field, ['student_id', 'academic_email', 'email', 'phone_number', 'date_of_birth',
                        'national_id'], true)];
            }
        }
        return ['name' => $this->name(), 'nativename' => $this->nativename(), 'fields' => $fields];
    }

    /**
     * Programmes and finance tab: registrations with installments and totals, payments, overall balance.
     *
     * @return array
     */
    protected function tab_finance(): array {
        $today = $this->options['today'];
        $byregistration = [];
        foreach ($this->data['installments'] as $i) {
            $byregistration[$i->zoho_registration_id][] = $i;
        }
        $paymentsof = [];
        foreach ($this->data['payments'] as $p) {
            $paymentsof[(string)$p->zoho_registration_id][] = $p;
        }
        $registrations = [];
        $overall = [];
        foreach ($this->data['registrations'] as $r) {
            $totals = finance::totals($r, $paymentsof[(string)$r->zoho_registration_id] ?? []);
            $installments = [];
            $overdue = 0;
            foreach ($byregistration[$r->zoho_registration_id] ?? [] as $i) {
                $state = finance::installment_state($i, $today);
                $overdue += $state === finance::OVERDUE ? 1 : 0;
                $installments[] = ['number' => (int)$i->installment_number, 'duedate' => (string)$i->due_date,
                    'amount' => finance::format(finance::cents($i->amount)), 'paiddate' => (string)$i->paid_date,
                    'state' => $state, 'statelabel' => get_string('installment:' . $state, 'local_mzi'),
                    'badge' => self::STATE_BADGES[$state]];
            }
            $currency = (string)$r->currency;
            $cancelled = $r->registration_status === 'Cancelled';
            if (!$cancelled) {
                $sum = $overall[$currency] ?? ['total' => 0, 'paid' => 0, 'remaining' => 0];
                foreach (['total', 'paid', 'remaining'] as $k) {
                    $sum[$k] += finance::cents($totals[$k]);
                }
                $overall[$currency] = $sum;
            }
            $registrations[] = [
                'number' => (string)$r->registration_number, 'program' => (string)$r->program_name,
                'date' => (string)$r->registration_date, 'status' => (string)$r->registration_status,
                'cancelled' => $cancelled, 'currency' => $currency] + $totals + [
                'installments' => $installments, 'hasinstallments' => !empty($installments),
                'overduecount' => $overdue, 'hasoverdue' => $overdue > 0,
            ];
        }
        $payments = [];
        $programs = array_column(array_map(function($r) {
            return ['id' => (string)$r->zoho_registration_id, 'program' => (string)$r->program_name];
        }, $this->data['registrations']), 'program', 'id');
        foreach ($this->data['payments'] as $p) {
            if ($p->payment_status === 'Voided') {
                continue;
            }
            $payments[] = ['number' => (string)$p->payment_number, 'date' => (string)$p->payment_date,
                'amount' => finance::format(finance::cents($p->payment_amount)), 'currency' => (string)$p->currency,
                'method' => (string)$p->payment_method, 'installment' => (string)$p->installment_no,
                'program' => $programs[(string)$p->zoho_registration_id] ?? ''];
        }
        $balances = [];
        ksort($overall);
        foreach ($overall as $currency => $sum) {
            $balances[] = ['currency' => (string)$currency, 'total' => finance::format($sum['total']),
                'paid' => finance::format($sum['paid']), 'remaining' => finance::format($sum['remaining']),
                'settled' => $sum['remaining'] <= 0];
        }
        return ['registrations' => $registrations, 'hasregistrations' => !empty($registrations),
            'payments' => $payments, 'haspayments' => !empty($payments),
            'balances' => $balances, 'hasbalances' => !empty($balances)];
    }

    /**
     * Classes tab: class, unit, teacher, dates, hours, room, link to the Moodle course.
     *
     * @return array
     */
    protected function tab_classes(): array {
        $classes = [];
        foreach ($this->data['classes'] as $c) {
            $classes[] = [
                'name' => (string)($c->class_name ?? '') !== '' ? (string)$c->class_name : (string)$c->zoho_class_id,
                'unit' => (string)($c->unit_name ?? ''), 'teacher' => (string)($c->teacher_name ?? ''),
                'term' => trim((string)($c->term ?? '') . ' ' . (string)($c->year ?? '')),
                'startdate' => (string)($c->start_date ?? ''), 'enddate' => (string)($c->end_date ?? ''),
                'hours' => trim(implode('–', array_filter([(string)($c->start_hour ?? ''), (string)($c->end_hour ?? '')]))),
                'room' => (string)($c->classroom ?? ''), 'status' => (string)($c->class_status ?? ''),
                'courseurl' => !empty($c->moodle_class_id)
                    ? (new \moodle_url('/course/view.php', ['id' => (int)$c->moodle_class_id]))->out(false) : '',
            ];
        }
        return ['classes' => $classes, 'hasclasses' => !empty($classes)];
    }

    /**
     * Grades tab: per unit, letter, attempt, feedback and learning outcomes with achieved state.
     *
     * @return array
     */
    protected function tab_grades(): array {
        $grades = [];
        foreach ($this->data['grades'] as $g) {
            $letter = grade_display::letter($g->grade);
            $outcomes = grade_display::outcomes($g->learning_outcomes);
            $rows = [];
            foreach ($outcomes as $o) {
                $rows[] = ['code' => $o['code'], 'level' => $o['level'], 'title' => $o['title'],
                    'definition' => $o['definition'], 'feedback' => $o['feedback'],
                    'achieved' => $o['achieved'] === true, 'notachieved' => $o['achieved'] === false,
                    'notassessed' => $o['achieved'] === null];
            }
            $grades[] = [
                'unit' => (string)$g->unit_name !== '' ? (string)$g->unit_name : (string)$g->btec_grade_name,
                'letter' => $letter['letter'], 'gradename' => get_string($letter['key'], 'local_mzi'), 'badge' => $letter['badge'],
                'attempt' => (int)$g->attempt_number, 'resubmission' => (int)$g->attempt_number > 1,
                'date' => (string)$g->attempt_date, 'feedback' => trim((string)$g->feedback),
                'hasfeedback' => trim((string)$g->feedback) !== '',
                'outcomes' => $rows, 'hasoutcomes' => !empty($rows), 'summary' => grade_display::summary($outcomes),
            ];
        }
        return ['grades' => $grades, 'hasgrades' => !empty($grades)];
    }

    /**
     * Requests tab: the student's requests and, for the student, the types open now.
     *
     * @return array
     */
    protected function tab_requests(): array {
        $requests = [];
        foreach ($this->data['requests'] as $r) {
            $key = request_windows::key_of((string)$r->request_type);
            $details = json_decode((string)($r->details ?? ''), true);
            $items = [];
            foreach ((array)($details['changes'] ?? []) as $field => $value) {
                if (in_array($field, requests::CHANGEABLE, true)) {
                    $items[] = ['label' => get_string('field:' . $field, 'local_mzi'), 'value' => (string)$value];
                }
            }
            if (!empty($details['unit'])) {
                $items[] = ['label' => get_string('unit', 'local_mzi'), 'value' => (string)$details['unit']];
            }
            $status = (string)$r->status;
            $requests[] = [
                'id' => (int)$r->id, 'number' => (string)$r->request_number,
                'type' => $key ? get_string('requesttype:' . $key, 'local_mzi') : (string)$r->request_type,
                'status' => $status, 'badge' => self::REQUEST_BADGES[$status] ?? 'badge-secondary',
                'date' => (string)$r->request_date, 'reason' => trim((string)$r->reason),
                'classes' => implode(', ', requests::class_names($r->requested_classes)),
                'details' => $items, 'hasdetails' => !empty($items),
                'syncnote' => self::sync_note($r),
                'receipturl' => (string)($this->options['receipts'][(int)$r->id] ?? ''),
            ];
        }
        $newrequests = [];
        $cansubmit = $this->options['cansubmit'] && !$this->options['staffview'];
        if ($cansubmit) {
            foreach ($this->options['opentypes'] as $key => $type) {
                $newrequests[] = ['label' => get_string('requesttype:' . $key, 'local_mzi'),
                    'url' => (new \moodle_url($this->options['requesturl'], ['type' => $key]))->out(false)];
            }
        }
        return ['requests' => $requests, 'hasrequests' => !empty($requests), 'cansubmit' => $cansubmit,
            'newrequests' => $newrequests, 'hasnewrequests' => !empty($newrequests)];
    }

    /**
     * For a request made in Moodle and not yet in Zoho: that it waits to be sent, or why the last send failed.
     *
     * @param \stdClass $r local_mzi_requests row (origin, zoho_request_id, sync_status, sync_message)
     * @return string '' once Zoho has it (or for a request made in Zoho)
     */
    protected static function sync_note(\stdClass $r): string {
        if ((string)$r->origin !== requests::ORIGIN_MOODLE || (string)($r->zoho_request_id ?? '') !== '') {
            return '';
        }
        if ((string)($r->sync_status ?? '') === 'failed') {
            return get_string('requestsync:failed', 'local_mzi', trim((string)($r->sync_message ?? '')));
        }
        return get_string('requestsync:waiting', 'local_mzi');
    }

    /**
     * Student card tab: photo, names, number, programme, QR of the student number.
     *
     * @return array
     */
    protected function tab_card(): array {
        $program = '';
        foreach ($this->data['registrations'] as $r) {
            if ($r->registration_status !== 'Cancelled') {
                $program = (string)$r->program_name;
                break;
            }
        }
        if ($program === '') {
            $program = (string)($this->student->academic_program ?? '');
        }
        $name = $this->name();
        $initials = '';
        foreach (array_slice(preg_split('/\s+/u', $name, -1, PREG_SPLIT_NO_EMPTY), 0, 2) as $word) {
            $initials .= mb_strtoupper(mb_substr($word, 0, 1));
        }
        return ['name' => $name, 'nativename' => $this->nativename(), 'number' => (string)$this->student->student_id,
            'program' => $program, 'status' => (string)$this->student->status,
            'photourl' => (string)$this->options['photourl'], 'hasphoto' => (string)$this->options['photourl'] !== '',
            'initials' => $initials, 'qrdatauri' => (string)$this->options['qrdatauri'],
            'hasqr' => (string)$this->options['qrdatauri'] !== ''];
    }
}
