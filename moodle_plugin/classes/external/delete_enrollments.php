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

/**
 * local_mzi_delete_enrollments: soft delete, status <- 'Withdrawn'.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class delete_enrollments extends mirror_delete {

    /** @var string The mirror table. */
    protected const TABLE = 'local_mzi_enrollments';

    /** @var string Column set on delete ('' = row removed). */
    protected const DELETE_FIELD = 'status';

    /** @var string Value set on delete. */
    protected const DELETE_VALUE = 'Withdrawn';
}
