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

namespace local_mzi\form;

defined('MOODLE_INTERNAL') || die();

global $CFG;
require_once($CFG->libdir . '/formslib.php');

/**
 * A student's new request. Custom data: types (key => Zoho value, open now), classes (zoho id => name).
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class request_form extends \moodleform {

    /**
     * Form definition.
     */
    protected function definition() {
        $mform = $this->_form;
        $types = [];
        foreach ($this->_customdata['types'] as $key => $type) {
            $types[$key] = get_string('requesttype:' . $key, 'local_mzi');
        }
        $mform->addElement('select', 'type', get_string('requesttype', 'local_mzi'), $types);
        $mform->addRule('type', null, 'required', null, 'client');
        $classes = $this->_customdata['classes'];
        if ($classes) {
            $mform->addElement('autocomplete', 'classes', get_string('requestedclasses', 'local_mzi'), $classes,
                ['multiple' => true]);
            $mform->hideIf('classes', 'type', 'neq', 'classdrop');
        }
        $mform->addElement('textarea', 'reason', get_string('reason', 'local_mzi'), ['rows' => 5, 'cols' => 60]);
        $mform->setType('reason', PARAM_TEXT);
        $this->add_action_buttons(true, get_string('submitrequest', 'local_mzi'));
    }

    /**
     * Class Drop needs one or two classes; other types need a reason except Student Card and Enroll Next Semester.
     *
     * @param array $data submitted data
     * @param array $files submitted files
     * @return array errors
     */
    public function validation($data, $files) {
        $errors = parent::validation($data, $files);
        if ($data['type'] === 'classdrop') {
            $count = count($data['classes'] ?? []);
            if ($count < 1 || $count > 2) {
                $errors['type'] = get_string('error:classdropcount', 'local_mzi');
            }
        }
        if (in_array($data['type'], ['latesubmission', 'changeinformation', 'classdrop'], true) && trim($data['reason']) === '') {
            $errors['reason'] = get_string('required');
        }
        return $errors;
    }
}
