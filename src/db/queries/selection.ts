import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Selection } from '../../domain/jobs.js';
import type { CustomerFilter } from '../../domain/types.js';
import { dialectOf } from '../dialect-of.js';
import type { DB } from '../schema.js';
import { applyCustomerFilter } from './customers.js';

/**
 * `column IN ids` with the whole list as one parameter (SQLite: json_each; PostgreSQL: ANY of an
 * array), so a 10,000-id chunk is one short statement, not 10,000 placeholders.
 */
export function inIds(db: Kysely<any>, column: string, ids: number[]): RawBuilder<boolean> {
  return dialectOf(db) === 'postgres'
    ? sql<boolean>`${sql.ref(column)} = ANY(${ids}::bigint[])`
    : sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/** The customers (alias c) a selection holds, up to the snapshot boundary (later customers are out). */
export function selectedCustomers(db: Kysely<DB>, storeId: number, selection: Selection, boundary: number) {
  let q = db.selectFrom('customers as c').where('c.store_id', '=', storeId).where('c.id', '<=', boundary);
  if ('customerIds' in selection) q = q.where(inIds(db, 'c.id', selection.customerIds));
  if ('filter' in selection) q = applyCustomerFilter(q, selection.filter as CustomerFilter);
  return q;
}

/** One chunk of a selection: which customers (as an SQL predicate on alias c) and where it ends. */
export interface Chunk {
  count: number;
  /** The keyset position after this chunk. */
  end: number;
  last: boolean;
  /** The chunk's customers, as a condition on `c`. */
  where: RawBuilder<boolean>;
  /** Lowest and highest customer id in the chunk. */
  first: number;
  lastId: number;
}

/**
 * The next chunk of a selection after `cursor`, in id order.
 * PostgreSQL: the chunk's rows are locked (FOR UPDATE) and named by id, so concurrent single
 * adjustments wait for the chunk instead of slipping between its statements.
 * SQLite: the chunk transaction is the only writer, so the chunk is a key range plus the
 * selection's own condition: nothing to lock, no id list to ship.
 */
export async function nextChunk(
  trx: Kysely<DB>,
  storeId: number,
  selection: Selection,
  boundary: number,
  cursor: number,
  size: number,
): Promise<Chunk> {
  let candidates = selection;
  let sliceEnd: number | undefined;
  let sliceIsLast = false;
  if ('customerIds' in selection) {
    // Walk the sorted id list; ids that are not customers of the store drop out.
    const all = selection.customerIds;
    const start = upperBound(all, cursor);
    const slice = all.slice(start, start + size);
    if (slice.length === 0) return { count: 0, end: cursor, last: true, where: sql<boolean>`1 = 0`, first: 0, lastId: 0 };
    sliceEnd = slice[slice.length - 1];
    sliceIsLast = start + slice.length >= all.length;
    candidates = { customerIds: slice };
  }
  const page = selectedCustomers(trx, storeId, candidates, boundary).where('c.id', '>', cursor).orderBy('c.id').limit(size);
  if (dialectOf(trx) === 'postgres') {
    const ids = (await page.select('c.id').forUpdate().execute()).map((r) => r.id);
    const end = sliceEnd ?? (ids.length > 0 ? ids[ids.length - 1] : boundary);
    const last = sliceEnd !== undefined ? sliceIsLast : ids.length < size;
    return { count: ids.length, end, last, where: inIds(trx, 'c.id', ids), first: ids[0] ?? 0, lastId: ids[ids.length - 1] ?? 0 };
  }
  const span = await trx
    .selectFrom(page.select('c.id').as('p'))
    .select([sql<number>`count(*)`.as('n'), sql<number | null>`min(p.id)`.as('lo'), sql<number | null>`max(p.id)`.as('hi')])
    .executeTakeFirstOrThrow();
  const count = Number(span.n);
  const end = sliceEnd ?? (count > 0 ? Number(span.hi) : boundary);
  const last = sliceEnd !== undefined ? sliceIsLast : count < size;
  const range = sql<boolean>`c.store_id = ${storeId} AND c.id > ${cursor} AND c.id <= ${count > 0 ? Number(span.hi) : cursor}`;
  const where = 'customerIds' in candidates
    ? sql<boolean>`${range} AND ${inIds(trx, 'c.id', candidates.customerIds)}`
    : 'filter' in candidates
      ? sql<boolean>`${range} AND c.id IN (${selectedCustomers(trx, storeId, candidates, boundary).select('c.id').where('c.id', '>', cursor).where('c.id', '<=', end)})`
      : range;
  return { count, end, last, where, first: Number(span.lo ?? 0), lastId: Number(span.hi ?? 0) };
}

/** Index of the first element greater than x in a sorted array. */
function upperBound(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
