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

namespace local_mzi\output;

use local_mzi\local\sync_status;
use renderable;
use renderer_base;
use templatable;

/**
 * Admin page: last plan/apply per resource kind, as pushed by mzi (local_mzi_sync_status).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class status_page implements renderable, templatable {

    /**
     * Data for templates/status.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        global $DB;
        $rows = [];
        foreach ($DB->get_records(sync_status::TABLE, null, 'kind ASC, command ASC') as $r) {
            $known = in_array((string)$r->status, sync_status::OUTCOMES, true);
            // A run that did not end well, or records that failed, is what an admin must act on;
            // blocked records (waiting for a parent) and drift a plan found (Moodle edits the
            // next apply undoes) are worth a look.
            $failed = ($known && $r->status !== 'ok') || $r->errors > 0;
            $rows[] = [
                'kind' => $r->kind, 'command' => $r->command,
                'outcome' => $known ? get_string('runstatus:' . $r->status, 'local_mzi') : '-',
                'runid' => $r->runid ? (int)$r->runid : '-',
                'timefinished' => $r->timefinished ? userdate($r->timefinished) : '-',
                'timepushed' => $r->timemodified ? userdate($r->timemodified) : '-',
                'creates' => (int)$r->creates, 'updates' => (int)$r->updates, 'deletes' => (int)$r->deletes,
                'blocked' => (int)$r->blocked, 'errors' => (int)$r->errors, 'drift' => (int)$r->drift,
                'failed' => $failed,
                'attention' => !$failed && ($r->blocked > 0 || ($r->command === 'plan' && $r->drift > 0)),
            ];
        }
        $counts = [];
        foreach (\local_mzi\local\outbox::STATUSES as $status) {
            $counts[] = ['status' => get_string('eventstatus:' . $status, 'local_mzi'),
                'count' => $DB->count_records(\local_mzi\local\outbox::TABLE, ['status' => $status])];
        }
        return ['rows' => $rows, 'hasrows' => !empty($rows), 'outbox' => $counts,
            'mziurl' => (string)get_config('local_mzi', 'mziurl')]; // Raw: the template escapes once.
    }
}
