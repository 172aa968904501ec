import type { Kysely, Selectable } from 'kysely';
import type { Trx } from '../db/committer.js';
import type { DB, RewardsTable } from '../db/schema.js';
import { iso } from '../db/time.js';
import { NotFoundError } from '../domain/errors.js';
import {
  type NewReward,
  type Reward,
  type RewardChange,
  type RewardKind,
  validPointsCost,
  validRewardName,
  validRewardValue,
} from '../domain/rewards.js';
import type { Page, PageRequest } from '../domain/types.js';
import { pageOf } from './paging.js';

/**
 * The rewards catalog: what a customer's points can buy (or staff can give), each with its kind
 * and value. A reward is never deleted — coupons name it — it is disabled (`active: false`), after
 * which no new coupon is issued for it; coupons already issued stay as they are.
 */

export function toReward(r: Selectable<RewardsTable>): Reward {
  return {
    id: r.id,
    name: r.name,
    pointsCost: Number(r.points_cost),
    kind: r.kind as RewardKind,
    // numeric: PostgreSQL answers it as a string.
    value: r.value === null ? null : Number(r.value),
    active: Number(r.active) === 1,
    createdAt: iso(r.created_at),
  };
}

/**
 * Adds a reward to the catalog.
 *
 * @example await committer.run((trx) => createReward(trx, storeId, { name: '$5 off', pointsCost: 500, kind: 'fixed_amount', value: 5 }))
 * Needs: a transaction. It can throw: ValidationError.
 */
export async function createReward(trx: Trx, storeId: number, input: NewReward): Promise<Reward> {
  const row = await trx
    .insertInto('rewards')
    .values({
      store_id: storeId,
      name: validRewardName(input.name),
      points_cost: validPointsCost(input.pointsCost),
      kind: input.kind,
      value: validRewardValue(input.kind, input.value),
      created_at: Date.now(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toReward(row);
}

/** It can throw: NotFoundError (also for another store's reward). */
export async function getReward(db: Kysely<DB>, storeId: number, id: number): Promise<Reward> {
  const row = await db.selectFrom('rewards').selectAll().where('store_id', '=', storeId).where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('reward', id);
  return toReward(row);
}

/** The catalog, newest first (only the active or the disabled rewards when `active` is given). */
export async function listRewards(db: Kysely<DB>, storeId: number, filter: { active?: boolean }, page: PageRequest): Promise<Page<Reward>> {
  let q = db.selectFrom('rewards').selectAll().where('store_id', '=', storeId);
  if (filter.active !== undefined) q = q.where('active', '=', filter.active ? 1 : 0);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return pageOf(rows.map(toReward), page.limit);
}

/**
 * Changes a reward's name, cost, value or whether it is active; its kind stays. A value is checked
 * against the reward's kind.
 *
 * Needs: a transaction. It can throw: ValidationError, NotFoundError.
 */
export async function updateReward(trx: Trx, storeId: number, id: number, change: RewardChange): Promise<Reward> {
  const current = await getReward(trx, storeId, id);
  const set: Partial<Pick<Selectable<RewardsTable>, 'name' | 'points_cost' | 'value' | 'active'>> = {};
  if (change.name !== undefined) set.name = validRewardName(change.name);
  if (change.pointsCost !== undefined) set.points_cost = validPointsCost(change.pointsCost);
  if (change.value !== undefined) set.value = validRewardValue(current.kind, change.value);
  if (change.active !== undefined) set.active = change.active ? 1 : 0;
  if (Object.keys(set).length === 0) return current;
  const row = await trx
    .updateTable('rewards')
    .set(set)
    .where('store_id', '=', storeId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return toReward(row);
}
