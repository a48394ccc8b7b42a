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

use local_mzi\local\request_windows;

/**
 * Request windows: for each windowed request type, enabled + open from / until.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class windows_form extends \moodleform {

    /**
     * Form definition.
     */
    protected function definition() {
        $mform = $this->_form;
        foreach (request_windows::WINDOWED as $key => $type) {
            $mform->addElement('header', "hdr_{$key}", get_string('requesttype:' . $key, 'local_mzi'));
            $mform->addElement('advcheckbox', "enabled_{$key}", get_string('windowenabled', 'local_mzi'));
            $mform->addElement('date_time_selector', "from_{$key}", get_string('openfrom', 'local_mzi'), ['optional' => true]);
            $mform->addElement('date_time_selector', "until_{$key}", get_string('openuntil', 'local_mzi'), ['optional' => true]);
        }
        $this->add_action_buttons(false);
    }

    /**
     * A window must not close before it opens.
     *
     * @param array $data submitted data
     * @param array $files submitted files
     * @return array errors
     */
    public function validation($data, $files) {
        $errors = parent::validation($data, $files);
        foreach (array_keys(request_windows::WINDOWED) as $key) {
            if (!empty($data["from_{$key}"]) && !empty($data["until_{$key}"]) && $data["until_{$key}"] < $data["from_{$key}"]) {
                $errors["until_{$key}"] = get_string('error:windoworder', 'local_mzi');
            }
        }
        return $errors;
    }
}
