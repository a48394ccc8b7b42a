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
 * Staff page: find a student (Moodle user id, student number, e-mail) and see their student area.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/adminlib.php');

use local_mzi\local\student_data;
use local_mzi\local\student_view;
use local_mzi\output\student_area;

$query = trim(optional_param('q', '', PARAM_TEXT));
$sid = optional_param('sid', 0, PARAM_INT);
$tab = optional_param('tab', 'profile', PARAM_ALPHA);
$tab = in_array($tab, student_area::TABS, true) ? $tab : 'profile';

// Checks login and local/mzi:viewothers (the external page's capability) and sets up $PAGE.
admin_externalpage_setup('local_mzi_lookup', '', array_filter(['q' => $query, 'sid' => $sid, 'tab' => $tab]));
$context = context_system::instance();
require_capability('local/mzi:viewothers', $context);

$results = student_data::lookup($query);
if (!$sid && count($results) === 1) {
    $sid = (int)$results[0]->id;
}
$student = $sid ? $DB->get_record('local_mzi_students', ['id' => $sid]) : null;
if ($student && !$results) {
    $results = [$student];
}

$url = new moodle_url('/local/mzi/admin/lookup.php');
$output = $PAGE->get_renderer('local_mzi');
echo $output->header();
echo $output->heading(get_string('studentlookup', 'local_mzi'));
echo $output->render(new \local_mzi\output\lookup_page($query, $results, $url, $student ? (int)$student->id : 0));
if ($student) {
    $base = new moodle_url($url, array_filter(['sid' => (int)$student->id, 'q' => $query]));
    echo $output->render(student_view::build($student, $tab, $base, true));
} else if ($sid) {
    echo $output->notification(get_string('nostudentfound', 'local_mzi'), \core\output\notification::NOTIFY_WARNING);
}
echo $output->footer();
