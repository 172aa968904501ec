import { type Kysely, sql } from 'kysely';
import { type Dialect, idColumn } from './helpers.js';

/**
 * Tiers with entry rewards, a rewards catalog and coupons, point lots (what is left of each
 * credit, for expiry), pending credits, and the store's expiry rule as columns (the write path
 * reads it in SQL).
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema.alterTable('stores').addColumn('expiry_mode', 'text', (c) => c.notNull().defaultTo('none')).execute();
    await db.schema.alterTable('stores').addColumn('expiry_days', 'integer').execute();

    // A tier is never deleted (customers' history names it): a tier table without it retires it.
    await db.schema.alterTable('tiers').addColumn('entry_reward_id', bigint).execute();
    await db.schema.alterTable('tiers').addColumn('retired_at', bigint).execute();

    await db.schema
      .createTable('rewards')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('points_cost', bigint, (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('value', sql`numeric`)
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rewards_store').on('rewards').columns(['store_id', 'id']).execute();

    await db.schema
      .createTable('coupons')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addColumn('reward_id', bigint, (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      /** redemption (points deducted), free (given), tier_entry (a tier's entry reward). */
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('transaction_id', bigint)
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('disabled_at', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('coupons_store_code').on('coupons').columns(['store_id', 'code']).unique().execute();
    await db.schema.createIndex('coupons_customer').on('coupons').columns(['store_id', 'customer_id', 'id']).execute();

    // Once per customer and tier, ever: entering a tier again grants nothing. `reward_pending`
    // marks an entry whose points reward is still to be written (in the same transaction).
    await db.schema
      .createTable('tier_entries')
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addColumn('tier_id', bigint, (c) => c.notNull())
      .addColumn('reward_pending', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('tier_entries_pk', ['store_id', 'customer_id', 'tier_id'])
      .execute();
    await db.schema
      .createIndex('tier_entries_pending')
      .on('tier_entries')
      .columns(['store_id', 'customer_id'])
      .where(sql.ref('reward_pending'), '=', 1)
      .execute();

    // Every tier move, automatic or manual, with who and why: the customer page's tier history.
    await db.schema
      .createTable('tier_history')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addColumn('from_tier_id', bigint)
      .addColumn('to_tier_id', bigint)
      .addColumn('manual', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', bigint)
      .addColumn('actor_name', 'text', (c) => c.notNull())
      .addColumn('job_id', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tier_history_customer').on('tier_history').columns(['store_id', 'customer_id', 'id']).execute();

    // What is left of each credit. Σ remaining = balance for every customer (tally verify).
    // `expires_at` is an explicit expiry given with the credit; under per_credit the others
    // expire `expiry_days` after created_at (computed, so a changed rule applies to every lot).
    await db.schema
      .createTable('point_lots')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      .addColumn('transaction_id', bigint)
      .addColumn('points', bigint, (c) => c.notNull())
      .addColumn('remaining', bigint, (c) => c.notNull().check(sql`remaining >= 0`))
      .addColumn('expires_at', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('point_lots_open')
      .on('point_lots')
      .columns(['store_id', 'customer_id', 'id'])
      .where(sql.ref('remaining'), '>', 0)
      .execute();
    // The balances held before lots existed become one lot each, dated when the customer joined.
    await sql`INSERT INTO point_lots (store_id, customer_id, transaction_id, points, remaining, expires_at, created_at)
      SELECT store_id, id, NULL, balance, balance, NULL, created_at FROM customers WHERE balance > 0`.execute(db);

    // Credits that become spendable later: not in the balance until they mature as a ledger row.
    await db.schema
      .createTable('pending_credits')
      .addColumn('id', idColumn(dialect), (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      /** The zero-point `pending` ledger row that records the request (who, when, why). */
      .addColumn('transaction_id', bigint, (c) => c.notNull())
      .addColumn('points', bigint, (c) => c.notNull().check(sql`points > 0`))
      .addColumn('affects_tier', 'integer', (c) => c.notNull())
      .addColumn('visible_to_customer', 'integer', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('customer_message', 'text')
      .addColumn('expires_at', bigint)
      .addColumn('available_at', bigint, (c) => c.notNull())
      /** pending, matured, cancelled. */
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('settled_transaction_id', bigint)
      .addColumn('created_at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('pending_credits_tx').on('pending_credits').columns(['store_id', 'transaction_id']).unique().execute();
    await db.schema
      .createIndex('pending_credits_due')
      .on('pending_credits')
      .columns(['store_id', 'available_at'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    await db.schema
      .createIndex('pending_credits_customer')
      .on('pending_credits')
      .columns(['store_id', 'customer_id'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();

    // At most one live expiry run per store, across every instance.
    await db.schema
      .createIndex('jobs_expiry_live')
      .on('jobs')
      .column('store_id')
      .unique()
      .where(sql<boolean>`kind = 'expiry' AND status IN ('queued', 'running')`)
      .execute();
  };
}
