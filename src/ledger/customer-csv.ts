import { csvLine, csvTextField as text } from '../domain/csv-field.js';
import { rowFormatter } from '../db/row-text.js';
import { repeatingIso } from '../db/time.js';

/** The customers export's columns; `balance` is what an import of type=set reads as the points to set. */
export const CUSTOMER_CSV_COLUMNS = ['id', 'externalId', 'email', 'firstName', 'lastName', 'balance', 'lifetimePoints', 'tier', 'createdAt'] as const;

/** The header line of a customers export. */
export const CUSTOMER_CSV_HEADER = csvLine(CUSTOMER_CSV_COLUMNS);

/**
 * A customer as the export reads it, an array in the order its selects list the columns
 * (export-customers.ts). The totals as of a past moment are sums: PostgreSQL's numeric, a text.
 */
export type ExportedCustomerRow = readonly [
  id: number,
  externalId: string | null,
  email: string | null,
  firstName: string | null,
  lastName: string | null,
  balance: number | string,
  lifetimePoints: number | string,
  tier: string | null,
  createdAt: number,
];

// Customers imported or seeded together share their moment of creation.
const createdIso = repeatingIso();

/**
 * One CSV line per customer, straight from the row, one string, no record in between: the same
 * bytes csv-stringify wrote of the record the export built before (customer-csv.test.ts).
 */
export function customerCsvLine(r: ExportedCustomerRow): string {
  const [id, externalId, email, firstName, lastName, balance, lifetimePoints, tier, createdAt] = r;
  return (
    `${id},${text(externalId)},${text(email)},${text(firstName)},${text(lastName)},` +
    `${Number(balance)},${Number(lifetimePoints)},${text(tier)},${createdIso(createdAt)}\n`
  );
}

/** A batch of export rows as CSV lines; runs on a SQLite reader thread where there is one (row-text.ts). */
export const customerCsvLines = rowFormatter(import.meta.url, 'customerCsvLines', (rows: ExportedCustomerRow[]) => {
  let out = '';
  for (const r of rows) out += customerCsvLine(r);
  return out;
});
