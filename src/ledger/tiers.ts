import { type Kysely, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { insertStoreJob, toJob } from '../db/queries/jobs.js';
import { lockCustomer, toCustomer } from '../db/queries/customers.js';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Job } from '../domain/jobs.js';
import type { Actor, Customer } from '../domain/types.js';
import { validReason } from '../domain/validation.js';
import { encodeParams } from './job-kinds/index.js';
import { tierEvaluationKind } from './job-kinds/tier-evaluation.js';
import { moveTiers } from './tier-moves.js';

/** A tier as the API shows it. */
export interface Tier {
  id: number;
  name: string;
  threshold: number;
  entryReward: { points: number | null; rewardId: number | null } | null;
}

export interface TierInput {
  name: string;
  threshold: number;
  entryReward?: { points?: number; rewardId?: number } | null;
}

export const MAX_TIERS = 50;

/** The store's active tiers, lowest threshold first. */
export async function listTiers(db: Kysely<DB>, storeId: number): Promise<{ data: Tier[] }> {
  const rows = await db
    .selectFrom('tiers')
    .selectAll()
    .where('store_id', '=', storeId)
    .where('retired_at', 'is', null)
    .orderBy('threshold')
    .orderBy('id')
    .execute();
  return {
    data: rows.map((r) => ({
      id: r.id,
      name: r.name,
      threshold: r.threshold,
      entryReward: r.entry_reward_points === null && r.entry_reward_id === null ? null : { points: r.entry_reward_points, rewardId: r.entry_reward_id },
    })),
  };
}

/**
 * Replaces the store's tier table. A tier keeps its id while its name stays (matched without
 * regard to case), so customers and history keep pointing at it; a tier left out is retired
 * (never deleted). When thresholds or the set of tiers changed, a tier_evaluation job moves the
 * store's customers into their tiers (entry rewards granted to those who newly qualify, none
 * taken back).
 *
 * Needs: a transaction. It can throw: ValidationError (names, thresholds, unknown rewardId).
 */
export async function replaceTiers(trx: Trx, storeId: number, input: TierInput[], actor: Actor): Promise<{ data: Tier[]; job: Job | null }> {
  const tiers = validTiers(input);
  const rewardIds = tiers.map((t) => t.entryReward?.rewardId).filter((id): id is number => id !== undefined);
  if (rewardIds.length > 0) {
    const found = await trx.selectFrom('rewards').select('id').where('store_id', '=', storeId).where('id', 'in', rewardIds).execute();
    const missing = rewardIds.find((id) => !found.some((r) => r.id === id));
    if (missing !== undefined) throw new ValidationError(`No reward ${missing} in this store`, 'entryReward.rewardId');
  }
  const current = await trx.selectFrom('tiers').selectAll().where('store_id', '=', storeId).where('retired_at', 'is', null).execute();
  const now = Date.now();
  let moved = false;
  for (const t of tiers) {
    const values = { name: t.name, threshold: t.threshold, entry_reward_points: t.entryReward?.points ?? null, entry_reward_id: t.entryReward?.rewardId ?? null };
    const same = current.find((c) => c.name.toLowerCase() === t.name.toLowerCase());
    if (same) {
      if (same.threshold !== t.threshold) moved = true;
      await trx.updateTable('tiers').set(values).where('id', '=', same.id).execute();
    } else {
      moved = true;
      await trx.insertInto('tiers').values({ store_id: storeId, ...values, retired_at: null, created_at: now }).execute();
    }
  }
  const gone = current.filter((c) => !tiers.some((t) => t.name.toLowerCase() === c.name.toLowerCase()));
  if (gone.length > 0) {
    moved = true;
    await trx.updateTable('tiers').set({ retired_at: now }).where('id', 'in', gone.map((g) => g.id)).execute();
  }
  const job = moved ? await queueTierEvaluation(trx, storeId, actor) : null;
  return { ...(await listTiers(trx, storeId)), job };
}

function validTiers(input: TierInput[]): TierInput[] {
  if (input.length > MAX_TIERS) throw new ValidationError(`At most ${MAX_TIERS} tiers`, 'tiers');
  const names = new Set<string>();
  const thresholds = new Set<number>();
  return input.map((t, i) => {
    const name = t.name.trim();
    if (name.length === 0 || name.length > 100) throw new ValidationError('A tier name has 1–100 characters', `${i}.name`);
    if (names.has(name.toLowerCase())) throw new ValidationError(`Two tiers are named ${name}`, `${i}.name`);
    if (thresholds.has(t.threshold)) throw new ValidationError(`Two tiers start at ${t.threshold} points`, `${i}.threshold`);
    names.add(name.toLowerCase());
    thresholds.add(t.threshold);
    const reward = t.entryReward ?? null;
    if (reward && reward.points !== undefined && reward.rewardId !== undefined) {
      throw new ValidationError('An entry reward is points or a reward, not both', `${i}.entryReward`);
    }
    return { name, threshold: t.threshold, entryReward: reward && (reward.points !== undefined || reward.rewardId !== undefined) ? reward : null };
  });
}

