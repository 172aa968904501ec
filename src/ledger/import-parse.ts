import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { ImportFileError } from '../domain/errors.js';
import { type ColumnMap, type ImportField, mapHeaders } from '../domain/import/headers.js';
import { checkRecord, type ImportRow, type ImportType, missingColumns, type RowError } from '../domain/import/rows.js';
import { SNIFF_BYTES, sniff } from '../domain/import/sniff.js';

/** Bounds that keep a hostile file from costing unbounded memory or time. */
export const MAX_COLUMNS = 1000;
export const MAX_RECORD_BYTES = 256 * 1024;
const BATCH_ROWS = 2000;

/** A batch of checked records, in file order. */
export interface ParsedBatch {
  rows: ImportRow[];
  errors: RowError[];
  /** The last line number read so far (header = 1). */
  line: number;
  /** The file's own header for each field it has (error messages name the column as the file does). */
  columns: Partial<Record<ImportField, string>>;
}

/**
 * Reads an import upload as it arrives and yields checked records in batches of up to 2,000, in
 * bounded memory: the encoding and delimiter are sniffed from the first 64 KB, csv-parse streams
 * the rest. `line` is the spreadsheet row (the header is line 1; a quoted field holding newlines
 * stays one row; a blank line is still a row, and is skipped).
 *
 * @example for await (const batch of parseImport(req.raw, 'add')) await stage(trx, jobId, batch);
 * It can throw: ImportFileError (encoding, binary content, broken quoting, a record over 256 KB,
 * over 1,000 columns, a header missing a needed column), and whatever the source stream throws.
 */
export async function* parseImport(source: AsyncIterable<Uint8Array | string>, type: ImportType): AsyncGenerator<ParsedBatch> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < SNIFF_BYTES) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
    head.push(chunk);
    size += chunk.length;
  }
  const first = Buffer.concat(head);
  if (first.length === 0 || first.toString('utf8').trim() === '') throw new ImportFileError('The file is empty; it needs a header row and at least one record');
  const kind = sniff(first.subarray(0, SNIFF_BYTES), ended && first.length <= SNIFF_BYTES);
  if (!kind.ok) throw new ImportFileError(kind.message);

  async function* all(): AsyncGenerator<Buffer> {
    yield first;
    if (ended) return;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
    }
  }
  const parser = parse({
    bom: true,
    delimiter: kind.delimiter,
    // Files edited on several systems mix line endings; every one of them ends a record.
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_BYTES,
  });
  // The pipeline's failure (a source that breaks off) reaches us through the parser's iterator.
  const flowing = pipeline(Readable.from(all()), parser).catch(() => undefined);
  try {
    // One moment for the whole upload: whether a row's availableAt is still to come is decided once.
    yield* records(parser, type, Date.now());
  } catch (err) {
    if (err instanceof CsvError) {
      const e = err as CsvError & { lines?: number };
      throw new ImportFileError(`The file is not valid CSV: ${e.message}`, e.lines);
    }
    throw err;
  } finally {
    parser.destroy();
    await flowing;
  }
}

async function* records(parser: AsyncIterable<string[]>, type: ImportType, now: number): AsyncGenerator<ParsedBatch> {
  let line = 0;
  let map: ColumnMap | undefined;
  let columns: ParsedBatch['columns'] = {};
  let batch: ParsedBatch = { rows: [], errors: [], line: 0, columns };
  for await (const record of parser) {
    line++;
    if (record.length > MAX_COLUMNS) throw new ImportFileError(`Line ${line} has ${record.length} columns; at most ${MAX_COLUMNS} are read`, line);
    if (map === undefined) {
      map = mapHeaders(record);
      const missing = missingColumns(type, map);
      if (missing.length > 0) {
        throw new ImportFileError(`The header row (line 1) has no ${missing.join(', no ')} column for a ${type} import`, 1);
      }
      columns = Object.fromEntries(Object.entries(map).map(([field, at]) => [field, at.header]));
      batch.columns = columns;
      continue;
    }
    if (record.every((v) => v.trim() === '')) continue;
    const checked = checkRecord(type, map, record, line, now);
    if (checked.ok) batch.rows.push(checked.row);
    else batch.errors.push(...checked.errors);
    if (batch.rows.length + batch.errors.length >= BATCH_ROWS) {
      yield { ...batch, line };
      batch = { rows: [], errors: [], line, columns };
    }
  }
  if (map === undefined) throw new ImportFileError('The file is empty; it needs a header row and at least one record');
  yield { ...batch, line };
}
