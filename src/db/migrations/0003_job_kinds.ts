import { type Kysely, sql } from 'kysely';
import type { Dialect } from './helpers.js';

/**
 * Jobs as kinds of a registry: a job's large inputs (a list of up to 100,000 customer ids) move
 * out of `jobs.params`, so lists of jobs and progress streams never read them; `jobs.state` keeps
 * a kind's own progress between chunks (which phase, how far); a failed or cancelled revert no
 * longer blocks a new revert of the same job.
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('job_inputs')
      .addColumn('job_id', bigint, (c) => c.primaryKey())
      .addColumn('data', 'text', (c) => c.notNull())
      .execute();
    await db.schema.alterTable('jobs').addColumn('state', 'text').execute();
    await db.schema.dropIndex('jobs_reverts').execute();
    await db.schema
      .createIndex('jobs_reverts_live')
      .on('jobs')
      .column('reverts_job_id')
      .unique()
      .where(sql<boolean>`reverts_job_id IS NOT NULL AND status IN ('queued', 'running', 'completed')`)
      .execute();
  };
}
