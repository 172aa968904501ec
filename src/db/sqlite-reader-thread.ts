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
}

parentPort?.on('message', (m: ReadRequest | 'close') => {
  if (m === 'close') {
    db.close();
    parentPort?.close();
    return;
  }
  try {
    const stmt = statement(m.sql);
    if (!stmt.reader) throw Object.assign(new Error('a read handle cannot write'), { code: 'SQLITE_READONLY' });
    parentPort?.postMessage({ id: m.id, rows: stmt.all(...m.params) });
  } catch (err) {
    const e = err as { message?: string; code?: string };
    parentPort?.postMessage({ id: m.id, error: { message: e.message ?? String(err), code: e.code } });
  }
});
