import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Trx } from '../db/committer.js';
import { insertStoreJob, toJob } from '../db/queries/jobs.js';
import type { DB } from '../db/schema.js';
import type { Job } from '../domain/jobs.js';
import { type Actor, SYSTEM_ACTOR } from '../domain/types.js';
import { encodeParams } from './job-kinds/index.js';
import { expiryKind } from './job-kinds/expiry.js';
import { lotExpirySql } from './lots.js';

/**
 * Point expiry, the store's rule (stores.expiry_mode / expiry_days):
 *  - none: only credits given an explicit expiresAt expire;
 *  - per_credit: each credit's points expire `days` after it was made (what is left of its lot);
 *  - inactivity: the whole balance expires after `days` without the customer's own activity.
 * An expiry job (job-kinds/expiry.ts) writes the `expiry` rows; these are the rule's SQL, shared by
 * the job, the settings preview and the schedule so that they cannot disagree.
 */

export const DAY_MS = 86_400_000;
export const EXPIRY_EVERY_MS = 3_600_000;
/** How long before points expire the customer.points_expiring event goes out. */
export const EXPIRY_NOTICE_DAYS = 7;

export interface ExpiryRule {
  mode: 'none' | 'per_credit' | 'inactivity';
  days: number | null;
}

/**
 * The points each customer `c` loses in a run at `asOf` under `rule`: their balance when inactive
 * (inactivity), else what is left of their lots past their expiry. Needs `e` joined (expiredLotsSql).
 */
export function expiringAmountSql(rule: ExpiryRule, asOf: number): RawBuilder<number> {
  return sql<number>`CASE WHEN ${inactiveSql(rule, asOf)} THEN c.balance ELSE coalesce(e.x, 0) END`;
}

/** Whether customer `c` counts as inactive at `asOf` under the rule (false unless mode inactivity). */
export function inactiveSql(rule: ExpiryRule, asOf: number, c = 'c'): RawBuilder<boolean> {
  if (rule.mode !== 'inactivity' || rule.days === null) return sql<boolean>`1 = 0`;
  const C = sql.raw(c);
  return sql<boolean>`coalesce(${C}.last_activity_at, ${C}.created_at) <= ${asOf - rule.days * DAY_MS}`;
}

/**
 * Σ remaining of each customer's lots past their expiry at `asOf` under `rule`, as a subquery
 * (customer_id, x) over the customers `range` (a condition on l.customer_id).
 */
export function expiredLotsSql(storeId: number, rule: ExpiryRule, asOf: number, range: RawBuilder<boolean>): RawBuilder<unknown> {
  return sql`(SELECT l.customer_id, sum(l.remaining) AS x FROM point_lots l JOIN (${ruleRow(storeId, rule)}) s ON 1 = 1
    WHERE l.store_id = ${storeId} AND l.remaining > 0 AND ${range} AND ${lotExpirySql()} <= ${asOf} GROUP BY l.customer_id)`;
}

/** The rule as a one-row relation shaped like stores (expiry_mode, expiry_days), for lotExpirySql. */
export function ruleRow(storeId: number, rule: ExpiryRule): RawBuilder<unknown> {
  return sql`SELECT CAST(${storeId} AS bigint) AS id, ${rule.mode} AS expiry_mode, CAST(${rule.days ?? 0} AS bigint) AS expiry_days`;
}

/**
 * The points of customers in `range` (a condition on `c`) that expire within EXPIRY_NOTICE_DAYS
 * after `asOf`, by customer and day: a relation (customer_id, expires_on, points) for
 * appendExpiringEvents — their lots' expiry days, and under inactivity the day their balance goes.
 */
