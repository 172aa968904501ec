import { type Kysely, sql } from 'kysely';
import { type Dialect, idColumn } from './helpers.js';

/** Durable background jobs, their selected customers and error reports, and the event outbox. */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('jobs')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', bigint)
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('total', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('processed', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('succeeded', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('skipped', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('failed', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('total_points', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('cursor', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('snapshot_max_id', bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('reverts_job_id', bigint, (c) => c.references('jobs.id'))
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('worker', 'text')
      .addColumn('heartbeat_at', bigint)
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error', 'text')
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('started_at', bigint)
      .addColumn('finished_at', bigint)
      .execute();
    await db.schema.createIndex('jobs_store').on('jobs').columns(['store_id', 'id']).execute();
    await db.schema
      .createIndex('jobs_runnable')
      .on('jobs')
      .columns(['status', 'id'])
      .where(sql.ref('status'), 'in', ['queued', 'running'])
      .execute();
    // A job is reverted at most once.
    await db.schema
      .createIndex('jobs_reverts')
      .on('jobs')
      .column('reverts_job_id')
      .unique()
      .where(sql.ref('reverts_job_id'), 'is not', null)
      .execute();

    // The customers a filter selected, fixed when the job starts (and kept: they say exactly whom
    // the job was about, whatever their balances did since).
    let targets = db.schema
      .createTable('job_targets')
      .addColumn('job_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('job_targets_pk', ['job_id', 'customer_id']);
    if (dialect === 'sqlite') targets = targets.modifyEnd(sql`without rowid`);
    await targets.execute();

    await db.schema
      .createTable('job_errors')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('job_id', bigint, (c) => c.notNull().references('jobs.id'))
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint)
      .addColumn('line', bigint)
      .addColumn('column_name', 'text')
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('job_errors_job').on('job_errors').columns(['job_id', 'id']).execute();

    await db.schema
      .createTable('outbox')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('outbox_store').on('outbox').columns(['store_id', 'id']).execute();
  };
}
