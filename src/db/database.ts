import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type SqliteDatabase, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Dialect } from './migrations/helpers.js';
import { migrations } from './migrations/index.js';
import { PREPARED_SQL } from './prepared.js';
import { createScans, DEFAULT_SCAN_LIMITS, handleOver, plainDriver, type ScanLimits, type Scans, shareDriver } from './scans.js';
import { WRITER_CACHE_KIB } from './sqlite-cache.js';
import { sqliteReaderDialect } from './sqlite-readers.js';
import type { DB } from './schema.js';

export type { Dialect };

export interface Database {
  /** The handle writes (through a Committer) and migrations use. */
  db: Kysely<DB>;
  /**
   * The handle requests read through. SQLite: a pool of reader threads with connections of their
   * own, so no read blocks the event loop (better-sqlite3 is synchronous); PostgreSQL: the pool.
   * For lookups by key; costly reads go through `scans`.
   */
  read: Kysely<DB>;
  /**
   * The costly reads (lists, searches, filters, previews, exports, reports), a few per store at
   * a time (see scans.ts). SQLite: on the reader threads; PostgreSQL: a pool of their own, so a
   * point query never waits for a connection behind them.
   */
  scans: Scans;
  dialect: Dialect;
  /**
   * SQLite: shared between this process's threads. The committer raises it while a write waits
   * for the lock; the job thread lets such writers in between chunks (see committer.ts).
   */
  writeGate?: Int32Array;
  /** Where it lives, without credentials (for logs). */
  location: string;
  close(): Promise<void>;
}

export const DEFAULT_DATABASE_URL = 'sqlite:./data/tally.db';

/** SQLite reader threads per process: one per core of this 2-core target, and one to spare for a slow query. */
const READER_THREADS = 3;

// int8 (ids, points, epoch-ms times) as JS numbers: every value we store is within 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/**
 * Opens the database named by a URL: `sqlite:PATH` (`sqlite::memory:` for a throw-away one)
 * or `postgres://user@host:port/db`.
 */
export interface OpenOptions {
  poolSize?: number;
  /** PostgreSQL: the longest a statement may run, and a session may sit idle in a transaction. */
  statementTimeoutMs?: number;
  idleInTransactionTimeoutMs?: number;
  /** Scans per store at once, their queue and their wait (see scans.ts). */
  scanLimits?: Partial<ScanLimits>;
  /** PostgreSQL: connections of the scan pool. */
  scanPoolSize?: number;
  /** SQLite: reader threads of this process. */
  readerThreads?: number;
  /** SQLite: the write gate shared with the process's other threads (see committer.ts). */
  writeGate?: Int32Array;
  /** SQLite: the page cache of the writing connection, in KiB (default WRITER_CACHE_KIB). */
  cacheKib?: number;
}

export function openDatabase(url = DEFAULT_DATABASE_URL, opts: OpenOptions = {}): Database {
  const scanLimits = { ...DEFAULT_SCAN_LIMITS, ...opts.scanLimits };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = pgPool(url, opts, { max: opts.poolSize ?? 20 });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    // A scan runs in its session's process alone: with PostgreSQL's parallel workers one count over
    // a million customers took three processes, every core of this 2-core target, and the
    // per-store turns (scans.ts) would bound nothing.
    // Scans of more stores than connections wait for one in pg's queue (first come, first served)
    // as long as for their store's turn: a full pool is a busy database, not an unreachable one.
    const scanPool = pgPool(url, opts, {
      max: opts.scanPoolSize ?? DEFAULT_SCAN_POOL_SIZE,
      application_name: 'tally scans',
      options: '-c max_parallel_workers_per_gather=0',
      connectionTimeoutMillis: scanLimits.waitMs,
    });
    const scanDialect = new PostgresDialect({ pool: scanPool });
    const scans = createScans(scanDialect, shareDriver(scanDialect.createDriver()), scanLimits, true);
    const location = url.replace(/\/\/[^@/]*@/, '//');
    const close = async () => {
      await scans.close();
      await db.destroy();
    };
    return { db, read: db, scans, dialect: 'postgres', location, close };
  }
  if (!url.startsWith('sqlite:')) throw new Error('DATABASE_URL must start with sqlite: or postgres://');
  const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  const sqlite = openSqlite(file, opts.cacheKib);
  const writer = new SqliteDialect({ database: withStatementCache(sqlite) });
  if (file === ':memory:' || file === '') {
    // One connection: the scans take turns on it with everything else.
    const shared = shareDriver(writer.createDriver());
    const db = handleOver(writer, plainDriver(shared));
    const scans = createScans(writer, shared, scanLimits, false);
    return { db, read: db, scans, dialect: 'sqlite', location: file, close: () => shared.destroy() };
  }
  const db = new Kysely<DB>({ dialect: writer });
  const readers = sqliteReaderDialect(file, opts.readerThreads ?? READER_THREADS);
  const readerDriver = shareDriver(readers.createDriver());
  const read = handleOver(readers, plainDriver(readerDriver));
  const scans = createScans(readers, readerDriver, scanLimits, false);
  const close = async () => {
    await readerDriver.destroy();
    await db.destroy();
  };
  const writeGate = opts.writeGate ?? new Int32Array(new SharedArrayBuffer(4));
  return { db, read, scans, dialect: 'sqlite', location: file, close, writeGate };
}

