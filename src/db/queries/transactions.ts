import { type Kysely, sql } from 'kysely';
import type { Transaction, TransactionFilter, TransactionType } from '../../domain/types.js';
import type { DB, TransactionRow } from '../schema.js';
import { iso } from '../time.js';

export function toTransaction(r: TransactionRow): Transaction {
  return {
    id: r.id,
    customerId: r.customer_id,
    type: r.type as TransactionType,
    points: r.points,
    tierPoints: r.tier_points,
    balanceAfter: r.balance_after,
    reason: r.reason,
    customerMessage: r.customer_message,
    visibleToCustomer: r.visible_to_customer === 1,
    actor: { type: r.actor_type as Transaction['actor']['type'], id: r.actor_id, name: r.actor_name },
    jobId: r.job_id,
    reversesId: r.reverses_id,
    reference: r.reference,
    createdAt: iso(r.created_at),
  };
}

export async function findTransaction(db: Kysely<DB>, storeId: number, id: number): Promise<TransactionRow | undefined> {
  return db
    .selectFrom('transactions')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findReversalOf(db: Kysely<DB>, id: number): Promise<{ id: number } | undefined> {
  return db.selectFrom('transactions').select('id').where('reverses_id', '=', id).executeTakeFirst();
}

/**
 * Store-wide log, newest first, by keyset on id. `walkFrom` (tableWalkFrom): the store condition
 * in a form no index serves, so that SQLite walks the table itself from that id.
 */
export function selectTransactions(db: Kysely<DB>, storeId: number, f: TransactionFilter, walkFrom?: number) {
  let q = db
    .selectFrom('transactions')
    .selectAll()
    .where(walkFrom === undefined ? sql<boolean>`store_id = ${storeId}` : sql<boolean>`+store_id = ${storeId} AND id >= ${walkFrom}`);
  if (f.customerId !== undefined) q = q.where('customer_id', '=', f.customerId);
  if (f.type !== undefined) q = q.where('type', '=', f.type);
  if (f.jobId !== undefined) q = q.where('job_id', '=', f.jobId);
  if (f.from !== undefined) q = q.where('created_at', '>=', Date.parse(f.from));
  if (f.to !== undefined) q = q.where('created_at', '<=', Date.parse(f.to));
  return q;
}

/** Σ points and Σ tier points of a customer's rows up to and including a moment. */
export async function totalsAt(
  db: Kysely<DB>,
  storeId: number,
  customerId: number,
  atMs: number,
): Promise<{ balance: number; lifetime: number }> {
  const row = await db
    .selectFrom('transactions')
    .select([
      sql<number>`coalesce(sum(points), 0)`.as('balance'),
      sql<number>`coalesce(sum(tier_points), 0)`.as('lifetime'),
    ])
    .where('store_id', '=', storeId)
    .where('customer_id', '=', customerId)
    // `+created_at`: SQLite without statistics would walk the store's whole ledger up to the moment
    // through (store_id, created_at); this keeps it on the customer's rows (store_id, customer_id)
    // — 70 ms → 1 ms on a 150,000-row ledger, as in the customers export as of a moment.
    .where(sql<number>`+created_at`, '<=', atMs)
    .executeTakeFirstOrThrow();
  return { balance: Number(row.balance), lifetime: Number(row.lifetime) };
}
