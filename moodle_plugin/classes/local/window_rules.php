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
 * When a request window is open: pure rules over a window row, so they are testable without Moodle.
 *
 * A window is in force when enabled; open_from and open_until (unix seconds, 0 or NULL for no
 * bound) are inclusive bounds. request_windows reads the rows; this class only decides.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class window_rules {

    /** @var string No row, or the window is switched off. */
    const DISABLED = 'disabled';

    /** @var string Enabled, but open_from is still ahead. */
    const NOTYET = 'notyet';

    /** @var string Enabled and now is between the bounds. */
    const OPEN = 'open';

    /** @var string Enabled, but open_until has passed. */
    const CLOSED = 'closed';

    /**
     * The state of a window at a time.
     *
     * @param \stdClass|null $window a local_mzi_request_windows row, or null when the type has none
     * @param int $now unix seconds
     * @return string one of the constants
     */
    public static function state(?\stdClass $window, int $now): string {
        if (!$window || empty($window->enabled)) {
            return self::DISABLED;
        }
        if (!empty($window->open_from) && (int)$window->open_from > $now) {
            return self::NOTYET;
        }
        if (!empty($window->open_until) && (int)$window->open_until < $now) {
            return self::CLOSED;
        }
        return self::OPEN;
    }

    /**
     * Whether a windowed request type may be submitted at a time.
     *
     * @param \stdClass|null $window the type's window row
     * @param int $now unix seconds
     * @return bool
     */
    public static function is_open(?\stdClass $window, int $now): bool {
        return self::state($window, $now) === self::OPEN;
    }
}
