import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { appendTierChangedEvents } from '../db/queries/outbox.js';
import { inIds } from '../db/queries/selection.js';
import { newCouponCode } from '../domain/coupon-code.js';
import { tierForCaseSql } from '../domain/tiers-sql.js';
import type { Actor } from '../domain/types.js';
import { appendLedgerRows, nowSql } from './append.js';

/**
 * Tier moves, set-based: which tier each customer is in follows their lifetime points (unless a
 * tier was assigned by hand); every move is recorded in tier_history with who caused it; entering
 * a tier for the first time ever grants its entry reward (bonus points as a `tier_reward` row,
 * or a coupon), leaving one takes nothing back. Run by the write path after every change of
 * lifetime points, by manual assignment and by the re-evaluation job — in the caller's transaction.
 */

/** What caused a move, for tier_history. */
export interface TierCause {
  actor: Actor;
  jobId: number | null;
  /** A manual assignment: its reason and the tier assigned. */
  manual?: { reason: string; tierId: number | null };
  /** Why an automatic move happened, when there is more to say than "points" (e.g. a manual tier cleared). */
  reason?: string;
  /** false: first entries are recorded (so none grants later) but rewarded with nothing (an imported history). */
  grantRewards?: boolean;
}

/**
 * Moves customers `c` (a condition on the customers table under alias c, already locked by the
 * caller's transaction) into the tier their lifetime points qualify for, or — for a manual
 * assignment — into the given tier. Returns how many moved.
 *
 * Needs: a transaction holding the customers' locks.
 */
export async function moveTiers(trx: Trx, storeId: number, customers: RawBuilder<boolean>, cause: TierCause): Promise<number> {
  const isDistinct = dialectOf(trx) === 'postgres' ? sql.raw('IS DISTINCT FROM') : sql.raw('IS NOT');
  let target: RawBuilder<number | null>;
  if (cause.manual) target = sql<number | null>`CAST(${cause.manual.tierId} AS bigint)`;
  else {
    const tiers = await sql<{ id: number; threshold: number; retired_at: number | null }>`
      SELECT id, threshold, retired_at FROM tiers WHERE store_id = ${storeId}`.execute(trx);
    if (tiers.rows.length === 0) return 0;
    const active = tiers.rows.filter((t) => t.retired_at === null).map((t) => ({ id: Number(t.id), threshold: Number(t.threshold) }));
    target = tierForCaseSql(active, sql`c.lifetime_points`);
  }
  const moved = await sql<{ id: number; customer_id: number }>`
    INSERT INTO tier_history (store_id, customer_id, from_tier_id, to_tier_id, manual, reason, actor_type, actor_id, actor_name, job_id, created_at)
    SELECT x.store_id, x.id, x.tier_id, x.target, ${cause.manual ? 1 : 0}, ${cause.manual?.reason ?? cause.reason ?? null},
           ${cause.actor.type}, CAST(${cause.actor.id} AS bigint), ${cause.actor.name}, CAST(${cause.jobId} AS bigint), ${nowSql(trx)}
    FROM (SELECT c.store_id, c.id, c.tier_id, ${target} AS target FROM customers c
          WHERE ${customers} ${cause.manual ? sql`` : sql`AND c.tier_manual = 0`}) x
    WHERE x.target ${isDistinct} x.tier_id
    RETURNING id, customer_id`.execute(trx);
  if (moved.rows.length === 0) return 0;
  // From here on the moves are named by id: lookups by key, whatever the tables' statistics say.
  const historyIds = moved.rows.map((r) => Number(r.id));
  const movers = moved.rows.map((r) => Number(r.customer_id));
  const moves = inIds(trx, 'h.id', historyIds);
  await sql`WITH h AS MATERIALIZED (SELECT h.customer_id, h.to_tier_id, h.created_at FROM tier_history h WHERE ${moves})
    UPDATE customers AS u SET tier_id = h.to_tier_id, tier_changed_at = h.created_at FROM h WHERE u.id = h.customer_id`.execute(trx);
  await sql`INSERT INTO tier_entries (store_id, customer_id, tier_id, reward_pending, created_at)
    SELECT h.store_id, h.customer_id, h.to_tier_id,
           CASE WHEN ${cause.grantRewards === false ? sql`1 = 0` : sql`1 = 1`} AND (coalesce(t.entry_reward_points, 0) > 0 OR t.entry_reward_id IS NOT NULL)
                THEN 1 ELSE 0 END, h.created_at
    FROM tier_history h JOIN tiers t ON t.id = h.to_tier_id WHERE ${moves}
    ON CONFLICT DO NOTHING`.execute(trx);
  await grantEntryRewards(trx, storeId, movers);
  await appendTierChangedEvents(trx, storeId, historyIds);
  return moved.rows.length;
}

