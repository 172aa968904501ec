import { parentPort, workerData } from 'node:worker_threads';
import { sql } from 'kysely';
import { createCommitter } from '../db/committer.js';
import { openDatabase } from '../db/database.js';
import { JOB_CACHE_KIB } from '../db/sqlite-cache.js';
import { JobRunner, type RunnerOptions } from './runner.js';

/** Pages of WAL (4 KB each) after which a commit of this thread checkpoints by itself: about 256 MB. */
const WAL_AUTOCHECKPOINT_PAGES = 65_536;

/** The SQLite job worker: its own connection to the same file (WAL lets the server keep reading). */
const { url, opts, gate } = workerData as { url: string; opts: RunnerOptions; gate: Int32Array };
const database = openDatabase(url, { writeGate: gate, cacheKib: JOB_CACHE_KIB });
// This connection's commits checkpoint no more than the server's do (the timer below does): an
// automatic checkpoint after every 1,000 WAL pages ran inside the job's chunks, copying the same
// hot pages to the database file again and again — at 200,000 imported rows it was three quarters
// of the job's time. A far larger automatic one stays as a bound on the WAL should the timer lag.
void sql`PRAGMA wal_autocheckpoint = ${sql.raw(String(WAL_AUTOCHECKPOINT_PAGES))}`.execute(database.db);

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
