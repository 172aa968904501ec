import { type Kysely, PostgresAdapter } from 'kysely';
import type { Dialect } from './migrations/helpers.js';

/** Which dialect a handle (or a transaction of it) speaks, for the few dialect-specific statements. */
export function dialectOf(db: Pick<Kysely<unknown>, 'getExecutor'>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
