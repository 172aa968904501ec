import { CompiledQuery, type RawBuilder, sql } from 'kysely';
import type { Effect } from '../domain/balance.js';
import { tierForSql } from '../domain/tiers-sql.js';
import { type Actor, type LedgerWrite, SYSTEM_ACTOR, type TransactionType } from '../domain/types.js';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { type CustomerRecord, lockCustomer, toCustomer } from '../db/queries/customers.js';
import { appendTransactionBatchEvents, appendTransactionEvent } from '../db/queries/outbox.js';
import { toTransaction } from '../db/queries/transactions.js';
import { prepared, PREPARED_SQL } from '../db/prepared.js';
import type { TransactionRow } from '../db/schema.js';
import { PG_COMPILER } from '../db/compilers.js';
import { consumeSql, lotsForRow, lotsForRows, lotsFromIns } from './lots.js';
import { moveTiers } from './tier-moves.js';
import { rollupCte, rollupOnePg, rollupRow, rollupRows } from './rollup.js';

/**
 * The write path: the only code that inserts into the ledger (`transactions`) or moves a
 * customer's cached totals (`balance`, `lifetime_points`). Every writer — single adjustments,
 * resets and reversals, bulk and revert chunks, the seed, and later imports, expiry and
 * redemptions — appends through one of its two forms, so an effect that must accompany every
 * ledger row (tier moves, expiry lots, outbox rows) is added here once, in the writer's transaction:
 *  - appendLedgerRow: one row for one locked customer (the hot path: prepared statements, group commit);
 *  - appendLedgerRows: a chunk's rows, set-based (never a statement per customer).
 * Both are built from one description of the row, LedgerRow: a column added to the ledger fails
 * to compile at every writer until it supplies it.
 */

/** Every column of a ledger row but its id. */
export type LedgerRow = Omit<TransactionRow, 'id'>;

/** Column order of every INSERT, with each column's SQL type (for casts of bound values). */
const LEDGER_COLUMNS = {
  store_id: 'bigint',
  customer_id: 'bigint',
  type: 'text',
  points: 'bigint',
  tier_points: 'bigint',
  balance_after: 'bigint',
  reason: 'text',
  customer_message: 'text',
  visible_to_customer: 'integer',
  actor_type: 'text',
  actor_id: 'bigint',
  actor_name: 'text',
  job_id: 'bigint',
  reverses_id: 'bigint',
  reference: 'text',
  idempotency_key: 'text',
  created_at: 'bigint',
  job_line: 'bigint',
} as const satisfies Record<keyof LedgerRow, string>;
const COLUMNS = Object.keys(LEDGER_COLUMNS) as (keyof LedgerRow)[];

/**
 * Ledger rows that count as the customer's own activity, which `lastActivityAt` (and the
 * "inactive since" filters and inactivity expiry) are about. Staff adjustments, resets,
 * reversals, imports and expiry are not the customer's doing.
 */
export const CUSTOMER_ACTIVITY: readonly TransactionType[] = ['redemption'];
const ACTIVITY_SQL = sql.raw(CUSTOMER_ACTIVITY.map((t) => `'${t}'`).join(', '));

/** What a single write says about its row; the rest comes from the customer, the effect and the actor. */
export interface RowFields {
  type: TransactionType;
  reason: string;
  customerMessage: string | null;
  visibleToCustomer: boolean;
  reversesId?: number | null;
  reference?: string | null;
  idempotencyKey?: string | null;
  /** An explicit expiry of a credit's points (epoch ms), whatever the store's rule. */
  expiresAt?: number | null;
}

/**
 * PostgreSQL: the guarded UPDATE and the ledger INSERT as one statement (one round trip); the row
 * is written only if the guard matched. `created_at` is the database's clock when the row is
 * written under the customer's lock, so times follow commit order per customer whichever app
 * server wrote them.
 */
