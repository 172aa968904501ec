import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
import { dialectOf } from './dialect-of.js';
import type { Dialect } from './migrations/helpers.js';
import type { DB } from './schema.js';

/**
 * The SQL texts of prepared() queries. On PostgreSQL each connection also prepares them
 * server-side once (a named statement), so the server skips parsing and planning them too.
 */
export const PREPARED_SQL = new Set<string>();

/** Values no caller passes: they mark where each argument lands among the compiled parameters. */
const SENTINEL_BASE = -7_919_000_000_001;

/**
 * Compiles a query once per database handle and then only swaps its parameters: for the few
 * statements every adjustment runs, building and compiling the query on each call cost as much
 * as running it. `build` must pass each argument through as a bound value (as the query builder
 * does), never into the SQL text.
 *
 * @example const findName = prepared((db, id: number) => db.selectFrom('stores').select('name').where('id', '=', id));
 *          const rows = await findName(trx, 7);
 */
export function prepared<A extends unknown[], R>(build: (db: Kysely<DB>, ...args: A) => Compilable<R>) {
  const compiled = new Map<Dialect, { sql: string; slots: number[] }>();
  return async (db: Kysely<DB>, ...args: A): Promise<R[]> => {
    const key = dialectOf(db);
    let entry = compiled.get(key);
    if (!entry) {
      const sentinels = args.map((_, i) => SENTINEL_BASE - i) as unknown as A;
      const query = build(db, ...sentinels).compile();
      const slots = query.parameters.map((p) => (typeof p === 'number' ? SENTINEL_BASE - p : -1));
      if (slots.some((s) => s < 0 || s >= args.length)) throw new Error('prepared(): every parameter must be an argument');
      entry = { sql: query.sql, slots };
      compiled.set(key, entry);
      PREPARED_SQL.add(query.sql);
    }
    const result = await db.executeQuery<R>(CompiledQuery.raw(entry.sql, entry.slots.map((s) => args[s])));
    return result.rows;
  };
}
