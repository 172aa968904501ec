import type { Trx } from '../db/committer.js';
import { planReversal } from '../domain/balance.js';
import { AlreadyReversedError, NotFoundError, NotReversibleError } from '../domain/errors.js';
import type { Actor, LedgerWrite, ReverseTransaction } from '../domain/types.js';
import { MESSAGE_MAX, optionalText, validReason } from '../domain/validation.js';
import { lockCustomer } from '../db/queries/customers.js';
import { findReversalOf, findTransaction } from '../db/queries/transactions.js';
import type { WriteOptions } from './adjust.js';
import { appendLedgerRow } from './append.js';

/**
 * Undoes one ledger row with a new `reversal` row of the opposite points (history is never
 * rewritten). A row is reversed at most once: a unique index on reverses_id backs the check.
 *
 * Needs: a transaction (locks the customer, which serialises reversals of the same row).
 * It can throw: ValidationError, NotFoundError, AlreadyReversedError, NotReversibleError,
 * InsufficientPointsError (the points were spent since; nothing written).
 */
export async function reverseTransaction(
  trx: Trx,
  storeId: number,
  cmd: ReverseTransaction,
  actor: Actor,
  opts: WriteOptions = {},
): Promise<LedgerWrite> {
  const reason = validReason(cmd.reason);
  const customerMessage = optionalText(cmd.customerMessage, 'customerMessage', MESSAGE_MAX);
  const original = await findTransaction(trx, storeId, cmd.transactionId);
  if (!original) throw new NotFoundError('transaction', cmd.transactionId);
  if (original.type === 'reversal') {
    throw new NotReversibleError('A reversal cannot itself be reversed; make a new adjustment instead');
  }
  const customer = await lockCustomer(trx, storeId, original.customer_id);
  if (!customer) throw new NotFoundError('customer', original.customer_id);
  if (await findReversalOf(trx, original.id)) throw new AlreadyReversedError(original.id);
  const effect = planReversal(
    { customerId: customer.id, balance: customer.balance, lifetimePoints: customer.lifetime_points },
    { points: original.points, tierPoints: original.tier_points },
  );
  return appendLedgerRow(
    trx,
    customer,
    effect,
    {
      type: 'reversal',
      reason,
      customerMessage,
      visibleToCustomer: original.visible_to_customer === 1,
      reversesId: original.id,
      ...opts,
    },
    actor,
  );
}
