import type { Trx } from '../committer.js';
import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import type { Customer, CustomerFilter, CustomerSortKey, PageRequest, SortedPageRequest } from '../../domain/types.js';
import { normalizeSearch } from '../../domain/validation.js';
import { dialectOf } from '../dialect-of.js';
import { tableWalkFrom } from './table-walk.js';
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

/** A store's customers (alias c) with their tier's name; `walkFrom`: see FilterPlan. */
export function selectCustomers(db: Kysely<DB>, storeId: number, walkFrom?: number) {
  return db
    .selectFrom('customers as c')
    .leftJoin('tiers as t', 't.id', 'c.tier_id')
    .select(CUSTOMER_COLUMNS)
    .select('t.name as tier_name')
    .where(storeCondition(storeId, walkFrom));
}

/**
 * `c.store_id = storeId`, or with `walkFrom` the same condition in a form no index serves
 * (SQLite then walks the table in id order) and the store's first id as the walk's end.
 */
export function storeCondition(storeId: number, walkFrom?: number): RawBuilder<boolean> {
  return walkFrom === undefined ? sql<boolean>`c.store_id = ${storeId}` : sql<boolean>`+c.store_id = ${storeId} AND c.id >= ${walkFrom}`;
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

/** The columns a filter bounds by a range (dates, search prefixes); each has an index (store_id, column). */
export type RangeColumn = 'last_activity_at' | 'tier_changed_at' | 'email' | 'name_norm' | 'last_name_norm';

/**
 * How a page's statement is written. `broad`: range conditions that match so many customers that
 * walking the store newest first meets a page of them sooner than the column's index would (its
 * range read whole, then sorted by id): they are written so that no index is used for them.
 */
export interface FilterPlan {
  broad?: ReadonlySet<RangeColumn>;
  /**
   * Walk the table itself from this id (SQLite: rowid order) rather than the store's index: set
   * when no condition of the filter is served by an index and the store fills its id span
   * (tableWalkFrom), so that a rare balance range reads the store at a third of the cost.
   */
  walkFrom?: number;
  /**
   * A sorted page's order written so that no index serves it (SQLite, beside a filter): else its
   * planner walks the sort column's index whole to find a rare filter's few matches (2 s for a
   * tier none holds at 1,000,000 customers); the filter's own index then reads the matches and a
   * top-k sort keeps the page. PostgreSQL's planner weighs the two by its statistics.
   */
  hideOrderIndex?: boolean;
}

const SEARCH_PREFIXES = ['email', 'name_norm', 'last_name_norm'] as const;

/** The filter's conditions but the search, on the customers table under `alias`. */
function conditionsOf(f: CustomerFilter, alias: string, plan: FilterPlan): RawBuilder<unknown>[] {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  // Unary plus: the same value, but a term no index serves (both databases accept it on integers).
  const range = (name: RangeColumn) => (plan.broad?.has(name) ? sql`+${col(name)}` : col(name));
  const conds: RawBuilder<unknown>[] = [];
  if (f.externalId !== undefined) conds.push(sql`${col('external_id')} = ${f.externalId}`);
  if (f.email !== undefined) conds.push(sql`${col('email')} = ${f.email.trim().toLowerCase()}`);
  if (f.tierId !== undefined) conds.push(sql`${col('tier_id')} = ${f.tierId}`);
  if (f.minBalance !== undefined) conds.push(sql`${col('balance')} >= ${f.minBalance}`);
  if (f.maxBalance !== undefined) conds.push(sql`${col('balance')} <= ${f.maxBalance}`);
  if (f.lastActivityBefore !== undefined) conds.push(sql`${range('last_activity_at')} < ${Date.parse(f.lastActivityBefore)}`);
  if (f.lastActivityAfter !== undefined) conds.push(sql`${range('last_activity_at')} > ${Date.parse(f.lastActivityAfter)}`);
  if (f.tierChangedAfter !== undefined) conds.push(sql`${range('tier_changed_at')} > ${Date.parse(f.tierChangedAfter)}`);
  return conds;
}

/**
 * The one definition of "customers matching a filter", used by lists, exports and bulk
 * selections alike, as a condition on the customers table under `alias`. `search` matches a
 * prefix of the e-mail, of "first last", of the last name, or the exact external id: all index
 * range scans, no full scan.
 */
export function customerFilterSql(storeId: number, f: CustomerFilter, alias = 'c', page?: PageRequest, plan: FilterPlan = {}): RawBuilder<boolean> {
  const conds = conditionsOf(f, alias, plan);
  if (f.search !== undefined && f.search.trim() !== '') {
    conds.push(sql`${sql.ref(`${alias}.id`)} IN (${searchUnionSql(storeId, f, page, plan)})`);
  }
  return conds.length === 0 ? sql<boolean>`1 = 1` : sql<boolean>`(${sql.join(conds, sql` AND `)})`;
}

/**
 * The ids of the store's customers whose e-mail, "first last" or last name starts with the search,
 * or whose external id is it: one index range scan per column, united — an OR of the ranges would
 * let the planner walk the whole store in id order instead (fast for common prefixes, a full scan
 * for rare ones). For a page, each branch also holds the filter's other conditions and stops at
 * the page's size (newest first, below the cursor): the page is the newest of the branches' pages,
 * so a one-letter prefix reads a page per branch, not a twentieth of the store, with or without a
 * balance or date filter beside it.
 */
function searchUnionSql(storeId: number, f: CustomerFilter, page: PageRequest | undefined, plan: FilterPlan): RawBuilder<unknown> {
  const s = normalizeSearch(f.search ?? '');
  const search = f.search?.trim() ?? '';
  const rest = page === undefined ? [] : conditionsOf(f, 'customers', plan);
  const bounded = (q: RawBuilder<unknown>) =>
    page !== undefined
      ? sql`SELECT id FROM (SELECT id FROM customers WHERE ${sql.join([q, ...rest], sql` AND `)}${page.beforeId !== undefined ? sql` AND +id < ${page.beforeId}` : sql``}
          ORDER BY id DESC LIMIT ${page.limit + 1}) AS b`
      : sql`SELECT id FROM customers WHERE ${q}`;
  const prefix = (name: RangeColumn) => {
    // Text has no unary plus on PostgreSQL: an empty concatenation hides the index the same way.
    const ref = plan.broad?.has(name) ? sql`(${sql.ref(name)} || '')` : sql.ref(name);
    return bounded(sql`store_id = ${storeId} AND ${ref} >= ${s} AND ${ref} < ${s + TOP}`);
  };
  return sql`${prefix('email')} UNION ${prefix('name_norm')} UNION ${prefix('last_name_norm')}
    UNION ${bounded(sql`store_id = ${storeId} AND external_id = ${search}`)}`;
}

/** A cap on the matches counted: past it, a range is broad whatever the store's size. */
const BROAD_AT = 10_000;

/**
 * The filter's broad ranges (FilterPlan), found with a count stopped at BROAD_AT (an index-only
 * range scan of at most that many entries) per range. SQLite only: its planner knows nothing of
 * how many rows a range holds and reads the range's index whole, then sorts it — two seconds for
 * "inactive for a year" over 1,000,000 customers, where walking newest first takes a millisecond;
 * likewise a one-letter search beside a balance filter. Search prefixes are counted only beside
 * other conditions: alone, each branch reads its index entries only (covering) and stays fast.
 * PostgreSQL's planner has the column statistics and chooses well by itself.
 */
export async function planCustomerFilter(db: Kysely<DB>, storeId: number, f: CustomerFilter, whole = false): Promise<FilterPlan> {
  if (dialectOf(db) === 'postgres') return {};
  const ranges: [RangeColumn, RawBuilder<unknown>[]][] = [];
  if (f.search !== undefined && f.search.trim() !== '' && conditionsOf(f, 'customers', {}).length > 0) {
    const s = normalizeSearch(f.search);
    for (const name of SEARCH_PREFIXES) ranges.push([name, [sql`${sql.ref(name)} >= ${s}`, sql`${sql.ref(name)} < ${s + TOP}`]]);
  }
  const activity = [
    ...(f.lastActivityBefore !== undefined ? [sql`last_activity_at < ${Date.parse(f.lastActivityBefore)}`] : []),
    ...(f.lastActivityAfter !== undefined ? [sql`last_activity_at > ${Date.parse(f.lastActivityAfter)}`] : []),
  ];
  if (activity.length > 0) ranges.push(['last_activity_at', activity]);
  if (f.tierChangedAfter !== undefined) ranges.push(['tier_changed_at', [sql`tier_changed_at > ${Date.parse(f.tierChangedAfter)}`]]);
  const broad = new Set<RangeColumn>();
  for (const [column, terms] of ranges) {
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT 1 FROM customers
      WHERE store_id = ${storeId} AND ${sql.join(terms, sql` AND `)} LIMIT ${BROAD_AT}) AS r`.execute(db);
    if (Number(rows[0].n) >= BROAD_AT) broad.add(column);
  }
  // An index serves the statement if one of its conditions is an exact key, a search, or a range
  // that is not broad. Otherwise it reads the store newest first until a page (or, `whole`, all
  // of it): then walking the table itself is cheaper, where the store fills its span.
  const searched = f.search !== undefined && f.search.trim() !== '';
  const indexed = f.externalId !== undefined || f.email !== undefined || f.tierId !== undefined || searched || ranges.some(([c]) => !broad.has(c));
  const filtered = conditionsOf(f, 'customers', {}).length > 0;
  const walkFrom = !indexed && (whole || filtered) ? await tableWalkFrom(db, 'customers', storeId) : undefined;
  return { broad, ...(walkFrom === undefined ? {} : { walkFrom }), ...(filtered || searched ? { hideOrderIndex: true } : {}) };
}

/**
 * How to count a filter's matches (FilterPlan): an exact key, a search or a date range is counted
 * on its index (entries only, however broad the range: no page is sorted); balance conditions
 * alone walk the table on SQLite (tableWalkFrom); no condition counts the store's index.
 */
export async function planCustomerCount(db: Kysely<DB>, storeId: number, f: CustomerFilter): Promise<FilterPlan> {
  const searched = f.search !== undefined && f.search.trim() !== '';
  const ranged = f.lastActivityBefore !== undefined || f.lastActivityAfter !== undefined || f.tierChangedAfter !== undefined;
  const indexed = f.externalId !== undefined || f.email !== undefined || f.tierId !== undefined || searched || ranged;
  if (indexed || conditionsOf(f, 'customers', {}).length === 0) return {};
  const walkFrom = await tableWalkFrom(db, 'customers', storeId);
  return walkFrom === undefined ? {} : { walkFrom };
}

export function applyCustomerFilter<D, TB extends keyof D, O>(
  q: SelectQueryBuilder<D, TB, O>,
  storeId: number,
  f: CustomerFilter,
  alias = 'c',
  page?: PageRequest,
  plan: FilterPlan = {},
): SelectQueryBuilder<D, TB, O> {
  return q.where(customerFilterSql(storeId, f, alias, page, plan));
}

/**
 * The column each sort key orders by. `nullable`: the customers without a value come last, in id
 * order, whichever the direction. `indexed`: an index (store_id, column) serves the order, so a
 * page without a filter reads a page of it; the others are read whole and their top kept.
 */
export const SORT_COLUMNS: Record<CustomerSortKey, { column: string; text: boolean; nullable: boolean; indexed: boolean }> = {
  createdAt: { column: 'id', text: false, nullable: false, indexed: true },
  name: { column: 'name_norm', text: true, nullable: true, indexed: true },
  email: { column: 'email', text: true, nullable: true, indexed: true },
  lastActivityAt: { column: 'last_activity_at', text: false, nullable: true, indexed: true },
  // No index on balances: every write would move it (see the customers table's migration).
  balance: { column: 'balance', text: false, nullable: false, indexed: false },
  lifetimePoints: { column: 'lifetime_points', text: false, nullable: false, indexed: false },
};

/**
 * One part of a sorted page (limit + 1 rows, each with its `sort_value`): `values`, the customers
 * with a value after `page.after` in the sort's order; `nulls`, those without one, by id, after
 * `page.after.id` when the previous page already ended among them.
 */
export function sortedCustomerListQuery(
  db: Kysely<DB>,
  storeId: number,
  filter: CustomerFilter,
  page: SortedPageRequest,
  part: 'values' | 'nulls',
  plan: FilterPlan = {},
) {
  const { column, text, nullable } = SORT_COLUMNS[page.sort.by];
  const desc = page.sort.order === 'desc';
  const ref = sql.ref(`c.${column}`);
  const hide = plan.hideOrderIndex === true && column !== 'id';
  const col = hide ? (text ? sql`(${ref} || '')` : sql`+${ref}`) : ref;
  const [atLeast, beyond] = desc ? [sql.raw('<='), sql.raw('<')] : [sql.raw('>='), sql.raw('>')];
  const { after } = page;
  const direction = desc ? 'desc' : 'asc';
  // The page's ids and sort values first, then their rows and tiers: joined before the sort, every
  // match of an order no index serves would be read whole and joined to its tier.
  let ids = db
    .selectFrom('customers as c')
    .where(storeCondition(storeId, plan.walkFrom))
    .where(customerFilterSql(storeId, filter, 'c', undefined, plan))
    .select(['c.id', sql<string | number | null>`${ref}`.as('sort_value')]);
  if (part === 'values') {
    if (nullable) ids = ids.where(sql<boolean>`${col} IS NOT NULL`);
    // The first term is a range an index on the column can serve; the second breaks ties by id.
    if (after !== undefined && after.value !== null) {
      ids = ids.where(sql<boolean>`${col} ${atLeast} ${after.value} AND (${col} ${beyond} ${after.value} OR c.id ${beyond} ${after.id})`);
    }
    ids = ids.orderBy(col, direction);
  } else {
    ids = ids.where(sql<boolean>`${col} IS NULL`);
    if (after !== undefined && after.value === null) ids = ids.where(sql<boolean>`c.id ${beyond} ${after.id}`);
  }
  ids = ids.orderBy('c.id', direction).limit(page.limit + 1);
  let q = db
    .selectFrom(ids.as('p'))
    .innerJoin('customers as c', 'c.id', 'p.id')
    .leftJoin('tiers as t', 't.id', 'c.tier_id')
    .select(CUSTOMER_COLUMNS)
    .select(['t.name as tier_name', 'p.sort_value']);
  if (part === 'values') q = q.orderBy('p.sort_value', direction);
  return q.orderBy('p.id', direction);
}

/**
 * How many customers a filter holds, read as `plan` says (planCustomerCount). A search alone
 * counts its union of index ranges, which holds each match once: no customer row is read.
 */
export function countCustomersQuery(db: Kysely<DB>, storeId: number, filter: CustomerFilter, plan: FilterPlan = {}) {
  const searchOnly = filter.search !== undefined && filter.search.trim() !== '' && conditionsOf(filter, 'customers', plan).length === 0;
  if (searchOnly) {
    return db.selectFrom(sql`(${searchUnionSql(storeId, filter, undefined, plan)})`.as('u')).select(sql<number>`count(*)`.as('n'));
  }
  return db
    .selectFrom('customers as c')
    .where(storeCondition(storeId, plan.walkFrom))
    .where(customerFilterSql(storeId, filter, 'c', undefined, plan))
    .select(sql<number>`count(*)`.as('n'));
}

export function searchColumns(firstName: string | null, lastName: string | null) {
  const full = [firstName, lastName].filter(Boolean).join(' ');
  return {
    name_norm: full ? normalizeSearch(full) : null,
    last_name_norm: lastName ? normalizeSearch(lastName) : null,
  };
}
