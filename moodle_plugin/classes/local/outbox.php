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
 * The transactional outbox: Moodle events waiting to be delivered to mzi.
 *
 * Observers only insert a signed row (inside the event's own database transaction, so a rolled-back
 * action leaves no event behind); the scheduled task {@see \local_mzi\task\deliver_outbox} POSTs
 * due rows, retrying with exponential backoff, so a down mzi loses nothing.
 *
 * Payload: canonical JSON (keys sorted, unescaped slashes and unicode) of eventname, component,
 * objecttable, objectid, userid, relateduserid, courseid, contextid, timecreated (+ event extras).
 * Signature: hex HMAC-SHA256 of the payload with the shared secret (setting outboxsecret), kept in
 * the row. A delivery is signed again with its time: header X-Mzi-Timestamp (unix seconds) and
 * X-Mzi-Signature = hex HMAC-SHA256 of "<timestamp>.<payload>", so mzi refuses a captured delivery
 * replayed outside its window.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class outbox {

    /** @var string Table name. */
    const TABLE = 'local_mzi_outbox';

    /** @var string[] Statuses. */
    const STATUSES = ['pending', 'delivered', 'failed', 'dead'];

    /** @var int Longest wait between attempts (6 hours). */
    const MAX_BACKOFF = 21600;

    /** @var int Default attempts before an event is dead. */
    const DEFAULT_MAX_ATTEMPTS = 10;

    /**
     * Canonical JSON of an event's data.
     *
     * @param array $data event data
     * @return string
     */
    public static function payload(array $data): string {
        ksort($data);
        return json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }

    /**
     * Hex HMAC-SHA256 of a payload with the shared secret.
     *
     * @param string $payload the payload
     * @return string
     */
    public static function sign(string $payload): string {
        return hash_hmac('sha256', $payload, (string)get_config('local_mzi', 'outboxsecret'));
    }

    /**
     * Hex HMAC-SHA256 of "<timestamp>.<payload>": the signature of one delivery (header X-Mzi-Signature).
     *
     * @param int $timestamp unix seconds of the delivery (header X-Mzi-Timestamp)
     * @param string $payload the payload
     * @return string
     */
    public static function sign_delivery(int $timestamp, string $payload): string {
        return hash_hmac('sha256', $timestamp . '.' . $payload, (string)get_config('local_mzi', 'outboxsecret'));
    }

    /**
     * The headers of one delivery of an outbox row, signed with the time of sending.
     *
     * @param \stdClass $row the outbox row (id, payload)
     * @param int $timestamp unix seconds of the delivery
     * @return string[]
     */
    public static function delivery_headers(\stdClass $row, int $timestamp): array {
        return [
            'Content-Type: application/json',
            'X-Mzi-Timestamp: ' . $timestamp,
            'X-Mzi-Signature: ' . self::sign_delivery($timestamp, $row->payload),
            'X-Mzi-Event-Id: moodle-' . $row->id,
        ];
    }

    /**
     * Record one Moodle event in the outbox, status pending.
     *
     * @param \core\event\base $event the event
     * @param array $extra additional payload fields (e.g. grade item, request id)
     * @return int outbox row id
     */
    public static function record(\core\event\base $event, array $extra = []): int {
        global $DB;
        $data = [
            'eventname' => $event->eventname,
            'component' => $event->component,
            'objecttable' => (string)$event->objecttable,
            'objectid' => (int)$event->objectid,
            'userid' => (int)$event->userid,
            'relateduserid' => (int)$event->relateduserid,
            'courseid' => (int)$event->courseid,
            'contextid' => (int)$event->contextid,
            'timecreated' => (int)$event->timecreated,
        ] + $extra;
        $payload = self::payload($data);
        $now = time();
        $row = (object)[
            'eventname' => $data['eventname'],
            'component' => $data['component'],
            'objecttable' => $data['objecttable'],
            'objectid' => $data['objectid'],
            'userid' => $data['userid'],
            'relateduserid' => $data['relateduserid'],
            'courseid' => $data['courseid'],
            'contextid' => $data['contextid'],
            'payload' => $payload,
            'signature' => self::sign($payload),
            'status' => 'pending',
            'attempts' => 0,
            'nextattempt' => $now,
            'lasterror' => null,
            'timecreated' => $now,
            'timemodified' => $now,
        ];
        return (int)$DB->insert_record(self::TABLE, $row);
    }

    /**
     * Move failed or dead events back to pending with attempts = 0.
     *
     * @param int[] $ids outbox ids
     * @return array[] one result per id: id, status (requeued|unchanged|error), errorcode, message
     */
    public static function requeue(array $ids): array {
        global $DB;
        $results = [];
        foreach ($ids as $id) {
            $row = $DB->get_record(self::TABLE, ['id' => $id], 'id, status');
            if (!$row) {
                $results[] = ['id' => (int)$id, 'status' => 'error', 'errorcode' => 'notfound',
                    'message' => "no event has id {$id}"];
                continue;
            }
            if ($row->status !== 'failed' && $row->status !== 'dead') {
                $results[] = ['id' => (int)$id, 'status' => 'unchanged', 'errorcode' => '', 'message' => ''];
                continue;
            }
            $now = time();
            $DB->update_record(self::TABLE, (object)['id' => $row->id, 'status' => 'pending', 'attempts' => 0,
                'nextattempt' => $now, 'timemodified' => $now]);
            $results[] = ['id' => (int)$id, 'status' => 'requeued', 'errorcode' => '', 'message' => ''];
        }
        return $results;
    }

    /**
     * Delay before the next attempt after $attempts failures: min(2^attempts * 60 s, 6 h).
     *
     * @param int $attempts failed attempts so far (>= 1)
     * @return int seconds
     */
    public static function backoff(int $attempts): int {
        return (int)min(pow(2, min($attempts, 20)) * 60, self::MAX_BACKOFF);
    }

    /**
     * Attempts after which an event is dead (setting outboxmaxattempts).
     *
     * @return int
     */
    public static function max_attempts(): int {
        $value = (int)get_config('local_mzi', 'outboxmaxattempts');
        return $value > 0 ? $value : self::DEFAULT_MAX_ATTEMPTS;
    }

    /**
     * Deliver due events (pending or failed with nextattempt <= now), oldest first.
     *
     * @param \progress_trace $trace where progress goes (text in CLI, quiet in cron)
     * @param int $limit most events this run
     * @param int $timebudget seconds this run may take
     * @return array counts: delivered, failed, dead
     */
    public static function deliver_due(\progress_trace $trace, int $limit = 200, int $timebudget = 50): array {
        global $DB;
        $counts = ['delivered' => 0, 'failed' => 0, 'dead' => 0];
        $url = (string)get_config('local_mzi', 'mziurl');
        if ($url === '') {
            $trace->output('local_mzi: no mzi URL configured; outbox not delivered');
            return $counts;
        }
        if ((string)get_config('local_mzi', 'outboxsecret') === '') {
            // An HMAC with an empty key proves nothing: anyone could forge these events.
            $trace->output('local_mzi: no shared secret configured (outboxsecret); outbox not delivered');
            return $counts;
        }
        $started = time();
        [$insql, $params] = $DB->get_in_or_equal(['pending', 'failed'], SQL_PARAMS_NAMED, 'st');
        $rows = $DB->get_records_select(self::TABLE, "status {$insql} AND nextattempt <= :now",
            $params + ['now' => $started], 'id ASC', '*', 0, $limit);
        foreach ($rows as $row) {
            if (time() - $started > $timebudget) {
                break;
            }
            // Signed at delivery with the current secret, so events queued before the
            // secret was set or rotated still verify.
            $row->signature = self::sign($row->payload);
            $error = self::post($url, $row);
            $now = time();
            $update = (object)['id' => $row->id, 'attempts' => $row->attempts + 1, 'timemodified' => $now,
                'signature' => $row->signature];
            if ($error === null) {
                $update->status = 'delivered';
                $update->lasterror = null;
                $counts['delivered']++;
            } else if ($update->attempts >= self::max_attempts()) {
                $update->status = 'dead';
                $update->lasterror = $error;
                $counts['dead']++;
            } else {
                $update->status = 'failed';
                $update->lasterror = $error;
                $update->nextattempt = $now + self::backoff($update->attempts);
                $counts['failed']++;
            }
            $DB->update_record(self::TABLE, $update);
            $trace->output("local_mzi: event {$row->id} {$row->eventname}: {$update->status}" .
                ($error === null ? '' : " ({$error})"), 1);
        }
        return $counts;
    }

    /**
     * POST one event to mzi.
     *
     * @param string $url mzi's endpoint for Moodle events
     * @param \stdClass $row the outbox row
     * @return string|null null on a 2xx answer, else the error text
     */
    protected static function post(string $url, \stdClass $row): ?string {
        global $CFG;
        require_once($CFG->libdir . '/filelib.php');
        $curl = new \curl();
        $curl->setHeader(self::delivery_headers($row, time()));
        $body = $curl->post($url, $row->payload, [
            'CURLOPT_CONNECTTIMEOUT' => 5,
            'CURLOPT_TIMEOUT' => 15,
        ]);
        if ($curl->get_errno()) {
            return 'curl error ' . $curl->get_errno() . ': ' . $curl->error;
        }
        $info = $curl->get_info();
        $code = (int)($info['http_code'] ?? 0);
        if ($code >= 200 && $code < 300) {
            return null;
        }
        return "HTTP {$code}: " . \core_text::substr(trim((string)$body), 0, 500);
    }
}
