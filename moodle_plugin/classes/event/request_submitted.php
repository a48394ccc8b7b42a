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

namespace local_mzi\event;

/**
 * A student submitted a request in the student area (objectid: local_mzi_requests.id).
 *
 * @property-read array $other {
 *      - string request_type: the request type
 *      - string request_number: its number (MDL-<id>), the record's Name in Zoho
 * }
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class request_submitted extends \core\event\base {

    /**
     * Init: create, participating, object table local_mzi_requests.
     */
    protected function init() {
        $this->data['crud'] = 'c';
        $this->data['edulevel'] = self::LEVEL_PARTICIPATING;
        $this->data['objecttable'] = 'local_mzi_requests';
    }

    /**
     * Localised event name.
     *
     * @return string
     */
    public static function get_name() {
        return get_string('eventrequestsubmitted', 'local_mzi');
    }

    /**
     * Non-localised description.
     *
     * @return string
     */
    public function get_description() {
        $type = s($this->other['request_type'] ?? '');
        return "The user with id '{$this->userid}' submitted the request with id '{$this->objectid}' of type '{$type}'.";
    }

    /**
     * URL of the dashboard's requests.
     *
     * @return \moodle_url
     */
    public function get_url() {
        return new \moodle_url('/local/mzi/index.php', ['userid' => $this->relateduserid ?: $this->userid, 'tab' => 'requests']);
    }

    /**
     * Validate the event data.
     *
     * @throws \coding_exception
     */
    protected function validate_data() {
        parent::validate_data();
        if (!isset($this->other['request_type'])) {
            throw new \coding_exception('The \'request_type\' value must be set in other.');
        }
    }

    /**
     * Object id mapping for backup/restore: requests are not backed up.
     *
     * @return array
     */
    public static function get_objectid_mapping() {
        return ['db' => 'local_mzi_requests', 'restore' => \core\event\base::NOT_MAPPED];
    }

    /**
     * Other mapping: nothing to map.
     *
     * @return bool
     */
    public static function get_other_mapping() {
        return false;
    }
}
