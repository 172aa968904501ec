import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Trx } from '../../db/committer.js';
import { dialectOf } from '../../db/dialect-of.js';
import { customerFilterSql } from '../../db/queries/customers.js';
import { inIds } from '../../db/queries/selection.js';
import type { DB, JobRow } from '../../db/schema.js';
import { type EffectSql, planChangeSql, planResetSql } from '../../domain/balance-sql.js';
import { JobParamsError } from '../../domain/errors.js';
import type { BulkPlan, Selection } from '../../domain/jobs.js';
import type { CustomerFilter } from '../../domain/types.js';
import { appendLedgerRows, nowSql } from '../append.js';
import { type ChunkResult, type JobKindSpec, NO_PROGRESS } from './types.js';

/**
 * A bulk adjustment or reset as stored: the selection without its (possibly 100,000-long) id
 * list, which lives in job_inputs and is read only when the job fixes its selection.
 */
export type StoredSelection = { listed: number } | { filter: CustomerFilter } | { all: true };
export type BulkParams = Omit<BulkPlan, 'selection'> & { selection: StoredSelection };

/**
 * Progress between chunks. A filter's or a list's customers are fixed first, in bounded steps
 * (`select`, walking customer ids or list positions), into job_targets — later changes to
 * balances, tiers or activity neither add customers nor take them out; then `apply` walks them.
 */
type BulkState = { phase: 'select'; after: number } | { phase: 'apply' };

