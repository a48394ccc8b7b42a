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
 * How a BTEC grade and its learning outcomes are shown: pure, testable without Moodle.
 *
 * Letters are Zoho's Grade picklist (D, M, P, R, RR, F, U, Mapped). Learning outcomes come from
 * the canonical JSON of the Learning_Outcomes_Assessm subform (LO_Code, LO_Title, LO_Definition,
 * LO_Score, LO_Feedback), as Zoho holds it and as mzi writes it from a Moodle grade; the level of an
 * outcome is the P/M/D prefix of its code, and LO_Score ("Achieved", "Not Achieved", empty when not
 * assessed) says whether it was achieved.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class grade_display {

    /** @var array Letter => [string key suffix (grade:...), Bootstrap badge class]. */
    const LETTERS = [
        'D' => ['distinction', 'badge-success'],
        'M' => ['merit', 'badge-info'],
        'P' => ['pass', 'badge-primary'],
        'R' => ['refer', 'badge-warning'],
        'RR' => ['rerefer', 'badge-warning'],
        'F' => ['fail', 'badge-danger'],
        'U' => ['unclassified', 'badge-danger'],
        'Mapped' => ['mapped', 'badge-secondary'],
    ];

    /** @var string[] Outcome levels in the order BTEC lists them. */
    const LEVELS = ['P', 'M', 'D'];

    /** @var string[] LO_Score values that mean achieved (compared case-insensitively). */
    const ACHIEVED = ['achieved', 'yes', 'met', 'true', '1'];

    /** @var string[] LO_Score values that mean assessed and not achieved. */
    const NOT_ACHIEVED = ['not achieved', 'no', 'not met', 'false', '0'];

    /**
     * A grade letter as shown: the letter, the name's string key and a badge class.
     *
     * @param string|null $grade Zoho Grade value
     * @return array{letter: string, key: string, badge: string}
     */
    public static function letter(?string $grade): array {
        $grade = trim((string)$grade);
        if ($grade === '') {
            return ['letter' => '-', 'key' => 'grade:none', 'badge' => 'badge-light'];
        }
        foreach (self::LETTERS as $letter => [$key, $badge]) {
            if (strcasecmp($letter, $grade) === 0) {
                return ['letter' => $letter, 'key' => 'grade:' . $key, 'badge' => $badge];
            }
        }
        return ['letter' => $grade, 'key' => 'grade:other', 'badge' => 'badge-secondary'];
    }

    /**
     * Whether an outcome was achieved: true, false, or null when not assessed (or unknown).
     *
     * @param mixed $score LO_Score
     * @return bool|null
     */
    public static function achieved($score): ?bool {
        $score = strtolower(trim((string)$score));
        if (in_array($score, self::ACHIEVED, true)) {
            return true;
        }
        if (in_array($score, self::NOT_ACHIEVED, true)) {
            return false;
        }
        return null;
    }

    /**
     * The learning outcomes of a grade, ordered P1, P2, ..., M1, ..., D1, ... (others last).
     *
     * @param string|null $json canonical JSON list of subform rows
     * @return array[] each {code, level ('P', 'M', 'D' or ''), title ('' when it only restates the code),
     *     definition (LO_Definition, the criterion's text), feedback, achieved (bool|null)}
     */
    public static function outcomes(?string $json): array {
        $decoded = json_decode((string)$json, true);
        $out = [];
        foreach (is_array($decoded) ? $decoded : [] as $row) {
            if (!is_array($row)) {
                continue;
            }
            $code = trim((string)($row['LO_Code'] ?? $row['code'] ?? ''));
            $level = strtoupper(substr($code, 0, 1));
            $out[] = [
                'code' => $code,
                'level' => in_array($level, self::LEVELS, true) ? $level : '',
                'title' => self::title($code, $row['LO_Title'] ?? $row['title'] ?? null),
                'definition' => trim((string)($row['LO_Definition'] ?? '')),
                'feedback' => trim((string)($row['LO_Feedback'] ?? $row['feedback'] ?? '')),
                'achieved' => self::achieved($row['LO_Score'] ?? $row['score'] ?? null),
            ];
        }
        usort($out, function($a, $b) {
            $rank = function($o) {
                $index = array_search($o['level'], self::LEVELS, true);
                return [$index === false ? count(self::LEVELS) : $index, (int)substr($o['code'], 1), $o['code']];
            };
            return $rank($a) <=> $rank($b);
        });
        return $out;
    }

    /**
     * An outcome's title, '' when it only restates the code.
     *
     * mzi writes the outcomes of a Moodle grade with LO_Title "Criterion <code>" and the criterion's
     * text in LO_Definition (reconciler/providers/moodle_grades.py); shown beside the code, such a
     * title says nothing.
     *
     * @param string $code LO_Code
     * @param mixed $title LO_Title
     * @return string
     */
    public static function title(string $code, $title): string {
        $title = trim((string)$title);
        $restated = ['', strtolower($code), strtolower('Criterion ' . $code)];
        return in_array(strtolower($title), $restated, true) ? '' : $title;
    }

    /**
     * Achieved outcomes per level, for a "P 3/3 · M 1/2 · D 0/1" summary.
     *
     * @param array[] $outcomes the answer of outcomes()
     * @return array[] each {level, achieved, total}, levels with no outcome left out
     */
    public static function summary(array $outcomes): array {
        $summary = [];
        foreach (self::LEVELS as $level) {
            $ofLevel = array_filter($outcomes, function($o) use ($level) {
                return $o['level'] === $level;
            });
            if ($ofLevel) {
                $achieved = count(array_filter($ofLevel, function($o) {
                    return $o['achieved'] === true;
                }));
                $summary[] = ['level' => $level, 'achieved' => $achieved, 'total' => count($ofLevel)];
            }
        }
        return $summary;
    }
}