const PG_BOUND = COLUMNS.filter((c) => c !== 'created_at');
const PG_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
const EXPIRES = `$${PG_BOUND.length + 6}::bigint`;
/** SQL text of a builder whose values are all raw `$n` placeholders of APPEND_ONE_PG. */
const pg = (q: RawBuilder<unknown>) => q.compile(PG_COMPILER).sql;
/** The bound parameter of a ledger column in APPEND_ONE_PG, typed. */
const bound = (c: (typeof PG_BOUND)[number]) => `$${PG_BOUND.indexOf(c) + 6}::${LEDGER_COLUMNS[c]}`;
const APPEND_ONE_PG = `WITH applied AS (
  UPDATE customers SET balance = balance + $1, lifetime_points = lifetime_points + $2,
                       last_activity_at = CASE WHEN $3::boolean THEN ${PG_NOW} ELSE last_activity_at END
  WHERE store_id = $4 AND id = $5 AND balance + $1 >= 0
  RETURNING id, tier_manual, ${pg(tierForSql(sql.raw('$4'), sql.raw('customers.lifetime_points')))} AS target),
ins AS (
  INSERT INTO transactions (${[...PG_BOUND, 'created_at'].join(', ')})
  SELECT ${PG_BOUND.map((c, i) => `$${i + 6}::${LEDGER_COLUMNS[c]}`).join(', ')}, ${PG_NOW}
  FROM applied RETURNING id, created_at),
lot AS (
  INSERT INTO point_lots (store_id, customer_id, transaction_id, points, remaining, expires_at, created_at)
  SELECT $4, $5, ins.id, $1, $1, ${EXPIRES}, ins.created_at FROM ins WHERE $1 > 0),
con AS (${pg(consumeSql(sql.raw('$4'), sql.raw('(SELECT $5::bigint AS customer_id, -$1::bigint AS need FROM applied WHERE $1 < 0)')))}),
${rollupOnePg({ store: '$4', points: '$1', type: bound('type'), actorType: bound('actor_type'), actorId: bound('actor_id'), actorName: bound('actor_name') })}
SELECT ins.id, ins.created_at, applied.tier_manual, applied.target FROM ins, applied`;
PREPARED_SQL.add(APPEND_ONE_PG);

const applyOneSqlite = prepared(
  (db, points: number, tierPoints: number, activityAt: number | null, storeId: number, id: number) =>
    db
      .updateTable('customers')
      .set((eb) => ({
        balance: eb('balance', '+', points),
        lifetime_points: eb('lifetime_points', '+', tierPoints),
        last_activity_at: sql<number>`coalesce(${activityAt}, last_activity_at)`,
      }))
      .where('store_id', '=', storeId)
      .where('id', '=', id)
      .where(sql<boolean>`balance + ${points} >= 0`)
      .returning(['id', 'tier_manual', tierForSql(storeId, sql`customers.lifetime_points`).as('target')]),
);

const insertOneSqlite = prepared((db, ...values: unknown[]) =>
  db
    .insertInto('transactions')
    .values(Object.fromEntries(COLUMNS.map((c, i) => [c, values[i]])) as LedgerRow)
    .returning('id'),
);

/**
 * Appends one planned row for one customer: moves the cached totals — guarded again in SQL,
 * `balance + points >= 0`, so even a wrong plan cannot drive a balance negative — and inserts
 * the ledger row, in the caller's transaction.
 *
 * @example const effect = planChange(totals, 500, { affectsTier: true });
 *          await appendLedgerRow(trx, customer, effect, { type: 'adjustment', reason, customerMessage: null, visibleToCustomer: true }, actor);
 *
 * Needs: a transaction in which `customer` was read with lockCustomer (its row lock on PostgreSQL,
 * the write lock on SQLite). It can throw: Error('concurrent balance change') if the guard fails,
 * which the lock rules out.
 */
