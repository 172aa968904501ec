import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../../db/committer.js';
import { dialectOf } from '../../db/dialect-of.js';
import type { JobRow } from '../../db/schema.js';
import { JobParamsError } from '../../domain/errors.js';
import type { ImportPlan } from '../../domain/import/request.js';
import { appendLedgerRows, type LedgerRowSql, nowSql } from '../append.js';
import { createMembers, hasLeaders, markLeaders, orderRows, PENDING_ROW, resolveMembers, type StagedJob, validationSteps } from '../import-validate.js';
import { createPendingCredits } from '../pending.js';
import { type ChunkResult, type JobKindSpec, NO_PROGRESS } from './types.js';

/**
 * Progress of an import between chunks: each validation step is a chunk; then (unless the file
 * is refused whole, mode=atomic) members are created, in chunks of file lines (`cursor`), by
 * external id and then by e-mail; then the rows are applied. The job is then done; its staged
 * rows go afterwards, by the runners' sweep (`sweep` below).
 * add/set give each customer one row, applied in customer order (`by: 'customer'`: `cursor` is
 * the last customer applied, read off the staged rows' customer index — no ordering pass); a
 * history is first ordered (each customer's rows in time order) and applied by that order
 * (`cursor` is the last applied position). An add/set job left in `order` or `apply` without
 * `by` by an earlier release goes on as it began, by position.
 */
type ImportState =
  | { phase: 'validate'; step: number }
  | { phase: 'groups' }
  | { phase: 'members'; pass: 1 | 2; last: number }
  | { phase: 'resolve'; pass: 1 | 2; last: number }
  | { phase: 'order' }
  | { phase: 'apply'; last: number; by?: 'customer' }
  | { phase: 'finish' }
  | { phase: 'cleanup' };

/** Phases whose chunks are bounded by the chunk size; the others are a statement or a few over the whole upload. */
const CHUNKED_PHASES = new Set<ImportState['phase']>(['members', 'apply', 'cleanup']);
/**
 * PostgreSQL: how long a statement over the whole upload (a validation rule, an ordering pass)
 * may run. Its time grows with the file (a minute at 1,000,000 rows on a loaded 2-core machine),
 * so the servers' statement timeout for requests (PG_STATEMENT_TIMEOUT_MS) does not apply; these
 * statements lock no row another writer needs (only the job's own staged rows).
 */
const WHOLE_UPLOAD_TIMEOUT = '30min';

