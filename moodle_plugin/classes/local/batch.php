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
 * Runs one record of a batch in its own delegated transaction and turns failure into a result.
 *
 * One bad record never fails the batch: a {@see record_exception}, any moodle_exception or a
 * database error rolls back that record's transaction only and becomes status "error" with an
 * errorcode and message.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class batch {

    /**
     * Run $work in a delegated transaction.
     *
     * @param callable $work returns the result array of a successful record
     * @param array $onerror the result fields of a failed record (errorcode and message are added)
     * @return array the record's result
     */
    public static function run(callable $work, array $onerror): array {
        global $DB;
        $transaction = null;
        try {
            $transaction = $DB->start_delegated_transaction();
            $result = $work();
            $transaction->allow_commit();
            return $result;
        } catch (\Throwable $e) {
            if ($transaction !== null && !$transaction->is_disposed()) {
                try {
                    $transaction->rollback($e);
                } catch (\Throwable $rethrown) {
                    // Rollback rethrows the cause; the record's result carries it instead.
                    unset($rethrown);
                }
            }
            return array_merge($onerror, self::error_fields($e));
        }
    }

    /**
     * The errorcode and message of an exception.
     *
     * @param \Throwable $e the problem
     * @return array errorcode, message
     */
    public static function error_fields(\Throwable $e): array {
        if ($e instanceof record_exception) {
            return ['status' => 'error', 'errorcode' => $e->errorcode, 'message' => $e->getMessage()];
        }
        if ($e instanceof \dml_exception) {
            // Not debuginfo: for a write it holds the SQL parameters, i.e. the record's values,
            // which may be sensitive; the database's own error text names the problem.
            return ['status' => 'error', 'errorcode' => 'dberror', 'message' => $e->getMessage() .
                ($e instanceof \dml_write_exception && !empty($e->error) ? ': ' . $e->error : '')];
        }
        if ($e instanceof \moodle_exception) {
            return ['status' => 'error', 'errorcode' => (string)$e->errorcode, 'message' => $e->getMessage()];
        }
        return ['status' => 'error', 'errorcode' => 'exception', 'message' => $e->getMessage()];
    }
}
