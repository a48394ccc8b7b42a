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
 * Requests a student makes in Moodle: the one place a request row is created, and the rules mzi relies on.
 *
 * create() is behind both request.php's forms and the web service local_mzi_submit_request. It
 * checks the request whatever the form showed (the type is open now, a Class Drop names one or two
 * classes the student may drop, the reason a type needs), stores the row (origin moodle, status
 * Pending, no Zoho id), numbers it "MDL-<row id>", keeps a Late Submission's receipt in the
 * plugin's file area and triggers request_submitted, which puts the request in the outbox for
 * mzi, all in one transaction: a request is stored with its number, receipt and event, or not at all.
 *
 * The number becomes the record's Name in Zoho, the key mzi's outbound_request kind upserts on,
 * and how the plugin's upsert of the mirror recognises the row when the record comes back with
 * its Zoho id (adoption, see {@see \local_mzi\external\upsert_requests}). The emulator's twin is
 * reconciler/sandbox/moodle/requests.py.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class requests {

    /** @var string Table name. */
    const TABLE = 'local_mzi_requests';

    /** @var string Prefix of a Moodle-made request's number; never a prefix Zoho's own requests use. */
    const NUMBER_PREFIX = 'MDL-';

    /** @var string Origin of a request submitted in Moodle. */
    const ORIGIN_MOODLE = 'moodle';

    /**
     * @var string[] Columns Moodle owns on an origin moodle row: what the student wrote. The mirror's
     * upsert never overwrites them (mzi's request.toml says the same in target_owns).
     */
    const MOODLE_OWNED = ['zoho_student_id', 'request_type', 'reason', 'request_date', 'requested_classes',
        'academic_email', 'moodle_user_id'];

    /** @var string[] Types whose reason may not be empty (Change Information: a reason or a changed field). */
    const NEEDS_REASON = ['Late Submission', 'Class Drop'];

    /** @var string File area of payment receipts (Late Submission), item id = request id, user context. */
    const RECEIPT_AREA = 'receipt';

    /** @var string[] Student fields a Change Information request may propose, by form element name. */
    const CHANGEABLE = ['phone_number', 'email', 'address', 'city', 'emergency_contact_name', 'emergency_contact_phone'];

    /**
     * The number of the request in row $id.
     *
     * @param int $id local_mzi_requests.id
     * @return string e.g. MDL-42
     */
    public static function number(int $id): string {
        return self::NUMBER_PREFIX . $id;
    }

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
     * The student's current enrollments (not withdrawn), newest first, with the class's name and unit.
     *
     * What the forms offer (Class Drop: those class_drop::eligible keeps; Late Submission: all)
     * and what create() checks a Class Drop against.
     *
     * @param \stdClass $student the student's local_mzi_students row
     * @return \stdClass[] rows with zoho_class_id, enrollment_date, status, class_name, unit_name
     */
    public static function enrollments(\stdClass $student): array {
        global $DB;
        return array_values($DB->get_records_sql(
            "SELECT e.id, e.zoho_class_id, e.enrollment_date, e.status, COALESCE(c.class_name, e.class_name) AS class_name,
                    c.unit_name
               FROM {local_mzi_enrollments} e
          LEFT JOIN {local_mzi_classes} c ON c.zoho_class_id = e.zoho_class_id
              WHERE e.zoho_student_id = :zid AND (e.status IS NULL OR e.status <> :withdrawn)
           ORDER BY e.enrollment_date DESC, e.id DESC",
            ['zid' => $student->zoho_student_id, 'withdrawn' => 'Withdrawn']));
    }

    /**
     * Create a request of the student linked to $userid, numbered MDL-<id>.
     *
     * @param \stdClass $student the student's local_mzi_students row
     * @param int $userid Moodle user id of the student (the submitter)
     * @param string $type request type (Zoho value, request_windows::TYPES)
     * @param string $reason free text
     * @param string[] $classids Zoho class ids of the classes to drop (Class Drop; ignored otherwise)
     * @param array $details what else the type asks (stored as JSON in details)
     * @param int|null $receiptdraftid draft item id of the receipt file manager (Late Submission)
     * @return \stdClass the stored row, with id and request_number
     * @throws \moodle_exception error:windowclosed (unknown type or outside its window),
     *     error:classdropcount / error:classdropnoteligible, error:reasonrequired
     */
    public static function create(\stdClass $student, int $userid, string $type, string $reason,
            array $classids = [], array $details = [], ?int $receiptdraftid = null): \stdClass {
        global $DB;
        if (!request_windows::is_open($type)) {
            throw new \moodle_exception('error:windowclosed', 'local_mzi');
        }
        $requested = $type === 'Class Drop' ? self::classes_to_drop($student, $classids) : [];
        $reason = trim($reason);
        if ($reason === '' && (in_array($type, self::NEEDS_REASON, true)
                || ($type === 'Change Information' && empty($details['changes'])))) {
            throw new \moodle_exception('error:reasonrequired', 'local_mzi');
        }
        $now = time();
        $transaction = $DB->start_delegated_transaction();
        $row = (object)[
            'zoho_student_id' => $student->zoho_student_id,
            'request_type' => $type,
            'status' => 'Pending',
            'reason' => $reason === '' ? null : $reason,
            'request_date' => date('Y-m-d', $now),
            'requested_classes' => $requested ? json_encode($requested, JSON_UNESCAPED_UNICODE) : null,
            'details' => $details ? json_encode($details, JSON_UNESCAPED_UNICODE) : null,
            'academic_email' => $student->academic_email,
            'moodle_user_id' => $userid,
            'origin' => self::ORIGIN_MOODLE,
            'timecreated' => $now,
            'timemodified' => $now,
        ];
        $row->id = (int)$DB->insert_record(self::TABLE, $row);
        $row->request_number = self::number($row->id);
        $DB->set_field(self::TABLE, 'request_number', $row->request_number, ['id' => $row->id]);
        if ($receiptdraftid) {
            file_save_draft_area_files($receiptdraftid, \context_user::instance($userid)->id, 'local_mzi',
                self::RECEIPT_AREA, $row->id, self::receipt_options());
        }
        \local_mzi\event\request_submitted::create([
            'objectid' => $row->id,
            'context' => \context_system::instance(),
            'relateduserid' => $userid,
            'other' => ['request_type' => $type, 'request_number' => $row->request_number],
        ])->trigger();
        $transaction->allow_commit();
        return $row;
    }

    /**
     * The Requested_Classes rows of a Class Drop, in the shape of Zoho's subform, which mzi sends them to.
     *
     * @param \stdClass $student the student's row
     * @param string[] $classids the classes the student chose
     * @return array[] [{Class_ID, Class_Name}]
     * @throws \moodle_exception when the choice is not one or two classes the student may drop
     */
    protected static function classes_to_drop(\stdClass $student, array $classids): array {
        $classids = array_values(array_unique(array_map('strval', $classids)));
        $eligible = class_drop::eligible(self::enrollments($student), student_data::today());
        $refusal = class_drop::refusal($classids, $eligible);
        if ($refusal !== null) {
            throw new \moodle_exception($refusal, 'local_mzi');
        }
        $rows = [];
        foreach ($classids as $classid) {
            $rows[] = ['Class_ID' => $classid, 'Class_Name' => $eligible[$classid]];
        }
        return $rows;
    }

    /**
     * The names of the classes in a requested_classes value (Zoho's subform rows), for display.
     *
     * @param string|null $json local_mzi_requests.requested_classes
     * @return string[] Class_Name, or Class_ID when a row has no name
     */
    public static function class_names(?string $json): array {
        $rows = json_decode((string)$json, true);
        $names = [];
        foreach (is_array($rows) ? $rows : [] as $row) {
            if (!is_array($row)) {
                continue;
            }
            $name = trim((string)($row['Class_Name'] ?? ''));
            $name = $name !== '' ? $name : trim((string)($row['Class_ID'] ?? ''));
            if ($name !== '') {
                $names[] = $name;
            }
        }
        return $names;
    }

    /**
     * The submitted row a Zoho record with this number stands for: origin moodle, not yet linked.
     *
     * @param string|null $number request_number (Zoho Name)
     * @return \stdClass|null
     */
    public static function adoptable(?string $number): ?\stdClass {
        global $DB;
        if ($number === null || $number === '') {
            return null;
        }
        $select = 'request_number = :number AND origin = :origin AND (zoho_request_id IS NULL OR zoho_request_id = :empty)';
        $rows = $DB->get_records_select(self::TABLE, $select,
            ['number' => $number, 'origin' => self::ORIGIN_MOODLE, 'empty' => ''], 'id ASC', '*', 0, 1);
        $row = reset($rows);
        return $row ?: null;
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
