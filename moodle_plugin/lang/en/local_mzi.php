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
 * English strings for local_mzi.
 *
 * @package    local_mzi
 * @category   string
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['amount'] = 'Amount';
$string['attempt'] = 'Attempt';
$string['attempts'] = 'Attempts';
$string['balance'] = 'Balance';
$string['blocked'] = 'Blocked';
$string['class'] = 'Class';
$string['classes'] = 'Classes';
$string['code'] = 'Code';
$string['command'] = 'Command';
$string['creates'] = 'Creates';
$string['dashboard'] = 'Student dashboard';
$string['date'] = 'Date';
$string['dates'] = 'Dates';
$string['defaultcategory'] = 'Course category';
$string['defaultcategory_desc'] = 'Category of courses created for Zoho classes when mzi does not name one.';
$string['defaultcategory_moodle'] = 'Moodle\'s default category';
$string['deletes'] = 'Deletes';
$string['drift'] = 'Drift';
$string['duedate'] = 'Due date';
$string['error:classdropcount'] = 'Choose one or two classes to drop.';
$string['error:reasonrequired'] = 'Give a reason for this request.';
$string['error:record'] = '{$a}';
$string['error:windowclosed'] = 'This request type is not open now.';
$string['error:windoworder'] = 'The window must not close before it opens.';
$string['errors'] = 'Errors';
$string['event'] = 'Event';
$string['eventrequestsubmitted'] = 'Student request submitted';
$string['eventstatus:dead'] = 'Dead';
$string['eventstatus:delivered'] = 'Delivered';
$string['eventstatus:failed'] = 'Failed';
$string['eventstatus:pending'] = 'Pending';
$string['feedback'] = 'Feedback';
$string['field:academic_email'] = 'Academic e-mail';
$string['field:academic_program'] = 'Academic programme';
$string['field:city'] = 'City';
$string['field:date_of_birth'] = 'Date of birth';
$string['field:display_name'] = 'Name';
$string['field:email'] = 'Personal e-mail';
$string['field:major'] = 'Major';
$string['field:national_id'] = 'National number';
$string['field:nationality'] = 'Nationality';
$string['field:phone_number'] = 'Phone';
$string['field:status'] = 'Status';
$string['field:student_id'] = 'Student number';
$string['field:study_language'] = 'Study language';
$string['field:sub_major'] = 'Sub-major';
$string['grades'] = 'Grades';
$string['hidecancelledcourses'] = 'Hide courses of cancelled classes';
$string['hidecancelledcourses_desc'] = 'When a class is cancelled its course is hidden (never deleted).';
$string['id'] = 'Id';
$string['installment'] = 'Installment';
$string['kind'] = 'Kind';
$string['lasterror'] = 'Last error';
$string['learningoutcomes'] = 'Learning outcomes';
$string['lookup'] = 'Student number or academic e-mail';
$string['method'] = 'Method';
$string['mzi:manage'] = 'Manage the mzi mirror, courses and enrolments (web service)';
$string['mzi:managewindows'] = 'Manage request windows';
$string['mzi:submitrequest'] = 'Submit student requests';
$string['mzi:viewdashboard'] = 'View the student dashboard';
$string['mzi:viewothers'] = 'View any student\'s dashboard';
$string['mzi:viewstatus'] = 'View sync status and the outbox';
$string['mziurl'] = 'mzi URL';
$string['mziurl_desc'] = 'Where Moodle events are delivered (the mzi webhook endpoint for Moodle events).';
$string['newrequest'] = 'New request';
$string['nextattempt'] = 'Next attempt';
$string['noclasses'] = 'No classes.';
$string['noevents'] = 'No events.';
$string['nogrades'] = 'No grades yet.';
$string['nopayments'] = 'No payments.';
$string['noregistrations'] = 'No programme registrations.';
$string['norequests'] = 'No requests.';
$string['norequesttypesopen'] = 'No request type is open at the moment.';
$string['nostudentfound'] = 'No student with a Moodle account matches.';
$string['nostudentrecord'] = 'No student record is linked to this account yet.';
$string['nosyncstatus'] = 'mzi has not reported a plan or apply yet.';
$string['objectid'] = 'Object';
$string['openfrom'] = 'Opens';
$string['openuntil'] = 'Closes';
$string['outbox'] = 'Event outbox';
$string['outboxmaxattempts'] = 'Delivery attempts';
$string['outboxmaxattempts_desc'] = 'After this many failed deliveries an event is marked dead; an administrator can retry it.';
$string['outboxsecret'] = 'Shared secret';
$string['outboxsecret_desc'] = 'Secret for the HMAC-SHA256 signature (header X-Mzi-Signature) of every event; the same value is configured in mzi.';
$string['outcome'] = 'Outcome';
$string['paiddate'] = 'Paid on';
$string['paymentnumber'] = 'Payment';
$string['payments'] = 'Payments';
$string['pluginname'] = 'mzi (Zoho CRM sync)';
$string['privacy:metadata:local_mzi_enrollments'] = 'Copy of the student\'s class enrollments.';
$string['privacy:metadata:local_mzi_enrollments:class_name'] = 'Class name.';
$string['privacy:metadata:local_mzi_enrollments:enrollment_date'] = 'Enrollment date.';
$string['privacy:metadata:local_mzi_enrollments:student_name'] = 'Student name.';
$string['privacy:metadata:local_mzi_enrollments:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_grades'] = 'Copy of the student\'s BTEC grades.';
$string['privacy:metadata:local_mzi_grades:feedback'] = 'Feedback.';
$string['privacy:metadata:local_mzi_grades:grade'] = 'Grade.';
$string['privacy:metadata:local_mzi_grades:grader_name'] = 'Name of the grader.';
$string['privacy:metadata:local_mzi_grades:learning_outcomes'] = 'Learning outcome assessments.';
$string['privacy:metadata:local_mzi_grades:unit_name'] = 'Unit name.';
$string['privacy:metadata:local_mzi_grades:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_outbox'] = 'Events waiting to be delivered to mzi.';
$string['privacy:metadata:local_mzi_outbox:payload'] = 'Event data sent to mzi.';
$string['privacy:metadata:local_mzi_outbox:relateduserid'] = 'User the event is about.';
$string['privacy:metadata:local_mzi_outbox:timecreated'] = 'Time the event was recorded.';
$string['privacy:metadata:local_mzi_outbox:userid'] = 'User who triggered the event.';
$string['privacy:metadata:local_mzi_payments'] = 'Copy of the student\'s payments.';
$string['privacy:metadata:local_mzi_payments:payment_amount'] = 'Payment amount.';
$string['privacy:metadata:local_mzi_payments:payment_date'] = 'Payment date.';
$string['privacy:metadata:local_mzi_payments:payment_method'] = 'Payment method.';
$string['privacy:metadata:local_mzi_payments:payment_notes'] = 'Payment notes.';
$string['privacy:metadata:local_mzi_payments:payment_number'] = 'Payment number.';
$string['privacy:metadata:local_mzi_payments:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_registrations'] = 'Copy of the student\'s programme registrations and fees.';
$string['privacy:metadata:local_mzi_registrations:btec_reg_no'] = 'Pearson BTEC registration number.';
$string['privacy:metadata:local_mzi_registrations:program_name'] = 'Programme name.';
$string['privacy:metadata:local_mzi_registrations:registration_date'] = 'Registration date.';
$string['privacy:metadata:local_mzi_registrations:registration_number'] = 'Registration number.';
$string['privacy:metadata:local_mzi_registrations:registration_status'] = 'Registration status.';
$string['privacy:metadata:local_mzi_registrations:remaining_amount'] = 'Remaining amount.';
$string['privacy:metadata:local_mzi_registrations:total_fees'] = 'Total fees.';
$string['privacy:metadata:local_mzi_registrations:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_requests'] = 'The student\'s requests (from Zoho CRM or submitted in Moodle).';
$string['privacy:metadata:local_mzi_requests:academic_email'] = 'Academic e-mail address.';
$string['privacy:metadata:local_mzi_requests:moodle_user_id'] = 'Linked Moodle user id.';
$string['privacy:metadata:local_mzi_requests:reason'] = 'Reason given.';
$string['privacy:metadata:local_mzi_requests:request_type'] = 'Request type.';
$string['privacy:metadata:local_mzi_requests:requested_classes'] = 'Classes named in the request.';
$string['privacy:metadata:local_mzi_requests:status'] = 'Status.';
$string['privacy:metadata:local_mzi_requests:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_students'] = 'Copy of the student record from Zoho CRM.';
$string['privacy:metadata:local_mzi_students:academic_email'] = 'Academic e-mail address.';
$string['privacy:metadata:local_mzi_students:academic_program'] = 'Academic programme.';
$string['privacy:metadata:local_mzi_students:address'] = 'Postal address.';
$string['privacy:metadata:local_mzi_students:city'] = 'City.';
$string['privacy:metadata:local_mzi_students:date_of_birth'] = 'Date of birth.';
$string['privacy:metadata:local_mzi_students:display_name'] = 'Display name.';
$string['privacy:metadata:local_mzi_students:email'] = 'E-mail address.';
$string['privacy:metadata:local_mzi_students:emergency_contact_name'] = 'Emergency contact name.';
$string['privacy:metadata:local_mzi_students:emergency_contact_phone'] = 'Emergency contact phone.';
$string['privacy:metadata:local_mzi_students:first_name'] = 'First name.';
$string['privacy:metadata:local_mzi_students:gender'] = 'Gender.';
$string['privacy:metadata:local_mzi_students:last_name'] = 'Last name.';
$string['privacy:metadata:local_mzi_students:major'] = 'Major.';
$string['privacy:metadata:local_mzi_students:moodle_user_id'] = 'Linked Moodle user id.';
$string['privacy:metadata:local_mzi_students:national_id'] = 'National identity number.';
$string['privacy:metadata:local_mzi_students:nationality'] = 'Nationality.';
$string['privacy:metadata:local_mzi_students:phone_number'] = 'Phone number.';
$string['privacy:metadata:local_mzi_students:student_id'] = 'Student number.';
$string['privacy:metadata:local_mzi_students:zoho_student_id'] = 'Zoho id of the student record.';
$string['privacy:metadata:local_mzi_teachers'] = 'Copy of the teacher record from Zoho CRM.';
$string['privacy:metadata:local_mzi_teachers:academic_email'] = 'Academic e-mail address.';
$string['privacy:metadata:local_mzi_teachers:email'] = 'E-mail address.';
$string['privacy:metadata:local_mzi_teachers:moodle_user_id'] = 'Linked Moodle user id.';
$string['privacy:metadata:local_mzi_teachers:phone_number'] = 'Phone number.';
$string['privacy:metadata:local_mzi_teachers:teacher_name'] = 'Teacher name.';
$string['privacy:metadata:local_mzi_teachers:zoho_teacher_id'] = 'Zoho id of the teacher record.';
$string['privacy:metadata:mzi'] = 'mzi copies administrative data between Zoho CRM (the system of record) and Moodle; Moodle sends it event notices and grades.';
$string['privacy:metadata:mzi:email'] = 'E-mail address, to link the student or teacher record in Zoho CRM.';
$string['privacy:metadata:mzi:grades'] = 'Assignment grades and learning outcome assessments.';
$string['privacy:metadata:mzi:gradername'] = 'Name of the teacher or Internal Verifier who graded an assignment, sent with the grade.';
$string['privacy:metadata:mzi:requests'] = 'Requests the student submitted in Moodle.';
$string['privacy:metadata:mzi:userid'] = 'Moodle user id of the user an event is about.';
$string['profile'] = 'Profile';
$string['programmesfinance'] = 'Programmes and finance';
$string['reason'] = 'Reason';
$string['relateduser'] = 'User';
$string['requestedclasses'] = 'Classes to drop';
$string['requestnumber'] = 'Request';
$string['requests'] = 'Requests';
$string['requestsubmitted'] = 'Your request was submitted.';
$string['requestsync:failed'] = 'Not received by the office yet: {$a}';
$string['requestsync:waiting'] = 'Waiting to be sent to the office.';
$string['requesttype'] = 'Request type';
$string['requesttype:changeinformation'] = 'Change Information';
$string['requesttype:classdrop'] = 'Class Drop';
$string['requesttype:enrollnextsemester'] = 'Enroll Next Semester';
$string['requesttype:latesubmission'] = 'Late Submission';
$string['requesttype:studentcard'] = 'Student Card';
$string['requestwindows'] = 'Request windows';
$string['retry'] = 'Retry';
$string['retryresult:error'] = 'Event {$a} does not exist.';
$string['retryresult:requeued'] = 'Event {$a} will be delivered again.';
$string['retryresult:unchanged'] = 'Event {$a} is not failed or dead; nothing to retry.';
$string['runid'] = 'Run';
$string['runoutcome'] = 'Outcome';
$string['runstatus:failed'] = 'Failed';
$string['runstatus:interrupted'] = 'Interrupted';
$string['runstatus:ok'] = 'OK';
$string['score'] = 'Score';
$string['settings'] = 'Settings';
$string['staffviewing'] = 'You are viewing another user\'s dashboard.';
$string['status'] = 'Status';
$string['submitrequest'] = 'Submit request';
$string['syncstatus'] = 'Sync status';
$string['syncstatusintro'] = 'One row per resource kind and mzi command, as mzi last reported it. Run is the run\'s number in mzi\'s run log (mzi state runs); Blocked records wait for a record they depend on; Drift counts Moodle edits that mzi undoes (plan) or undid (apply).';
$string['taskdeliveroutbox'] = 'Deliver Moodle events to mzi';
$string['teacher'] = 'Teacher';
$string['term'] = 'Term';
$string['timecreated'] = 'Created';
$string['timefinished'] = 'Finished';
$string['totalfees'] = 'Total fees';
$string['unit'] = 'Unit';
$string['updates'] = 'Updates';
$string['windowenabled'] = 'Window in force';