export const importKind: JobKindSpec<ImportPlan> = {
  kind: 'import',
  version: 1,
  revertible: true,

  decode(stored) {
    const p = stored as Record<string, unknown> & Partial<ImportPlan>;
    if (p.v !== undefined && p.v !== 1) throw new JobParamsError('import', `version ${String(p.v)} is newer than this release understands`);
    if ((p.type !== 'add' && p.type !== 'set' && p.type !== 'history') || typeof p.reason !== 'string') {
      throw new JobParamsError('import', 'missing or malformed fields');
    }
    return { type: p.type, mode: p.mode === 'atomic' ? 'atomic' : 'partial', reason: p.reason, columns: p.columns ?? {} };
  },

  present(p) {
    return { type: p.type, mode: p.mode, reason: p.reason };
  },

  async chunk(trx, job, plan, state, size) {
    const s = (state as ImportState | null) ?? { phase: 'validate', step: 0 };
    const staged: StagedJob = { jobId: job.id, storeId: job.store_id, plan };
    const base: ChunkResult = { ...NO_PROGRESS, cursor: job.cursor, state: s, last: false };
    if (!CHUNKED_PHASES.has(s.phase) && dialectOf(trx) === 'postgres') await sql`SET LOCAL statement_timeout = ${sql.raw(`'${WHOLE_UPLOAD_TIMEOUT}'`)}`.execute(trx);
    switch (s.phase) {
      case 'validate': {
        const steps = validationSteps(plan);
        await steps[s.step](trx, staged);
        if (s.step + 1 < steps.length) return { ...base, state: { phase: 'validate', step: s.step + 1 } };
        return decide(trx, job, plan, base);
      }
      case 'groups': {
        await markLeaders(trx, staged);
        const max = await sql<{ n: number | null }>`SELECT max(line) AS n FROM import_rows WHERE job_id = ${job.id}`.execute(trx);
        return { ...base, cursor: 0, state: { phase: 'members', pass: 1, last: Number(max.rows[0].n ?? 0) } };
      }
      case 'members': {
        const to = Math.min(job.cursor + size, s.last);
        await createMembers(trx, staged, s.pass, job.cursor, to);
        return { ...base, cursor: to, state: to >= s.last ? { ...s, phase: 'resolve' } : s };
      }
      case 'resolve':
        await resolveMembers(trx, staged);
        // Pass 2 walks the file's lines again in chunks: only when some row is left to lead in it.
        if (s.pass === 1 && (await hasLeaders(trx, staged, 2))) return { ...base, cursor: 0, state: { phase: 'members', pass: 2, last: s.last } };
        return applyNext(trx, job, plan, base);
      case 'order': {
        await orderRows(trx, staged);
        const max = await sql<{ n: number | null }>`SELECT max(seq) AS n FROM import_rows WHERE job_id = ${job.id}`.execute(trx);
        return { ...base, cursor: 0, state: { phase: 'apply', last: Number(max.rows[0].n ?? 0) } };
      }
      case 'apply':
        return s.by === 'customer' ? applyCustomers(trx, job, plan, s.last, size, base) : applyChunk(trx, job, plan, s.last, size, base);
      case 'finish':
        if (plan.type === 'history') await lastActivity(trx, job);
        // PostgreSQL: the ledger's statistics are from before the import; a store that had no
        // rows then would be planned as having none still (nested loops over a million rows).
        if (dialectOf(trx) === 'postgres') await sql`ANALYZE transactions`.execute(trx);
        // Done: the staged rows go afterwards, by the runners' sweep (importKind.sweep).
        return { ...base, last: true };
      case 'cleanup':
        // A job an earlier release left cleaning up its staged rows: done; the sweep removes them.
        return { ...base, last: true };
    }
  },

  async sweep(trx, size) {
    // The staged rows of a finished import (completed, failed, cancelled), one job at a time.
    const ended = await sql<{ id: number }>`SELECT j.id FROM jobs j
      WHERE j.kind = 'import' AND j.status IN ('completed', 'failed', 'cancelled')
        AND EXISTS (SELECT 1 FROM import_rows r WHERE r.job_id = j.id) LIMIT 1`.execute(trx);
    if (ended.rows.length === 0) return 0;
    const gone = await sql`DELETE FROM import_rows WHERE id IN (SELECT id FROM import_rows WHERE job_id = ${Number(ended.rows[0].id)} LIMIT ${size})`.execute(trx);
    return Number(gone.numAffectedRows ?? 0);
  },
};

/** After validation: the invalid rows are counted as failed; mode=atomic with any of them applies nothing. */
async function decide(trx: Trx, job: JobRow, plan: ImportPlan, base: ChunkResult): Promise<ChunkResult> {
  const r = await sql<{ rows: number; invalid: number }>`
    SELECT count(*) AS rows, coalesce(sum(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), 0) AS invalid
    FROM import_rows WHERE job_id = ${job.id}`.execute(trx);
  const rows = Number(r.rows[0].rows);
  const invalid = Number(r.rows[0].invalid);
  const counted = { ...base, processed: invalid, failed: invalid };
  if (plan.mode === 'atomic' && invalid > 0) return { ...counted, processed: rows, skipped: rows - invalid, last: true };
  return plan.type === 'add' ? applyNext(trx, job, plan, counted) : { ...counted, state: { phase: 'groups' } };
}

/** Once every row has its customer: a history is ordered first; add/set apply in customer order, up to the last customer. */
async function applyNext(trx: Trx, job: JobRow, plan: ImportPlan, base: ChunkResult): Promise<ChunkResult> {
  if (plan.type === 'history') return { ...base, state: { phase: 'order' } };
  const max = await sql<{ n: number | null }>`SELECT max(customer_id) AS n FROM import_rows WHERE job_id = ${job.id}`.execute(trx);
  return { ...base, cursor: 0, state: { phase: 'apply', by: 'customer', last: Number(max.rows[0].n ?? 0) } };
}

/**
 * The ledger row of a staged row `r` for its customer `c`, by import type. A pending row (a
 * credit available later) is the zero-point `pending` row a single adjustment writes for one;
 * its credit follows (pendingCredits).
 */
