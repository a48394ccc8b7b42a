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
 * The request is stored in local_mzi_requests (origin moodle, status Pending, numbered MDL-<id>;
 * see \local_mzi\local\requests) and the request_submitted event puts it in the outbox; mzi
 * creates it in Zoho (Name = the number), links the row to the Zoho record and reports back
 * through local_mzi_record_request_results.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../config.php');

use local_mzi\local\request_windows;
use local_mzi\local\requests;

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

$student = requests::student_of((int)$USER->id);
$output = $PAGE->get_renderer('local_mzi');
if (!$student) {
    echo $output->header();
    echo $output->notification(get_string('nostudentrecord', 'local_mzi'), 'info');
    echo $output->footer();
    die();
}

// Classes the student enrolled in within the last month may be dropped.
$classes = array_map('format_string', requests::droppable_classes($student));

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
    $classids = $type === 'Class Drop' ? (array)($data->classes ?? []) : [];
    requests::submit($student, (int)$USER->id, $type, (string)$data->reason, $classids);
    redirect($dashboard, get_string('requestsubmitted', 'local_mzi'), null, \core\output\notification::NOTIFY_SUCCESS);
}

echo $output->header();
if (!$types) {
    echo $output->notification(get_string('norequesttypesopen', 'local_mzi'), 'info');
} else {
    $form->display();
}
echo $output->footer();
