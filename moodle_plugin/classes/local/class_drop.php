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
 * Which classes a student may ask to drop, and whether a choice is acceptable.
 *
 * A Class Drop names one or two classes the student enrolled in within the last month
 * (calendar month, the enrollment date inclusive) and has not withdrawn from. Pure: the caller
 * passes the enrollment rows and today's date in the user's timezone.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class class_drop {

    /** @var int Fewest classes one request names. */
    const MIN_CLASSES = 1;

    /** @var int Most classes one request names. */
    const MAX_CLASSES = 2;

    /** @var string[] Enrollment statuses that are no longer a class to drop. */
    const ENDED = ['Withdrawn', 'Dropped', 'Cancelled', 'Completed'];

    /**
     * The first day still "within the last month" of a day: same day a month before, clamped
     * to the end of a shorter month (31 March gives 28 or 29 February, not 3 March).
     *
     * @param string $today YYYY-MM-DD
     * @return string YYYY-MM-DD
     */
    public static function cutoff(string $today): string {
        if (!preg_match('/^(\d{4})-(\d{2})-(\d{2})$/', $today, $m)) {
            throw new \coding_exception("class_drop::cutoff: '{$today}' is not a YYYY-MM-DD date");
        }
        [$year, $month, $day] = [(int)$m[1], (int)$m[2] - 1, (int)$m[3]];
        if ($month === 0) {
            [$year, $month] = [$year - 1, 12];
        }
        $last = (int)(new \DateTimeImmutable(sprintf('%04d-%02d-01', $year, $month)))->format('t');
        return sprintf('%04d-%02d-%02d', $year, $month, min($day, $last));
    }

    /**
     * The classes that may be dropped, zoho_class_id => class name, oldest enrollment first.
     *
     * @param array $enrollments rows (objects or arrays) with zoho_class_id, class_name, enrollment_date, status
     * @param string $today YYYY-MM-DD in the student's timezone
     * @return string[]
     */
    public static function eligible(array $enrollments, string $today): array {
        $cutoff = self::cutoff($today);
        $rows = [];
        foreach ($enrollments as $row) {
            $row = (object)$row;
            $date = (string)($row->enrollment_date ?? '');
            if ((string)($row->zoho_class_id ?? '') === '' || $date === '' || $date < $cutoff || $date > $today
                    || in_array((string)($row->status ?? ''), self::ENDED, true)) {
                continue;
            }
            $rows[] = $row;
        }
        usort($rows, function($a, $b) {
            return strcmp($a->enrollment_date, $b->enrollment_date) ?: strcmp($a->zoho_class_id, $b->zoho_class_id);
        });
        $eligible = [];
        foreach ($rows as $row) {
            $name = trim((string)($row->class_name ?? ''));
            $eligible[(string)$row->zoho_class_id] = $name !== '' ? $name : (string)$row->zoho_class_id;
        }
        return $eligible;
    }

    /**
     * Why a choice of classes is refused, as a local_mzi string key, or null when it is acceptable.
     *
     * @param array $chosen zoho_class_id values the student ticked
     * @param string[] $eligible the answer of eligible()
     * @return string|null
     */
    public static function refusal(array $chosen, array $eligible): ?string {
        $chosen = array_unique(array_map('strval', $chosen));
        if (count($chosen) < self::MIN_CLASSES || count($chosen) > self::MAX_CLASSES) {
            return 'error:classdropcount';
        }
        foreach ($chosen as $id) {
            if (!array_key_exists($id, $eligible)) {
                return 'error:classdropnoteligible';
            }
        }
        return null;
    }
}
