import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { createCommitter } from '../db/committer.js';
import type { Database } from '../db/database.js';
import { JobRunner, type RunnerOptions } from './runner.js';

export interface Workers {
  /** A job was queued: look for work now. */
  wake(): void;
  stop(): Promise<void>;
}

export type WorkerLog = (msg: string, extra?: Record<string, unknown>) => void;

export function runnerOptionsFromEnv(env = process.env): RunnerOptions {
  return {
    chunkSize: env.JOB_CHUNK_SIZE ? Number(env.JOB_CHUNK_SIZE) : undefined,
    ratePerStore: env.JOB_RATE_PER_STORE ? Number(env.JOB_RATE_PER_STORE) : undefined,
  };
}

/**
 * Starts the job worker for a database. PostgreSQL: a runner in this process (pg is asynchronous,
 * so chunks never block the event loop). SQLite: better-sqlite3 is synchronous, so the runner gets
 * a worker thread with its own connection; the HTTP event loop never waits for a chunk.
 */
export function startWorkers(database: Database, opts: RunnerOptions = {}, log: WorkerLog = () => undefined): Workers {
  if (database.dialect === 'postgres' || database.location === ':memory:') {
    const runner = new JobRunner(database.db, createCommitter(database), opts, log);
    runner.start();
    return { wake: () => runner.wake(), stop: () => runner.stop() };
  }
  let stopping = false;
  // The thread also takes over WAL checkpoints, so that their page copying and fsync of the
  // database file never run inside a request's commit on the event loop.
  void sql`PRAGMA wal_autocheckpoint = 0`.execute(database.db);
  let thread = spawnThread(database.location, opts, log);
  // A thread that dies (it should not) is replaced, so queued jobs never stall.
  const watch = (t: Worker) =>
    t.once('exit', (code) => {
      if (stopping) return;
      log('job worker thread exited; restarting it', { code });
      setTimeout(() => {
        if (stopping) return;
        thread = spawnThread(database.location, opts, log);
        watch(thread);
      }, 1000).unref();
    });
  watch(thread);
  return {
    wake: () => thread.postMessage('wake'),
    stop: async () => {
      stopping = true;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage('stop');
      await exited;
    },
  };
}

function spawnThread(file: string, opts: RunnerOptions, log: WorkerLog): Worker {
  const workerData = { url: `sqlite:${file}`, opts };
  const thread = import.meta.url.endsWith('.ts')
    ? // Under the test runner the sources are TypeScript: the thread registers tsx, then loads them.
      new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker-thread.ts', import.meta.url).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(new URL('./worker-thread.js', import.meta.url), { workerData });
  thread.on('message', (m: { log?: string; extra?: Record<string, unknown> }) => m.log && log(m.log, m.extra));
  thread.on('error', (err) => log('job worker thread crashed', { err: String(err) }));
  return thread;
}
