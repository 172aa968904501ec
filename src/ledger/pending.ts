import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { type CustomerRecord, lockCustomer, toCustomer } from '../db/queries/customers.js';
import type { DB, PendingCreditsTable } from '../db/schema.js';
import { iso } from '../db/time.js';
import { NotFoundError, PendingNotCancellableError } from '../domain/errors.js';
import type { Actor, Customer, PendingCredit, Transaction } from '../domain/types.js';
import { validReason } from '../domain/validation.js';
import { appendLedgerRow } from './append.js';

/**
 * Pending points: a credit that becomes spendable at `availableAt`. Until then it is not in the
 * balance, not spendable and not counted for tiers; the request itself is a zero-point `pending`
 * ledger row (who, when, why), the credit a pending_credits row, and customers.pending_points
 * their sum. It matures exactly once as a ledger row of its own, by the expiry job (the row's
 * idempotency key `pending:<transactionId>` is unique per store), or is cancelled before.
 */

export interface PendingWrite {
  transaction: Transaction;
  customer: Customer;
  pending: PendingCredit;
}

type PendingCreditRow = Selectable<PendingCreditsTable>;

/** A pending_credits row as the API shows it. */
function toPending(r: Pick<PendingCreditRow, 'transaction_id' | 'points' | 'available_at' | 'status' | 'reason' | 'customer_message' | 'created_at'>): PendingCredit {
  return {
    transactionId: r.transaction_id,
    points: r.points,
    availableAt: iso(r.available_at),
    status: r.status,
    reason: r.reason,
    customerMessage: r.customer_message,
    createdAt: iso(r.created_at),
  };
}

/**
 * Records a pending credit for a locked customer.
 *
 * Needs: a transaction in which `customer` was locked (lockCustomer).
 */
export async function createPendingCredit(
  trx: Trx,
  customer: CustomerRecord,
  credit: { points: number; reason: string; customerMessage: string | null; affectsTier: boolean; visibleToCustomer: boolean; expiresAt: number | null; availableAt: number },
  actor: Actor,
  idempotencyKey: string | null,
): Promise<PendingWrite> {
  const effect = { points: 0, tierPoints: 0, balanceAfter: customer.balance, lifetimeAfter: customer.lifetime_points };
  const written = await appendLedgerRow(
    trx,
    customer,
    effect,
    { type: 'pending', reason: credit.reason, customerMessage: credit.customerMessage, visibleToCustomer: credit.visibleToCustomer, idempotencyKey },
    actor,
  );
  const now = Date.now();
  await trx
    .insertInto('pending_credits')
    .values({
      store_id: customer.store_id,
      customer_id: customer.id,
      transaction_id: written.transaction.id,
      points: credit.points,
      affects_tier: credit.affectsTier ? 1 : 0,
      visible_to_customer: credit.visibleToCustomer ? 1 : 0,
      reason: credit.reason,
      customer_message: credit.customerMessage,
      expires_at: credit.expiresAt,
      available_at: credit.availableAt,
      status: 'pending',
      settled_transaction_id: null,
      created_at: now,
    })
    .execute();
  await sql`UPDATE customers SET pending_points = pending_points + ${credit.points} WHERE id = ${customer.id}`.execute(trx);
  return {
    transaction: written.transaction,
    customer: { ...written.customer, pendingPoints: customer.pending_points + credit.points },
    pending: toPending({
      transaction_id: written.transaction.id,
      points: credit.points,
      available_at: credit.availableAt,
      status: 'pending',
      reason: credit.reason,
      customer_message: credit.customerMessage,
      created_at: now,
    }),
  };
}

/** The columns of a pending credit a set-based writer supplies (the credit starts `pending`, unsettled). */
const CREDIT_COLUMNS = [
  'store_id', 'customer_id', 'transaction_id', 'points', 'affects_tier', 'visible_to_customer',
  'reason', 'customer_message', 'expires_at', 'available_at', 'created_at',
] as const satisfies readonly (keyof PendingCreditRow)[];

/**
 * The set-based twin of createPendingCredit, for a job chunk that wrote `pending` ledger rows
 * (an import): a pending_credits row for each, and their customers' pending points. `credits` is
 * a subquery with the CREDIT_COLUMNS, one row per pending ledger row the chunk wrote. Two
 * statements whatever the chunk's size.
 *
 * Needs: the chunk's transaction, with the customers locked (appendLedgerRows locks them).
 */
