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

use local_mzi\output\student_area;

/**
 * Builds the student area for a student: reads the rows and what the tab needs besides (open
 * request types, photo, QR code, receipt links). Shared by the student's own page (index.php) and
 * the staff lookup (admin/lookup.php), so both show the same thing.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class student_view {

    /**
     * The student area of a student, one tab.
     *
     * @param \stdClass $student the student's local_mzi_students row
     * @param string $tab tab to show
     * @param \moodle_url $baseurl the page's URL (tab links add tab=)
     * @param bool $staffview staff is looking at the student
     * @return student_area
     */
    public static function build(\stdClass $student, string $tab, \moodle_url $baseurl, bool $staffview): student_area {
        $data = student_data::load($student);
        $options = [
            'staffview' => $staffview,
            'cansubmit' => !$staffview && has_capability('local/mzi:submitrequest', \context_system::instance()),
            'opentypes' => $staffview ? [] : request_windows::open_types(),
            'today' => student_data::today(),
        ];
        if ($tab === 'card') {
            $options['photourl'] = self::photo_url($student);
            $options['qrdatauri'] = (string)$student->student_id !== '' ? self::qr_data_uri((string)$student->student_id) : '';
        }
        if ($tab === 'requests') {
            $options['receipts'] = self::receipt_urls($data['requests']);
        }
        return new student_area($student, $data, $tab, $baseurl, $options);
    }

    /**
     * URL of the user's picture, '' when the student has no Moodle user or no picture.
     *
     * @param \stdClass $student the student's row
     * @return string
     */
    protected static function photo_url(\stdClass $student): string {
        global $PAGE;
        if (empty($student->moodle_user_id)) {
            return '';
        }
        $user = \core_user::get_user((int)$student->moodle_user_id);
        if (!$user || empty($user->picture)) {
            return '';
        }
        $picture = new \user_picture($user);
        $picture->size = 1; // The large (f1) image.
        return $picture->get_url($PAGE)->out(false);
    }

    /**
     * A QR code of a text, as an SVG data URI, made by the TCPDF 2D barcode class Moodle ships.
     *
     * @param string $text what the code holds
     * @return string
     */
    public static function qr_data_uri(string $text): string {
        global $CFG;
        require_once($CFG->libdir . '/tcpdf/tcpdf_barcodes_2d.php');
        $barcode = new \TCPDF2DBarcode($text, 'QRCODE,M');
        return 'data:image/svg+xml;base64,' . base64_encode($barcode->getBarcodeSVGcode(4, 4, 'black'));
    }

    /**
     * Links to the receipts of Late Submission requests, request id => URL.
     *
     * @param \stdClass[] $requests request rows
     * @return string[]
     */
    protected static function receipt_urls(array $requests): array {
        $urls = [];
        foreach ($requests as $r) {
            if ($r->origin !== 'moodle' || empty($r->moodle_user_id)) {
                continue;
            }
            $file = requests::receipt((int)$r->moodle_user_id, (int)$r->id);
            if ($file) {
                $urls[(int)$r->id] = \moodle_url::make_pluginfile_url($file->get_contextid(), 'local_mzi',
                    requests::RECEIPT_AREA, $file->get_itemid(), $file->get_filepath(), $file->get_filename())->out(false);
            }
        }
        return $urls;
    }
}
