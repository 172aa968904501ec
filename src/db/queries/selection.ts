import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Selection } from '../../domain/jobs.js';
import type { CustomerFilter } from '../../domain/types.js';
import { dialectOf } from '../dialect-of.js';
import type { DB } from '../schema.js';
import { applyCustomerFilter, customerFilterSql } from './customers.js';

/**
 * `column IN ids` with the whole list as one parameter (SQLite: json_each; PostgreSQL: ANY of an
 * array), so a 10,000-id chunk is one short statement, not 10,000 placeholders.
 */
export function inIds(db: Kysely<DB>, column: string, ids: number[]): RawBuilder<boolean> {
  return dialectOf(db) === 'postgres'
    ? sql<boolean>`${sql.ref(column)} = ANY(${ids}::bigint[])`
    : sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}

/** The customers (alias c) a selection holds, up to the snapshot boundary (later customers are out). */
export function selectedCustomers(db: Kysely<DB>, storeId: number, selection: Selection, boundary: number) {
  let q = db.selectFrom('customers as c').where('c.store_id', '=', storeId).where('c.id', '<=', boundary);
  if ('customerIds' in selection) q = q.where(inIds(db, 'c.id', selection.customerIds));
  if ('filter' in selection) q = applyCustomerFilter(q, storeId, selection.filter as CustomerFilter);
  return q;
}

/** One chunk of a selection: its customers (as an SQL condition on alias c) and where it ends. */
export interface Chunk {
  /** The keyset position after this chunk. */
  end: number;
  last: boolean;
  /** The chunk's customers, as a condition on `c`. */
  where: RawBuilder<boolean>;
  /** Lowest and highest customer id the chunk can hold. */
  from: number;
  to: number;
}

/**
 * Fixes the customers a filter selects, once, when its job starts: later changes to balances,
 * tiers or activity neither add customers to the job nor take them out. Returns how many.
 */
export async function materializeSelection(
  trx: Kysely<DB>,
  jobId: number,
  storeId: number,
  filter: CustomerFilter,
  boundary: number,
): Promise<number> {
  const result = await sql`
    INSERT INTO job_targets (job_id, customer_id)
    SELECT ${jobId}, c.id FROM customers c
    WHERE c.store_id = ${storeId} AND c.id <= ${boundary} AND ${customerFilterSql(storeId, filter)}`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/**
 * The next chunk of a selection after `cursor`, in id order. A filter selection reads the
 * customers fixed by materializeSelection for job `jobId`.
 * PostgreSQL: the chunk's rows are locked (FOR UPDATE) and named by id, so concurrent single
 * adjustments wait for the chunk instead of slipping between its statements.
 * SQLite: the chunk transaction is the only writer, so a chunk is simply the next `size` ids
 * (or listed ids) with the selection's own condition: nothing to lock, nothing to count first.
 * The same unlocked condition serves a caller that needs no lock (`lock: false`), one whose
 * single UPDATE … RETURNING locks and re-checks each row itself.
 */
export async function nextChunk(
  trx: Kysely<DB>,
  jobId: number,
  storeId: number,
  selection: Selection,
  boundary: number,
  cursor: number,
  size: number,
  opts: { lock: boolean } = { lock: true },
): Promise<Chunk> {
  let ids: number[] | undefined;
  let end = Math.min(cursor + size, boundary);
  let last = end >= boundary;
  if ('customerIds' in selection) {
    // Walk the sorted id list; ids that are not customers of the store drop out.
    const all = selection.customerIds;
    const start = upperBound(all, cursor);
    ids = all.slice(start, start + size).filter((id) => id <= boundary);
    end = ids.length > 0 ? ids[ids.length - 1] : boundary;
    last = start + size >= all.length || ids.length === 0;
  }
  const targets = sql<boolean>`c.id IN (SELECT customer_id FROM job_targets
    WHERE job_id = ${jobId} AND customer_id > ${cursor} AND customer_id <= ${end})`;
  if (dialectOf(trx) === 'postgres' && opts.lock) {
    let q = selectedCustomers(trx, storeId, ids ? { customerIds: ids } : { all: true }, boundary)
      .select('c.id')
      .where('c.id', '>', cursor)
      .orderBy('c.id')
      .limit(size);
    if (!ids) q = q.where('c.id', '<=', end);
    if ('filter' in selection) q = q.where(targets);
    const locked = (await q.forUpdate().execute()).map((r) => r.id);
    return { end, last, where: inIds(trx, 'c.id', locked), from: cursor + 1, to: end };
  }
  const range = sql<boolean>`c.store_id = ${storeId} AND c.id > ${cursor} AND c.id <= ${end}`;
  const where = ids
    ? sql<boolean>`${range} AND ${inIds(trx, 'c.id', ids)}`
    : 'filter' in selection
      ? sql<boolean>`${range} AND ${targets}`
      : range;
  return { end, last, where, from: cursor + 1, to: end };
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