export async function appendLedgerRow(
  trx: Trx,
  customer: CustomerRecord,
  effect: Effect,
  fields: RowFields,
  actor: Actor,
): Promise<LedgerWrite> {
  const activity = CUSTOMER_ACTIVITY.includes(fields.type);
  const row: LedgerRow = {
    store_id: customer.store_id,
    customer_id: customer.id,
    type: fields.type,
    points: effect.points,
    tier_points: effect.tierPoints,
    balance_after: effect.balanceAfter,
    reason: fields.reason,
    customer_message: fields.customerMessage,
    visible_to_customer: fields.visibleToCustomer ? 1 : 0,
    actor_type: actor.type,
    actor_id: actor.id,
    actor_name: actor.name,
    job_id: null,
    reverses_id: fields.reversesId ?? null,
    reference: fields.reference ?? null,
    idempotency_key: fields.idempotencyKey ?? null,
    created_at: Date.now(),
    job_line: null,
  };
  let written: TransactionRow | undefined;
  let tier: { tier_manual: number; target: number | null } | undefined;
  if (dialectOf(trx) === 'postgres') {
    const params = [effect.points, effect.tierPoints, activity, row.store_id, row.customer_id, ...PG_BOUND.map((c) => row[c]), fields.expiresAt ?? null];
    const result = await trx.executeQuery<{ id: number; created_at: number; tier_manual: number; target: number | null }>(CompiledQuery.raw(APPEND_ONE_PG, params));
    const [r] = result.rows;
    if (r) {
      written = { ...row, id: r.id, created_at: Number(r.created_at) };
      tier = r;
    }
  } else {
    const [applied] = await applyOneSqlite(trx, effect.points, effect.tierPoints, activity ? row.created_at : null, row.store_id, row.customer_id);
    if (applied) {
      const [{ id }] = await insertOneSqlite(trx, ...COLUMNS.map((c) => row[c]));
      written = { ...row, id };
      tier = applied;
      await lotsForRow(trx, written, fields.expiresAt ?? null);
      await rollupRow(trx, written);
    }
  }
  if (!written || !tier) throw new Error(`concurrent balance change on customer ${customer.id}`);
  let updated: CustomerRecord = {
    ...customer,
    balance: effect.balanceAfter,
    lifetime_points: effect.lifetimeAfter,
    last_activity_at: activity ? written.created_at : customer.last_activity_at,
  };
  const transaction = toTransaction(written);
  // transaction.created, in the same transaction, when some endpoint of the store subscribes.
  await appendTransactionEvent(trx, customer.store_id, transaction);
  const target = tier.target === null ? null : Number(tier.target);
  if (Number(tier.tier_manual) === 0 && target !== customer.tier_id) {
    // A move (rare): recorded, entry reward granted — which may change the balance again.
    await moveTiers(trx, customer.store_id, sql<boolean>`c.id = ${customer.id}`, { actor, jobId: null });
    updated = (await lockCustomer(trx, customer.store_id, customer.id)) ?? updated;
  }
  return { transaction, customer: toCustomer(updated) };
}

/** A column's value for every source row: an SQL expression over the source aliases, or one value for all. */
export type ColumnSql = RawBuilder<unknown> | string | number | null;
export type LedgerRowSql = { [K in keyof LedgerRow]: ColumnSql };

/** The rows of one chunk, described over source rows: customers `c` (and whatever `join` adds). */
export interface RowSet {
  /** The store all the rows belong to (a chunk never spans stores). */
  storeId: number;
  /** The chunk's customers, as a condition on `c` (the customers table); locked for the write on PostgreSQL. */
  customers: RawBuilder<boolean>;
  /** More source tables joined to `c`, e.g. sql`JOIN transactions o ON o.customer_id = c.id`. */
  join?: RawBuilder<unknown>;
  /** Which source rows become ledger rows: the rule's guard (see src/domain/balance-sql.ts). */
  where: RawBuilder<boolean>;
  row: LedgerRowSql;
  /** The order rows are inserted in (ids follow it): an import gives a customer several rows, in time order. */
  orderBy?: RawBuilder<unknown>;
  /**
   * false: tier moves these rows cause record the entries but grant no entry reward — an imported
   * history brings the other app's own reward rows (default true).
   */
  entryRewards?: boolean;
  /**
   * The explicit expiry of the lot each credit row opens, an expression over the written ledger
   * row `r` (e.g. looked up by its job_line); default none: the store's rule applies.
   */
  lotExpiresAt?: RawBuilder<number | null>;
  /** Source rows the rule refuses, reported in the job's error report instead (never clamped). */
  skipped?: { jobId: number; where: RawBuilder<boolean>; code: RawBuilder<string>; message: RawBuilder<string> };
}