export async function createPendingCredits(trx: Trx, credits: RawBuilder<unknown>): Promise<void> {
  const columns = sql.raw(CREDIT_COLUMNS.join(', '));
  const insert = sql`INSERT INTO pending_credits (${columns}, status, settled_transaction_id)
    SELECT ${sql.raw(CREDIT_COLUMNS.map((c) => `x.${c}`).join(', '))}, 'pending', NULL FROM ${credits} x`;
  // The pending points come from the credits just written, summed first (MATERIALIZED) and
  // driving the update by customer id (they are all of this store: `credits` is). Evaluated again
  // inside the update, `credits` was read once per customer of the store; and a condition on the
  // store id, there or here, let SQLite walk the store's whole index instead of the chunk's rows.
  const update = (written: RawBuilder<unknown>) => sql`
    s AS MATERIALIZED (SELECT customer_id, sum(points) AS p FROM ${written} w GROUP BY customer_id)
    UPDATE customers AS u SET pending_points = u.pending_points + s.p FROM s WHERE u.id = s.customer_id`;
  if (dialectOf(trx) === 'postgres') {
    await sql`WITH ins AS (${insert} RETURNING customer_id, points), ${update(sql`ins`)}`.execute(trx);
    return;
  }
  // SQLite: this transaction is the only writer; its credits are those above the highest id before it.
  const before = await sql<{ id: number }>`SELECT coalesce(max(id), 0) AS id FROM pending_credits`.execute(trx);
  await insert.execute(trx);
  await sql`WITH ${update(sql`(SELECT customer_id, points FROM pending_credits WHERE id > ${Number(before.rows[0].id)})`)}`.execute(trx);
}

/**
 * Marks pending credits cancelled by `pending_cancelled` rows already written, and takes their
 * points out of their customers' pending points. `cancellations` is a subquery of
 * (transaction_id: the credit's `pending` row, settled_transaction_id: the cancelling row); a
 * credit no longer pending is left alone. Used by a single cancel and a revert chunk alike.
 *
 * Needs: a transaction in which the credits' customers are locked.
 */
export async function settleCancelled(trx: Trx, storeId: number, cancellations: RawBuilder<unknown>): Promise<void> {
  await sql`UPDATE customers AS u SET pending_points = u.pending_points - s.p
    FROM (SELECT p.customer_id, sum(p.points) AS p FROM pending_credits p JOIN ${cancellations} x ON x.transaction_id = p.transaction_id
          WHERE p.store_id = ${storeId} AND p.status = 'pending' GROUP BY p.customer_id) s
    WHERE u.store_id = ${storeId} AND u.id = s.customer_id`.execute(trx);
  await sql`UPDATE pending_credits AS p SET status = 'cancelled', settled_transaction_id = x.settled_transaction_id
    FROM ${cancellations} x
    WHERE p.store_id = ${storeId} AND p.transaction_id = x.transaction_id AND p.status = 'pending'`.execute(trx);
}

/** A customer's pending credits (still pending), soonest first. It can throw: NotFoundError. */
export async function listPending(db: Kysely<DB>, storeId: number, customerId: number): Promise<{ data: PendingCredit[] }> {
  const customer = await db.selectFrom('customers').select('id').where('store_id', '=', storeId).where('id', '=', customerId).executeTakeFirst();
  if (!customer) throw new NotFoundError('customer', customerId);
  const rows = await db
    .selectFrom('pending_credits')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('customer_id', '=', customerId)
    .where('status', '=', 'pending')
    .orderBy('available_at')
    .orderBy('id')
    .limit(500)
    .execute();
  return {
    data: rows.map(toPending),
  };
}

/**
 * Cancels a pending credit before it matures: a zero-point `pending_cancelled` row that reverses
 * the `pending` one (the unique reverses_id makes a second cancel impossible), the credit marked.
 *
 * Needs: a transaction (the customer is locked). It can throw: ValidationError, NotFoundError,
 * PendingNotCancellableError (already matured or cancelled).
 */
export async function cancelPending(
  trx: Trx,
  storeId: number,
  customerId: number,
  transactionId: number,
  input: { reason: string },
  actor: Actor,
  idempotencyKey: string | null = null,
): Promise<PendingWrite> {
  const reason = validReason(input.reason);
  const customer = await lockCustomer(trx, storeId, customerId);
  if (!customer) throw new NotFoundError('customer', customerId);
  const credit = await trx
    .selectFrom('pending_credits')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('customer_id', '=', customerId)
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst();
  if (!credit) throw new NotFoundError('pending credit', transactionId);
  if (credit.status !== 'pending') throw new PendingNotCancellableError(transactionId, credit.status);
  const effect = { points: 0, tierPoints: 0, balanceAfter: customer.balance, lifetimeAfter: customer.lifetime_points };
  const written = await appendLedgerRow(
    trx,
    customer,
    effect,
    { type: 'pending_cancelled', reason, customerMessage: null, visibleToCustomer: credit.visible_to_customer === 1, reversesId: transactionId, idempotencyKey },
    actor,
  );
  const one = sql`(SELECT CAST(${transactionId} AS bigint) AS transaction_id, CAST(${written.transaction.id} AS bigint) AS settled_transaction_id)`;
  await settleCancelled(trx, storeId, one);
  const after = await lockCustomer(trx, storeId, customerId);
  return {
    transaction: written.transaction,
    customer: toCustomer(after ?? customer),
    pending: toPending({ ...credit, status: 'cancelled' }),
  };
}
