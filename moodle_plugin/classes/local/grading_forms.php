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

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->dirroot . '/grade/grading/lib.php');

/**
 * The BTEC marking guide of a class's assignments, through Moodle's grading manager.
 *
 * Each assignment of a class's course is graded per criterion of its unit (P1..P10, M1..M9,
 * D1..D6) with a marking guide named FORM_NAME: a criterion per BTEC criterion, maximum score 1
 * (met or not), a remark per criterion. The guide's fillings are what mzi turns into the Zoho
 * grade's learning-outcome rows. A marking guide fits BTEC better than a rubric: a criterion is
 * met or not with written evidence, which is a score and a remark, where a rubric needs levels
 * per criterion that BTEC does not have.
 *
 * An assignment graded another way by its teacher (a rubric, or a guide of their own with
 * another name) is never switched silently: it is left alone and named in the result.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class grading_forms {

    /** @var string The name of the guide mzi makes; a guide with another name is a teacher's own. */
    const FORM_NAME = 'BTEC unit criteria (mzi)';

    /**
     * The assignments of a course with their course-module context.
     *
     * @param int $courseid course id
     * @return array of [assign row, context_module]
     */
    public static function assignments(int $courseid): array {
        $modinfo = get_fast_modinfo($courseid);
        $found = [];
        foreach ($modinfo->get_instances_of('assign') as $cm) {
            if (!empty($cm->deletioninprogress)) {
                continue;
            }
            $found[] = [$cm, \context_module::instance($cm->id)];
        }
        usort($found, function($a, $b) {
            return $a[0]->instance <=> $b[0]->instance;
        });
        return $found;
    }

    /**
     * How one assignment is graded: active method, guide name, whether mzi may set it, criteria.
     *
     * @param \cm_info $cm the assignment's course module
     * @param \context_module $context its context
     * @return array
     */
    public static function form_of(\cm_info $cm, \context_module $context): array {
        $manager = get_grading_manager($context, 'mod_assign', 'submissions');
        $method = (string)$manager->get_active_method();
        $name = '';
        $criteria = [];
        $defined = false;
        if ($method === 'guide') {
            $controller = $manager->get_controller('guide');
            if ($controller->is_form_defined()) {
                $defined = true;
                $definition = $controller->get_definition();
                $name = (string)$definition->name;
                foreach ($definition->guide_criteria as $criterion) {
                    $criteria[] = [
                        'shortname' => (string)$criterion['shortname'],
                        'description' => (string)$criterion['description'],
                        'maxscore' => (string)$criterion['maxscore'],
                    ];
                }
            }
        }
        $managed = $method === '' || ($method === 'guide' && (!$defined || $name === self::FORM_NAME));
        return [
            'assignmentid' => (int)$cm->instance,
            'name' => (string)$cm->name,
            'activemethod' => $method,
            'formname' => $name,
            'managed' => $managed,
            'criteria' => $criteria,
        ];
    }

    /**
     * Create or update the guide of every assignment mzi may set in a class's course.
     *
     * @param string $idnumber course idnumber (Zoho class id)
     * @param array $criteria [['shortname', 'description', 'descriptionmarkers', 'maxscore'], ...]
     * @return array a result: key, status, errorcode, message
     */
    public static function ensure(string $idnumber, array $criteria): array {
        global $DB, $USER;
        $course = $DB->get_record_sql("SELECT c.id FROM {course} c
                                         JOIN {local_mzi_classes} k ON k.zoho_class_id = c.idnumber
                                        WHERE c.idnumber = :idnumber AND c.id <> :siteid
                                     ORDER BY c.id DESC", ['idnumber' => $idnumber, 'siteid' => SITEID], IGNORE_MULTIPLE);
        if (!$course) {
            return self::result($idnumber, 'error', 'coursenotfound', "no course of a class has idnumber '{$idnumber}'");
        }
        $problem = self::criteria_problem($criteria);
        if ($problem !== '') {
            return self::result($idnumber, 'error', 'invalidcriteria', $problem);
        }
        $assignments = self::assignments((int)$course->id);
        if (!$assignments) {
            return self::result($idnumber, 'error', 'noassignments', 'the course has no assignment to put a grading form on');
        }
        $changed = 0;
        $left = [];
        foreach ($assignments as [$cm, $context]) {
            require_capability('moodle/grade:managegradingforms', $context);
            $state = self::form_of($cm, $context);
            if (!$state['managed']) {
                $left[] = $state['name'] . ' (' . $state['activemethod'] . ($state['formname'] !== '' ? " '{$state['formname']}'" : '') . ')';
                continue;
            }
            $manager = get_grading_manager($context, 'mod_assign', 'submissions');
            $moved = $manager->set_active_method('guide');
            $controller = $manager->get_controller('guide');
            if (self::save($controller, $criteria, (int)$USER->id) || $moved) {
                $changed++;
            }
        }
        $message = $left ? 'left alone, graded by the teacher\'s own method: ' . implode('; ', $left) : '';
        if (count($left) === count($assignments)) {
            return self::result($idnumber, 'error', 'othermethod', $message);
        }
        return self::result($idnumber, $changed ? 'updated' : 'unchanged', '', $message);
    }

    /**
     * The guide definition from the criteria: existing rows kept by shortname, new ones added,
     * gone ones removed (update_definition does each). Returns whether anything changed.
     *
     * @param \gradingform_guide_controller $controller the assignment's guide controller
     * @param array $criteria the wanted criteria
     * @param int $userid who changes it
     * @return bool
     */
    protected static function save(\gradingform_guide_controller $controller, array $criteria, int $userid): bool {
        $current = [];
        $definition = $controller->is_form_defined() ? $controller->get_definition() : null;
        if ($definition) {
            foreach ($definition->guide_criteria as $id => $criterion) {
                $current[$criterion['shortname']] = $id;
            }
        }
        $new = [];
        $next = 1;
        foreach (array_values($criteria) as $order => $criterion) {
            $id = $current[$criterion['shortname']] ?? ('NEWID' . $next++);
            $new[$id] = [
                'sortorder' => $order + 1,
                'shortname' => $criterion['shortname'],
                'description' => $criterion['description'],
                'descriptionmarkers' => $criterion['descriptionmarkers'],
                'maxscore' => $criterion['maxscore'],
            ];
        }
        $data = (object)[
            'name' => self::FORM_NAME,
            'description_editor' => ['text' => '', 'format' => FORMAT_HTML],
            'status' => \gradingform_controller::DEFINITION_STATUS_READY,
            'guide' => ['criteria' => $new, 'options' => \gradingform_guide_controller::get_default_options()],
        ];
        $level = $definition ? $controller->update_or_check_guide(clone $data, $userid, false) : 5;
        if ($level === 0) {
            return false;
        }
        $controller->update_definition($data, $userid);
        return true;
    }

    /**
     * Why the criteria cannot make a guide ('' when they can).
     *
     * @param array $criteria the wanted criteria
     * @return string
     */
    protected static function criteria_problem(array $criteria): string {
        if (!$criteria) {
            return 'criteria must not be empty';
        }
        $names = array_map(function($c) {
            return trim((string)$c['shortname']);
        }, $criteria);
        if (in_array('', $names, true) || count(array_unique($names)) !== count($names)) {
            return 'each criterion needs its own non-empty shortname';
        }
        foreach ($criteria as $criterion) {
            if (!is_numeric($criterion['maxscore']) || (float)$criterion['maxscore'] <= 0) {
                return "maxscore must be a positive number, not '{$criterion['maxscore']}'";
            }
        }
        return '';
    }

    /**
     * One per-record result.
     *
     * @param string $key course idnumber
     * @param string $status updated|unchanged|error
     * @param string $errorcode error code
     * @param string $message message
     * @return array
     */
    protected static function result(string $key, string $status, string $errorcode = '', string $message = ''): array {
        return ['key' => $key, 'status' => $status, 'errorcode' => $errorcode, 'message' => $message];
    }
}
