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
 * Arabic strings for local_mzi.
 *
 * @package    local_mzi
 * @category   string
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['amount'] = 'المبلغ';
$string['attempt'] = 'المحاولة';
$string['attempts'] = 'المحاولات';
$string['balance'] = 'الرصيد المتبقي';
$string['blocked'] = 'محجوب';
$string['class'] = 'الصف';
$string['classes'] = 'الصفوف';
$string['code'] = 'الرمز';
$string['command'] = 'الأمر';
$string['creates'] = 'إنشاء';
$string['dashboard'] = 'لوحة الطالب';
$string['date'] = 'التاريخ';
$string['dates'] = 'التواريخ';
$string['defaultcategory'] = 'فئة المقررات';
$string['defaultcategory_desc'] = 'فئة المقررات التي تُنشأ لصفوف Zoho عندما لا يحدد mzi فئة.';
$string['defaultcategory_moodle'] = 'الفئة الافتراضية في Moodle';
$string['deletes'] = 'حذف';
$string['drift'] = 'انحراف';
$string['duedate'] = 'تاريخ الاستحقاق';
$string['error:classdropcount'] = 'اختر صفاً أو صفين للانسحاب منهما.';
$string['error:reasonrequired'] = 'اذكر سبب هذا الطلب.';
$string['error:record'] = '{$a}';
$string['error:windowclosed'] = 'نوع الطلب هذا غير متاح حالياً.';
$string['error:windoworder'] = 'يجب ألا تُغلق الفترة قبل أن تُفتح.';
$string['errors'] = 'أخطاء';
$string['event'] = 'الحدث';
$string['eventrequestsubmitted'] = 'تم تقديم طلب طالب';
$string['eventstatus:dead'] = 'متوقف';
$string['eventstatus:delivered'] = 'تم الإرسال';
$string['eventstatus:failed'] = 'فشل';
$string['eventstatus:pending'] = 'قيد الانتظار';
$string['feedback'] = 'الملاحظات';
$string['field:academic_email'] = 'البريد الأكاديمي';
$string['field:academic_program'] = 'البرنامج الأكاديمي';
$string['field:city'] = 'المدينة';
$string['field:date_of_birth'] = 'تاريخ الميلاد';
$string['field:display_name'] = 'الاسم';
$string['field:email'] = 'البريد الشخصي';
$string['field:major'] = 'التخصص';
$string['field:national_id'] = 'الرقم الوطني';
$string['field:nationality'] = 'الجنسية';
$string['field:phone_number'] = 'الهاتف';
$string['field:status'] = 'الحالة';
$string['field:student_id'] = 'رقم الطالب';
$string['field:study_language'] = 'لغة الدراسة';
$string['field:sub_major'] = 'التخصص الفرعي';
$string['grades'] = 'الدرجات';
$string['hidecancelledcourses'] = 'إخفاء مقررات الصفوف الملغاة';
$string['hidecancelledcourses_desc'] = 'عند إلغاء صف يُخفى مقرره (ولا يُحذف أبداً).';
$string['id'] = 'المعرّف';
$string['installment'] = 'القسط';
$string['kind'] = 'النوع';
$string['lasterror'] = 'آخر خطأ';
$string['learningoutcomes'] = 'مخرجات التعلم';
$string['lookup'] = 'رقم الطالب أو البريد الأكاديمي';
$string['method'] = 'طريقة الدفع';
$string['mzi:manage'] = 'إدارة مرآة mzi والمقررات والتسجيلات (خدمة ويب)';
$string['mzi:managewindows'] = 'إدارة فترات الطلبات';
$string['mzi:submitrequest'] = 'تقديم طلبات الطلاب';
$string['mzi:viewdashboard'] = 'عرض لوحة الطالب';
$string['mzi:viewothers'] = 'عرض لوحة أي طالب';
$string['mzi:viewstatus'] = 'عرض حالة المزامنة وصندوق الصادر';
$string['mziurl'] = 'عنوان mzi';
$string['mziurl_desc'] = 'العنوان الذي تُرسل إليه أحداث Moodle (نقطة استقبال أحداث Moodle في mzi).';
$string['newrequest'] = 'طلب جديد';
$string['nextattempt'] = 'المحاولة التالية';
$string['noclasses'] = 'لا توجد صفوف.';
$string['noevents'] = 'لا توجد أحداث.';
$string['nogrades'] = 'لا توجد درجات بعد.';
$string['nopayments'] = 'لا توجد دفعات.';
$string['noregistrations'] = 'لا توجد تسجيلات في برامج.';
$string['norequests'] = 'لا توجد طلبات.';
$string['norequesttypesopen'] = 'لا يوجد نوع طلب متاح في الوقت الحالي.';
$string['nostudentfound'] = 'لا يوجد طالب مطابق لديه حساب Moodle.';
$string['nostudentrecord'] = 'لا يوجد سجل طالب مرتبط بهذا الحساب بعد.';
$string['nosyncstatus'] = 'لم يُبلغ mzi عن أي تخطيط أو تطبيق بعد.';
$string['objectid'] = 'الكائن';
$string['openfrom'] = 'تُفتح في';
$string['openuntil'] = 'تُغلق في';
$string['outbox'] = 'صندوق صادر الأحداث';
$string['outboxmaxattempts'] = 'محاولات الإرسال';
$string['outboxmaxattempts_desc'] = 'بعد هذا العدد من محاولات الإرسال الفاشلة يُعلَّم الحدث كميت؛ ويمكن للمسؤول إعادة المحاولة.';
$string['outboxsecret'] = 'السر المشترك';
$string['outboxsecret_desc'] = 'سر توقيع HMAC-SHA256 (الترويسة X-Mzi-Signature) لكل حدث؛ تُضبط القيمة نفسها في mzi.';
$string['outcome'] = 'المخرج';
$string['paiddate'] = 'تاريخ الدفع';
$string['paymentnumber'] = 'الدفعة';
$string['payments'] = 'الدفعات';
$string['pluginname'] = 'mzi (مزامنة Zoho CRM)';
$string['privacy:metadata:local_mzi_enrollments'] = 'نسخة من تسجيلات الطالب في الصفوف.';
$string['privacy:metadata:local_mzi_enrollments:class_name'] = 'اسم الصف.';
$string['privacy:metadata:local_mzi_enrollments:enrollment_date'] = 'تاريخ التسجيل في الصف.';
$string['privacy:metadata:local_mzi_enrollments:student_name'] = 'اسم الطالب.';
$string['privacy:metadata:local_mzi_enrollments:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_grades'] = 'نسخة من درجات BTEC للطالب.';
$string['privacy:metadata:local_mzi_grades:feedback'] = 'الملاحظات.';
$string['privacy:metadata:local_mzi_grades:grade'] = 'الدرجة.';
$string['privacy:metadata:local_mzi_grades:grader_name'] = 'اسم المقيّم.';
$string['privacy:metadata:local_mzi_grades:learning_outcomes'] = 'تقييمات مخرجات التعلم.';
$string['privacy:metadata:local_mzi_grades:unit_name'] = 'اسم الوحدة.';
$string['privacy:metadata:local_mzi_grades:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_outbox'] = 'أحداث بانتظار إرسالها إلى mzi.';
$string['privacy:metadata:local_mzi_outbox:payload'] = 'بيانات الحدث المرسلة إلى mzi.';
$string['privacy:metadata:local_mzi_outbox:relateduserid'] = 'المستخدم الذي يخصه الحدث.';
$string['privacy:metadata:local_mzi_outbox:timecreated'] = 'وقت تسجيل الحدث.';
$string['privacy:metadata:local_mzi_outbox:userid'] = 'المستخدم الذي أطلق الحدث.';
$string['privacy:metadata:local_mzi_payments'] = 'نسخة من دفعات الطالب.';
$string['privacy:metadata:local_mzi_payments:payment_amount'] = 'مبلغ الدفعة.';
$string['privacy:metadata:local_mzi_payments:payment_date'] = 'تاريخ الدفعة.';
$string['privacy:metadata:local_mzi_payments:payment_method'] = 'طريقة الدفع.';
$string['privacy:metadata:local_mzi_payments:payment_notes'] = 'ملاحظات الدفعة.';
$string['privacy:metadata:local_mzi_payments:payment_number'] = 'رقم الدفعة.';
$string['privacy:metadata:local_mzi_payments:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_registrations'] = 'نسخة من تسجيلات الطالب في البرامج والرسوم.';
$string['privacy:metadata:local_mzi_registrations:btec_reg_no'] = 'رقم تسجيل Pearson BTEC.';
$string['privacy:metadata:local_mzi_registrations:program_name'] = 'اسم البرنامج.';
$string['privacy:metadata:local_mzi_registrations:registration_date'] = 'تاريخ التسجيل.';
$string['privacy:metadata:local_mzi_registrations:registration_number'] = 'رقم التسجيل.';
$string['privacy:metadata:local_mzi_registrations:registration_status'] = 'حالة التسجيل.';
$string['privacy:metadata:local_mzi_registrations:remaining_amount'] = 'المبلغ المتبقي.';
$string['privacy:metadata:local_mzi_registrations:total_fees'] = 'إجمالي الرسوم.';
$string['privacy:metadata:local_mzi_registrations:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_requests'] = 'طلبات الطالب (من Zoho CRM أو المقدمة في Moodle).';
$string['privacy:metadata:local_mzi_requests:academic_email'] = 'البريد الأكاديمي.';
$string['privacy:metadata:local_mzi_requests:moodle_user_id'] = 'معرّف مستخدم Moodle المرتبط.';
$string['privacy:metadata:local_mzi_requests:reason'] = 'السبب المذكور.';
$string['privacy:metadata:local_mzi_requests:request_type'] = 'نوع الطلب.';
$string['privacy:metadata:local_mzi_requests:requested_classes'] = 'الصفوف المذكورة في الطلب.';
$string['privacy:metadata:local_mzi_requests:status'] = 'الحالة.';
$string['privacy:metadata:local_mzi_requests:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_students'] = 'نسخة من سجل الطالب من Zoho CRM.';
$string['privacy:metadata:local_mzi_students:academic_email'] = 'البريد الأكاديمي.';
$string['privacy:metadata:local_mzi_students:academic_program'] = 'البرنامج الأكاديمي.';
$string['privacy:metadata:local_mzi_students:address'] = 'العنوان البريدي.';
$string['privacy:metadata:local_mzi_students:city'] = 'المدينة.';
$string['privacy:metadata:local_mzi_students:date_of_birth'] = 'تاريخ الميلاد.';
$string['privacy:metadata:local_mzi_students:display_name'] = 'الاسم المعروض.';
$string['privacy:metadata:local_mzi_students:email'] = 'البريد الإلكتروني.';
$string['privacy:metadata:local_mzi_students:emergency_contact_name'] = 'اسم جهة الاتصال في الطوارئ.';
$string['privacy:metadata:local_mzi_students:emergency_contact_phone'] = 'هاتف جهة الاتصال في الطوارئ.';
$string['privacy:metadata:local_mzi_students:first_name'] = 'الاسم الأول.';
$string['privacy:metadata:local_mzi_students:gender'] = 'الجنس.';
$string['privacy:metadata:local_mzi_students:last_name'] = 'اسم العائلة.';
$string['privacy:metadata:local_mzi_students:major'] = 'التخصص.';
$string['privacy:metadata:local_mzi_students:moodle_user_id'] = 'معرّف مستخدم Moodle المرتبط.';
$string['privacy:metadata:local_mzi_students:national_id'] = 'الرقم الوطني.';
$string['privacy:metadata:local_mzi_students:nationality'] = 'الجنسية.';
$string['privacy:metadata:local_mzi_students:phone_number'] = 'رقم الهاتف.';
$string['privacy:metadata:local_mzi_students:student_id'] = 'رقم الطالب.';
$string['privacy:metadata:local_mzi_students:zoho_student_id'] = 'معرّف سجل الطالب في Zoho.';
$string['privacy:metadata:local_mzi_teachers'] = 'نسخة من سجل المعلم من Zoho CRM.';
$string['privacy:metadata:local_mzi_teachers:academic_email'] = 'البريد الأكاديمي.';
$string['privacy:metadata:local_mzi_teachers:email'] = 'البريد الإلكتروني.';
$string['privacy:metadata:local_mzi_teachers:moodle_user_id'] = 'معرّف مستخدم Moodle المرتبط.';
$string['privacy:metadata:local_mzi_teachers:phone_number'] = 'رقم الهاتف.';
$string['privacy:metadata:local_mzi_teachers:teacher_name'] = 'اسم المعلم.';
$string['privacy:metadata:local_mzi_teachers:zoho_teacher_id'] = 'معرّف سجل المعلم في Zoho.';
$string['privacy:metadata:mzi'] = 'ينسخ mzi البيانات الإدارية بين Zoho CRM (نظام السجلات) وMoodle؛ ويرسل Moodle إليه إشعارات الأحداث والدرجات.';
$string['privacy:metadata:mzi:email'] = 'البريد الإلكتروني لربط سجل الطالب أو المعلم في Zoho CRM.';
$string['privacy:metadata:mzi:grades'] = 'درجات الواجبات وتقييمات مخرجات التعلم.';
$string['privacy:metadata:mzi:gradername'] = 'اسم المعلم أو المدقق الداخلي الذي قيّم الواجب، يُرسل مع الدرجة.';
$string['privacy:metadata:mzi:requests'] = 'الطلبات التي قدمها الطالب في Moodle.';
$string['privacy:metadata:mzi:userid'] = 'معرّف مستخدم Moodle الذي يخصه الحدث.';
$string['profile'] = 'الملف الشخصي';
$string['programmesfinance'] = 'البرامج والشؤون المالية';
$string['reason'] = 'السبب';
$string['relateduser'] = 'المستخدم';
$string['requestedclasses'] = 'الصفوف المراد الانسحاب منها';
$string['requestnumber'] = 'الطلب';
$string['requests'] = 'الطلبات';
$string['requestsubmitted'] = 'تم تقديم طلبك.';
$string['requestsync:failed'] = 'لم يصل الطلب إلى المكتب بعد: {$a}';
$string['requestsync:waiting'] = 'بانتظار إرساله إلى المكتب.';
$string['requesttype'] = 'نوع الطلب';
$string['requesttype:changeinformation'] = 'تغيير المعلومات';
$string['requesttype:classdrop'] = 'الانسحاب من صف';
$string['requesttype:enrollnextsemester'] = 'التسجيل في الفصل القادم';
$string['requesttype:latesubmission'] = 'تسليم متأخر';
$string['requesttype:studentcard'] = 'بطاقة الطالب';
$string['requestwindows'] = 'فترات الطلبات';
$string['retry'] = 'إعادة المحاولة';
$string['retryresult:error'] = 'الحدث {$a} غير موجود.';
$string['retryresult:requeued'] = 'سيُعاد إرسال الحدث {$a}.';
$string['retryresult:unchanged'] = 'الحدث {$a} ليس فاشلاً أو متوقفاً؛ لا شيء لإعادة المحاولة.';
$string['runid'] = 'رقم التشغيل';
$string['runoutcome'] = 'نتيجة التشغيل';
$string['runstatus:failed'] = 'فشل';
$string['runstatus:interrupted'] = 'توقف قبل أن يكتمل';
$string['runstatus:ok'] = 'تم بنجاح';
$string['score'] = 'النتيجة';
$string['settings'] = 'الإعدادات';
$string['staffviewing'] = 'أنت تعرض لوحة مستخدم آخر.';
$string['status'] = 'الحالة';
$string['submitrequest'] = 'تقديم الطلب';
$string['syncstatus'] = 'حالة المزامنة';
$string['syncstatusintro'] = 'صف لكل نوع من الموارد ولكل أمر من أوامر mzi، كما أبلغ عنه mzi آخر مرة. رقم التشغيل هو رقمه في سجل تشغيل mzi (mzi state runs)؛ السجلات المحجوبة تنتظر سجلاً تعتمد عليه؛ الانحراف يعدّ تعديلات Moodle التي سيلغيها mzi (تخطيط) أو ألغاها (تطبيق).';
$string['taskdeliveroutbox'] = 'إرسال أحداث Moodle إلى mzi';
$string['teacher'] = 'المعلم';
$string['term'] = 'الفصل';
$string['timecreated'] = 'أُنشئ في';
$string['timefinished'] = 'انتهى في';
$string['totalfees'] = 'إجمالي الرسوم';
$string['unit'] = 'الوحدة';
$string['updates'] = 'تحديث';
$string['windowenabled'] = 'الفترة مفعّلة';
