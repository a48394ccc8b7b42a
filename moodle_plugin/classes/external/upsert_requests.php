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

namespace local_mzi\external;

defined('MOODLE_INTERNAL') || die();

use local_mzi\local\mirror_table;
use local_mzi\local\requests;

/**
 * local_mzi_upsert_requests: insert or update rows of local_mzi_requests by key.
 *
 * Two rules on top of the mirror's upsert, for requests students submitted in Moodle (origin
 * moodle, see {@see requests}):
 *
 * - adoption: a record whose Zoho id no row has yet, but whose request_number is that of a
 *   submitted row still without a Zoho id, is that row coming back from Zoho: the row is
 *   updated and takes the Zoho id ("updated"), never duplicated. This is how the Zoho id of a
 *   request mzi created in Zoho is written back, safe to repeat and safe after an apply that
 *   died between creating the Zoho record and this call;
 * - ownership: on an origin moodle row the columns of {@see requests::MOODLE_OWNED} (what the
 *   student wrote) keep their value whatever is sent; Zoho's status, fees and times are taken.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_requests extends mirror_upsert {

    /** @var string The mirror table. */
    protected const TABLE = 'local_mzi_requests';

    /**
     * Adopt a submitted row for a new Zoho id; keep Moodle's columns of a submitted row.
     *
     * @param mirror_table $table the table
     * @param array $item prepared record
     * @param \stdClass|null $row the row with this Zoho id, if any
     * @return array the result
     */
    protected static function write(mirror_table $table, array $item, ?\stdClass $row): array {
        $adopted = false;
        if ($row === null) {
            $row = requests::adoptable($item['values']['request_number'] ?? null);
            $adopted = $row !== null;
        }
        if ($row !== null && $row->origin === requests::ORIGIN_MOODLE) {
            $item['values'] = array_diff_key($item['values'], array_flip(requests::MOODLE_OWNED));
        }
        if ($adopted) {
            $item['values'] = $item['keyvalues'] + $item['values'];
        }
        return parent::write($table, $item, $row);
    }
}
