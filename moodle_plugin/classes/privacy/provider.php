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

namespace local_mzi\privacy;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\contextlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;

/**
 * Privacy provider of local_mzi.
 *
 * The mirror tables hold personal data copied from Zoho CRM (the system of record) and linked to a
 * Moodle user by moodle_user_id (students, teachers, requests) or through the student's
 * zoho_student_id (registrations, payments, enrollments, grades); the outbox holds Moodle user ids
 * sent to mzi. Everything is reported and exported in the user's own context.
 *
 * The payment receipts of Late Submission requests are files in the user's context (file area
 * receipt, item id = request id). Sync alerts go to staff through the message API (core_message);
 * what the alert task remembers (config alertstate) is incident keys, no personal data.
 *
 * Deleting here removes Moodle's copy only: the next mzi apply copies the record again unless it
 * was erased in Zoho CRM too, which is why Zoho CRM is declared as an external location.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class provider implements
        \core_privacy\local\metadata\provider,
        \core_privacy\local\request\plugin\provider,
        \core_privacy\local\request\core_userlist_provider {

    /** @var array Personal fields per table, as declared in the metadata. */
    const TABLES = [
        'local_mzi_students' => ['zoho_student_id', 'student_id', 'first_name', 'last_name', 'first_name_native',
            'last_name_native', 'display_name',
            'academic_email', 'email', 'phone_number', 'address', 'city', 'nationality', 'date_of_birth', 'gender',
            'national_id', 'emergency_contact_name', 'emergency_contact_phone', 'major', 'academic_program',
            'moodle_user_id'],
        'local_mzi_teachers' => ['zoho_teacher_id', 'teacher_name', 'email', 'academic_email', 'phone_number',
            'moodle_user_id'],
        'local_mzi_registrations' => ['zoho_student_id', 'registration_number', 'program_name', 'registration_date',
            'registration_status', 'total_fees', 'remaining_amount', 'btec_reg_no'],
        'local_mzi_payments' => ['zoho_student_id', 'payment_number', 'payment_amount', 'payment_date',
            'payment_method', 'payment_notes'],
        'local_mzi_enrollments' => ['zoho_student_id', 'student_name', 'class_name', 'enrollment_date'],
        'local_mzi_grades' => ['zoho_student_id', 'unit_name', 'grade', 'feedback', 'learning_outcomes',
            'grader_name'],
        'local_mzi_requests' => ['zoho_student_id', 'request_type', 'status', 'reason', 'requested_classes', 'details',
            'academic_email', 'moodle_user_id'],
        'local_mzi_outbox' => ['userid', 'relateduserid', 'payload', 'timecreated'],
    ];

    /**
     * Describe the personal data the plugin stores and sends.
     *
     * @param collection $collection the collection to add to
     * @return collection
     */
    public static function get_metadata(collection $collection): collection {
        foreach (self::TABLES as $table => $fields) {
            $described = [];
            foreach ($fields as $field) {
                $described[$field] = "privacy:metadata:{$table}:{$field}";
            }
            $collection->add_database_table($table, $described, "privacy:metadata:{$table}");
        }
        $collection->add_subsystem_link('core_files', [], 'privacy:metadata:core_files');
        $collection->add_subsystem_link('core_message', [], 'privacy:metadata:core_message');
        $collection->add_external_location_link('mzi', [
            'userid' => 'privacy:metadata:mzi:userid',
            'email' => 'privacy:metadata:mzi:email',
            'grades' => 'privacy:metadata:mzi:grades',
            'gradername' => 'privacy:metadata:mzi:gradername',
            'requests' => 'privacy:metadata:mzi:requests',
        ], 'privacy:metadata:mzi');
        return $collection;
    }

    /**
     * The zoho_student_id values linked to a Moodle user.
     *
     * @param int $userid Moodle user id
     * @return string[]
     */
    protected static function student_ids(int $userid): array {
        global $DB;
        return array_values(array_filter($DB->get_fieldset_select('local_mzi_students', 'zoho_student_id',
            'moodle_user_id = :userid', ['userid' => $userid])));
    }

    /**
     * Whether the plugin holds any data about a user.
     *
     * @param int $userid Moodle user id
     * @return bool
     */
    protected static function has_data(int $userid): bool {
        global $DB;
        return $DB->record_exists('local_mzi_students', ['moodle_user_id' => $userid])
            || $DB->record_exists('local_mzi_teachers', ['moodle_user_id' => $userid])
            || $DB->record_exists('local_mzi_requests', ['moodle_user_id' => $userid])
            || $DB->record_exists_select('local_mzi_outbox', 'userid = :u1 OR relateduserid = :u2',
                ['u1' => $userid, 'u2' => $userid]);
    }

    /**
     * Contexts with data of a user: the user's own context.
     *
     * @param int $userid Moodle user id
     * @return contextlist
     */
    public static function get_contexts_for_userid(int $userid): contextlist {
        $contextlist = new contextlist();
        if (self::has_data($userid)) {
            $contextlist->add_from_sql('SELECT id FROM {context} WHERE contextlevel = :level AND instanceid = :userid',
                ['level' => CONTEXT_USER, 'userid' => $userid]);
        }
        return $contextlist;
    }

    /**
     * Users with data in a context: the owner of a user context.
     *
     * @param userlist $userlist the list to add to
     */
    public static function get_users_in_context(userlist $userlist) {
        $context = $userlist->get_context();
        if ($context->contextlevel == CONTEXT_USER && self::has_data((int)$context->instanceid)) {
            $userlist->add_user((int)$context->instanceid);
        }
    }

    /**
     * Export a user's data, one subcontext per table.
     *
     * @param approved_contextlist $contextlist approved contexts
     */
    public static function export_user_data(approved_contextlist $contextlist) {
        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel != CONTEXT_USER || (int)$context->instanceid !== $userid) {
                continue;
            }
            foreach (self::user_rows($userid) as $table => $rows) {
                if (!$rows) {
                    continue;
                }
                $fields = array_flip(self::TABLES[$table]);
                $export = [];
                foreach ($rows as $row) {
                    $export[] = (object)array_intersect_key((array)$row, $fields);
                }
                writer::with_context($context)->export_data(
                    [get_string('pluginname', 'local_mzi'), $table], (object)['rows' => $export]);
            }
            foreach (self::user_rows($userid)['local_mzi_requests'] as $request) {
                writer::with_context($context)->export_area_files(
                    [get_string('pluginname', 'local_mzi'), 'local_mzi_requests', (string)$request->id],
                    'local_mzi', \local_mzi\local\requests::RECEIPT_AREA, (int)$request->id);
            }
        }
    }

    /**
     * Rows of every personal-data table that belong to a user.
     *
     * @param int $userid Moodle user id
     * @return array table => rows
     */
    protected static function user_rows(int $userid): array {
        global $DB;
        $rows = [
            'local_mzi_students' => $DB->get_records('local_mzi_students', ['moodle_user_id' => $userid]),
            'local_mzi_teachers' => $DB->get_records('local_mzi_teachers', ['moodle_user_id' => $userid]),
            'local_mzi_requests' => $DB->get_records('local_mzi_requests', ['moodle_user_id' => $userid]),
            'local_mzi_outbox' => $DB->get_records_select('local_mzi_outbox', 'userid = :u1 OR relateduserid = :u2',
                ['u1' => $userid, 'u2' => $userid]),
        ];
        $studentids = self::student_ids($userid);
        foreach (['local_mzi_registrations', 'local_mzi_payments', 'local_mzi_enrollments', 'local_mzi_grades'] as $table) {
            $rows[$table] = [];
            if ($studentids) {
                [$insql, $params] = $DB->get_in_or_equal($studentids, SQL_PARAMS_NAMED);
                $rows[$table] = $DB->get_records_select($table, "zoho_student_id {$insql}", $params);
            }
        }
        return $rows;
    }

    /**
     * Delete Moodle's copy of a user's data.
     *
     * @param int $userid Moodle user id
     */
    protected static function delete_user(int $userid): void {
        global $DB;
        $studentids = self::student_ids($userid);
        if ($studentids) {
            [$insql, $params] = $DB->get_in_or_equal($studentids, SQL_PARAMS_NAMED);
            $registrations = $DB->get_fieldset_select('local_mzi_registrations', 'zoho_registration_id',
                "zoho_student_id {$insql}", $params);
            if ($registrations) {
                [$regsql, $regparams] = $DB->get_in_or_equal($registrations, SQL_PARAMS_NAMED, 'reg');
                $DB->delete_records_select('local_mzi_installments', "zoho_registration_id {$regsql}", $regparams);
            }
            foreach (['local_mzi_registrations', 'local_mzi_payments', 'local_mzi_enrollments', 'local_mzi_grades',
                    'local_mzi_requests'] as $table) {
                $DB->delete_records_select($table, "zoho_student_id {$insql}", $params);
            }
        }
        $context = \context_user::instance($userid, IGNORE_MISSING);
        if ($context) {
            get_file_storage()->delete_area_files($context->id, 'local_mzi', \local_mzi\local\requests::RECEIPT_AREA);
        }
        $DB->delete_records('local_mzi_students', ['moodle_user_id' => $userid]);
        $DB->delete_records('local_mzi_teachers', ['moodle_user_id' => $userid]);
        $DB->delete_records('local_mzi_requests', ['moodle_user_id' => $userid]);
        $DB->delete_records_select('local_mzi_outbox', 'userid = :u1 OR relateduserid = :u2',
            ['u1' => $userid, 'u2' => $userid]);
    }

    /**
     * Delete all data in a context (a user context: that user's data).
     *
     * @param \context $context the context
     */
    public static function delete_data_for_all_users_in_context(\context $context) {
        if ($context->contextlevel == CONTEXT_USER) {
            self::delete_user((int)$context->instanceid);
        }
    }

    /**
     * Delete a user's data in the approved contexts.
     *
     * @param approved_contextlist $contextlist approved contexts
     */
    public static function delete_data_for_user(approved_contextlist $contextlist) {
        $userid = (int)$contextlist->get_user()->id;
        foreach ($contextlist->get_contexts() as $context) {
            if ($context->contextlevel == CONTEXT_USER && (int)$context->instanceid === $userid) {
                self::delete_user($userid);
            }
        }
    }

    /**
     * Delete the data of several users in one context.
     *
     * @param approved_userlist $userlist approved users
     */
    public static function delete_data_for_users(approved_userlist $userlist) {
        $context = $userlist->get_context();
        if ($context->contextlevel != CONTEXT_USER) {
            return;
        }
        foreach ($userlist->get_userids() as $userid) {
            if ((int)$userid === (int)$context->instanceid) {
                self::delete_user((int)$userid);
            }
        }
    }
}