async function queueTierEvaluation(trx: Trx, storeId: number, actor: Actor): Promise<Job> {
  const job = await insertStoreJob(trx, storeId, { kind: tierEvaluationKind.kind, params: encodeParams(tierEvaluationKind, {}), actor });
  if (!job) throw new Error('the tier evaluation job was not queued');
  return toJob(job);
}

/**
 * Assigns a tier by hand (`tierId`), up or down, or clears a manual assignment (`null`: the tier
 * follows the points again). A manual tier holds through later changes of points until cleared.
 * Entering a tier by hand grants its entry reward like any first entry.
 *
 * Needs: a transaction. It can throw: ValidationError, NotFoundError (customer, tier).
 */
export async function assignTier(
  trx: Trx,
  storeId: number,
  customerId: number,
  input: { tierId: number | null; reason: string },
  actor: Actor,
): Promise<{ customer: Customer }> {
  const reason = validReason(input.reason);
  const customer = await lockCustomer(trx, storeId, customerId);
  if (!customer) throw new NotFoundError('customer', customerId);
  const who = sql<boolean>`c.id = ${customerId}`;
  if (input.tierId !== null) {
    const tier = await trx.selectFrom('tiers').select('id').where('store_id', '=', storeId).where('id', '=', input.tierId).where('retired_at', 'is', null).executeTakeFirst();
    if (!tier) throw new NotFoundError('tier', input.tierId);
    await trx.updateTable('customers').set({ tier_manual: 1 }).where('id', '=', customerId).execute();
    const n = await moveTiers(trx, storeId, who, { actor, jobId: null, manual: { reason, tierId: tier.id } });
    if (n === 0) await recordUnmoved(trx, customer, reason, actor);
  } else {
    await trx.updateTable('customers').set({ tier_manual: 0 }).where('id', '=', customerId).execute();
    const n = await moveTiers(trx, storeId, who, { actor, jobId: null, reason: `Manual tier cleared: ${reason}` });
    if (n === 0) await recordUnmoved(trx, customer, `Manual tier cleared: ${reason}`, actor);
  }
  const after = await lockCustomer(trx, storeId, customerId);
  return { customer: toCustomer(after ?? customer) };
}

/** A manual change that left the tier where it was is still recorded, with who and why. */
async function recordUnmoved(trx: Trx, customer: { store_id: number; id: number; tier_id: number | null }, reason: string, actor: Actor): Promise<void> {
  await trx
    .insertInto('tier_history')
    .values({
      store_id: customer.store_id,
      customer_id: customer.id,
      from_tier_id: customer.tier_id,
      to_tier_id: customer.tier_id,
      manual: 1,
      reason,
      actor_type: actor.type,
      actor_id: actor.id,
      actor_name: actor.name,
      job_id: null,
      created_at: Date.now(),
    })
    .execute();
}

export interface TierMove {
  id: number;
  fromTier: { id: number; name: string } | null;
  toTier: { id: number; name: string } | null;
  manual: boolean;
  reason: string | null;
  actor: Actor;
  jobId: number | null;
  createdAt: string;
}

/** A customer's tier moves, newest first (the latest 200). It can throw: NotFoundError. */
export async function tierHistory(db: Kysely<DB>, storeId: number, customerId: number): Promise<{ data: TierMove[] }> {
  const customer = await db.selectFrom('customers').select('id').where('store_id', '=', storeId).where('id', '=', customerId).executeTakeFirst();
  if (!customer) throw new NotFoundError('customer', customerId);
  const rows = await db
    .selectFrom('tier_history as h')
    .leftJoin('tiers as f', 'f.id', 'h.from_tier_id')
    .leftJoin('tiers as t', 't.id', 'h.to_tier_id')
    .select(['h.id', 'h.from_tier_id', 'f.name as from_name', 'h.to_tier_id', 't.name as to_name', 'h.manual', 'h.reason', 'h.actor_type', 'h.actor_id', 'h.actor_name', 'h.job_id', 'h.created_at'])
    .where('h.store_id', '=', storeId)
    .where('h.customer_id', '=', customerId)
    .orderBy('h.id', 'desc')
    .limit(200)
    .execute();
  return {
    data: rows.map((r) => ({
      id: r.id,
      fromTier: r.from_tier_id === null ? null : { id: r.from_tier_id, name: r.from_name ?? '' },
      toTier: r.to_tier_id === null ? null : { id: r.to_tier_id, name: r.to_name ?? '' },
      manual: r.manual === 1,
      reason: r.reason,
      actor: { type: r.actor_type as Actor['type'], id: r.actor_id, name: r.actor_name },
      jobId: r.job_id,
      createdAt: iso(r.created_at),
    })),
  };
}
