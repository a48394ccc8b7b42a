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

/**
 * A student submits a request; windowed types are refused outside their window (server-side).
 *
 * The request is stored in local_mzi_requests (origin moodle, status Pending) and the
 * request_submitted event puts it in the outbox; mzi creates it in Zoho and reports back through
 * local_mzi_record_request_results.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../config.php');

use local_mzi\local\request_windows;

require_login(null, false);
$context = context_system::instance();
require_capability('local/mzi:submitrequest', $context);

$url = new moodle_url('/local/mzi/request.php');
$dashboard = new moodle_url('/local/mzi/index.php');
$PAGE->set_url($url);
$PAGE->set_context($context);
$PAGE->set_pagelayout('standard');
$PAGE->set_title(get_string('newrequest', 'local_mzi'));
$PAGE->set_heading(get_string('newrequest', 'local_mzi'));
$PAGE->navbar->add(get_string('dashboard', 'local_mzi'), $dashboard);

$students = $DB->get_records('local_mzi_students', ['moodle_user_id' => $USER->id], 'id ASC', '*', 0, 1);
$student = reset($students);
$output = $PAGE->get_renderer('local_mzi');
if (!$student) {
    echo $output->header();
    echo $output->notification(get_string('nostudentrecord', 'local_mzi'), 'info');
    echo $output->footer();
    die();
}

// Classes the student enrolled in within the last month may be dropped.
$classes = [];
$since = date('Y-m-d', time() - 31 * DAYSECS);
$sql = "SELECT e.zoho_class_id, e.class_name
          FROM {local_mzi_enrollments} e
         WHERE e.zoho_student_id = :zid AND (e.status IS NULL OR e.status <> :withdrawn) AND e.enrollment_date >= :since";
foreach ($DB->get_records_sql($sql, ['zid' => $student->zoho_student_id, 'withdrawn' => 'Withdrawn', 'since' => $since]) as $e) {
    $classes[$e->zoho_class_id] = format_string($e->class_name ?? $e->zoho_class_id);
}

$types = request_windows::open_types();
$form = new \local_mzi\form\request_form($url, ['types' => $types, 'classes' => $classes]);
if ($form->is_cancelled()) {
    redirect($dashboard);
}
if ($data = $form->get_data()) {
    $type = request_windows::TYPES[$data->type] ?? '';
    if (!request_windows::is_open($type)) {
        throw new moodle_exception('error:windowclosed', 'local_mzi', $dashboard);
    }
    $requested = [];
    if ($type === 'Class Drop') {
        foreach ((array)($data->classes ?? []) as $zohoclassid) {
            if (isset($classes[$zohoclassid])) {
                $requested[] = ['zoho_class_id' => (string)$zohoclassid, 'class_name' => $classes[$zohoclassid]];
            }
        }
    }
    $now = time();
    $transaction = $DB->start_delegated_transaction();
    $requestid = $DB->insert_record('local_mzi_requests', (object)[
        'zoho_student_id' => $student->zoho_student_id,
        'request_type' => $type,
        'status' => 'Pending',
        'reason' => $data->reason,
        'request_date' => date('Y-m-d', $now),
        'requested_classes' => $requested ? json_encode($requested, JSON_UNESCAPED_UNICODE) : null,
        'academic_email' => $student->academic_email,
        'moodle_user_id' => $USER->id,
        'origin' => 'moodle',
        'timecreated' => $now,
        'timemodified' => $now,
    ]);
    \local_mzi\event\request_submitted::create([
        'objectid' => $requestid,
        'context' => $context,
        'relateduserid' => $USER->id,
        'other' => ['request_type' => $type],
    ])->trigger();
    $transaction->allow_commit();
    redirect($dashboard, get_string('requestsubmitted', 'local_mzi'), null, \core\output\notification::NOTIFY_SUCCESS);
}

echo $output->header();
if (!$types) {
    echo $output->notification(get_string('norequesttypesopen', 'local_mzi'), 'info');
} else {
    $form->display();
}
echo $output->footer();
