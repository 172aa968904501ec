import { type Kysely, sql } from 'kysely';
import type { Dialect } from './helpers.js';

/**
 * The staged rows' apply-position and customer indexes hold only the rows that have one: an
 * add or set import has no apply positions (it applies in customer order), and members still to
 * create have no customer yet. Staging a million rows then writes no index entry for a NULL.
 * Every read of these indexes compares the column (`seq > …`, `customer_id = …`), which implies
 * it is not NULL, so both databases still use them. Staging rows only; nothing to migrate.
 */
export function up(_dialect: Dialect) {
  return async (db: Kysely<any>): Promise<void> => {
    for (const [name, column] of [
      ['import_rows_job_seq', 'seq'],
      ['import_rows_job_customer', 'customer_id'],
    ] as const) {
      await db.schema.dropIndex(name).execute();
      await db.schema.createIndex(name).on('import_rows').columns(['job_id', column]).where(sql.ref(column), 'is not', null).execute();
    }
  };
}
