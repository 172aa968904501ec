import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Selection } from '../../domain/jobs.js';
import type { CustomerFilter } from '../../domain/types.js';
import { dialectOf } from '../dialect-of.js';
import type { DB } from '../schema.js';
import { applyCustomerFilter, type FilterPlan, storeCondition } from './customers.js';

/**
 * `column IN ids` with the whole list as one parameter (SQLite: json_each; PostgreSQL: ANY of an
 * array), so a 10,000-id chunk is one short statement, not 10,000 placeholders.
 */
export function inIds(db: Kysely<DB>, column: string, ids: number[]): RawBuilder<boolean> {
  return dialectOf(db) === 'postgres'
    ? sql<boolean>`${sql.ref(column)} = ANY(${ids}::bigint[])`
    : sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/**
 * The customers (alias c) a selection holds, up to the snapshot boundary (later customers are out),
 * read as `plan` says (planCustomerFilter; a list of ids is read by its keys whatever the plan).
 */
export function selectedCustomers(db: Kysely<DB>, storeId: number, selection: Selection, boundary: number, plan: FilterPlan = {}) {
  const byIds = 'customerIds' in selection;
  let q = db.selectFrom('customers as c').where(storeCondition(storeId, byIds ? undefined : plan.walkFrom)).where('c.id', '<=', boundary);
  if (byIds) q = q.where(inIds(db, 'c.id', selection.customerIds));
  if ('filter' in selection) q = applyCustomerFilter(q, storeId, selection.filter as CustomerFilter, 'c', undefined, plan);
  return q;
}