/** Entry rewards of tiers just entered for the first time by `movers`: bonus points and coupons, once each. */
async function grantEntryRewards(trx: Trx, storeId: number, movers: number[]): Promise<void> {
  const pending = sql`tier_entries e JOIN tiers t ON t.id = e.tier_id
    WHERE e.store_id = ${storeId} AND e.reward_pending = 1 AND ${inIds(trx, 'e.customer_id', movers)}`;
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM ${pending}`.execute(trx);
  if (Number(rows[0].n) === 0) return;
  await appendLedgerRows(trx, {
    storeId,
    customers: sql`c.store_id = ${storeId} AND ${inIds(trx, 'c.id', movers)}`,
    join: sql`JOIN tier_entries e ON e.store_id = c.store_id AND e.customer_id = c.id AND e.reward_pending = 1 JOIN tiers t ON t.id = e.tier_id`,
    where: sql`t.entry_reward_points > 0`,
    row: {
      store_id: sql`c.store_id`,
      customer_id: sql`c.id`,
      type: 'tier_reward',
      points: sql`t.entry_reward_points`,
      // Bonus points do not count towards tiers: a reward never lifts a customer into the next one.
      tier_points: 0,
      balance_after: sql`c.balance + t.entry_reward_points`,
      reason: sql`'Entry reward of tier ' || t.name`,
      customer_message: sql`'Welcome to ' || t.name || '!'`,
      visible_to_customer: 1,
      actor_type: 'system',
      actor_id: null,
      actor_name: 'system',
      // Not the job's row: a revert of the job never takes an entry reward back.
      job_id: null,
      reverses_id: null,
      reference: null,
      idempotency_key: null,
      created_at: nowSql(trx),
      job_line: null,
    },
  });
  const coupons = await sql<{ customer_id: number; reward_id: number }>`
    SELECT e.customer_id, t.entry_reward_id AS reward_id FROM ${pending} AND t.entry_reward_id IS NOT NULL`.execute(trx);
  await insertEntryCoupons(trx, storeId, coupons.rows.map((r) => ({ customer_id: Number(r.customer_id), reward_id: Number(r.reward_id) })));
  await sql`UPDATE tier_entries SET reward_pending = 0
    WHERE store_id = ${storeId} AND reward_pending = 1 AND ${inIds(trx, 'customer_id', movers)}`.execute(trx);
}

/**
 * Entry-reward coupons, 2,000 to a statement. A code the store already has is skipped by
 * ON CONFLICT (a unique violation would abort the transaction on PostgreSQL) and redrawn.
 */
async function insertEntryCoupons(trx: Trx, storeId: number, wanted: { customer_id: number; reward_id: number }[]): Promise<void> {
  let left = wanted;
  for (let attempt = 0; attempt < 5 && left.length > 0; attempt++) {
    const done = new Set<number>();
    for (let i = 0; i < left.length; i += 2000) {
      const rows = await trx
        .insertInto('coupons')
        .values(left.slice(i, i + 2000).map((r) => ({ store_id: storeId, ...r, code: newCouponCode(), source: 'tier_entry', transaction_id: null, created_at: Date.now() })))
        .onConflict((oc) => oc.columns(['store_id', 'code']).doNothing())
        .returning('customer_id')
        .execute();
      for (const r of rows) done.add(Number(r.customer_id));
    }
    left = left.filter((r) => !done.has(r.customer_id));
  }
  if (left.length > 0) throw new Error('no free coupon codes after 5 draws');
}
