import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeCsvCell } from './csv-cell.js';
import { csvField, csvLine } from './csv-field.js';

/** Text made mostly of the characters CSV and spreadsheets treat specially. */
const tricky = fc.string({ unit: fc.constantFrom('"', ',', '\r', '\n', '=', '+', '-', '@', '\t', "'", ' ', 'a', '1', 'é', '😀') });
const cell = fc.oneof(tricky, fc.string());
/** Records of at least two fields: a lone empty field is an empty line, which a reader skips. */
const records = fc.array(fc.array(cell, { minLength: 2, maxLength: 6 }), { minLength: 1, maxLength: 8 });

describe('csvField and csvLine', () => {
  it('quote only texts with a comma, a double quote, CR or LF, doubling the quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('')).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('Said "hi"')).toBe('"Said ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvLine(['1', '', 'x,y'])).toBe('1,,"x,y"\n');
  });

  it('write what csv-parse reads back exactly, formula-safe cells included', () => {
    fc.assert(
      fc.property(records, (rs) => {
        const safe = rs.map((r) => r.map(escapeCsvCell));
        const text = safe.map(csvLine).join('');
        expect(parse(text, { relax_column_count: true })).toEqual(safe);
      }),
      { numRuns: 2000 },
    );
  });

  it('write byte for byte what csv-stringify writes with its defaults', () => {
    fc.assert(
      fc.property(records, (rs) => {
        expect(rs.map(csvLine).join('')).toBe(stringify(rs));
      }),
      { numRuns: 2000 },
    );
  });
});
