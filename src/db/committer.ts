import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './database.js';
import type { DB } from './schema.js';

declare const inTransaction: unique symbol;

/**
 * A database handle inside a transaction. Only a Committer produces one, so a service that reads
 * under a lock (FOR UPDATE, or SQLite's write lock) and writes what it read cannot be handed a
 * pool handle by mistake: on PostgreSQL that would silently drop the lock between statements.
 * It is still a Kysely handle, so it can be passed wherever a plain read handle is taken.
 */
export type Trx = Kysely<DB> & { readonly [inTransaction]: true };
export type Work<T> = (trx: Trx) => Promise<T>;

export interface RunOptions {
  /**
   * false: the unit's commit need not reach the disk before it is acknowledged; the next durable
   * commit takes it there (a write-ahead log is synced in order). For scratch rows nothing reads
   * until a durable commit makes them count: an upload's staged rows, a batch per commit, before
   * the commit that completes the upload. A crash of the machine (not of the process) can lose
   * such a commit, never a durable one after it. Default true.
   */
  durable?: boolean;
}

/**
 * Runs units of work in transactions. Each unit is atomic: it is applied whole or not at all.
 */
export interface Committer {
  readonly dialect: Database['dialect'];
  run<T>(work: Work<T>, opts?: RunOptions): Promise<T>;
}

const MAX_BATCH = 256;

interface Pending {
  work: Work<unknown>;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * SQLite group commit: units of work that arrive while a commit is under way are run together
 * in one `BEGIN IMMEDIATE` transaction, each inside its own savepoint (a failing unit rolls back
 * alone), and acknowledged after the one shared fsync. With synchronous=FULL a commit costs an
 * fsync; sharing it is what lets durable single adjustments reach thousands per second.
 */
class SqliteGroupCommitter implements Committer {
  readonly dialect = 'sqlite';
  #queue: Pending[] = [];
  #scheduled = false;
  #running = false;

  constructor(
    private readonly db: Kysely<DB>,
    /** Set on the serving thread: never wait synchronously for the lock (see #runWithoutBlocking). */
    private readonly gate: Int32Array | undefined,
  ) {}