function rowOf(trx: Trx, job: JobRow, plan: ImportPlan): { row: LedgerRowSql; where: RawBuilder<boolean> } {
  const greatest = sql.raw(dialectOf(trx) === 'postgres' ? 'greatest' : 'max');
  const unlessPending = (value: RawBuilder<unknown>, pending: RawBuilder<unknown> = sql`0`) => sql`CASE WHEN ${PENDING_ROW} THEN ${pending} ELSE ${value} END`;
  const common = {
    store_id: sql`c.store_id`,
    customer_id: sql`c.id`,
    reason: sql`coalesce(r.reason, CAST(${plan.reason} AS text))`,
    customer_message: sql`r.customer_message`,
    visible_to_customer: 1,
    actor_type: job.actor_type,
    actor_id: job.actor_id,
    actor_name: job.actor_name,
    job_id: job.id,
    reverses_id: null,
    reference: sql`r.reference`,
    idempotency_key: null,
    job_line: sql`r.line`,
  };
  if (plan.type === 'history') {
    const points = unlessPending(sql`r.points`);
    const row: LedgerRowSql = {
      ...common,
      type: unlessPending(sql`coalesce(r.type, 'import')`, sql`'pending'`),
      points,
      tier_points: unlessPending(sql`r.tier_points`),
      balance_after: sql`c.balance + sum(${points}) OVER (PARTITION BY r.customer_id ORDER BY r.seq ROWS UNBOUNDED PRECEDING)`,
      created_at: sql`r.at`,
    };
    return { row, where: sql<boolean>`1 = 1` };
  }
  // add: the row's points; set: the step from the balance to the row's value. Lifetime follows
  // as it does for an adjustment with affectsTier (a deduction lowers it, never below zero).
  const change = plan.type === 'set' ? sql`(r.points - c.balance)` : sql`r.points`;
  const row: LedgerRowSql = {
    ...common,
    type: unlessPending(sql`'import'`, sql`'pending'`),
    points: unlessPending(change),
    tier_points: unlessPending(sql`CASE WHEN ${change} >= 0 THEN ${change} ELSE ${greatest}(${change}, -c.lifetime_points) END`),
    balance_after: sql`c.balance + ${unlessPending(change)}`,
    created_at: nowSql(trx),
  };
  return { row, where: plan.type === 'set' ? sql<boolean>`r.points <> c.balance` : sql<boolean>`c.balance + r.points >= 0` };
}

/** Applies the rows at apply positions (cursor, cursor + size] (a history: a customer's rows in time order). */
async function applyChunk(trx: Trx, job: JobRow, plan: ImportPlan, last: number, size: number, base: ChunkResult): Promise<ChunkResult> {
  const from = job.cursor;
  const to = Math.min(from + size, last);
  const done = { ...base, cursor: to, state: to >= last ? { phase: 'finish' } : base.state };
  if (to <= from) return done;
  const applied = await applyRange(trx, job, plan, sql`r.job_id = ${job.id} AND r.seq > ${from} AND r.seq <= ${to}`);
  const n = to - from;
  return { ...done, processed: n, succeeded: n - applied.skipped, skipped: applied.skipped, points: applied.points };
}

/**
 * add/set: applies the valid rows of the next `size` staged rows in customer order (cursor, to],
 * found on the (job_id, customer_id) index; each customer has at most one valid row.
 */
async function applyCustomers(trx: Trx, job: JobRow, plan: ImportPlan, last: number, size: number, base: ChunkResult): Promise<ChunkResult> {
  const from = job.cursor;
  const span = await sql<{ top: number | null }>`SELECT max(customer_id) AS top FROM (
      SELECT customer_id FROM import_rows WHERE job_id = ${job.id} AND customer_id > ${from} ORDER BY customer_id LIMIT ${size}) x`.execute(trx);
  const to = span.rows[0].top === null ? last : Math.min(Number(span.rows[0].top), last);
  const done = { ...base, cursor: to, state: to >= last ? { phase: 'finish' } : base.state };
  if (to <= from) return done;
  const range = sql`r.job_id = ${job.id} AND r.customer_id > ${from} AND r.customer_id <= ${to} AND r.error IS NULL`;
  const valid = await sql<{ n: number }>`SELECT count(*) AS n FROM import_rows r WHERE ${range}`.execute(trx);
  // The chunk's customers lie in (from, to]: a range of the store's customers, not a probe per row.
  const applied = await applyRange(trx, job, plan, range, sql<boolean>`c.id > ${from} AND c.id <= ${to}`);
  const n = Number(valid.rows[0].n);
  return { ...done, processed: n, succeeded: n - applied.skipped, skipped: applied.skipped, points: applied.points };
}

/**
 * Applies the staged rows `r` in `range` (valid rows only), set-based: a customer's rows in order.
 * `within` bounds their customers `c` when the range does (customer order).
 */