/** Connections of the PostgreSQL scan pool: the scans of two stores per core of this 2-core target. */
const DEFAULT_SCAN_POOL_SIZE = 4;

function pgPool(url: string, opts: OpenOptions, extra: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    // A dead peer (a failover, a cut network) is noticed by TCP keep-alive, and a hung or
    // stopped worker cannot hold its job's row lock (the lease) past these timeouts: the server
    // ends its transaction and another worker takes the job over.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: opts.statementTimeoutMs ?? 60_000,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 60_000,
    ...extra,
  });
  pool.on('connect', (client) => {
    namePreparedStatements(client);
    // A connection that dies while checked out (the server restarts, a session is terminated)
    // fails the query using it; without a listener pg would also raise an uncaught 'error'
    // event and stop the process, every instance at once.
    client.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`));
  });
  // The same for idle connections in the pool.
  pool.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`));
  return pool;
}

/**
 * Sends the hot-path queries (see prepared()) as named statements: PostgreSQL parses and plans
 * each once per connection instead of on every adjustment.
 */
function namePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const names = new Map<string, string>();
  (client as { query: unknown }).query = (text: unknown, values?: unknown, ...rest: unknown[]) => {
    if (typeof text === 'string' && PREPARED_SQL.has(text)) {
      let name = names.get(text);
      if (name === undefined) {
        name = `tally_${names.size}`;
        names.set(text, name);
      }
      return query({ name, text, values }, ...rest);
    }
    return query(text, values, ...rest);
  };
}

/**
 * One better-sqlite3 connection with Tally's settings: WAL so readers never block the writer,
 * synchronous=FULL so an acknowledged write survives a power cut.
 */
export function openSqlite(file: string, cacheKib = WRITER_CACHE_KIB): SQLite.Database {
  if (file !== ':memory:' && file !== '') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  enableWal(sqlite);
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`cache_size = -${cacheKib}`);
  // A sort or a temporary table larger than the page cache spills to a temporary file (the OS's
  // file cache), not to the heap: in memory, the sorts of a 1,000,000-row import's validation
  // had kept 70 MB more per statement (issue 13: the server's peak RSS ≤ 300 MB).
  sqlite.pragma('temp_store = FILE');
  return sqlite;
}

/**
 * Processes that open a new database at once all switch it to WAL; SQLite can refuse a loser of
 * that race with SQLITE_BUSY at once, without waiting on the busy timeout. By the retry the file
 * is in WAL mode and the pragma changes nothing.
 */
function enableWal(sqlite: SQLite.Database): void {
  for (let attempt = 1; ; attempt++) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 50) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query it runs; compiling the same SQL again each time was the largest
 * single cost of an adjustment. Prepared statements are kept by their SQL text (bounded).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        stmt = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/**
 * Applies pending migrations. Several processes may start at once: PostgreSQL serialises them
 * with the migrator's advisory lock; SQLite with its write lock (a loser of the race retries).
 */
export async function migrate(database: Database): Promise<void> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations(database.dialect) },
    // Migrations are additive and independent: one numbered below an applied one (0005 after
    // 0006, from a branch that landed later) still runs, once.
    allowUnorderedMigrations: true,
  });
  for (let attempt = 0; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    const busy = /SQLITE_BUSY|database is locked|duplicate key value|UNIQUE constraint failed|already exists|duplicate column/i.test(String(error));
    if (!busy || attempt >= 5) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
    }
    await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
  }
}

/** Opens and migrates: what every command that touches the database does first. */
export async function connect(url = DEFAULT_DATABASE_URL, opts: OpenOptions = {}): Promise<Database> {
  const database = openDatabase(url, opts);
  try {
    await migrate(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}
