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

/**
 * Upgrade steps of local_mzi.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

/**
 * Upgrade local_mzi from $oldversion.
 *
 * Each schema change goes in its own version branch, edited with the XMLDB editor so that
 * db/install.xml stays the one place the schema lives, and ends with a savepoint:
 *
 *     if ($oldversion < 2026120100) {
 *         $dbman = $DB->get_manager();
 *         // ... define and add the field/index ...
 *         upgrade_plugin_savepoint(true, 2026120100, 'local', 'mzi');
 *     }
 *
 * @param int $oldversion the version we are upgrading from
 * @return bool
 */
function xmldb_local_mzi_upgrade($oldversion) {
    global $DB;
    $dbman = $DB->get_manager();

    // 2026112300 is the first release, installed from install.xml.
    if ($oldversion < 2026112300) {
        // A pre-release installation has the same schema; only record the savepoint.
        upgrade_plugin_savepoint(true, 2026112300, 'local', 'mzi');
    }

    if ($oldversion < 2026120100) {
        // The sync status page shows how each run ended and which run it was (mzi state runs).
        $table = new xmldb_table('local_mzi_sync_status');
        $fields = [
            new xmldb_field('status', XMLDB_TYPE_CHAR, '12', null, null, null, null, 'command'),
            new xmldb_field('runid', XMLDB_TYPE_INTEGER, '10', null, XMLDB_NOTNULL, null, '0', 'status'),
        ];
        foreach ($fields as $field) {
            if (!$dbman->field_exists($table, $field)) {
                $dbman->add_field($table, $field);
            }
        }
        upgrade_plugin_savepoint(true, 2026120100, 'local', 'mzi');
    }

    if ($oldversion < 2026120200) {
        // A withdrawn enrollment's course enrolment is now mzi's (its enrolment kind, suspended or
        // unenrolled per mzi.toml's [moodle] withdrawn_enrolment): the plugin's setting is gone.
        unset_config('withdrawnaction', 'local_mzi');
        upgrade_plugin_savepoint(true, 2026120200, 'local', 'mzi');
    }

    if ($oldversion < 2026120300) {
        // Requests submitted in Moodle carry a number (MDL-<id>, their Name in Zoho) from submission, and
        // the mirror's upsert finds them by it when they come back from Zoho with their id.
        $table = new xmldb_table('local_mzi_requests');
        $index = new xmldb_index('request_number', XMLDB_INDEX_NOTUNIQUE, ['request_number']);
        if (!$dbman->index_exists($table, $index)) {
            $dbman->add_index($table, $index);
        }
        $unnumbered = $DB->get_recordset_select('local_mzi_requests',
            "origin = :origin AND (request_number IS NULL OR request_number = :empty)",
            ['origin' => 'moodle', 'empty' => ''], 'id ASC', 'id');
        foreach ($unnumbered as $row) {
            $DB->set_field('local_mzi_requests', 'request_number', 'MDL-' . $row->id, ['id' => $row->id]);
        }
        $unnumbered->close();
        upgrade_plugin_savepoint(true, 2026120300, 'local', 'mzi');
    }

    if ($oldversion < 2026121000) {
        // The student card shows the name in Arabic script; requests made in Moodle keep what
        // their type asks beyond the reason (Late Submission's class, Change Information's values).
        $fields = [
            'local_mzi_students' => [
                new xmldb_field('first_name_native', XMLDB_TYPE_CHAR, '255', null, null, null, null, 'last_name'),
                new xmldb_field('last_name_native', XMLDB_TYPE_CHAR, '255', null, null, null, null, 'first_name_native'),
            ],
            'local_mzi_requests' => [
                new xmldb_field('details', XMLDB_TYPE_TEXT, null, null, null, null, null, 'requested_classes'),
            ],
        ];
        foreach ($fields as $tablename => $tablefields) {
            $table = new xmldb_table($tablename);
            foreach ($tablefields as $field) {
                if (!$dbman->field_exists($table, $field)) {
                    $dbman->add_field($table, $field);
                }
            }
        }
        // Class Drop rows stored before they took the shape of Zoho's Requested_Classes subform
        // ({zoho_class_id, class_name}) are rewritten as {Class_ID, Class_Name}, what mzi sends.
        $old = $DB->get_recordset_select('local_mzi_requests',
            'origin = :origin AND ' . $DB->sql_like('requested_classes', ':shape'),
            ['origin' => 'moodle', 'shape' => '%"zoho_class_id"%'], 'id ASC', 'id, requested_classes');
        foreach ($old as $row) {
            $rows = [];
            foreach ((array)json_decode((string)$row->requested_classes, true) as $class) {
                if (!is_array($class)) {
                    continue;
                }
                $rows[] = ['Class_ID' => (string)($class['zoho_class_id'] ?? $class['Class_ID'] ?? ''),
                    'Class_Name' => (string)($class['class_name'] ?? $class['Class_Name'] ?? '')];
            }
            $DB->set_field('local_mzi_requests', 'requested_classes',
                $rows ? json_encode($rows, JSON_UNESCAPED_UNICODE) : null, ['id' => $row->id]);
        }
        $old->close();
        upgrade_plugin_savepoint(true, 2026121000, 'local', 'mzi');
    }

    unset($dbman);
    return true;
}
