import { createHash, type Hash } from 'node:crypto';
import { CompiledQuery, type RawBuilder, sql } from 'kysely';
import type { Committer, Trx } from '../db/committer.js';
import { SQLITE_COMPILER } from '../db/compilers.js';
import { dialectOf } from '../db/dialect-of.js';
import { UploadTooLargeError } from '../domain/errors.js';
import type { ImportField } from '../domain/import/headers.js';
import type { ImportRow, ImportType, RowError } from '../domain/import/rows.js';
import { parseImport } from './import-parse.js';

/** What staging an upload found: its rows (good and bad), the file's column names, the upload's hash. */
export interface StagedUpload {
  rows: number;
  invalid: number;
  columns: Partial<Record<ImportField, string>>;
  /** sha256 of `hashPrefix` and the upload's bytes: the same upload gives the same hash. */
  hash: string;
}

/** A staged row in the compact form both dialects read from one JSON parameter. */
interface StagedJson {
  l: number;
  i: number | null;
  x: string | null;
  e: string | null;
  p: number;
  tp: number | null;
  ty: string | null;
  r: string | null;
  m: string | null;
  ref: string | null;
  at: number | null;
  la: number | null;
  fn: string | null;
  ln: string | null;
  av: number | null;
  ex: number | null;
  err: string | null;
}

const STAGED_COLUMNS: [keyof StagedJson, string, 'bigint' | 'text'][] = [
  ['l', 'line', 'bigint'],
  ['i', 'ref_id', 'bigint'],
  ['x', 'external_id', 'text'],
  ['e', 'email', 'text'],
  ['p', 'points', 'bigint'],
  ['tp', 'tier_points', 'bigint'],
  ['ty', 'type', 'text'],
  ['r', 'reason', 'text'],
  ['m', 'customer_message', 'text'],
  ['ref', 'reference', 'text'],
  ['at', 'at', 'bigint'],
  ['la', 'last_activity_at', 'bigint'],
  ['fn', 'first_name', 'text'],
  ['ln', 'last_name', 'text'],
  ['av', 'available_at', 'bigint'],
  ['ex', 'expires_at', 'bigint'],
  ['err', 'error', 'text'],
];

/** Bytes through, counted against the cap and hashed on the way. It can throw: UploadTooLargeError. */
async function* metered(source: AsyncIterable<Uint8Array | string>, maxBytes: number, hash: Hash, read: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    read.bytes += buf.length;
    if (read.bytes > maxBytes) throw new UploadTooLargeError(maxBytes);
    hash.update(buf);
    yield buf;
  }
}

/** PostgreSQL cannot store NUL in text; a row holding one is refused as a row error. */
const nul = (v: string | null) => v !== null && v.includes('\u0000');
const hasNul = (row: ImportRow) =>
  nul(row.externalId) || nul(row.email) || nul(row.reason) || nul(row.customerMessage) || nul(row.reference) || nul(row.firstName) || nul(row.lastName);
const clean = (text: string) => text.replaceAll('\u0000', '');

/**
 * Reads an upload as it arrives and stages its rows in import_rows under `jobId`, a batch of up to
 * 1,000 per short transaction (never the file in memory, never a long write lock); rows the
 * parser refused are staged as invalid with their errors in job_errors. Each row is staged with
 * the customer it names, if the store has them (by id, else external id, else e-mail, as the
 * job's resolve step finds them: that step then has only the rows of members still to create, or
 * created since). Nothing reaches the ledger here: the job applies the staged rows once the
 * upload is complete.
 *
 * Needs: the committer (each batch its own transaction). It can throw: ImportFileError,
 * UploadTooLargeError, and whatever the source throws (a connection that broke off).
 */
