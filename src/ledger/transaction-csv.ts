import { csvField, csvLine, csvTextField as text } from '../domain/csv-field.js';
import { rowFormatter } from '../db/row-text.js';
import { repeatingIso } from '../db/time.js';

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

/** The header line of a transactions export. */
export const TRANSACTION_CSV_HEADER = csvLine(TRANSACTION_CSV_COLUMNS);

/**
 * The columns an export batch reads (transactions t, its customer c), in the order of
 * ExportedTransactionRow: the batches are read as arrays, not objects (on a reader thread a third
 * of the reading was making the rows' objects and collecting them again).
 */
export const EXPORT_BATCH_COLUMNS = [
  't.id', 't.customer_id', 't.type', 't.points', 't.tier_points', 't.balance_after', 't.reason', 't.customer_message',
  't.visible_to_customer', 't.actor_type', 't.actor_id', 't.actor_name', 't.job_id', 't.reverses_id', 't.reference',
  't.created_at', 'c.external_id', 'c.email',
] as const;

/** A ledger row as the export reads it: the columns it writes, and who the row is about outside this store. */
export type ExportedTransactionRow = readonly [
  id: number,
  customerId: number,
  type: string,
  points: number,
  tierPoints: number,
  balanceAfter: number,
  reason: string,
  customerMessage: string | null,
  visibleToCustomer: number,
  actorType: string,
  actorId: number | null,
  actorName: string,
  jobId: number | null,
  reversesId: number | null,
  reference: string | null,
  createdAt: number,
  customerExternalId: string | null,
  customerEmail: string | null,
];

const optional = (v: number | null) => (v === null ? '' : String(v));

// Rows written together (an import's, a job's) share their moment.
const createdIso = repeatingIso();

/**
 * One CSV line per transaction: the API's fields (Transaction), the actor flattened, every text
 * cell formula-safe. Written straight from the row, one string, no record in between: an export
 * formats a million of these (issue 13).
 */
export function transactionCsvLine(r: ExportedTransactionRow): string {
  const [id, customerId, type, points, tierPoints, balanceAfter, reason, customerMessage, visible] = r;
  const [, , , , , , , , , actorType, actorId, actorName, jobId, reversesId, reference, createdAt, externalId, email] = r;
  return (
    `${id},${customerId},${csvField(type)},${points},${tierPoints},${balanceAfter},${text(reason)},${text(customerMessage)},` +
    `${visible === 1 ? 'true' : 'false'},${csvField(actorType)},${optional(actorId)},${text(actorName)},${optional(jobId)},` +
    `${optional(reversesId)},${text(reference)},${createdIso(createdAt)},${text(externalId)},${text(email)}\n`
  );
}

/** A batch of export rows as CSV lines; runs on a SQLite reader thread where there is one (row-text.ts). */
export const transactionCsvLines = rowFormatter(import.meta.url, 'transactionCsvLines', (rows: ExportedTransactionRow[]) => {
  let out = '';
  for (const r of rows) out += transactionCsvLine(r);
  return out;
});