export interface Appended {
  /** Ledger rows written. */
  rows: number;
  /** Σ points of those rows. */
  points: number;
  /** Source rows reported as skipped. */
  skipped: number;
  /**
   * The ids of the rows written lie in firstId…lastId (null: none written); on PostgreSQL other
   * writers' rows may lie between. A follow-up statement finds the chunk's rows by this range,
   * bounded by the chunk whatever the planner's statistics say of the ledger.
   */
  firstId: number | null;
  lastId: number | null;
}

/**
 * Appends a chunk's ledger rows set-based: one INSERT … SELECT of the rows and one UPDATE of the
 * cached totals of their customers (by Σ points and Σ tier points per customer, so a source may
 * give a customer several rows), plus the skipped-rows report. PostgreSQL runs it all as one
 * statement whose first step locks the chunk's customers (FOR UPDATE), so concurrent single
 * writes wait for the chunk instead of slipping between its steps; SQLite's chunk transaction is
 * the only writer, and the rows it inserts are those above the ledger's highest id before it.
 *
 * @example await appendLedgerRows(trx, { customers: sql`c.store_id = 1 AND c.id BETWEEN 1 AND 1000`,
 *            where: change.applies, row: { …, points: change.points, balance_after: change.balanceAfter, … } })
 *
 * Needs: a transaction (a job chunk's).
 */
