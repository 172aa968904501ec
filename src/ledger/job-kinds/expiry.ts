import { sql } from 'kysely';
import type { Trx } from '../../db/committer.js';
import { dialectOf } from '../../db/dialect-of.js';
import { inIds } from '../../db/queries/selection.js';
import type { JobRow } from '../../db/schema.js';
import { JobParamsError } from '../../domain/errors.js';
import { appendLedgerRows, nowSql } from '../append.js';
import { type ExpiryRule, expiredLotsSql, expiringAmountSql, inactiveSql, ruleRow, scheduleExpiryRuns, upcomingExpirySql } from '../expiry.js';
import { appendExpiringEvents } from '../../db/queries/outbox.js';
import { closeLots, lotExpirySql } from '../lots.js';
import { type ChunkResult, type JobKindSpec, NO_PROGRESS } from './types.js';

/** `asOf`: the moment the run expires up to (null: when the job was queued). */
export interface ExpiryParams {
  asOf: number | null;
}

/** First the pending credits due mature (by pending id), then customers' points expire (by customer id). */
type ExpiryState = { phase: 'mature'; after: number } | { phase: 'expire' };

/**
 * An expiry run of one store, resumable and idempotent: a chunk is one transaction holding its
 * customers' locks, so a concurrent deduction either comes first (and the run sees what is left)
 * or waits; what a chunk expired is closed in the lots in the same transaction, so a second run
 * finds nothing to expire twice, and a matured credit's row carries the unique key
 * `pending:<transactionId>`. Not revertible: expired points are gone by the store's rule.
 */
export const expiryKind: JobKindSpec<ExpiryParams> = {
  kind: 'expiry',
  version: 1,
  revertible: false,

  decode(stored) {
    if (stored.v !== 1) throw new JobParamsError('expiry', `version ${String(stored.v)} is not one this release understands`);
    return { asOf: typeof stored.asOf === 'number' ? stored.asOf : null };
  },

  present(p) {
    return { asOf: p.asOf === null ? null : new Date(p.asOf).toISOString() };
  },

  schedule: (trx, now) => scheduleExpiryRuns(trx, now),

  async chunk(trx, job, params, state, size) {
    const asOf = params.asOf ?? job.created_at;
    const s = (state as ExpiryState | null) ?? { phase: 'mature', after: 0 };
    if (s.phase === 'mature') return matureStep(trx, job, asOf, s.after, size);
    return expireStep(trx, job, asOf, size);
  },
};

async function lockCustomers(trx: Trx, customers: ReturnType<typeof sql<boolean>>): Promise<void> {
  // PostgreSQL: the chunk's statements each see the latest committed lots once the customers are locked.
  if (dialectOf(trx) === 'postgres') await sql`SELECT c.id FROM customers c WHERE ${customers} ORDER BY c.id FOR UPDATE`.execute(trx);
}

/** Pending credits due by `asOf` become ledger rows, each once. */
async function matureStep(trx: Trx, job: JobRow, asOf: number, after: number, size: number): Promise<ChunkResult> {
  const due = await sql<{ id: number }>`SELECT id FROM pending_credits
    WHERE store_id = ${job.store_id} AND status = 'pending' AND available_at <= ${asOf} AND id > ${after} ORDER BY id LIMIT ${size}`.execute(trx);
  const ids = due.rows.map((r) => Number(r.id));
  if (ids.length === 0) return { ...NO_PROGRESS, cursor: job.cursor, state: { phase: 'expire' } satisfies ExpiryState, last: false };
  const these = inIds(trx, 'p.id', ids);
  const customers = sql<boolean>`c.store_id = ${job.store_id} AND c.id IN (SELECT p.customer_id FROM pending_credits p WHERE ${these})`;
  await lockCustomers(trx, customers);
  const appended = await appendLedgerRows(trx, {
    storeId: job.store_id,
    customers,
    join: sql`JOIN pending_credits p ON p.customer_id = c.id AND p.status = 'pending' AND ${these} JOIN transactions o ON o.id = p.transaction_id`,
    where: sql`1 = 1`,
    row: {
      store_id: sql`c.store_id`,
      customer_id: sql`c.id`,
      type: 'adjustment',
      points: sql`p.points`,
      tier_points: sql`CASE WHEN p.affects_tier = 1 THEN p.points ELSE 0 END`,
      balance_after: sql`c.balance + sum(p.points) OVER (PARTITION BY c.id ORDER BY p.id ROWS UNBOUNDED PRECEDING)`,
      reason: sql`p.reason`,
      customer_message: sql`p.customer_message`,
      visible_to_customer: sql`p.visible_to_customer`,
      actor_type: sql`o.actor_type`,
      actor_id: sql`o.actor_id`,
      actor_name: sql`o.actor_name`,
      // A customer may have several credits maturing at once: not the job's (job_id, customer_id) row.
      job_id: null,
      reverses_id: null,
      reference: null,
      idempotency_key: sql`'pending:' || CAST(p.transaction_id AS TEXT)`,
      created_at: nowSql(trx),
      job_line: null,
    },
  });
  const settled = sql`(SELECT t.id FROM transactions t WHERE t.store_id = ${job.store_id} AND t.idempotency_key = 'pending:' || CAST(pending_credits.transaction_id AS TEXT))`;
  const mine = inIds(trx, 'pending_credits.id', ids);
  await sql`UPDATE customers SET pending_points = pending_points -
      (SELECT sum(pending_credits.points) FROM pending_credits WHERE ${mine} AND pending_credits.customer_id = customers.id AND pending_credits.status = 'pending')
    WHERE store_id = ${job.store_id} AND id IN (SELECT pending_credits.customer_id FROM pending_credits WHERE ${mine} AND pending_credits.status = 'pending')`.execute(trx);
  await sql`UPDATE pending_credits SET status = 'matured', settled_transaction_id = ${settled} WHERE ${mine} AND status = 'pending'`.execute(trx);
  // A credit given an explicit expiry keeps it once it matured.
  await sql`UPDATE point_lots AS l SET expires_at = p.expires_at FROM pending_credits p
    WHERE ${inIds(trx, 'p.id', ids)} AND p.expires_at IS NOT NULL AND l.transaction_id = p.settled_transaction_id`.execute(trx);
  const next: ExpiryState = { phase: 'mature', after: ids[ids.length - 1] };
  return { ...NO_PROGRESS, cursor: job.cursor, state: next, processed: appended.rows, succeeded: appended.rows, total: appended.rows, points: appended.points, last: false };
}

