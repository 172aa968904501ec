import { parentPort, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { createCommitter } from '../db/committer.js';
import { openDatabase } from '../db/database.js';
import { JobRunner, type RunnerOptions } from './runner.js';

/** The SQLite job worker: its own connection to the same file (WAL lets the server keep reading). */
const { url, opts, gate } = workerData as { url: string; opts: RunnerOptions; gate: Int32Array };
const database = openDatabase(url, { writeGate: gate });

/**
 * After each chunk: if a write of the serving thread is waiting for the lock, wait (at most
 * 100 ms) until it has it, so chunk after chunk never starves the requests of other stores.
 * Says whether one was waiting (the runner then keeps its chunks short for a while).
 */
function letWritersIn(): boolean {
  const waiting = Atomics.load(gate, 0);
  if (waiting > 0) Atomics.wait(gate, 0, waiting, 100);
  return waiting > 0;
}

const runner = new JobRunner(database.db, createCommitter(database, { mayBlock: true }), { ...opts, afterChunk: letWritersIn }, (log, extra) =>
  parentPort?.postMessage({ log, extra }),
);
runner.start();

// WAL checkpoints for the whole process (the server's connection has automatic ones turned off).
const CHECKPOINT_MS = 1000;
const checkpoints = setInterval(() => {
  sql`PRAGMA wal_checkpoint(PASSIVE)`.execute(database.db).catch((err) => parentPort?.postMessage({ log: 'checkpoint failed', extra: { err: String(err) } }));
}, CHECKPOINT_MS);

parentPort?.on('message', (message: string) => {
  if (message === 'wake') runner.wake();
  if (message === 'stop') {
    clearInterval(checkpoints);
    void runner
      .stop()
      .then(() => database.close())
      .then(() => parentPort?.close());
  }
});
