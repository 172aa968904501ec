import { sql } from 'kysely';
import { dialectOf } from '../../db/dialect-of.js';
import { planReversalSql } from '../../domain/balance-sql.js';
import { JobParamsError } from '../../domain/errors.js';
import type { RevertPlan } from '../../domain/jobs.js';
import { appendLedgerRows, nowSql } from '../append.js';
import { revertEachRow } from './revert-each-row.js';
import { type JobKindSpec, NO_PROGRESS } from './types.js';

/**
 * Undoes another job: a `reversal` row for each of its ledger rows, walked in customer-id order
 * (a bulk job writes a customer at most once, so the (job_id, customer_id) index walks them; an
 * import may give a customer several rows, which revert-each-row.ts undoes).
 * Rows whose points were spent since (the reversal would go negative) or that were already
 * reversed are skipped and reported. Set-based, like a bulk chunk. A revert is not revertible.
 */
export const revertKind: JobKindSpec<RevertPlan> = {
  kind: 'revert',
  version: 1,
  revertible: false,

  decode(stored) {
    const p = stored as Record<string, unknown> & Partial<RevertPlan>;
    if (p.v !== undefined && p.v !== 1) throw new JobParamsError('revert', `version ${String(p.v)} is newer than this release understands`);
    if (typeof p.jobId !== 'number' || typeof p.reason !== 'string') throw new JobParamsError('revert', 'missing or malformed fields');
    return { jobId: p.jobId, reason: p.reason, customerMessage: p.customerMessage ?? null };
  },

  present(p) {
    return { ...p };
  },

  async count(db, _job, plan) {
    const n = await sql<{ n: number }>`SELECT count(*) AS n FROM transactions WHERE job_id = ${plan.jobId}`.execute(db);
    return Number(n.rows[0].n);
  },

  async chunk(trx, job, plan, _state, size) {
    const original = await trx.selectFrom('jobs').select('kind').where('id', '=', plan.jobId).executeTakeFirst();
    if (original?.kind === 'import') return revertEachRow(trx, job, plan, size);
    const span = await sql<{ n: number; end: number | null }>`
      SELECT count(*) AS n, max(customer_id) AS end FROM (
        SELECT customer_id FROM transactions WHERE job_id = ${plan.jobId} AND job_line IS NULL AND customer_id > ${job.cursor}
        ORDER BY customer_id LIMIT ${size}) t`.execute(trx);
    const n = Number(span.rows[0].n);
    const end = n === 0 ? job.cursor : Number(span.rows[0].end);
    const base = { ...NO_PROGRESS, state: { started: true }, cursor: end, last: n < size };
    if (n === 0) return base;
    const range = sql`${job.cursor} AND o.customer_id <= ${end}`;
    const originals = sql`JOIN transactions o ON o.customer_id = c.id AND o.job_id = ${plan.jobId} AND o.job_line IS NULL AND o.store_id = ${job.store_id} AND o.customer_id > ${range}`;
    const reversed = sql<boolean>`EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = o.id)`;
    const effect = planReversalSql(dialectOf(trx) === 'postgres' ? 'greatest' : 'max');
    const appended = await appendLedgerRows(trx, {
      storeId: job.store_id,
      customers: sql<boolean>`c.store_id = ${job.store_id} AND c.id > ${job.cursor} AND c.id <= ${end}
        AND c.id IN (SELECT customer_id FROM transactions WHERE job_id = ${plan.jobId} AND job_line IS NULL AND customer_id > ${job.cursor} AND customer_id <= ${end})`,
      join: originals,
      where: sql<boolean>`NOT ${reversed} AND ${effect.applies}`,
      row: {
        store_id: sql`o.store_id`,
        customer_id: sql`o.customer_id`,
        type: 'reversal',
        points: effect.points,
        tier_points: effect.tierPoints,
        balance_after: effect.balanceAfter,
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
        job_line: null,
      },
      skipped: {
        jobId: job.id,
        where: sql<boolean>`${reversed} OR NOT (${effect.applies})`,
        code: sql<string>`CASE WHEN ${reversed} THEN 'already_reversed' ELSE 'insufficient_points' END`,
        message: sql<string>`CASE WHEN ${reversed} THEN 'transaction ' || o.id || ' was already reversed'
          ELSE 'balance ' || c.balance || ' is less than the ' || o.points || ' points to take back' END`,
      },
    });
    return { ...base, processed: n, succeeded: appended.rows, skipped: appended.skipped, points: appended.points };
  },
};
