import type { Kysely } from 'kysely';
import type { Page, PageRequest, Transaction, TransactionFilter } from '../domain/types.js';
import { parseInstant } from '../domain/validation.js';
import { tableWalkFrom } from '../db/queries/table-walk.js';
import { selectTransactions, toTransaction } from '../db/queries/transactions.js';
import { selectAsText, TEXT_BATCH_ROWS, type TextBatch, textBatches } from '../db/row-text.js';
import type { DB } from '../db/schema.js';
import { pageOf } from './paging.js';
import { EXPORT_BATCH_COLUMNS, type ExportedTransactionRow, TRANSACTION_CSV_HEADER, transactionCsvLines } from './transaction-csv.js';

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
  return f.type !== undefined && storeWide(f) ? tableWalkFrom(db, 'transactions', storeId) : undefined;
}

/** Whether a filter keeps to the store's whole log (or one type of it): no index narrows it. */
const storeWide = (f: TransactionFilter) => f.customerId === undefined && f.jobId === undefined && f.from === undefined && f.to === undefined;

/** The statement behind one page of listTransactions (limit + 1 rows), unchecked; the benchmarks time it raw. */
export function transactionListQuery(db: Kysely<DB>, storeId: number, filter: TransactionFilter, page: PageRequest, walkFrom?: number) {
  let q = selectTransactions(db, storeId, filter, walkFrom);
  if (page.beforeId !== undefined) q = q.where('id', '<', page.beforeId);
  return q.orderBy('id', 'desc').limit(page.limit + 1);
}

/**
 * The transactions export as CSV text, newest first: a piece per keyset batch of TEXT_BATCH_ROWS rows (the
 * same filters as the log), the header line leading the first, in bounded memory. Each batch is
 * its own short query, so a long download never holds a read transaction open; the next one is
 * asked for as soon as a batch arrives, so the database reads it while this one is written out.
 * On SQLite the reader thread that reads a batch also formats it (transactionCsvLines, row-text.ts).
 *
 * @example for await (const piece of transactionCsvText(db, storeId, {})) out.write(piece.text)
 * It can throw: ValidationError (before the first piece).
 */
export async function* transactionCsvText(db: Kysely<DB>, storeId: number, filter: TransactionFilter): AsyncGenerator<TextBatch<ExportedTransactionRow>> {
  checkFilter(filter);
  const walkFrom = await exportWalkFrom(db, storeId, filter);
  yield* textBatches<ExportedTransactionRow>(TRANSACTION_CSV_HEADER, TEXT_BATCH_ROWS, (last) =>
    selectAsText(db, exportBatch(db, storeId, filter, last?.[0], walkFrom), transactionCsvLines),
  );
}

/**
 * One keyset batch: the log's rows below `beforeId`, newest first, each with its customer's
 * external id and e-mail joined in (one statement a batch, not a lookup more).
 */
function exportBatch(db: Kysely<DB>, storeId: number, f: TransactionFilter, beforeId: number | undefined, walkFrom: number | undefined) {
  let rows = selectTransactions(db, storeId, f, walkFrom);
  if (beforeId !== undefined) rows = rows.where('id', '<', beforeId);
  return db
    .selectFrom(rows.orderBy('id', 'desc').limit(TEXT_BATCH_ROWS).as('t'))
    .leftJoin('customers as c', (j) => j.onRef('c.id', '=', 't.customer_id').onRef('c.store_id', '=', 't.store_id'))
    .select(EXPORT_BATCH_COLUMNS)
    .orderBy('t.id', 'desc');
}

/** The store's whole log (or one type of it) is best walked in table order on SQLite (tableWalkFrom). */
async function exportWalkFrom(db: Kysely<DB>, storeId: number, f: TransactionFilter): Promise<number | undefined> {
  return storeWide(f) ? tableWalkFrom(db, 'transactions', storeId) : undefined;
}
