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
 * Event observers of local_mzi: each writes one signed outbox row (see classes/local/outbox.php).
 *
 * Observers are internal (the default), so the outbox row is written inside the same database
 * transaction as the action that triggered the event: the transactional outbox pattern.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$observers = [
    [
        'eventname' => '\core\event\user_created',
        'callback' => '\local_mzi\observer::user_created',
    ],
    [
        'eventname' => '\core\event\user_updated',
        'callback' => '\local_mzi\observer::user_updated',
    ],
    [
        'eventname' => '\core\event\user_enrolment_created',
        'callback' => '\local_mzi\observer::user_enrolment_created',
    ],
    [
        'eventname' => '\mod_assign\event\submission_graded',
        'callback' => '\local_mzi\observer::submission_graded',
    ],
    [
        'eventname' => '\core\event\user_graded',
        'callback' => '\local_mzi\observer::user_graded',
    ],
    [
        'eventname' => '\local_mzi\event\request_submitted',
        'callback' => '\local_mzi\observer::request_submitted',
    ],
];
