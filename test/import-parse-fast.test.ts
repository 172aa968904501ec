import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ImportType } from '../src/domain/import/rows.js';
import { MAX_RECORD_BYTES, type ParsedBatch, parseImport } from '../src/ledger/import-parse.js';

type Outcome = { batches: ParsedBatch[] } | { error: { name: string; message: string; line: unknown } };

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes.length === 0 ? data.length : sizes[i % sizes.length];
    yield data.subarray(at, at + size);
    at += size;
  }
}

async function outcome(data: Buffer, type: ImportType, sizes: number[], quoteFree: boolean): Promise<Outcome> {
  // In-memory pieces settle only microtasks: without a turn of the event loop here, a whole property
  // would run as one block, and vitest's worker could not answer its runner for a minute (its RPC
  // timeout, "Timeout calling onTaskUpdate", failed a CI run).
  await new Promise((resolve) => setImmediate(resolve));
  const batches: ParsedBatch[] = [];
  try {
    for await (const b of parseImport(pieces(data, sizes), type, { quoteFree })) batches.push(b);
    return { batches };
  } catch (err) {
    const e = err as Error & { line?: unknown };
    return { error: { name: e.constructor.name, message: e.message, line: e.line } };
  }
}

/** The fast path and csv-parse alone, on the same bytes fed in the same pieces (and csv-parse in whole). */
async function expectSame(data: Buffer, type: ImportType, sizes: number[]): Promise<void> {
  const reference = await outcome(data, type, [], false);
  expect(await outcome(data, type, sizes, true)).toEqual(reference);
  expect(await outcome(data, type, sizes, false)).toEqual(reference);
}

const DELIMITERS = [',', ';', '\t'] as const;
const ENDINGS = ['\n', '\r\n', '\r'];
const HEADERS: Record<ImportType, string[]> = {
  add: ['customerId', 'points', 'reason', 'email', 'Available At'],
  set: ['externalId', 'email', 'firstName', 'lastName', 'balance'],
  history: ['email', 'points', 'createdAt', 'type', 'reference'],
};

const field = fc.oneof(
  fc.constantFrom('', ' ', '10', '-5', '0', '1,234', '12', '100000001', 'abc', 'a@example.com', 'x y', '2025-03-01T12:00:00Z', '2999-01-01T00:00:00Z'),
  fc.integer({ min: 1, max: 99_999 }).map(String),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('é', '日本', '😀', 'Ω,Ω', 'a;b', 'a\tb', '\uFEFF1'),
  // Quoting: well-formed (delimiters, line breaks, doubled quotes inside) and broken.
  fc.constantFrom('"7"', '"a,b"', '"x\ny"', '"l1\r\nl2"', '"he said ""hi"""', '""', 'ab"c', '"open', '"x"y', '"\r"'),
);

const file = fc.record({
  type: fc.constantFrom<ImportType>('add', 'set', 'history'),
  delimiter: fc.constantFrom(...DELIMITERS),
  bom: fc.boolean(),
  headerQuoted: fc.boolean(),
  before: fc.array(fc.tuple(fc.array(field, { minLength: 0, maxLength: 6 }), fc.constantFrom(...ENDINGS), fc.boolean()), { maxLength: 12 }),
  // A padding of quote-free rows carries what follows past the 64 KB the sniffing reads at once.
  pad: fc.constantFrom(0, 0, 9000),
  after: fc.array(fc.tuple(fc.array(field, { minLength: 0, maxLength: 6 }), fc.constantFrom(...ENDINGS), fc.boolean()), { maxLength: 12 }),
  trailing: fc.boolean(),
  invalidUtf8: fc.boolean(),
  sizes: fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 6 }),
});

type FileSpec = typeof file extends fc.Arbitrary<infer T> ? T : never;

function build(f: FileSpec): Buffer {
  const header = HEADERS[f.type].map((h) => (f.headerQuoted ? `"${h}"` : h)).join(f.delimiter);
  const rows = (list: typeof f.before) => list.map(([cells, ending, blank]) => (blank ? ending : '') + cells.join(f.delimiter) + ending).join('');
  const pad = Array.from({ length: f.pad }, (_, i) => `${i + 1}${f.delimiter}${i % 7}${i % 3 === 0 ? '\r\n' : '\n'}`).join('');
  const parts = [Buffer.from(`${f.bom ? '\uFEFF' : ''}${header}\n${rows(f.before)}${pad}`)];
  if (f.invalidUtf8 && f.pad > 0) parts.push(Buffer.from([0x31, 0xff, 0xc3, 0x2c, 0xe2, 0x82, 0x0a]));
  const after = rows(f.after);
  parts.push(Buffer.from(f.trailing ? after : after.replace(/[\r\n]+$/, '')));
  return Buffer.concat(parts);
}

describe('import file reading: the quote-free fast path', () => {
  it('yields exactly the batches and errors csv-parse alone does, for any file in any pieces', async () => {
    await fc.assert(
      fc.asyncProperty(file, async (f) => {
        await expectSame(build(f), f.type, f.sizes);
      }),
      { numRuns: 100 },
    );
  });

  it('hands a record over the size limit to csv-parse: the same refusal at the same line', async () => {
    const rows = Array.from({ length: 9000 }, (_, i) => `${i + 1},5\n`).join('');
    // Each length and filler once, in one of the ways of cutting the file (whole, at the sniffing
    // boundary, past the record), rotated so that every way meets every length and every filler.
    const cuts = [[], [65_536, 4000], [300_000]];
    for (const [l, long] of [MAX_RECORD_BYTES, MAX_RECORD_BYTES + 1, MAX_RECORD_BYTES + 2].entries()) {
      for (const [f, filler] of ['x', 'é', '😀'].entries()) {
        const big = filler.repeat(Math.ceil(long / Buffer.byteLength(filler)));
        const data = Buffer.from(`customerId,points,reason\n${rows}7,1,${big}\r\n8,2\n`);
        await expectSame(data, 'add', cuts[(l + f) % cuts.length]);
      }
    }
  });

  it('reads line endings split across pieces (CR in one, LF in the next) as one record end', async () => {
    const rows = Array.from({ length: 9000 }, (_, i) => `${i + 1};5\r\n`).join('');
    const data = Buffer.from(`customerId;points\r\n${rows}\r\r\n\n1;2\r3;4`);
    for (let size = 1; size <= 12; size++) await expectSame(data, 'add', [65_536 + size, size]);
  });
});
