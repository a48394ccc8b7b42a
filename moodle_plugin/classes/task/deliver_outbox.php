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

namespace local_mzi\task;

use local_mzi\local\outbox;

/**
 * Every minute: POST due outbox events to mzi with backoff; dead after the configured attempts.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class deliver_outbox extends \core\task\scheduled_task {

    /**
     * Task name.
     *
     * @return string
     */
    public function get_name() {
        return get_string('taskdeliveroutbox', 'local_mzi');
    }

    /**
     * Deliver due events.
     */
    public function execute() {
        $trace = new \text_progress_trace();
        $counts = outbox::deliver_due($trace);
        mtrace("local_mzi outbox: {$counts['delivered']} delivered, {$counts['failed']} failed, {$counts['dead']} dead");
    }
}
