import { describe, expect, it } from 'vitest';
import { DAY_MS, MAX_REPORT_PERIODS, pointValueOf, reportPeriods } from './report-periods.js';

const at = (iso: string) => Date.parse(iso);
const asIso = (ps: { start: number; end: number }[]) => ps.map((p) => [new Date(p.start).toISOString(), new Date(p.end).toISOString()]);

describe('report periods', () => {
  it('cuts days of 24 h from `from`, the last one at `to`', () => {
    expect(asIso(reportPeriods(at('2026-03-01T23:00:00Z'), at('2026-03-03T12:00:00Z'), 'day'))).toEqual([
      ['2026-03-01T23:00:00.000Z', '2026-03-02T23:00:00.000Z'],
      ['2026-03-02T23:00:00.000Z', '2026-03-03T12:00:00.000Z'],
    ]);
  });

  it('keeps the time of day across months and clamps the day to the month (Jan 31 → Feb 28 → Mar 31)', () => {
    const ps = reportPeriods(at('2026-01-31T23:00:00Z'), at('2026-05-01T00:00:00Z'), 'month');
    expect(asIso(ps).map(([s]) => s)).toEqual(['2026-01-31T23:00:00.000Z', '2026-02-28T23:00:00.000Z', '2026-03-31T23:00:00.000Z', '2026-04-30T23:00:00.000Z']);
    // Every boundary is a whole number of days after `from` (the service groups by day).
    for (const p of ps) expect((p.start - ps[0].start) % DAY_MS).toBe(0);
  });

  it('refuses an empty range and more than the most periods', () => {
    expect(() => reportPeriods(10, 10, 'day')).toThrow(/after/);
    expect(() => reportPeriods(0, (MAX_REPORT_PERIODS + 1) * DAY_MS, 'day')).toThrow(/at most/);
    expect(reportPeriods(0, MAX_REPORT_PERIODS * DAY_MS, 'day')).toHaveLength(MAX_REPORT_PERIODS);
  });

  it('reads the point value defensively: a number ≥ 0, else null', () => {
    expect(pointValueOf({ pointValue: 0.01 })).toBe(0.01);
    expect(pointValueOf({ pointValue: 0 })).toBe(0);
    for (const s of [{}, { pointValue: '0.01' }, { pointValue: -1 }, null, 'x']) expect(pointValueOf(s)).toBeNull();
  });
});