export async function appendLedgerRows(trx: Trx, set: RowSet): Promise<Appended> {
  const dialect = dialectOf(trx);
  const values = sql.join(COLUMNS.map((c) => cast(set.row[c], LEDGER_COLUMNS[c])));
  const join = set.join ?? sql``;
  const skipSelect = set.skipped
    ? sql`SELECT ${set.skipped.jobId}, c.store_id, c.id, ${set.skipped.code}, ${set.skipped.message}, ${cast(set.row.created_at, 'bigint')}
          FROM c ${join} WHERE ${set.skipped.where}`
    : undefined;
  const insertRows = sql`INSERT INTO transactions (${sql.raw(COLUMNS.join(', '))}) SELECT ${values} FROM c ${join} WHERE ${set.where}${set.orderBy ? sql` ORDER BY ${set.orderBy}` : sql``}`;
  const perCustomer = (from: RawBuilder<unknown>) => sql`
    SELECT customer_id, sum(points) AS p, sum(tier_points) AS tp, count(*) AS n,
           max(CASE WHEN type IN (${ACTIVITY_SQL}) THEN created_at END) AS act
    FROM ${from} GROUP BY customer_id`;
  const totals = sql`balance = u.balance + s.p, lifetime_points = u.lifetime_points + s.tp,
    last_activity_at = CASE WHEN s.act IS NOT NULL AND (u.last_activity_at IS NULL OR s.act > u.last_activity_at) THEN s.act ELSE u.last_activity_at END`;
  // A customer whose rows change nothing (zero-point `pending` rows, cancellations) keeps their row
  // version: no write of a row that stays the same.
  const changes = sql<boolean>`(s.p <> 0 OR s.tp <> 0 OR s.act IS NOT NULL)`;

  if (dialect === 'postgres') {
    // Without a join a customer gets at most one row, computed from `c` alone: the UPDATE applies
    // the row's own expressions to the locked rows. With one, totals are summed from the rows.
    const update = set.join
      ? sql`s AS (${perCustomer(sql`ins`)}),
            upd AS (UPDATE customers u SET ${totals} FROM s WHERE u.id = s.customer_id AND ${changes})`
      : sql`upd AS (UPDATE customers u SET balance = ${set.row.balance_after}, lifetime_points = u.lifetime_points + ${set.row.tier_points}
              ${activityOf(set.row) ? sql`, last_activity_at = ${set.row.created_at}` : sql``}
            FROM c WHERE u.id = c.id AND ${set.where})`;
    const { rows } = await sql<{ rows: number; points: number; skipped: number; first: number | null; last: number | null; mixed: number[] | null }>`
      WITH c AS MATERIALIZED (SELECT * FROM customers c WHERE ${set.customers} ORDER BY c.id FOR UPDATE),
      skip AS (${skipSelect ? sql`INSERT INTO job_errors (job_id, store_id, customer_id, code, message, created_at) ${skipSelect} RETURNING 1` : sql`SELECT 1 WHERE false`}),
      ins AS (${insertRows} RETURNING id, store_id, customer_id, points, tier_points, type, actor_type, actor_id, actor_name, created_at, job_line),
      ${update},
      ${lotsFromIns(set.storeId, set.lotExpiresAt)},
      ${rollupCte('ins')}
      SELECT (SELECT count(*) FROM ins) AS rows, (SELECT coalesce(sum(points), 0) FROM ins) AS points,
             (SELECT count(*) FROM skip) AS skipped, (SELECT min(id) FROM ins) AS first, (SELECT max(id) FROM ins) AS last,
             (SELECT array_agg(id) FROM ins WHERE customer_id IN (SELECT customer_id FROM mixed)) AS mixed`.execute(trx);
    const [r] = rows;
    if (r.first !== null && r.last !== null) {
      // Customers given both credits and debits by this chunk: their debits may spend lots its
      // credits opened, which the statement above cannot see — their lots follow, by row id.
      if (r.mixed) await lotsForRows(trx, set.storeId, sql`(SELECT * FROM transactions WHERE id = ANY(${r.mixed.map(Number)}::bigint[]))`, set.lotExpiresAt);
      await tierEffects(trx, set);
      await batchEvents(trx, set, Number(r.first), Number(r.last));
    }
    const ids = r.first === null || r.last === null ? { firstId: null, lastId: null } : { firstId: Number(r.first), lastId: Number(r.last) };
    return { rows: Number(r.rows), points: Number(r.points), skipped: Number(r.skipped), ...ids };
  }

  // SQLite: `c` is the customers table under the same alias, restricted to the chunk.
  const from = (q: RawBuilder<unknown>) => sql`WITH c AS (SELECT * FROM customers c WHERE ${set.customers}) ${q}`;
  let skipped = 0;
  if (skipSelect) {
    const r = await from(sql`INSERT INTO job_errors (job_id, store_id, customer_id, code, message, created_at) ${skipSelect}`).execute(trx);
    skipped = Number(r.numAffectedRows ?? 0);
  }
  const before = await sql<{ id: number }>`SELECT coalesce(max(id), 0) AS id FROM transactions`.execute(trx);
  const mark = Number(before.rows[0].id);
  const inserted = await from(insertRows).execute(trx);
  const rows = Number(inserted.numAffectedRows ?? 0);
  if (rows === 0) return { rows, points: 0, skipped, firstId: null, lastId: null };
  if (!set.join) {
    // A row per customer, computed from the customer alone: the UPDATE re-evaluates the INSERT's
    // own condition and expressions on the same, not yet updated rows (this transaction is the
    // only writer) — a sixth of the cost of finding the rows again through the ledger.
    await sql`
      UPDATE customers AS c SET balance = ${set.row.balance_after}, lifetime_points = c.lifetime_points + ${set.row.tier_points}
        ${activityOf(set.row) ? sql`, last_activity_at = ${set.row.created_at}` : sql``}
      WHERE ${set.customers} AND ${set.where}`.execute(trx);
  } else {
    const added = sql`(SELECT * FROM transactions WHERE id > ${mark})`;
    // MATERIALIZED: the sums are computed first and drive the update (SQLite would otherwise walk
    // the customers table and look each one up in them). The last activity is set apart, for the
    // customers given activity rows only: SQLite rewrites the entries of every index on a column
    // an UPDATE sets, changed or not, and the activity index's lie all over it (at 200,000 rows,
    // 80% of this statement's time).
    await sql`WITH s AS MATERIALIZED (${perCustomer(added)})
      UPDATE customers AS u SET balance = u.balance + s.p, lifetime_points = u.lifetime_points + s.tp
      FROM s WHERE u.id = s.customer_id AND (s.p <> 0 OR s.tp <> 0)`.execute(trx);
    if (typeof set.row.type !== 'string' || activityOf(set.row)) {
      await sql`WITH s AS MATERIALIZED (SELECT customer_id, max(created_at) AS act FROM ${added} a WHERE a.type IN (${ACTIVITY_SQL}) GROUP BY customer_id)
        UPDATE customers AS u SET last_activity_at = s.act
        FROM s WHERE u.id = s.customer_id AND (u.last_activity_at IS NULL OR s.act > u.last_activity_at)`.execute(trx);
    }
  }
  const sum = await sql<{ p: number; last: number }>`SELECT coalesce(sum(points), 0) AS p, max(id) AS last FROM transactions WHERE id > ${mark}`.execute(trx);
  const written = sql`(SELECT * FROM transactions WHERE id > ${mark} AND id <= ${Number(sum.rows[0].last)})`;
  await lotsForRows(trx, set.storeId, written, set.lotExpiresAt);
  await rollupRows(trx, written);
  await tierEffects(trx, set);
  await batchEvents(trx, set, mark + 1, Number(sum.rows[0].last));
  return { rows, points: Number(sum.rows[0].p), skipped, firstId: mark + 1, lastId: Number(sum.rows[0].last) };
}

