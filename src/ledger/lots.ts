import { type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { prepared } from '../db/prepared.js';

/**
 * Point lots: what is left of each credit, so that expiry knows which points are how old.
 * Kept on every write whatever the store's expiry rule (Σ remaining = balance for every
 * customer, checked by `tally verify`), so a rule switched on later applies to every point:
 *  - a credit (points > 0) opens a lot of its points;
 *  - a debit (points < 0) consumes lots soonest-expiring first (then oldest), the ones already
 *    past their date first of all — a customer spending before the expiry run spends them;
 *  - an expiry row consumes exactly the lots it expires (written by the expiry job, not here).
 * Called by the write path (append.ts) only, in the write's transaction.
 */

const DAY_MS = 86_400_000;

/**
 * When lot `l` expires under its store's rule `s` (a stores row): its explicit expiry, else under
 * per_credit `expiry_days` after it was credited, else never (NULL). The day length is a bigint:
 * PostgreSQL multiplies integer by integer in 32 bits, and 25 days of milliseconds overflow it.
 */
export function lotExpirySql(l = 'l', s = 's'): RawBuilder<number | null> {
  const L = sql.raw(l);
  const S = sql.raw(s);
  return sql<number | null>`coalesce(${L}.expires_at, CASE WHEN ${S}.expiry_mode = 'per_credit' THEN ${L}.created_at + ${S}.expiry_days * CAST(${sql.lit(DAY_MS)} AS bigint) END)`;
}

/**
 * Consumes `need.need` points of each customer `need.customer_id` from their open lots in order.
 * `need` is a subquery of (customer_id, need) for one store. It drives the join (CROSS JOIN fixes
 * SQLite's join order): the window runs over those customers' lots only, never the store's.
 */
export function consumeSql(storeId: RawBuilder<number> | number, need: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    UPDATE point_lots AS p SET remaining = o.left_over
    FROM (
      SELECT l.id, n.need, sum(l.remaining) OVER w - l.remaining AS before_this,
             CASE WHEN sum(l.remaining) OVER w > n.need THEN sum(l.remaining) OVER w - n.need ELSE 0 END AS left_over
      FROM ${need} n
      CROSS JOIN point_lots l
      JOIN stores s ON s.id = l.store_id
      WHERE l.store_id = ${storeId} AND l.customer_id = n.customer_id AND l.remaining > 0
      WINDOW w AS (PARTITION BY l.customer_id ORDER BY ${lotExpirySql()} NULLS LAST, l.id ROWS UNBOUNDED PRECEDING)
    ) o
    WHERE p.id = o.id AND o.before_this < o.need`;
}

const openLotOne = prepared((db, storeId: number, customerId: number, transactionId: number, points: number, expiresAt: number | null, at: number) =>
  db.insertInto('point_lots').values({
    store_id: storeId,
    customer_id: customerId,
    transaction_id: transactionId,
    points,
    remaining: points,
    expires_at: expiresAt,
    created_at: at,
  }),
);

const consumeOne = prepared((db, storeId: number, customerId: number, need: number) => {
  const query = consumeSql(storeId, sql`(SELECT CAST(${customerId} AS bigint) AS customer_id, CAST(${need} AS bigint) AS need)`);
  return { compile: () => query.compile(db) };
});

/** The lot effect of one ledger row of one customer (the single-write path). */
export async function lotsForRow(
  trx: Trx,
  row: { store_id: number; customer_id: number; id: number; points: number; type: string; created_at: number },
  expiresAt: number | null,
): Promise<void> {
  if (row.points > 0) await openLotOne(trx, row.store_id, row.customer_id, row.id, row.points, expiresAt, row.created_at);
  else if (row.points < 0 && row.type !== 'expiry') await consumeOne(trx, row.store_id, row.customer_id, -row.points);
}

/** No explicit expiry: the store's rule applies to the lot. */
const NO_EXPIRY = sql<number | null>`NULL`;

/**
 * The lot effect of a chunk's ledger rows, set-based: one INSERT … SELECT of the credits' lots,
 * then one UPDATE consuming each customer's Σ debits. `rows` is a subquery of exactly the rows
 * the chunk wrote (aliased as a table `r`); `expiresAt`, an expression over `r`, the credits'
 * explicit expiry (RowSet.lotExpiresAt).
 */
export async function lotsForRows(trx: Trx, storeId: number, rows: RawBuilder<unknown>, expiresAt: RawBuilder<number | null> = NO_EXPIRY): Promise<void> {
  await sql`INSERT INTO point_lots (store_id, customer_id, transaction_id, points, remaining, expires_at, created_at)
    SELECT r.store_id, r.customer_id, r.id, r.points, r.points, ${expiresAt}, r.created_at FROM ${rows} r WHERE r.points > 0`.execute(trx);
  const need = sql`(SELECT r.customer_id, -sum(r.points) AS need FROM ${rows} r WHERE r.points < 0 AND r.type <> 'expiry' GROUP BY r.customer_id)`;
  await consumeSql(storeId, need).execute(trx);
}

/**
 * PostgreSQL: the lot effect as CTEs of the chunk statement that wrote the rows (`ins`), so the
 * rows are not looked up again: credits open lots (`expiresAt` as in lotsForRows, over `ins`
 * aliased `r`), debits consume older lots — except for customers the chunk gives both (`mixed`),
 * whose lots the caller does after (lotsForRows).
 */
export function lotsFromIns(storeId: number, expiresAt: RawBuilder<number | null> = NO_EXPIRY): RawBuilder<unknown> {
  return sql`mixed AS (SELECT customer_id FROM ins GROUP BY customer_id HAVING min(points) < 0 AND max(points) > 0),
    lot AS (INSERT INTO point_lots (store_id, customer_id, transaction_id, points, remaining, expires_at, created_at)
            SELECT CAST(${storeId} AS bigint), r.customer_id, r.id, r.points, r.points, ${expiresAt}, r.created_at FROM ins r
            WHERE r.points > 0 AND r.customer_id NOT IN (SELECT customer_id FROM mixed)),
    need AS (SELECT customer_id, -sum(points) AS need FROM ins
             WHERE points < 0 AND type <> 'expiry' AND customer_id NOT IN (SELECT customer_id FROM mixed) GROUP BY customer_id),
    con AS (${consumeSql(storeId, sql`need`)})`;
}

/**
 * Closes the lots an expiry row of the chunk expires: those of the chunk's customers `c` that
 * `expired` (a condition on lot `l` and the rule `s`, a relation shaped like stores) selects.
 * Called by the expiry job in the same transaction as its rows, with the rule they were computed by.
 */
export async function closeLots(trx: Trx, storeId: number, customers: RawBuilder<boolean>, rule: RawBuilder<unknown>, expired: RawBuilder<boolean>): Promise<void> {
  await sql`UPDATE point_lots AS l SET remaining = 0
    FROM (${rule}) s
    WHERE l.store_id = ${storeId} AND l.remaining > 0 AND ${expired}
      AND l.customer_id IN (SELECT c.id FROM customers c WHERE ${customers})`.execute(trx);
}
