import type { Trx } from '../db/committer.js';
import { type Kysely, sql } from 'kysely';
import type { BulkPlan } from '../domain/jobs.js';
import { nextChunk } from '../db/queries/selection.js';
import { dialectOf } from '../db/dialect-of.js';
import type { DB, JobRow } from '../db/schema.js';
import { tierDeltaSql } from '../ledger/bulk.js';

export interface ChunkResult {
  cursor: number;
  processed: number;
  succeeded: number;
  skipped: number;
  points: number;
  last: boolean;
}

/**
 * Applies one chunk of a bulk adjustment, set-based, with one condition for the chunk's
 * customers shared by every statement: one INSERT … SELECT reports the customers the change
 * would drive negative, one INSERT … SELECT writes the ledger rows of the others, one UPDATE
 * moves their cached totals. No statement per customer.
 *
 * Needs: the chunk's transaction, in which the job row is locked (see lockJob).
 */
export async function runBulkChunk(trx: Trx, job: JobRow, plan: BulkPlan, size: number): Promise<ChunkResult> {
  if (plan.type === 'adjust' && plan.points > 0 && dialectOf(trx) === 'postgres') return creditChunkPostgres(trx, job, plan, size);
  const chunk = await nextChunk(trx, job.id, job.store_id, plan.selection, job.snapshot_max_id, job.cursor, size);
  const result: ChunkResult = { cursor: chunk.end, processed: 0, succeeded: 0, skipped: 0, points: 0, last: chunk.last };
  const now = Date.now();
  const reset = plan.type === 'reset';
  const d = plan.points;

  if (!reset && d < 0) {
    const rejected = await sql`
      INSERT INTO job_errors (job_id, store_id, customer_id, code, message, created_at)
      SELECT ${job.id}, c.store_id, c.id, 'insufficient_points',
             'balance ' || c.balance || ' is less than ' || ${String(-d)}, ${now}
      FROM customers c WHERE ${chunk.where} AND c.balance + ${d} < 0`.execute(trx);
    result.skipped = Number(rejected.numAffectedRows ?? 0);
  }

  const tier = tierDeltaSql(trx, plan);
  const applies = reset ? sql`c.balance > 0` : sql`c.balance + ${d} >= 0`;
  const inserted = await sql`
    INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason,
                              customer_message, visible_to_customer, actor_type, actor_id, actor_name, job_id, created_at)
    SELECT c.store_id, c.id, ${reset ? 'reset' : 'adjustment'}, ${reset ? sql`-c.balance` : d}, ${tier},
           ${reset ? sql`0` : sql`c.balance + ${d}`}, ${plan.reason}, ${plan.customerMessage}, 1,
           ${job.actor_type}, ${job.actor_id}, ${job.actor_name}, ${job.id}, ${now}
    FROM customers c WHERE ${chunk.where} AND ${applies}`.execute(trx);
  const written = Number(inserted.numAffectedRows ?? 0);

  result.succeeded = written;
  if (reset) {
    result.points = await sumJobPoints(trx, job.id, chunk.from, chunk.to);
    // Customers already at zero need no row: their balance is what was asked.
    const zero = await sql<{ n: number }>`SELECT count(*) AS n FROM customers c WHERE ${chunk.where} AND c.balance = 0`.execute(trx);
    result.succeeded += Number(zero.rows[0].n);
  } else {
    result.points = written * d;
  }
  result.processed = result.succeeded + result.skipped;
  // The same condition as the INSERT, evaluated on the same (locked or single-writer) rows.
  await sql`
    UPDATE customers AS c
    SET balance = ${reset ? sql`0` : sql`c.balance + ${d}`}, lifetime_points = c.lifetime_points + ${tier}
    WHERE ${chunk.where} AND ${applies}`.execute(trx);
  return result;
}

/**
 * PostgreSQL, crediting points (nothing can be refused, and the tier points are the credit
 * itself or nothing): one statement, an UPDATE … RETURNING that locks and re-checks each row as
 * it goes, feeding the ledger INSERT with the balances it produced. This skips the separate
 * locking pass the general path needs to read balances before writing them.
 */
async function creditChunkPostgres(trx: Trx, job: JobRow, plan: BulkPlan, size: number): Promise<ChunkResult> {
  const chunk = await nextChunk(trx, job.id, job.store_id, plan.selection, job.snapshot_max_id, job.cursor, size, {
    lock: false,
  });
  const tier = plan.affectsTier ? plan.points : 0;
  const inserted = await sql`
    WITH credited AS (
      UPDATE customers AS c SET balance = c.balance + ${plan.points}, lifetime_points = c.lifetime_points + ${tier}
      WHERE ${chunk.where}
      RETURNING c.id, c.store_id, c.balance)
    INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason,
                              customer_message, visible_to_customer, actor_type, actor_id, actor_name, job_id, created_at)
    SELECT store_id, id, 'adjustment', ${plan.points}::bigint, ${tier}::bigint, balance, ${plan.reason}::text,
           ${plan.customerMessage}::text, 1, ${job.actor_type}::text, ${job.actor_id}::bigint, ${job.actor_name}::text,
           ${job.id}::bigint, ${Date.now()}::bigint
    FROM credited`.execute(trx);
  const written = Number(inserted.numAffectedRows ?? 0);
  return { cursor: chunk.end, processed: written, succeeded: written, skipped: 0, points: written * plan.points, last: chunk.last };
}

/**
 * Moves the cached totals of the customers whose rows a job just wrote (customer ids from..to) to
 * those rows' balance_after, and adds their tier points. A job writes a customer at most once,
 * so the (job_id, customer_id) index finds exactly these rows.
 */
export async function applyJobRows(trx: Kysely<DB>, jobId: number, from: number, to: number): Promise<void> {
  await sql`
    UPDATE customers SET balance = t.balance_after, lifetime_points = customers.lifetime_points + t.tier_points
    FROM transactions t
    WHERE t.job_id = ${jobId} AND t.customer_id >= ${from} AND t.customer_id <= ${to} AND customers.id = t.customer_id`.execute(trx);
}

/** Σ points of a job's rows for customer ids from..to. */
export async function sumJobPoints(trx: Kysely<DB>, jobId: number, from: number, to: number): Promise<number> {
  const row = await trx
    .selectFrom('transactions')
    .select(sql<number>`coalesce(sum(points), 0)`.as('p'))
    .where('job_id', '=', jobId)
    .where('customer_id', '>=', from)
    .where('customer_id', '<=', to)
    .executeTakeFirstOrThrow();
  return Number(row.p);
}
