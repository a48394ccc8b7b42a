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

/**
 * Renderer of local_mzi: every page goes through a renderable and a mustache template.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class renderer extends \plugin_renderer_base {

    /**
     * The student area (one tab).
     *
     * @param student_area $page the page
     * @return string HTML
     */
    protected function render_student_area(student_area $page): string {
        return $this->render_from_template('local_mzi/student_area', $page->export_for_template($this));
    }

    /**
     * The staff student lookup.
     *
     * @param lookup_page $page the page
     * @return string HTML
     */
    protected function render_lookup_page(lookup_page $page): string {
        return $this->render_from_template('local_mzi/lookup', $page->export_for_template($this));
    }

    /**
     * The sync status page.
     *
     * @param status_page $page the page
     * @return string HTML
     */
    protected function render_status_page(status_page $page): string {
        return $this->render_from_template('local_mzi/status', $page->export_for_template($this));
    }

    /**
     * The outbox page.
     *
     * @param outbox_page $page the page
     * @return string HTML
     */
    protected function render_outbox_page(outbox_page $page): string {
        return $this->render_from_template('local_mzi/outbox', $page->export_for_template($this));
    }

    /**
     * The health page.
     *
     * @param health_page $page the page
     * @return string HTML
     */
    protected function render_health_page(health_page $page): string {
        return $this->render_from_template('local_mzi/health', $page->export_for_template($this));
    }

    /**
     * The request windows summary.
     *
     * @param windows_page $page the page
     * @return string HTML
     */
    protected function render_windows_page(windows_page $page): string {
        return $this->render_from_template('local_mzi/windows', $page->export_for_template($this));
    }
}
