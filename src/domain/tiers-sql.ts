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
