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
use local_mzi\local\batch;
use local_mzi\local\grading_forms;

/**
 * local_mzi_ensure_grading_forms: give every assignment of a class's course the unit's BTEC
 * criteria as a marking guide (see local\grading_forms), one result per class.
 *
 * An assignment its teacher grades another way (a rubric, a guide of their own) is left alone
 * and named in the result's message; a class whose assignments all are is an error.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class ensure_grading_forms extends external_api {

    /**
     * Parameters: forms.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'forms' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'Course idnumber (Zoho class id)'),
                'criteria' => new external_multiple_structure(new external_single_structure([
                    'shortname' => new external_value(PARAM_RAW, 'Criterion code: P1, M2, D1 ...'),
                    'description' => new external_value(PARAM_RAW, 'The criterion, as students read it'),
                    'descriptionmarkers' => new external_value(PARAM_RAW, 'Note for markers', VALUE_DEFAULT, ''),
                    'maxscore' => new external_value(PARAM_RAW, 'Maximum score (1: met or not)'),
                ])),
            ])),
        ]);
    }

    /**
     * Ensure the forms, one delegated transaction per class.
     *
     * @param array $forms the forms
     * @return array results
     */
    public static function execute(array $forms): array {
        $params = self::validate_parameters(self::execute_parameters(), ['forms' => $forms]);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/mzi:manage', $context);
        $results = [];
        foreach ($params['forms'] as $form) {
            $results[] = batch::run(function() use ($form) {
                return grading_forms::ensure($form['idnumber'], $form['criteria']);
            }, ['key' => $form['idnumber']]);
        }
        return ['results' => $results];
    }

    /**
     * Returns: one result per class.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'results' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'The course idnumber'),
                'status' => new external_value(PARAM_ALPHA, 'updated, unchanged or error'),
                'errorcode' => new external_value(PARAM_RAW, 'Error code'),
                'message' => new external_value(PARAM_RAW, 'Error message, or the assignments left alone'),
            ])),
        ]);
    }
}