/** Customers' points past their expiry (or their whole balance, when inactive) expire. */
async function expireStep(trx: Trx, job: JobRow, asOf: number, size: number): Promise<ChunkResult> {
  const store = await trx.selectFrom('stores').select(['expiry_mode', 'expiry_days']).where('id', '=', job.store_id).executeTakeFirstOrThrow();
  const rule: ExpiryRule = { mode: store.expiry_mode as ExpiryRule['mode'], days: store.expiry_days };
  const end = Math.min(job.cursor + size, job.snapshot_max_id);
  const customers = sql<boolean>`c.store_id = ${job.store_id} AND c.id > ${job.cursor} AND c.id <= ${end}`;
  await lockCustomers(trx, customers);
  const amount = expiringAmountSql(rule, asOf);
  const expired = expiredLotsSql(job.store_id, rule, asOf, sql`l.customer_id > ${job.cursor} AND l.customer_id <= ${end}`);
  const appended = await appendLedgerRows(trx, {
    storeId: job.store_id,
    customers,
    join: sql`LEFT JOIN ${expired} e ON e.customer_id = c.id`,
    where: sql`${amount} > 0 AND ${amount} <= c.balance`,
    row: {
      store_id: sql`c.store_id`,
      customer_id: sql`c.id`,
      type: 'expiry',
      points: sql`-(${amount})`,
      // Expired points were earned all the same: lifetime points and tiers stay.
      tier_points: 0,
      balance_after: sql`c.balance - ${amount}`,
      reason: rule.mode === 'inactivity' ? sql`CASE WHEN ${inactiveSql(rule, asOf)} THEN 'Points expired after inactivity' ELSE 'Points expired' END` : 'Points expired',
      customer_message: sql`CAST(${amount} AS TEXT) || ' points expired'`,
      visible_to_customer: 1,
      actor_type: 'system',
      actor_id: null,
      actor_name: 'system',
      job_id: job.id,
      reverses_id: null,
      reference: null,
      idempotency_key: null,
      created_at: nowSql(trx),
      job_line: null,
    },
  });
  if (appended.rows > 0) {
    const gone = sql<boolean>`(${lotExpirySql('l', 's')} <= ${asOf} OR l.customer_id IN (SELECT c.id FROM customers c WHERE ${customers} AND ${inactiveSql(rule, asOf)}))`;
    await closeLots(trx, job.store_id, customers, ruleRow(job.store_id, rule), gone);
  }
  await appendExpiringEvents(trx, job.store_id, upcomingExpirySql(job.store_id, rule, asOf, customers));
  const n = await sql<{ n: number }>`SELECT count(*) AS n FROM customers c WHERE ${customers}`.execute(trx);
  const seen = Number(n.rows[0].n);
  return {
    ...NO_PROGRESS,
    cursor: end,
    state: { phase: 'expire' } satisfies ExpiryState,
    processed: seen,
    succeeded: seen,
    total: seen,
    points: appended.points,
    last: end >= job.snapshot_max_id,
  };
}