export const bulkAdjustmentKind: JobKindSpec<BulkParams> = {
  kind: 'bulk_adjustment',
  version: 1,
  revertible: true,

  decode(stored) {
    const p = stored as Record<string, unknown> & Partial<BulkParams>;
    if (p.v === undefined) return fromV0(p);
    if (p.v !== 1) throw new JobParamsError('bulk_adjustment', `version ${String(p.v)} is newer than this release understands`);
    if ((p.type !== 'adjust' && p.type !== 'reset') || typeof p.points !== 'number' || typeof p.reason !== 'string' || !p.selection) {
      throw new JobParamsError('bulk_adjustment', 'missing or malformed fields');
    }
    return {
      selection: p.selection,
      type: p.type,
      points: p.points,
      reason: p.reason,
      customerMessage: p.customerMessage ?? null,
      affectsTier: p.affectsTier ?? true,
    };
  },

  present(p) {
    return { ...p };
  },

  async chunk(trx, job, params, state, size) {
    const s = (state as BulkState | null) ?? initialState(job, params.selection);
    if (s.phase === 'select') return selectStep(trx, job, params.selection, s.after, size);
    return applyStep(trx, job, params, size);
  },

  // Everyone: the job is about every customer up to the snapshot boundary, counted as it starts
  // (a filter's or a list's customers are counted as the selection is fixed).
  async count(db, job, params) {
    if (!('all' in params.selection)) return 0;
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM customers WHERE store_id = ${job.store_id} AND id <= ${job.snapshot_max_id}`.execute(db);
    return Number(r.rows[0].n);
  },
};

/** Release 0.1 stored the plan itself, id list included. */
function fromV0(p: Record<string, unknown>): BulkParams {
  const plan = p as unknown as BulkPlan;
  const selection: StoredSelection = 'customerIds' in plan.selection ? { listed: plan.selection.customerIds.length } : plan.selection;
  return { ...plan, selection, customerMessage: plan.customerMessage ?? null };
}

function initialState(job: JobRow, selection: StoredSelection): BulkState {
  if ('all' in selection) return { phase: 'apply' };
  return { phase: 'select', after: 'listed' in selection ? 0 : job.cursor };
}

/** The listed ids, in ascending order: from job_inputs, or (jobs of release 0.1) from the params. */
async function listedIds(trx: Trx, job: JobRow): Promise<number[]> {
  const input = await trx.selectFrom('job_inputs').select('data').where('job_id', '=', job.id).executeTakeFirst();
  if (input) return JSON.parse(input.data) as number[];
  const legacy = JSON.parse(job.params) as { selection?: { customerIds?: number[] } };
  if (legacy.selection?.customerIds) return legacy.selection.customerIds;
  throw new JobParamsError('bulk_adjustment', 'the listed customer ids are missing');
}

/**
 * Fixes the next part of the selection in job_targets: customers up to the snapshot boundary that
 * match the filter (ids after `after`), or the next listed ids (positions after `after`), those that
 * are no customers of the store reported as failed.
 */
async function selectStep(trx: Trx, job: JobRow, selection: StoredSelection, after: number, size: number): Promise<ChunkResult> {
  const result = { ...NO_PROGRESS, cursor: job.cursor, last: false };
  const boundary = job.snapshot_max_id;
  if ('filter' in selection) {
    const end = Math.min(after + size, boundary);
    const added = await sql`
      INSERT INTO job_targets (job_id, customer_id)
      SELECT ${job.id}, c.id FROM customers c
      WHERE c.store_id = ${job.store_id} AND c.id > ${after} AND c.id <= ${end} AND ${customerFilterSql(job.store_id, selection.filter)}`.execute(trx);
    const state: BulkState = end >= boundary ? { phase: 'apply' } : { phase: 'select', after: end };
    return { ...result, state, total: Number(added.numAffectedRows ?? 0) };
  }
  const all = await listedIds(trx, job);
  const ids = all.slice(after, after + size);
  const known = sql<boolean>`c.store_id = ${job.store_id} AND c.id <= ${boundary} AND ${inIds(trx, 'c.id', ids)}`;
  const added = await sql`INSERT INTO job_targets (job_id, customer_id) SELECT ${job.id}, c.id FROM customers c WHERE ${known}`.execute(trx);
  const found = Number(added.numAffectedRows ?? 0);
  if (found < ids.length) {
    const listed = dialectOf(trx) === 'postgres' ? sql`unnest(${ids}::bigint[]) AS l(value)` : sql`json_each(${JSON.stringify(ids)}) AS l`;
    await sql`
      INSERT INTO job_errors (job_id, store_id, customer_id, code, message, created_at)
      SELECT ${job.id}, ${job.store_id}, l.value, 'customer_not_found', 'No customer ' || l.value || ' in this store', ${Date.now()}
      FROM ${listed}
      WHERE NOT EXISTS (SELECT 1 FROM job_targets t WHERE t.job_id = ${job.id} AND t.customer_id = l.value)`.execute(trx);
  }
  const next = after + size;
  const state: BulkState = next >= all.length ? { phase: 'apply' } : { phase: 'select', after: next };
  return { ...result, state, total: found, failed: ids.length - found };
}

/** The customers of the next apply chunk after the cursor, as a condition on `c`, and where it ends. */
async function nextCustomers(trx: Trx, job: JobRow, targeted: boolean, size: number): Promise<{ where: RawBuilder<boolean>; end: number; last: boolean }> {
  const after = job.cursor;
  if (!targeted) {
    const end = Math.min(after + size, job.snapshot_max_id);
    return { where: sql`c.store_id = ${job.store_id} AND c.id > ${after} AND c.id <= ${end}`, end, last: end >= job.snapshot_max_id };
  }
  const span = await sql<{ n: number; end: number | null }>`
    SELECT count(*) AS n, max(customer_id) AS end FROM (
      SELECT customer_id FROM job_targets WHERE job_id = ${job.id} AND customer_id > ${after} ORDER BY customer_id LIMIT ${size}) t`.execute(trx);
  const n = Number(span.rows[0].n);
  const end = n === 0 ? after : Number(span.rows[0].end);
  const where = sql<boolean>`c.store_id = ${job.store_id} AND c.id > ${after} AND c.id <= ${end}
    AND c.id IN (SELECT customer_id FROM job_targets WHERE job_id = ${job.id} AND customer_id > ${after} AND customer_id <= ${end})`;
  return { where, end, last: n < size };
}

/** The rule of the bulk change, as SQL over a customer row `c` (twins of planChange / planReset). */
export function bulkEffectSql(db: Kysely<DB>, params: Pick<BulkParams, 'type' | 'points' | 'affectsTier'>): EffectSql {
  if (params.type === 'reset') return planResetSql();
  return planChangeSql(dialectOf(db) === 'postgres' ? 'greatest' : 'max', params.points, params.affectsTier);
}

/**
 * Applies one chunk: a row for each customer the rule allows, the others (a deduction that would
 * go negative) skipped and reported, never clamped; a reset leaves customers already at zero alone.
 */
async function applyStep(trx: Trx, job: JobRow, params: BulkParams, size: number): Promise<ChunkResult> {
  const chunk = await nextCustomers(trx, job, !('all' in params.selection), size);
  const effect = bulkEffectSql(trx, params);
  const reset = params.type === 'reset';
  let atZero = 0;
  if (reset) {
    const zero = await sql<{ n: number }>`SELECT count(*) AS n FROM customers c WHERE ${chunk.where} AND c.balance = 0`.execute(trx);
    atZero = Number(zero.rows[0].n);
  }
  const appended = await appendLedgerRows(trx, {
    storeId: job.store_id,
    customers: chunk.where,
    where: effect.applies,
    row: {
      store_id: sql`c.store_id`,
      customer_id: sql`c.id`,
      type: reset ? 'reset' : 'adjustment',
      points: effect.points,
      tier_points: effect.tierPoints,
      balance_after: effect.balanceAfter,
      reason: params.reason,
      customer_message: params.customerMessage,
      visible_to_customer: 1,
      actor_type: job.actor_type,
      actor_id: job.actor_id,
      actor_name: job.actor_name,
      job_id: job.id,
      reverses_id: null,
      reference: null,
      idempotency_key: null,
      created_at: nowSql(trx),
      job_line: null,
    },
    skipped:
      reset || params.points >= 0
        ? undefined
        : {
            jobId: job.id,
            where: sql<boolean>`NOT (${effect.applies})`,
            code: sql<string>`'insufficient_points'`,
            message: sql<string>`'balance ' || c.balance || ' is less than ' || ${String(-params.points)}`,
          },
  });
  const succeeded = appended.rows + atZero;
  return {
    ...NO_PROGRESS,
    cursor: chunk.end,
    state: { phase: 'apply' } satisfies BulkState,
    processed: succeeded + appended.skipped,
    succeeded,
    skipped: appended.skipped,
    points: appended.points,
    last: chunk.last,
  };
}

/** A command's selection as stored: a list by its length (the ids go to job_inputs). */
export function storedSelection(selection: Selection): StoredSelection {
  return 'customerIds' in selection ? { listed: selection.customerIds.length } : selection;
}