async function applyRange(
  trx: Trx,
  job: JobRow,
  plan: ImportPlan,
  range: RawBuilder<unknown>,
  within: RawBuilder<boolean> = sql<boolean>`1 = 1`,
): Promise<{ skipped: number; points: number }> {
  const { row, where } = rowOf(trx, job, plan);
  let skipped = 0;
  if (plan.type === 'add') {
    // Validated against the balances then; a balance spent since is reported, never driven negative.
    // Only a deduction can (a balance is never negative): `r.points < 0` first lets the chunk's
    // staged rows drive the join, where PostgreSQL hashed the store's whole customers table.
    const spent = await sql`
      INSERT INTO job_errors (job_id, store_id, customer_id, line, column_name, code, message, created_at)
      SELECT ${job.id}, ${job.store_id}, c.id, r.line, ${plan.columns.points ?? 'points'}, 'insufficient_points',
             'The balance ' || c.balance || ' is less than the ' || (-r.points) || ' points to deduct', ${Date.now()}
      FROM import_rows r JOIN customers c ON c.id = r.customer_id WHERE ${range} AND r.points < 0 AND c.balance + r.points < 0`.execute(trx);
    skipped = Number(spent.numAffectedRows ?? 0);
  }
  const appended = await appendLedgerRows(trx, {
    storeId: job.store_id,
    customers: sql<boolean>`c.store_id = ${job.store_id} AND ${within} AND c.id IN (SELECT r.customer_id FROM import_rows r WHERE ${range})`,
    join: sql`JOIN import_rows r ON r.customer_id = c.id AND ${range}`,
    where,
    orderBy: plan.type === 'history' ? sql`r.seq` : sql`r.customer_id`,
    row,
    // A history brings the other app's own tier reward rows: its tier moves grant none again.
    entryRewards: plan.type !== 'history',
    // A credit given an explicit expiry keeps it in its lot, as a single adjustment's does.
    lotExpiresAt: plan.columns.expiresAt === undefined ? undefined : sql`(SELECT x.expires_at FROM import_rows x WHERE x.job_id = ${job.id} AND x.line = r.job_line)`,
  });
  if (plan.columns.availableAt !== undefined && appended.firstId !== null && appended.lastId !== null) {
    await createPendingCredits(trx, pendingCredits(job, plan, range, appended.firstId, appended.lastId));
  }
  return { skipped, points: appended.points };
}

/**
 * The pending credits of the `pending` rows the chunk just wrote (ids first…last) for its staged
 * rows (`range`), matched by file line, shaped as createPendingCredits takes them. Both sides are
 * bounded by the chunk: the ledger rows by id, read first (MATERIALIZED) — the planner, with
 * statistics from before the import, would otherwise walk the (job_id, …) index over every row
 * the job wrote so far, once per chunk. An add counts for the tier as an adjustment does; a
 * history row unless the file gives it 0 tier points.
 */
function pendingCredits(job: JobRow, plan: ImportPlan, range: RawBuilder<unknown>, first: number, last: number): RawBuilder<unknown> {
  const affectsTier = plan.type === 'history' ? sql`CASE WHEN coalesce(r.tier_points, r.points) > 0 THEN 1 ELSE 0 END` : sql`1`;
  return sql`(WITH w AS MATERIALIZED (
        SELECT id, store_id, customer_id, job_id, job_line, type, visible_to_customer, reason, customer_message, created_at
        FROM transactions WHERE id >= ${first} AND id <= ${last})
      SELECT t.store_id, t.customer_id, t.id AS transaction_id, r.points, ${affectsTier} AS affects_tier, t.visible_to_customer,
             t.reason, t.customer_message, r.expires_at, r.available_at, t.created_at
      FROM w t JOIN import_rows r ON r.job_id = ${job.id} AND r.line = t.job_line AND ${range} AND ${PENDING_ROW}
      WHERE t.job_id = ${job.id} AND t.type = 'pending')`;
}

/** history: a member's last activity is their latest imported row, unless the file says otherwise. */
async function lastActivity(trx: Trx, job: JobRow): Promise<void> {
  await sql`
    UPDATE customers SET last_activity_at = (
      SELECT coalesce(max(r.last_activity_at), max(r.at)) FROM import_rows r WHERE r.job_id = ${job.id} AND r.seq IS NOT NULL AND r.customer_id = customers.id)
    WHERE store_id = ${job.store_id} AND id IN (SELECT customer_id FROM import_rows WHERE job_id = ${job.id} AND seq IS NOT NULL)`.execute(trx);
}
