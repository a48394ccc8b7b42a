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
use local_mzi\local\input_guard;

/**
 * local_mzi_get_info: plugin version, the limits mzi sizes its batches from, and the site.
 *
 * The site part is what mzi checks before it plans: which site this is (saved plans are
 * bound to it) and the plugin's tables with the columns the site's database has — read
 * from the database, not from install.xml, so a site whose upgrade has not run shows
 * its older columns and mzi refuses a spec naming a newer one instead of failing per record.
 * Likewise the roles assignable in a course: a spec giving a role the site lacks would
 * fail every enrolment of its kind, so mzi refuses it before it plans.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_info extends external_api {

    /**
     * Parameters: none.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Plugin and site information; callable by any user of the service (no capability needed).
     *
     * @return array component, version, release, maxinputvars, canmanage, siteurl, siteidentifier, tables, roles
     */
    public static function execute(): array {
        global $CFG;
        $context = \context_system::instance();
        self::validate_context($context);
        $plugin = \core_plugin_manager::instance()->get_plugin_info('local_mzi');
        return [
            'component' => 'local_mzi',
            'version' => (int)get_config('local_mzi', 'version'),
            'release' => $plugin && $plugin->release !== null ? (string)$plugin->release : '',
            'maxinputvars' => input_guard::max_input_vars(),
            'canmanage' => has_capability('local/mzi:manage', $context),
            'siteurl' => (string)$CFG->wwwroot,
            'siteidentifier' => (string)get_site_identifier(),
            'tables' => self::site_tables(),
            'roles' => self::course_roles(),
        ];
    }

    /**
     * The roles that can be assigned in a course context (role_context_levels), by sortorder.
     *
     * Read from the database, so a role renamed, deleted or taken off courses shows here.
     *
     * @return array[] of ['id' => int, 'shortname' => string]
     */
    protected static function course_roles(): array {
        global $DB;
        $sql = "SELECT r.id, r.shortname
                  FROM {role} r
                  JOIN {role_context_levels} rcl ON rcl.roleid = r.id
                 WHERE rcl.contextlevel = :contextlevel
              ORDER BY r.sortorder";
        $roles = [];
        foreach ($DB->get_records_sql($sql, ['contextlevel' => CONTEXT_COURSE]) as $role) {
            $roles[] = ['id' => (int)$role->id, 'shortname' => (string)$role->shortname];
        }
        return $roles;
    }

    /**
     * Each table of the plugin's install.xml that exists, with the columns the database has.
     *
     * @return array[] of ['name' => string, 'columns' => string[]]
     */
    protected static function site_tables(): array {
        global $CFG, $DB;
        require_once($CFG->libdir . '/ddllib.php');
        $file = new \xmldb_file($CFG->dirroot . '/local/mzi/db/install.xml');
        if (!$file->fileExists() || !$file->loadXMLStructure()) {
            return [];
        }
        $dbman = $DB->get_manager();
        $tables = [];
        foreach ($file->getStructure()->getTables() as $table) {
            $name = $table->getName();
            if (!$dbman->table_exists($name)) {
                continue;
            }
            $tables[] = ['name' => $name, 'columns' => array_keys($DB->get_columns($name, false))];
        }
        return $tables;
    }

    /**
     * Returns: component, version, release, maxinputvars, canmanage, siteurl, siteidentifier, tables, roles.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'component' => new external_value(PARAM_COMPONENT, 'Always local_mzi'),
            'version' => new external_value(PARAM_INT, 'Installed plugin version'),
            'release' => new external_value(PARAM_RAW, 'Plugin release'),
            'maxinputvars' => new external_value(PARAM_INT, 'PHP max_input_vars: bounds the batch size'),
            'canmanage' => new external_value(PARAM_BOOL, 'The caller has local/mzi:manage'),
            'siteurl' => new external_value(PARAM_URL, 'The site\'s wwwroot'),
            'siteidentifier' => new external_value(PARAM_RAW, 'get_site_identifier(): unique to this site'),
            'tables' => new external_multiple_structure(
                new external_single_structure([
                    'name' => new external_value(PARAM_ALPHANUMEXT, 'Table name, without prefix'),
                    'columns' => new external_multiple_structure(
                        new external_value(PARAM_ALPHANUMEXT, 'Column name'),
                        'Columns the site\'s database has'
                    ),
                ]),
                'The plugin\'s tables as they exist on the site'
            ),
            'roles' => new external_multiple_structure(
                new external_single_structure([
                    'id' => new external_value(PARAM_INT, 'Role id'),
                    'shortname' => new external_value(PARAM_RAW, 'Role shortname, as stored'),
                ]),
                'The roles that can be assigned in a course context'
            ),
        ]);
    }
}
