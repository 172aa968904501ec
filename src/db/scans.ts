import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import PQueue from 'p-queue';
import { TooManyScansError } from '../domain/errors.js';
import type { DB } from './schema.js';

/**
 * How much of the database one store's costly reads may take at once. On this 2-core target a
 * store running searches in a loop would otherwise take the CPU every other store's point reads
 * need (issue 12: store B's reads at p99 77 ms on PostgreSQL while store A searched).
 */
export interface ScanLimits {
  /** Scans of one store running at once (SCANS_PER_STORE). */
  perStore: number;
  /** Scans of one store waiting for a turn at which a new request's scans are refused (SCAN_QUEUE_PER_STORE). */
  queuePerStore: number;
  /** The longest a scan waits for its turn before it is refused. */
  waitMs: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = { perStore: 1, queuePerStore: 50, waitMs: 30_000 };

/** A store's scans now: running (holding a turn) and waiting for one. */
export interface ScanLoad {
  running: number;
  waiting: number;
}

/**
 * The handles the costly reads go through: lists, searches, filters, previews (dry runs), exports
 * and reports. This is the one place that says what a scan is, for both dialects: a route that
 * reads through `of(storeId)` is a scan; lookups by key read through `Database.db` or `Database.read`.
 */
export interface Scans {
  /**
   * A read handle for one store's scans, asked for when a request starts: each query waits for
   * one of the store's turns (FIFO), so a store never has more than `perStore` scans in the
   * database, and another store's scans never wait behind them. No transactions.
   *
   * It can throw: TooManyScansError, at once when `queuePerStore` of the store's scans already
   * wait (so a refusal comes before an answer has begun, never in the middle of an export), and
   * from a query whose turn did not come within `waitMs`.
   */
  of(storeId: number): Kysely<DB>;
  load(storeId: number): ScanLoad;
  /** Closes the underlying connections (the PostgreSQL scan pool); not the shared reader threads. */
  close(): Promise<void>;
}

/**
 * Scans over `dialect`'s driver, `limits.perStore` at a time per store.
 * `ownsDriver`: close() destroys the driver (false when another handle shares it).
 */
export function createScans(dialect: Dialect, driver: SharedDriver, limits: ScanLimits, ownsDriver: boolean): Scans {
  const turns = new StoreTurns(limits);
  return {
    of: (storeId) => {
      if (turns.load(storeId).waiting >= limits.queuePerStore) throw new TooManyScansError(1);
      return handleOver(dialect, turnTakingDriver(driver, () => turns.take(storeId)));
    },
    load: (storeId) => turns.load(storeId),
    close: async () => {
      if (ownsDriver) await driver.destroy();
    },
  };
}

/** One FIFO queue per store with work in flight (dropped when it goes idle). */
class StoreTurns {
  readonly #queues = new Map<number, PQueue>();

  constructor(readonly limits: ScanLimits) {}

  load(storeId: number): ScanLoad {
    const queue = this.#queues.get(storeId);
    return { running: queue?.pending ?? 0, waiting: queue?.size ?? 0 };
  }

  /** Waits for one of the store's turns; resolves with the function that ends it (call it once). */
  take(storeId: number): Promise<() => void> {
    const queue = this.#queueOf(storeId);
    // The timer only ever aborts a waiting turn: p-queue also races a running task with its
    // signal and would free the turn while the query still runs.
    const waiting = new AbortController();
    const timer = setTimeout(() => waiting.abort(new TooManyScansError(Math.ceil(this.limits.waitMs / 1000))), this.limits.waitMs);
    return new Promise((resolve, reject) => {
      queue
        .add(
          () => {
            clearTimeout(timer);
            return new Promise<void>((end) => resolve(() => end()));
          },
          { signal: waiting.signal },
        )
        .catch(reject);
    });
  }

  #queueOf(storeId: number): PQueue {
    let queue = this.#queues.get(storeId);
    if (queue === undefined) {
      const created = new PQueue({ concurrency: this.limits.perStore });
      created.on('idle', () => {
        if (this.#queues.get(storeId) === created) this.#queues.delete(storeId);
      });
      this.#queues.set(storeId, created);
      queue = created;
    }
    return queue;
  }
}

/** A driver several Kysely handles share: initialised once, destroyed by its owner only. */
export interface SharedDriver {
  ready(): Promise<void>;
  inner: Driver;
  destroy(): Promise<void>;
}

export function shareDriver(inner: Driver): SharedDriver {
  let init: Promise<void> | undefined;
  return {
    inner,
    ready: () => (init ??= inner.init()),
    destroy: async () => {
      if (init) await inner.destroy();
    },
  };
}

/** A Kysely handle over a shared driver (its destroy() leaves the driver open). */
export function handleOver(dialect: Dialect, driver: Driver): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => dialect.createAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => dialect.createIntrospector(db),
      createQueryCompiler: () => dialect.createQueryCompiler(),
    },
  });
}

/** The shared driver as a plain one: what the ungated handles use. */
export function plainDriver(shared: SharedDriver): Driver {
  const { inner } = shared;
  return {
    init: () => shared.ready(),
    acquireConnection: () => inner.acquireConnection(),
    releaseConnection: (c) => inner.releaseConnection(c),
    beginTransaction: (c, s) => inner.beginTransaction(c, s),
    commitTransaction: (c) => inner.commitTransaction(c),
    rollbackTransaction: (c) => inner.rollbackTransaction(c),
    ...(inner.savepoint ? { savepoint: inner.savepoint.bind(inner) } : {}),
    ...(inner.rollbackToSavepoint ? { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) } : {}),
    ...(inner.releaseSavepoint ? { releaseSavepoint: inner.releaseSavepoint.bind(inner) } : {}),
    destroy: async () => undefined,
  };
}

/** A connection held during one turn. */
class TurnConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    readonly end: () => void,
  ) {}

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(q);
  }

  streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(q, chunkSize);
  }
}

/**
 * Takes a turn before it takes a connection (a waiting scan holds no connection) and ends the
 * turn when the connection goes back. Kysely acquires a connection per query, so a service that
 * runs several queries (a preview, an export's keyset batches) takes a turn for each, and
 * another of the store's scans may go in between.
 */
function turnTakingDriver(shared: SharedDriver, take: () => Promise<() => void>): Driver {
  const { inner } = shared;
  const unwrap = (c: DatabaseConnection) => (c as TurnConnection).inner;
  return {
    init: () => shared.ready(),
    async acquireConnection() {
      const end = await take();
      try {
        return new TurnConnection(await inner.acquireConnection(), end);
      } catch (err) {
        end();
        throw err;
      }
    },
    async releaseConnection(c) {
      try {
        await inner.releaseConnection(unwrap(c));
      } finally {
        (c as TurnConnection).end();
      }
    },
    beginTransaction: (c, s: TransactionSettings) => inner.beginTransaction(unwrap(c), s),
    commitTransaction: (c) => inner.commitTransaction(unwrap(c)),
    rollbackTransaction: (c) => inner.rollbackTransaction(unwrap(c)),
    destroy: async () => undefined,
  };
}
