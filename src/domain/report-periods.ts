import { ValidationError } from './errors.js';
import type { Actor } from './types.js';

export type ReportInterval = 'day' | 'week' | 'month';

export const REPORT_INTERVALS: readonly ReportInterval[] = ['day', 'week', 'month'];

/** A report covers at most this many periods (a day report of about three years). */
export const MAX_REPORT_PERIODS = 1000;

export const DAY_MS = 86_400_000;

/** Points that a period's rows added (`credited`, ≥ 0) and took away (`debited`, ≤ 0). */
export interface PointsFlow {
  credited: number;
  debited: number;
}

export interface ActorFlow extends PointsFlow {
  actor: Actor;
}

/** One period of the points report; `closingBalance = openingBalance + Σ credited + Σ debited`. */
export interface ReportPeriod {
  periodStart: string;
  periodEnd: string;
  openingBalance: number;
  closingBalance: number;
  byType: Record<string, PointsFlow>;
  byActor: ActorFlow[];
  /** closingBalance × the store's point value; null when no point value is set. */
  liability: number | null;
}

export interface PointsReport {
  data: ReportPeriod[];
  pointValue: number | null;
}

/** Epoch-ms bounds of one period, half-open: [start, end). */
export interface PeriodBounds {
  start: number;
  end: number;
}

/** `from` plus n calendar months (UTC), the day clamped to the month's last (Jan 31 + 1 → Feb 28). */
function addMonths(from: number, n: number): number {
  const d = new Date(from);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(
    target.getUTCFullYear(),
    target.getUTCMonth(),
    Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
    d.getUTCMilliseconds(),
  );
}

/**
 * The consecutive periods of a report from `from` (inclusive) to `to` (exclusive): days of 24 h,
 * weeks of 7 days, or calendar months counted in UTC from `from`'s day and time, the last one cut
 * at `to`. Every boundary is a whole number of days after `from` (months too: adding a UTC month
 * keeps the time of day), which lets the ledger be grouped by day once and folded into periods.
 * A caller wanting local calendar days passes its local midnight as `from`.
 *
 * @example reportPeriods(Date.UTC(2026, 0, 31), Date.UTC(2026, 2, 15), 'month')
 *   // [{start: Jan 31, end: Feb 28}, {start: Feb 28, end: Mar 15}]
 * It can throw: ValidationError (`to` not after `from`, more than MAX_REPORT_PERIODS periods).
 */
export function reportPeriods(from: number, to: number, interval: ReportInterval): PeriodBounds[] {
  if (to <= from) throw new ValidationError('to must be after from', 'to');
  const next = (i: number) => (interval === 'month' ? addMonths(from, i) : from + i * (interval === 'week' ? 7 : 1) * DAY_MS);
  const periods: PeriodBounds[] = [];
  for (let i = 0; next(i) < to; i++) {
    if (periods.length === MAX_REPORT_PERIODS) {
      throw new ValidationError(`A report covers at most ${MAX_REPORT_PERIODS} periods; choose a longer interval or a shorter range`, 'interval');
    }
    periods.push({ start: next(i), end: Math.min(next(i + 1), to) });
  }
  return periods;
}

/** The store setting `pointValue` as a number ≥ 0, or null when unset or not a number. */
export function pointValueOf(settings: unknown): number | null {
  if (typeof settings !== 'object' || settings === null) return null;
  const v = (settings as { pointValue?: unknown }).pointValue;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}
