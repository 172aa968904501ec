import type { Trx } from '../db/committer.js';
import { planChange, planReset } from '../domain/balance.js';
import { NotFoundError } from '../domain/errors.js';
import type { Actor, AdjustPoints, LedgerWrite, ResetPoints } from '../domain/types.js';
import { MESSAGE_MAX, optionalText, validPoints, validReason } from '../domain/validation.js';
import { lockCustomer } from '../db/queries/customers.js';
import { appendLedgerRow } from './append.js';
import { queueCustomerNotification } from './notifications.js';

export interface WriteOptions {
  idempotencyKey?: string | null;
}

/**
 * Adds (points > 0) or deducts (points < 0) points for one customer.
 *
 * @example await committer.run((trx) => adjustPoints(trx, storeId, { customerId: 7, points: 500, reason: 'Late parcel' }, actor))
 *
 * Needs: a transaction (the customer row is locked until it ends).
 * It can throw: ValidationError, NotFoundError, InsufficientPointsError (nothing written),
 * BalanceChangedError (expectedBalance given and stale; nothing written).
 */
export async function adjustPoints(
  trx: Trx,
  storeId: number,
  cmd: AdjustPoints,
  actor: Actor,
  opts: WriteOptions = {},
): Promise<LedgerWrite> {
  const points = validPoints(cmd.points);
  const reason = validReason(cmd.reason);
  const customerMessage = optionalText(cmd.customerMessage, 'customerMessage', MESSAGE_MAX);
  const customer = await lockCustomer(trx, storeId, cmd.customerId);
  if (!customer) throw new NotFoundError('customer', cmd.customerId);
  const effect = planChange(
    { customerId: customer.id, balance: customer.balance, lifetimePoints: customer.lifetime_points },
    points,
    { affectsTier: cmd.affectsTier ?? true, expectedBalance: cmd.expectedBalance },
  );
  const written = await appendLedgerRow(
    trx,
    customer,
    effect,
    { type: 'adjustment', reason, customerMessage, visibleToCustomer: cmd.visibleToCustomer ?? true, ...opts },
    actor,
  );
  if (cmd.notifyCustomer) await queueCustomerNotification(trx, storeId, written.transaction);
  return written;
}

/**
 * Sets one customer's balance to zero with a `reset` row of -balance; lifetime points are kept.
 *
 * Needs: a transaction. It can throw: ValidationError, NotFoundError.
 */
export async function resetPoints(
  trx: Trx,
  storeId: number,
  cmd: ResetPoints,
  actor: Actor,
  opts: WriteOptions = {},
): Promise<LedgerWrite> {
  const reason = validReason(cmd.reason);
  const customerMessage = optionalText(cmd.customerMessage, 'customerMessage', MESSAGE_MAX);
  const customer = await lockCustomer(trx, storeId, cmd.customerId);
  if (!customer) throw new NotFoundError('customer', cmd.customerId);
  const effect = planReset({ customerId: customer.id, balance: customer.balance, lifetimePoints: customer.lifetime_points });
  return appendLedgerRow(
    trx,
    customer,
    effect,
    { type: 'reset', reason, customerMessage, visibleToCustomer: true, ...opts },
    actor,
  );
}
