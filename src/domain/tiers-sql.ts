import { type RawBuilder, sql } from 'kysely';

/**
 * Twin of tierFor(lifetime, the store's active tiers): the id of the tier a customer row with
 * `lifetime` points qualifies for, or NULL. An index lookup on tiers (store_id, threshold).
 * test/tiers.test.ts pins it to tierFor on both databases.
 */
export function tierForSql(storeId: RawBuilder<number> | number, lifetime: RawBuilder<number>): RawBuilder<number | null> {
  return sql<number | null>`(SELECT t.id FROM tiers t WHERE t.store_id = ${storeId} AND t.retired_at IS NULL AND t.threshold <= ${lifetime}
    ORDER BY t.threshold DESC, t.id DESC LIMIT 1)`;
}

/**
 * The same rule over a tier table already read (`tiers`, the store's active ones): a CASE over the
 * thresholds, highest first — no lookup per row, for chunks of thousands of customers.
 */
export function tierForCaseSql(tiers: readonly { id: number; threshold: number }[], lifetime: RawBuilder<number>): RawBuilder<number | null> {
  if (tiers.length === 0) return sql<null>`CAST(NULL AS bigint)`;
  const ordered = [...tiers].sort((a, b) => b.threshold - a.threshold || b.id - a.id);
  const arms = ordered.map((t) => sql`WHEN ${lifetime} >= ${sql.lit(t.threshold)} THEN CAST(${sql.lit(t.id)} AS bigint)`);
  return sql<number | null>`(CASE ${sql.join(arms, sql` `)} ELSE CAST(NULL AS bigint) END)`;
}
