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
 * A student makes a request: one form per type (request.php?type=<key>).
 *
 * Own data only: the request is made for the logged-in user's own student record (looked up by
 * $USER->id); no parameter names another student, and the classes offered are the student's own.
 *
 * Enroll Next Semester and Class Drop exist only inside an open window: outside it the student
 * area offers no button and this page refuses them (error:windowclosed), as does
 * local\requests::create, the one place a request row is made (origin moodle, status Pending,
 * numbered MDL-<id>). The row goes to the outbox (event request_submitted); mzi creates it in Zoho
 * (Name = the number), links the row to the Zoho record and reports back through
 * local_mzi_record_request_results.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../config.php');
require_once($CFG->libdir . '/filelib.php');

use local_mzi\form\request_form;
use local_mzi\local\class_drop;
use local_mzi\local\request_windows;
use local_mzi\local\requests;
use local_mzi\local\student_data;

$type = optional_param('type', '', PARAM_ALPHA);

require_login(null, false);
$context = context_system::instance();
require_capability('local/mzi:submitrequest', $context);

$back = new moodle_url('/local/mzi/index.php', ['tab' => 'requests']);
if (!array_key_exists($type, request_windows::TYPES)) {
    redirect($back);
}
$url = new moodle_url('/local/mzi/request.php', ['type' => $type]);
$PAGE->set_url($url);
$PAGE->set_context($context);
$PAGE->set_pagelayout('standard');
$title = get_string('requesttype:' . $type, 'local_mzi');
$PAGE->set_title($title . ' | ' . get_string('studentarea', 'local_mzi'));
$PAGE->set_heading(get_string('studentarea', 'local_mzi'));
$PAGE->navbar->add(get_string('studentarea', 'local_mzi'), $back);
$PAGE->navbar->add($title);

$output = $PAGE->get_renderer('local_mzi');
$student = student_data::student((int)$USER->id);
if (!$student) {
    echo $output->header();
    echo $output->notification(get_string('nostudentrecord', 'local_mzi'), \core\output\notification::NOTIFY_INFO);
    echo $output->footer();
    die();
}
if (!request_windows::is_open(request_windows::TYPES[$type])) {
    throw new moodle_exception('error:windowclosed', 'local_mzi', $back);
}

// What the forms offer: classes enrolled in within the last month (Class Drop), the student's
// current classes (Late Submission), the current profile values (Change Information).
$enrollments = requests::enrollments($student);
$droppable = class_drop::eligible($enrollments, student_data::today());
$units = [];
foreach ($enrollments as $e) {
    if ((string)$e->zoho_class_id !== '') {
        $units[$e->zoho_class_id] = implode(' · ', array_filter([(string)$e->unit_name, (string)$e->class_name]));
    }
}
$current = [];
foreach (requests::CHANGEABLE as $field) {
    $current[$field] = (string)($student->$field ?? '');
}

$form = new request_form($url, ['type' => $type, 'classes' => $droppable, 'units' => $units, 'current' => $current]);
if ($form->is_cancelled()) {
    redirect($back);
}
if ($data = $form->get_data()) {
    $classids = [];
    $details = [];
    $draft = null;
    if ($type === 'classdrop') {
        $classids = request_form::ticked((array)($data->drop ?? []));
    } else if ($type === 'latesubmission') {
        $details = ['zoho_class_id' => (string)$data->class, 'unit' => $units[$data->class]];
        $draft = (int)$data->receipt;
    } else if ($type === 'changeinformation') {
        $details = ['changes' => request_form::changes($data, $current)];
    }
    try {
        requests::create($student, (int)$USER->id, request_windows::TYPES[$type], (string)($data->reason ?? ''),
            $classids, $details, $draft);
    } catch (moodle_exception $e) {
        if ($e->module !== 'local_mzi') {
            throw $e;
        }
        // A refusal of the rules the form checked too: the window closed or an enrollment changed meanwhile.
        throw new moodle_exception($e->errorcode, 'local_mzi', $back);
    }
    redirect($back, get_string('requestsubmitted', 'local_mzi'), null, \core\output\notification::NOTIFY_SUCCESS);
}

echo $output->header();
echo $output->heading($title);
if ($type === 'classdrop' && !$droppable) {
    echo $output->notification(get_string('noclassestodrop', 'local_mzi'), \core\output\notification::NOTIFY_INFO);
    echo $output->continue_button($back);
} else {
    $form->display();
}
echo $output->footer();
