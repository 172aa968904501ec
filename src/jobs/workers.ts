import { Worker } from 'node:worker_threads';
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
  const source = import.meta.url.endsWith('.ts');
  const thread = new Worker(new URL(source ? './worker-thread.ts' : './worker-thread.js', import.meta.url), {
    workerData: { url: `sqlite:${database.location}`, opts },
    // Under the test runner the sources are TypeScript: load them through tsx.
    execArgv: source ? ['--import', 'tsx'] : [],
  });
  thread.on('message', (m: { log?: string; extra?: Record<string, unknown> }) => m.log && log(m.log, m.extra));
  thread.on('error', (err) => log('job worker thread crashed', { err: String(err) }));
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  return {
    wake: () => thread.postMessage('wake'),
    stop: async () => {
      thread.postMessage('stop');
      await exited;
    },
  };
}
