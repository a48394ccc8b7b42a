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
 * Request types and the admin-defined windows in which some of them are open.
 *
 * Enroll Next Semester and Class Drop are open only inside a window (local_mzi_request_windows);
 * outside it they are hidden in the dashboard and refused server-side.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class request_windows {

    /** @var string[] Every request type (the Zoho picklist values) by string key. */
    const TYPES = [
        'enrollnextsemester' => 'Enroll Next Semester',
        'classdrop' => 'Class Drop',
        'latesubmission' => 'Late Submission',
        'studentcard' => 'Student Card',
        'changeinformation' => 'Change Information',
    ];

    /** @var string[] Types that need an open window, by string key. */
    const WINDOWED = [
        'enrollnextsemester' => 'Enroll Next Semester',
        'classdrop' => 'Class Drop',
    ];

    /**
     * The window rows by request type.
     *
     * @return \stdClass[]
     */
    public static function all(): array {
        global $DB;
        $windows = [];
        foreach ($DB->get_records('local_mzi_request_windows') as $row) {
            $windows[$row->request_type] = $row;
        }
        return $windows;
    }

    /**
     * Whether a request type may be submitted now.
     *
     * @param string $type request type (Zoho value)
     * @param int|null $now time to check (default now)
     * @return bool
     */
    public static function is_open(string $type, ?int $now = null): bool {
        global $DB;
        if (!in_array($type, self::TYPES, true)) {
            return false;
        }
        if (!in_array($type, self::WINDOWED, true)) {
            return true;
        }
        $window = $DB->get_record('local_mzi_request_windows', ['request_type' => $type]);
        return window_rules::is_open($window ?: null, $now ?? time());
    }

    /**
     * The request types open now, string key => Zoho value.
     *
     * @param int|null $now time to check (default now)
     * @return string[]
     */
    public static function open_types(?int $now = null): array {
        $open = [];
        foreach (self::TYPES as $key => $type) {
            if (self::is_open($type, $now)) {
                $open[$key] = $type;
            }
        }
        return $open;
    }

    /**
     * The string key of a request type (its Zoho value), or null for an unknown type.
     *
     * @param string $type Zoho value
     * @return string|null
     */
    public static function key_of(string $type): ?string {
        $key = array_search($type, self::TYPES, true);
        return $key === false ? null : $key;
    }

    /**
     * Save one window (insert or update by request type).
     *
     * @param string $type request type (Zoho value)
     * @param bool $enabled window in force
     * @param int $from opens (0 = no lower bound)
     * @param int $until closes (0 = no upper bound)
     */
    public static function save(string $type, bool $enabled, int $from, int $until): void {
        global $DB, $USER;
        $now = time();
        $row = $DB->get_record('local_mzi_request_windows', ['request_type' => $type]);
        $data = (object)['request_type' => $type, 'enabled' => $enabled ? 1 : 0, 'open_from' => $from ?: null,
            'open_until' => $until ?: null, 'timemodified' => $now, 'usermodified' => $USER->id];
        if ($row) {
            $data->id = $row->id;
            $DB->update_record('local_mzi_request_windows', $data);
        } else {
            $data->timecreated = $now;
            $DB->insert_record('local_mzi_request_windows', $data);
        }
    }
}
