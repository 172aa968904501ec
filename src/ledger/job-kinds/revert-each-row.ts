import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../../db/committer.js';
import { dialectOf } from '../../db/dialect-of.js';
import type { JobRow } from '../../db/schema.js';
import type { RevertPlan } from '../../domain/jobs.js';
import { appendLedgerRows, nowSql } from '../append.js';
import { settleCancelled } from '../pending.js';
import { type ChunkResult, NO_PROGRESS } from './types.js';

/**
 * Reverts a job whose rows carry a file line (an import: several rows per customer), a reversal
 * per row, newest first per customer, set-based. With a customer's rows taken newest first and
 * `run` the running sum of their points, the reversals keep the balance ≥ 0 while
 * balance − max(run so far) ≥ 0: the rows up to the first that fails are reversed, that one and
 * the older ones skipped (their points were spent since). Lifetime points fall with the rows'
 * tier points, floored at zero (the floored running sum's closed form, as the import applies it).
 * Rows reversed already (one by one) count as nothing and are reported. A pending credit the
 * import made is cancelled while still pending, its matured row reversed once it matured
 * (undoTargets). Each reversal keeps its original's line, so the (job_id, job_line) index holds
 * the revert to one row per original.
 */
export async function revertEachRow(trx: Trx, job: JobRow, plan: RevertPlan, size: number): Promise<ChunkResult> {
  const mine = sql`t.job_id = ${plan.jobId} AND t.job_line IS NOT NULL AND t.store_id = ${job.store_id}`;
  const span = await sql<{ n: number; end: number | null }>`
    SELECT count(*) AS n, max(customer_id) AS end FROM (
      SELECT t.customer_id FROM transactions t WHERE ${mine} AND t.customer_id > ${job.cursor} ORDER BY t.customer_id LIMIT ${size}) x`.execute(trx);
  const n = Number(span.rows[0].n);
  const end = n === 0 ? job.cursor : Number(span.rows[0].end);
  const base = { ...NO_PROGRESS, state: { started: true }, cursor: end, last: n < size };
  if (n === 0) return base;
  const pg = dialectOf(trx) === 'postgres';
  const least = sql.raw(pg ? 'least' : 'min');
  const range = sql`${mine} AND t.customer_id > ${job.cursor} AND t.customer_id <= ${end}`;
  const w = sql`PARTITION BY customer_id ORDER BY id DESC ROWS UNBOUNDED PRECEDING`;
  const originals = sql`JOIN (
    SELECT b.*, lag(b.m) OVER (PARTITION BY b.customer_id ORDER BY b.id DESC) AS mp FROM (
      SELECT a.*, max(a.run) OVER (${w}) AS peak, min(a.d) OVER (${w}) AS m FROM (
        SELECT t.*, sum(CASE WHEN t.rv = 1 THEN 0 ELSE t.points END) OVER (${w}) AS run,
                    sum(CASE WHEN t.rv = 1 THEN 0 ELSE -t.tier_points END) OVER (${w}) AS d
        FROM (${undoTargets(range)}) t) a) b) o ON o.customer_id = c.id`;
  const applies = sql<boolean>`o.rv = 0 AND c.balance - o.peak >= 0`;
  const te = sql`CASE WHEN o.rv = 1 THEN 0 ELSE o.tier_points END`;
  const customers = sql<boolean>`c.store_id = ${job.store_id} AND c.id > ${job.cursor} AND c.id <= ${end}
      AND c.id IN (SELECT t.customer_id FROM transactions t WHERE ${range})`;
  // PostgreSQL: locked before the rows are read, so a credit the expiry run matures meanwhile is
  // seen matured (and reversed), never cancelled as still pending.
  if (pg) await sql`SELECT c.id FROM customers c WHERE ${customers} ORDER BY c.id FOR UPDATE`.execute(trx);
  const appended = await appendLedgerRows(trx, {
    storeId: job.store_id,
    customers,
    join: originals,
    where: applies,
    orderBy: sql`o.customer_id, o.id DESC`,
    row: {
      store_id: sql`o.store_id`,
      customer_id: sql`o.customer_id`,
      type: sql`CASE WHEN o.cancel = 1 THEN 'pending_cancelled' ELSE 'reversal' END`,
      points: sql`-o.points`,
      tier_points: sql`-${te} - ${least}(0, c.lifetime_points + o.m) + ${least}(0, c.lifetime_points + coalesce(o.mp, 0))`,
      balance_after: sql`c.balance - o.run`,
      reason: plan.reason,
      customer_message: plan.customerMessage,
      visible_to_customer: sql`o.visible_to_customer`,
      actor_type: job.actor_type,
      actor_id: job.actor_id,
      actor_name: job.actor_name,
      job_id: job.id,
      reverses_id: sql`o.id`,
      reference: null,
      idempotency_key: null,
      created_at: nowSql(trx),
      job_line: sql`o.job_line`,
    },
    skipped: {
      jobId: job.id,
      where: sql<boolean>`NOT (${applies})`,
      code: sql<string>`CASE WHEN o.rv = 1 THEN 'already_reversed' ELSE 'insufficient_points' END`,
      message: sql<string>`CASE WHEN o.rv = 1 THEN 'transaction ' || o.id || ' was already reversed'
        ELSE 'balance ' || c.balance || ' is too low to take back the points of transaction ' || o.id END`,
    },
  });
  if (appended.rows > 0) {
    await settleCancelled(trx, job.store_id, sql`(SELECT t.reverses_id AS transaction_id, t.id AS settled_transaction_id FROM transactions t
      WHERE t.job_id = ${job.id} AND t.job_line IS NOT NULL AND t.customer_id > ${job.cursor} AND t.customer_id <= ${end} AND t.type = 'pending_cancelled')`);
  }
  return { ...base, processed: appended.rows + appended.skipped, succeeded: appended.rows, skipped: appended.skipped, points: appended.points };
}

/**
 * What undoes each of the job's rows in `range`: the row itself; for a `pending` row, its credit —
 * still pending: cancelled (`cancel`, a zero-point pending_cancelled row reversing the pending
 * row, as a single cancel writes); matured: the row it matured as, reversed like any other
 * (`id` and the points are that row's); cancelled already: nothing (`rv`, its cancel reverses it).
 */
function undoTargets(range: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`SELECT coalesce(m.id, t.id) AS id, t.store_id, t.customer_id, coalesce(m.points, t.points) AS points,
      coalesce(m.tier_points, t.tier_points) AS tier_points, t.visible_to_customer, t.job_line,
      CASE WHEN p.status = 'pending' THEN 1 ELSE 0 END AS cancel,
      CASE WHEN EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = coalesce(m.id, t.id)) THEN 1 ELSE 0 END AS rv
    FROM transactions t
    LEFT JOIN pending_credits p ON t.type = 'pending' AND p.store_id = t.store_id AND p.transaction_id = t.id
    LEFT JOIN transactions m ON p.status = 'matured' AND m.id = p.settled_transaction_id
    WHERE ${range}`;
}
