import { type Kysely, type Selectable, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
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
  await trx.updateTable('pending_credits').set({ status: 'cancelled', settled_transaction_id: written.transaction.id }).where('id', '=', credit.id).execute();
  await sql`UPDATE customers SET pending_points = pending_points - ${credit.points} WHERE id = ${customer.id}`.execute(trx);
  const after = await lockCustomer(trx, storeId, customerId);
  return {
    transaction: written.transaction,
    customer: toCustomer(after ?? customer),
    pending: toPending({ ...credit, status: 'cancelled' }),
  };
}
