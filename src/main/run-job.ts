import { createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import { JobRunner, type RunnerOptions } from '../jobs/runner.js';

/**
 * Works on one job in this process until it ends (or another runner holds it: a server's worker
 * sharing the database then finishes it). For commands that start a job and wait for it (`tally
 * import`), so the CLI never reaches into src/jobs itself.
 */
export async function runJobHere(database: Database, jobId: number, opts: RunnerOptions = {}): Promise<void> {
  const runner = new JobRunner(database.db, createCommitter(database, { mayBlock: true }), opts);
  await runner.runJob(jobId);
}
