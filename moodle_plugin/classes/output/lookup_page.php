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
 * Staff page: find a student by Moodle user id, student number or e-mail.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class lookup_page implements renderable, templatable {

    /** @var string What staff typed. */
    protected $query;

    /** @var \stdClass[] Matching student rows. */
    protected $results;

    /** @var \moodle_url The lookup page. */
    protected $url;

    /** @var int Mirror row id of the student shown below, 0 for none. */
    protected $shown;

    /**
     * Constructor.
     *
     * @param string $query what staff typed ('' before a search)
     * @param \stdClass[] $results matching local_mzi_students rows
     * @param \moodle_url $url the lookup page
     * @param int $shown local_mzi_students.id of the student shown, 0 for none
     */
    public function __construct(string $query, array $results, \moodle_url $url, int $shown = 0) {
        $this->query = $query;
        $this->results = $results;
        $this->url = $url;
        $this->shown = $shown;
    }

    /**
     * Data for templates/lookup.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        $results = [];
        foreach ($this->results as $s) {
            $name = trim((string)$s->first_name . ' ' . (string)$s->last_name);
            $results[] = [
                'name' => $name !== '' ? $name : (string)$s->display_name, 'number' => (string)$s->student_id,
                'email' => (string)$s->academic_email, 'status' => (string)$s->status,
                'userid' => $s->moodle_user_id ? (int)$s->moodle_user_id : '',
                'url' => (new \moodle_url($this->url, ['sid' => (int)$s->id]))->out(false),
                'shown' => (int)$s->id === $this->shown,
            ];
        }
        return ['actionurl' => $this->url->out_omit_querystring(), 'query' => $this->query,
            'searched' => $this->query !== '', 'results' => $results, 'hasresults' => !empty($results)];
    }
}
