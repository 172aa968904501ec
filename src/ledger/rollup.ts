import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { prepared } from '../db/prepared.js';

/**
 * The ledger's running sums by quarter hour, type and actor (ledger_rollup), kept in the same
 * transaction as every row the write path appends, for points reports. `shard` is the writing
 * connection on PostgreSQL (its backend pid), so two writers never wait on one sum row; SQLite has
 * one writer. `tally verify` checks that the sums equal the ledger.
 */

export const BUCKET_MS = 900_000;

const KEY = 'store_id, bucket, type, actor_type, actor_id, actor_name, shard';
const COLUMNS = `${KEY}, credited, debited, rows`;
const MERGE = `ON CONFLICT (${KEY}) DO UPDATE SET credited = ledger_rollup.credited + excluded.credited,
  debited = ledger_rollup.debited + excluded.debited, rows = ledger_rollup.rows + excluded.rows`;

/** SQL of the sums of ledger rows `r` (a relation with store_id, type, points, actor_*, created_at), grouped by the key. */
function sumsOf(rows: RawBuilder<unknown> | string, shard: string): RawBuilder<unknown> {
  const from = typeof rows === 'string' ? sql.raw(rows) : rows;
  return sql`SELECT r.store_id, (r.created_at / ${sql.lit(BUCKET_MS)}) * ${sql.lit(BUCKET_MS)} AS bucket, r.type, r.actor_type,
      coalesce(r.actor_id, -1) AS actor_id, r.actor_name, ${sql.raw(shard)} AS shard,
      sum(CASE WHEN r.points > 0 THEN r.points ELSE 0 END) AS credited, sum(CASE WHEN r.points < 0 THEN r.points ELSE 0 END) AS debited, count(*) AS rows
    FROM ${from} r WHERE 1 = 1
    GROUP BY r.store_id, (r.created_at / ${sql.lit(BUCKET_MS)}) * ${sql.lit(BUCKET_MS)}, r.type, r.actor_type, coalesce(r.actor_id, -1), r.actor_name`;
}

/** PostgreSQL: the rollup as a CTE of the statement that wrote the rows (`relation`, e.g. `ins`). */
export function rollupCte(relation: string): RawBuilder<unknown> {
  return sql`roll AS (INSERT INTO ledger_rollup (${sql.raw(COLUMNS)}) ${sumsOf(relation, 'pg_backend_pid()')} ${sql.raw(MERGE)})`;
}

/** SQLite: adds a chunk's rows (a subquery of exactly them) to the sums. */
export async function rollupRows(trx: Trx, rows: RawBuilder<unknown>): Promise<void> {
  await sql`INSERT INTO ledger_rollup (${sql.raw(COLUMNS)}) ${sumsOf(rows, '0')} ${sql.raw(MERGE)}`.execute(trx);
}

const rollupOneSqlite = prepared(
  (db, storeId: number, at: number, type: string, actorType: string, actorId: number, actorName: string, credited: number, debited: number) => {
    const q = sql`INSERT INTO ledger_rollup (${sql.raw(COLUMNS)})
      VALUES (${storeId}, (CAST(${at} AS INTEGER) / ${sql.lit(BUCKET_MS)}) * ${sql.lit(BUCKET_MS)}, ${type}, ${actorType}, ${actorId}, ${actorName}, 0, ${credited}, ${debited}, 1)
      ${sql.raw(MERGE)}`;
    return { compile: () => q.compile(db) };
  },
);

/** SQLite: adds one row to the sums (the single-write path). */
export async function rollupRow(
  trx: Trx,
  row: { store_id: number; created_at: number; type: string; actor_type: string; actor_id: number | null; actor_name: string; points: number },
): Promise<void> {
  await rollupOneSqlite(trx, row.store_id, row.created_at, row.type, row.actor_type, row.actor_id ?? -1, row.actor_name, Math.max(row.points, 0), Math.min(row.points, 0));
}

/** The PostgreSQL single-write CTE, over the INSERT's `ins` and the statement's bound values. */
export function rollupOnePg(p: { store: string; points: string; type: string; actorType: string; actorId: string; actorName: string }): string {
  return `roll AS (INSERT INTO ledger_rollup (${COLUMNS})
    SELECT ${p.store}, (ins.created_at / ${BUCKET_MS}) * ${BUCKET_MS}, ${p.type}, ${p.actorType}, coalesce(${p.actorId}, -1), ${p.actorName}, pg_backend_pid(),
           greatest(${p.points}, 0), least(${p.points}, 0), 1 FROM ins
    ${MERGE})`;
}
