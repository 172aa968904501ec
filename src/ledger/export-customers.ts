import { type Kysely, sql } from 'kysely';
import { escapeCsvCell } from '../domain/csv-cell.js';
import type { CustomerFilter } from '../domain/types.js';
import { parseInstant } from '../domain/validation.js';
import { customerFilterSql } from '../db/queries/customers.js';
import type { DB } from '../db/schema.js';
import { iso } from '../db/time.js';

/** The customers export's columns; `balance` is what an import of type=set reads as the points to set. */
export const CUSTOMER_CSV_COLUMNS = ['id', 'externalId', 'email', 'firstName', 'lastName', 'balance', 'lifetimePoints', 'tier', 'createdAt'] as const;

const BATCH = 2000;

interface ExportRow {
  id: number;
  external_id: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  balance: number;
  lifetime_points: number;
  tier: string | null;
  created_at: number;
}

/**
 * Streams a store's customers (oldest first) as CSV records, header first, in keyset batches of
 * 2,000, each its own short query (bounded memory, no long read transaction). With `asOf`, the
 * balance and lifetime points are the ledger's sums up to that moment, the tier the one those
 * lifetime points reach, and customers created later are left out; without it, the cached totals.
 *
 * @example for await (const record of customerCsvRows(db, 1, {}, '2025-01-01T00:00:00Z')) out.write(record)
 * It can throw: ValidationError (a bad asOf or filter time, before the first record).
 */
export async function* customerCsvRows(
  db: Kysely<DB>,
  storeId: number,
  filter: CustomerFilter,
  asOf?: string,
): AsyncGenerator<(string | number)[]> {
  const at = asOf === undefined ? undefined : parseInstant(asOf, 'asOf');
  for (const f of ['lastActivityBefore', 'lastActivityAfter', 'tierChangedAfter'] as const) {
    if (filter[f] !== undefined) parseInstant(filter[f], f);
  }
  yield [...CUSTOMER_CSV_COLUMNS];
  let after = 0;
  for (;;) {
    const rows = await batch(db, storeId, filter, at, after);
    for (const r of rows) yield record(r);
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1].id;
  }
}

async function batch(db: Kysely<DB>, storeId: number, filter: CustomerFilter, at: number | undefined, after: number): Promise<ExportRow[]> {
  const where = sql`c.store_id = ${storeId} AND c.id > ${after} AND ${customerFilterSql(storeId, filter)}`;
  if (at === undefined) {
    const { rows } = await sql<ExportRow>`
      SELECT c.id, c.external_id, c.email, c.first_name, c.last_name, c.balance, c.lifetime_points, t.name AS tier, c.created_at
      FROM customers c LEFT JOIN tiers t ON t.id = c.tier_id
      WHERE ${where} ORDER BY c.id LIMIT ${BATCH}`.execute(db);
    return rows;
  }
  const { rows } = await sql<ExportRow>`
    SELECT x.*, (SELECT t.name FROM tiers t WHERE t.store_id = ${storeId} AND t.threshold <= x.lifetime_points
                 ORDER BY t.threshold DESC LIMIT 1) AS tier
    FROM (
      SELECT c.id, c.external_id, c.email, c.first_name, c.last_name, c.created_at,
             coalesce((SELECT sum(l.points) FROM transactions l WHERE l.store_id = c.store_id AND l.customer_id = c.id AND l.created_at <= ${at}), 0) AS balance,
             coalesce((SELECT sum(l.tier_points) FROM transactions l WHERE l.store_id = c.store_id AND l.customer_id = c.id AND l.created_at <= ${at}), 0) AS lifetime_points
      FROM customers c WHERE ${where} AND c.created_at <= ${at} ORDER BY c.id LIMIT ${BATCH}) x
    ORDER BY x.id`.execute(db);
  return rows;
}

const text = (v: string | null) => (v === null ? '' : escapeCsvCell(v));

function record(r: ExportRow): (string | number)[] {
  return [
    r.id,
    text(r.external_id),
    text(r.email),
    text(r.first_name),
    text(r.last_name),
    Number(r.balance),
    Number(r.lifetime_points),
    text(r.tier),
    iso(Number(r.created_at)) ?? '',
  ];
}
