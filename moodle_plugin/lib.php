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
 * Callbacks of local_mzi: serving receipts, navigation on Moodle 4.1 and 4.2.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Serve a Late Submission receipt: to the student it belongs to and to staff who may view others.
 *
 * @param stdClass $course course (the site)
 * @param stdClass|null $cm course module (none)
 * @param context $context the receipt's user context
 * @param string $filearea receipt
 * @param array $args item id, then the path
 * @param bool $forcedownload whether to force a download
 * @param array $options send_stored_file options
 * @return bool false when there is no such file
 */
function local_mzi_pluginfile($course, $cm, $context, $filearea, $args, $forcedownload, array $options = []) {
    global $USER;
    if ($context->contextlevel != CONTEXT_USER || $filearea !== \local_mzi\local\requests::RECEIPT_AREA) {
        return false;
    }
    require_login(null, false);
    if ((int)$context->instanceid !== (int)$USER->id) {
        require_capability('local/mzi:viewothers', context_system::instance());
    }
    $itemid = (int)array_shift($args);
    $filename = array_pop($args);
    $filepath = $args ? '/' . implode('/', $args) . '/' : '/';
    $file = get_file_storage()->get_file($context->id, 'local_mzi', $filearea, $itemid, $filepath, $filename);
    if (!$file || $file->is_directory()) {
        return false;
    }
    send_stored_file($file, 0, 0, $forcedownload, $options);
}

/**
 * The student area and the staff area in the navigation of Moodle 4.1 and 4.2 (4.3 and later
 * put them in the primary navigation through db/hooks.php).
 *
 * @param global_navigation $navigation the global navigation
 */
function local_mzi_extend_navigation(global_navigation $navigation) {
    if (class_exists('\core\hook\navigation\primary_extend')) {
        return;
    }
    foreach (\local_mzi\local\navigation::entries() as $key => [$label, $url]) {
        $node = $navigation->add($label, $url, navigation_node::TYPE_CUSTOM, null, $key, new pix_icon('i/report', ''));
        $node->showinflatnavigation = true;
    }
}
