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
 * The student area: the student's own data from the mirror, one tab at a time.
 *
 * Only the logged-in user's own record is shown here. A userid naming someone else needs
 * local/mzi:viewothers (a student who edits the URL gets an access error); staff are sent on to
 * the lookup page, which shows any student.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../config.php');

use local_mzi\local\student_data;
use local_mzi\local\student_view;
use local_mzi\output\student_area;

$tab = optional_param('tab', 'profile', PARAM_ALPHA);
$userid = optional_param('userid', 0, PARAM_INT);
$tab = in_array($tab, student_area::TABS, true) ? $tab : 'profile';

require_login(null, false);
$context = context_system::instance();
require_capability('local/mzi:viewdashboard', $context);

if ($userid && $userid !== (int)$USER->id) {
    require_capability('local/mzi:viewothers', $context);
    $other = student_data::student($userid);
    redirect(new moodle_url('/local/mzi/admin/lookup.php', $other ? ['sid' => $other->id, 'tab' => $tab] : ['q' => $userid]));
}

$url = new moodle_url('/local/mzi/index.php');
$PAGE->set_url(new moodle_url($url, ['tab' => $tab]));
$PAGE->set_context($context);
$PAGE->set_pagelayout('standard');
$PAGE->set_title(get_string('tab:' . $tab, 'local_mzi') . ' | ' . get_string('studentarea', 'local_mzi'));
$PAGE->set_heading(get_string('studentarea', 'local_mzi'));
$PAGE->navbar->add(get_string('studentarea', 'local_mzi'), $url);

$output = $PAGE->get_renderer('local_mzi');
$student = student_data::student((int)$USER->id);
echo $output->header();
if (!$student) {
    echo $output->notification(get_string('nostudentrecord', 'local_mzi'), \core\output\notification::NOTIFY_INFO);
} else {
    echo $output->render(student_view::build($student, $tab, $url, false));
}
echo $output->footer();
