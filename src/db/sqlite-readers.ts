import type { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { FormattedQuery, TextBatch } from './row-text.js';
import { siblingModule, spawnThread } from './threads.js';

/** A thread's answer to a read: its rows, or (a FormattedQuery) the rows as text. */
interface Answer {
  rows?: unknown[];
  batch?: TextBatch<unknown>;
}

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (answer: Answer) => void; reject: (err: unknown) => void }>;
}

/**
 * Read-only dialect over a pool of reader threads (sqlite-reader-thread.ts), each with its own
 * connection to the file. A query goes to the thread with the fewest queries in flight, so a slow
 * one (a search over a million customers) occupies one thread and the others keep answering.
 * No transactions: each query reads its own consistent snapshot (WAL). Its driver is meant to be
 * created once and shared (database.ts: the read handle and the scans). A FormattedQuery
 * (row-text.ts) comes back as text its thread made of the rows, not as rows.
 */
export function sqliteReaderDialect(file: string, threads: number): Dialect {
  const pool: Thread[] = [];
  let next = 1;
  let closing = false;
  // Started at the first query, once the file exists and is migrated; a thread that dies is replaced.
  const start = (thread: Thread) => {
    const worker = spawnThread(siblingModule(import.meta.url, 'sqlite-reader-thread'), { file });
    thread.worker = worker;
    worker.on('message', (m: Answer & { id: number; error?: { message: string; code?: string } }) => {
      const p = thread.pending.get(m.id);
      if (!p) return;
      thread.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve(m);
    });
    worker.on('error', (err) => failAll(thread, err));
    worker.on('exit', () => {
      failAll(thread, Object.assign(new Error('reader thread exited'), { code: 'SQLITE_READER_EXITED' }));
      if (!closing) start(thread);
    });
    worker.unref();
  };
  const run = (q: CompiledQuery): Promise<Answer> => {
    if (pool.length === 0) {
      for (let i = 0; i < threads; i++) {
        const thread = { pending: new Map() } as Thread;
        start(thread);
        pool.push(thread);
      }
    }
    const thread = pool.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = next++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.ref();
      const { formatter } = q as Partial<FormattedQuery>;
      thread.worker.postMessage({ id, sql: q.sql, params: q.parameters, formatter });
    }).finally(() => {
      if (thread.pending.size === 0) thread.worker.unref();
    }) as Promise<Answer>;
  };
  const connection: DatabaseConnection = {
    async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
      const answer = await run(q);
      return answer.batch ? ({ rows: [], batch: answer.batch } as QueryResult<R>) : { rows: (answer.rows ?? []) as R[] };
    },
    // eslint-disable-next-line require-yield
    async *streamQuery() {
      throw new Error('the read handle does not stream: page with keyset batches');
    },
  };
  const noTransactions = async () => {
    throw new Error('the read handle has no transactions: write through the committer');
  };
  const driver: Driver = {
    init: async () => undefined,
    acquireConnection: async () => connection,
    beginTransaction: noTransactions,
    commitTransaction: noTransactions,
    rollbackTransaction: noTransactions,
    releaseConnection: async () => undefined,
    destroy: async () => {
      closing = true;
      await Promise.all(
        pool.map(
          (t) =>
            new Promise<void>((resolve) => {
              t.worker.once('exit', () => resolve());
              // An idle thread is unref'd: without this, a process with nothing else to do would
              // end before the thread closes, leaving this promise unsettled (exit code 13).
              t.worker.ref();
              t.worker.postMessage('close');
            }),
        ),
      );
    },
  };
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

function failAll(thread: Thread, err: unknown): void {
  for (const p of thread.pending.values()) p.reject(err);
  thread.pending.clear();
}
