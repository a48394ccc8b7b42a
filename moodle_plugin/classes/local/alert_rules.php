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
 * What is wrong with the feed from mzi right now, as incidents with stable keys.
 *
 * Pure: the alert task passes the sync status rows, the dead letters and the clock. An
 * incident's key stays the same for as long as the incident lasts and differs for the next one,
 * so the task can tell each incident once (it remembers the keys it told) and again only when a
 * new one starts:
 * - stalled: mzi's last push is older than the configured age; keyed by that last push, so the
 *   feed resuming and stalling again is a new incident. Nothing pushed yet is not a stall (mzi
 *   may not be set up yet).
 * - failed: a run mzi reported as failed or interrupted; keyed by its run id (a run spans kinds).
 * - dead: the outbox holds dead letters; keyed by the oldest one, so retrying them ends it.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class alert_rules {

    /** @var string[] Run outcomes that are an incident. */
    const FAILED = ['failed', 'interrupted'];

    /**
     * The incidents open now, key => {type, ...details}.
     *
     * @param array $syncrows local_mzi_sync_status rows (kind, command, status, runid, timefinished, timemodified)
     * @param array $deadids ids of the outbox rows in status dead
     * @param int $now unix seconds
     * @param int $maxage seconds after mzi's last push at which the feed counts as stalled (0: never)
     * @return array[]
     */
    public static function incidents(array $syncrows, array $deadids, int $now, int $maxage): array {
        $incidents = [];
        $lastpush = 0;
        $failed = [];
        foreach ($syncrows as $row) {
            $row = (object)$row;
            $lastpush = max($lastpush, (int)($row->timemodified ?? 0));
            if (in_array((string)($row->status ?? ''), self::FAILED, true)) {
                $runid = (int)($row->runid ?? 0);
                $failed[$runid]['kinds'][] = $row->kind . ' ' . $row->command;
                $failed[$runid]['status'] = (string)$row->status;
                $failed[$runid]['time'] = max($failed[$runid]['time'] ?? 0, (int)($row->timefinished ?? 0));
            }
        }
        if ($maxage > 0 && $lastpush > 0 && $now - $lastpush > $maxage) {
            $incidents["stalled:{$lastpush}"] = ['type' => 'stalled', 'lastpush' => $lastpush, 'age' => $now - $lastpush];
        }
        ksort($failed);
        foreach ($failed as $runid => $run) {
            sort($run['kinds']);
            $incidents["failed:{$runid}"] = ['type' => 'failed', 'runid' => $runid, 'status' => $run['status'],
                'kinds' => $run['kinds'], 'time' => $run['time']];
        }
        if ($deadids) {
            $deadids = array_map('intval', $deadids);
            $oldest = min($deadids);
            $incidents["dead:{$oldest}"] = ['type' => 'dead', 'count' => count($deadids), 'oldest' => $oldest];
        }
        return $incidents;
    }

    /**
     * The incidents to tell now: open and not told before.
     *
     * @param array $incidents the answer of incidents()
     * @param string[] $told keys told before (the task's remembered state)
     * @return array[] key => incident
     */
    public static function to_tell(array $incidents, array $told): array {
        return array_diff_key($incidents, array_flip($told));
    }
}
