/**
 * The dates a credit may carry, and their rule — one place for a single adjustment (adjust.ts)
 * and an import row (import/rows.ts):
 *  - `availableAt`: in the future, the credit is pending until then (see src/ledger/pending.ts);
 *    at or before now it is just applied;
 *  - `expiresAt`: its points expire then, whatever the store's rule; after max(now, availableAt);
 *  - both apply to credits only (points > 0).
 */
export interface CreditDates {
  availableAt: number | null;
  expiresAt: number | null;
}

export type CreditDateField = keyof CreditDates;

/** Why a credit's dates are refused: the field and a message naming it as `names` spells it. */
export interface CreditDateProblem {
  field: CreditDateField;
  message: string;
}

/**
 * The first problem with a change's dates at `now`, or null when they are fine.
 *
 * @example creditDateProblem(-5, { availableAt: null, expiresAt: Date.now() + 1000 }, Date.now())
 *          // → { field: 'expiresAt', message: 'expiresAt applies to credits only (points > 0)' }
 */
export function creditDateProblem(points: number, dates: CreditDates, now: number, names: Record<CreditDateField, string> = FIELD_NAMES): CreditDateProblem | null {
  const given: CreditDateField | null = dates.expiresAt !== null ? 'expiresAt' : dates.availableAt !== null ? 'availableAt' : null;
  if (given !== null && points <= 0) return { field: given, message: `${names[given]} applies to credits only (points > 0)` };
  if (dates.expiresAt !== null && dates.expiresAt <= Math.max(now, dates.availableAt ?? 0)) {
    return { field: 'expiresAt', message: `${names.expiresAt} must be in the future (and after ${names.availableAt})` };
  }
  return null;
}

/** Whether a credit with these dates is pending at `now` (not yet spendable). */
export function isPending(dates: Pick<CreditDates, 'availableAt'>, now: number): boolean {
  return dates.availableAt !== null && dates.availableAt > now;
}

const FIELD_NAMES: Record<CreditDateField, string> = { availableAt: 'availableAt', expiresAt: 'expiresAt' };
