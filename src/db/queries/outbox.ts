import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Trx } from '../committer.js';
import type { Transaction } from '../../domain/types.js';
import { BATCH_MAX, type EventType, subscriptionsFor } from '../../notify/events.js';
import type { DB } from '../schema.js';
import { dialectOf } from '../dialect-of.js';
import { inIds } from './selection.js';

/** Appends an event to the outbox, in the caller's transaction (whether or not anyone subscribes). */
export async function appendOutbox(trx: Kysely<DB>, storeId: number, eventType: string, payload: unknown): Promise<void> {
  await trx
    .insertInto('outbox')
    .values({ store_id: storeId, event_type: eventType, payload: JSON.stringify(payload), created_at: Date.now() })
    .execute();
}

/**
 * SQL true when some enabled endpoint of the store subscribes to the type. `events` is a JSON array
 * of quoted names, so a LIKE on the quoted name is exact; the store's endpoints are a handful of rows.
 */
function subscribed(storeId: number, type: string): RawBuilder<unknown> {
  const names = subscriptionsFor(type).map((t) => sql`e.events LIKE ${`%"${t}"%`}`);
  return sql`EXISTS (SELECT 1 FROM webhook_endpoints e
    WHERE e.store_id = ${storeId} AND e.enabled = 1 AND (${sql.join(names, sql` OR `)}))`;
}

/**
 * Appends an event only when some enabled endpoint of the store subscribes to it: one statement
 * (INSERT … SELECT … WHERE EXISTS), no cache to go stale. Returns whether a row was written.
 *
 * Needs: the transaction of the change the event describes.
 */
export async function appendEvent(trx: Trx, storeId: number, type: EventType, data: unknown): Promise<boolean> {
  const result = await sql`
    INSERT INTO outbox (store_id, event_type, payload, created_at)
    SELECT CAST(${storeId} AS bigint), ${type}, ${JSON.stringify(data)}, CAST(${Date.now()} AS bigint)
    WHERE ${subscribed(storeId, type)}`.execute(trx);
  return Number(result.numAffectedRows ?? 0) > 0;
}

/** How long this process trusts that a store has no endpoint for transaction.created. */
const NO_SUBSCRIBER_TTL_MS = 1_000;
const noSubscriberUntil = new Map<number, number>();

/**
 * `transaction.created` for a single write, written only when some endpoint subscribes. Single
 * writes are the hot path: a store found without such an endpoint is not asked again for a second
 * (a statement, and on PostgreSQL a round trip, saved on every adjustment), so an endpoint created
 * or enabled on another instance receives this instance's single writes within a second. This
 * instance's own endpoint changes take effect at once (forgetSubscriptions).
 *
 * @example await appendTransactionEvent(trx, storeId, written.transaction)
 * Needs: the write's transaction.
 */
export async function appendTransactionEvent(trx: Trx, storeId: number, transaction: Transaction): Promise<boolean> {
  const until = noSubscriberUntil.get(storeId);
  if (until !== undefined && until > Date.now()) return false;
  const written = await appendEvent(trx, storeId, 'transaction.created', transaction);
  if (written) noSubscriberUntil.delete(storeId);
  else {
    if (noSubscriberUntil.size > 100_000) noSubscriberUntil.clear();
    noSubscriberUntil.set(storeId, Date.now() + NO_SUBSCRIBER_TTL_MS);
  }
  return written;
}

/** A store's endpoints changed in this process: its next single write asks again. */
export function forgetSubscriptions(storeId: number): void {
  noSubscriberUntil.delete(storeId);
}

/** The job rows a batch covers: a customer-id range (bulk and revert chunks) or a transaction-id range. */
export type BatchRange = { fromCustomerId: number; toCustomerId: number } | { fromId: number; toId: number };

/**
 * `transaction.batch` rows for the transactions a job chunk just wrote: set-based, one outbox row
 * per 1,000 of them, each holding the id range the dispatcher expands from the ledger at send time;
 * no row at all when no enabled endpoint of the store subscribes. Returns how many rows it wrote.
 *
 * @example await appendTransactionBatchEvents(trx, job.store_id, job.id, { fromCustomerId: chunk.from, toCustomerId: chunk.to })
 * Needs: the chunk's transaction, after its ledger INSERT.
 */
