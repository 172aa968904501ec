import { type Kysely, type Selectable, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { dialectOf } from '../db/dialect-of.js';
import { appendEvent } from '../db/queries/outbox.js';
import type { DB, WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/schema.js';
import { iso } from '../db/time.js';
import { toTransaction } from '../db/queries/transactions.js';
import { queueNotification } from '../ledger/notifications.js';
import type { TransactionBatchRef, WebhookEvent } from './events.js';
import { storeAlertRecipients } from './fan-out.js';
import { DISABLE_AFTER_MS, retryDelay } from './schedule.js';
import type { SendResult } from './send-webhook.js';
import { signatureHeader } from './signing.js';
import { webhookDisabledMessage } from './templates.js';

export type DeliveryRow = Selectable<WebhookDeliveriesTable>;
export type EndpointRow = Selectable<WebhookEndpointsTable>;

/** Endpoints with deliveries due now, oldest due first: each gets its own share of the senders. */
export async function dueEndpoints(db: Kysely<DB>, now: number, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select(['d.endpoint_id', sql<number>`min(d.next_attempt_at)`.as('due')])
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .where((w) => w.or([w('d.lease_until', 'is', null), w('d.lease_until', '<=', now)]))
    .where('e.enabled', '=', 1)
    .groupBy('d.endpoint_id')
    .orderBy('due')
    .limit(limit)
    .execute();
  return rows.map((r) => r.endpoint_id);
}

/**
 * Leases up to `limit` due deliveries of one endpoint and counts the attempt, in one statement.
 * PostgreSQL: FOR UPDATE SKIP LOCKED, so dispatchers on several instances never take the same row;
 * a dispatcher that dies mid-send leaves its lease to expire, and the delivery is sent again
 * (same webhook-id: at least once). `inFlight`: the caller's own sends still running, never taken
 * again by it even when their lease ran out (a lease shorter than the per-request timeout).
 */
export async function claimDeliveries(
  db: Kysely<DB>, endpointId: number, now: number, leaseMs: number, owner: string, limit: number, inFlight: readonly number[] = [],
): Promise<DeliveryRow[]> {
  const lock = dialectOf(db) === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  const mine = inFlight.length > 0 ? sql`AND id NOT IN (${sql.join(inFlight)})` : sql``;
  const result = await sql<DeliveryRow>`
    UPDATE webhook_deliveries SET lease_until = ${now + leaseMs}, lease_owner = ${owner}, attempt = attempt + 1, updated_at = ${now}
    WHERE id IN (SELECT id FROM webhook_deliveries
                 WHERE endpoint_id = ${endpointId} AND status = 'pending' AND next_attempt_at <= ${now}
                   AND (lease_until IS NULL OR lease_until <= ${now}) ${mine}
                 ORDER BY next_attempt_at, id LIMIT ${limit} ${lock})
    RETURNING *`.execute(db);
  return result.rows;
}

/** The event a delivery carries; a transaction.batch range is read from the ledger (append-only: the same body every attempt). */
export async function eventBody(db: Kysely<DB>, d: DeliveryRow): Promise<string> {
  let data: unknown = JSON.parse(d.payload);
  if (d.event_type === 'transaction.batch') {
    const ref = data as TransactionBatchRef;
    const rows = await db.selectFrom('transactions').selectAll()
      .where('id', '>=', ref.fromId).where('id', '<=', ref.toId)
      .where('store_id', '=', d.store_id).where('job_id', '=', ref.jobId)
      .orderBy('id').execute();
    data = { jobId: ref.jobId, transactions: rows.map(toTransaction) };
  }
  const event: WebhookEvent = { id: d.event_id, type: d.event_type as WebhookEvent['type'], createdAt: iso(d.event_created_at), data };
  return JSON.stringify(event);
}

/**
 * The Standard Webhooks headers. The timestamp (receivers reject stale ones) and the rotation's
 * grace period are real time, not the dispatcher's schedule clock.
 */
export function signedHeaders(endpoint: EndpointRow, eventId: string, body: string): Record<string, string> {
  const now = Date.now();
  const secrets = [endpoint.secret];
  if (endpoint.previous_secret && (endpoint.previous_secret_until ?? 0) > now) secrets.push(endpoint.previous_secret);
  const timestamp = Math.floor(now / 1000);
  return { 'webhook-id': eventId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatureHeader(secrets, eventId, timestamp, body) };
}

/**
 * Records an attempt's outcome: succeeded, retried on the schedule, or failed for good after the
 * last attempt. An endpoint failing for DISABLE_AFTER_MS is disabled, and the store is told
 * (a webhook.disabled event and an e-mail). A lease lost meanwhile (another dispatcher took the
 * delivery over) records nothing.
 *
 * Needs: a transaction.
 */
export async function recordAttempt(trx: Trx, d: DeliveryRow, owner: string, r: SendResult, now: number, random: () => number): Promise<void> {
  const delay = r.ok ? null : retryDelay(d.attempt, random);
  const status = r.ok ? 'succeeded' : delay === null ? 'failed' : 'pending';
  const updated = await trx
    .updateTable('webhook_deliveries')
    .set({
      status, response_status: r.responseStatus, error: r.error, duration_ms: r.durationMs, lease_until: null,
      lease_owner: null, next_attempt_at: delay === null ? now : now + delay, updated_at: now,
    })
    .where('id', '=', d.id)
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return;
  if (r.ok) {
    await trx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', d.endpoint_id).where('failing_since', 'is not', null).execute();
    return;
  }
  await trx.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', '=', d.endpoint_id).where('failing_since', 'is', null).execute();
  const endpoint = await trx.selectFrom('webhook_endpoints').selectAll().where('id', '=', d.endpoint_id).executeTakeFirst();
  if (!endpoint || endpoint.enabled !== 1 || endpoint.failing_since === null || now - endpoint.failing_since < DISABLE_AFTER_MS) return;
  await disableEndpoint(trx, endpoint, `failing since ${iso(endpoint.failing_since)}; last error: ${r.error ?? 'unknown'}`, now);
}

async function disableEndpoint(trx: Trx, endpoint: EndpointRow, reason: string, now: number): Promise<void> {
  await trx.updateTable('webhook_endpoints').set({ enabled: 0, disabled_reason: reason, updated_at: now }).where('id', '=', endpoint.id).execute();
  await appendEvent(trx, endpoint.store_id, 'webhook.disabled', {
    id: endpoint.id, url: endpoint.url, events: JSON.parse(endpoint.events), enabled: false, disabledReason: reason,
  });
  const { name, to } = await storeAlertRecipients(trx, endpoint.store_id);
  const message = webhookDisabledMessage(name, endpoint.url, reason);
  for (const address of to) await queueNotification(trx, endpoint.store_id, 'webhook_disabled', address, message, now);
}
