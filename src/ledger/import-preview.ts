import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../db/dialect-of.js';
import type { DB } from '../db/schema.js';
import { type ImportPreview, PREVIEW_ERRORS } from '../domain/import/request.js';
import type { RowErrorCode } from '../domain/import/rows.js';
import { CUSTOMER_KEY_SQL, PENDING_ROW, type StagedJob } from './import-validate.js';

/**
 * What a validated (and ordered) staged upload would do: rows, valid and invalid, the net change
 * of balances over the valid rows (pending credits apart: their points are `pendingPoints`, in no
 * balance until they mature), the tier moves (a customer's tier is the active one with the highest
 * threshold at or below their lifetime points; a manually assigned tier does not move) and the
 * first 100 errors in line order. Read-only.
 */
export async function stagedPreview(db: Kysely<DB>, job: StagedJob): Promise<ImportPreview> {
  const greatest = sql.raw(dialectOf(db) === 'postgres' ? 'greatest' : 'max');
  const j = job.jobId;
  const counts = await sql<{ rows: number; invalid: number }>`
    SELECT count(*) AS rows, coalesce(sum(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), 0) AS invalid
    FROM import_rows WHERE job_id = ${j}`.execute(db);
  const balance = sql`coalesce(c.balance, 0)`;
  const lifetime = sql`coalesce(c.lifetime_points, 0)`;
  // A pending row moves neither balance nor lifetime points (its points are counted apart).
  const change = job.plan.type === 'set' ? sql`r.points - ${balance}` : sql`CASE WHEN ${PENDING_ROW} THEN 0 ELSE r.points END`;
  const tier =
    job.plan.type === 'history'
      ? sql`CASE WHEN ${PENDING_ROW} THEN 0 ELSE r.tier_points END`
      : sql`CASE WHEN ${change} >= 0 THEN ${change} ELSE ${greatest}(${change}, -${lifetime}) END`;
  const rank = (points: unknown) => sql<number>`(SELECT count(*) FROM tiers t WHERE t.store_id = ${job.storeId} AND t.retired_at IS NULL AND t.threshold <= ${points})`;
  const moves = await sql<{ points: number; pending: number; ups: number; downs: number }>`
    SELECT coalesce(sum(p), 0) AS points, coalesce(sum(pp), 0) AS pending,
           coalesce(sum(CASE WHEN manual = 0 AND ${rank(sql`old + dt`)} > ${rank(sql`old`)} THEN 1 ELSE 0 END), 0) AS ups,
           coalesce(sum(CASE WHEN manual = 0 AND ${rank(sql`old + dt`)} < ${rank(sql`old`)} THEN 1 ELSE 0 END), 0) AS downs
    FROM (SELECT ${CUSTOMER_KEY_SQL} AS k, sum(${change}) AS p, sum(CASE WHEN ${PENDING_ROW} THEN r.points ELSE 0 END) AS pp, sum(${tier}) AS dt, max(${lifetime}) AS old, max(coalesce(c.tier_manual, 0)) AS manual
          FROM import_rows r LEFT JOIN customers c ON c.id = r.customer_id
          WHERE r.job_id = ${j} AND r.error IS NULL GROUP BY ${CUSTOMER_KEY_SQL}) x`.execute(db);
  const errors = await db
    .selectFrom('job_errors')
    .select(['line', 'column_name', 'code', 'message'])
    .where('job_id', '=', j)
    .orderBy('line')
    .orderBy('id')
    .limit(PREVIEW_ERRORS)
    .execute();
  const rows = Number(counts.rows[0].rows);
  const invalid = Number(counts.rows[0].invalid);
  const m = moves.rows[0];
  return {
    rows,
    valid: rows - invalid,
    invalid,
    totalPoints: Number(m.points),
    pendingPoints: Number(m.pending),
    tierUps: Number(m.ups),
    tierDowns: Number(m.downs),
    errors: errors.map((e) => ({ line: Number(e.line), column: e.column_name, code: e.code as RowErrorCode, message: e.message })),
  };
}
