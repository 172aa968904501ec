import type { Kysely } from 'kysely';
import type { Trx } from '../db/committer.js';
import { lockCustomer, toCustomer } from '../db/queries/customers.js';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import { planChange } from '../domain/balance.js';
import { newCouponCode } from '../domain/coupon-code.js';
import { NotFoundError, RewardInactiveError } from '../domain/errors.js';
import type { Coupon, CouponSource, GiveReward, RewardKind } from '../domain/rewards.js';
import type { Actor, Customer, Page, PageRequest, Transaction } from '../domain/types.js';
import { validReason } from '../domain/validation.js';
import type { WriteOptions } from './adjust.js';
import { appendLedgerRow } from './append.js';
import { pageOf } from './paging.js';
import { getReward } from './rewards.js';

/** What giving a reward wrote: the coupon, and the redemption row that paid for it (null when free). */
export interface RewardGiven {
  coupon: Coupon;
  transaction: Transaction | null;
  customer: Customer;
}

/** A code that collides with one of the store's is drawn again; with 57 bits, twice is already never. */
const CODE_ATTEMPTS = 5;

function selectCoupons(db: Kysely<DB>, storeId: number) {
  return db
    .selectFrom('coupons as k')
    .innerJoin('rewards as r', 'r.id', 'k.reward_id')
    .select(['k.id', 'k.customer_id', 'k.code', 'k.reward_id', 'k.source', 'k.transaction_id', 'k.active', 'k.disabled_at', 'k.created_at'])
    .select(['r.name as reward_name', 'r.kind', 'r.value'])
    .where('k.store_id', '=', storeId);
}

type CouponRecord = Awaited<ReturnType<ReturnType<typeof selectCoupons>['executeTakeFirstOrThrow']>>;

function toCoupon(r: CouponRecord): Coupon {
  return {
    id: r.id,
    customerId: Number(r.customer_id),
    code: r.code,
    rewardId: Number(r.reward_id),
    rewardName: r.reward_name,
    kind: r.kind as RewardKind,
    value: r.value === null ? null : Number(r.value),
    source: r.source as CouponSource,
    active: Number(r.active) === 1,
    transactionId: r.transaction_id === null ? null : Number(r.transaction_id),
    disabledAt: iso(r.disabled_at),
    createdAt: iso(r.created_at),
  };
}

/**
 * Gives one customer a reward of the catalog: a coupon with a new code, either paid for with the
 * reward's cost — a `redemption` row, which leaves lifetime points and so the tier alone and
 * counts as the customer's own activity — or free (no ledger row).
 *
 * @example await committer.run((trx) => giveReward(trx, storeId, { customerId: 7, rewardId: 2, deductPoints: true, reason: 'Asked by phone' }, actor))
 *
 * Needs: a transaction (the customer row is locked until it ends).
 * It can throw: ValidationError, NotFoundError (customer or reward), RewardInactiveError,
 * InsufficientPointsError (nothing written).
 */
export async function giveReward(trx: Trx, storeId: number, cmd: GiveReward, actor: Actor, opts: WriteOptions = {}): Promise<RewardGiven> {
  const reason = validReason(cmd.reason);
  const customer = await lockCustomer(trx, storeId, cmd.customerId);
  if (!customer) throw new NotFoundError('customer', cmd.customerId);
  const reward = await getReward(trx, storeId, cmd.rewardId);
  if (!reward.active) throw new RewardInactiveError(reward.id);
  let transaction: Transaction | null = null;
  let after: Customer = toCustomer(customer);
  if (cmd.deductPoints) {
    const effect = planChange(
      { customerId: customer.id, balance: customer.balance, lifetimePoints: customer.lifetime_points },
      0 - reward.pointsCost,
      { affectsTier: false },
    );
    const written = await appendLedgerRow(
      trx,
      customer,
      effect,
      { type: 'redemption', reason, customerMessage: reward.name, visibleToCustomer: true, ...opts },
      actor,
    );
    transaction = written.transaction;
    after = written.customer;
  }
  const id = await insertCoupon(trx, {
    store_id: storeId,
    customer_id: customer.id,
    reward_id: reward.id,
    source: cmd.deductPoints ? 'redemption' : 'free',
    transaction_id: transaction?.id ?? null,
    created_at: Date.now(),
  });
  return { coupon: toCoupon(await selectCoupons(trx, storeId).where('k.id', '=', id).executeTakeFirstOrThrow()), transaction, customer: after };
}

/**
 * Inserts a coupon under a new code. A code the store already has is skipped by ON CONFLICT (a
 * unique violation would abort the whole transaction on PostgreSQL) and another one drawn.
 */
async function insertCoupon(
  trx: Trx,
  values: { store_id: number; customer_id: number; reward_id: number; source: CouponSource; transaction_id: number | null; created_at: number },
): Promise<number> {
  for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
    const row = await trx
      .insertInto('coupons')
      .values({ ...values, code: newCouponCode() })
      .onConflict((oc) => oc.columns(['store_id', 'code']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (row) return row.id;
  }
  throw new Error(`no free coupon code in ${CODE_ATTEMPTS} draws`);
}

/** A customer's coupons, newest first. It can throw: NotFoundError (the customer). */
export async function listCoupons(db: Kysely<DB>, storeId: number, customerId: number, page: PageRequest): Promise<Page<Coupon>> {
  const customer = await db.selectFrom('customers').select('id').where('store_id', '=', storeId).where('id', '=', customerId).executeTakeFirst();
  if (!customer) throw new NotFoundError('customer', customerId);
  let q = selectCoupons(db, storeId).where('k.customer_id', '=', customerId);
  if (page.beforeId !== undefined) q = q.where('k.id', '<', page.beforeId);
  const rows = await q.orderBy('k.id', 'desc').limit(page.limit + 1).execute();
  return pageOf(rows.map(toCoupon), page.limit);
}

/** A customer's active coupons, newest first, at most `limit` (the storefront). */
export async function activeCoupons(db: Kysely<DB>, storeId: number, customerId: number, limit: number): Promise<Coupon[]> {
  const rows = await selectCoupons(db, storeId)
    .where('k.customer_id', '=', customerId)
    .where('k.active', '=', 1)
    .orderBy('k.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toCoupon);
}

/** Codes are upper case; one typed in lower case or with spaces around is the same code. */
export function normalizeCouponCode(code: string): string {
  return code.trim().toUpperCase();
}

/**
 * Disables a coupon (the merchant removes it from the shop). Disabling a disabled coupon changes
 * nothing and answers it as it is (its first disabledAt): the request's outcome holds either way.
 *
 * Needs: a transaction. It can throw: NotFoundError.
 */
export async function disableCoupon(trx: Trx, storeId: number, code: string): Promise<Coupon> {
  const normalized = normalizeCouponCode(code);
  await trx
    .updateTable('coupons')
    .set({ active: 0, disabled_at: Date.now() })
    .where('store_id', '=', storeId)
    .where('code', '=', normalized)
    .where('active', '=', 1)
    .execute();
  const row = await selectCoupons(trx, storeId).where('k.code', '=', normalized).executeTakeFirst();
  if (!row) throw new NotFoundError('coupon', normalized);
  return toCoupon(row);
}

