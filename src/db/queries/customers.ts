import type { Trx } from '../committer.js';
import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Customer, CustomerFilter, PageRequest } from '../../domain/types.js';
import { normalizeSearch } from '../../domain/validation.js';
import { dialectOf } from '../dialect-of.js';
import { prepared } from '../prepared.js';
import type { DB } from '../schema.js';
import { iso } from '../time.js';

/** The highest code point: `q <= s < q + TOP` holds exactly for the strings that start with q. */
const TOP = '\u{10FFFF}';

const CUSTOMER_COLUMNS = [
  'c.id',
  'c.store_id',
  'c.external_id',
  'c.email',
  'c.first_name',
  'c.last_name',
  'c.balance',
  'c.lifetime_points',
  'c.pending_points',
  'c.tier_id',
  'c.tier_manual',
  'c.tier_changed_at',
  'c.last_activity_at',
  'c.created_at',
] as const;

export function selectCustomers(db: Kysely<DB>, storeId: number) {
  return db
    .selectFrom('customers as c')
    .leftJoin('tiers as t', 't.id', 'c.tier_id')
    .select(CUSTOMER_COLUMNS)
    .select('t.name as tier_name')
    .where('c.store_id', '=', storeId);
}

type CustomerSelect = ReturnType<typeof selectCustomers>;
export type CustomerRecord = Awaited<ReturnType<CustomerSelect['executeTakeFirstOrThrow']>>;

export function toCustomer(r: CustomerRecord): Customer {
  return {
    id: r.id,
    externalId: r.external_id,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    balance: r.balance,
    lifetimePoints: r.lifetime_points,
    pendingPoints: r.pending_points,
    tier: r.tier_id === null ? null : { id: r.tier_id, name: r.tier_name ?? '' },
    tierManual: r.tier_manual === 1,
    tierChangedAt: iso(r.tier_changed_at),
    lastActivityAt: iso(r.last_activity_at),
    createdAt: iso(r.created_at),
  };
}

export async function findCustomer(db: Kysely<DB>, storeId: number, id: number): Promise<CustomerRecord | undefined> {
  return selectCustomers(db, storeId).where('c.id', '=', id).executeTakeFirst();
}

/**
 * Reads a customer for a write. Must run inside the write's transaction: on PostgreSQL the row is
 * locked (FOR UPDATE) until the transaction ends; on SQLite the transaction already holds the
 * database's single write lock (BEGIN IMMEDIATE), so the read cannot go stale either.
 */
export async function lockCustomer(trx: Trx, storeId: number, id: number): Promise<CustomerRecord | undefined> {
  return (await lockCustomerQuery(trx, storeId, id))[0];
}

const lockCustomerQuery = prepared((db, storeId: number, id: number) => {
  const q = selectCustomers(db, storeId).where('c.id', '=', id);
  return dialectOf(db) === 'postgres' ? q.forUpdate('c') : q;
});

/**
 * The one definition of "customers matching a filter", used by lists, exports and bulk
 * selections alike, as a condition on the customers table under `alias`. `search` matches a
 * prefix of the e-mail, of "first last", of the last name, or the exact external id: all index
 * range scans, no full scan.
 */
export function customerFilterSql(storeId: number, f: CustomerFilter, alias = 'c', page?: PageRequest): RawBuilder<boolean> {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  const conds: RawBuilder<unknown>[] = [];
  if (f.externalId !== undefined) conds.push(sql`${col('external_id')} = ${f.externalId}`);
  if (f.email !== undefined) conds.push(sql`${col('email')} = ${f.email.trim().toLowerCase()}`);
  if (f.tierId !== undefined) conds.push(sql`${col('tier_id')} = ${f.tierId}`);
  if (f.minBalance !== undefined) conds.push(sql`${col('balance')} >= ${f.minBalance}`);
  if (f.maxBalance !== undefined) conds.push(sql`${col('balance')} <= ${f.maxBalance}`);
  if (f.lastActivityBefore !== undefined) conds.push(sql`${col('last_activity_at')} < ${Date.parse(f.lastActivityBefore)}`);
  if (f.lastActivityAfter !== undefined) conds.push(sql`${col('last_activity_at')} > ${Date.parse(f.lastActivityAfter)}`);
  if (f.tierChangedAfter !== undefined) conds.push(sql`${col('tier_changed_at')} > ${Date.parse(f.tierChangedAfter)}`);
  if (f.search !== undefined && f.search.trim() !== '') {
    // One index range scan per column, united: an OR of the ranges would let the planner walk the
    // whole store in id order instead (fast for common prefixes, a full scan for rare ones).
    // When search is the list's only condition, each branch stops at the page's size (newest
    // first, below the cursor): a one-letter prefix then reads a page, not a twentieth of the store.
    const s = normalizeSearch(f.search);
    const onlySearch = page !== undefined && conds.length === 0 && Object.entries(f).every(([k, v]) => k === 'search' || v === undefined);
    const bounded = (q: RawBuilder<unknown>) =>
      onlySearch
        ? sql`SELECT id FROM (SELECT id FROM customers WHERE ${q}${page.beforeId !== undefined ? sql` AND +id < ${page.beforeId}` : sql``}
            ORDER BY id DESC LIMIT ${page.limit + 1}) AS b`
        : sql`SELECT id FROM customers WHERE ${q}`;
    const prefix = (name: string) => bounded(sql`store_id = ${storeId} AND ${sql.ref(name)} >= ${s} AND ${sql.ref(name)} < ${s + TOP}`);
    conds.push(sql`${col('id')} IN (${prefix('email')} UNION ${prefix('name_norm')} UNION ${prefix('last_name_norm')}
      UNION ${bounded(sql`store_id = ${storeId} AND external_id = ${f.search.trim()}`)})`);
  }
  return conds.length === 0 ? sql<boolean>`1 = 1` : sql<boolean>`(${sql.join(conds, sql` AND `)})`;
}

export function applyCustomerFilter<D, TB extends keyof D, O>(
  q: SelectQueryBuilder<D, TB, O>,
  storeId: number,
  f: CustomerFilter,
  alias = 'c',
  page?: PageRequest,
): SelectQueryBuilder<D, TB, O> {
  return q.where(customerFilterSql(storeId, f, alias, page));
}

export function searchColumns(firstName: string | null, lastName: string | null) {
  const full = [firstName, lastName].filter(Boolean).join(' ');
  return {
    name_norm: full ? normalizeSearch(full) : null,
    last_name_norm: lastName ? normalizeSearch(lastName) : null,
  };
}
