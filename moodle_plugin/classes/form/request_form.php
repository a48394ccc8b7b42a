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

use local_mzi\local\class_drop;
use local_mzi\local\requests;

/**
 * A student's new request, one form per type (custom data 'type', a request_windows::TYPES key).
 *
 * Custom data: type; classes (zoho_class_id => name, the classes a Class Drop may name);
 * units (zoho_class_id => "unit · class", the classes a Late Submission may be about);
 * current (student field => value, the defaults of Change Information).
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
        $type = $this->_customdata['type'];
        $mform->addElement('hidden', 'type', $type);
        $mform->setType('type', PARAM_ALPHA);
        $mform->addElement('static', 'intro', '', get_string('requestintro:' . $type, 'local_mzi'));

        switch ($type) {
            case 'enrollnextsemester':
                $mform->addElement('advcheckbox', 'confirm', '', get_string('confirmenrollnext', 'local_mzi'));
                $this->reason(false);
                break;
            case 'classdrop':
                foreach ($this->_customdata['classes'] as $id => $name) {
                    $mform->addElement('advcheckbox', "drop[{$id}]", '', $name, ['group' => 1], [0, 1]);
                }
                $mform->setType('drop', PARAM_INT);
                $this->reason(true);
                break;
            case 'latesubmission':
                $mform->addElement('select', 'class', get_string('unit', 'local_mzi'),
                    ['' => get_string('choosedots')] + $this->_customdata['units']);
                $mform->addRule('class', null, 'required', null, 'client');
                $mform->addElement('filemanager', 'receipt', get_string('receipt', 'local_mzi'), null,
                    requests::receipt_options());
                $mform->addHelpButton('receipt', 'receipt', 'local_mzi');
                $mform->addRule('receipt', null, 'required');
                $this->reason(true);
                break;
            case 'changeinformation':
                foreach (requests::CHANGEABLE as $field) {
                    $element = $field === 'address' ? 'textarea' : 'text';
                    $mform->addElement($element, $field, get_string('field:' . $field, 'local_mzi'));
                    $mform->setType($field, $field === 'email' ? PARAM_EMAIL : PARAM_TEXT);
                    $mform->setDefault($field, (string)($this->_customdata['current'][$field] ?? ''));
                }
                $this->reason(false);
                break;
            default:
                $this->reason(false);
        }
        $this->add_action_buttons(true, get_string('submitrequest', 'local_mzi'));
    }

    /**
     * The reason text area.
     *
     * @param bool $required whether the type needs a reason
     */
    protected function reason(bool $required): void {
        $mform = $this->_form;
        $mform->addElement('textarea', 'reason', get_string('reason', 'local_mzi'), ['rows' => 4, 'cols' => 60]);
        $mform->setType('reason', PARAM_TEXT);
        if ($required) {
            $mform->addRule('reason', null, 'required', null, 'client');
        }
    }

    /**
     * Per-type checks: confirmation, one or two eligible classes, a chosen unit and a receipt image,
     * at least one changed field.
     *
     * @param array $data submitted data
     * @param array $files submitted files
     * @return array errors
     */
    public function validation($data, $files) {
        global $USER;
        $errors = parent::validation($data, $files);
        $type = $this->_customdata['type'];
        if (in_array($type, ['classdrop', 'latesubmission'], true) && trim((string)($data['reason'] ?? '')) === '') {
            $errors['reason'] = get_string('required');
        }
        if ($type === 'enrollnextsemester' && empty($data['confirm'])) {
            $errors['confirm'] = get_string('error:confirm', 'local_mzi');
        }
        if ($type === 'classdrop') {
            $refusal = class_drop::refusal(self::ticked($data['drop'] ?? []), $this->_customdata['classes']);
            if ($refusal) {
                $errors['reason'] = get_string($refusal, 'local_mzi');
            }
        }
        if ($type === 'latesubmission') {
            if (!array_key_exists((string)($data['class'] ?? ''), $this->_customdata['units'])) {
                $errors['class'] = get_string('required');
            }
            $draft = file_get_drafarea_files((int)($data['receipt'] ?? 0));
            if (empty($draft->list)) {
                $errors['receipt'] = get_string('error:receiptrequired', 'local_mzi');
            }
        }
        if ($type === 'changeinformation' && !self::changes($data, $this->_customdata['current'])) {
            $errors['reason'] = get_string('error:nochange', 'local_mzi');
        }
        return $errors;
    }

    /**
     * The ids whose checkbox is ticked.
     *
     * @param array $drop zoho_class_id => 0|1
     * @return string[]
     */
    public static function ticked(array $drop): array {
        return array_map('strval', array_keys(array_filter($drop)));
    }

    /**
     * The fields a Change Information request changes, field => proposed value.
     *
     * @param array|\stdClass $data submitted data
     * @param array $current field => current value
     * @return string[]
     */
    public static function changes($data, array $current): array {
        $data = (array)$data;
        $changes = [];
        foreach (requests::CHANGEABLE as $field) {
            $value = trim((string)($data[$field] ?? ''));
            if ($value !== trim((string)($current[$field] ?? ''))) {
                $changes[$field] = $value;
            }
        }
        return $changes;
    }
}
