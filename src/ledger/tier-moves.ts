import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { appendTierChangedEvents } from '../db/queries/outbox.js';
import { newCouponCode } from '../domain/coupon-code.js';
import { tierForSql } from '../domain/tiers-sql.js';
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
  const target = cause.manual ? sql<number | null>`CAST(${cause.manual.tierId} AS bigint)` : tierForSql(storeId, sql`c.lifetime_points`);
  if (!cause.manual) {
    const any = await sql`SELECT 1 AS one FROM tiers WHERE store_id = ${storeId} LIMIT 1`.execute(trx);
    if (any.rows.length === 0) return 0;
  }
  const mark = await maxId(trx);
  const moved = await sql`
    INSERT INTO tier_history (store_id, customer_id, from_tier_id, to_tier_id, manual, reason, actor_type, actor_id, actor_name, job_id, created_at)
    SELECT x.store_id, x.id, x.tier_id, x.target, ${cause.manual ? 1 : 0}, ${cause.manual?.reason ?? cause.reason ?? null},
           ${cause.actor.type}, CAST(${cause.actor.id} AS bigint), ${cause.actor.name}, CAST(${cause.jobId} AS bigint), ${nowSql(trx)}
    FROM (SELECT c.store_id, c.id, c.tier_id, ${target} AS target FROM customers c
          WHERE ${customers} ${cause.manual ? sql`` : sql`AND c.tier_manual = 0`}) x
    WHERE x.target ${isDistinct} x.tier_id`.execute(trx);
  const n = Number(moved.numAffectedRows ?? 0);
  if (n === 0) return 0;
  // The moves just recorded, of these customers only (their locks keep other writers' moves out).
  const moves = sql`h.store_id = ${storeId} AND h.id > ${mark} AND h.customer_id IN (SELECT c.id FROM customers c WHERE ${customers})`;
  await sql`UPDATE customers AS u SET tier_id = h.to_tier_id, tier_changed_at = h.created_at
    FROM tier_history h WHERE ${moves} AND u.id = h.customer_id`.execute(trx);
  await sql`INSERT INTO tier_entries (store_id, customer_id, tier_id, reward_pending, created_at)
    SELECT h.store_id, h.customer_id, h.to_tier_id,
           CASE WHEN coalesce(t.entry_reward_points, 0) > 0 OR t.entry_reward_id IS NOT NULL THEN 1 ELSE 0 END, h.created_at
    FROM tier_history h JOIN tiers t ON t.id = h.to_tier_id WHERE ${moves}
    ON CONFLICT DO NOTHING`.execute(trx);
  await grantEntryRewards(trx, storeId, customers);
  await appendTierChangedEvents(trx, storeId, mark, customers);
  return n;
}

/** Entry rewards of tiers just entered for the first time: bonus points and coupons, once each. */
async function grantEntryRewards(trx: Trx, storeId: number, customers: RawBuilder<boolean>): Promise<void> {
  const pending = sql`tier_entries e JOIN tiers t ON t.id = e.tier_id
    WHERE e.store_id = ${storeId} AND e.reward_pending = 1 AND e.customer_id IN (SELECT c.id FROM customers c WHERE ${customers})`;
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM ${pending}`.execute(trx);
  if (Number(rows[0].n) === 0) return;
  await appendLedgerRows(trx, {
    storeId,
    customers: sql`${customers} AND c.id IN (SELECT e.customer_id FROM tier_entries e WHERE e.store_id = ${storeId} AND e.reward_pending = 1)`,
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
    },
  });
  const coupons = await sql<{ customer_id: number; reward_id: number }>`
    SELECT e.customer_id, t.entry_reward_id AS reward_id FROM ${pending} AND t.entry_reward_id IS NOT NULL`.execute(trx);
  const now = Date.now();
  for (let i = 0; i < coupons.rows.length; i += 2000) {
    await trx
      .insertInto('coupons')
      .values(coupons.rows.slice(i, i + 2000).map((r) => ({
        store_id: storeId,
        customer_id: Number(r.customer_id),
        reward_id: Number(r.reward_id),
        code: newCouponCode(),
        source: 'tier_entry',
        transaction_id: null,
        created_at: now,
      })))
      .execute();
  }
  await sql`UPDATE tier_entries SET reward_pending = 0
    WHERE store_id = ${storeId} AND reward_pending = 1 AND customer_id IN (SELECT c.id FROM customers c WHERE ${customers})`.execute(trx);
}

async function maxId(trx: Trx): Promise<number> {
  const { rows } = await sql<{ id: number }>`SELECT coalesce(max(id), 0) AS id FROM tier_history`.execute(trx);
  return Number(rows[0].id);
}
