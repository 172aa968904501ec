import { type Kysely, sql } from 'kysely';
import { type Dialect, idColumn, textC } from './helpers.js';

/**
 * CSV imports: a staging table for an upload's rows (validated set-based before anything is
 * applied), and what the ledger needs for an import job to give a customer several rows: a
 * nullable `job_line` (the file line a row came from), unique per job, while the one-row-per-
 * customer rule of bulk and revert jobs keeps holding for rows without one.
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema.alterTable('transactions').addColumn('job_line', bigint).execute();
    await db.schema.dropIndex('transactions_job_customer').execute();
    await db.schema
      .createIndex('transactions_job_customer')
      .on('transactions')
      .columns(['job_id', 'customer_id'])
      .unique()
      .where(sql<boolean>`job_id IS NOT NULL AND job_line IS NULL`)
      .execute();
    // An import job applies a file line at most once: a replayed chunk fails instead of doubling.
    await db.schema
      .createIndex('transactions_job_line')
      .on('transactions')
      .columns(['job_id', 'job_line'])
      .unique()
      .where(sql<boolean>`job_line IS NOT NULL`)
      .execute();
    // A revert of an import walks its rows by customer.
    await db.schema
      .createIndex('transactions_job_line_customer')
      .on('transactions')
      .columns(['job_id', 'customer_id', 'id'])
      .where(sql<boolean>`job_line IS NOT NULL`)
      .execute();

    await db.schema
      .createTable('import_rows')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('job_id', bigint, (c) => c.notNull())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('line', bigint, (c) => c.notNull())
      // As the file names the customer; customer_id is who they turned out to be.
      .addColumn('ref_id', bigint)
      .addColumn('external_id', textC(dialect))
      .addColumn('email', textC(dialect))
      .addColumn('customer_id', bigint)
      .addColumn('points', bigint, (c) => c.notNull())
      .addColumn('tier_points', bigint)
      .addColumn('type', 'text')
      .addColumn('reason', 'text')
      .addColumn('customer_message', 'text')
      .addColumn('reference', 'text')
      .addColumn('at', bigint)
      .addColumn('last_activity_at', bigint)
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      // null: valid so far; else the row's error code (the report has its message).
      .addColumn('error', 'text')
      // Apply order (per customer, in time order for history), fixed once validation is done.
      .addColumn('seq', bigint)
      // The first row of a member to create (1: by external id, 2: by e-mail), its group's
      // earliest time, and whether it gets the e-mail (see markLeaders).
      .addColumn('leader', 'integer')
      .addColumn('since', bigint)
      .addColumn('email_ok', 'integer')
      .execute();
    await db.schema.createIndex('import_rows_job_line').on('import_rows').columns(['job_id', 'line']).unique().execute();
    await db.schema.createIndex('import_rows_job_seq').on('import_rows').columns(['job_id', 'seq']).execute();
    // Few indexes: staging writes every row once, and the rules read the upload whole (joins and
    // window functions), by apply position (seq) or by customer (last activity).
    await db.schema.createIndex('import_rows_job_customer').on('import_rows').columns(['job_id', 'customer_id']).execute();
  };
}
