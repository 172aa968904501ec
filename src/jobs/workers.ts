import { sql } from 'kysely';
import { createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import { siblingModule, superviseThread } from '../db/threads.js';
import { JobRunner, type RunnerOptions } from './runner.js';

export interface Workers {
  /** A job was queued: look for work now. */
  wake(): void;
  /** Stops after the current chunk; resolves within STOP_TIMEOUT_MS whatever the thread does. */
  stop(): Promise<void>;
}

export type WorkerLog = (msg: string, extra?: Record<string, unknown>) => void;

const STOP_TIMEOUT_MS = 15_000;

/**
 * Starts the job worker for a database. PostgreSQL: a runner in this process (pg is asynchronous,
 * so chunks never block the event loop). SQLite: better-sqlite3 is synchronous, so the runner gets
 * a worker thread with its own connection; the HTTP event loop never waits for a chunk, and the
 * database's write gate lets the loop's writes in between chunks.
 */
export function startWorkers(database: Database, opts: RunnerOptions = {}, log: WorkerLog = () => undefined): Workers {
  if (database.dialect === 'postgres' || database.location === ':memory:') {
    const runner = new JobRunner(database.db, createCommitter(database), opts, log);
    runner.start();
    return { wake: () => runner.wake(), stop: () => runner.stop() };
  }
  // The thread also takes over WAL checkpoints, so that their page copying and fsync of the
  // database file never run inside a request's commit on the event loop.
  void sql`PRAGMA wal_autocheckpoint = 0`.execute(database.db);
  const thread = superviseThread(
    siblingModule(import.meta.url, 'worker-thread'),
    { url: `sqlite:${database.location}`, opts, gate: database.writeGate },
    'job worker',
    log,
  );
  return { wake: () => thread.post('wake'), stop: () => thread.stop(STOP_TIMEOUT_MS) };
}
