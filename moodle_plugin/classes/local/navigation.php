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

namespace local_mzi\local;

/**
 * The plugin's own navigation entries: one for the student area, one for the staff area.
 *
 * A student with a mirror record gets "My studies"; staff who may look up students or see the
 * sync status get "Student services (staff)", which needs no moodle/site:config.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class navigation {

    /**
     * The entries the current user should see, node key => [label, URL].
     *
     * @return array
     */
    public static function entries(): array {
        global $DB, $USER;
        if (!isloggedin() || isguestuser()) {
            return [];
        }
        $context = \context_system::instance();
        $entries = [];
        if (has_capability('local/mzi:viewdashboard', $context)
                && $DB->record_exists('local_mzi_students', ['moodle_user_id' => $USER->id])) {
            $entries['local_mzi_student'] = [get_string('studentarea', 'local_mzi'), new \moodle_url('/local/mzi/index.php')];
        }
        if (has_capability('local/mzi:viewothers', $context)) {
            $entries['local_mzi_staff'] = [get_string('staffarea', 'local_mzi'), new \moodle_url('/local/mzi/admin/lookup.php')];
        } else if (has_capability('local/mzi:viewstatus', $context)) {
            $entries['local_mzi_staff'] = [get_string('staffarea', 'local_mzi'), new \moodle_url('/local/mzi/admin/health.php')];
        }
        return $entries;
    }

    /**
     * Hook callback (Moodle 4.3+): the entries in the primary navigation.
     *
     * @param \core\hook\navigation\primary_extend $hook the hook
     */
    public static function primary_extend(\core\hook\navigation\primary_extend $hook): void {
        $primary = $hook->get_primaryview();
        foreach (self::entries() as $key => [$label, $url]) {
            $primary->add($label, $url, \navigation_node::TYPE_CUSTOM, null, $key);
        }
    }
}
