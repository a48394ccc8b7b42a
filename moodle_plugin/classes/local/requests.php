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
 * Requests a student makes in Moodle: the one place a request row is created.
 *
 * create() checks the type is open now (the window rules, server-side, whatever the form
 * showed), stores the row (origin moodle, status Pending), keeps a Late Submission's receipt in
 * the plugin's file area and triggers request_submitted, which puts the request in the outbox for
 * mzi, all in one transaction: a request is stored with its receipt and its event, or not at all.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class requests {

    /** @var string File area of payment receipts (Late Submission), item id = request id, user context. */
    const RECEIPT_AREA = 'receipt';

    /** @var string[] Student fields a Change Information request may propose, by form element name. */
    const CHANGEABLE = ['phone_number', 'email', 'address', 'city', 'emergency_contact_name', 'emergency_contact_phone'];

    /**
     * Options of the receipt file manager: one image.
     *
     * @return array
     */
    public static function receipt_options(): array {
        global $CFG;
        return ['subdirs' => 0, 'maxfiles' => 1, 'accepted_types' => ['image'],
            'maxbytes' => min(10 * 1024 * 1024, (int)($CFG->maxbytes ?? 0) ?: 10 * 1024 * 1024)];
    }

    /**
     * Create a request of the student linked to $userid.
     *
     * @param \stdClass $student the student's local_mzi_students row
     * @param int $userid Moodle user id of the student (the submitter)
     * @param string $type request type (Zoho value, request_windows::TYPES)
     * @param string $reason free text
     * @param array $requestedclasses [{zoho_class_id, class_name}] (Class Drop)
     * @param array $details what else the type asks (stored as JSON in details)
     * @param int|null $receiptdraftid draft item id of the receipt file manager (Late Submission)
     * @return int the new local_mzi_requests id
     * @throws \moodle_exception when the type is unknown or outside its window
     */
    public static function create(\stdClass $student, int $userid, string $type, string $reason,
            array $requestedclasses = [], array $details = [], ?int $receiptdraftid = null): int {
        global $DB;
        if (!request_windows::is_open($type)) {
            throw new \moodle_exception('error:windowclosed', 'local_mzi');
        }
        $now = time();
        $transaction = $DB->start_delegated_transaction();
        $requestid = (int)$DB->insert_record('local_mzi_requests', (object)[
            'zoho_student_id' => $student->zoho_student_id,
            'request_type' => $type,
            'status' => 'Pending',
            'reason' => $reason,
            'request_date' => date('Y-m-d', $now),
            'requested_classes' => $requestedclasses ? json_encode(array_values($requestedclasses), JSON_UNESCAPED_UNICODE) : null,
            'details' => $details ? json_encode($details, JSON_UNESCAPED_UNICODE) : null,
            'academic_email' => $student->academic_email,
            'moodle_user_id' => $userid,
            'origin' => 'moodle',
            'timecreated' => $now,
            'timemodified' => $now,
        ]);
        if ($receiptdraftid) {
            file_save_draft_area_files($receiptdraftid, \context_user::instance($userid)->id, 'local_mzi',
                self::RECEIPT_AREA, $requestid, self::receipt_options());
        }
        \local_mzi\event\request_submitted::create([
            'objectid' => $requestid,
            'context' => \context_system::instance(),
            'relateduserid' => $userid,
            'other' => ['request_type' => $type],
        ])->trigger();
        $transaction->allow_commit();
        return $requestid;
    }

    /**
     * The receipt of a request, or null.
     *
     * @param int $userid the request's student (owner of the user context)
     * @param int $requestid local_mzi_requests id
     * @return \stored_file|null
     */
    public static function receipt(int $userid, int $requestid): ?\stored_file {
        $context = \context_user::instance($userid, IGNORE_MISSING);
        if (!$context) {
            return null;
        }
        $files = get_file_storage()->get_area_files($context->id, 'local_mzi', self::RECEIPT_AREA, $requestid, 'id', false);
        return $files ? reset($files) : null;
    }
}
