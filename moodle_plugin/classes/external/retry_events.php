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
use local_mzi\local\outbox;

/**
 * local_mzi_retry_events: move failed or dead events back to pending.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class retry_events extends external_api {

    /**
     * Parameters: ids.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'ids' => new external_multiple_structure(new external_value(PARAM_INT, 'Outbox event id'), 'Events to requeue'),
        ]);
    }

    /**
     * Requeue the events.
     *
     * @param int[] $ids event ids
     * @return array results
     */
    public static function execute(array $ids): array {
        $params = self::validate_parameters(self::execute_parameters(), ['ids' => $ids]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        return ['results' => outbox::requeue($params['ids'])];
    }

    /**
     * Returns: one result per id.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'Event id'),
                'status' => new external_value(PARAM_ALPHA, 'requeued, unchanged or error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message'),
            ])),
        ]);
    }
}
