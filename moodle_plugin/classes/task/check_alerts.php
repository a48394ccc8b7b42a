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

namespace local_mzi\task;

use local_mzi\local\alert_rules;
use local_mzi\output\health_page;

/**
 * Tells the users holding local/mzi:receivealerts when the feed from mzi is unwell: mzi's last push
 * is older than the configured age (alertstaleage), a run failed, or the outbox holds dead letters.
 *
 * Each incident is told once: the keys of the incidents told are kept (config alertstate, no
 * personal data) and an incident is told again only after it ended and a new one began (see
 * local\alert_rules). Messages go through the message API (provider syncalert), so each recipient
 * picks e-mail, notification or both.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class check_alerts extends \core\task\scheduled_task {

    /**
     * Task name.
     *
     * @return string
     */
    public function get_name() {
        return get_string('taskcheckalerts', 'local_mzi');
    }

    /**
     * Find the incidents, tell the new ones, remember what is open.
     */
    public function execute() {
        global $DB;
        $incidents = alert_rules::incidents(array_values($DB->get_records('local_mzi_sync_status')),
            $DB->get_fieldset_select('local_mzi_outbox', 'id', 'status = :status', ['status' => 'dead']),
            time(), (int)get_config('local_mzi', 'alertstaleage'));
        $told = json_decode((string)get_config('local_mzi', 'alertstate'), true);
        $new = alert_rules::to_tell($incidents, is_array($told) ? $told : []);
        if ($new) {
            $recipients = get_users_by_capability(\context_system::instance(), 'local/mzi:receivealerts');
            mtrace('local_mzi: ' . count($new) . ' new incident(s), ' . count($recipients) . ' recipient(s)');
            foreach ($new as $incident) {
                foreach ($recipients as $user) {
                    $this->tell($user, $incident);
                }
            }
        }
        set_config('alertstate', json_encode(array_keys($incidents)), 'local_mzi');
    }

    /**
     * Send one incident to one user.
     *
     * @param \stdClass $user recipient
     * @param array $incident an incident of alert_rules::incidents()
     */
    protected function tell(\stdClass $user, array $incident): void {
        $url = new \moodle_url('/local/mzi/admin/health.php');
        $text = health_page::describe($incident);
        $message = new \core\message\message();
        $message->component = 'local_mzi';
        $message->name = 'syncalert';
        $message->userfrom = \core_user::get_noreply_user();
        $message->userto = $user;
        $message->subject = get_string('alert:subject', 'local_mzi', $text);
        $message->fullmessage = get_string('alert:body', 'local_mzi', (object)['text' => $text, 'url' => $url->out(false)]);
        $message->fullmessageformat = FORMAT_PLAIN;
        $message->fullmessagehtml = '<p>' . s($text) . '</p><p>' . \html_writer::link($url, get_string('health', 'local_mzi'))
            . '</p>';
        $message->smallmessage = $text;
        $message->notification = 1;
        $message->contexturl = $url->out(false);
        $message->contexturlname = get_string('health', 'local_mzi');
        message_send($message);
    }
}
