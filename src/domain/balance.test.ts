import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planChange, planReversal } from './balance.js';
import { BalanceChangedError, InsufficientPointsError } from './errors.js';

const totals = (balance: number, lifetimePoints = balance) => ({ customerId: 1, balance, lifetimePoints });

describe('planChange', () => {
  it('rejects a deduction that would make the balance negative', () => {
    expect(() => planChange(totals(5), -6, { affectsTier: true })).toThrow(InsufficientPointsError);
  });
  it('rejects a change when the balance is not the expected one', () => {
    expect(() => planChange(totals(5), 1, { affectsTier: true, expectedBalance: 4 })).toThrow(BalanceChangedError);
  });
  it('leaves lifetime points alone when the change does not affect the tier', () => {
    expect(planChange(totals(10, 50), -10, { affectsTier: false })).toMatchObject({ tierPoints: 0, lifetimeAfter: 50 });
  });
  it('never plans a negative balance or lifetime, whatever the inputs', () => {
    fc.assert(
      fc.property(fc.nat(1e6), fc.nat(1e6), fc.integer({ min: -1e6, max: 1e6 }), fc.boolean(), (b, l, p, t) => {
        try {
          const e = planChange(totals(b, l), p, { affectsTier: t });
          expect(e.balanceAfter).toBe(b + p);
          expect(e.balanceAfter).toBeGreaterThanOrEqual(0);
          expect(e.lifetimeAfter).toBeGreaterThanOrEqual(0);
          expect(e.lifetimeAfter).toBe(l + e.tierPoints);
        } catch (err) {
          expect(err).toBeInstanceOf(InsufficientPointsError);
          expect(b + p).toBeLessThan(0);
        }
      }),
    );
  });
});

describe('planReversal', () => {
  it('undoes both totals of the original row', () => {
    expect(planReversal(totals(100, 100), { points: 40, tierPoints: 40 })).toMatchObject({
      points: -40,
      tierPoints: -40,
      balanceAfter: 60,
    });
  });
  it('refuses to reverse points that were spent since', () => {
    expect(() => planReversal(totals(10, 100), { points: 40, tierPoints: 40 })).toThrow(InsufficientPointsError);
  });
});
