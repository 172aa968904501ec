import { describe, expect, it } from 'vitest';
import { creditDateProblem, isPending } from './credit-dates.js';

const NOW = Date.UTC(2026, 11, 2, 8);
const HOUR = 3_600_000;

describe('creditDateProblem', () => {
  it('accepts a credit with no dates, a future availableAt, and an expiresAt after both now and availableAt', () => {
    expect(creditDateProblem(10, { availableAt: null, expiresAt: null }, NOW)).toBeNull();
    expect(creditDateProblem(10, { availableAt: NOW + HOUR, expiresAt: NOW + 2 * HOUR }, NOW)).toBeNull();
    expect(creditDateProblem(10, { availableAt: NOW - HOUR, expiresAt: NOW + 1 }, NOW)).toBeNull();
  });
  it('refuses either date on a deduction or a zero-point row, naming the field as the caller spells it', () => {
    expect(creditDateProblem(-10, { availableAt: NOW + HOUR, expiresAt: null }, NOW)).toMatchObject({ field: 'availableAt' });
    expect(creditDateProblem(0, { availableAt: null, expiresAt: NOW + HOUR }, NOW, { availableAt: 'Available From', expiresAt: 'Expiry Date' })).toEqual({
      field: 'expiresAt',
      message: 'Expiry Date applies to credits only (points > 0)',
    });
  });
  it('refuses an expiresAt at or before now, or at or before availableAt', () => {
    expect(creditDateProblem(10, { availableAt: null, expiresAt: NOW }, NOW)).toMatchObject({ field: 'expiresAt' });
    expect(creditDateProblem(10, { availableAt: NOW + 2 * HOUR, expiresAt: NOW + HOUR }, NOW)).toMatchObject({ field: 'expiresAt' });
    expect(creditDateProblem(10, { availableAt: NOW + HOUR, expiresAt: NOW + HOUR }, NOW)).toMatchObject({ field: 'expiresAt' });
  });
});

describe('isPending', () => {
  it('is pending only while availableAt is still to come', () => {
    expect(isPending({ availableAt: null }, NOW)).toBe(false);
    expect(isPending({ availableAt: NOW }, NOW)).toBe(false);
    expect(isPending({ availableAt: NOW + 1 }, NOW)).toBe(true);
  });
});
