import type { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import { siblingModule, spawnThread } from '../db/threads.js';
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
  let stopping = false;
  let exited = false;
  // The thread also takes over WAL checkpoints, so that their page copying and fsync of the
  // database file never run inside a request's commit on the event loop.
  void sql`PRAGMA wal_autocheckpoint = 0`.execute(database.db);
  const spawn = () => {
    const t = spawnThread(siblingModule(import.meta.url, 'worker-thread'), { url: `sqlite:${database.location}`, opts, gate: database.writeGate });
    exited = false;
    t.on('message', (m: { log?: string; extra?: Record<string, unknown> }) => m.log && log(m.log, m.extra));
    t.on('error', (err) => log('job worker thread crashed', { err: String(err) }));
    // A thread that dies (it should not) is replaced, so queued jobs never stall.
    t.once('exit', (code) => {
      exited = true;
      if (stopping) return;
      log('job worker thread exited; restarting it', { code });
      setTimeout(() => {
        if (!stopping) thread = spawn();
      }, 1000).unref();
    });
    return t;
  };
  let thread: Worker = spawn();
  return {
    wake: () => thread.postMessage('wake'),
    stop: async () => {
      stopping = true;
      if (exited) return;
      const done = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage('stop');
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
      await Promise.race([done, timeout]);
      if (!exited) await thread.terminate();
    },
  };
}
