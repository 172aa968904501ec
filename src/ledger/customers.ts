import type { Trx } from '../db/committer.js';
import { type Kysely, sql } from 'kysely';
import { CustomerExistsError, NotFoundError, ValidationError } from '../domain/errors.js';
import {
  type BalanceAt,
  type Customer,
  type CustomerFilter,
  type NewCustomer,
  type Page,
  type PageRequest,
  type SortedPageRequest,
  SYSTEM_ACTOR,
} from '../domain/types.js';
import { moveTiers } from './tier-moves.js';
import { EXTERNAL_ID_MAX, NAME_MAX, optionalText, parseInstant, validEmail } from '../domain/validation.js';
import {
  applyCustomerFilter,
  countCustomersQuery,
  type FilterPlan,
  planCustomerCount,
  SORT_COLUMNS,
  sortedCustomerListQuery,
  planCustomerFilter,
  findCustomer,
  searchColumns,
  selectCustomers,
  toCustomer,
} from '../db/queries/customers.js';
import { totalsAt } from '../db/queries/transactions.js';
import { isUniqueViolation, violatedUniqueOn } from '../db/errors.js';
import type { DB } from '../db/schema.js';
import { pageOf, sortedPageOf } from './paging.js';

/**
 * Creates a customer with a zero balance.
 *
 * Needs: a transaction (the uniqueness checks and the insert must see the same state).
 * It can throw: ValidationError (neither externalId nor email), CustomerExistsError.
 */
export async function createCustomer(trx: Trx, storeId: number, input: NewCustomer): Promise<Customer> {
  const externalId = optionalText(input.externalId, 'externalId', EXTERNAL_ID_MAX);
  const email = validEmail(input.email);
  const firstName = optionalText(input.firstName, 'firstName', NAME_MAX);
  const lastName = optionalText(input.lastName, 'lastName', NAME_MAX);
  if (externalId === null && email === null) {
    throw new ValidationError('A customer needs an externalId or an email', 'externalId');
  }
  if (externalId !== null && (await findBy(trx, storeId, 'external_id', externalId))) {
    throw new CustomerExistsError('externalId');
  }
  if (email !== null && (await findBy(trx, storeId, 'email', email))) throw new CustomerExistsError('email');
  const row = await trx
    .insertInto('customers')
    .values({
      store_id: storeId,
      external_id: externalId,
      email,
      first_name: firstName,
      last_name: lastName,
      ...searchColumns(firstName, lastName),
      created_at: Date.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow()
    .catch((err) => {
      // A concurrent create with the same externalId or email won the unique index.
      if (!isUniqueViolation(err)) throw err;
      throw new CustomerExistsError(violatedUniqueOn(err, 'email') ? 'email' : 'externalId');
    });
  // A tier from 0 points holds every member from the start.
  await moveTiers(trx, storeId, sql<boolean>`c.id = ${row.id}`, { actor: SYSTEM_ACTOR, jobId: null });
  return getCustomer(trx, storeId, row.id);
}

async function findBy(trx: Kysely<DB>, storeId: number, column: 'external_id' | 'email', value: string) {
  return trx
    .selectFrom('customers')
    .select('id')
    .where('store_id', '=', storeId)
    .where(column, '=', value)
    .executeTakeFirst();
}

/** It can throw: NotFoundError (also for another store's customer). */
export async function getCustomer(db: Kysely<DB>, storeId: number, id: number): Promise<Customer> {
  const row = await findCustomer(db, storeId, id);
  if (!row) throw new NotFoundError('customer', id);
  return toCustomer(row);
}

/** It can throw: ValidationError (a date that is not an ISO 8601 instant). */
export function checkCustomerFilter(f: CustomerFilter): void {
  for (const field of ['lastActivityBefore', 'lastActivityAfter', 'tierChangedAfter'] as const) {
    const v = f[field];
    if (v !== undefined) parseInstant(v, field);
  }
}

/** Customers matching a filter, newest first, by keyset on id. */
export async function listCustomers(
  db: Kysely<DB>,
  storeId: number,
  filter: CustomerFilter,
  page: PageRequest,
): Promise<Page<Customer>> {
  checkCustomerFilter(filter);
  const plan = await planCustomerFilter(db, storeId, filter);
  const rows = await customerListQuery(db, storeId, filter, page, plan).execute();
  return pageOf(rows.map(toCustomer), page.limit);
}

/**
 * Customers matching a filter in the order `page.sort` asks, by keyset on (sort value, id); the
 * customers without a value (no name, no e-mail, never active) come last. An order no index
 * serves (balances) reads every match and keeps the page's top; on SQLite by walking the table.
 */
export async function listCustomersSorted(
  db: Kysely<DB>,
  storeId: number,
  filter: CustomerFilter,
  page: SortedPageRequest,
): Promise<Page<Customer>> {
  checkCustomerFilter(filter);
  const { nullable, indexed } = SORT_COLUMNS[page.sort.by];
  const plan = await planCustomerFilter(db, storeId, filter, !indexed);
  const inNulls = page.after !== undefined && page.after.value === null;
  const read = async (part: 'values' | 'nulls', p: SortedPageRequest) =>
    (await sortedCustomerListQuery(db, storeId, filter, p, part, plan).execute()).map((r) => ({ item: toCustomer(r), sortValue: r.sort_value }));
  let rows = inNulls ? [] : await read('values', page);
  // The page ends among the customers without a value: the rest of it comes from them.
  if (nullable && rows.length <= page.limit) {
    rows = rows.concat(await read('nulls', { ...page, limit: page.limit - rows.length, after: inNulls ? page.after : undefined }));
  }
  return sortedPageOf(rows, page);
}

/** How many customers match a filter (the "Select all N customers" of the admin app). */
export async function countCustomers(db: Kysely<DB>, storeId: number, filter: CustomerFilter): Promise<number> {
  checkCustomerFilter(filter);
  const plan = await planCustomerCount(db, storeId, filter);
  return Number((await countCustomersQuery(db, storeId, filter, plan).executeTakeFirstOrThrow()).n);
}

/** The statement behind one page of listCustomers (limit + 1 rows), unchecked; the benchmarks time it raw. */
export function customerListQuery(db: Kysely<DB>, storeId: number, filter: CustomerFilter, page: PageRequest, plan: FilterPlan = {}) {
  let q = applyCustomerFilter(selectCustomers(db, storeId, plan.walkFrom), storeId, filter, 'c', page, plan);
  if (page.beforeId !== undefined) q = q.where(sql.ref('c.id'), '<', page.beforeId);
  return q.orderBy('c.id', 'desc').limit(page.limit + 1);
}

/**
 * A customer's balance and lifetime points at a past moment, summed from the ledger.
 * It can throw: ValidationError (bad instant), NotFoundError.
 */
export async function balanceAt(db: Kysely<DB>, storeId: number, customerId: number, at: string): Promise<BalanceAt> {
  const atMs = parseInstant(at, 'at');
  await getCustomer(db, storeId, customerId);
  const totals = await totalsAt(db, storeId, customerId, atMs);
  return { customerId, at: new Date(atMs).toISOString(), balance: totals.balance, lifetimePoints: totals.lifetime };
}
