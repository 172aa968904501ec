import type { Trx } from '../db/committer.js';
import type { Kysely } from 'kysely';
import { JobStateError, NotFoundError } from '../domain/errors.js';
import { FINAL_STATUSES, type Job, type JobStatus, type RevertPlan } from '../domain/jobs.js';
import type { Actor, Page, PageRequest } from '../domain/types.js';
import { MESSAGE_MAX, optionalText, validReason } from '../domain/validation.js';
import { findJob, insertJob, toJob, UPLOADING } from '../db/queries/jobs.js';
import { isUniqueViolation } from '../db/errors.js';
import type { DB, JobRow } from '../db/schema.js';
import { pageOf } from './paging.js';
import { encodeParams, jobKind } from './job-kinds/index.js';
import { revertKind } from './job-kinds/revert.js';

async function jobRow(db: Kysely<DB>, storeId: number, id: number): Promise<JobRow> {
  const row = await findJob(db, storeId, id);
  if (!row) throw new NotFoundError('job', id);
  return row;
}

/** It can throw: NotFoundError. */
export async function getJob(db: Kysely<DB>, storeId: number, id: number): Promise<Job> {
  return toJob(await jobRow(db, storeId, id));
}

export async function listJobs(db: Kysely<DB>, storeId: number, page: PageRequest): Promise<Page<Job>> {
  const rows = await jobListQuery(db, storeId, page).execute();
  return pageOf(rows.map(toJob), page.limit);
}

/** The statement behind one page of listJobs (limit + 1 rows); the benchmarks time it raw. */
export function jobListQuery(db: Kysely<DB>, storeId: number, page: PageRequest) {
  let q = db.selectFrom('jobs').selectAll().where('store_id', '=', storeId).where('status', '<>', UPLOADING);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  return q.orderBy('id', 'desc').limit(page.limit + 1);
}

/**
 * Cancels a job. A queued job is cancelled at once; a running one stops after its current chunk
 * (what was applied stays, and the counters say how much).
 *
 * Needs: a transaction. It can throw: NotFoundError, JobStateError(job_not_cancellable).
 */
export async function cancelJob(trx: Trx, storeId: number, id: number): Promise<Job> {
  const job = await jobRow(trx, storeId, id);
  if (FINAL_STATUSES.has(job.status as JobStatus)) {
    throw new JobStateError('job_not_cancellable', `Job ${id} is already ${job.status}`);
  }
  // Conditional updates, not read-then-write: a worker may be committing a chunk (or the job's
  // end) right now; PostgreSQL re-checks the status once the worker's row lock is released.
  const now = Date.now();
  const cancelledNow = await trx
    .updateTable('jobs')
    .set({ status: 'cancelled', cancel_requested: 1, finished_at: now })
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  if (Number(cancelledNow.numUpdatedRows) === 0) {
    const requested = await trx
      .updateTable('jobs')
      .set({ cancel_requested: 1 })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(requested.numUpdatedRows) === 0) {
      const now2 = await jobRow(trx, storeId, id);
      throw new JobStateError('job_not_cancellable', `Job ${id} is already ${now2.status}`);
    }
  }
  return toJob(await jobRow(trx, storeId, id));
}

/**
 * Queues a job that writes a reversal row for each ledger row of a finished bulk job. Customers
 * who have spent the points since are skipped and reported, never driven negative.
 *
 * Needs: a transaction. It can throw: ValidationError, NotFoundError,
 * JobStateError(job_not_revertible | already_reverted).
 */
export async function createRevertJob(
  trx: Trx,
  storeId: number,
  id: number,
  input: { reason: string; customerMessage?: string | null },
  actor: Actor,
): Promise<Job> {
  const plan: RevertPlan = {
    jobId: id,
    reason: validReason(input.reason),
    customerMessage: optionalText(input.customerMessage, 'customerMessage', MESSAGE_MAX),
  };
  const original = await jobRow(trx, storeId, id);
  if (!jobKind(original.kind).revertible) throw new JobStateError('job_not_revertible', `A ${original.kind} job cannot be reverted`);
  if (!FINAL_STATUSES.has(original.status as JobStatus)) {
    throw new JobStateError('job_not_revertible', `Job ${id} is ${original.status}; cancel it or wait for it to finish`);
  }
  // A revert that failed or was cancelled may be started again for what it did not reverse.
  const existing = await trx
    .selectFrom('jobs')
    .select('id')
    .where('reverts_job_id', '=', id)
    .where('status', 'in', ['queued', 'running', 'completed'])
    .executeTakeFirst();
  if (existing) throw new JobStateError('already_reverted', `Job ${id} was already reverted by job ${existing.id}`);
  const job = await insertJob(trx, {
    store_id: storeId,
    kind: revertKind.kind,
    status: 'queued',
    params: encodeParams(revertKind, plan),
    actor_type: actor.type,
    actor_id: actor.id,
    actor_name: actor.name,
    reverts_job_id: id,
    state: null,
    created_at: Date.now(),
  }).catch((err) => {
    // A concurrent revert of the same job won the unique index on live reverts.
    throw isUniqueViolation(err) ? new JobStateError('already_reverted', `Job ${id} was already reverted`) : err;
  });
  return toJob(job);
}

export interface JobErrorRecord {
  line: number | null;
  column: string | null;
  customerId: number | null;
  code: string;
  message: string;
}

/** A job's error report, streamed in keyset batches. It can throw: NotFoundError. */
export async function* streamJobErrors(db: Kysely<DB>, storeId: number, id: number): AsyncGenerator<JobErrorRecord> {
  await jobRow(db, storeId, id);
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom('job_errors')
      .select(['id', 'line', 'column_name', 'customer_id', 'code', 'message'])
      .where('job_id', '=', id)
      .where('id', '>', after)
      .orderBy('id')
      .limit(2000)
      .execute();
    for (const r of rows) yield { line: r.line, column: r.column_name, customerId: r.customer_id, code: r.code, message: r.message };
    if (rows.length < 2000) return;
    after = rows[rows.length - 1].id;
  }
}
