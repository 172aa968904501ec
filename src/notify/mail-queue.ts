import { type Kysely, type Selectable, sql } from 'kysely';
import { dialectOf } from '../db/dialect-of.js';
import type { DB, NotificationsTable } from '../db/schema.js';
import type { Mailer } from './mailer.js';

const MAIL_BATCH = 10;
const MAX_MAIL_ATTEMPTS = 5;
const MAIL_RETRY_MS = 60_000;

/**
 * Sends due notifications through the mailer: each leased in one statement (SKIP LOCKED on
 * PostgreSQL), then marked sent, or retried a minute later per attempt, up to five attempts
 * (the last error stays on the notification). Returns how many it tried.
 */
export async function sendDueMail(db: Kysely<DB>, mailer: Mailer, now: () => number, leaseMs: number): Promise<number> {
  const lock = dialectOf(db) === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const t = now();
  const due = await sql<Selectable<NotificationsTable>>`
    UPDATE notifications SET lease_until = ${t + leaseMs}, attempts = attempts + 1
    WHERE id IN (SELECT id FROM notifications
                 WHERE sent_at IS NULL AND attempts < ${MAX_MAIL_ATTEMPTS} AND next_attempt_at <= ${t}
                   AND (lease_until IS NULL OR lease_until <= ${t})
                 ORDER BY next_attempt_at, id LIMIT ${MAIL_BATCH} ${lock})
    RETURNING *`.execute(db);
  for (const n of due.rows) {
    try {
      await mailer.send(n.to_address, { subject: n.subject, text: n.text_body, html: n.html_body });
      await db.updateTable('notifications').set({ sent_at: now(), error: null, lease_until: null }).where('id', '=', n.id).execute();
    } catch (err) {
      await db.updateTable('notifications')
        .set({ error: (err as Error).message.slice(0, 500), lease_until: null, next_attempt_at: now() + MAIL_RETRY_MS * n.attempts })
        .where('id', '=', n.id).execute();
    }
  }
  return due.rows.length;
}

const PRUNE_BATCH = 1000;

/**
 * Deletes outbox rows fanned out before the retention period, and finished deliveries last
 * touched before it, a bounded batch at a time. Returns how many rows went.
 */
export async function prune(db: Kysely<DB>, before: number): Promise<number> {
  const outbox = await db.deleteFrom('outbox').where('id', 'in', (s) =>
    s.selectFrom('outbox').select('id').where('fanned_out_at', 'is not', null).where('fanned_out_at', '<', before).limit(PRUNE_BATCH),
  ).executeTakeFirst();
  const deliveries = await db.deleteFrom('webhook_deliveries').where('id', 'in', (s) =>
    s.selectFrom('webhook_deliveries').select('id').where('status', '<>', 'pending').where('updated_at', '<', before).limit(PRUNE_BATCH),
  ).executeTakeFirst();
  return Number(outbox.numDeletedRows) + Number(deliveries.numDeletedRows);
}
