import type { Kysely, Selectable } from 'kysely';
import { forgetSubscriptions } from '../db/queries/outbox.js';
import type { Trx } from '../db/committer.js';
import type { DB, WebhookDeliveriesTable, WebhookEndpointsTable } from '../db/schema.js';
import { iso } from '../db/time.js';
import { NotFoundError, ValidationError, WebhookUrlNotAllowedError } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/types.js';
import { addressProblem, urlProblem } from '../notify/address-guard.js';
import { EVENT_TYPES } from '../notify/events.js';
import { newWebhookSecret } from '../notify/signing.js';
import { pageOf } from './paging.js';

/** The old secret keeps signing beside the new one this long after a rotation. */
export const ROTATION_GRACE_MS = 24 * 3_600_000;
const URL_MAX = 2000;

export interface Webhook {
  id: number;
  url: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookWithSecret extends Webhook {
  secret: string;
}

export interface Delivery {
  id: number;
  eventId: string;
  eventType: string;
  attempt: number;
  status: 'pending' | 'succeeded' | 'failed';
  responseStatus: number | null;
  error: string | null;
  durationMs: number | null;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewWebhook {
  url: string;
  events: string[];
}

export interface WebhookChange {
  url?: string;
  events?: string[];
  enabled?: boolean;
}

function toWebhook(r: Selectable<WebhookEndpointsTable>): Webhook {
  return {
    id: r.id, url: r.url, events: JSON.parse(r.events) as string[], enabled: r.enabled === 1,
    disabledReason: r.disabled_reason, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

export function toDelivery(r: Selectable<WebhookDeliveriesTable>): Delivery {
  return {
    id: r.id, eventId: r.event_id, eventType: r.event_type, attempt: r.attempt, status: r.status,
    responseStatus: r.response_status, error: r.error, durationMs: r.duration_ms,
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

function validEvents(events: string[]): string[] {
  const unknown = events.find((e) => !(EVENT_TYPES as readonly string[]).includes(e));
  if (unknown !== undefined) throw new ValidationError(`Unknown event type "${unknown}"`, 'events', { allowed: EVENT_TYPES });
  if (events.length === 0) throw new ValidationError('Subscribe to at least one event', 'events');
  return [...new Set(events)];
}

/**
 * Checks a webhook URL before it is stored: http(s), and — unless `allowPrivate`
 * (TALLY_ALLOW_PRIVATE_WEBHOOKS=true) — a host that resolves only to public addresses. Runs outside
 * any transaction (it may wait on DNS).
 * It can throw: WebhookUrlNotAllowedError.
 */
export async function checkWebhookUrl(url: string | undefined, allowPrivate: boolean): Promise<void> {
  if (url === undefined) return;
  if (url.length > URL_MAX) throw new WebhookUrlNotAllowedError(url, `is longer than ${URL_MAX} characters`);
  const problem = urlProblem(url) ?? (await addressProblem(url, allowPrivate));
  if (problem) throw new WebhookUrlNotAllowedError(url, problem);
}

/**
 * Registers an endpoint with a new secret (returned here and on rotation only).
 * Needs: a transaction; the URL checked with checkWebhookUrl first. It can throw: ValidationError.
 */
export async function createWebhook(trx: Trx, storeId: number, input: NewWebhook): Promise<WebhookWithSecret> {
  forgetSubscriptions(storeId);
  const now = Date.now();
  const secret = newWebhookSecret();
  const row = await trx
    .insertInto('webhook_endpoints')
    .values({
      store_id: storeId, url: input.url, events: JSON.stringify(validEvents(input.events)), secret,
      previous_secret: null, previous_secret_until: null, disabled_reason: null, failing_since: null,
      created_at: now, updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...toWebhook(row), secret };
}

export async function listWebhooks(db: Kysely<DB>, storeId: number): Promise<Webhook[]> {
  const rows = await db.selectFrom('webhook_endpoints').selectAll().where('store_id', '=', storeId).orderBy('id').execute();
  return rows.map(toWebhook);
}

export async function getWebhook(db: Kysely<DB>, storeId: number, id: number): Promise<Webhook> {
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('webhook', id);
  return toWebhook(row);
}

/**
 * Changes url, events or enabled. Enabling clears the disabled reason and the failure streak.
 * Needs: a transaction; a new URL checked with checkWebhookUrl. It can throw: NotFoundError, ValidationError.
 */
export async function updateWebhook(trx: Trx, storeId: number, id: number, change: WebhookChange): Promise<Webhook> {
  forgetSubscriptions(storeId);
  const set: Partial<Selectable<WebhookEndpointsTable>> = { updated_at: Date.now() };
  if (change.url !== undefined) set.url = change.url;
  if (change.events !== undefined) set.events = JSON.stringify(validEvents(change.events));
  if (change.enabled !== undefined) {
    set.enabled = change.enabled ? 1 : 0;
    set.disabled_reason = null;
    if (change.enabled) set.failing_since = null;
  }
  const row = await trx
    .updateTable('webhook_endpoints')
    .set(set)
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('webhook', id);
  return toWebhook(row);
}

/** Removes an endpoint and its delivery log. Needs: a transaction. It can throw: NotFoundError. */
export async function deleteWebhook(trx: Trx, storeId: number, id: number): Promise<void> {
  await getWebhook(trx, storeId, id);
  await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
  await trx.deleteFrom('webhook_endpoints').where('store_id', '=', storeId).where('id', '=', id).execute();
}

/**
 * A new secret; the current one keeps signing beside it for ROTATION_GRACE_MS.
 * Needs: a transaction. It can throw: NotFoundError.
 */
export async function rotateWebhookSecret(trx: Trx, storeId: number, id: number): Promise<WebhookWithSecret> {
  const current = await trx.selectFrom('webhook_endpoints').select('secret').where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!current) throw new NotFoundError('webhook', id);
  const now = Date.now();
  const secret = newWebhookSecret();
  const row = await trx
    .updateTable('webhook_endpoints')
    .set({ secret, previous_secret: current.secret, previous_secret_until: now + ROTATION_GRACE_MS, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { ...toWebhook(row), secret };
}

/** An endpoint's deliveries, newest first. It can throw: NotFoundError. */
export async function listDeliveries(db: Kysely<DB>, storeId: number, id: number, page: PageRequest): Promise<Page<Delivery>> {
  await getWebhook(db, storeId, id);
  let q = db.selectFrom('webhook_deliveries').selectAll().where('store_id', '=', storeId).where('endpoint_id', '=', id);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return pageOf(rows.map(toDelivery), page.limit);
}

/**
 * Sends an event again: a new delivery of the same event (same webhook-id), due now. A delivery
 * still pending is simply made due now. Needs: a transaction. It can throw: NotFoundError.
 */
export async function redeliver(trx: Trx, storeId: number, endpointId: number, deliveryId: number): Promise<Delivery> {
  const d = await trx
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('endpoint_id', '=', endpointId)
    .where('id', '=', deliveryId)
    .executeTakeFirst();
  if (!d) throw new NotFoundError('delivery', deliveryId);
  const now = Date.now();
  if (d.status === 'pending') {
    const row = await trx.updateTable('webhook_deliveries').set({ next_attempt_at: now, updated_at: now }).where('id', '=', d.id).returningAll().executeTakeFirstOrThrow();
    return toDelivery(row);
  }
  const row = await trx
    .insertInto('webhook_deliveries')
    .values({
      store_id: storeId, endpoint_id: endpointId, event_id: d.event_id, event_type: d.event_type, payload: d.payload,
      event_created_at: d.event_created_at, status: 'pending', next_attempt_at: now, lease_until: null, lease_owner: null,
      response_status: null, error: null, duration_ms: null, created_at: now, updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toDelivery(row);
}
