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
 * Student dashboard: the student's own mirror data; staff with local/mzi:viewothers may look up anyone.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../config.php');

$userid = optional_param('userid', 0, PARAM_INT);
$query = optional_param('q', '', PARAM_TEXT);

require_login(null, false);
$context = context_system::instance();
require_capability('local/mzi:viewdashboard', $context);
$canviewothers = has_capability('local/mzi:viewothers', $context);

// Staff lookup by student number or academic e-mail.
if ($canviewothers && $query !== '') {
    $select = 'student_id = :number OR ' . $DB->sql_equal('academic_email', ':email', false);
    $found = $DB->get_records_select('local_mzi_students', $select, ['number' => $query, 'email' => $query],
        'id ASC', 'id, moodle_user_id', 0, 1);
    $found = reset($found);
    $userid = $found && $found->moodle_user_id ? (int)$found->moodle_user_id : -1;
}
if ($userid && $userid !== (int)$USER->id) {
    require_capability('local/mzi:viewothers', $context);
} else {
    $userid = (int)$USER->id;
}

$url = new moodle_url('/local/mzi/index.php', $userid !== (int)$USER->id ? ['userid' => $userid] : []);
$PAGE->set_url($url);
$PAGE->set_context($context);
$PAGE->set_pagelayout('standard');
$PAGE->set_title(get_string('dashboard', 'local_mzi'));
$PAGE->set_heading(get_string('dashboard', 'local_mzi'));

$output = $PAGE->get_renderer('local_mzi');
echo $output->header();
if ($canviewothers) {
    echo html_writer::start_tag('form', ['method' => 'get', 'action' => $url->out_omit_querystring(), 'class' => 'form-inline mb-3']);
    echo html_writer::label(get_string('lookup', 'local_mzi'), 'local-mzi-q', false, ['class' => 'me-2 mr-2']);
    echo html_writer::empty_tag('input', ['type' => 'text', 'name' => 'q', 'id' => 'local-mzi-q', 'value' => $query,
        'class' => 'form-control me-2 mr-2']);
    echo html_writer::empty_tag('input', ['type' => 'submit', 'value' => get_string('search'), 'class' => 'btn btn-secondary']);
    echo html_writer::end_tag('form');
}
if ($userid < 0) {
    echo $output->notification(get_string('nostudentfound', 'local_mzi'), 'warning');
} else {
    $page = new \local_mzi\output\dashboard_page($userid, $userid !== (int)$USER->id,
        has_capability('local/mzi:submitrequest', $context));
    echo $output->render($page);
}
echo $output->footer();
