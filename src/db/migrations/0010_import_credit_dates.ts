import type { Kysely } from 'kysely';
import type { Dialect } from './helpers.js';

/**
 * Import rows may carry a credit's dates, as a single adjustment does: `available_at` (set only
 * when it was in the future at upload: the row becomes a pending credit) and `expires_at` (the
 * explicit expiry of the credit's points). Staging rows only; nothing to migrate.
 */
export function up(dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
    await db.schema.alterTable('import_rows').addColumn('available_at', bigint).execute();
    await db.schema.alterTable('import_rows').addColumn('expires_at', bigint).execute();
  };
}
