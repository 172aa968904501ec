import type { Trx } from '../db/committer.js';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type BulkAdjustment, type BulkPlan, type BulkPreview, type Job, planBulk } from '../domain/jobs.js';
import type { Actor } from '../domain/types.js';
import { insertJob, toJob } from '../db/queries/jobs.js';
import { planCustomerFilter } from '../db/queries/customers.js';
import { selectedCustomers } from '../db/queries/selection.js';
import { tierForCaseSql } from '../domain/tiers-sql.js';
import { bulkAdjustmentKind, bulkEffectSql, storedSelection } from './job-kinds/bulk-adjustment.js';
import { encodeParams } from './job-kinds/index.js';
import type { DB } from '../db/schema.js';

/**
 * The store's customer ids: the newest one is the snapshot boundary of a selection made now
 * (customers created later are not in it); a job's keyset walk starts just below the oldest.
 */
async function idSpan(db: Kysely<DB>, storeId: number): Promise<{ first: number; boundary: number }> {
  // Two scalar subqueries: SQLite answers a lone min() or max() with one index seek, but both in
  // one SELECT with a scan of the store's whole index (80 ms at 1,000,000 customers).
  const { rows } = await sql<{ min: number; max: number }>`SELECT
    coalesce((SELECT min(id) FROM customers WHERE store_id = ${storeId}), 1) AS min,
    coalesce((SELECT max(id) FROM customers WHERE store_id = ${storeId}), 0) AS max`.execute(db);
  return { first: Number(rows[0].min), boundary: Number(rows[0].max) };
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
  const d = plan.points;
  const moves = await tierMoveSql(db, storeId, plan);
  const reading = 'customerIds' in plan.selection ? {} : await planCustomerFilter(db, storeId, 'filter' in plan.selection ? plan.selection.filter : {}, true);
  // One pass over the selection: at 1,000,000 customers each pass costs a scan of the store.
  const totals = await selectedCustomers(db, storeId, plan.selection, boundary, reading)
    .select([
      sql<number>`count(*)`.as('customers'),
      // A credit skips no one: then, with no tier moves to count, the count reads an index only.
      (plan.type === 'reset' || d >= 0
        ? sql<number>`0`
        : sql<number>`coalesce(sum(CASE WHEN c.balance + ${d} < 0 THEN 1 ELSE 0 END), 0)`
      ).as('rejected'),
      (plan.type === 'reset' ? sql<number>`coalesce(-sum(c.balance), 0)` : sql<number>`0`).as('reset_points'),
      moves.ups.as('ups'),
      moves.downs.as('downs'),
    ])
    .executeTakeFirstOrThrow();
  const customers = Number(totals.customers);
  const rejected = Number(totals.rejected);
  const totalPoints = plan.type === 'reset' ? Number(totals.reset_points) : (customers - rejected) * d;
  return { customers, totalPoints, rejected, tierUps: Number(totals.ups), tierDowns: Number(totals.downs) };
}

/**
 * The tier moves the job would cause, exactly as the write path makes them, as sums over the
 * selection's rows `c`: customers whose tier follows their points (not a manual one), whom the
 * change does not skip, and whose qualifying tier after it (tierForCaseSql over the active tiers)
 * ranks above or below the one they hold (rank: a tier's threshold, a retired one's too; none: -1).
 * The store's tiers are read once and written into the statement as CASE arms: no lookup per row.
 */
async function tierMoveSql(db: Kysely<DB>, storeId: number, plan: BulkPlan): Promise<{ ups: RawBuilder<number>; downs: RawBuilder<number> }> {
  const none = { ups: sql<number>`0`, downs: sql<number>`0` };
  if (plan.type === 'reset' || !plan.affectsTier) return none;
  const tiers = await db.selectFrom('tiers').select(['id', 'threshold', 'retired_at']).where('store_id', '=', storeId).execute();
  if (tiers.length === 0) return none;
  const rankOf = (tier: RawBuilder<unknown>) =>
    sql<number>`(CASE ${tier} ${sql.join(tiers.map((t) => sql`WHEN ${sql.lit(t.id)} THEN ${sql.lit(t.threshold)}`), sql` `)} ELSE -1 END)`;
  const active = tiers.filter((t) => t.retired_at === null);
  const oldRank = rankOf(sql`c.tier_id`);
  const newRank = rankOf(tierForCaseSql(active, sql`c.lifetime_points + ${bulkEffectSql(db, plan).tierPoints}`));
  const moving = sql`c.balance + ${plan.points} >= 0 AND c.tier_manual = 0`;
  return {
    ups: sql<number>`coalesce(sum(CASE WHEN ${moving} AND ${newRank} > ${oldRank} THEN 1 ELSE 0 END), 0)`,
    downs: sql<number>`coalesce(sum(CASE WHEN ${moving} AND ${newRank} < ${oldRank} THEN 1 ELSE 0 END), 0)`,
  };
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
