import type { Trx } from '../committer.js';
import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Job, JobKind, JobStatus } from '../../domain/jobs.js';
import { dialectOf } from '../dialect-of.js';
import type { DB, JobRow, JobsTable } from '../schema.js';
import { iso } from '../time.js';

export function toJob(r: JobRow): Job {
  const params = JSON.parse(r.params) as Record<string, unknown>;
  const selection = params.selection as Record<string, unknown> | undefined;
  // The id list can be 100,000 long: the job shows how many, not which.
  const shown = selection && 'customerIds' in selection
    ? { ...params, selection: { customerIds: (selection.customerIds as number[]).length } }
    : params;
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
    params: shown,
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

export async function findJob(db: Kysely<DB>, storeId: number, id: number): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
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

/** Ids of jobs a worker may work on, oldest first. */
export async function runnableJobIds(db: Kysely<DB>, limit = 8): Promise<number[]> {
  const rows = await db
    .selectFrom('jobs')
    .select('id')
    .where('status', 'in', ['queued', 'running'])
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

export async function updateJob(trx: Kysely<DB>, id: number, set: Updateable<JobsTable>): Promise<void> {
  await trx.updateTable('jobs').set(set).where('id', '=', id).execute();
}

export { appendOutbox } from './outbox.js';