  run<T>(work: Work<T>, opts: RunOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, durable: opts.durable !== false, resolve: resolve as (v: unknown) => void, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#running = true;
    const batch = this.#queue.splice(0, MAX_BATCH);
    // A group of units none of which needs its commit on disk commits without an fsync.
    const durable = batch.some((item) => item.durable);
    try {
      await (this.gate ? this.#runWithoutBlocking(batch, durable, this.gate) : this.#runOn(batch, durable, (conn) => conn.executeQuery(BEGIN)));
    } catch (err) {
      for (const item of batch) item.reject(err);
    } finally {
      this.#running = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  /**
   * The batch in one transaction on the connection, begun by `begin`; false (nothing run) if
   * `begin` found the lock taken. The connection is held only while it runs: requests' reads by
   * key use it too.
   */
  #runOn(batch: Pending[], durable: boolean, begin: (conn: Kysely<DB>) => Promise<unknown>): Promise<boolean> {
    return this.db.connection().execute(async (conn) => {
      if (!durable) await conn.executeQuery(NO_SYNC);
      try {
        if ((await begin(conn)) === BUSY) return false;
        await runBatch(conn, batch);
        return true;
      } finally {
        if (!durable) await conn.executeQuery(SYNC);
      }
    });
  }

  /**
   * Takes SQLite's write lock without ever blocking the event loop: better-sqlite3 would wait for
   * a lock held by the job thread synchronously (busy_timeout), freezing every request. Instead
   * the attempt fails at once (busy_timeout 0) and is retried a millisecond later, with the gate
   * raised so the job thread, which checks it after each chunk, lets this writer in before its
   * next chunk. Between attempts the connection is free: a read by key waited behind a write
   * waiting for the lock before (store B's p99 reads 72 ms while an upload was staged beside the
   * sweep of an earlier import's rows, issue 13).
   */
  async #runWithoutBlocking(batch: Pending[], durable: boolean, gate: Int32Array): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    let raised = false;
    try {
      for (let delay = 1; ; delay = Math.min(delay * 2, 8)) {
        const ran = await this.#runOn(batch, durable, async (conn) => {
          await conn.executeQuery(NO_WAIT);
          try {
            return await conn.executeQuery(BEGIN);
          } catch (err) {
            if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
            return BUSY;
          } finally {
            await conn.executeQuery(WAIT);
          }
        });
        if (ran) return;
        if (!raised) {
          Atomics.add(gate, 0, 1);
          raised = true;
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    } finally {
      if (raised) {
        Atomics.sub(gate, 0, 1);
        Atomics.notify(gate, 0);
      }
    }
  }
}

/** What a begin answers when the write lock is taken (see #runWithoutBlocking). */
const BUSY = Symbol('busy');

/** Transaction control, compiled once: these run several times per unit of work. */
const BEGIN = CompiledQuery.raw('begin immediate');
const SAVEPOINT = CompiledQuery.raw('savepoint unit');
const RELEASE = CompiledQuery.raw('release unit');
const ROLLBACK_TO = CompiledQuery.raw('rollback to unit');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
/**
 * A commit without an fsync (WAL: the log is synced by the next commit with one, or a
 * checkpoint), and back to the connection's own setting (openSqlite: FULL). At 1,000,000 staged
 * rows, a thousand commits: their fsyncs were a third of the upload's time on a busy machine.
 */
const NO_SYNC = CompiledQuery.raw('pragma synchronous = NORMAL');
const SYNC = CompiledQuery.raw('pragma synchronous = FULL');

const NO_WAIT = CompiledQuery.raw('pragma busy_timeout = 0');
/** The connection's usual busy timeout, restored once the lock is held (for statements outside the committer). */
const WAIT = CompiledQuery.raw('pragma busy_timeout = 10000');
/** How long a write waits for the write lock (held by the job thread or another process) before it fails. */
const LOCK_WAIT_MS = 15_000;

async function runBatch(conn: Kysely<DB>, batch: Pending[]): Promise<void> {
  const done: [Pending, unknown][] = [];
  const refused = new Set<Pending>();
  try {
    for (const item of batch) {
      await conn.executeQuery(SAVEPOINT);
      try {
        const value = await item.work(conn as Trx);
        await conn.executeQuery(RELEASE);
        done.push([item, value]);
      } catch (err) {
        await conn.executeQuery(ROLLBACK_TO);
        await conn.executeQuery(RELEASE);
        refused.add(item);
        item.reject(err);
      }
    }
    await conn.executeQuery(COMMIT);
  } catch (err) {
    // The transaction itself failed (commit, or savepoint handling): nothing of it was applied,
    // so every unit not already refused fails with it.
    await conn.executeQuery(ROLLBACK).catch(() => undefined);
    for (const item of batch) if (!refused.has(item)) item.reject(err);
    return;
  }
  for (const [item, value] of done) item.resolve(value);
}

/**
 * PostgreSQL: one transaction per unit; the server's own commit path batches WAL flushes. A unit
 * that need not be durable commits without waiting for its WAL flush (synchronous_commit off).
 */
class PostgresCommitter implements Committer {
  readonly dialect = 'postgres';
  constructor(private readonly db: Kysely<DB>) {}
  run<T>(work: Work<T>, opts: RunOptions = {}): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      if (opts.durable === false) await trx.executeQuery(ASYNC_COMMIT);
      return work(trx as unknown as Trx);
    });
  }
}

const ASYNC_COMMIT = CompiledQuery.raw('SET LOCAL synchronous_commit = off');

/**
 * The committer of a database handle. SQLite: on a thread that serves requests (the default) writes
 * never wait synchronously for the write lock; a thread whose waiting blocks nobody (the job
 * worker's) passes `{ mayBlock: true }` and waits on SQLite's busy timeout instead.
 */
export function createCommitter(database: Database, opts: { mayBlock?: boolean } = {}): Committer {
  if (database.dialect === 'postgres') return new PostgresCommitter(database.db);
  return new SqliteGroupCommitter(database.db, opts.mayBlock ? undefined : (database.writeGate ?? new Int32Array(new SharedArrayBuffer(4))));
}
