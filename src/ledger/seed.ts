import { type Kysely, sql } from 'kysely';
import type { Committer } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import type { DB } from '../db/schema.js';

const FIRST = ['Ava', 'Liam', 'Olivia', 'Noah', 'Emma', 'Oliver', 'Sophia', 'Elijah', 'Isabella', 'James', 'Mia', 'Lucas', 'Amara', 'Mateo', 'Yuki', 'Chen', 'Priya', 'Omar', 'Fatima', 'Sven', 'Ingrid', 'Kofi', 'Lucía', 'Dmitri'];
const LAST = ['Smith', 'Johnson', 'García', 'Nguyen', 'Müller', 'Rossi', 'Kowalski', 'Tanaka', 'Okafor', 'Haddad', 'Silva', 'Dubois', 'Jensen', 'Patel', 'Kim', 'Novak', 'Brown', 'Martin', 'Cohen', 'Larsen', "O'Brien", 'Sato', 'Ivanova', 'Mensah'];
const CHUNK = 100_000;
const DAY_MS = 86_400_000;

export interface SeedResult {
  customers: number;
  transactions: number;
}

function pick(list: string[], n: string) {
  return sql.raw(`(CASE (${n}) ${list.map((v, i) => `WHEN ${i} THEN '${v.replace(/'/g, "''")}'`).join(' ')} END)`);
}

/**
 * Adds `count` sample customers with varied names, balances (a quarter at zero) and activity dates
 * over the last two years, each non-zero balance backed by an `import` ledger row, so every
 * invariant holds. Set-based: one INSERT … SELECT per 100,000 customers, no statement per row.
 */
export async function seedCustomers(
  db: Kysely<DB>,
  committer: Committer,
  storeId: number,
  count: number,
  onProgress: (done: number) => void = () => undefined,
): Promise<SeedResult> {
  const run = Date.now().toString(36);
  const now = Date.now();
  const series = dialectOf(db) === 'postgres'
    ? (from: number, to: number) => sql`SELECT n FROM generate_series(${sql.lit(from)}::bigint, ${sql.lit(to)}::bigint) AS g(n)`
    : (from: number, to: number) =>
        sql`WITH RECURSIVE seq(n) AS (SELECT ${sql.lit(from)} UNION ALL SELECT n + 1 FROM seq WHERE n < ${sql.lit(to)}) SELECT n FROM seq`;
  const first = pick(FIRST, 'n % 24');
  const last = pick(LAST, '(n / 24) % 24');
  let transactions = 0;
  for (let from = 1; from <= count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK - 1);
    transactions += await committer.run(async (trx) => {
      const before = await trx.selectFrom('customers').select(sql<number>`coalesce(max(id), 0)`.as('max')).executeTakeFirstOrThrow();
      await sql`
        INSERT INTO customers (store_id, external_id, email, first_name, last_name, name_norm, last_name_norm,
                               balance, lifetime_points, pending_points, tier_manual, last_activity_at, created_at)
        SELECT ${storeId}, ${`seed-${run}-`} || n, lower(fn) || '.' || lower(ln) || '.' || ${run} || n || '@example.com',
               fn, ln, lower(fn || ' ' || ln), lower(ln), bal, bal, 0, 0,
               ${now} - ((n * 104729) % 730) * ${DAY_MS} - (n % 86400) * 1000, ${now}
        FROM (SELECT n, ${first} AS fn, ${last} AS ln,
                     CASE WHEN n % 4 = 0 THEN 0 ELSE ((n * 7919) % 5000) + (n % 7) * 10 END AS bal
              FROM (${series(from, to)}) s) g`.execute(trx);
      const inserted = await sql`
        INSERT INTO transactions (store_id, customer_id, type, points, tier_points, balance_after, reason,
                                  customer_message, visible_to_customer, actor_type, actor_id, actor_name, created_at)
        SELECT store_id, id, 'import', balance, balance, balance, 'Sample data (tally seed)', NULL, 1,
               'system', NULL, 'tally seed', ${now}
        FROM customers WHERE store_id = ${storeId} AND id > ${Number(before.max)} AND balance > 0`.execute(trx);
      return Number(inserted.numAffectedRows ?? 0);
    });
    onProgress(to);
  }
  if (dialectOf(db) === 'postgres') await sql`ANALYZE customers, transactions`.execute(db);
  return { customers: count, transactions };
}
