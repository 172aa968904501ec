import type { Kysely } from 'kysely';
import type { Page, PageRequest, Transaction, TransactionFilter } from '../domain/types.js';
import { parseInstant } from '../domain/validation.js';
import { tableWalkFrom } from '../db/queries/table-walk.js';
import { selectTransactions, toTransaction } from '../db/queries/transactions.js';
import type { DB } from '../db/schema.js';
import { pageOf } from './paging.js';

function checkFilter(f: TransactionFilter): void {
  if (f.from !== undefined) parseInstant(f.from, 'from');
  if (f.to !== undefined) parseInstant(f.to, 'to');
}

/** The store-wide log (or one customer's history), newest first. It can throw: ValidationError. */
export async function listTransactions(
  db: Kysely<DB>,
  storeId: number,
  filter: TransactionFilter,
  page: PageRequest,
): Promise<Page<Transaction>> {
  checkFilter(filter);
  const rows = await transactionListQuery(db, storeId, filter, page, await transactionWalkFrom(db, storeId, filter)).execute();
  return pageOf(rows.map(toTransaction), page.limit);
}

/**
 * Where a page of the log is best read by walking the table (tableWalkFrom): a filter by type
 * alone has no index, and a rare type reads the store's ledger newest first until a page.
 */
export async function transactionWalkFrom(db: Kysely<DB>, storeId: number, f: TransactionFilter): Promise<number | undefined> {
  const typeOnly = f.type !== undefined && f.customerId === undefined && f.jobId === undefined && f.from === undefined && f.to === undefined;
  return typeOnly ? tableWalkFrom(db, 'transactions', storeId) : undefined;
}

/** The statement behind one page of listTransactions (limit + 1 rows), unchecked; the benchmarks time it raw. */
export function transactionListQuery(db: Kysely<DB>, storeId: number, filter: TransactionFilter, page: PageRequest, walkFrom?: number) {
  let q = selectTransactions(db, storeId, filter, walkFrom);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  return q.orderBy('id', 'desc').limit(page.limit + 1);
}

const EXPORT_BATCH = 2000;

/** A transaction as exported: with the identifiers that name its customer outside this store. */
export type ExportedTransaction = Transaction & { customerExternalId: string | null; customerEmail: string | null };

/**
 * Streams every matching transaction, newest first, in bounded memory: keyset batches of
 * 2,000 rows, each its own short query, so a long download never holds a read transaction open.
 * It can throw: ValidationError (before the first row).
 */
export async function* streamTransactions(
  db: Kysely<DB>,
  storeId: number,
  filter: TransactionFilter,
): AsyncGenerator<ExportedTransaction> {
  checkFilter(filter);
  let beforeId: number | undefined;
  for (;;) {
    let q = selectTransactions(db, storeId, filter);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.orderBy('id', 'desc').limit(EXPORT_BATCH).execute();
    // Who each row is about, outside this store too: one lookup per batch, not per row.
    const ids = [...new Set(rows.map((r) => r.customer_id))];
    const customers = new Map(
      ids.length === 0
        ? []
        : (await db.selectFrom('customers').select(['id', 'external_id', 'email']).where('store_id', '=', storeId).where('id', 'in', ids).execute()).map(
            (c) => [c.id, c] as const,
          ),
    );
    for (const row of rows) {
      const c = customers.get(row.customer_id);
      yield { ...toTransaction(row), customerExternalId: c?.external_id ?? null, customerEmail: c?.email ?? null };
    }
    if (rows.length < EXPORT_BATCH) return;
    beforeId = rows[rows.length - 1].id;
  }
}
