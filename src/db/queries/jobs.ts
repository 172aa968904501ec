import type { Trx } from '../committer.js';
import { type Insertable, type Kysely, sql, type Updateable } from 'kysely';
import type { Job, JobKind, JobStatus } from '../../domain/jobs.js';
import { dialectOf } from '../dialect-of.js';
import type { DB, JobRow, JobsTable } from '../schema.js';
import { iso } from '../time.js';

/** A job as the API shows it. Parameters are small (large inputs live in job_inputs); a list is shown by its length. */
export function toJob(r: JobRow): Job {
  const { v: _version, ...params } = JSON.parse(r.params) as Record<string, unknown>;
  const selection = params.selection as Record<string, unknown> | undefined;
  if (selection && 'listed' in selection) params.selection = { customerIds: selection.listed };
  // Jobs queued by release 0.1 kept the id list itself in their parameters.
  else if (selection && Array.isArray(selection.customerIds)) params.selection = { customerIds: selection.customerIds.length };
  return {
    id: r.id,
    kind: r.kind as JobKind,
    status: r.status as JobStatus,
    total: r.total,
    processed: r.processed,
    succeeded: r.succeeded,
    skipped: r.skipped,
    failed: r.failed,
    totalPoints: r.total_points,
    cancelRequested: r.cancel_requested === 1,
    revertsJobId: r.reverts_job_id,
    params,
    actor: { type: r.actor_type, id: r.actor_id, name: r.actor_name },
    createdAt: iso(r.created_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    error: r.error,
  };
}

export async function insertJob(trx: Kysely<DB>, row: Insertable<JobsTable>): Promise<JobRow> {
  return trx.insertInto('jobs').values(row).returningAll().executeTakeFirstOrThrow();
}

/**
 * Queues a job over a store's customers (tier evaluation, expiry): its snapshot is the store's
 * highest customer id now. With `unlessLive`, a unique index on live jobs (expiry: one per store)
 * may refuse it: then nothing is written and the answer is undefined.
 */
export async function insertStoreJob(
  trx: Kysely<DB>,
  storeId: number,
  job: { kind: string; params: string; actor: { type: string; id: number | null; name: string } },
  opts: { unlessLive?: boolean } = {},
): Promise<JobRow | undefined> {
  const max = await sql<{ id: number | null }>`SELECT max(id) AS id FROM customers WHERE store_id = ${storeId}`.execute(trx);
  const insert = trx.insertInto('jobs').values({
    store_id: storeId,
    kind: job.kind,
    status: 'queued',
    params: job.params,
    actor_type: job.actor.type,
    actor_id: job.actor.id,
    actor_name: job.actor.name,
    snapshot_max_id: Number(max.rows[0].id ?? 0),
    reverts_job_id: null,
    state: null,
    created_at: Date.now(),
  });
  return (opts.unlessLive ? insert.onConflict((oc) => oc.doNothing()) : insert).returningAll().executeTakeFirst();
}

/**
 * An import whose upload is still arriving: its rows are being staged, it is not runnable, and
 * the API does not show it (an interrupted upload's job is deleted with its rows).
 */
export const UPLOADING = 'uploading';

export async function findJob(db: Kysely<DB>, storeId: number, id: number): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('store_id', '=', storeId).where('id', '=', id).where('status', '<>', UPLOADING).executeTakeFirst();
}

/**
 * Takes a job for one chunk. On PostgreSQL the row lock (FOR UPDATE SKIP LOCKED) is the lease:
 * held for exactly one chunk transaction, released by commit or by the death of the worker's
 * connection, so two workers can share a job and never run the same chunk. On SQLite the
 * chunk's BEGIN IMMEDIATE already makes the worker the only writer.
 */
export async function lockJob(trx: Trx, id: number): Promise<JobRow | undefined> {
  const q = trx.selectFrom('jobs').selectAll().where('id', '=', id);
  return (dialectOf(trx) === 'postgres' ? q.forUpdate().skipLocked() : q).executeTakeFirst();
}

/** The oldest runnable (queued or running) job of each store: a store's jobs run in order. */
export async function runnableJobs(db: Kysely<DB>): Promise<{ id: number; store_id: number }[]> {
  return db
    .selectFrom('jobs')
    .select([sql<number>`min(id)`.as('id'), 'store_id'])
    .where('status', 'in', ['queued', 'running'])
    .groupBy('store_id')
    .orderBy('id')
    .execute();
}

export async function updateJob(trx: Kysely<DB>, id: number, set: Updateable<JobsTable>): Promise<void> {
  await trx.updateTable('jobs').set(set).where('id', '=', id).execute();
}

