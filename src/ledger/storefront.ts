import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import { UnauthorizedError } from '../domain/errors.js';
import type { StorefrontView } from '../domain/storefront.js';
import { nextTier } from '../domain/tiers.js';
import type { PageRequest } from '../domain/types.js';
import { activeCoupons } from './coupons.js';
import { expiringPoints } from './expiring.js';
import { pageOf } from './paging.js';

/**
 * The storefront: what a shop shows a logged-in customer of their points, authenticated by the
 * shop's own digest of the customer's external id (HMAC-SHA256 with the store's storefront
 * secret), so the shop's page can call Tally without an API key.
 */

/** History entries per page. */
export const STOREFRONT_PAGE = 50;
/** Bounds of the other lists (a customer with more sees the soonest or newest ones). */
const PENDING_MAX = 100;
const COUPONS_MAX = 100;

/** Keys the digest of an unknown store, so that every refusal costs the same HMAC. */
const NO_STORE_SECRET = randomBytes(32).toString('base64url');
const DIGEST_BYTES = 32;
const DIGEST_RE = /^[0-9a-f]{64}$/i;

/** The hex digest a shop sends for a customer: HMAC-SHA256 keyed with the secret's text, over the external id. */
export function storefrontDigest(secret: string, externalId: string): string {
  return createHmac('sha256', secret).update(externalId, 'utf8').digest('hex');
}

/**
 * The customer a storefront request is about, when its digest is right. A missing or malformed
 * digest, a wrong one, an unknown store and an unknown customer are one refusal, reached by the
 * same work: one lookup of both the store's secret and the customer, one HMAC, one constant-time
 * comparison — so neither the answer nor its timing tells whether the customer exists.
 *
 * It can throw: UnauthorizedError.
 */
export async function authenticateStorefront(db: Kysely<DB>, storeId: number, externalId: string, digest: string | undefined): Promise<number> {
  const { rows } = await sql<{ secret: string | null; customer_id: number | null }>`
    SELECT (SELECT s.storefront_secret FROM stores s WHERE s.id = ${storeId}) AS secret,
           (SELECT c.id FROM customers c WHERE c.store_id = ${storeId} AND c.external_id = ${externalId}) AS customer_id`.execute(db);
  const found = rows[0] ?? { secret: null, customer_id: null };
  const expected = Buffer.from(storefrontDigest(found.secret ?? NO_STORE_SECRET, externalId), 'hex');
  const wellFormed = digest !== undefined && DIGEST_RE.test(digest);
  const given = wellFormed ? Buffer.from(digest, 'hex') : Buffer.alloc(DIGEST_BYTES);
  const matches = timingSafeEqual(expected, given);
  if (!matches || !wellFormed || found.secret === null || found.customer_id === null) {
    throw new UnauthorizedError('The customer digest is missing or not valid');
  }
  return Number(found.customer_id);
}

/**
 * One customer's storefront view: balance, pending credits, tier and the next one, points expiring
 * in the next 30 days, active coupons, and a page of history — the rows visible to the customer,
 * with their customer-facing message only.
 *
 * Pending credits are listed whether or not their row will be visible: their points are the
 * customer's (pendingPoints counts them all), only a hidden row's message stays internal.
 *
 * Needs: a read handle (the storefront reads on the reader threads). The customer must exist
 * (authenticateStorefront found it).
 */
export async function storefrontView(db: Kysely<DB>, storeId: number, customerId: number, page: PageRequest, now = Date.now()): Promise<StorefrontView> {
  const customer = await db
    .selectFrom('customers as c')
    .leftJoin('tiers as t', 't.id', 'c.tier_id')
    .select(['c.balance', 'c.pending_points', 'c.lifetime_points', 'c.tier_id', 't.name as tier_name'])
    .where('c.store_id', '=', storeId)
    .where('c.id', '=', customerId)
    .executeTakeFirstOrThrow();
  const [tiers, pending, expiring, coupons, history] = await Promise.all([
    db.selectFrom('tiers').select(['id', 'name', 'threshold']).where('store_id', '=', storeId).where('retired_at', 'is', null).execute(),
    db
      .selectFrom('pending_credits')
      .select(['points', 'available_at'])
      .where('store_id', '=', storeId)
      .where('customer_id', '=', customerId)
      .where('status', '=', 'pending')
      .orderBy('available_at')
      .limit(PENDING_MAX)
      .execute(),
    expiringPoints(db, storeId, customerId, now),
    activeCoupons(db, storeId, customerId, COUPONS_MAX),
    visibleHistory(db, storeId, customerId, page),
  ]);
  const rules = tiers.map((t) => ({ id: t.id, name: t.name, threshold: Number(t.threshold) }));
  return {
    balance: Number(customer.balance),
    pendingPoints: Number(customer.pending_points),
    pending: pending.map((p) => ({ points: Number(p.points), availableAt: iso(p.available_at) })),
    tier: customer.tier_id === null ? null : { id: Number(customer.tier_id), name: customer.tier_name ?? '' },
    nextTier: nextTier(Number(customer.lifetime_points), rules),
    expiring,
    coupons: coupons.map((c) => ({ code: c.code, rewardName: c.rewardName, kind: c.kind, value: c.value, createdAt: c.createdAt })),
    ...history,
  };
}

/** The customer's rows with visible_to_customer = 1, newest first; never the internal reason. */
async function visibleHistory(db: Kysely<DB>, storeId: number, customerId: number, page: PageRequest): Promise<Pick<StorefrontView, 'history' | 'nextCursor'>> {
  let q = db
    .selectFrom('transactions')
    .select(['id', 'type', 'points', 'customer_message', 'created_at'])
    .where('store_id', '=', storeId)
    .where('customer_id', '=', customerId)
    .where('visible_to_customer', '=', 1);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  const { data, nextCursor } = pageOf(rows, page.limit);
  return {
    history: data.map((r) => ({ type: r.type, points: Number(r.points), message: r.customer_message, createdAt: iso(r.created_at) })),
    nextCursor,
  };
}
