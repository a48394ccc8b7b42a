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
 * Courses and enrolments: the Moodle-side effects of Zoho classes and enrollments.
 *
 * Wraps core's course and manual-enrolment APIs (create_course(), update_course(),
 * enrol_manual_plugin) so one web-service call handles many records, idempotently: a repeated
 * call reports "unchanged" and writes nothing.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class courses {

    /** @var string[] Roles mzi may give, by shortname. */
    const ROLES = ['student', 'editingteacher'];

    /** @var string[] Enrolment actions. */
    const ACTIONS = ['enrol', 'unenrol', 'suspend'];

    /**
     * Load course/lib.php and enrollib.php.
     */
    protected static function require_libs(): void {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');
        require_once($CFG->libdir . '/enrollib.php');
    }

    /**
     * The category new courses go to: the given one, else the plugin setting, else Moodle's default.
     *
     * @param int $categoryid requested category, 0 = plugin setting
     * @return int
     */
    public static function category(int $categoryid): int {
        if ($categoryid > 0) {
            return $categoryid;
        }
        $setting = (int)get_config('local_mzi', 'defaultcategory');
        return $setting > 0 ? $setting : (int)\core_course_category::get_default()->id;
    }

    /**
     * A shortname not yet taken: $wanted, else "$wanted (2)", "$wanted (3)" ...
     *
     * @param string $wanted the class's short name
     * @return string
     */
    public static function unique_shortname(string $wanted): string {
        global $DB;
        $like = $DB->sql_like('shortname', ':pattern');
        $taken = $DB->get_fieldset_select('course', 'shortname', "shortname = :wanted OR {$like}",
            ['wanted' => $wanted, 'pattern' => $DB->sql_like_escape($wanted) . ' (%)']);
        $taken = array_flip($taken);
        $candidate = $wanted;
        for ($n = 2; isset($taken[$candidate]); $n++) {
            $candidate = "{$wanted} ({$n})";
        }
        return $candidate;
    }

    /**
     * Create or update the course of one class and link it in local_mzi_classes.moodle_class_id.
     *
     * @param array $course idnumber, fullname, shortname, categoryid, startdate, enddate, visible
     * @return array result: key, status (created|updated|unchanged), courseid, errorcode, message
     * @throws record_exception on a problem with this record
     */
    public static function ensure_course(array $course): array {
        global $DB;
        self::require_libs();
        $key = $course['idnumber'];
        $course['fullname'] = clean_param($course['fullname'], PARAM_TEXT);
        $course['shortname'] = clean_param($course['shortname'], PARAM_TEXT);
        if ($key === '' || trim($course['fullname']) === '' || trim($course['shortname']) === '') {
            throw new record_exception('missingvalue', 'idnumber, fullname and shortname must not be empty');
        }
        $visible = empty($course['visible']) ? 0 : 1;
        $existing = $DB->get_records('course', ['idnumber' => $key], 'id DESC', 'id, category, fullname, startdate, enddate, visible', 0, 1);
        $existing = reset($existing);
        if (!$existing) {
            $categoryid = self::category((int)$course['categoryid']);
            if (!$DB->record_exists('course_categories', ['id' => $categoryid])) {
                throw new record_exception('invalidcategory', "no course category has id {$categoryid}");
            }
            if (!has_capability('moodle/course:create', \context_coursecat::instance($categoryid))) {
                throw new record_exception('nopermissions', "moodle/course:create is missing in category {$categoryid}");
            }
            $data = (object)[
                'category' => $categoryid,
                'fullname' => $course['fullname'],
                'shortname' => self::unique_shortname($course['shortname']),
                'idnumber' => $key,
                'startdate' => (int)$course['startdate'],
                'enddate' => (int)$course['enddate'],
                'visible' => $visible,
            ];
            $created = create_course($data);
            self::link_class($key, (int)$created->id);
            return ['key' => $key, 'status' => 'created', 'courseid' => (int)$created->id, 'errorcode' => '', 'message' => ''];
        }
        $courseid = (int)$existing->id;
        $wanted = ['fullname' => $course['fullname'], 'startdate' => (int)$course['startdate'],
            'enddate' => (int)$course['enddate'], 'visible' => $visible];
        $changed = [];
        foreach ($wanted as $field => $value) {
            if ((string)$existing->$field !== (string)$value) {
                $changed[$field] = $value;
            }
        }
        $status = 'unchanged';
        if ($changed) {
            if (!has_capability('moodle/course:update', \context_course::instance($courseid))) {
                throw new record_exception('nopermissions', "moodle/course:update is missing in course {$courseid}");
            }
            update_course((object)(['id' => $courseid] + $changed));
            $status = 'updated';
        }
        self::link_class($key, $courseid);
        return ['key' => $key, 'status' => $status, 'courseid' => $courseid, 'errorcode' => '', 'message' => ''];
    }

    /**
     * Write the course id into the class's mirror row (Moodle owns that column); no write when already set.
     *
     * @param string $zohoclassid the class's Zoho id (course idnumber)
     * @param int $courseid the course id
     */
    public static function link_class(string $zohoclassid, int $courseid): void {
        global $DB;
        $DB->execute('UPDATE {local_mzi_classes} SET moodle_class_id = :courseid, timemodified = :now
                       WHERE zoho_class_id = :zohoid AND (moodle_class_id IS NULL OR moodle_class_id <> :courseid2)',
            ['courseid' => $courseid, 'now' => time(), 'zohoid' => $zohoclassid, 'courseid2' => $courseid]);
    }

    /**
     * The manual enrolment instance of a course, created when missing.
     *
     * @param \stdClass $course the course
     * @return \stdClass the enrol instance
     */
    public static function manual_instance(\stdClass $course): \stdClass {
        global $DB;
        self::require_libs();
        $instances = $DB->get_records('enrol', ['courseid' => $course->id, 'enrol' => 'manual'], 'id ASC', '*', 0, 1);
        if ($instances) {
            return reset($instances);
        }
        $plugin = enrol_get_plugin('manual');
        if (!$plugin) {
            throw new record_exception('manualdisabled', 'the manual enrolment plugin is not installed');
        }
        $id = $plugin->add_instance($course);
        return $DB->get_record('enrol', ['id' => $id], '*', MUST_EXIST);
    }

    /**
     * Enrol, unenrol or suspend one user in one course with one role; the status word it results in.
     *
     * enrol: enrolment active and role assigned; unenrol: this role removed, and the enrolment when no
     * role is left; suspend: the enrolment suspended. Idempotent: "unchanged" when nothing to do.
     *
     * @param \stdClass $course the course
     * @param int $userid Moodle user id
     * @param string $role role shortname (student|editingteacher)
     * @param string $action enrol|unenrol|suspend
     * @return string enrolled|unenrolled|suspended|unchanged
     */
    public static function change_enrolment(\stdClass $course, int $userid, string $role, string $action): string {
        global $DB;
        self::require_libs();
        $context = \context_course::instance($course->id);
        if (!has_capability('enrol/manual:enrol', $context)) {
            throw new record_exception('nopermissions', "enrol/manual:enrol is missing in course {$course->id}");
        }
        $roleid = (int)$DB->get_field('role', 'id', ['shortname' => $role]);
        if (!$roleid) {
            throw new record_exception('invalidrole', "no role has shortname {$role}");
        }
        $instance = self::manual_instance($course);
        $plugin = enrol_get_plugin('manual');
        $ue = $DB->get_record('user_enrolments', ['enrolid' => $instance->id, 'userid' => $userid]);
        $hasrole = user_has_role_assignment($userid, $roleid, $context->id);
        if ($action === 'enrol') {
            $changed = false;
            if (!$ue) {
                $plugin->enrol_user($instance, $userid, $roleid);
                return 'enrolled';
            }
            if ((int)$ue->status !== ENROL_USER_ACTIVE) {
                $plugin->update_user_enrol($instance, $userid, ENROL_USER_ACTIVE);
                $changed = true;
            }
            if (!$hasrole) {
                role_assign($roleid, $userid, $context->id);
                $changed = true;
            }
            return $changed ? 'enrolled' : 'unchanged';
        }
        if ($action === 'suspend') {
            if (!$ue || (int)$ue->status === ENROL_USER_SUSPENDED) {
                return 'unchanged';
            }
            $plugin->update_user_enrol($instance, $userid, ENROL_USER_SUSPENDED);
            return 'suspended';
        }
        $removed = false;
        if ($hasrole) {
            role_unassign($roleid, $userid, $context->id);
            $removed = true;
        }
        $others = $DB->record_exists('role_assignments', ['userid' => $userid, 'contextid' => $context->id]);
        if ($ue && !$others) {
            $plugin->unenrol_user($instance, $userid);
            $removed = true;
        }
        return $removed ? 'unenrolled' : 'unchanged';
    }

    /**
     * Hide the course of a cancelled class (setting hidecancelledcourses); never delete it.
     *
     * @param \stdClass $row local_mzi_classes row
     */
    public static function hide_cancelled_course(\stdClass $row): void {
        global $DB;
        if (!get_config('local_mzi', 'hidecancelledcourses') || empty($row->moodle_class_id)) {
            return;
        }
        self::require_libs();
        if ($DB->record_exists('course', ['id' => $row->moodle_class_id, 'visible' => 1])) {
            course_change_visibility((int)$row->moodle_class_id, false);
        }
    }
}
