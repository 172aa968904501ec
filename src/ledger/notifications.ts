import type { Kysely } from 'kysely';
import type { Trx } from '../db/committer.js';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import type { Page, PageRequest, Transaction } from '../domain/types.js';
import { customerAdjustmentMessage, type Message, type NotificationKind } from '../notify/templates.js';
import { pageOf } from './paging.js';

export interface Notification {
  id: number;
  kind: string;
  to: string;
  subject: string;
  text: string;
  createdAt: string;
  sentAt: string | null;
  error: string | null;
}

/** Queues one e-mail; the dispatcher sends it when SMTP_URL is set, otherwise it is kept and listed. */
export async function queueNotification(
  trx: Kysely<DB>,
  storeId: number,
  kind: NotificationKind,
  to: string,
  message: Message,
  now = Date.now(),
): Promise<void> {
  await trx
    .insertInto('notifications')
    .values({
      store_id: storeId, kind, to_address: to, subject: message.subject, text_body: message.text,
      html_body: message.html, next_attempt_at: now, created_at: now,
    })
    .execute();
}

/**
 * Queues the customer's e-mail about a manual adjustment (asked for with `notifyCustomer: true`):
 * the customer-facing message only, never the internal reason. A customer without an e-mail
 * address gets nothing. Returns whether a message was queued.
 *
 * @example if (cmd.notifyCustomer) await queueCustomerNotification(trx, storeId, written.transaction)
 * Needs: the adjustment's transaction (the message is sent only if it commits).
 */
export async function queueCustomerNotification(trx: Trx, storeId: number, transaction: Transaction): Promise<boolean> {
  const row = await trx
    .selectFrom('customers')
    .innerJoin('stores', 'stores.id', 'customers.store_id')
    .select(['customers.email', 'customers.first_name', 'stores.name'])
    .where('customers.store_id', '=', storeId)
    .where('customers.id', '=', transaction.customerId)
    .executeTakeFirst();
  if (!row?.email) return false;
  const message = customerAdjustmentMessage(row.name, {
    firstName: row.first_name,
    points: transaction.points,
    balanceAfter: transaction.balanceAfter,
    customerMessage: transaction.customerMessage,
  });
  await queueNotification(trx, storeId, 'customer_adjustment', row.email, message);
  return true;
}

/** The store's notifications, newest first: kept ones (no SMTP_URL) and sent ones alike. */
export async function listNotifications(db: Kysely<DB>, storeId: number, page: PageRequest): Promise<Page<Notification>> {
  let q = db.selectFrom('notifications').selectAll().where('store_id', '=', storeId);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return pageOf(
    rows.map((r) => ({
      id: r.id, kind: r.kind, to: r.to_address, subject: r.subject, text: r.text_body,
      createdAt: iso(r.created_at), sentAt: iso(r.sent_at), error: r.error,
    })),
    page.limit,
  );
}