/**
 * The tier moves of a chunk's customers (not when its rows cannot move lifetime points), with
 * the chunk's actor and job as their cause.
 */
async function tierEffects(trx: Trx, set: RowSet): Promise<void> {
  if (set.row.tier_points === 0) return;
  const actor: Actor = typeof set.row.actor_type === 'string' && typeof set.row.actor_name === 'string'
    ? { type: set.row.actor_type as Actor['type'], id: typeof set.row.actor_id === 'number' ? set.row.actor_id : null, name: set.row.actor_name }
    : SYSTEM_ACTOR;
  const jobId = typeof set.row.job_id === 'number' ? set.row.job_id : null;
  await moveTiers(trx, set.storeId, set.customers, { actor, jobId, grantRewards: set.entryRewards ?? true });
}

/** transaction.batch events for a job's rows just written (ids first…last), when some endpoint subscribes. */
async function batchEvents(trx: Trx, set: RowSet, first: number, last: number): Promise<void> {
  if (typeof set.row.job_id === 'number') await appendTransactionBatchEvents(trx, set.storeId, set.row.job_id, { fromId: first, toId: last });
}

/** Whether every row of a set is of a type that counts as the customer's own activity. */
function activityOf(row: LedgerRowSql): boolean {
  return typeof row.type === 'string' && CUSTOMER_ACTIVITY.includes(row.type as TransactionType);
}

/** A bound value typed for PostgreSQL (an untyped parameter in a SELECT list would be text). */
function cast(value: ColumnSql, type: string): RawBuilder<unknown> {
  if (value !== null && typeof value === 'object') return value;
  return sql`CAST(${value} AS ${sql.raw(type)})`;
}

/** The database's clock, in epoch milliseconds, for rows a chunk writes. */
export function nowSql(trx: Trx): RawBuilder<number> {
  return dialectOf(trx) === 'postgres'
    ? sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`
    : sql<number>`${Date.now()}`;
}