export async function appendTransactionBatchEvents(trx: Trx, storeId: number, jobId: number, range: BatchRange): Promise<number> {
  const where = 'fromCustomerId' in range
    ? sql`t.customer_id >= ${range.fromCustomerId} AND t.customer_id <= ${range.toCustomerId}`
    : sql`t.id >= ${range.fromId} AND t.id <= ${range.toId}`;
  // The group size is a literal: better-sqlite3 binds numbers as REAL, and a real division would
  // put every row in a group of its own.
  const result = await sql`
    INSERT INTO outbox (store_id, event_type, payload, created_at)
    SELECT CAST(${storeId} AS bigint), 'transaction.batch',
           '{"jobId":' || ${String(jobId)} || ',"fromId":' || CAST(min(g.id) AS TEXT) || ',"toId":' || CAST(max(g.id) AS TEXT)
             || ',"count":' || CAST(count(*) AS TEXT) || '}',
           CAST(${Date.now()} AS bigint)
    FROM (SELECT t.id, (row_number() OVER (ORDER BY t.id) - 1) / ${sql.lit(BATCH_MAX)} AS n
          FROM transactions t WHERE t.job_id = ${jobId} AND ${where}) g
    WHERE ${subscribed(storeId, 'transaction.batch')}
    GROUP BY g.n
    ORDER BY g.n`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * `customer.tier_changed` for the tier moves `historyIds` (tier_history rows), one event each, set-based; none when no enabled endpoint subscribes.
 * The payload, built in SQL (json_build_object / json_object, so the database escapes names), is flat:
 * {customerId, externalId, email, fromTierId, fromTierName, toTierId, toTierName, source: "points"|"manual", reason, lifetimePoints, jobId}.
 *
 * Needs: the transaction of the moves.
 */
export async function appendTierChangedEvents(trx: Trx, storeId: number, historyIds: number[]): Promise<number> {
  const wanted = await sql<{ yes: number }>`SELECT 1 AS yes WHERE ${subscribed(storeId, 'customer.tier_changed')}`.execute(trx);
  if (wanted.rows.length === 0) return 0;
  const json = dialectOf(trx) === 'postgres' ? sql.raw('json_build_object') : sql.raw('json_object');
  const result = await sql`
    INSERT INTO outbox (store_id, event_type, payload, created_at)
    SELECT h.store_id, 'customer.tier_changed',
           CAST(${json}('customerId', h.customer_id, 'externalId', c.external_id, 'email', c.email,
                'fromTierId', f.id, 'fromTierName', f.name, 'toTierId', t.id, 'toTierName', t.name,
                'source', CASE WHEN h.manual = 1 THEN 'manual' ELSE 'points' END, 'reason', h.reason,
                'lifetimePoints', c.lifetime_points, 'jobId', h.job_id) AS TEXT),
           h.created_at
    FROM tier_history h JOIN customers c ON c.id = h.customer_id
    LEFT JOIN tiers f ON f.id = h.from_tier_id LEFT JOIN tiers t ON t.id = h.to_tier_id
    WHERE h.store_id = ${storeId} AND ${inIds(trx, 'h.id', historyIds)}
    ORDER BY h.id`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * `customer.points_expiring`, once per customer and expiry day: `upcoming` is a relation of
 * (customer_id, expires_on, points) — points of a customer expiring on a day (epoch ms of its
 * start, UTC). Days already told (expiry_notices) are skipped; nothing at all is written when no
 * enabled endpoint of the store subscribes. Payload: {customerId, externalId, email, points, expiresAt}.
 *
 * Needs: a transaction (the expiry run's chunk). Returns how many events it wrote.
 */
export async function appendExpiringEvents(trx: Trx, storeId: number, upcoming: RawBuilder<unknown>): Promise<number> {
  const wanted = await sql<{ yes: number }>`SELECT 1 AS yes WHERE ${subscribed(storeId, 'customer.points_expiring')}`.execute(trx);
  if (wanted.rows.length === 0) return 0;
  const now = Date.now();
  const told = await sql<{ customer_id: number; expires_on: number; points: number }>`
    INSERT INTO expiry_notices (store_id, customer_id, expires_on, points, created_at)
    SELECT CAST(${storeId} AS bigint), u.customer_id, u.expires_on, u.points, CAST(${now} AS bigint) FROM ${upcoming} u WHERE u.points > 0
    ON CONFLICT DO NOTHING
    RETURNING customer_id, expires_on, points`.execute(trx);
  if (told.rows.length === 0) return 0;
  const ids = told.rows.map((r) => Number(r.customer_id));
  const who = await trx.selectFrom('customers').select(['id', 'external_id', 'email']).where('store_id', '=', storeId).where(inIds(trx, 'id', ids)).execute();
  const byId = new Map(who.map((c) => [Number(c.id), c]));
  for (let i = 0; i < told.rows.length; i += 1000) {
    await trx
      .insertInto('outbox')
      .values(told.rows.slice(i, i + 1000).map((r) => ({
        store_id: storeId,
        event_type: 'customer.points_expiring',
        payload: JSON.stringify({
          customerId: Number(r.customer_id),
          externalId: byId.get(Number(r.customer_id))?.external_id ?? null,
          email: byId.get(Number(r.customer_id))?.email ?? null,
          points: Number(r.points),
          expiresAt: new Date(Number(r.expires_on)).toISOString(),
        }),
        created_at: now,
      })))
      .execute();
  }
  return told.rows.length;
}
