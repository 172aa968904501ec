import type { Trx } from '../db/committer.js';
import { planChange, planReset } from '../domain/balance.js';
import { creditDateProblem, isPending } from '../domain/credit-dates.js';
import { BalanceChangedError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { Actor, AdjustPoints, LedgerWrite, ResetPoints } from '../domain/types.js';
import { MESSAGE_MAX, optionalText, parseInstant, validPoints, validReason } from '../domain/validation.js';
import { lockCustomer } from '../db/queries/customers.js';
import { appendLedgerRow } from './append.js';
import { queueCustomerNotification } from './notifications.js';
import { createPendingCredit, type PendingWrite } from './pending.js';

export interface WriteOptions {
  idempotencyKey?: string | null;
}

/**
 * Adds (points > 0) or deducts (points < 0) points for one customer.
 *
 * @example await committer.run((trx) => adjustPoints(trx, storeId, { customerId: 7, points: 500, reason: 'Late parcel' }, actor))
 *
 * Needs: a transaction (the customer row is locked until it ends).
 * A credit may carry `expiresAt` (its points expire then, whatever the store's rule) and
 * `availableAt` (in the future: the credit is pending until then — see pending.ts).
 *
 * It can throw: ValidationError, NotFoundError, InsufficientPointsError (nothing written),
 * BalanceChangedError (expectedBalance given and stale; nothing written).
 */
export async function adjustPoints(
  trx: Trx,
  storeId: number,
  cmd: AdjustPoints,
  actor: Actor,
  opts: WriteOptions = {},
): Promise<LedgerWrite | PendingWrite> {
  const points = validPoints(cmd.points);
  const reason = validReason(cmd.reason);
  const customerMessage = optionalText(cmd.customerMessage, 'customerMessage', MESSAGE_MAX);
  const now = Date.now();
  const expiresAt = cmd.expiresAt === undefined ? null : parseInstant(cmd.expiresAt, 'expiresAt');
  const availableAt = cmd.availableAt === undefined ? null : parseInstant(cmd.availableAt, 'availableAt');
  const problem = creditDateProblem(points, { availableAt, expiresAt }, now);
  if (problem) throw new ValidationError(problem.message, problem.field);
  const customer = await lockCustomer(trx, storeId, cmd.customerId);
  if (!customer) throw new NotFoundError('customer', cmd.customerId);
  if (availableAt !== null && isPending({ availableAt }, now)) {
    if (cmd.expectedBalance !== undefined && cmd.expectedBalance !== customer.balance) {
      throw new BalanceChangedError(customer.id, cmd.expectedBalance, customer.balance);
    }
    const credit = { points, reason, customerMessage, affectsTier: cmd.affectsTier ?? true, visibleToCustomer: cmd.visibleToCustomer ?? true, expiresAt, availableAt };
    return createPendingCredit(trx, customer, credit, actor, opts.idempotencyKey ?? null);
  }
  const effect = planChange(
    { customerId: customer.id, balance: customer.balance, lifetimePoints: customer.lifetime_points },
    points,
    { affectsTier: cmd.affectsTier ?? true, expectedBalance: cmd.expectedBalance },
  );
  const written = await appendLedgerRow(
    trx,
    customer,
    effect,
    { type: 'adjustment', reason, customerMessage, visibleToCustomer: cmd.visibleToCustomer ?? true, expiresAt, ...opts },
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
