import { escapeCsvCell } from '../domain/csv-cell.js';
import type { ExportedTransaction } from './transactions.js';

export const TRANSACTION_CSV_COLUMNS = [
  'id',
  'customerId',
  'type',
  'points',
  'tierPoints',
  'balanceAfter',
  'reason',
  'customerMessage',
  'visibleToCustomer',
  'actorType',
  'actorId',
  'actorName',
  'jobId',
  'reversesId',
  'reference',
  'createdAt',
  'customerExternalId',
  'customerEmail',
] as const;

const text = (v: string | null) => (v === null ? '' : escapeCsvCell(v));

/** One CSV record per transaction: the API's fields, actor flattened, every text cell formula-safe. */
export function transactionCsvRecord(t: ExportedTransaction): (string | number)[] {
  return [
    t.id,
    t.customerId,
    t.type,
    t.points,
    t.tierPoints,
    t.balanceAfter,
    text(t.reason),
    text(t.customerMessage),
    t.visibleToCustomer ? 'true' : 'false',
    t.actor.type,
    t.actor.id ?? '',
    text(t.actor.name),
    t.jobId ?? '',
    t.reversesId ?? '',
    text(t.reference),
    t.createdAt,
    text(t.customerExternalId),
    text(t.customerEmail),
  ];
}

/** The header row, then a record per transaction (the first one already pulled by the caller). */
export async function* transactionCsvRows(
  first: IteratorResult<ExportedTransaction>,
  rest: AsyncIterator<ExportedTransaction>,
): AsyncGenerator<(string | number)[]> {
  yield [...TRANSACTION_CSV_COLUMNS];
  let next = first;
  while (!next.done) {
    yield transactionCsvRecord(next.value);
    next = await rest.next();
  }
}