export async function stageUpload(
  committer: Committer,
  job: { id: number; storeId: number },
  source: AsyncIterable<Uint8Array | string>,
  type: ImportType,
  opts: { maxBytes: number; hashPrefix: string },
): Promise<StagedUpload> {
  const hash = createHash('sha256').update(opts.hashPrefix).update('\n');
  const staged: StagedUpload = { rows: 0, invalid: 0, columns: {}, hash: '' };
  // PostgreSQL: several of the parser's batches per write, up to PG_WRITE_ROWS rows or
  // PG_WRITE_BYTES of the file (rows of long texts: memory stays bounded). Each write is four round
  // trips (begin, its setting, the insert, commit), and each waits for the event loop, busy parsing
  // the next batch: at a batch per write, staging 1,000,000 rows took the parsing's time plus the
  // writes', not the longer of the two. SQLite: a batch per write, the write lock held briefly.
  const batchPerWrite = committer.dialect !== 'postgres';
  const read = { bytes: 0 };
  let flushedAt = 0;
  let rows: StagedJson[] = [];
  let errors: RowError[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async () => {
    const [written, reported] = [rows, errors];
    [rows, errors, flushedAt] = [[], [], read.bytes];
    // One write in flight while the next batches are parsed: the database writes it meanwhile.
    await inFlight;
    // Not durable: nothing reads staged rows before the commit that completes the upload, which is.
    if (written.length > 0) inFlight = committer.run((trx) => insertBatch(trx, job, written, reported), { durable: false });
    // A failed write is reported once the next batch is parsed; until then it is already settled.
    inFlight.catch(() => undefined);
  };
  try {
    for await (const batch of parseImport(metered(source, opts.maxBytes, hash, read), type)) {
      staged.columns = batch.columns;
      const firstError = errors.length;
      for (const e of batch.errors) errors.push({ ...e, message: clean(e.message), column: e.column && clean(e.column) });
      const before = rows.length;
      for (const row of batch.rows) {
        if (hasNul(row)) {
          errors.push({ line: row.line, column: null, code: 'invalid_value', message: 'The row contains a NUL character' });
          continue;
        }
        rows.push(toJson(row));
      }
      const bad = new Map<number, string>();
      for (let i = firstError; i < errors.length; i++) if (!bad.has(errors[i].line)) bad.set(errors[i].line, errors[i].code);
      for (const [line, code] of bad) rows.push({ ...EMPTY, l: line, err: code });
      staged.rows += rows.length - before;
      staged.invalid += bad.size;
      if (batchPerWrite || rows.length >= PG_WRITE_ROWS || read.bytes - flushedAt >= PG_WRITE_BYTES) await flush();
    }
    await flush();
  } finally {
    // Never left running: a failed upload is discarded after this returns, and must find every row it staged.
    await inFlight.catch(() => undefined);
  }
  await inFlight;
  staged.hash = hash.digest('hex');
  return staged;
}

const EMPTY: StagedJson = { l: 0, i: null, x: null, e: null, p: 0, tp: null, ty: null, r: null, m: null, ref: null, at: null, la: null, fn: null, ln: null, av: null, ex: null, err: null };

function toJson(r: ImportRow): StagedJson {
  return {
    l: r.line,
    i: r.customerId,
    x: r.externalId,
    e: r.email,
    p: r.points,
    tp: r.tierPoints,
    ty: r.type,
    r: r.reason,
    m: r.customerMessage,
    ref: r.reference,
    at: r.createdAt,
    la: r.lastActivityAt,
    fn: r.firstName,
    ln: r.lastName,
    av: r.availableAt,
    ex: r.expiresAt,
    err: null,
  };
}

/** PostgreSQL: staged rows per write (one JSON parameter, a few hundred KB for an `add` file), and the bytes of the file that end a write sooner. */
const PG_WRITE_ROWS = 5000;
const PG_WRITE_BYTES = 2 * 1024 * 1024;

/** SQLite: rows per multi-row INSERT (each row binds at most 19 values; well under SQLite's 32,766). */
const SQLITE_VALUES_ROWS = 500;
const SQLITE_INSERTS_MAX = 64;
/** SQLite's multi-row INSERT of n staged rows binding the columns of a mask, by `mask:n` (bounded). */
const sqliteInserts = new Map<string, string>();

/** Which staged columns any of the rows has a value for (bit i: STAGED_COLUMNS[i]). */
function usedColumns(rows: readonly StagedJson[]): number {
  let mask = 0;
  for (const row of rows) {
    for (let i = 0; i < STAGED_COLUMNS.length; i++) if (row[STAGED_COLUMNS[i][0]] !== null) mask |= 1 << i;
  }
  return mask;
}

function sqliteInsert(mask: number, n: number): string {
  const key = `${mask}:${n}`;
  let text = sqliteInserts.get(key);
  if (text === undefined) {
    const used = STAGED_COLUMNS.filter((_, i) => mask & (1 << i));
    // VALUES names its columns column1, column2…: job_id, store_id, then the bound columns in order.
    const v = (k: keyof StagedJson) => {
      const at = used.findIndex(([key]) => key === k);
      return sql.raw(at < 0 ? 'NULL' : `v.column${at + 3}`);
    };
    const customer = customerOf(v('i'), v('x'), v('e'), v('err'), sql.raw('v.column2')).compile(SQLITE_COMPILER).sql;
    const one = `(?, ?${', ?'.repeat(used.length)})`;
    text = `INSERT INTO import_rows (job_id, store_id${used.map(([, c]) => `, ${c}`).join('')}, customer_id)
      SELECT v.*, ${customer} FROM (VALUES ${Array(n).fill(one).join(', ')}) v`;
    if (sqliteInserts.size >= SQLITE_INSERTS_MAX) sqliteInserts.clear();
    sqliteInserts.set(key, text);
  }
  return text;
}

/**
 * The store's customer a staged row names, by id, else external id, else e-mail (null: none, or
 * the row is refused already) — one index lookup each.
 */
function customerOf(id: RawBuilder<unknown>, externalId: RawBuilder<unknown>, email: RawBuilder<unknown>, error: RawBuilder<unknown>, storeId: number | RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`CASE WHEN ${error} IS NULL THEN coalesce(
      (SELECT c.id FROM customers c WHERE c.store_id = ${storeId} AND c.id = ${id}),
      (SELECT c.id FROM customers c WHERE c.store_id = ${storeId} AND c.external_id = ${externalId}),
      (SELECT c.id FROM customers c WHERE c.store_id = ${storeId} AND c.email = ${email})) END`;
}

/**
 * SQLite: the rows as multi-row INSERTs binding only the columns some row of the piece has a
 * value for (an omitted column is NULL, as a bound null is; an `add` file binds 5 values a row,
 * not 19, and binding was most of the statement's cost).
 */
async function insertSqlite(trx: Trx, job: { id: number; storeId: number }, rows: StagedJson[]): Promise<void> {
  for (let at = 0; at < rows.length; at += SQLITE_VALUES_ROWS) {
    const piece = rows.slice(at, at + SQLITE_VALUES_ROWS);
    const mask = usedColumns(piece);
    const keys = STAGED_COLUMNS.filter((_, i) => mask & (1 << i)).map(([k]) => k);
    const params: unknown[] = [];
    for (const row of piece) {
      params.push(job.id, job.storeId);
      for (let k = 0; k < keys.length; k++) params.push(row[keys[k]]);
    }
    await trx.executeQuery(CompiledQuery.raw(sqliteInsert(mask, piece.length), params));
  }
}

/**
 * A staged row without its null fields: json_to_recordset reads a missing key as NULL, and an
 * `add` row is then 3 keys of JSON, not 17 (a quarter of the bytes). Staging 1,000,000 `add`
 * rows on PostgreSQL took 16.1 s of its CPU against 17.5 s (one probe each, issue 13): most of it
 * is the insert and its indexes, not the JSON.
 */
function withoutNulls(row: StagedJson): Partial<StagedJson> {
  const out: Record<string, unknown> = {};
  for (const [key] of STAGED_COLUMNS) if (row[key] !== null) out[key] = row[key];
  return out;
}

/**
 * The batch's rows: PostgreSQL, one INSERT … SELECT from a single JSON parameter
 * (json_to_recordset); SQLite, multi-row INSERTs of bound values (json_each and its seventeen
 * `->>` per row cost three times as much, on the event loop of the serving thread).
 */
async function insertBatch(trx: Trx, job: { id: number; storeId: number }, rows: StagedJson[], errors: RowError[]): Promise<void> {
  if (dialectOf(trx) === 'postgres') {
    const names = sql.raw(STAGED_COLUMNS.map(([, column]) => column).join(', '));
    const from = sql`json_to_recordset(${JSON.stringify(rows.map(withoutNulls))}::json) AS x(${sql.raw(STAGED_COLUMNS.map(([k, , t]) => `${k} ${t}`).join(', '))})`;
    await sql`INSERT INTO import_rows (job_id, store_id, ${names}, customer_id)
      SELECT ${job.id}, ${job.storeId}, ${sql.raw(STAGED_COLUMNS.map(([k]) => `x.${k}`).join(', '))},
             ${customerOf(sql.raw('x.i'), sql.raw('x.x'), sql.raw('x.e'), sql.raw('x.err'), job.storeId)} FROM ${from}`.execute(trx);
  } else {
    await insertSqlite(trx, job, rows);
  }
  const now = Date.now();
  // A thousand errors per INSERT: 8,000 bound values, within both databases' limits.
  for (let at = 0; at < errors.length; at += 1000) {
    await trx
      .insertInto('job_errors')
      .values(errors.slice(at, at + 1000).map((e) => ({ job_id: job.id, store_id: job.storeId, customer_id: null, line: e.line, column_name: e.column, code: e.code, message: e.message, created_at: now })))
      .execute();
  }
}
