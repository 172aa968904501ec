import { type RawBuilder, sql } from 'kysely';

/**
 * The SQL twins of the rules in balance.ts, for set-based job chunks: each gives, for a customer
 * row `c` (and for a reversal its original ledger row `o`), the same numbers its TypeScript twin
 * plans for one customer. test/write-path-twins.test.ts pins each pair together on both databases.
 * `greatest` is the dialect's two-argument maximum (PostgreSQL `greatest`, SQLite `max`).
 */
export interface EffectSql {
  points: RawBuilder<number>;
  tierPoints: RawBuilder<number>;
  balanceAfter: RawBuilder<number>;
  /** Whether the rule lets the row be written (false: the customer is skipped and reported). */
  applies: RawBuilder<boolean>;
}

export type Greatest = 'greatest' | 'max';

/** Twin of planChange(c, points, { affectsTier }) for the same points on every customer. */
export function planChangeSql(greatest: Greatest, points: number, affectsTier: boolean): EffectSql {
  const max = sql.raw(greatest);
  return {
    points: sql<number>`${points}`,
    tierPoints: !affectsTier ? sql<number>`0` : points >= 0 ? sql<number>`${points}` : sql<number>`${max}(${points}, -c.lifetime_points)`,
    balanceAfter: sql<number>`c.balance + ${points}`,
    applies: sql<boolean>`c.balance + ${points} >= 0`,
  };
}

/**
 * Twin of planReset(c). A customer already at zero needs no row (the balance is what was asked),
 * so `applies` is false for them; the caller counts them as done, not as skipped.
 */
export function planResetSql(): EffectSql {
  return {
    points: sql<number>`-c.balance`,
    tierPoints: sql<number>`0`,
    balanceAfter: sql<number>`0`,
    applies: sql<boolean>`c.balance > 0`,
  };
}

/** Twin of planReversal(c, o): undoes the original row `o`, lifetime clamped at zero. */
export function planReversalSql(greatest: Greatest): EffectSql {
  const max = sql.raw(greatest);
  return {
    points: sql<number>`-o.points`,
    tierPoints: sql<number>`${max}(-o.tier_points, -c.lifetime_points)`,
    balanceAfter: sql<number>`c.balance - o.points`,
    applies: sql<boolean>`c.balance - o.points >= 0`,
  };
}
