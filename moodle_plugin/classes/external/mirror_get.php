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
use local_mzi\local\mirror_table;

/**
 * local_mzi_get_<name>: page through mirror rows by id; the row structure is derived from the table.
 *
 * Concrete classes only declare the table: protected const TABLE = 'local_mzi_<name>';
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
abstract class mirror_get extends external_api {

    /** @var string The mirror table; set by the concrete class. */
    protected const TABLE = '';

    /** @var int Largest page. */
    const MAX_LIMIT = 5000;

    /**
     * The description of this class's table.
     *
     * @return mirror_table
     */
    protected static function mirror(): mirror_table {
        return mirror_table::get(static::TABLE);
    }

    /**
     * Parameters: afterid, limit, modifiedsince, keys.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'afterid' => new external_value(PARAM_INT, 'Rows with id > afterid', VALUE_DEFAULT, 0),
            'limit' => new external_value(PARAM_INT, 'Page size 1..5000', VALUE_DEFAULT, 1000),
            'modifiedsince' => new external_value(PARAM_INT, 'Unix time; 0 = all rows', VALUE_DEFAULT, 0),
            'keys' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'Key values joined with ":"'), 'Only these keys; empty = all', VALUE_DEFAULT, []),
        ]);
    }

    /**
     * One page of rows ordered by id.
     *
     * @param int $afterid rows with id > afterid
     * @param int $limit page size
     * @param int $modifiedsince only rows modified at or after this time (0 = all)
     * @param array $keys only these keys (empty = all)
     * @return array records, nextafterid, hasmore
     */
    public static function execute(int $afterid = 0, int $limit = 1000, int $modifiedsince = 0, array $keys = []): array {
        global $DB;
        $params = self::validate_parameters(static::execute_parameters(),
            ['afterid' => $afterid, 'limit' => $limit, 'modifiedsince' => $modifiedsince, 'keys' => $keys]);
        self::validate_context(\context_system::instance());
        require_capability('local/mzi:manage', \context_system::instance());
        if ($params['limit'] < 1 || $params['limit'] > self::MAX_LIMIT) {
            throw new \invalid_parameter_exception('limit must be between 1 and ' . self::MAX_LIMIT . ", got {$params['limit']}");
        }

        $table = static::mirror();
        $where = ['id > :afterid'];
        $sqlparams = ['afterid' => $params['afterid']];
        if ($params['modifiedsince'] > 0 && $table->has_column('timemodified')) {
            $where[] = 'timemodified >= :modifiedsince';
            $sqlparams['modifiedsince'] = $params['modifiedsince'];
        }
        if ($params['keys']) {
            $ors = [];
            foreach (array_values($params['keys']) as $n => $text) {
                $key = $table->parse_key($text);
                if ($key === null) {
                    continue;
                }
                $ands = [];
                foreach (array_values($table->key_columns()) as $c => $column) {
                    $ands[] = "{$column} = :key{$n}_{$c}";
                    $sqlparams["key{$n}_{$c}"] = $key[$column];
                }
                $ors[] = '(' . implode(' AND ', $ands) . ')';
            }
            if (!$ors) {
                return ['records' => [], 'nextafterid' => $params['afterid'], 'hasmore' => false];
            }
            $where[] = '(' . implode(' OR ', $ors) . ')';
        }
        $rows = $DB->get_records_select($table->name(), implode(' AND ', $where), $sqlparams, 'id ASC', '*',
            0, $params['limit'] + 1);
        $hasmore = count($rows) > $params['limit'];
        $rows = array_slice($rows, 0, $params['limit']);
        $records = [];
        foreach ($rows as $row) {
            $record = [];
            foreach ($table->columns() as $name => $column) {
                $record[$name] = $table->output($name, $row->$name);
            }
            $records[] = $record;
        }
        $last = end($rows);
        return [
            'records' => $records,
            'nextafterid' => $last ? (int)$last->id : $params['afterid'],
            'hasmore' => $hasmore,
        ];
    }

    /**
     * Returns: records with id and every column (NULL as null), nextafterid, hasmore.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        $table = static::mirror();
        $fields = [];
        foreach ($table->columns() as $name => $column) {
            $fields[$name] = new external_value($table->param_type($name), $name, VALUE_REQUIRED, null, NULL_ALLOWED);
        }
        return new external_single_structure([
            'records' => new external_multiple_structure(new external_single_structure($fields)),
            'nextafterid' => new external_value(PARAM_INT, 'afterid of the next page'),
            'hasmore' => new external_value(PARAM_BOOL, 'More rows after this page'),
        ]);
    }
}
