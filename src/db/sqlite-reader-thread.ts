import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { READER_CACHE_KIB } from './sqlite-cache.js';

/**
 * A read-only connection to the SQLite file, on a thread of its own: the server's reads run here,
 * beside the writer (WAL lets readers and the writer run at once), so a costly query of one store
 * never holds up another store's requests on the event loop.
 */
const { file } = workerData as { file: string };
const db = new SQLite(file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma(`cache_size = -${READER_CACHE_KIB}`);

const STATEMENTS_MAX = 500;
const statements = new Map<string, SQLite.Statement>();

function statement(text: string): SQLite.Statement {
  let stmt = statements.get(text);
  if (!stmt) {
    stmt = db.prepare(text);
    if (statements.size >= STATEMENTS_MAX) statements.delete(statements.keys().next().value as string);
    statements.set(text, stmt);
  }
  return stmt;
}

export interface ReadRequest {
  id: number;
  sql: string;
  params: unknown[];
  /** A FormattedQuery's formatter (row-text.ts): answer with its text of the rows. */
  formatter?: { module: string; name: string };
}

type Format = (rows: unknown[]) => string;
// The callers' formatter modules, loaded at their first use (this thread imports none of them itself).
const formatters = new Map<string, Promise<Format>>();

function formatterOf(ref: { module: string; name: string }): Promise<Format> {
  const key = `${ref.module}#${ref.name}`;
  let format = formatters.get(key);
  if (!format) {
    format = import(ref.module).then((m: Record<string, { name?: string; format?: Format } | undefined>) => {
      const f = m[ref.name];
      if (f?.name !== ref.name || typeof f.format !== 'function') throw new Error(`${key} is not a row formatter`);
      return f.format;
    });
    // A module that failed to load is tried again at the next query, not failed forever.
    format.catch(() => formatters.delete(key));
    formatters.set(key, format);
  }
  return format;
}

function read(m: ReadRequest, format?: Format): void {
  try {
    const stmt = statement(m.sql);
    if (!stmt.reader) throw Object.assign(new Error('a read handle cannot write'), { code: 'SQLITE_READONLY' });
    // A formatter takes the rows as arrays (row-text.ts); the statement is shared with plain reads.
    const rows = stmt.raw(format !== undefined).all(...m.params);
    if (!format) parentPort?.postMessage({ id: m.id, rows });
    else parentPort?.postMessage({ id: m.id, batch: { text: format(rows), rows: rows.length, last: rows.at(-1) } });
  } catch (err) {
    fail(m, err);
  }
}

function fail(m: ReadRequest, err: unknown): void {
  const e = err as { message?: string; code?: string };
  parentPort?.postMessage({ id: m.id, error: { message: e.message ?? String(err), code: e.code } });
}

parentPort?.on('message', (m: ReadRequest | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  if (!m.formatter) read(m);
  else formatterOf(m.formatter).then((format) => read(m, format), (err: unknown) => fail(m, err));
});
