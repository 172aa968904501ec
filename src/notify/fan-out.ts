import { randomBytes } from 'node:crypto';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import type { Job } from '../domain/jobs.js';
import { queueNotification } from '../ledger/notifications.js';
import { subscriptionsFor } from './events.js';
import { jobFinishedMessage } from './templates.js';

/** Outbox rows turned into deliveries per transaction. */
const FAN_OUT_BATCH = 200;
const INSERT_BATCH = 100;
/** Job kinds whose end is mailed to the store (expiry runs on a schedule and is not). */
const MAILED_JOB_KINDS: ReadonlySet<string> = new Set(['bulk_adjustment', 'import', 'revert']);

export function newEventId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}

interface OutboxRow {
  id: number;
  store_id: number;
  event_type: string;
  payload: string;
  created_at: number;
}

/**
 * Takes outbox rows not yet fanned out and, in the same transaction, writes one delivery per
 * subscribed enabled endpoint (all sharing one event id, the webhook-id of every attempt) and the
 * job-completion e-mails, then marks the rows done. PostgreSQL: FOR UPDATE SKIP LOCKED, so several
 * dispatchers take disjoint rows; SQLite: the transaction's write lock does the same.
 * Returns how many outbox rows it took.
 *
 * Needs: a transaction.
 */
export async function fanOut(trx: Trx, now: number, baseUrl: string): Promise<number> {
  let q = trx.selectFrom('outbox').select(['id', 'store_id', 'event_type', 'payload', 'created_at'])
    .where('fanned_out_at', 'is', null).orderBy('id').limit(FAN_OUT_BATCH);
  if (dialectOf(trx) === 'postgres') q = q.forUpdate().skipLocked();
  const rows: OutboxRow[] = await q.execute();
  if (rows.length === 0) return 0;
  const storeIds = [...new Set(rows.map((r) => r.store_id))];
  const endpoints = await trx.selectFrom('webhook_endpoints').select(['id', 'store_id', 'events'])
    .where('store_id', 'in', storeIds).where('enabled', '=', 1).execute();
  const deliveries = [];
  for (const row of rows) {
    const wanted = subscriptionsFor(row.event_type);
    const eventId = newEventId();
    for (const e of endpoints) {
      if (e.store_id !== row.store_id || !(JSON.parse(e.events) as string[]).some((t) => wanted.includes(t))) continue;
      deliveries.push({
        store_id: row.store_id, endpoint_id: e.id, event_id: eventId, event_type: row.event_type, payload: row.payload,
        event_created_at: row.created_at, status: 'pending' as const, next_attempt_at: now, lease_until: null,
        lease_owner: null, response_status: null, error: null, duration_ms: null, created_at: now, updated_at: now,
      });
    }
  }
  for (let i = 0; i < deliveries.length; i += INSERT_BATCH) {
    await trx.insertInto('webhook_deliveries').values(deliveries.slice(i, i + INSERT_BATCH)).execute();
  }
  for (const row of rows) {
    if (row.event_type === 'job.completed' || row.event_type === 'job.failed') await mailJobEnd(trx, row, now, baseUrl);
  }
  await trx.updateTable('outbox').set({ fanned_out_at: now }).where('id', 'in', rows.map((r) => r.id)).execute();
  return rows.length;
}

/** The store's notifyEmail (store settings) and the staff member who started the job, once each. */
async function mailJobEnd(trx: Trx, row: OutboxRow, now: number, baseUrl: string): Promise<void> {
  const job = JSON.parse(row.payload) as Job;
  if (!MAILED_JOB_KINDS.has(job.kind)) return;
  const store = await trx.selectFrom('stores').select(['name', 'settings']).where('id', '=', row.store_id).executeTakeFirst();
  if (!store) return;
  const to = new Set<string>();
  const notifyEmail = settingsNotifyEmail(store.settings);
  if (notifyEmail) to.add(notifyEmail);
  if (job.actor?.type === 'user' && job.actor.id !== null) {
    const user = await trx.selectFrom('users').select('email').where('store_id', '=', row.store_id).where('id', '=', job.actor.id).executeTakeFirst();
    if (user?.email) to.add(user.email);
  }
  const message = jobFinishedMessage(store.name, job, baseUrl);
  for (const address of to) await queueNotification(trx, row.store_id, 'job_finished', address, message, now);
}

export function settingsNotifyEmail(settings: string): string | null {
  try {
    const value = (JSON.parse(settings) as { notifyEmail?: unknown }).notifyEmail;
    return typeof value === 'string' && value.includes('@') ? value : null;
  } catch {
    return null;
  }
}

/** Recipients of store-level alerts: notifyEmail, else the store's owners. */
export async function storeAlertRecipients(trx: Trx, storeId: number): Promise<{ name: string; to: string[] }> {
  const store = await trx.selectFrom('stores').select(['name', 'settings']).where('id', '=', storeId).executeTakeFirstOrThrow();
  const notifyEmail = settingsNotifyEmail(store.settings);
  if (notifyEmail) return { name: store.name, to: [notifyEmail] };
  const owners = await trx.selectFrom('users').select('email').where('store_id', '=', storeId).where('role', '=', 'owner').execute();
  return { name: store.name, to: owners.map((o) => o.email) };
}

