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

use local_mzi\local\request_windows;
use local_mzi\local\window_rules;
use renderable;
use renderer_base;
use templatable;

/**
 * Staff page: the state of each request window now, above the form that edits them.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class windows_page implements renderable, templatable {

    /** @var array Window state => badge class. */
    const BADGES = [window_rules::OPEN => 'badge-success', window_rules::NOTYET => 'badge-info',
        window_rules::CLOSED => 'badge-secondary', window_rules::DISABLED => 'badge-light'];

    /** @var \stdClass[] Window rows by request type. */
    protected $windows;

    /** @var int The time the states are for. */
    protected $now;

    /**
     * Constructor.
     *
     * @param \stdClass[] $windows request_windows::all()
     * @param int $now unix seconds
     */
    public function __construct(array $windows, int $now) {
        $this->windows = $windows;
        $this->now = $now;
    }

    /**
     * Data for templates/windows.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        $rows = [];
        foreach (request_windows::WINDOWED as $key => $type) {
            $window = $this->windows[$type] ?? null;
            $state = window_rules::state($window, $this->now);
            $rows[] = ['type' => get_string('requesttype:' . $key, 'local_mzi'),
                'state' => get_string('windowstate:' . $state, 'local_mzi'), 'badge' => self::BADGES[$state],
                'from' => $window && $window->open_from ? userdate($window->open_from) : '-',
                'until' => $window && $window->open_until ? userdate($window->open_until) : '-'];
        }
        return ['windows' => $rows];
    }
}
