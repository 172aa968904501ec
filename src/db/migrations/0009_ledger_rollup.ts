import { type Kysely, sql } from 'kysely';
import type { Dialect } from './helpers.js';

/**
 * The ledger summed by quarter hour, type and actor, kept by the write path in the same
 * transaction as the rows: points reports over a year of ten million rows read a few hundred
 * thousand sums instead. `shard` is the writing connection (PostgreSQL backend pid; 0 on SQLite),
 * so concurrent writers never wait on one another's sum row. Rows that existed before are summed here.
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('ledger_rollup')
      .addColumn('store_id', bigint, (c) => c.notNull())
      /** Start of the quarter hour (epoch ms) the rows' created_at falls in. */
      .addColumn('bucket', bigint, (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('actor_type', 'text', (c) => c.notNull())
      /** The actor's id, -1 for none (a key column cannot be NULL and still match). */
      .addColumn('actor_id', bigint, (c) => c.notNull())
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('shard', bigint, (c) => c.notNull())
      .addColumn('credited', bigint, (c) => c.notNull())
      .addColumn('debited', bigint, (c) => c.notNull())
      .addColumn('rows', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('ledger_rollup_pk', ['store_id', 'bucket', 'type', 'actor_type', 'actor_id', 'actor_name', 'shard'])
      .execute();
    await sql`INSERT INTO ledger_rollup (store_id, bucket, type, actor_type, actor_id, actor_name, shard, credited, debited, rows)
      SELECT store_id, (created_at / 900000) * 900000, type, actor_type, coalesce(actor_id, -1), actor_name, 0,
             sum(CASE WHEN points > 0 THEN points ELSE 0 END), sum(CASE WHEN points < 0 THEN points ELSE 0 END), count(*)
      FROM transactions GROUP BY store_id, (created_at / 900000) * 900000, type, actor_type, coalesce(actor_id, -1), actor_name`.execute(db);
  };
}
