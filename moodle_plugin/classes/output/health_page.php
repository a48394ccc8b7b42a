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

namespace local_mzi\output;

use local_mzi\local\alert_rules;
use renderable;
use renderer_base;
use templatable;

/**
 * Staff page: is the feed healthy? Last delivery to mzi, last push from mzi, outbox and table counts,
 * and the incidents the alert task sees now.
 *
 * load() reads the database; the constructor takes its answer, so export_for_template only formats.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class health_page implements renderable, templatable {

    /** @var string[] Tables whose row counts are shown. */
    const TABLES = ['local_mzi_students', 'local_mzi_teachers', 'local_mzi_programs', 'local_mzi_units',
        'local_mzi_registrations', 'local_mzi_installments', 'local_mzi_payments', 'local_mzi_classes',
        'local_mzi_enrollments', 'local_mzi_grades', 'local_mzi_requests', 'local_mzi_outbox', 'local_mzi_sync_status',
        'local_mzi_request_windows'];

    /** @var array What load() read. */
    protected $facts;

    /**
     * Constructor.
     *
     * @param array $facts the answer of load(): lastdelivery, syncrows, deadids, outbox (status => count),
     *     tables (table => count), maxage, now
     */
    public function __construct(array $facts) {
        $this->facts = $facts;
    }

    /**
     * Read what the page shows.
     *
     * @return array
     */
    public static function load(): array {
        global $DB;
        $tables = [];
        foreach (self::TABLES as $table) {
            $tables[$table] = $DB->count_records($table);
        }
        $outbox = [];
        foreach (\local_mzi\local\outbox::STATUSES as $status) {
            $outbox[$status] = $DB->count_records('local_mzi_outbox', ['status' => $status]);
        }
        return [
            'lastdelivery' => (int)$DB->get_field_sql('SELECT MAX(timemodified) FROM {local_mzi_outbox} WHERE status = :s',
                ['s' => 'delivered']),
            'syncrows' => array_values($DB->get_records('local_mzi_sync_status')),
            'deadids' => $DB->get_fieldset_select('local_mzi_outbox', 'id', 'status = :s', ['s' => 'dead']),
            'outbox' => $outbox,
            'tables' => $tables,
            'maxage' => (int)get_config('local_mzi', 'alertstaleage'),
            'now' => time(),
        ];
    }

    /**
     * Data for templates/health.mustache.
     *
     * @param renderer_base $output the renderer
     * @return array
     */
    public function export_for_template(renderer_base $output): array {
        $f = $this->facts;
        $lastpush = 0;
        $lastapply = 0;
        foreach ($f['syncrows'] as $row) {
            $lastpush = max($lastpush, (int)$row->timemodified);
            if ($row->command === 'apply') {
                $lastapply = max($lastapply, (int)$row->timefinished);
            }
        }
        $incidents = [];
        foreach (alert_rules::incidents($f['syncrows'], $f['deadids'], $f['now'], $f['maxage']) as $incident) {
            $incidents[] = ['text' => self::describe($incident)];
        }
        $outbox = [];
        foreach ($f['outbox'] as $status => $count) {
            $outbox[] = ['status' => get_string('eventstatus:' . $status, 'local_mzi'), 'count' => (int)$count,
                'alert' => $status === 'dead' && $count > 0];
        }
        $tables = [];
        foreach ($f['tables'] as $table => $count) {
            $tables[] = ['table' => (string)$table, 'count' => (int)$count];
        }
        $never = get_string('never');
        return [
            'lastdelivery' => $f['lastdelivery'] ? userdate($f['lastdelivery']) : $never,
            'lastpush' => $lastpush ? userdate($lastpush) : $never,
            'lastapply' => $lastapply ? userdate($lastapply) : $never,
            'maxage' => $f['maxage'] ? format_time($f['maxage']) : get_string('alertstaleage_off', 'local_mzi'),
            'incidents' => $incidents, 'hasincidents' => !empty($incidents),
            'outbox' => $outbox, 'tables' => $tables,
        ];
    }

    /**
     * One line about an incident (also the alert message's subject).
     *
     * @param array $incident an incident of alert_rules::incidents()
     * @return string
     */
    public static function describe(array $incident): string {
        switch ($incident['type']) {
            case 'stalled':
                return get_string('alert:stalled', 'local_mzi', (object)['lastpush' => userdate($incident['lastpush']),
                    'age' => format_time($incident['age'])]);
            case 'failed':
                return get_string('alert:failed', 'local_mzi', (object)['runid' => $incident['runid'],
                    'status' => get_string('runstatus:' . $incident['status'], 'local_mzi'),
                    'kinds' => implode(', ', $incident['kinds'])]);
            default:
                return get_string('alert:dead', 'local_mzi', (object)['count' => $incident['count']]);
        }
    }
}
