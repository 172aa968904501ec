import { BalanceChangedError, InsufficientPointsError } from './errors.js';

/** The cached totals of a customer, as read under a write lock. */
export interface Totals {
  customerId: number;
  balance: number;
  lifetimePoints: number;
}

/** What one ledger row does to a customer's totals. */
export interface Effect {
  points: number;
  tierPoints: number;
  balanceAfter: number;
  lifetimeAfter: number;
}

/**
 * Plans a change of `points` to a customer's balance.
 * The tier-qualifying (lifetime) total moves by the same amount when `affectsTier`,
 * but never below zero: a deduction of points that were never tier-qualifying
 * (e.g. given with affectsTier=false) takes lifetime points down to 0 at most.
 *
 * It can throw: InsufficientPointsError, BalanceChangedError.
 */
export function planChange(
  totals: Totals,
  points: number,
  opts: { affectsTier: boolean; expectedBalance?: number },
): Effect {
  if (opts.expectedBalance !== undefined && opts.expectedBalance !== totals.balance) {
    throw new BalanceChangedError(totals.customerId, opts.expectedBalance, totals.balance);
  }
  const balanceAfter = totals.balance + points;
  if (balanceAfter < 0) throw new InsufficientPointsError(totals.customerId, totals.balance, -points);
  const tierPoints = opts.affectsTier ? Math.max(points, -totals.lifetimePoints) : 0;
  return { points, tierPoints, balanceAfter, lifetimeAfter: totals.lifetimePoints + tierPoints };
}

/** A reset takes the whole balance; lifetime points are kept. */
export function planReset(totals: Totals): Effect {
  return { points: -totals.balance, tierPoints: 0, balanceAfter: 0, lifetimeAfter: totals.lifetimePoints };
}

/**
 * A reversal undoes a row's effect on both totals. Lifetime is clamped at zero like any
 * deduction. It can throw: InsufficientPointsError (the points were spent since).
 */
export function planReversal(totals: Totals, original: { points: number; tierPoints: number }): Effect {
  const points = -original.points;
  const balanceAfter = totals.balance + points;
  if (balanceAfter < 0) throw new InsufficientPointsError(totals.customerId, totals.balance, -points);
  const tierPoints = Math.max(-original.tierPoints, -totals.lifetimePoints);
  return { points, tierPoints, balanceAfter, lifetimeAfter: totals.lifetimePoints + tierPoints };
}
