import type { Trx } from '../db/committer.js';
import type { Effect } from '../domain/balance.js';
import type { Actor, LedgerWrite, TransactionType } from '../domain/types.js';
import { type CustomerRecord, toCustomer } from '../db/queries/customers.js';
import { applyAndAppend } from '../db/queries/ledger-write.js';
import { toTransaction } from '../db/queries/transactions.js';

export interface RowFields {
  type: TransactionType;
  reason: string;
  customerMessage: string | null;
  visibleToCustomer: boolean;
  reversesId?: number | null;
  reference?: string | null;
  idempotencyKey?: string | null;
}

/**
 * Ledger rows that count as the customer's own activity, which `lastActivityAt` (and the
 * "inactive since" filters and inactivity expiry) are about. Staff adjustments, resets,
 * reversals, imports and expiry are not the customer's doing.
 */
const CUSTOMER_ACTIVITY: ReadonlySet<TransactionType> = new Set(['redemption']);

/**
 * The single-customer write path: applies a planned effect to the customer's cached totals and
 * appends its ledger row, in the caller's transaction. Every single write (adjust, reset, reverse,
 * and later redeem and import rows) goes through here, so tier moves, expiry lots and outbox rows
 * have one place to join the same transaction.
 *
 * Needs: a transaction in which `customer` was read with lockCustomer.
 * It can throw: Error('concurrent balance change') if the guard fails, which the lock rules out.
 */
export async function writeLedgerRow(
  trx: Trx,
  storeId: number,
  customer: CustomerRecord,
  effect: Effect,
  fields: RowFields,
  actor: Actor,
): Promise<LedgerWrite> {
  const now = Date.now();
  const activityAt = CUSTOMER_ACTIVITY.has(fields.type) ? now : null;
  const change = { points: effect.points, tierPoints: effect.tierPoints, activityAt };
  const row = await applyAndAppend(trx, change, {
    store_id: storeId,
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
    created_at: now,
  });
  if (!row) throw new Error(`concurrent balance change on customer ${customer.id}`);
  const updated: CustomerRecord = {
    ...customer,
    balance: effect.balanceAfter,
    lifetime_points: effect.lifetimeAfter,
    last_activity_at: activityAt ?? customer.last_activity_at,
  };
  return { transaction: toTransaction(row), customer: toCustomer(updated) };
}
