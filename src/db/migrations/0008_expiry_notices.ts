import type { Kysely } from 'kysely';
import type { Dialect } from './helpers.js';

/** `customer.points_expiring` is sent once per customer and expiry day: the days already told. */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema
      .createTable('expiry_notices')
      .addColumn('store_id', bigint, (c) => c.notNull())
      .addColumn('customer_id', bigint, (c) => c.notNull())
      /** The expiry day (UTC), as epoch ms of its start. */
      .addColumn('expires_on', bigint, (c) => c.notNull())
      .addColumn('points', bigint, (c) => c.notNull())
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint('expiry_notices_pk', ['store_id', 'customer_id', 'expires_on'])
      .execute();
  };
}
