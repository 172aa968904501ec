import type { Trx } from '../db/committer.js';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type BulkAdjustment, type BulkPlan, type BulkPreview, type Job, planBulk } from '../domain/jobs.js';
import type { Actor } from '../domain/types.js';
import { insertJob, toJob } from '../db/queries/jobs.js';
import { selectedCustomers } from '../db/queries/selection.js';
import { tierForSql } from '../domain/tiers-sql.js';
import { bulkAdjustmentKind, bulkEffectSql, storedSelection } from './job-kinds/bulk-adjustment.js';
import { encodeParams } from './job-kinds/index.js';
import type { DB } from '../db/schema.js';

/**
 * The store's customer ids: the newest one is the snapshot boundary of a selection made now
 * (customers created later are not in it); a job's keyset walk starts just below the oldest.
 */
async function idSpan(db: Kysely<DB>, storeId: number): Promise<{ first: number; boundary: number }> {
  const row = await db
    .selectFrom('customers')
    .select([sql<number>`coalesce(min(id), 1)`.as('min'), sql<number>`coalesce(max(id), 0)`.as('max')])
    .where('store_id', '=', storeId)
    .executeTakeFirstOrThrow();
  return { first: Number(row.min), boundary: Number(row.max) };
}

/**
 * What a bulk adjustment would do, without writing anything: how many customers the selection
 * holds, how many would be skipped for insufficient points, the points given or taken, and the
 * tier moves (by lifetime thresholds) it would cause.
 * It can throw: ValidationError, ConfirmationRequiredError.
 */
export async function previewBulk(db: Kysely<DB>, storeId: number, cmd: BulkAdjustment): Promise<BulkPreview> {
  const plan = planBulk({ ...cmd, dryRun: true });
  const { boundary } = await idSpan(db, storeId);
  const selected = selectedCustomers(db, storeId, plan.selection, boundary);
  const d = plan.points;
  const totals = await selected
    .select([
      sql<number>`count(*)`.as('customers'),
      (plan.type === 'reset'
        ? sql<number>`0`
        : sql<number>`coalesce(sum(CASE WHEN c.balance + ${d} < 0 THEN 1 ELSE 0 END), 0)`
      ).as('rejected'),
      (plan.type === 'reset' ? sql<number>`coalesce(-sum(c.balance), 0)` : sql<number>`0`).as('reset_points'),
    ])
    .executeTakeFirstOrThrow();
  const customers = Number(totals.customers);
  const rejected = Number(totals.rejected);
  const totalPoints = plan.type === 'reset' ? Number(totals.reset_points) : (customers - rejected) * d;
  const moves = await tierMoves(db, storeId, plan, boundary);
  return { customers, totalPoints, rejected, ...moves };
}

/**
 * The tier moves the job would cause, exactly as the write path makes them: customers whose tier
 * follows their points (not a manual one) and whose qualifying tier after the change (tierForSql)
 * differs from the one they hold, counted up or down by the thresholds' order.
 */
async function tierMoves(db: Kysely<DB>, storeId: number, plan: BulkPlan, boundary: number) {
  const tiers = await db.selectFrom('tiers').select('id').where('store_id', '=', storeId).limit(1).execute();
  const delta = bulkEffectSql(db, plan).tierPoints;
  if (tiers.length === 0 || plan.type === 'reset' || !plan.affectsTier) return { tierUps: 0, tierDowns: 0 };
  const rankOf = (tier: RawBuilder<unknown>) =>
    sql<number>`coalesce((SELECT t.threshold FROM tiers t WHERE t.id = ${tier}), -1)`;
  const row = await db
    .selectFrom(
      selectedCustomers(db, storeId, plan.selection, boundary)
        .where(sql<boolean>`c.balance + ${plan.points} >= 0`)
        .where('c.tier_manual', '=', 0)
        .select([rankOf(sql`c.tier_id`).as('old_rank'), rankOf(tierForSql(storeId, sql`c.lifetime_points + ${delta}`)).as('new_rank')])
        .as('x'),
    )
    .select([
      sql<number>`coalesce(sum(CASE WHEN new_rank > old_rank THEN 1 ELSE 0 END), 0)`.as('ups'),
      sql<number>`coalesce(sum(CASE WHEN new_rank < old_rank THEN 1 ELSE 0 END), 0)`.as('downs'),
    ])
    .executeTakeFirstOrThrow();
  return { tierUps: Number(row.ups), tierDowns: Number(row.downs) };
}

/**
 * Stores a bulk adjustment as a queued job; a worker applies it. The snapshot boundary is fixed
 * here (customers created after this moment are not selected); the worker fixes the selection's
 * customers when the job starts and sets `total` (listed ids that are no customers of the store
 * are reported as failed then). Cheap whatever the selection: two index lookups and two inserts.
 *
 * Needs: a transaction. It can throw: ValidationError, ConfirmationRequiredError.
 */
export async function createBulkJob(trx: Trx, storeId: number, cmd: BulkAdjustment, actor: Actor): Promise<Job> {
  const plan = planBulk(cmd);
  const { first, boundary } = await idSpan(trx, storeId);
  const job = await insertJob(trx, {
    store_id: storeId,
    kind: bulkAdjustmentKind.kind,
    status: 'queued',
    params: encodeParams(bulkAdjustmentKind, { ...plan, selection: storedSelection(plan.selection) }),
    actor_type: actor.type,
    actor_id: actor.id,
    actor_name: actor.name,
    cursor: first - 1,
    snapshot_max_id: boundary,
    state: null,
    created_at: Date.now(),
  });
  if ('customerIds' in plan.selection) {
    await trx.insertInto('job_inputs').values({ job_id: job.id, data: JSON.stringify(plan.selection.customerIds) }).execute();
  }
  return toJob(job);
}
