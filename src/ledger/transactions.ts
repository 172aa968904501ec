import type { Kysely } from 'kysely';
import type { Page, PageRequest, Transaction, TransactionFilter } from '../domain/types.js';
import { parseInstant } from '../domain/validation.js';
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
  let q = selectTransactions(db, storeId, filter);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return pageOf(rows.map(toTransaction), page.limit);
}

const EXPORT_BATCH = 2000;

/**
 * Streams every matching transaction, newest first, in bounded memory: keyset batches of
 * 2,000 rows, each its own short query, so a long download never holds a read transaction open.
 * It can throw: ValidationError (before the first row).
 */
export async function* streamTransactions(
  db: Kysely<DB>,
  storeId: number,
  filter: TransactionFilter,
): AsyncGenerator<Transaction> {
  checkFilter(filter);
  let beforeId: number | undefined;
  for (;;) {
    let q = selectTransactions(db, storeId, filter);
    if (beforeId !== undefined) q = q.where('id', '<', beforeId);
    const rows = await q.orderBy('id', 'desc').limit(EXPORT_BATCH).execute();
    for (const row of rows) yield toTransaction(row);
    if (rows.length < EXPORT_BATCH) return;
    beforeId = rows[rows.length - 1].id;
  }
}
