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
        foreach ($DB->get_records('local_mzi_sync_status', null, 'kind ASC, command ASC') as $r) {
            $rows[] = [
                'kind' => s($r->kind), 'command' => s($r->command),
                'timefinished' => $r->timefinished ? userdate($r->timefinished) : '-',
                'creates' => (int)$r->creates, 'updates' => (int)$r->updates, 'deletes' => (int)$r->deletes,
                'blocked' => (int)$r->blocked, 'errors' => (int)$r->errors, 'drift' => (int)$r->drift,
                'haserrors' => $r->errors > 0 || $r->blocked > 0, 'hasdrift' => $r->drift > 0,
            ];
        }
        $counts = [];
        foreach (\local_mzi\local\outbox::STATUSES as $status) {
            $counts[] = ['status' => $status, 'count' => $DB->count_records('local_mzi_outbox', ['status' => $status])];
        }
        return ['rows' => $rows, 'hasrows' => !empty($rows), 'outbox' => $counts,
            'mziurl' => s((string)get_config('local_mzi', 'mziurl'))];
    }
}
