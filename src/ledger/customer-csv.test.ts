import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeCsvCell } from '../domain/csv-cell.js';
import { iso } from '../db/time.js';
import { CUSTOMER_CSV_COLUMNS, CUSTOMER_CSV_HEADER, customerCsvLines, type ExportedCustomerRow } from './customer-csv.js';

/** The record the export built of a row before, for csv-stringify to write. */
function formerRecord(r: ExportedCustomerRow): (string | number)[] {
  const text = (v: string | null) => (v === null ? '' : escapeCsvCell(v));
  const [id, externalId, email, firstName, lastName, balance, lifetimePoints, tier, createdAt] = r;
  return [id, text(externalId), text(email), text(firstName), text(lastName), Number(balance), Number(lifetimePoints), text(tier), iso(Number(createdAt))];
}

/** Text made mostly of the characters CSV and spreadsheets treat specially. */
const tricky = fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', '=', '+', '-', '@', '\t', "'", ' ', 'a', '1', 'é', '😀') });
const cell = fc.option(fc.oneof(tricky, fc.string(), fc.integer().map(String)), { nil: null });
const points = fc.integer({ min: -1e12, max: 1e12 });
// PostgreSQL's sums are numeric, read as text.
const total = fc.oneof(points, points.map(String));
// Few moments, so that neighbouring rows share theirs (the formatter remembers the last one).
const moment = fc.oneof(fc.constantFrom(0, 1_700_000_000_000, 1_700_000_000_001), fc.integer({ min: 0, max: 4_102_444_800_000 }));
const row: fc.Arbitrary<ExportedCustomerRow> = fc.tuple(fc.nat(), cell, cell, cell, cell, total, total, cell, moment);

describe('customerCsvLines', () => {
  it('writes byte for byte what csv-stringify wrote of the former records, header included', () => {
    expect(CUSTOMER_CSV_HEADER).toBe(stringify([[...CUSTOMER_CSV_COLUMNS]]));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), (rows) => {
        expect(customerCsvLines.format(rows)).toBe(rows.length === 0 ? '' : stringify(rows.map(formerRecord)));
      }),
      { numRuns: 3000 },
    );
  });
});
