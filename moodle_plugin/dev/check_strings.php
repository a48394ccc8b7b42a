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
 * Developer check, run without Moodle: php dev/check_strings.php
 *
 * Fails (exit 1) when lang/en and lang/ar differ in keys, or when a string the plugin uses
 * (get_string/lang_string/moodle_exception literals, {{#str}} in templates, capability names,
 * privacy metadata keys, the dynamic prefixes field:/tab:/grade:/installment:/windowstate:/requesttype:/requestintro:/
 * eventstatus:/runstatus:/retryresult:, the message provider)
 * is missing from lang/en.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

if (PHP_SAPI !== 'cli') {
    exit(1);
}
define('MOODLE_INTERNAL', true);

$root = dirname(__DIR__);

/**
 * The keys of one language file.
 *
 * @param string $file path
 * @return string[]
 */
function local_mzi_dev_keys(string $file): array {
    $string = [];
    include($file);
    return array_keys($string);
}

$en = local_mzi_dev_keys("{$root}/lang/en/local_mzi.php");
$ar = local_mzi_dev_keys("{$root}/lang/ar/local_mzi.php");
$problems = [];
foreach (array_diff($en, $ar) as $key) {
    $problems[] = "lang/ar lacks '{$key}'";
}
foreach (array_diff($ar, $en) as $key) {
    $problems[] = "lang/en lacks '{$key}' (present in lang/ar)";
}

$used = [];
$files = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($root, FilesystemIterator::SKIP_DOTS));
foreach ($files as $file) {
    $path = $file->getPathname();
    $text = file_get_contents($path);
    if (substr($path, -4) === '.php') {
        preg_match_all("/(?:get_string|lang_string|moodle_exception)\(\s*'([^']+)',\s*'local_mzi'/", $text, $m);
        $used = array_merge($used, $m[1]);
        preg_match_all("/'local\/mzi:(\w+)'\s*=>\s*\[/", $text, $m);
        foreach ($m[1] as $cap) {
            $used[] = "mzi:{$cap}";
        }
    } else if (substr($path, -9) === '.mustache') {
        preg_match_all('/\{\{#str\}\}\s*([\w:]+)\s*,\s*local_mzi\s*(?:,.*?)?\{\{\/str\}\}/', $text, $m);
        $used = array_merge($used, $m[1]);
    }
}

// Dynamic keys: the values each prefix is used with.
require_once("{$root}/classes/local/request_windows.php");
require_once("{$root}/classes/local/outbox.php");
require_once("{$root}/classes/local/sync_status.php");
require_once("{$root}/classes/local/grade_display.php");
require_once("{$root}/classes/local/finance.php");
require_once("{$root}/classes/local/window_rules.php");
require_once("{$root}/classes/local/requests.php");
foreach (array_keys(\local_mzi\local\request_windows::TYPES) as $key) {
    $used[] = "requesttype:{$key}";
}
foreach (\local_mzi\local\outbox::STATUSES as $status) {
    $used[] = "eventstatus:{$status}";
}
foreach (\local_mzi\local\sync_status::OUTCOMES as $outcome) {
    $used[] = "runstatus:{$outcome}";
}
foreach (['requeued', 'unchanged', 'error'] as $status) {
    $used[] = "retryresult:{$status}";
}
foreach (array_keys(\local_mzi\local\request_windows::TYPES) as $key) {
    $used[] = "requestintro:{$key}";
}
foreach (\local_mzi\local\grade_display::LETTERS as [$key, $badge]) {
    $used[] = "grade:{$key}";
}
foreach (['none', 'other'] as $key) {
    $used[] = "grade:{$key}";
}
foreach ([\local_mzi\local\finance::PAID, \local_mzi\local\finance::OVERDUE, \local_mzi\local\finance::DUE] as $state) {
    $used[] = "installment:{$state}";
}
foreach ([\local_mzi\local\window_rules::OPEN, \local_mzi\local\window_rules::NOTYET, \local_mzi\local\window_rules::CLOSED,
        \local_mzi\local\window_rules::DISABLED] as $state) {
    $used[] = "windowstate:{$state}";
}
foreach (\local_mzi\local\requests::CHANGEABLE as $field) {
    $used[] = "field:{$field}";
}
$area = file_get_contents("{$root}/classes/output/student_area.php");
foreach (['TABS' => 'tab', 'PROFILE_FIELDS' => 'field'] as $constant => $prefix) {
    preg_match("/const {$constant} = \\[(.*?)\\];/s", $area, $m);
    preg_match_all("/'(\\w+)'/", $m[1], $names);
    foreach ($names[1] as $name) {
        $used[] = "{$prefix}:{$name}";
    }
}
$used[] = 'messageprovider:syncalert';
$used[] = 'error:classdropnoteligible';
foreach (['core_files', 'core_message'] as $subsystem) {
    $used[] = "privacy:metadata:{$subsystem}";
}
$provider = file_get_contents("{$root}/classes/privacy/provider.php");
preg_match("/const TABLES = \[(.*?)\];/s", $provider, $m);
preg_match_all("/'(local_mzi_\w+)' => \[(.*?)\]/s", $m[1], $tables, PREG_SET_ORDER);
foreach ($tables as $table) {
    $used[] = "privacy:metadata:{$table[1]}";
    preg_match_all("/'(\w+)'/", $table[2], $fields);
    foreach ($fields[1] as $field) {
        $used[] = "privacy:metadata:{$table[1]}:{$field}";
    }
}
foreach (['', ':userid', ':email', ':grades', ':requests'] as $suffix) {
    $used[] = "privacy:metadata:mzi{$suffix}";
}

foreach (array_unique(array_diff($used, $en)) as $key) {
    $problems[] = "lang/en lacks '{$key}', which the plugin uses";
}
if ($problems) {
    fwrite(STDERR, implode("\n", $problems) . "\n");
    exit(1);
}
echo count(array_unique($used)) . ' used, ' . count($en) . " strings; en and ar agree; every used string exists\n";
