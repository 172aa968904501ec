import type { Kysely } from 'kysely';
import type { Dialect } from './helpers.js';

/**
 * Staff accounts and the admin app: users can be deactivated, API keys carry a role,
 * server-side sessions (stored as SHA-256 of the cookie's token, so a database leak holds no
 * usable session) and failed logins (the throttle's memory, shared by every instance).
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema.alterTable('users').addColumn('active', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.alterTable('api_keys').addColumn('role', 'text').execute();
    await db.schema
      .createTable('sessions')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('store_id', bigint, (c) => c.notNull().references('stores.id'))
      .addColumn('user_id', bigint, (c) => c.notNull().references('users.id'))
      .addColumn('created_at', bigint, (c) => c.notNull())
      .addColumn('expires_at', bigint, (c) => c.notNull())
      .addColumn('revoked_at', bigint)
      .execute();
    await db.schema.createIndex('sessions_user').on('sessions').columns(['user_id']).execute();
    await db.schema
      .createTable('login_failures')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('at', bigint, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('login_failures_subject').on('login_failures').columns(['subject', 'at']).execute();
  };
}
