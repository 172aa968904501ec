import { type Kysely, sql } from 'kysely';
import type { Committer } from '../db/committer.js';
import { appendLedgerRows } from './append.js';
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
 * over the last two years, each non-zero balance backed by an `import` ledger row written through
 * the write path, so every invariant holds. Set-based: a few statements per 100,000 customers.
 */
export async function seedCustomers(
  db: Kysely<DB>,
  committer: Committer,
  storeId: number,
  count: number,
  onProgress: (done: number) => void = () => undefined,
): Promise<SeedResult> {
  const run = Date.now().toString(36);
  const tag = `seed-${run}-`;
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
        SELECT ${storeId}, ${tag} || n, lower(fn) || '.' || lower(ln) || '.' || ${run} || n || '@example.com',
               fn, ln, lower(fn || ' ' || ln), lower(ln), 0, 0, 0, 0,
               ${now} - ((n * 104729) % 730) * ${DAY_MS} - (n % 86400) * 1000, ${now}
        FROM (SELECT n, ${first} AS fn, ${last} AS ln FROM (${series(from, to)}) s) g`.execute(trx);
      // Opening balances through the write path, for the customers this run created only (ids
      // above the highest before it and this run's external ids: on PostgreSQL other sessions
      // may be creating customers meanwhile).
      const balance = sql<number>`CASE WHEN c.id % 4 = 0 THEN 0 ELSE ((c.id * 7919) % 5000) + (c.id % 7) * 10 END`;
      const appended = await appendLedgerRows(trx, {
        storeId,
        customers: sql<boolean>`c.store_id = ${storeId} AND c.id > ${Number(before.max)}
          AND c.external_id >= ${tag} AND c.external_id < ${`${tag}\u{10FFFF}`}`,
        where: sql<boolean>`${balance} > 0`,
        row: {
          store_id: sql`c.store_id`,
          customer_id: sql`c.id`,
          type: 'import',
          points: balance,
          tier_points: balance,
          balance_after: balance,
          reason: 'Sample data (tally seed)',
          customer_message: null,
          visible_to_customer: 1,
          actor_type: 'system',
          actor_id: null,
          actor_name: 'tally seed',
          job_id: null,
          reverses_id: null,
          reference: null,
          idempotency_key: null,
          created_at: now,
          job_line: null,
        },
      });
      return appended.rows;
    });
    onProgress(to);
  }
  if (dialectOf(db) === 'postgres') await sql`ANALYZE customers, transactions`.execute(db);
  return { customers: count, transactions };
}
