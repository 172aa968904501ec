import { type Kysely, sql } from 'kysely';
import { type Dialect, idColumn, textC } from './helpers.js';

/** Stores, keys, users, tiers, customers, the append-only ledger and idempotency keys. */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('stores')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('storefront_secret', 'text', (c) => c.notNull())
      .addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_prefix', 'text', (c) => c.notNull())
      .addColumn('key_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('revoked_at', bigint)
      .execute();
    await db.schema.createIndex('api_keys_store').on('api_keys').columns(['store_id', 'id']).execute();

    await db.schema
      .createTable('users')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addUniqueConstraint('users_store_email', ['store_id', 'email'])
      .execute();

    await db.schema
      .createTable('tiers')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('threshold', bigint, (c) => c.notNull())
      .addColumn('entry_reward_points', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tiers_store').on('tiers').columns(['store_id', 'threshold']).execute();

    await db.schema
      .createTable('customers')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('external_id', textC(dialect))
      .addColumn('email', textC(dialect))
      .addColumn('first_name', 'text')
      .addColumn('last_name', 'text')
      .addColumn('name_norm', textC(dialect))
      .addColumn('last_name_norm', textC(dialect))
      .addColumn('balance', bigint, (c) => c.notNull().defaultTo(0).check(sql`balance >= 0`))
      .addColumn('lifetime_points', bigint, (c) => c.notNull().defaultTo(0).check(sql`lifetime_points >= 0`))
      .addColumn('pending_points', bigint, (c) => c.notNull().defaultTo(0).check(sql`pending_points >= 0`))
      .addColumn('tier_id', bigint, (c) => c.references('tiers.id'))
      .addColumn('tier_manual', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('tier_changed_at', bigint)
      .addColumn('last_activity_at', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    if (dialect === 'postgres') {
      // Half of each page left free for new versions of updated rows: balance updates then stay
      // HOT (no index touched), which matters with eight indexes and bulk jobs that update every row.
      await sql`ALTER TABLE customers SET (fillfactor = 50)`.execute(db);
    }
    const customerIndexes: [string, string[], boolean?][] = [
      ['customers_store_external', ['store_id', 'external_id'], true],
      ['customers_store_email', ['store_id', 'email'], true],
      ['customers_store_name', ['store_id', 'name_norm']],
      ['customers_store_last_name', ['store_id', 'last_name_norm']],
      // Keyset order for lists and job chunks. No index on balance: every write would have to move
      // it, and a balance filter scans the store's rows in id order anyway.
      ['customers_store_id', ['store_id', 'id']],
      ['customers_store_activity', ['store_id', 'last_activity_at']],
      ['customers_store_tier', ['store_id', 'tier_id']],
      ['customers_store_tier_changed', ['store_id', 'tier_changed_at']],
    ];
    for (const [name, columns, unique] of customerIndexes) {
      let index = db.schema.createIndex(name).on('customers').columns(columns);
      if (unique) index = index.unique();
      await index.execute();
    }

    // No foreign keys on the ledger: a row is only ever written from a customer row read (and locked)
    // in the same transaction, and a per-row key check would double the cost of a bulk chunk.
    // `tally verify` checks that every row has its customer in its store.
    await db.schema
      .createTable('transactions')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('points', bigint, (c) => c.notNull())
      .addColumn('tier_points', bigint, (c) => c.notNull())
      .addColumn('balance_after', bigint, (c) => c.notNull().check(sql`balance_after >= 0`))
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('customer_message', 'text')
      .addColumn('visible_to_customer', 'integer', (c) => c.notNull())
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', bigint)
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('job_id', bigint)
      .addColumn('reverses_id', bigint)
      .addColumn('reference', 'text')
      .addColumn('idempotency_key', 'text')
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('transactions_store_id').on('transactions').columns(['store_id', 'id']).execute();
    await db.schema
      .createIndex('transactions_customer')
      .on('transactions')
      .columns(['store_id', 'customer_id', 'id'])
      .execute();
    await db.schema
      .createIndex('transactions_created')
      .on('transactions')
      .columns(['store_id', 'created_at'])
      .execute();
    // A customer appears at most once per job; a replayed chunk after a crash is a no-op.
    await db.schema
      .createIndex('transactions_job_customer')
      .on('transactions')
      .columns(['job_id', 'customer_id'])
      .unique()
      .where(sql.ref('job_id'), 'is not', null)
      .execute();
    // A row can be reversed once: the database refuses a second reversal.
    await db.schema
      .createIndex('transactions_reverses')
      .on('transactions')
      .column('reverses_id')
      .unique()
      .where(sql.ref('reverses_id'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('transactions_store_reference')
      .on('transactions')
      .columns(['store_id', 'reference'])
      .unique()
      .where(sql.ref('reference'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('transactions_store_idempotency')
      .on('transactions')
      .columns(['store_id', 'idempotency_key'])
      .unique()
      .where(sql.ref('idempotency_key'), 'is not', null)
      .execute();
    await appendOnly(db, dialect, 'transactions');

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('status_code', 'integer', (c) => c.notNull())
      .addColumn('response_body', 'text', (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['store_id', 'key'])
      .execute();
  };
}

/** Triggers that make a table append-only: no code path, however buggy, rewrites history. */
async function appendOnly(db: Kysely<any>, dialect: Dialect, table: string): Promise<void> {
  if (dialect === 'postgres') {
    await sql`CREATE OR REPLACE FUNCTION tally_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'the table % is append-only', TG_TABLE_NAME USING ERRCODE = 'raise_exception'; END $$`.execute(db);
    await sql`CREATE TRIGGER ${sql.raw(table)}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${sql.table(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION tally_append_only()`.execute(db);
    return;
  }
  for (const op of ['UPDATE', 'DELETE']) {
    await sql`CREATE TRIGGER ${sql.raw(`${table}_no_${op.toLowerCase()}`)} BEFORE ${sql.raw(op)} ON ${sql.table(table)}
      BEGIN SELECT RAISE(ABORT, ${sql.lit(`the table ${table} is append-only`)}); END`.execute(db);
  }
}
