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
 * Detects a web-service request that PHP truncated at max_input_vars.
 *
 * PHP silently drops input variables beyond max_input_vars. Callers declare how many records
 * they sent (count); a mismatch, or a request that used every allowed variable, is refused.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class input_guard {

    /**
     * PHP's max_input_vars (1000 when unset).
     *
     * @return int
     */
    public static function max_input_vars(): int {
        $value = (int)ini_get('max_input_vars');
        return $value > 0 ? $value : 1000;
    }

    /**
     * Refuse a truncated batch.
     *
     * @param int $declared the count the caller sent
     * @param int $received the number of records that arrived
     * @throws \invalid_parameter_exception naming max_input_vars
     */
    public static function check(int $declared, int $received): void {
        $max = self::max_input_vars();
        if ($declared !== $received) {
            throw new \invalid_parameter_exception("count is {$declared} but {$received} records arrived: the request " .
                "exceeded PHP max_input_vars ({$max}) and was truncated; send smaller batches");
        }
        $used = self::count_leaves($_POST) + self::count_leaves($_GET);
        if ($used >= $max) {
            throw new \invalid_parameter_exception("the request carries {$used} input variables, PHP max_input_vars is " .
                "{$max}: it may have been truncated; send smaller batches");
        }
    }

    /**
     * Number of scalar leaves in a (nested) input array.
     *
     * @param array $input $_POST or $_GET
     * @return int
     */
    protected static function count_leaves(array $input): int {
        $count = 0;
        foreach ($input as $value) {
            $count += is_array($value) ? self::count_leaves($value) : 1;
        }
        return $count;
    }
}
