import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImportFileError } from '../src/domain/errors.js';
import { fieldOfHeader } from '../src/domain/import/headers.js';
import type { ImportType } from '../src/domain/import/rows.js';
import { type ParsedBatch, parseImport } from '../src/ledger/import-parse.js';

async function* chunks(data: Buffer | string, size = 7): AsyncGenerator<Buffer> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function read(data: Buffer | string, type: ImportType = 'add', size?: number) {
  const all: ParsedBatch = { rows: [], errors: [], line: 0, columns: {} };
  for await (const b of parseImport(chunks(data, size), type)) {
    all.rows.push(...b.rows);
    all.errors.push(...b.errors);
    all.line = b.line;
  }
  return all;
}

describe('import file reading', () => {
  it('matches headers case-insensitively ignoring spaces, dashes and underscores, with other apps\' names', () => {
    expect(fieldOfHeader('E-mail')).toBe('email');
    expect(fieldOfHeader('Email Address')).toBe('email');
    expect(fieldOfHeader('Points Balance')).toBe('points');
    expect(fieldOfHeader('points_amount')).toBe('points');
    expect(fieldOfHeader('Total Points')).toBe('points');
    expect(fieldOfHeader('internal_note')).toBe('reason');
    expect(fieldOfHeader('external_note')).toBe('customerMessage');
    expect(fieldOfHeader('applied_at')).toBe('createdAt');
    expect(fieldOfHeader('Customer ID')).toBe('customerId');
    expect(fieldOfHeader('Shopify ID')).toBe('externalId');
    expect(fieldOfHeader('FIRST-NAME')).toBe('firstName');
    expect(fieldOfHeader('customerExternalId')).toBe('externalId');
    expect(fieldOfHeader('favourite colour')).toBeUndefined();
    for (const h of ['availableAt', 'available_at', 'Available From', 'pending_until']) expect(fieldOfHeader(h)).toBe('availableAt');
    for (const h of ['expiresAt', 'expires_at', 'Expiry Date', 'expiration_date']) expect(fieldOfHeader(h)).toBe('expiresAt');
  });

  it('keeps a credit\'s availableAt only while it is to come, and reports bad or misplaced dates by line and column', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const file = [
      'email,points,Available From,Expiry Date',
      `a@example.com,10,${future},`,
      `b@example.com,10,${past},2030-01-01T00:00:00Z`,
      `c@example.com,-10,${future},`,
      'd@example.com,10,2030-01-01 10:00,',
      `e@example.com,10,,${past}`,
    ].join('\n');
    const add = await read(file, 'add');
    expect(add.rows.map((r) => [r.line, r.availableAt, r.expiresAt])).toEqual([
      [2, Date.parse(future), null],
      [3, null, Date.parse('2030-01-01T00:00:00Z')],
    ]);
    expect(add.errors.map((e) => [e.line, e.column, e.code])).toEqual([
      [4, 'Available From', 'invalid_date'],
      [5, 'Available From', 'invalid_date'],
      [6, 'Expiry Date', 'invalid_date'],
    ]);
    const set = await read(file.replace('points', 'balance'), 'set');
    expect(set.errors.filter((e) => e.line === 2).map((e) => [e.column, e.code])).toEqual([['Available From', 'invalid_date']]);
  });

  it('reads a UTF-8 file with a BOM, semicolons and CRLF, numbering lines as a spreadsheet does', async () => {
    const file = '\uFEFFE-mail;Points;Reason\r\na@x.io;10;"multi\r\nline; note"\r\nb@x.io;-5;plain\r\n';
    const r = await read(file);
    expect(r.errors).toEqual([]);
    expect(r.rows.map((x) => [x.line, x.email, x.points, x.reason])).toEqual([
      [2, 'a@x.io', 10, 'multi\r\nline; note'],
      [3, 'b@x.io', -5, 'plain'],
    ]);
  });

  it('detects tabs, reads embedded quotes and delimiters, and mixed line endings', async () => {
    const r = await read('email\tpoints\treason\na@x.io\t1\t"say ""hi"", then\tgo"\r\nb@x.io\t2\tok\n');
    expect(r.errors).toEqual([]);
    expect(r.rows.map((x) => x.reason)).toEqual(['say "hi", then\tgo', 'ok']);
  });

  it('reports row errors with line, column and code, and keeps the good rows', async () => {
    const file = [
      'Customer ID,Points',
      '1,10',
      ',5',
      '2,1.5',
      '3,999999999',
      'abc,1',
      '',
      '4,"1,000"',
    ].join('\n');
    const r = await read(file);
    expect(r.rows.map((x) => [x.line, x.customerId, x.points])).toEqual([
      [2, 1, 10],
      [8, 4, 1000],
    ]);
    expect(r.errors.map((e) => [e.line, e.column, e.code])).toEqual([
      [3, null, 'missing_identifier'],
      [4, 'Points', 'invalid_points'],
      [5, 'Points', 'invalid_points'],
      [6, 'Customer ID', 'missing_identifier'],
    ]);
  });

  it('refuses a negative balance for set and a date without a zone for history', async () => {
    const set = await read('email,balance\na@x.io,-1\n', 'set');
    expect(set.errors.map((e) => e.code)).toEqual(['invalid_points']);
    const history = await read('email,points,createdAt\na@x.io,5,2025-01-01T10:00:00\nb@x.io,5,2025-02-30T10:00:00Z\nc@x.io,5,2025-01-01T10:00:00Z\n', 'history');
    expect(history.errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'invalid_date'],
      [3, 'invalid_date'],
    ]);
    expect(history.rows[0].createdAt).toBe(Date.UTC(2025, 0, 1, 10));
  });

  const refused: [string, Buffer | string, RegExp][] = [
    ['an empty file', '', /empty/],
    ['a header only', 'email,points\n', /./],
    ['UTF-16 with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('email,points\n', 'utf16le')]), /UTF-16/],
    ['UTF-16 without a BOM', Buffer.from('email,points\na@x.io,1\n', 'utf16le'), /UTF-16/],
    ['Latin-1', Buffer.from('email,points,reason\na@x.io,1,caf\xe9\n', 'latin1'), /UTF-8/],
    ['binary garbage', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2, 3]), /not text|UTF/],
    ['an unterminated quote', 'email,points\na@x.io,"1\n', /not valid CSV/],
    ['a header without points', 'email,name\na@x.io,A\n', /no points column/],
    ['10,000 columns', `email,points,${Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',')}\na@x.io,1\n`, /columns/],
    ['a 1 MB field', `email,points,reason\na@x.io,1,"${'x'.repeat(1024 * 1024)}"\n`, /not valid CSV/],
  ];
  for (const [what, data, message] of refused) {
    it(`refuses ${what} with a clear error, or yields no rows`, async () => {
      const outcome = await read(data, 'add', 4096).then(
        (r) => ({ rows: r.rows.length }),
        (err: unknown) => err,
      );
      if (what === 'a header only') {
        expect(outcome).toEqual({ rows: 0 });
        return;
      }
      expect(outcome).toBeInstanceOf(ImportFileError);
      expect((outcome as Error).message).toMatch(message);
    });
  }

  it('never throws anything but ImportFileError on random bytes or random CSV-ish text', async () => {
    const alphabet = fc.constantFrom('a', '1', '-', ',', ';', '\t', '"', '\n', '\r', ' ', '@', 'é', '\u0000', '.');
    const texts = fc.array(alphabet, { maxLength: 300 }).map((cs) => `email,points,reason\n${cs.join('')}`);
    const bytes = fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b));
    await fc.assert(
      fc.asyncProperty(fc.oneof(texts, bytes), fc.constantFrom<ImportType>('add', 'set', 'history'), async (data, type) => {
        try {
          const r = await read(data, type, 13);
          for (const row of r.rows) expect(Number.isInteger(row.points)).toBe(true);
          for (const e of r.errors) expect(e.line).toBeGreaterThanOrEqual(2);
        } catch (err) {
          expect(err).toBeInstanceOf(ImportFileError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
