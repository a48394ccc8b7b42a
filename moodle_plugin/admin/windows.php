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
 * Staff page: request windows (when Enroll Next Semester and Class Drop are open), their state now and the editor.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/adminlib.php');

use local_mzi\local\request_windows;

admin_externalpage_setup('local_mzi_windows');
require_capability('local/mzi:managewindows', context_system::instance());

$url = new moodle_url('/local/mzi/admin/windows.php');
$form = new \local_mzi\form\windows_form($url);

$defaults = [];
foreach (request_windows::all() as $type => $window) {
    $key = array_search($type, request_windows::WINDOWED, true);
    if ($key !== false) {
        $defaults["enabled_{$key}"] = (int)$window->enabled;
        $defaults["from_{$key}"] = (int)$window->open_from;
        $defaults["until_{$key}"] = (int)$window->open_until;
    }
}
$form->set_data($defaults);

if ($data = $form->get_data()) {
    foreach (request_windows::WINDOWED as $key => $type) {
        request_windows::save($type, !empty($data->{"enabled_{$key}"}), (int)($data->{"from_{$key}"} ?? 0),
            (int)($data->{"until_{$key}"} ?? 0));
    }
    redirect($url, get_string('changessaved'), null, \core\output\notification::NOTIFY_SUCCESS);
}

$output = $PAGE->get_renderer('local_mzi');
echo $output->header();
echo $output->heading(get_string('requestwindows', 'local_mzi'));
echo $output->render(new \local_mzi\output\windows_page(request_windows::all(), time()));
$form->display();
echo $output->footer();
