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
 * Admin page: the outbox of events for mzi, with retry of failed and dead events.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

require_once(__DIR__ . '/../../../config.php');
require_once($CFG->libdir . '/adminlib.php');

$status = optional_param('status', '', PARAM_ALPHA);
$page = optional_param('page', 0, PARAM_INT);
$action = optional_param('action', '', PARAM_ALPHA);

admin_externalpage_setup('local_mzi_outbox', '', ['status' => $status, 'page' => $page]);
$context = context_system::instance();
require_capability('local/mzi:viewstatus', $context);
$PAGE->set_url(new moodle_url('/local/mzi/admin/outbox.php', ['status' => $status, 'page' => $page]));

if ($action === 'retry') {
    require_sesskey();
    require_capability('local/mzi:manage', $context);
    $id = required_param('id', PARAM_INT);
    $result = \local_mzi\local\outbox::requeue([$id])[0];
    $message = get_string('retryresult:' . $result['status'], 'local_mzi', $id);
    redirect(new moodle_url('/local/mzi/admin/outbox.php', ['status' => $status]), $message, null,
        $result['status'] === 'error' ? \core\output\notification::NOTIFY_ERROR : \core\output\notification::NOTIFY_SUCCESS);
}

$output = $PAGE->get_renderer('local_mzi');
echo $output->header();
echo $output->heading(get_string('outbox', 'local_mzi'));
echo $output->render(new \local_mzi\output\outbox_page($status, $page));
echo $output->footer();
