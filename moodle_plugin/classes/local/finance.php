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
 * A registration's money as a student sees it: installment states and paid/remaining totals.
 *
 * Pure (no database, no clock): amounts are decimal strings as the mirror stores them and are
 * added in cents, so 0.1 + 0.2 is 0.30. An installment is paid when Zoho says so (status Paid)
 * or a paid date is recorded; otherwise overdue once its due date has passed, else due.
 *
 * @package    local_mzi
 * @copyright  2026 ABC Horizon
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class finance {

    /** @var string Paid. */
    const PAID = 'paid';

    /** @var string Not paid and the due date has passed. */
    const OVERDUE = 'overdue';

    /** @var string Not paid, due today or later (or no due date). */
    const DUE = 'due';

    /**
     * The state of one installment on a day.
     *
     * @param object|array $installment row with status, due_date, paid_date
     * @param string $today YYYY-MM-DD
     * @return string paid, overdue or due
     */
    public static function installment_state($installment, string $today): string {
        $installment = (object)$installment;
        if (strcasecmp(trim((string)($installment->status ?? '')), 'Paid') === 0
                || trim((string)($installment->paid_date ?? '')) !== '') {
            return self::PAID;
        }
        $due = trim((string)($installment->due_date ?? ''));
        return $due !== '' && $due < $today ? self::OVERDUE : self::DUE;
    }

    /**
     * A decimal string in cents (half-up at the third decimal); '' and null are 0.
     *
     * @param mixed $amount decimal text such as "1250.5"
     * @return int
     */
    public static function cents($amount): int {
        $amount = trim((string)$amount);
        if ($amount === '') {
            return 0;
        }
        if (!preg_match('/^(-?)(\d*)(?:\.(\d*))?$/', $amount, $m)) {
            throw new \coding_exception("finance::cents: '{$amount}' is not a decimal amount");
        }
        $fraction = str_pad($m[3] ?? '', 3, '0');
        $cents = (int)$m[2] * 100 + (int)substr($fraction, 0, 2) + ((int)$fraction[2] >= 5 ? 1 : 0);
        return $m[1] === '-' ? -$cents : $cents;
    }

    /**
     * Cents as a decimal string with two places.
     *
     * @param int $cents amount in cents
     * @return string
     */
    public static function format(int $cents): string {
        $sign = $cents < 0 ? '-' : '';
        $cents = abs($cents);
        return $sign . intdiv($cents, 100) . '.' . str_pad((string)($cents % 100), 2, '0', STR_PAD_LEFT);
    }

    /**
     * Totals of one registration: fees, paid (its payments, voided ones excluded) and remaining.
     *
     * Remaining is Zoho's Remaining_Amount when it has one (the office's figure, which knows
     * discounts and refunds); otherwise fees minus paid, never below zero.
     *
     * @param object|array $registration row with total_fees, remaining_amount
     * @param array $payments rows with payment_amount and payment_status
     * @return array{total: string, paid: string, remaining: string, paidpercent: int}
     */
    public static function totals($registration, array $payments): array {
        $registration = (object)$registration;
        $total = self::cents($registration->total_fees ?? '');
        $paid = 0;
        foreach ($payments as $payment) {
            $payment = (object)$payment;
            if (strcasecmp(trim((string)($payment->payment_status ?? '')), 'Voided') !== 0) {
                $paid += self::cents($payment->payment_amount ?? '');
            }
        }
        $remaining = trim((string)($registration->remaining_amount ?? '')) !== ''
            ? self::cents($registration->remaining_amount) : max(0, $total - $paid);
        $percent = $total > 0 ? (int)min(100, max(0, round(100 * ($total - $remaining) / $total))) : 0;
        return ['total' => self::format($total), 'paid' => self::format($paid), 'remaining' => self::format($remaining),
            'paidpercent' => $percent];
    }
}
