import type { Trx } from '../db/committer.js';
import { sql } from 'kysely';
import type { RevertPlan } from '../domain/jobs.js';
import { dialectOf } from '../db/dialect-of.js';
import { inIds } from '../db/queries/selection.js';
import type { JobRow } from '../db/schema.js';
import { applyJobRows, type ChunkResult, sumJobPoints } from './bulk-chunk.js';

/**
 * Reverts one chunk of another job's ledger rows, in customer-id order (a job has one row per
 * customer, so the (job_id, customer_id) index walks them): a `reversal` row per
 * original row. Rows whose points were spent since (the reversal would go negative) or that were
 * already reversed one by one are skipped and reported. Set-based, like a bulk chunk.
 *
 * Needs: the chunk's transaction, in which the job row is locked.
 */
export async function runRevertChunk(trx: Trx, job: JobRow, plan: RevertPlan, size: number): Promise<ChunkResult> {
  const originals = await trx
    .selectFrom('transactions')
    .select(['id', 'customer_id'])
    .where('job_id', '=', plan.jobId)
    .where('store_id', '=', job.store_id)
    .where('customer_id', '>', job.cursor)
    .orderBy('customer_id')
    .limit(size)
    .execute();
  const result: ChunkResult = { cursor: job.cursor, processed: originals.length, succeeded: 0, skipped: 0, points: 0, last: originals.length < size };
  if (originals.length === 0) return result;
  const ids = originals.map((o) => o.id);
  const customers = originals.map((o) => o.customer_id);
  const first = customers[0];
  const last = customers[customers.length - 1];
  result.cursor = last;
  if (dialectOf(trx) === 'postgres') {
    await trx.selectFrom('customers').select('id').where(inIds(trx, 'id', customers)).orderBy('id').forUpdate().execute();
  }
  const now = Date.now();
  const inChunk = inIds(trx, 'o.id', ids);
  const reversed = sql`EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = o.id)`;
  const reports = await sql`
    INSERT INTO job_errors (job_id, store_id, customer_id, code, message, created_at)
    SELECT ${job.id}, o.store_id, o.customer_id,
           CASE WHEN ${reversed} THEN 'already_reversed' ELSE 'insufficient_points' END,
           CASE WHEN ${reversed} THEN 'transaction ' || o.id || ' was already reversed'
                ELSE 'balance ' || c.balance || ' is less than the ' || o.points || ' points to take back' END,
           ${now}
    FROM transactions o JOIN customers c ON c.id = o.customer_id
    WHERE ${inChunk} AND (${reversed} OR c.balance - o.points < 0)`.execute(trx);
  result.skipped = Number(reports.numAffectedRows ?? 0);

  const max = dialectOf(trx) === 'postgres' ? sql.raw('greatest') : sql.raw('max');
  const inserted = await sql`
    INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason, customer_message,
                              visible_to_customer, actor_type, actor_id, actor_name, job_id, reverses_id, created_at)
    SELECT o.store_id, o.customer_id, 'reversal', -o.points, ${max}(-o.tier_points, -c.lifetime_points), c.balance - o.points,
           ${plan.reason}, ${plan.customerMessage}, o.visible_to_customer, ${job.actor_type}, ${job.actor_id}, ${job.actor_name},
           ${job.id}, o.id, ${now}
    FROM transactions o JOIN customers c ON c.id = o.customer_id
    WHERE ${inChunk} AND NOT ${reversed} AND c.balance - o.points >= 0`.execute(trx);
  result.succeeded = Number(inserted.numAffectedRows ?? 0);
  await applyJobRows(trx, job.id, first, last);
  result.points = await sumJobPoints(trx, job.id, first, last);
  return result;
}
