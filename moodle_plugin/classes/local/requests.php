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
 * Requests students submit in Moodle: the one path that stores them, and the rules mzi relies on.
 *
 * A submitted request is a row of local_mzi_requests with origin moodle, status Pending and no
 * Zoho id. It is numbered at once ("MDL-<row id>"): that number becomes the record's Name in
 * Zoho, the key mzi's outbound_request kind upserts on, and how the plugin's upsert of the
 * mirror recognises the row when the record comes back with its Zoho id (adoption, see
 * {@see \local_mzi\external\upsert_requests}). The emulator's twin is
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

    /** @var string[] Types whose reason may not be empty. */
    const NEEDS_REASON = ['Late Submission', 'Change Information', 'Class Drop'];

    /** @var int How far back an enrolment may be for its class to be dropped (one month). */
    const DROP_PERIOD = 31 * DAYSECS;

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
     * The student mirror row linked to a Moodle user, if any.
     *
     * @param int $userid Moodle user id
     * @return \stdClass|null
     */
    public static function student_of(int $userid): ?\stdClass {
        global $DB;
        $students = $DB->get_records('local_mzi_students', ['moodle_user_id' => $userid], 'id ASC', '*', 0, 1);
        $student = reset($students);
        return $student ?: null;
    }

    /**
     * Classes a student may drop: enrolled (not withdrawn) within the last month.
     *
     * @param \stdClass $student local_mzi_students row
     * @param int|null $now time to check (default now)
     * @return string[] Zoho class id => class name
     */
    public static function droppable_classes(\stdClass $student, ?int $now = null): array {
        global $DB;
        $since = date('Y-m-d', ($now ?? time()) - self::DROP_PERIOD);
        $sql = "SELECT e.zoho_class_id, e.class_name
                  FROM {local_mzi_enrollments} e
                 WHERE e.zoho_student_id = :zid AND (e.status IS NULL OR e.status <> :withdrawn)
                       AND e.enrollment_date >= :since";
        $classes = [];
        $params = ['zid' => $student->zoho_student_id, 'withdrawn' => 'Withdrawn', 'since' => $since];
        foreach ($DB->get_records_sql($sql, $params) as $e) {
            $classes[$e->zoho_class_id] = (string)($e->class_name ?? $e->zoho_class_id);
        }
        return $classes;
    }

    /**
     * Store a request and number it; the request_submitted event puts it in the outbox.
     *
     * Refused (moodle_exception) when the type is unknown or outside its window, when a Class
     * Drop does not name one or two droppable classes, or when a reason is required and empty.
     *
     * @param \stdClass $student the submitting student's mirror row
     * @param int $userid the submitting Moodle user
     * @param string $type request type (Zoho value)
     * @param string $reason the student's reason
     * @param string[] $classids Zoho class ids (Class Drop)
     * @return \stdClass the stored row
     */
    public static function submit(\stdClass $student, int $userid, string $type, string $reason, array $classids): \stdClass {
        global $DB;
        if (!request_windows::is_open($type)) {
            throw new \moodle_exception('error:windowclosed', 'local_mzi');
        }
        $requested = [];
        if ($type === 'Class Drop') {
            $droppable = self::droppable_classes($student);
            foreach (array_unique(array_map('strval', $classids)) as $classid) {
                if (!isset($droppable[$classid])) {
                    throw new \moodle_exception('error:classdropcount', 'local_mzi');
                }
                // Rows in the shape of Zoho's Requested_Classes subform, which mzi sends them to.
                $requested[] = ['Class_ID' => $classid, 'Class_Name' => $droppable[$classid]];
            }
            if (count($requested) < 1 || count($requested) > 2) {
                throw new \moodle_exception('error:classdropcount', 'local_mzi');
            }
        }
        $reason = trim($reason);
        if ($reason === '' && in_array($type, self::NEEDS_REASON, true)) {
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
            'academic_email' => $student->academic_email,
            'moodle_user_id' => $userid,
            'origin' => self::ORIGIN_MOODLE,
            'timecreated' => $now,
            'timemodified' => $now,
        ];
        $row->id = $DB->insert_record(self::TABLE, $row);
        $row->request_number = self::number((int)$row->id);
        $DB->set_field(self::TABLE, 'request_number', $row->request_number, ['id' => $row->id]);
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
}
