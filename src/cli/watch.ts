import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import { FINAL_STATUSES, type Job } from '../domain/jobs.js';
import { getJob } from '../ledger/jobs.js';
import { progressReporter } from './progress.js';

/** Follows a job from the database until it reaches a final status; returns its last state. */
export async function watchJob(db: Kysely<DB>, storeId: number, id: number): Promise<Job> {
  let job = await getJob(db, storeId, id);
  const progress = progressReporter(`job ${id} (${job.kind})`, Math.max(job.total, 1));
  while (!FINAL_STATUSES.has(job.status)) {
    progress.update(job.processed, job.total);
    await new Promise((r) => setTimeout(r, 250));
    job = await getJob(db, storeId, id);
  }
  progress.update(job.processed, job.total);
  progress.stop();
  return job;
}
