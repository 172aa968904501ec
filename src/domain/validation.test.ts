import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseInstant } from './validation.js';

/** parseInstant as it was before its field checks went allocation-free and it kept its last answer: the reference. */
function reference(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))$/i.exec(value);
  if (!m) throw new Error('invalid');
  const [year, month, day, hour, minute, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v)));
  const [offsetHours, offsetMinutes] = [Number(m[8] ?? 0), Number(m[9] ?? 0)];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) throw new Error('invalid');
  if (offsetHours > 23 || offsetMinutes > 59) throw new Error('invalid');
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error('invalid');
  return ms;
}

const outcome = (f: () => number) => {
  try {
    return f();
  } catch {
    return 'invalid';
  }
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Date-times near and across every limit the parser checks: months 0–13, days 0–32, leap years, hours to 25, offsets. */
const instant = fc
  .record({
    // Years 0–99 are left out: the reference's Date.UTC read them as 1900–1999 (0000-02-29 alone differs).
    year: fc.oneof(fc.integer({ min: 100, max: 9999 }), fc.constantFrom(1900, 2000, 2024, 2100, 2400)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.option(fc.integer({ min: 0, max: 61 })),
    fraction: fc.option(fc.stringMatching(/^\d{1,10}$/)),
    zone: fc.oneof(
      fc.constantFrom('Z', 'z', ''),
      fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 25 }), fc.constantFrom(':', ''), fc.integer({ min: 0, max: 61 })).map(
        ([sign, h, colon, m]) => `${sign}${pad(h, 2)}${colon}${pad(m, 2)}`,
      ),
    ),
    t: fc.constantFrom('T', 't', ' '),
  })
  .map(({ year, month, day, hour, minute, second, fraction, zone, t }) => {
    const seconds = second === null ? '' : `:${pad(second, 2)}${fraction === null ? '' : `.${fraction}`}`;
    return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${t}${pad(hour, 2)}:${pad(minute, 2)}${seconds}${zone}`;
  });

describe('parseInstant', () => {
  it('accepts and refuses exactly what the reference does, with the same value, whatever came before it', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(instant, fc.string()), { minLength: 1, maxLength: 4 }), (values) => {
        // A sequence, repeats included: the kept last answer must never leak into another value's.
        for (const v of [...values, ...values]) expect(outcome(() => parseInstant(v, 'at'))).toEqual(outcome(() => reference(v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('knows the last day of every month, leap years and century years included', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 100, max: 9999 }), fc.constantFrom(1600, 1700, 1900, 2000, 2023, 2024, 2100, 2400)),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 27, max: 32 }),
        (year, month, day) => {
          const v = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T08:30:00Z`;
          expect(outcome(() => parseInstant(v, 'at'))).toEqual(outcome(() => reference(v)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('answers a repeated text as the first time, and still checks the next one', () => {
    expect(() => parseInstant('', 'at')).toThrow(/ISO 8601/);
    expect(parseInstant('2025-03-01T12:00:00+01:00', 'at')).toBe(Date.UTC(2025, 2, 1, 11));
    expect(parseInstant('2025-03-01T12:00:00+01:00', 'at')).toBe(Date.UTC(2025, 2, 1, 11));
    expect(() => parseInstant('2025-02-29T12:00:00Z', 'at')).toThrow(/ISO 8601/);
    expect(parseInstant('2024-02-29T12:00:00Z', 'at')).toBe(Date.UTC(2024, 1, 29, 12));
  });
});
