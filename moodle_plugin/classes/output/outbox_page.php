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
 * Admin page: the outbox (events for mzi) with a retry button for failed and dead events.
 *
 * The context holds raw text (event names, errors): the template escapes once.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class outbox_page implements renderable, templatable {

    /** @var string Status filter ('' = any). */
    protected $status;

    /** @var int Page number (0-based). */
    protected $page;

    /** @var array Event status => badge class. */
    const BADGES = ['pending' => 'badge-info', 'delivered' => 'badge-success', 'failed' => 'badge-warning',
        'dead' => 'badge-danger'];

    /** @var int Rows per page. */
    const PERPAGE = 50;

    /**
     * Constructor.
     *
     * @param string $status status filter
     * @param int $page page number
     */
    public function __construct(string $status, int $page) {
        $this->status = in_array($status, \local_mzi\local\outbox::STATUSES, true) ? $status : '';
        $this->page = max(0, $page);
    }

    /**
     * Data for templates/outbox.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        global $DB;
        $conditions = $this->status === '' ? [] : ['status' => $this->status];
        $total = $DB->count_records('local_mzi_outbox', $conditions);
        $rows = [];
        foreach ($DB->get_records('local_mzi_outbox', $conditions, 'id DESC', '*', $this->page * self::PERPAGE,
                self::PERPAGE) as $r) {
            $rows[] = [
                'id' => (int)$r->id, 'eventname' => (string)$r->eventname, 'objectid' => (int)$r->objectid,
                'relateduserid' => (int)$r->relateduserid, 'status' => get_string('eventstatus:' . $r->status, 'local_mzi'),
                'badge' => self::BADGES[$r->status] ?? 'badge-secondary', 'attempts' => (int)$r->attempts,
                'timecreated' => userdate($r->timecreated),
                'nextattempt' => in_array($r->status, ['pending', 'failed'], true) ? userdate($r->nextattempt) : '',
                'lasterror' => (string)$r->lasterror, 'canretry' => $r->status === 'failed' || $r->status === 'dead',
            ];
        }
        $baseurl = new \moodle_url('/local/mzi/admin/outbox.php', ['status' => $this->status]);
        $filters = [];
        foreach (array_merge([''], \local_mzi\local\outbox::STATUSES) as $status) {
            $filters[] = [
                'label' => $status === '' ? get_string('all') : get_string('eventstatus:' . $status, 'local_mzi'),
                'count' => $DB->count_records('local_mzi_outbox', $status === '' ? [] : ['status' => $status]),
                'url' => (new \moodle_url('/local/mzi/admin/outbox.php', ['status' => $status]))->out(false),
                'active' => $status === $this->status,
            ];
        }
        return [
            'rows' => $rows, 'hasrows' => !empty($rows), 'filters' => $filters,
            'actionurl' => (new \moodle_url('/local/mzi/admin/outbox.php'))->out(false),
            'sesskey' => sesskey(), 'filterstatus' => $this->status,
            'paging' => $output->paging_bar($total, $this->page, self::PERPAGE, $baseurl),
        ];
    }
}
