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

namespace local_mzi;

use local_mzi\local\outbox;

/**
 * Event observers: each records one outbox row for mzi; delivery happens in a scheduled task.
 *
 * Observers never call mzi themselves (a slow or down mzi must not slow or break Moodle), and
 * carry only identities: mzi reads the record fresh from both sides when it reconciles.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {

    /**
     * A user was created: mzi may link a student or teacher by academic e-mail.
     *
     * @param \core\event\user_created $event the event
     */
    public static function user_created(\core\event\user_created $event): void {
        outbox::record($event);
    }

    /**
     * A user was updated (e-mail changes re-link students and teachers).
     *
     * @param \core\event\user_updated $event the event
     */
    public static function user_updated(\core\event\user_updated $event): void {
        outbox::record($event);
    }

    /**
     * A user was enrolled in a course.
     *
     * @param \core\event\user_enrolment_created $event the event
     */
    public static function user_enrolment_created(\core\event\user_enrolment_created $event): void {
        outbox::record($event, ['enrol' => (string)($event->other['enrol'] ?? '')]);
    }

    /**
     * An assignment submission was graded.
     *
     * @param \mod_assign\event\submission_graded $event the event
     */
    public static function submission_graded(\mod_assign\event\submission_graded $event): void {
        if (!self::is_mapped_course((int)$event->courseid)) {
            return;
        }
        outbox::record($event, ['cmid' => (int)$event->contextinstanceid]);
    }

    /**
     * A grade was written; only assignment grades in courses of Zoho classes concern mzi.
     *
     * @param \core\event\user_graded $event the event
     */
    public static function user_graded(\core\event\user_graded $event): void {
        global $DB;
        $itemid = (int)($event->other['itemid'] ?? 0);
        if (!$itemid || !self::is_mapped_course((int)$event->courseid)) {
            return;
        }
        $item = $DB->get_record('grade_items', ['id' => $itemid], 'id, itemtype, itemmodule, iteminstance');
        if (!$item || $item->itemtype !== 'mod' || $item->itemmodule !== 'assign') {
            return;
        }
        outbox::record($event, ['gradeitemid' => $itemid, 'assignmentid' => (int)$item->iteminstance]);
    }

    /**
     * A student submitted a request in the dashboard.
     *
     * @param \local_mzi\event\request_submitted $event the event
     */
    public static function request_submitted(\local_mzi\event\request_submitted $event): void {
        outbox::record($event, [
            'request_type' => (string)($event->other['request_type'] ?? ''),
            'request_number' => (string)($event->other['request_number'] ?? ''),
        ]);
    }

    /**
     * Whether a course is the course of a Zoho class (local_mzi_classes.moodle_class_id).
     *
     * @param int $courseid course id
     * @return bool
     */
    protected static function is_mapped_course(int $courseid): bool {
        global $DB;
        return $courseid > 0 && $DB->record_exists('local_mzi_classes', ['moodle_class_id' => $courseid]);
    }
}
