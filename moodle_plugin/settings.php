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
 * Admin settings and pages of local_mzi.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

// The settings page is for site administrators, under Plugins > Local plugins (a category Moodle
// builds only for moodle/site:config). The staff pages are not: they hang in a category of their
// own at the root of Site administration, which exists for every user, and each checks its own
// capability, so a manager without moodle/site:config reaches them.
if ($hassiteconfig) {
    $settings = new admin_settingpage('local_mzi_settings', new lang_string('pluginname', 'local_mzi'));
    if ($ADMIN->fulltree) {
        $settings->add(new admin_setting_configtext('local_mzi/mziurl',
            new lang_string('mziurl', 'local_mzi'), new lang_string('mziurl_desc', 'local_mzi'), '', PARAM_URL));
        $settings->add(new admin_setting_configpasswordunmask('local_mzi/outboxsecret',
            new lang_string('outboxsecret', 'local_mzi'), new lang_string('outboxsecret_desc', 'local_mzi'), ''));
        $settings->add(new admin_setting_configselect('local_mzi/defaultcategory',
            new lang_string('defaultcategory', 'local_mzi'), new lang_string('defaultcategory_desc', 'local_mzi'),
            0, [0 => new lang_string('defaultcategory_moodle', 'local_mzi')] + core_course_category::make_categories_list()));
        $settings->add(new admin_setting_configcheckbox('local_mzi/hidecancelledcourses',
            new lang_string('hidecancelledcourses', 'local_mzi'), new lang_string('hidecancelledcourses_desc', 'local_mzi'), 1));
        $settings->add(new admin_setting_configtext('local_mzi/outboxmaxattempts',
            new lang_string('outboxmaxattempts', 'local_mzi'), new lang_string('outboxmaxattempts_desc', 'local_mzi'),
            10, PARAM_INT));
        $settings->add(new admin_setting_configduration('local_mzi/alertstaleage',
            new lang_string('alertstaleage', 'local_mzi'), new lang_string('alertstaleage_desc', 'local_mzi'),
            DAYSECS, HOURSECS));
    }
    $ADMIN->add('localplugins', $settings);
}

$ADMIN->add('root', new admin_category('local_mzi', new lang_string('staffarea', 'local_mzi')));
$ADMIN->add('local_mzi', new admin_externalpage('local_mzi_lookup', new lang_string('studentlookup', 'local_mzi'),
    new moodle_url('/local/mzi/admin/lookup.php'), 'local/mzi:viewothers'));
$ADMIN->add('local_mzi', new admin_externalpage('local_mzi_windows', new lang_string('requestwindows', 'local_mzi'),
    new moodle_url('/local/mzi/admin/windows.php'), 'local/mzi:managewindows'));
$ADMIN->add('local_mzi', new admin_externalpage('local_mzi_status', new lang_string('syncstatus', 'local_mzi'),
    new moodle_url('/local/mzi/admin/status.php'), 'local/mzi:viewstatus'));
$ADMIN->add('local_mzi', new admin_externalpage('local_mzi_outbox', new lang_string('outbox', 'local_mzi'),
    new moodle_url('/local/mzi/admin/outbox.php'), 'local/mzi:viewstatus'));
$ADMIN->add('local_mzi', new admin_externalpage('local_mzi_health', new lang_string('health', 'local_mzi'),
    new moodle_url('/local/mzi/admin/health.php'), 'local/mzi:viewstatus'));