export function upcomingExpirySql(storeId: number, rule: ExpiryRule, asOf: number, range: RawBuilder<boolean>): RawBuilder<unknown> {
  const until = asOf + EXPIRY_NOTICE_DAYS * DAY_MS;
  const day = (ms: RawBuilder<unknown>) => sql`(${ms} / ${sql.lit(DAY_MS)}) * ${sql.lit(DAY_MS)}`;
  const lots = sql`SELECT l.customer_id, ${day(lotExpirySql())} AS expires_on, l.remaining AS points
    FROM point_lots l JOIN (${ruleRow(storeId, rule)}) s ON 1 = 1
    WHERE l.store_id = ${storeId} AND l.remaining > 0 AND l.customer_id IN (SELECT c.id FROM customers c WHERE ${range})
      AND ${lotExpirySql()} > ${asOf} AND ${lotExpirySql()} <= ${until}`;
  const lapse = rule.mode === 'inactivity' && rule.days !== null
    ? sql`coalesce(c.last_activity_at, c.created_at) + ${sql.lit(rule.days * DAY_MS)}`
    : undefined;
  const inactive = lapse
    ? sql`UNION ALL SELECT c.id, ${day(lapse)}, c.balance FROM customers c WHERE ${range} AND c.balance > 0 AND ${lapse} > ${asOf} AND ${lapse} <= ${until}`
    : sql``;
  return sql`(SELECT x.customer_id, x.expires_on, sum(x.points) AS points FROM (${lots} ${inactive}) x GROUP BY x.customer_id, x.expires_on)`;
}

/**
 * What a run at `now` under `rule` would expire: how many customers, how many points. Read-only.
 */
export async function expiryPreview(db: Kysely<DB>, storeId: number, rule: ExpiryRule, now: number): Promise<{ customers: number; points: number }> {
  const amount = expiringAmountSql(rule, now);
  const { rows } = await sql<{ n: number; p: number | null }>`
    SELECT count(*) AS n, sum(x.amount) AS p FROM (
      SELECT ${amount} AS amount FROM customers c
      LEFT JOIN ${expiredLotsSql(storeId, rule, now, sql`1 = 1`)} e ON e.customer_id = c.id
      WHERE c.store_id = ${storeId} AND c.balance > 0) x
    WHERE x.amount > 0`.execute(db);
  return { customers: Number(rows[0].n), points: Number(rows[0].p ?? 0) };
}

/**
 * Queues an expiry run of a store now (`tally expire`): pending credits due by `asOf` mature,
 * then points past their expiry expire. At most one run per store is queued or running at a
 * time, across every instance (a unique index): a run already waiting is answered instead.
 *
 * Needs: a transaction.
 */
export async function queueExpiry(trx: Trx, storeId: number, actor: Actor = SYSTEM_ACTOR, asOf: number | null = null): Promise<Job> {
  const live = await liveExpiry(trx, storeId);
  if (live) return toJob(live);
  const job = await insertStoreJob(trx, storeId, { kind: expiryKind.kind, params: encodeParams(expiryKind, { asOf }), actor }, { unlessLive: true });
  // A run queued meanwhile by another instance (the unique index on live runs refused this one).
  const queued = job ?? (await liveExpiry(trx, storeId));
  if (!queued) throw new Error(`no expiry run could be queued for store ${storeId}`);
  return toJob(queued);
}

async function liveExpiry(trx: Trx, storeId: number) {
  return trx.selectFrom('jobs').selectAll().where('store_id', '=', storeId).where('kind', '=', 'expiry').where('status', 'in', ['queued', 'running']).executeTakeFirst();
}

/**
 * The schedule (serve and worker call it every minute): an expiry run for each store that has
 * something to expire and had no run for an hour, or that has pending credits due now. Set-based,
 * one statement; the unique index on live runs keeps instances racing here to one run per store.
 * Returns how many runs it queued.
 *
 * Needs: a transaction.
 */
export async function scheduleExpiryRuns(trx: Trx, now = Date.now()): Promise<number> {
  const result = await sql`
    INSERT INTO jobs (store_id, kind, status, params, actor_type, actor_id, actor_name, snapshot_max_id, created_at)
    SELECT s.id, 'expiry', 'queued', ${encodeParams(expiryKind, { asOf: null })}, 'system', NULL, 'system',
           coalesce((SELECT max(c.id) FROM customers c WHERE c.store_id = s.id), 0), CAST(${now} AS bigint)
    FROM stores s
    WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.store_id = s.id AND j.kind = 'expiry' AND j.status IN ('queued', 'running'))
      AND (
        EXISTS (SELECT 1 FROM pending_credits p WHERE p.store_id = s.id AND p.status = 'pending' AND p.available_at <= ${now})
        OR ((s.expiry_mode <> 'none' OR EXISTS (SELECT 1 FROM point_lots l WHERE l.store_id = s.id AND l.remaining > 0 AND l.expires_at IS NOT NULL))
            AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.store_id = s.id AND j.kind = 'expiry' AND j.created_at > ${now - EXPIRY_EVERY_MS})))
    ON CONFLICT DO NOTHING`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}
