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

global $CFG;
require_once($CFG->libdir . '/externallib.php');

use external_api;
use external_function_parameters;
use external_multiple_structure;
use external_single_structure;
use external_value;

/**
 * local_mzi_resolve_users: Moodle user ids for e-mail addresses (case-insensitive, never guessed).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class resolve_users extends external_api {

    /**
     * Parameters: emails.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'emails' => new external_multiple_structure(new external_value(PARAM_RAW, 'E-mail address'), 'Addresses to resolve'),
        ]);
    }

    /**
     * Resolve the addresses; deleted users and the guest are excluded, several matches are reported.
     *
     * @param array $emails addresses
     * @return array users
     */
    public static function execute(array $emails): array {
        global $DB, $CFG;
        $params = self::validate_parameters(self::execute_parameters(), ['emails' => $emails]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);

        $wanted = [];
        foreach ($params['emails'] as $email) {
            $normal = \core_text::strtolower(trim($email));
            if ($normal !== '') {
                $wanted[$normal] = true;
            }
        }
        $matches = [];
        foreach (array_chunk(array_keys($wanted), 500) as $chunk) {
            [$insql, $inparams] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED, 'e');
            $sql = "SELECT id, email FROM {user} WHERE deleted = 0 AND id <> :guestid AND LOWER(email) {$insql}";
            $rs = $DB->get_recordset_sql($sql, $inparams + ['guestid' => (int)$CFG->siteguest]);
            foreach ($rs as $user) {
                $matches[\core_text::strtolower(trim($user->email))][] = (int)$user->id;
            }
            $rs->close();
        }
        $users = [];
        foreach ($params['emails'] as $email) {
            $found = $matches[\core_text::strtolower(trim($email))] ?? [];
            $users[] = [
                'email' => $email,
                'userid' => count($found) === 1 ? $found[0] : 0,
                'found' => count($found) === 1,
                'multiple' => count($found) > 1,
            ];
        }
        return ['users' => $users];
    }

    /**
     * Returns: one entry per address, same order.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'users' => new external_multiple_structure(new external_single_structure([
                'email' => new external_value(PARAM_RAW, 'The address as given'),
                'userid' => new external_value(PARAM_INT, 'Moodle user id, 0 when not found or ambiguous'),
                'found' => new external_value(PARAM_BOOL, 'Exactly one user matched'),
                'multiple' => new external_value(PARAM_BOOL, 'More than one user matched'),
            ])),
        ]);
    }
}
